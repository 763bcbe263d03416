/* The MCP engine with a test catalog: lifecycle, versions, tools, pagination, cancellation,
 * progress, batches, limits and client logging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
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

static bool hide_destructive(const void *opaque, const char *tool, bool read_only) {
    (void)opaque;
    (void)tool;
    return read_only;
}

/* The result part of an answer, as compact JSON text (malloc'd). */
static char *result_text(json_t *answer) {
    return json_dumps(json_object_get(answer, "result"), JSON_COMPACT);
}

static void test_tools_list_is_the_same_every_time(void **state) {
    fixture *f = *state;
    initialize(f, "2025-03-26");
    const char *first_page = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}";
    const char *second_page = "{\"jsonrpc\":\"2.0\",\"id\":\"two\",\"method\":\"tools/list\",\"params\":{\"cursor\":\"o:2\"}}";
    json_t *a = roundtrip(f, first_page), *b = roundtrip(f, first_page), *c = roundtrip(f, second_page);
    char *ta = result_text(a), *tb = result_text(b), *tc = result_text(c);
    assert_string_equal(ta, tb);
    assert_string_not_equal(ta, tc);
    assert_string_equal(json_string_value(json_object_get(c, "id")), "two");
    assert_string_equal(json_string_value(json_object_get(c, "__related")), "two"); /* routed by its id */
    /* Inside a batch the answer is built as a json_t: the same result. */
    json_t *batch = roundtrip(f, "[{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/list\"}]");
    char *tbatch = result_text(json_array_get(batch, 0));
    assert_string_equal(ta, tbatch);

    /* A caller whose token hides tools gets its own list, and does not change anyone else's. */
    mcp_caller caller = {.tool_visible = hide_destructive};
    mcp_session_receive_as(f->session, first_page, strlen(first_page), &caller);
    json_t *hidden = outbox_next(&f->out, 5000);
    mcp_session_receive_as(f->session, second_page, strlen(second_page), &caller);
    json_t *hidden2 = outbox_next(&f->out, 5000);
    json_t *tools = json_object_get(json_object_get(hidden, "result"), "tools");
    assert_int_equal(json_array_size(tools), 2);
    assert_null(json_object_get(json_object_get(hidden2, "result"), "nextCursor"));
    assert_int_equal(json_array_size(json_object_get(json_object_get(hidden2, "result"), "tools")), 1);
    json_t *again = roundtrip(f, first_page);
    char *tagain = result_text(again);
    assert_string_equal(ta, tagain);

    free(ta);
    free(tb);
    free(tc);
    free(tbatch);
    free(tagain);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(batch);
    json_decref(hidden);
    json_decref(hidden2);
    json_decref(again);
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


/* ---- resources, completion, requests to the client, tool logging, rich content ---- */

static int ask_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    const char *method = tool_arg_string(args, "method");
    json_t *params = json_pack("{s:[{s:s, s:{s:s, s:s}}], s:i}", "messages", "role", "user", "content", "type",
                               "text", "text", "hi", "maxTokens", 10);
    json_t *result = NULL;
    error_info err = {0};
    int r = ctx->request(ctx->call_opaque, method, params, (int)tool_arg_int(args, "timeout_ms", 5000), &result, &err);
    json_decref(params);
    if (r < 0)
        return tool_result_error(ret, "errno=%d %s", -r, err.message);
    char *text = json_dumps(result, JSON_COMPACT | JSON_SORT_KEYS);
    tool_result_printf(ret, "client said %s", text);
    free(text);
    json_decref(result);
    return 0;
}

static int log_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    ctx->log(ctx->call_opaque, "info", "started");
    ctx->log(ctx->call_opaque, "info", "token: Bearer sekrit-value-123");
    ctx->log(ctx->call_opaque, "debug", "a detail");
    ctx->log(ctx->call_opaque, "warning", "finished");
    return tool_result_printf(ret, "logged");
}

static int rich_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    tool_result_printf(ret, "this text is not sent");
    tool_result_add_content(ret, json_pack("{s:s, s:s}", "type", "text", "text", "a picture:"));
    tool_result_add_content(ret, json_pack("{s:s, s:s, s:s}", "type", "image", "data", "iVBORw0KGgo=", "mimeType",
                                           "image/png"));
    tool_result_add_content(ret, json_pack("{s:s, s:{s:s, s:s, s:s}}", "type", "resource", "resource", "uri",
                                           "test://x", "mimeType", "text/plain", "text", "embedded"));
    return 0;
}

