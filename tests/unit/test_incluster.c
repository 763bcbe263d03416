/* In-cluster configuration and service-account token rotation, against a temporary directory
 * laid out like /var/run/secrets/kubernetes.io/serviceaccount. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kube/incluster.h"

#define TEST_TMPDIR_PREFIX "kubemcp-ic"
#include "test_tmpdir.h"

static void write_file(const char *name, const char *content) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

/* Replaces a file the way the kubelet does: write elsewhere, rename over it. */
static void rotate_file(const char *name, const char *content) {
    write_file("new.tmp", content);
    char from[512], to[512];
    snprintf(from, sizeof from, "%s/new.tmp", tmpdir);
    snprintf(to, sizeof to, "%s/%s", tmpdir, name);
    assert_int_equal(rename(from, to), 0);
}

typedef struct env_pair {
    const char *host, *port;
} env_pair;

static const char *fake_getenv(const char *name, void *ctx) {
    env_pair *e = ctx;
    if (strcmp(name, "KUBERNETES_SERVICE_HOST") == 0)
        return e->host;
    if (strcmp(name, "KUBERNETES_SERVICE_PORT") == 0)
        return e->port;
    return NULL;
}

static void test_load(void **state) {
    (void)state;
    write_file("token", "sa-token-1\n");
    write_file("ca.crt", "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n");
    write_file("namespace", "mcp\n");
    env_pair env = {"10.96.0.1", "443"};
    kube_incluster ic;
    error_info err = {0};
    assert_int_equal(kube_incluster_load(tmpdir, fake_getenv, &env, &ic, &err), 0);
    assert_string_equal(ic.server, "https://10.96.0.1:443");
    assert_string_equal(ic.namespace_name, "mcp");
    assert_non_null(strstr(ic.ca_pem, "BEGIN CERTIFICATE"));
    kube_incluster_clear(&ic);

    env.host = "fd00:10:96::1";
    unlink(strcat(strcpy((char[512]){0}, tmpdir), "/namespace"));
    assert_int_equal(kube_incluster_load(tmpdir, fake_getenv, &env, &ic, &err), 0);
    assert_string_equal(ic.server, "https://[fd00:10:96::1]:443");
    assert_string_equal(ic.namespace_name, "default"); /* no namespace file */
    kube_incluster_clear(&ic);
}

static void test_load_errors(void **state) {
    (void)state;
    env_pair env = {NULL, NULL};
    kube_incluster ic;
    error_info err = {0};
    assert_int_equal(kube_incluster_load(tmpdir, fake_getenv, &env, &ic, &err), -ENOENT);
    assert_non_null(strstr(err.message, "KUBERNETES_SERVICE_HOST"));
    env = (env_pair){"10.0.0.1", "https"};
    assert_int_equal(kube_incluster_load(tmpdir, fake_getenv, &env, &ic, &err), -EINVAL);
    env = (env_pair){"10.0.0.1", "443"};
    assert_int_equal(kube_incluster_load(tmpdir, fake_getenv, &env, &ic, &err), -ENOENT);
    assert_non_null(strstr(err.message, "ca.crt"));
    write_file("ca.crt", "x");
    assert_int_equal(kube_incluster_load(tmpdir, fake_getenv, &env, &ic, &err), -ENOENT);
    assert_non_null(strstr(err.message, "automountServiceAccountToken"));
}

static void test_token_rotation(void **state) {
    (void)state;
    write_file("token", "token-A\n");
    char path[512];
    snprintf(path, sizeof path, "%s/token", tmpdir);
    kube_token_file *tf;
    assert_int_equal(kube_token_file_new(path, &tf), 0);
    error_info err = {0};
    char *tok;
    assert_int_equal(kube_token_file_get(tf, &tok, &err), 0);
    assert_string_equal(tok, "token-A");
    free(tok);

    /* the kubelet swaps in a new file: the next use sees it */
    rotate_file("token", "token-B\n");
    assert_int_equal(kube_token_file_get(tf, &tok, &err), 0);
    assert_string_equal(tok, "token-B");
    free(tok);

    /* an in-place rewrite that stat cannot tell apart is picked up after a 401 */
    struct stat before;
    assert_int_equal(stat(path, &before), 0);
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "token-C", 7), 7);
    struct timespec times[2] = {before.st_atim, before.st_mtim};
    futimens(fd, times);
    close(fd);
    assert_int_equal(kube_token_file_get(tf, &tok, &err), 0);
    assert_string_equal(tok, "token-B");
    free(tok);
    kube_token_file_invalidate(tf);
    assert_int_equal(kube_token_file_get(tf, &tok, &err), 0);
    assert_string_equal(tok, "token-C");
    free(tok);

    rotate_file("token", "\n");
    assert_int_equal(kube_token_file_get(tf, &tok, &err), -EINVAL);
    assert_non_null(strstr(err.message, "is empty"));
    unlink(path);
    assert_int_equal(kube_token_file_get(tf, &tok, &err), -ENOENT);
    assert_non_null(strstr(err.message, path));
    kube_token_file_free(tf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_load, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_load_errors, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_token_rotation, setup_tmp, teardown_tmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
