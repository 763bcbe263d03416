/* Classification of JSON-RPC messages: what is a request, a notification, a response, invalid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_classification), cmocka_unit_test(test_builders)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