static int progress_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    ctx->progress(ctx->progress_opaque, 0, 100, NULL);
    ctx->progress(ctx->progress_opaque, 50, 100, NULL);
    ctx->progress(ctx->progress_opaque, 100, 100, NULL);
    return tool_result_printf(ret, "done");
}

static const tool_def ask_tool = {
    .name = "ask", .description = "asks the client", .toolset = "core", .read_only = true,
    .input_schema = "{\"type\":\"object\",\"properties\":{\"method\":{\"type\":\"string\"},"
                    "\"timeout_ms\":{\"type\":\"integer\"}},\"required\":[\"method\"]}",
    .handler = ask_handler,
};
static const tool_def log_tool = {
    .name = "logs", .description = "logs", .toolset = "core", .read_only = true,
    .input_schema = "{\"type\":\"object\"}", .handler = log_handler,
};
static const tool_def rich_tool = {
    .name = "rich", .description = "rich content", .toolset = "core", .read_only = true,
    .input_schema = "{\"type\":\"object\"}", .handler = rich_handler,
};
static const tool_def progress_tool = {
    .name = "progress", .description = "progress from 0", .toolset = "core", .read_only = true,
    .input_schema = "{\"type\":\"object\"}", .handler = progress_handler,
};
#define SCHEMA_2020_12                                                                                             \
    "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"type\":\"object\",\"$defs\":{\"address\":"    \
    "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}},\"properties\":{\"name\":{\"type\":"  \
    "\"string\"},\"address\":{\"$ref\":\"#/$defs/address\"}},\"additionalProperties\":false}"
static const tool_def schema_tool = {
    .name = "schema", .description = "2020-12 schema", .toolset = "core", .read_only = true,
    .input_schema = SCHEMA_2020_12, .handler = echo_handler,
};
static int closer_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    return tool_result_printf(ret, "close_stream=%d", ctx->close_stream(ctx->call_opaque));
}
static const tool_def closer_tool = {
    .name = "closer", .description = "closes its stream", .toolset = "core", .read_only = true,
    .input_schema = "{\"type\":\"object\"}", .handler = closer_handler,
};
static const tool_def *const rich_catalog[] = {&ask_tool, &log_tool, &rich_tool, &progress_tool, &schema_tool,
                                               &closer_tool, NULL};

static int res_list(void *opaque, const char *cursor, json_t **ret_items, char **ret_next, error_info *err) {
    if (cursor && strcmp(cursor, "page2") != 0)
        return error_set(err, EINVAL, "bad cursor");
    if (!cursor) {
        *ret_items = json_pack("[{s:s, s:s}]", "uri", "test://a", "name", "a");
        *ret_next = strdup("page2");
    } else {
        *ret_items = json_pack("[{s:s, s:s}]", "uri", "test://b", "name", "b");
    }
    return 0;
}

static int res_read(void *opaque, const char *uri, json_t **ret_contents, error_info *err) {
    if (strcmp(uri, "test://a") != 0)
        return error_set(err, ENOENT, "Resource not found: %s", uri);
    *ret_contents = json_pack("[{s:s, s:s, s:s}]", "uri", uri, "mimeType", "text/plain", "text", "A");
    return 0;
}

static int res_templates(void *opaque, const char *cursor, json_t **ret_items, char **ret_next, error_info *err) {
    *ret_items = json_pack("[{s:s, s:s}]", "uriTemplate", "test://t/{id}", "name", "t");
    return 0;
}

static int res_on_subscribe(void *opaque, mcp_session *session, const char *uri, error_info *err) {
    return strncmp(uri, "test://", 7) == 0 ? 0 : error_set(err, EINVAL, "only test:// URIs");
}

static const mcp_resource_provider test_resources = {
    .list = res_list, .read = res_read, .list_templates = res_templates, .subscribe = true,
    .on_subscribe = res_on_subscribe,
};

