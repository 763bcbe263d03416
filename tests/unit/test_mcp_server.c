/* The MCP engine with a test catalog: lifecycle, versions, tools, pagination, cancellation,
 * progress, batches, limits and client logging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "mcp/server.h"
#include "tools/registry.h"
#include "tools/tool.h"

/* ---- a collecting transport ---- */

typedef struct outbox {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    json_t *messages;
} outbox;

static void outbox_send(void *opaque, const char *json, size_t len, const json_t *related_id) {
    outbox *o = opaque;
    json_t *msg = json_loadb(json, len, JSON_DECODE_ANY, NULL);
    assert_non_null(msg);
    /* Recorded beside the message so tests can check how an HTTP transport would route it. */
    if (json_is_object(msg))
        json_object_set_new(msg, "__related", related_id ? json_deep_copy(related_id) : json_null());
    assert_null(memchr(json, '\n', len)); /* stdio framing needs one line per message */
    pthread_mutex_lock(&o->lock);
    json_array_append_new(o->messages, msg);
    pthread_cond_broadcast(&o->changed);
    pthread_mutex_unlock(&o->lock);
}

/* Waits up to 5 s for the next message; NULL on timeout. Caller owns the result. */
static json_t *outbox_next(outbox *o, int timeout_ms) {
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&o->lock);
    while (json_array_size(o->messages) == 0)
        if (pthread_cond_timedwait(&o->changed, &o->lock, &deadline) != 0)
            break;
    json_t *msg = NULL;
    if (json_array_size(o->messages) > 0) {
        msg = json_incref(json_array_get(o->messages, 0));
        json_array_remove(o->messages, 0);
    }
    pthread_mutex_unlock(&o->lock);
    return msg;
}

/* ---- test tools ---- */

static int echo_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    return tool_result_printf(ret, "echo:%s", tool_arg_string(args, "text"));
}

static int slow_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    /* Runs until cancelled (at most 5 s), reporting progress twice. */
    ctx->progress(ctx->progress_opaque, 1, 2, "half");
    ctx->progress(ctx->progress_opaque, 1, 2, "not increasing: must not be sent");
    ctx->progress(ctx->progress_opaque, 2, 2, NULL);
    for (int i = 0; i < 500 && !atomic_load(ctx->cancelled); i++) {
        struct timespec ten_ms = {0, 10000000L};
        nanosleep(&ten_ms, NULL);
    }
    return tool_result_printf(ret, "done");
}

static int failing_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    return tool_result_error(ret, "it failed: Authorization: Bearer abcdef0123456789");
}

static const tool_def echo_tool = {
    .name = "echo", .description = "echo text", .toolset = "core", .read_only = true,
    .input_schema = "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"}},"
                    "\"required\":[\"text\"],\"additionalProperties\":false}",
    .handler = echo_handler,
};
static const tool_def slow_tool = {
    .name = "slow", .description = "waits", .toolset = "core", .read_only = true,
    .input_schema = "{\"type\":\"object\"}", .handler = slow_handler,
};
static const tool_def failing_tool = {
    .name = "failing", .description = "fails", .toolset = "core", .read_only = true,
    .input_schema = "{\"type\":\"object\"}", .handler = failing_handler,
};
static const tool_def delete_tool = {
    .name = "delete_thing", .description = "deletes", .toolset = "core", .destructive = true,
    .input_schema = "{\"type\":\"object\"}", .handler = echo_handler,
};
static const tool_def *const test_catalog[] = {&echo_tool, &slow_tool, &failing_tool, &delete_tool, NULL};

typedef struct fixture {
    kubemcp_config *config;
    tool_registry *registry;
    mcp_server *server;
    mcp_session *session;
    outbox out;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->config = config_new_defaults();
    f->config->max_message_bytes = 4096;
    tool_registry_options ro = {.catalog = test_catalog, .config = f->config};
    error_info err;
    assert_int_equal(tool_registry_new(&ro, &f->registry, &err), 0);
    mcp_server_options so = {.name = "test", .version = "1.2.3", .config = f->config, .registry = f->registry,
                             .prompts = kube_prompts, .worker_threads = 2, .tools_page_size = 2};
    assert_int_equal(mcp_server_new(&so, &f->server), 0);
    pthread_mutex_init(&f->out.lock, NULL);
    pthread_cond_init(&f->out.changed, NULL);
    f->out.messages = json_array();
    mcp_session_options sess = {.send = outbox_send, .send_opaque = &f->out};
    assert_int_equal(mcp_session_new(f->server, &sess, &f->session), 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    mcp_session_close(f->session);
    mcp_server_free(f->server);
    tool_registry_free(f->registry);
    config_free(f->config);
    json_decref(f->out.messages);
    free(f);
    return 0;
}

static json_t *roundtrip(fixture *f, const char *text) {
    mcp_session_receive(f->session, text, strlen(text));
    return outbox_next(&f->out, 5000);
}

static void initialize(fixture *f, const char *version) {
    char msg[256];
    snprintf(msg, sizeof msg,
             "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"%s\","
             "\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"0\"}}}",
             version);
    json_t *r = roundtrip(f, msg);
    assert_non_null(r);
    json_decref(r);
}

static void test_initialize_echoes_a_supported_version(void **state) {
    fixture *f = *state;
    json_t *r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
                             "{\"protocolVersion\":\"2025-06-18\",\"capabilities\":{},"
                             "\"clientInfo\":{\"name\":\"t\",\"version\":\"0\"}}}");
    json_t *result = json_object_get(r, "result");
    assert_string_equal(json_string_value(json_object_get(result, "protocolVersion")), "2025-06-18");
    assert_string_equal(json_string_value(json_object_get(json_object_get(result, "serverInfo"), "version")), "1.2.3");
    assert_non_null(json_object_get(json_object_get(result, "capabilities"), "tools"));
    assert_non_null(json_object_get(json_object_get(result, "capabilities"), "logging"));
    json_decref(r);

    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-06-18\"}}");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "error"), "code")), -32600);
    json_decref(r);
}

