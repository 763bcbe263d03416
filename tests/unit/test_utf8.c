/* Invalid bytes from pod logs or API bodies must still make valid JSON strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

static void test_validity(void **state) {
    assert_true(utf8_is_valid("plain", 5));
    assert_true(utf8_is_valid("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15));
    assert_false(utf8_is_valid("\xc3", 1));           /* truncated */
    assert_false(utf8_is_valid("\xc0\xaf", 2));       /* overlong '/' */
    assert_false(utf8_is_valid("\xed\xa0\x80", 3));   /* surrogate */
    assert_false(utf8_is_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
    assert_false(utf8_is_valid("a\0b", 3));
}

static void test_repair(void **state) {
    json_t *s = utf8_json_string("ok\xff\xfe!", 5);
    assert_non_null(s);
    assert_string_equal(json_string_value(s), "ok\xef\xbf\xbd\xef\xbf\xbd!");
    json_decref(s);
    s = utf8_json_string("caf\xc3\xa9", 5);
    assert_string_equal(json_string_value(s), "caf\xc3\xa9");
    json_decref(s);
}

static void test_decode_and_prefix(void **state) {
    uint32_t cp = 0;
    size_t n = 0;
    assert_true(utf8_decode("\xe2\x82\xac", 3, &cp, &n));
    assert_int_equal(cp, 0x20AC);
    assert_int_equal(n, 3);
    assert_true(utf8_decode("\0", 1, &cp, &n)); /* NUL is well-formed; utf8_is_valid rejects it */
    assert_false(utf8_decode("\xe2\x82", 2, &cp, &n));
    assert_false(utf8_decode("", 0, &cp, &n));
    assert_int_equal(utf8_valid_prefix("ab\xc3\xa9\xff" "cd", 7), 4);
    assert_int_equal(utf8_valid_prefix("abc", 3), 3);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_validity), cmocka_unit_test(test_repair),
                                       cmocka_unit_test(test_decode_and_prefix)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