static int complete_values(void *opaque, const json_t *ref, const char *name, const char *value,
                           const json_t *context_args, json_t **ret_values, long long *ret_total, bool *ret_has_more,
                           error_info *err) {
    if (strcmp(json_string_value(json_object_get(ref, "name")), "p") != 0)
        return error_set(err, EINVAL, "no such prompt");
    json_t *values = json_array();
    for (int i = 0; i < 150; i++) {
        char v[32];
        snprintf(v, sizeof v, "%s%d", value, i);
        json_array_append_new(values, json_string(v));
    }
    *ret_values = values;
    *ret_total = 150;
    return 0;
}

static int setup_rich(void **state) {
    fixture *f = calloc(1, sizeof *f);
    tool_registry_options ro = {.catalog = rich_catalog};
    error_info err;
    assert_int_equal(tool_registry_new(&ro, &f->registry, &err), 0);
    mcp_server_options so = {.name = "rich", .version = "1", .registry = f->registry, .worker_threads = 2,
                             .resources = &test_resources, .complete = complete_values};
    assert_int_equal(mcp_server_new(&so, &f->server), 0);
    pthread_mutex_init(&f->out.lock, NULL);
    pthread_cond_init(&f->out.changed, NULL);
    f->out.messages = json_array();
    mcp_session_options sess = {.send = outbox_send, .send_opaque = &f->out};
    assert_int_equal(mcp_session_new(f->server, &sess, &f->session), 0);
    *state = f;
    return 0;
}

static long long error_code(const json_t *r) {
    return json_integer_value(json_object_get(json_object_get(r, "error"), "code"));
}

static void initialize_with(fixture *f, const char *capabilities) {
    char msg[512];
    snprintf(msg, sizeof msg,
             "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\","
             "\"capabilities\":%s,\"clientInfo\":{\"name\":\"t\",\"version\":\"0\"}}}",
             capabilities);
    json_t *r = roundtrip(f, msg);
    assert_non_null(json_object_get(r, "result"));
    json_decref(r);
}

static void test_capabilities_follow_options(void **state) {
    fixture *f = *state;
    json_t *r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
                             "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{}}}");
    json_t *caps = json_object_get(json_object_get(r, "result"), "capabilities");
    assert_true(json_is_true(json_object_get(json_object_get(caps, "resources"), "subscribe")));
    assert_non_null(json_object_get(caps, "completions"));
    assert_null(json_object_get(caps, "prompts"));
    json_decref(r);
}

static void test_no_resources_without_provider(void **state) {
    fixture *f = *state;
    json_t *r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
                             "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{}}}");
    json_t *caps = json_object_get(json_object_get(r, "result"), "capabilities");
    assert_null(json_object_get(caps, "resources"));
    assert_null(json_object_get(caps, "completions"));
    json_decref(r);
    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/list\"}");
    assert_int_equal(error_code(r), -32601);
    json_decref(r);
    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"completion/complete\",\"params\":{}}");
    assert_int_equal(error_code(r), -32601);
    json_decref(r);
}

static void test_resources_list_read_templates(void **state) {
    fixture *f = *state;
    initialize_with(f, "{}");
    json_t *r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/list\"}");
    json_t *result = json_object_get(r, "result");
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(result, "resources"), 0), "uri")),
                        "test://a");
    assert_string_equal(json_string_value(json_object_get(result, "nextCursor")), "page2");
    json_decref(r);
    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/list\",\"params\":{\"cursor\":\"page2\"}}");
    result = json_object_get(r, "result");
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(result, "resources"), 0), "uri")),
                        "test://b");
    assert_null(json_object_get(result, "nextCursor"));
    json_decref(r);
    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/list\",\"params\":{\"cursor\":\"zzz\"}}");
    assert_int_equal(error_code(r), -32602);
    json_decref(r);

    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"resources/read\",\"params\":{\"uri\":\"test://a\"}}");
    json_t *content = json_array_get(json_object_get(json_object_get(r, "result"), "contents"), 0);
    assert_string_equal(json_string_value(json_object_get(content, "text")), "A");
    json_decref(r);
    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"resources/read\",\"params\":{\"uri\":\"test://nope\"}}");
    assert_int_equal(error_code(r), -32002);
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_object_get(r, "error"), "data"), "uri")),
                        "test://nope");
    json_decref(r);
    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"resources/read\",\"params\":{}}");
    assert_int_equal(error_code(r), -32602);
    json_decref(r);

    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"resources/templates/list\"}");
    json_t *tmpl = json_array_get(json_object_get(json_object_get(r, "result"), "resourceTemplates"), 0);
    assert_string_equal(json_string_value(json_object_get(tmpl, "uriTemplate")), "test://t/{id}");
    json_decref(r);
}

