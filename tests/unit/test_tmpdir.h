/* A scratch directory per test (cmocka setup/teardown), shared by the unit tests that write files.
 * Header-only: each test binary gets its own copy. Define TEST_TMPDIR_PREFIX before including. */
#ifndef KUBEMCP_TESTS_TEST_TMPDIR_H
#define KUBEMCP_TESTS_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

#ifndef TEST_TMPDIR_PREFIX
#define TEST_TMPDIR_PREFIX "kubemcp-test"
#endif

static char tmpdir[256];

static int setup_tmp(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/" TEST_TMPDIR_PREFIX "-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