static void test_initialize_offers_newest_for_unknown_version(void **state) {
    fixture *f = *state;
    json_t *r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2099-01-01\"}}");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "result"), "protocolVersion")),
                        mcp_supported_versions[0]);
    json_decref(r);
    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"initialize\",\"params\":{}}");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "error"), "code")), -32602);
    json_decref(r);
}

static void test_tools_list_pages_with_cursor(void **state) {
    fixture *f = *state;
    initialize(f, "2025-11-25");
    json_t *r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    json_t *result = json_object_get(r, "result");
    assert_int_equal(json_array_size(json_object_get(result, "tools")), 2);
    const char *cursor = json_string_value(json_object_get(result, "nextCursor"));
    assert_non_null(cursor);
    char msg[200];
    snprintf(msg, sizeof msg, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\",\"params\":{\"cursor\":\"%s\"}}",
             cursor);
    json_t *r2 = roundtrip(f, msg);
    json_t *tools = json_object_get(json_object_get(r2, "result"), "tools");
    assert_int_equal(json_array_size(tools), 2);
    assert_null(json_object_get(json_object_get(r2, "result"), "nextCursor"));
    json_t *annotations = json_object_get(json_array_get(tools, 1), "annotations");
    assert_true(json_is_true(json_object_get(annotations, "destructiveHint")));
    json_decref(r);
    json_decref(r2);

    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/list\",\"params\":{\"cursor\":\"o:99\"}}");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "error"), "code")), -32602);
    json_decref(r);
}

static void test_tools_call_runs_and_validates(void **state) {
    fixture *f = *state;
    initialize(f, "2025-11-25");
    json_t *r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"method\":\"tools/call\",\"params\":"
                             "{\"name\":\"echo\",\"arguments\":{\"text\":\"hi\"}}}");
    json_t *content = json_object_get(json_object_get(r, "result"), "content");
    assert_string_equal(json_string_value(json_object_get(json_array_get(content, 0), "text")), "echo:hi");
    assert_null(json_object_get(json_object_get(r, "result"), "isError"));
    assert_string_equal(json_string_value(json_object_get(r, "id")), "a");
    assert_string_equal(json_string_value(json_object_get(r, "__related")), "a");
    json_decref(r);

    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":"
                     "{\"name\":\"echo\",\"arguments\":{\"text\":5}}}");
    json_t *result = json_object_get(r, "result");
    assert_true(json_is_true(json_object_get(result, "isError")));
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(json_object_get(result, "content"), 0), "text")),
                           "\"text\" must be a string"));
    json_decref(r);

    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"nope\"}}");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "error"), "code")), -32602);
    json_decref(r);
}

static void test_cancelled_call_gets_no_answer(void **state) {
    fixture *f = *state;
    initialize(f, "2025-11-25");
    const char *call = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":"
                       "{\"name\":\"slow\",\"arguments\":{},\"_meta\":{\"progressToken\":\"p1\"}}}";
    mcp_session_receive(f->session, call, strlen(call));
    /* Two progress notifications (the non-increasing one is dropped). */
    json_t *p1 = outbox_next(&f->out, 5000);
    json_t *p2 = outbox_next(&f->out, 5000);
    assert_string_equal(json_string_value(json_object_get(p1, "method")), "notifications/progress");
    assert_string_equal(json_string_value(json_object_get(json_object_get(p1, "params"), "progressToken")), "p1");
    assert_string_equal(json_string_value(json_object_get(json_object_get(p1, "params"), "message")), "half");
    assert_true(json_number_value(json_object_get(json_object_get(p2, "params"), "progress")) == 2.0);
    assert_int_equal(json_integer_value(json_object_get(p1, "__related")), 7);
    json_decref(p1);
    json_decref(p2);
    const char *cancel = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":7}}";
    mcp_session_receive(f->session, cancel, strlen(cancel));
    json_t *r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"ping\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 8);
    json_decref(r);
    /* Nothing more may arrive for id 7. */
    assert_null(outbox_next(&f->out, 700));
}