static void test_resource_subscriptions_and_updates(void **state) {
    fixture *f = *state;
    initialize_with(f, "{}");
    /* Not subscribed yet: no notification. */
    mcp_server_resource_updated(f->server, "test://a");
    json_t *r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"resources/subscribe\",\"params\":{\"uri\":\"test://a\"}}");
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
    assert_int_equal(json_object_size(json_object_get(r, "result")), 0);
    json_decref(r);
    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"resources/subscribe\",\"params\":{\"uri\":\"http://x\"}}");
    assert_int_equal(error_code(r), -32602);
    json_decref(r);

    mcp_server_resource_updated(f->server, "test://other");
    mcp_server_resource_updated(f->server, "test://a");
    json_t *n = outbox_next(&f->out, 2000);
    assert_string_equal(json_string_value(json_object_get(n, "method")), "notifications/resources/updated");
    assert_string_equal(json_string_value(json_object_get(json_object_get(n, "params"), "uri")), "test://a");
    json_decref(n);

    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"resources/unsubscribe\",\"params\":{\"uri\":\"test://a\"}}");
    assert_non_null(json_object_get(r, "result"));
    json_decref(r);
    mcp_session_resource_updated(f->session, "test://a");
    assert_null(outbox_next(&f->out, 300));
}

static void test_completion_is_cut_to_100(void **state) {
    fixture *f = *state;
    initialize_with(f, "{}");
    json_t *r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"completion/complete\",\"params\":{\"ref\":"
                             "{\"type\":\"ref/prompt\",\"name\":\"p\"},\"argument\":{\"name\":\"a\",\"value\":\"par\"}}}");
    json_t *completion = json_object_get(json_object_get(r, "result"), "completion");
    assert_int_equal(json_array_size(json_object_get(completion, "values")), 100);
    assert_string_equal(json_string_value(json_array_get(json_object_get(completion, "values"), 0)), "par0");
    assert_true(json_is_true(json_object_get(completion, "hasMore")));
    assert_int_equal(json_integer_value(json_object_get(completion, "total")), 150);
    json_decref(r);
    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"completion/complete\",\"params\":{\"ref\":"
                     "{\"type\":\"ref/nope\"},\"argument\":{\"name\":\"a\",\"value\":\"\"}}}");
    assert_int_equal(error_code(r), -32602);
    json_decref(r);
}

static void test_sampling_request_round_trip(void **state) {
    fixture *f = *state;
    initialize_with(f, "{\"sampling\":{}}");
    const char *call = "{\"jsonrpc\":\"2.0\",\"id\":\"c1\",\"method\":\"tools/call\",\"params\":"
                       "{\"name\":\"ask\",\"arguments\":{\"method\":\"sampling/createMessage\"}}}";
    json_t *req = roundtrip(f, call);
    assert_string_equal(json_string_value(json_object_get(req, "method")), "sampling/createMessage");
    assert_string_equal(json_string_value(json_object_get(req, "id")), "srv-1");
    assert_string_equal(json_string_value(json_object_get(req, "__related")), "c1");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(req, "params"), "maxTokens")), 10);
    json_decref(req);
    /* An answer to an id we never sent is ignored. */
    const char *stray = "{\"jsonrpc\":\"2.0\",\"id\":\"srv-99\",\"result\":{}}";
    mcp_session_receive(f->session, stray, strlen(stray));
    const char *answer = "{\"jsonrpc\":\"2.0\",\"id\":\"srv-1\",\"result\":{\"role\":\"assistant\",\"content\":"
                         "{\"type\":\"text\",\"text\":\"hello\"},\"model\":\"m\"}}";
    json_t *r = roundtrip(f, answer);
    const char *text = json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(r, "result"),
                                                                                         "content"), 0), "text"));
    assert_non_null(strstr(text, "client said"));
    assert_non_null(strstr(text, "\"hello\""));
    assert_string_equal(json_string_value(json_object_get(r, "id")), "c1");
    json_decref(r);

    /* A JSON-RPC error from the client reaches the tool as -EPROTO with its message. */
    req = roundtrip(f, call);
    assert_string_equal(json_string_value(json_object_get(req, "id")), "srv-2");
    json_decref(req);
    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":\"srv-2\",\"error\":{\"code\":-1,\"message\":\"user rejected\"}}");
    text = json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(r, "result"), "content"), 0),
                                             "text"));
    assert_non_null(strstr(text, "user rejected"));
    assert_true(json_is_true(json_object_get(json_object_get(r, "result"), "isError")));
    json_decref(r);
}

