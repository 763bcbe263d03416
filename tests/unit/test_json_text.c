/* JSON text written by hand must be the bytes jansson's compact dump writes: a client sees no
 * difference between an answer built as a json_t and one written straight into a buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_text.h"
#include "core/utf8.h"

/* What the json_t path sends for text: utf8_json_string, then a compact dump. */
static char *reference(const char *s, size_t len) {
    json_t *v = utf8_json_string(s, len);
    assert_non_null(v);
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    return text;
}

static void check_string(const char *s, size_t len) {
    buf out;
    buf_init(&out, 1u << 20);
    assert_int_equal(json_text_string(&out, s, len), 0);
    char *want = reference(s, len);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.data, want, out.len);
    free(want);
    buf_free(&out);
}

/* A string literal and its length, NUL bytes inside included. */
#define TEXT(literal) literal, sizeof(literal) - 1

static void test_strings_match_jansson(void **state) {
    static const struct {
        const char *s;
        size_t len;
    } cases[] = {
        {TEXT("")},
        {TEXT("plain text, long enough to be read eight bytes at a time")},
        {TEXT("kind: Pod\nmetadata:\n  name: \"web\"\n")},
        {TEXT("back\\slash / slash \x7f del")},
        {TEXT("\x01\x02\x08\x09\x0a\x0b\x0c\x0d\x1b\x1f")},
        {TEXT("nul \0 inside")},
        {TEXT("\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")},          /* é, €, an emoji */
        {TEXT("bad \xff byte, \xc3 cut, \xe2\x82 cut")},                    /* invalid sequences */
        {TEXT("overlong \xc0\xaf and surrogate \xed\xa0\x80")},
        {TEXT("ends in a cut sequence \xf0\x9f\x98")},
        {TEXT("0123456\"")}, /* a quote as the last byte of a word */
        {TEXT("\"0123456")},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_string(cases[i].s, cases[i].len);
}

static void test_random_strings_match_jansson(void **state) {
    static const char *const pieces[] = {"a", "Z", " ", "\"", "\\", "\n", "\t", "\r", "\x01", "\x1f", "\x7f",
                                         "\0", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xff", "\xc3",
                                         "\xe2\x82", "\xed\xa0\x80", "\xc0\x80", "/", "abcdefgh"};
    unsigned long long seed = 0x9E3779B97F4A7C15ull;
    for (int round = 0; round < 20000; round++) {
        char s[256];
        size_t len = 0;
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        int n = (int)(seed % 40);
        for (int k = 0; k < n; k++) {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            const char *p = pieces[seed % (sizeof pieces / sizeof pieces[0])];
            size_t plen = p[0] ? strlen(p) : 1;
            if (len + plen < sizeof s) {
                memcpy(s + len, p, plen);
                len += plen;
            }
        }
        check_string(s, len);
    }
}

static void test_values_match_jansson(void **state) {
    json_t *values[] = {
        json_integer(0),
        json_integer(-9223372036854775807LL - 1),
        json_string("id-\"7\"-\xc3\xa9"),
        json_stringn("with\0nul", 8),
        json_real(0.1),
        json_null(),
        json_pack("{s:[i, s, {s:b}], s:f}", "a", 1, "two", "b", false, "c", 2.5),
    };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        buf out;
        buf_init(&out, 4096);
        assert_int_equal(json_text_value(&out, values[i]), 0);
        char *want = json_dumps(values[i], JSON_COMPACT | JSON_ENCODE_ANY);
        assert_string_equal(out.data, want);
        free(want);
        buf_free(&out);
        json_decref(values[i]);
    }
}

static void test_a_full_buffer_is_refused(void **state) {
    buf out;
    buf_init(&out, 8);
    assert_int_equal(json_text_string(&out, "more than eight bytes", 21), -EMSGSIZE);
    buf_free(&out);
    buf_init(&out, 4);
    json_t *v = json_pack("{s:s}", "key", "value");
    assert_int_equal(json_text_value(&out, v), -EMSGSIZE);
    json_decref(v);
    buf_free(&out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_match_jansson),
        cmocka_unit_test(test_random_strings_match_jansson),
        cmocka_unit_test(test_values_match_jansson),
        cmocka_unit_test(test_a_full_buffer_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
