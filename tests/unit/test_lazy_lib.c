/* src/lazy/lazy_lib.c: a library opened on first use, its functions resolved once, the table
 * read-only afterwards, and a clear message naming what to install when it cannot be opened. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "lazy/lazy_lib.h"

static const char *const strlen_only[] = {"strlen"};
static const char *const with_unknown[] = {"strlen", "kubemcp_no_such_function"};

static void test_missing_library_names_the_package(void **state) {
    LAZY_TABLE(table);
    static lazy_lib lib = LAZY_LIB_INIT("libkubemcp-no-such-library.so.7", "kubemcp-test-package", strlen_only, table);
    assert_int_equal(lazy_lib_load(&lib), -ELIBACC);
    assert_false(lazy_lib_loaded(&lib));
    assert_non_null(strstr(lib.error, "cannot load libkubemcp-no-such-library.so.7"));
    assert_non_null(strstr(lib.error, "install the kubemcp-test-package package"));
    /* A failure is final: no second attempt, same answer. */
    assert_int_equal(lazy_lib_load(&lib), -ELIBACC);
}

static void test_missing_function_is_named(void **state) {
    LAZY_TABLE(table);
    static lazy_lib lib = LAZY_LIB_INIT("libc.so.6", "libc6", with_unknown, table);
    assert_int_equal(lazy_lib_load(&lib), -ELIBACC);
    assert_false(lazy_lib_loaded(&lib));
    assert_non_null(strstr(lib.error, "kubemcp_no_such_function"));
}

static bool page_is_read_only(const void *p) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    bool read_only = false;
    while (f && fgets(line, sizeof line, f)) {
        uintptr_t lo, hi;
        char perms[5];
        if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && (uintptr_t)p >= lo && (uintptr_t)p < hi)
            read_only = perms[0] == 'r' && perms[1] == '-';
    }
    if (f)
        fclose(f);
    return read_only;
}

static void test_loads_resolves_and_protects_the_table(void **state) {
    LAZY_TABLE(table);
    static lazy_lib lib = LAZY_LIB_INIT("libc.so.6", "libc6", strlen_only, table);
    assert_false(lazy_lib_loaded(&lib));
    assert_false(page_is_read_only(table));
    assert_int_equal(lazy_lib_load(&lib), 0);
    assert_true(lazy_lib_loaded(&lib));
    assert_int_equal(LAZY_FN(lib, 0, strlen)("kubemcp"), 7);
    assert_true(page_is_read_only(table));
    assert_int_equal(lazy_lib_load(&lib), 0);
}

LAZY_TABLE(shared_table);
static lazy_lib shared = LAZY_LIB_INIT("libc.so.6", "libc6", strlen_only, shared_table);

static void *load_shared(void *arg) {
    (void)arg;
    return (void *)(intptr_t)lazy_lib_load(&shared);
}

/* Threads racing to the first call all get the one loaded library. */
static void test_concurrent_first_calls(void **state) {
    pthread_t threads[8];
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, load_shared, NULL), 0);
    for (size_t i = 0; i < 8; i++) {
        void *r = NULL;
        pthread_join(threads[i], &r);
        assert_int_equal((intptr_t)r, 0);
    }
    assert_int_equal(LAZY_FN(shared, 0, strlen)("ab"), 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_library_names_the_package),
        cmocka_unit_test(test_missing_function_is_named),
        cmocka_unit_test(test_loads_resolves_and_protects_the_table),
        cmocka_unit_test(test_concurrent_first_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