static void test_request_refused_without_capability(void **state) {
    fixture *f = *state;
    initialize_with(f, "{\"sampling\":{},\"elicitation\":{\"url\":{}}}");
    const char *calls[] = {
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"ask\",\"arguments\":"
        "{\"method\":\"roots/list\"}}}",
        /* elicitation declared for URL mode only: a form request must not be sent */
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"ask\",\"arguments\":"
        "{\"method\":\"elicitation/create\"}}}",
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"ask\",\"arguments\":"
        "{\"method\":\"tools/list\"}}}",
    };
    for (size_t i = 0; i < 3; i++) {
        json_t *r = roundtrip(f, calls[i]);
        /* The first thing out is the tool's answer: no request was sent to the client. */
        assert_int_equal(json_integer_value(json_object_get(r, "id")), (long long)i + 1);
        json_t *result = json_object_get(r, "result");
        assert_true(json_is_true(json_object_get(result, "isError")));
        const char *text = json_string_value(json_object_get(json_array_get(json_object_get(result, "content"), 0), "text"));
        char expect[32];
        snprintf(expect, sizeof expect, "errno=%d", EPERM);
        assert_non_null(strstr(text, expect));
        json_decref(r);
    }
}

static void test_request_refused_on_a_stateless_session(void **state) {
    fixture *f = *state;
    mcp_session *stateless = NULL;
    mcp_session_options so = {.send = outbox_send, .send_opaque = &f->out, .no_client_requests = true};
    assert_int_equal(mcp_session_new(f->server, &so, &stateless), 0);
    const char *init = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
                       "\"2025-11-25\",\"capabilities\":{\"sampling\":{}}}}";
    mcp_session_receive(stateless, init, strlen(init));
    json_decref(outbox_next(&f->out, 2000));
    const char *call = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"ask\","
                       "\"arguments\":{\"method\":\"sampling/createMessage\"}}}";
    mcp_session_receive(stateless, call, strlen(call));
    /* At once, and nothing was sent to the client first. */
    json_t *r = outbox_next(&f->out, 1000);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 1);
    const char *text = json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(r, "result"),
                                                                                         "content"), 0), "text"));
    char expect[32];
    snprintf(expect, sizeof expect, "errno=%d", ENOTSUP);
    assert_non_null(strstr(text, expect));
    json_decref(r);
    mcp_session_close(stateless);
}

static void test_request_ends_on_cancel_and_timeout(void **state) {
    fixture *f = *state;
    initialize_with(f, "{\"elicitation\":{}}");
    json_t *req = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"ask\","
                               "\"arguments\":{\"method\":\"elicitation/create\"}}}");
    assert_string_equal(json_string_value(json_object_get(req, "method")), "elicitation/create");
    json_t *srv_id = json_deep_copy(json_object_get(req, "id"));
    json_decref(req);
    const char *cancel = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\",\"params\":{\"requestId\":5}}";
    mcp_session_receive(f->session, cancel, strlen(cancel));
    /* We withdraw our own request; the cancelled call itself gets no answer. */
    json_t *n = outbox_next(&f->out, 2000);
    assert_string_equal(json_string_value(json_object_get(n, "method")), "notifications/cancelled");
    assert_true(json_equal(json_object_get(json_object_get(n, "params"), "requestId"), srv_id));
    assert_int_equal(json_integer_value(json_object_get(n, "__related")), 5);
    json_decref(n);
    json_decref(srv_id);
    assert_null(outbox_next(&f->out, 300));

    req = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/call\",\"params\":{\"name\":\"ask\","
                       "\"arguments\":{\"method\":\"elicitation/create\",\"timeout_ms\":200}}}");
    assert_string_equal(json_string_value(json_object_get(req, "method")), "elicitation/create");
    json_decref(req);
    n = outbox_next(&f->out, 3000);
    assert_string_equal(json_string_value(json_object_get(n, "method")), "notifications/cancelled");
    json_decref(n);
    json_t *r = outbox_next(&f->out, 3000);
    const char *text = json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(r, "result"),
                                                                                         "content"), 0), "text"));
    char expect[32];
    snprintf(expect, sizeof expect, "errno=%d", ETIMEDOUT);
    assert_non_null(strstr(text, expect));
    json_decref(r);
}

