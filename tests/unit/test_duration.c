/* Durations written the kubectl/Go way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "core/duration.h"

static long long parse(const char *text) {
    long long s = -1;
    error_info err = {0};
    if (duration_parse_seconds(text, &s, &err) < 0)
        return -1;
    return s;
}

static void test_accepted(void **state) {
    assert_int_equal(parse("1h"), 3600);
    assert_int_equal(parse("90m"), 5400);
    assert_int_equal(parse("3600s"), 3600);
    assert_int_equal(parse("1h30m"), 5400);
    assert_int_equal(parse("1.5h"), 5400);
    assert_int_equal(parse("600"), 600);
    assert_int_equal(parse("2m30s"), 150);
    assert_int_equal(parse("1500ms"), 1);
}

static void test_refused(void **state) {
    const char *bad[] = {"", "h", "1d", "-1h", "1h-", "abc", "1 h", "10x", "0s", "100000h", "1hh", NULL};
    for (size_t i = 0; bad[i]; i++) {
        long long s = 0;
        error_info err = {0};
        if (duration_parse_seconds(bad[i], &s, &err) != -EINVAL)
            fail_msg("\"%s\" was accepted", bad[i]);
        assert_true(strlen(err.message) > 0);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_accepted), cmocka_unit_test(test_refused)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
