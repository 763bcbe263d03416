/* The fast JSON reader builds exactly jansson's tree for what it accepts, and leaves everything
 * else (errors, numbers out of range, refused duplicates) to jansson. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_fast.h"

#define MCP_FLAGS (JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY)

/* Compact dumps show types (1 vs 1.0), values and key order. */
static void assert_same_tree(const char *text, size_t len, size_t flags) {
    json_t *fast = json_fast_loadb(text, len, flags);
    json_t *slow = json_loadb(text, len, flags, NULL);
    if (!fast)
        fail_msg("the fast reader gave up on %.*s", (int)len, text);
    assert_non_null(slow);
    char *a = json_dumps(fast, JSON_COMPACT | JSON_ENCODE_ANY);
    char *b = json_dumps(slow, JSON_COMPACT | JSON_ENCODE_ANY);
    assert_string_equal(a, b);
    free(a);
    free(b);
    json_decref(fast);
    json_decref(slow);
}

static void assert_left_to_jansson(const char *text, size_t len, size_t flags) {
    json_t *fast = json_fast_loadb(text, len, flags);
    if (fast)
        fail_msg("the fast reader accepted %.*s", (int)len, text);
}

static void test_accepted_like_jansson(void **state) {
    static const char *const docs[] = {
        "{}",
        "[]",
        " \t\r\n{ \"a\" : 1 , \"b\" : [ true , false , null ] } \n",
        "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-0\",\"labels\":{\"app\":\"web\"}}}",
        "[0,-0,1,-1,123456789012345678,9223372036854775807,-9223372036854775808]",
        "[0.5,-0.0,1e3,1E-3,2.5e+10,1234567890123456789012.5,1e-400]",
        "[\"\",\"\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"\\u00e9\\u20AC\\ud83d\\ude00\",\"raw \xc3\xa9 \xf0\x9f\x98\x80\"]",
        "{\"a\":1,\"b\":2,\"a\":3}", /* a later duplicate replaces the value, in the first key's place */
        "{\"esc\\u0061ped key\":\"v\",\"x\\ny\":[{\"deep\":[[[[]]]]}]}",
        "[\"del \x7f is text\"]",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
        assert_same_tree(docs[i], strlen(docs[i]), 0);
}

static void test_everything_else_is_left_to_jansson(void **state) {
    static const char *const docs[] = {
        "",
        "   ",
        "42",                /* a bare value needs JSON_DECODE_ANY */
        "{",
        "[1,]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{1:2}",
        "[01]",
        "[1.]",
        "[.5]",
        "[-]",
        "[1e]",
        "[+1]",
        "[truex]",
        "[nul]",
        "[\"unterminated]",
        "[\"raw\ttab\"]",
        "[\"bad \\x escape\"]",
        "[\"\\u12\"]",
        "[\"\\ud800\"]",
        "[\"\\udc00\"]",
        "[\"\\ud800\\u0041\"]",
        "[\"\\u0000\"]",
        "{\"k\\u0000\":1}",
        "[\"\xff\"]",
        "[\"\xc0\xaf\"]",
        "[\"\xed\xa0\x80\"]",
        "[99999999999999999999]",
        "[-99999999999999999999]",
        "[1e999]",
        "[] []",
        "[]x",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++)
        assert_left_to_jansson(docs[i], strlen(docs[i]), 0);
    /* A NUL byte in the text, outside and inside a string. */
    assert_left_to_jansson("[1]\0", 4, 0);
    assert_left_to_jansson("[\"a\0b\"]", 7, 0);
}

static void test_flags_of_mcp_messages(void **state) {
    const char *msg = "{\"jsonrpc\":\"2.0\",\"id\":\"a\\u0000b\",\"method\":\"tools/call\",\"params\":{\"name\":\"x\"}}";
    assert_same_tree(msg, strlen(msg), MCP_FLAGS);
    assert_left_to_jansson(msg, strlen(msg), 0); /* NUL needs JSON_ALLOW_NUL */
    assert_same_tree("7", 1, MCP_FLAGS);
    assert_same_tree(" \"text\" ", 8, MCP_FLAGS);
    assert_same_tree("null", 4, MCP_FLAGS);
    assert_left_to_jansson("{\"a\":1,\"a\":2}", 13, MCP_FLAGS); /* jansson words the refusal */
    assert_left_to_jansson("{\"k\\u0000\":1}", 13, MCP_FLAGS);   /* never a NUL in a key */
    assert_left_to_jansson("{}", 2, JSON_DISABLE_EOF_CHECK);     /* a flag it does not know */
}

static void test_deep_nesting_is_left_to_jansson(void **state) {
    char text[2 * (JSON_FAST_MAX_DEPTH + 10) + 1];
    size_t n = JSON_FAST_MAX_DEPTH + 10;
    memset(text, '[', n);
    memset(text + n, ']', n);
    text[2 * n] = '\0';
    assert_left_to_jansson(text, 2 * n, 0);
    json_t *slow = json_loadb(text, 2 * n, 0, NULL);
    assert_non_null(slow);
    json_decref(slow);
    /* At the limit it is still read. */
    n = JSON_FAST_MAX_DEPTH;
    memset(text, '[', n);
    memset(text + n, ']', n);
    assert_same_tree(text, 2 * n, 0);
}

/* Random trees dumped by jansson in its different styles must read back the same. */
static unsigned long long seed = 0x2545F4914F6CDD1Dull;
static unsigned next_random(void) {
    seed ^= seed << 13;
    seed ^= seed >> 7;
    seed ^= seed << 17;
    return (unsigned)seed;
}

static json_t *random_value(int depth) {
    static const char *const strings[] = {"", "web", "a \"quoted\" \\ word", "line\nbreak\ttab", "\xc3\xa9t\xc3\xa9",
                                          "\xf0\x9f\x98\x80", "ctl \x01\x1f", "/path/to", "2026-11-22T08:31:40Z"};
    switch (next_random() % (depth > 4 ? 4 : 6)) {
    case 0:
        return json_string(strings[next_random() % (sizeof strings / sizeof strings[0])]);
    case 1:
        return json_integer((json_int_t)next_random() * (next_random() % 2 ? -1 : 1) * 1000003LL);
    case 2:
        return json_real((double)next_random() / 7.0);
    case 3:
        return next_random() % 2 ? json_true() : json_null();
    case 4: {
        json_t *o = json_object();
        for (unsigned i = next_random() % 5; i > 0; i--) {
            char key[32];
            snprintf(key, sizeof key, "%s%u", strings[next_random() % 4], next_random() % 7);
            json_object_set_new(o, key, random_value(depth + 1));
        }
        return o;
    }
    default: {
        json_t *a = json_array();
        for (unsigned i = next_random() % 5; i > 0; i--)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    }
}

static void test_random_documents(void **state) {
    const size_t styles[] = {JSON_COMPACT, JSON_INDENT(2), JSON_ENSURE_ASCII, JSON_ESCAPE_SLASH | JSON_INDENT(1)};
    for (int i = 0; i < 3000; i++) {
        json_t *root = json_pack("{s:o}", "root", random_value(0));
        char *text = json_dumps(root, styles[i % 4]);
        assert_same_tree(text, strlen(text), 0);
        assert_same_tree(text, strlen(text), MCP_FLAGS);
        free(text);
        json_decref(root);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted_like_jansson),
        cmocka_unit_test(test_everything_else_is_left_to_jansson),
        cmocka_unit_test(test_flags_of_mcp_messages),
        cmocka_unit_test(test_deep_nesting_is_left_to_jansson),
        cmocka_unit_test(test_random_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