static void test_request_ends_when_session_closes(void **state) {
    fixture *f = *state;
    initialize_with(f, "{\"sampling\":{}}");
    json_t *req = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\",\"params\":{\"name\":\"ask\","
                               "\"arguments\":{\"method\":\"sampling/createMessage\",\"timeout_ms\":60000}}}");
    assert_non_null(req);
    json_decref(req);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    mcp_session_close(f->session);
    f->session = NULL;
    mcp_server_drain(f->server); /* returns once the waiting call gave up */
    clock_gettime(CLOCK_MONOTONIC, &end);
    assert_true(end.tv_sec - start.tv_sec < 5);
    assert_null(outbox_next(&f->out, 100));
}

static void test_tool_logs_are_related_filtered_and_sanitised(void **state) {
    fixture *f = *state;
    initialize_with(f, "{}");
    json_t *r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"logging/setLevel\",\"params\":{\"level\":\"info\"}}");
    json_decref(r);
    const char *call = "{\"jsonrpc\":\"2.0\",\"id\":\"L\",\"method\":\"tools/call\",\"params\":{\"name\":\"logs\"}}";
    mcp_session_receive(f->session, call, strlen(call));
    const char *expect[] = {"started", NULL, "finished"};
    for (int i = 0; i < 3; i++) {
        json_t *n = outbox_next(&f->out, 2000);
        assert_string_equal(json_string_value(json_object_get(n, "method")), "notifications/message");
        assert_string_equal(json_string_value(json_object_get(n, "__related")), "L");
        json_t *params = json_object_get(n, "params");
        assert_string_equal(json_string_value(json_object_get(params, "logger")), "logs");
        const char *data = json_string_value(json_object_get(params, "data"));
        if (expect[i])
            assert_string_equal(data, expect[i]);
        else
            assert_null(strstr(data, "sekrit"));
        json_decref(n);
    }
    r = outbox_next(&f->out, 2000);
    assert_string_equal(json_string_value(json_object_get(r, "id")), "L");
    json_decref(r);
}

static void test_rich_content_and_progress_from_zero(void **state) {
    fixture *f = *state;
    initialize_with(f, "{}");
    json_t *r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"rich\"}}");
    json_t *content = json_object_get(json_object_get(r, "result"), "content");
    assert_int_equal(json_array_size(content), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(content, 1), "type")), "image");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(content, 2), "resource"), "text")),
                        "embedded");
    json_decref(r);

    const char *call = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"progress\","
                       "\"_meta\":{\"progressToken\":7}}}";
    mcp_session_receive(f->session, call, strlen(call));
    double expect[] = {0, 50, 100};
    for (int i = 0; i < 3; i++) {
        json_t *n = outbox_next(&f->out, 2000);
        json_t *params = json_object_get(n, "params");
        assert_true(json_number_value(json_object_get(params, "progress")) == expect[i]);
        assert_true(json_number_value(json_object_get(params, "total")) == 100);
        json_decref(n);
    }
    r = outbox_next(&f->out, 2000);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 2);
    json_decref(r);
}

static void test_prompt_describe_optional_fields(void **state) {
    static const prompt_argument args[] = {{"a", NULL, true}, {NULL, NULL, false}};
    static const prompt_def bare = {.name = "bare", .arguments = args};
    json_t *d = prompt_describe(&bare);
    assert_non_null(d);
    assert_null(json_object_get(d, "title"));
    /* Clients expect a description; the name stands in for a missing one. */
    assert_string_equal(json_string_value(json_object_get(d, "description")), "bare");
    json_t *arg = json_array_get(json_object_get(d, "arguments"), 0);
    assert_null(json_object_get(arg, "description"));
    assert_true(json_is_true(json_object_get(arg, "required")));
    json_decref(d);
}

static json_t *closed_streams;

static int record_close_stream(void *opaque, const json_t *related_id) {
    json_array_append_new(closed_streams, json_deep_copy(related_id));
    return 0;
}

