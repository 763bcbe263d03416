/* Classification of JSON-RPC messages: what is a request, a notification, a response, invalid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "mcp/jsonrpc.h"

static jsonrpc_kind classify(const char *text) {
    json_t *msg = json_loads(text, JSON_DECODE_ANY, NULL);
    assert_non_null(msg);
    const char *reason = NULL;
    jsonrpc_kind k = jsonrpc_classify(msg, &reason);
    if (k == JSONRPC_KIND_INVALID)
        assert_non_null(reason);
    json_decref(msg);
    return k;
}

static void test_classification(void **state) {
    assert_int_equal(classify("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}"), JSONRPC_KIND_REQUEST);
    assert_int_equal(classify("{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"ping\",\"params\":{}}"), JSONRPC_KIND_REQUEST);
    assert_int_equal(classify("{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}"), JSONRPC_KIND_NOTIFICATION);
    assert_int_equal(classify("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}"), JSONRPC_KIND_RESPONSE);
    assert_int_equal(classify("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":1}}"), JSONRPC_KIND_RESPONSE);
    assert_int_equal(classify("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}"), JSONRPC_KIND_INVALID);
    assert_int_equal(classify("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}"), JSONRPC_KIND_INVALID);
    assert_int_equal(classify("{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}"), JSONRPC_KIND_INVALID);
    assert_int_equal(classify("{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"ping\"}"), JSONRPC_KIND_INVALID);
    assert_int_equal(classify("{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}"), JSONRPC_KIND_INVALID);
    assert_int_equal(classify("{\"id\":1,\"method\":\"ping\"}"), JSONRPC_KIND_INVALID);
    assert_int_equal(classify("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":7}"), JSONRPC_KIND_INVALID);
    assert_int_equal(classify("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":3}"), JSONRPC_KIND_INVALID);
    assert_int_equal(classify("{\"jsonrpc\":\"2.0\",\"id\":1}"), JSONRPC_KIND_INVALID);
    assert_int_equal(classify("42"), JSONRPC_KIND_INVALID);
}

static void test_builders(void **state) {
    json_t *id = json_integer(3);
    json_t *e = jsonrpc_error(id, JSONRPC_INVALID_PARAMS, "bad", NULL);
    assert_int_equal(json_integer_value(json_object_get(e, "id")), 3);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(e, "error"), "code")), -32602);
    json_decref(e);
    e = jsonrpc_error(NULL, JSONRPC_PARSE_ERROR, "parse", NULL);
    assert_true(json_is_null(json_object_get(e, "id")));
    json_decref(e);
    json_t *r = jsonrpc_result(id, NULL);
    assert_true(json_is_object(json_object_get(r, "result")));
    json_decref(r);
    json_decref(id);
}

/* The answers written as text are the bytes json_dumps gives for the json_t forms. */
static void assert_written_as_dumped(const json_t *id, const char *text, size_t len, bool is_error,
                                     const json_t *structured) {
    json_t *content = json_array();
    json_array_append_new(content, json_pack("{s:s, s:o}", "type", "text", "text", utf8_json_string(text, len)));
    json_t *result = json_pack("{s:o}", "content", content);
    if (is_error)
        json_object_set_new(result, "isError", json_true());
    if (structured)
        json_object_set(result, "structuredContent", (json_t *)structured);
    char *result_text = json_dumps(result, JSON_COMPACT);
    json_t *msg = jsonrpc_result(id, result);
    char *want = json_dumps(msg, JSON_COMPACT);
    json_decref(msg);

    buf out;
    buf_init(&out, 1u << 20);
    assert_int_equal(jsonrpc_write_text_result(&out, id, text, len, is_error, structured), 0);
    assert_string_equal(out.data, want);
    buf_reset(&out);
    assert_int_equal(jsonrpc_write_result(&out, id, result_text, strlen(result_text)), 0);
    assert_string_equal(out.data, want);
    buf_free(&out);
    free(want);
    free(result_text);
}

/* A string literal and its length, NUL bytes inside included. */
#define TEXT(literal) literal, sizeof(literal) - 1

static void test_written_answers(void **state) {
    json_t *ids[] = {json_integer(7), json_integer(-1), json_string("req-\"1\"-\xc3\xa9"), json_stringn("a\0b", 3), NULL};
    json_t *structured = json_pack("{s:i, s:[s]}", "count", 2, "names", "x");
    json_t *plain = json_string("only a string");
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        assert_written_as_dumped(ids[i], TEXT(""), false, NULL);
        assert_written_as_dumped(ids[i], TEXT("kind: Pod\nmetadata:\n  name: \"web\"\n"), false, NULL);
        assert_written_as_dumped(ids[i], TEXT("bad \xff utf-8 \x01 and \0 nul"), true, NULL);
        assert_written_as_dumped(ids[i], TEXT("with structured"), false, structured);
        assert_written_as_dumped(ids[i], TEXT("with a string"), true, plain);
        json_decref(ids[i]);
    }
    json_decref(structured);
    json_decref(plain);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_classification), cmocka_unit_test(test_builders),
                                       cmocka_unit_test(test_written_answers)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