static void test_batches_only_for_2025_03_26(void **state) {
    fixture *f = *state;
    initialize(f, "2025-03-26");
    json_t *r = roundtrip(f, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},"
                             "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"},"
                             "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":"
                             "{\"name\":\"echo\",\"arguments\":{\"text\":\"x\"}}},"
                             "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}]");
    assert_true(json_is_array(r));
    assert_int_equal(json_array_size(r), 3);
    json_decref(r);
    r = roundtrip(f, "[]");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "error"), "code")), -32600);
    json_decref(r);
}

static void test_batches_refused_for_newer_versions(void **state) {
    fixture *f = *state;
    initialize(f, "2025-11-25");
    json_t *r = roundtrip(f, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "error"), "code")), -32600);
    json_decref(r);
}

static void test_oversized_and_malformed_messages(void **state) {
    fixture *f = *state;
    char *big = malloc(8192);
    memset(big, ' ', 8191);
    big[8191] = '\0';
    memcpy(big, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", 39);
    json_t *r = roundtrip(f, big);
    free(big);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "error"), "code")), -32001);
    assert_true(json_is_null(json_object_get(r, "id")));
    json_decref(r);
    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"id\":2,\"method\":\"ping\"}");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "error"), "code")), -32700);
    json_decref(r);
    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "error"), "code")), -32600);
    json_decref(r);
    /* A response from the client needs no answer; the next request still works. */
    const char *client_response = "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":{}}";
    mcp_session_receive(f->session, client_response, strlen(client_response));
    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"ping\"}");
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 9);
    json_decref(r);
}

static void test_client_logging_is_filtered_and_sanitised(void **state) {
    fixture *f = *state;
    initialize(f, "2025-11-25");
    json_t *r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"warning\"}}");
    assert_non_null(json_object_get(r, "result"));
    json_decref(r);
    mcp_session_log(f->session, "info", "t", "not shown");
    mcp_session_log(f->session, "debug", "t", "not shown either");
    mcp_session_log(f->session, "error", "t", "token=%s", "Bearer sekrit-value-123");
    json_t *n = outbox_next(&f->out, 2000);
    assert_string_equal(json_string_value(json_object_get(n, "method")), "notifications/message");
    assert_true(json_is_null(json_object_get(n, "__related")));
    const char *data = json_string_value(json_object_get(json_object_get(n, "params"), "data"));
    assert_null(strstr(data, "sekrit"));
    json_decref(n);

    /* With debug on, each tool call is reported; a failing tool's message reaches the client
     * sanitised, and its result keeps no token either. */
    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"debug\"}}");
    json_decref(r);
    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"failing\"}}");
    json_t *second = outbox_next(&f->out, 2000);
    json_t *answer = json_object_get(r, "id") ? r : second;
    json_t *note = answer == r ? second : r;
    assert_string_equal(json_string_value(json_object_get(note, "method")), "notifications/message");
    char *note_text = json_dumps(note, 0);
    assert_null(strstr(note_text, "abcdef0123456789"));
    free(note_text);
    assert_true(json_is_true(json_object_get(json_object_get(answer, "result"), "isError")));
    const char *answer_text = json_string_value(
        json_object_get(json_array_get(json_object_get(json_object_get(answer, "result"), "content"), 0), "text"));
    assert_non_null(strstr(answer_text, "it failed"));
    assert_null(strstr(answer_text, "abcdef0123456789"));
    json_decref(r);
    json_decref(second);
}

static void test_prompts(void **state) {
    fixture *f = *state;
    json_t *r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"prompts/list\"}");
    json_t *prompts = json_object_get(json_object_get(r, "result"), "prompts");
    assert_string_equal(json_string_value(json_object_get(json_array_get(prompts, 0), "name")), "cluster-health-check");
    json_decref(r);
    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"prompts/get\",\"params\":{\"name\":\"cluster-health-check\","
                     "\"arguments\":{\"namespace\":\"prod\",\"check_events\":\"false\"}}}");
    json_t *msg = json_array_get(json_object_get(json_object_get(r, "result"), "messages"), 0);
    const char *text = json_string_value(json_object_get(json_object_get(msg, "content"), "text"));
    assert_non_null(strstr(text, "\"prod\""));
    assert_null(strstr(text, "events_list"));
    json_decref(r);
    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"prompts/get\",\"params\":{\"name\":\"nope\"}}");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "error"), "code")), -32602);
    json_decref(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_initialize_echoes_a_supported_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initialize_offers_newest_for_unknown_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tools_list_pages_with_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tools_call_runs_and_validates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancelled_call_gets_no_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches_only_for_2025_03_26, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches_refused_for_newer_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_and_malformed_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_logging_is_filtered_and_sanitised, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prompts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