static void test_close_stream_reaches_the_transport(void **state) {
    fixture *f = *state;
    initialize_with(f, "{}");
    /* This session's transport cannot close streams. */
    json_t *r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"closer\"}}");
    char expect[32];
    snprintf(expect, sizeof expect, "close_stream=%d", -ENOTSUP);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(r, "result"),
                                                                                           "content"), 0), "text")),
                        expect);
    json_decref(r);

    closed_streams = json_array();
    mcp_session *other = NULL;
    mcp_session_options so = {.send = outbox_send, .send_opaque = &f->out, .close_stream = record_close_stream};
    assert_int_equal(mcp_session_new(f->server, &so, &other), 0);
    const char *init = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\"}}";
    mcp_session_receive(other, init, strlen(init));
    json_decref(outbox_next(&f->out, 2000));
    const char *call = "{\"jsonrpc\":\"2.0\",\"id\":\"k\",\"method\":\"tools/call\",\"params\":{\"name\":\"closer\"}}";
    mcp_session_receive(other, call, strlen(call));
    r = outbox_next(&f->out, 2000);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(r, "result"),
                                                                                           "content"), 0), "text")),
                        "close_stream=0");
    json_decref(r);
    assert_int_equal(json_array_size(closed_streams), 1);
    assert_string_equal(json_string_value(json_array_get(closed_streams, 0)), "k");
    mcp_session_close(other);
    json_decref(closed_streams);
}

static void test_2020_12_schema_is_preserved(void **state) {
    fixture *f = *state;
    initialize_with(f, "{}");
    json_t *r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}");
    json_t *tools = json_object_get(json_object_get(r, "result"), "tools");
    json_t *schema = NULL;
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) if (strcmp(json_string_value(json_object_get(t, "name")), "schema") == 0) schema =
        json_object_get(t, "inputSchema");
    json_t *expect = json_loads(SCHEMA_2020_12, 0, NULL);
    assert_true(json_equal(schema, expect));
    json_decref(expect);
    json_decref(r);
    /* additionalProperties:false is enforced; a $ref'd property is accepted. */
    r = roundtrip(f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"schema\","
                     "\"arguments\":{\"name\":\"n\",\"address\":{\"city\":\"c\"},\"zip\":1}}}");
    assert_true(json_is_true(json_object_get(json_object_get(r, "result"), "isError")));
    json_decref(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_initialize_echoes_a_supported_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_initialize_offers_newest_for_unknown_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tools_list_pages_with_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tools_list_is_the_same_every_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tools_call_runs_and_validates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancelled_call_gets_no_answer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches_only_for_2025_03_26, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches_refused_for_newer_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oversized_and_malformed_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_logging_is_filtered_and_sanitised, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prompts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_resources_without_provider, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capabilities_follow_options, setup_rich, teardown),
        cmocka_unit_test_setup_teardown(test_resources_list_read_templates, setup_rich, teardown),
        cmocka_unit_test_setup_teardown(test_resource_subscriptions_and_updates, setup_rich, teardown),
        cmocka_unit_test_setup_teardown(test_completion_is_cut_to_100, setup_rich, teardown),
        cmocka_unit_test_setup_teardown(test_sampling_request_round_trip, setup_rich, teardown),
        cmocka_unit_test_setup_teardown(test_request_refused_without_capability, setup_rich, teardown),
        cmocka_unit_test_setup_teardown(test_request_ends_on_cancel_and_timeout, setup_rich, teardown),
        cmocka_unit_test_setup_teardown(test_request_refused_on_a_stateless_session, setup_rich, teardown),
        cmocka_unit_test_setup_teardown(test_request_ends_when_session_closes, setup_rich, teardown),
        cmocka_unit_test_setup_teardown(test_tool_logs_are_related_filtered_and_sanitised, setup_rich, teardown),
        cmocka_unit_test_setup_teardown(test_rich_content_and_progress_from_zero, setup_rich, teardown),
        cmocka_unit_test_setup_teardown(test_2020_12_schema_is_preserved, setup_rich, teardown),
        cmocka_unit_test_setup_teardown(test_close_stream_reaches_the_transport, setup_rich, teardown),
        cmocka_unit_test(test_prompt_describe_optional_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
