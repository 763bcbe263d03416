/* core/strv: copies of optional strings and NULL-terminated string arrays. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>

#include "core/strv.h"

static void test_strdup_tracked(void **state) {
    (void)state;
    bool oom = false;
    assert_null(strdup_tracked(NULL, &oom));
    char *s = strdup_tracked("issuer", &oom);
    assert_string_equal(s, "issuer");
    assert_false(oom);
    free(s);
}

static void test_strv_copy(void **state) {
    (void)state;
    bool oom = false;
    assert_null(strv_copy(NULL, &oom));
    static const char *const empty[] = {NULL};
    char **e = strv_copy(empty, &oom);
    assert_non_null(e);
    assert_null(e[0]);
    strv_free(e);
    static const char *const list[] = {"RS256", "", "ES256", NULL};
    char **c = strv_copy(list, &oom);
    assert_false(oom);
    assert_string_equal(c[0], "RS256");
    assert_string_equal(c[1], "");
    assert_string_equal(c[2], "ES256");
    assert_null(c[3]);
    assert_ptr_not_equal(c[0], list[0]);
    strv_free(c);
    strv_free(NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strdup_tracked),
        cmocka_unit_test(test_strv_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
