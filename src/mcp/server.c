#include "mcp/server.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/json_arena.h"
#include "core/json_fast.h"
#include "core/log.h"
#include "gate/audit.h"
#include "core/utf8.h"
#include "mcp/jsonrpc.h"
#include "mcp/session_internal.h"

const char *const mcp_supported_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05", NULL};

/* What a client that never said which version it speaks is assumed to speak (spec: 2025-03-26). */
#define MCP_DEFAULT_VERSION "2025-03-26"
#define MCP_DEFAULT_MAX_MESSAGE (4u * 1024 * 1024)
#define MCP_DEFAULT_MAX_OUTPUT (1u * 1024 * 1024)
/* A session may have this many tool calls running or queued at once. */
#define MCP_MAX_INFLIGHT_PER_SESSION 64
/* Bytes of an answer besides its escaped text: the envelope, the id, structuredContent. */
#define MCP_ENVELOPE_SLACK (1u * 1024 * 1024)
/* A log message from a tool is cut to this many bytes. */
#define MCP_MAX_TOOL_LOG_BYTES 8192

static const char *const log_levels[] = {"debug",    "info",  "notice", "warning",
                                         "error",    "critical", "alert", "emergency", NULL};

/* ---- sending ---------------------------------------------------------------------------- */

/* related_id: the request this message answers or belongs to (progress, logs during a call), NULL
 * for messages unrelated to any request. HTTP transports route by it; stdio ignores it. */
void session_send_text(mcp_session *s, const char *text, size_t len, const json_t *related_id) {
    bool closed;
    pthread_mutex_lock(&s->lock);
    closed = s->closed;
    pthread_mutex_unlock(&s->lock);
    if (!closed)
        s->opts.send(s->opts.send_opaque, text, len, related_id);
}

void session_send_json(mcp_session *s, json_t *msg, const json_t *related_id) {
    /* msg is released last: related_id may point into it. */
    char *text = json_dumps(msg, JSON_COMPACT);
    if (!text) {
        log_error("could not serialise a response (out of memory)");
        json_decref(msg);
        return;
    }
    session_send_text(s, text, strlen(text), related_id);
    free(text);
    json_decref(msg);
}

static batch_reply *batch_new(void) {
    batch_reply *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    pthread_mutex_init(&b->lock, NULL);
    b->responses = json_array();
    return b;
}

static void batch_free(batch_reply *b) {
    pthread_mutex_destroy(&b->lock);
    json_decref(b->first_id);
    json_decref(b->responses);
    free(b);
}

/* Delivers one answer: straight to the client, or into its batch (sent when the batch is
 * complete). msg may be NULL for a request whose answer is suppressed (cancelled). */
void session_reply(mcp_session *s, batch_reply *batch, json_t *msg) {
    if (!batch) {
        if (msg)
            session_send_json(s, msg, json_object_get(msg, "id"));
        return;
    }
    pthread_mutex_lock(&batch->lock);
    if (msg)
        json_array_append_new(batch->responses, msg);
    bool done = --batch->pending == 0;
    pthread_mutex_unlock(&batch->lock);
    if (!done)
        return;
    if (json_array_size(batch->responses) > 0)
        session_send_json(s, json_incref(batch->responses), batch->first_id);
    batch_free(batch);
}

void session_reply_error(mcp_session *s, batch_reply *batch, const json_t *id, int code, const char *message) {
    session_reply(s, batch, jsonrpc_error(id, code, message, NULL));
}

void session_reply_provider_error(mcp_session *s, batch_reply *batch, const json_t *id, int r, const error_info *err,
                                  const char *uri) {
    const char *message = err->message[0] ? err->message : "the request failed";
    if (r == -ENOENT)
        session_reply(s, batch,
                      jsonrpc_error(id, JSONRPC_RESOURCE_NOT_FOUND, err->message[0] ? message : "Resource not found",
                                    uri ? json_pack("{s:s}", "uri", uri) : NULL));
    else
        session_reply_error(s, batch, id, r == -EINVAL ? JSONRPC_INVALID_PARAMS : JSONRPC_INTERNAL_ERROR, message);
}

/* ---- session references ----------------------------------------------------------------- */

void session_unref(mcp_session *s) {
    pthread_mutex_lock(&s->lock);
    bool last = --s->refs == 0;
    pthread_mutex_unlock(&s->lock);
    if (!last)
        return;
    json_decref(s->client_capabilities);
    json_decref(s->subscriptions);
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* ---- logging to the client -------------------------------------------------------------- */

static int log_level_index(const char *level) {
    for (int i = 0; log_levels[i]; i++)
        if (strcmp(log_levels[i], level) == 0)
            return i;
    return -1;
}

bool session_log_wanted(mcp_session *s, const char *level) {
    int idx = log_level_index(level);
    pthread_mutex_lock(&s->lock);
    bool wanted = idx >= 0 && idx >= s->log_level && !s->closed;
    pthread_mutex_unlock(&s->lock);
    return wanted;
}

void session_log_text(mcp_session *s, const char *level, const char *logger, char *text, size_t len,
                      const json_t *related_id) {
    len = log_sanitize(text, len);
    json_t *params = json_pack("{s:s, s:s, s:o}", "level", level, "logger", logger ? logger : "kubemcp", "data",
                               utf8_json_string(text, len));
    if (params)
        session_send_json(s, jsonrpc_notification("notifications/message", params), related_id);
}

void mcp_session_log(mcp_session *s, const char *level, const char *logger, const char *fmt, ...) {
    if (!session_log_wanted(s, level))
        return;
    char text[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    session_log_text(s, level, logger, text, strnlen(text, sizeof text), NULL);
}

/* ---- tool calls (run on the worker pool) -------------------------------------------------- */

static void call_progress(void *opaque, double progress, double total, const char *message) {
    inflight_call *call = opaque;
    /* Progress must increase with every notification and stop once the call is answered. */
    if (!call->progress_token || (call->progress_any && progress <= call->progress_sent) ||
        atomic_load(&call->cancelled))
        return;
    call->progress_any = true;
    call->progress_sent = progress;
    json_t *params = json_pack("{s:O, s:f}", "progressToken", call->progress_token, "progress", progress);
    if (total > 0)
        json_object_set_new(params, "total", json_real(total));
    if (message)
        json_object_set_new(params, "message", utf8_json_string(message, strlen(message)));
    session_send_json(call->session, jsonrpc_notification("notifications/progress", params), call->id);
}

static void call_log(void *opaque, const char *level, const char *data) {
    inflight_call *call = opaque;
    if (!data || atomic_load(&call->cancelled) || !session_log_wanted(call->session, level))
        return;
    size_t len = strnlen(data, MCP_MAX_TOOL_LOG_BYTES);
    char *copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, data, len);
    copy[len] = '\0';
    session_log_text(call->session, level, call->tool->name, copy, len, call->id);
    free(copy);
}

static int call_close_stream(void *opaque) {
    inflight_call *call = opaque;
    mcp_session *s = call->session;
    if (!s->opts.close_stream || atomic_load(&call->cancelled))
        return -ENOTSUP;
    return s->opts.close_stream(s->opts.send_opaque, call->id);
}

/* ---- requests to the client, on behalf of a running tool call ------------------------------ */

static json_t *tool_result_to_json(tool_result *res) {
    json_t *content;
    if (json_is_array(res->content)) {
        content = json_incref(res->content);
    } else {
        content = json_array();
        const char *text = res->text.data ? res->text.data : "";
        json_array_append_new(content, json_pack("{s:s, s:o}", "type", "text", "text",
                                                 utf8_json_string(text, res->text.len)));
    }
    json_t *result = json_pack("{s:o}", "content", content);
    if (res->is_error)
        json_object_set_new(result, "isError", json_true());
    if (res->structured) {
        json_object_set(result, "structuredContent", res->structured);
    }
    return result;
}

/* The answer written straight from the result's text (up to max_output_bytes): one escaping pass
 * instead of copying the text into a json_t and dumping that. The same bytes as
 * jsonrpc_result(tool_result_to_json()); a negative errno leaves the answer to that path. */
static int send_text_result(mcp_session *s, const inflight_call *call, const tool_result *res) {
    const char *text = res->text.data ? res->text.data : "";
    buf out;
    /* Room for the worst case, every byte a six-byte escape, plus the envelope. */
    buf_init(&out, res->text.len * 6 + MCP_ENVELOPE_SLACK);
    int r = buf_reserve(&out, res->text.len + 256);
    if (r >= 0)
        r = jsonrpc_write_text_result(&out, call->id, text, res->text.len, res->is_error, res->structured);
    if (r >= 0)
        session_send_text(s, out.data, out.len, call->id);
    buf_free(&out);
    return r;
}

static void inflight_remove(mcp_session *s, inflight_call *call) {
    pthread_mutex_lock(&s->lock);
    for (inflight_call **p = &s->inflight; *p; p = &(*p)->next) {
        if (*p == call) {
            *p = call->next;
            s->inflight_count--;
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
}

static void inflight_free(inflight_call *call) {
    mcp_caller_copy_free(call->caller);
    json_decref(call->id);
    json_decref(call->arguments);
    json_decref(call->progress_token);
    free(call);
}

static double elapsed_ms(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) * 1e3 + (double)(now.tv_nsec - start->tv_nsec) / 1e6;
}

static void run_tool_call(void *job) {
    inflight_call *call = job;
    mcp_session *s = call->session;
    mcp_server *server = s->server;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);

    tool_result res = {0};
    buf_init(&res.text, server->max_output_bytes);
    error_info err = {0};
    int r = tool_registry_validate(server->opts.registry, call->tool, call->arguments, &err);
    if (r < 0) {
        /* Input validation failures are tool results, so the model can correct itself. */
        tool_result_error(&res, "invalid arguments for %s: %s", call->tool->name, err.message);
    } else {
        tool_context ctx = {
            .config = server->opts.config,
            .provider = server->opts.provider,
            .provider_error = server->opts.provider_error,
            .credential = call->caller ? mcp_caller_copy_credential(call->caller) : s->opts.credential,
            .identity = mcp_caller_copy_identity(call->caller),
            .cluster_override = mcp_caller_copy_cluster(call->caller),
            .cancelled = &call->cancelled,
            .progress = call_progress,
            .progress_opaque = call,
            .request = client_request_send,
            .log = call_log,
            .close_stream = call_close_stream,
            .call_opaque = call,
        };
        r = call->tool->handler(&ctx, call->arguments, &res);
        if (r < 0 && !res.is_error) {
            buf_reset(&res.text);
            tool_result_error(&res, "%s failed: %s", call->tool->name, strerror(-r));
        }
    }

    bool cancelled = atomic_load(&call->cancelled);
    const char *outcome = cancelled ? "cancelled" : res.is_error ? "failed" : "succeeded";
    double ms = elapsed_ms(&start);
    log_info("tool %s %s in %.1f ms", call->tool->name, outcome, ms);
    if (server->opts.audit) {
        audit_event event = {
            .kind = "tool_call",
            .identity = mcp_caller_copy_identity(call->caller),
            .source_address = mcp_caller_copy_source(call->caller),
            .tool = call->tool->name,
            .arguments = call->arguments,
            .context = json_string_value(json_object_get(call->arguments, "context")),
            .namespace_name = json_string_value(json_object_get(call->arguments, "namespace")),
            .outcome = cancelled ? "cancelled" : res.is_error ? "error" : "ok",
            .reason = res.is_error && res.text.data ? res.text.data : NULL,
            .duration_ms = ms,
        };
        audit_log_write(server->opts.audit, &event);
    }
    inflight_remove(s, call);
    /* The result already tells the model; this is for a client that asked for debug logs. */
    if (!cancelled)
        mcp_session_log(s, "debug", "tools", "%s %s in %.1f ms%s%.200s", call->tool->name, outcome, ms,
                        res.is_error ? ": " : "", res.is_error && res.text.data ? res.text.data : "");
    /* A cancelled request gets no answer (the spec says the receiver should not respond). */
    if (cancelled)
        session_reply(s, call->batch, NULL);
    else if (call->batch || res.content || send_text_result(s, call, &res) < 0)
        session_reply(s, call->batch, jsonrpc_result(call->id, tool_result_to_json(&res)));
    buf_free(&res.text);
    json_decref(res.structured);
    json_decref(res.content);
    inflight_free(call);
    session_unref(s);
}

static void handle_tools_call(mcp_session *s, batch_reply *batch, const json_t *id, const json_t *params,
                              const mcp_caller *caller) {
    const json_t *name = json_object_get(params, "name");
    if (!json_is_string(name)) {
        session_reply_error(s, batch, id, JSONRPC_INVALID_PARAMS, "tools/call needs params.name (the tool's name)");
        return;
    }
    const tool_def *tool = NULL;
    error_info err = {0};
    if (tool_registry_find(s->server->opts.registry, json_string_value(name), &tool, &err) < 0) {
        session_reply_error(s, batch, id, JSONRPC_INVALID_PARAMS, err.message);
        return;
    }
    const json_t *args = json_object_get(params, "arguments");
    const json_t *meta = json_object_get(params, "_meta");
    const json_t *progress_token = meta ? json_object_get(meta, "progressToken") : NULL;

    inflight_call *call = calloc(1, sizeof *call);
    if (!call) {
        session_reply_error(s, batch, id, JSONRPC_INTERNAL_ERROR, "out of memory");
        return;
    }
    call->session = s;
    call->id = json_deep_copy(id);
    call->arguments = args && !json_is_null(args) ? json_deep_copy(args) : json_object();
    if (json_is_string(progress_token) || json_is_integer(progress_token))
        call->progress_token = json_deep_copy(progress_token);
    call->tool = tool;
    call->batch = batch;
    atomic_init(&call->cancelled, false);
    /* The call may outlive the request that carried the caller's credential: keep a copy. */
    if (caller && !(call->caller = mcp_caller_copy_new(caller))) {
        inflight_free(call);
        session_reply_error(s, batch, id, JSONRPC_INTERNAL_ERROR, "out of memory");
        return;
    }

    pthread_mutex_lock(&s->lock);
    bool too_many = s->inflight_count >= MCP_MAX_INFLIGHT_PER_SESSION;
    if (!too_many) {
        call->next = s->inflight;
        s->inflight = call;
        s->inflight_count++;
        s->refs++;
    }
    pthread_mutex_unlock(&s->lock);
    if (too_many) {
        inflight_free(call);
        session_reply_error(s, batch, id, JSONRPC_SERVER_BUSY,
                    "too many tool calls in progress on this session; wait for some to finish and retry");
        return;
    }
    int r = worker_pool_submit(s->server->pool, run_tool_call, call);
    if (r < 0) {
        inflight_remove(s, call);
        inflight_free(call);
        session_unref(s);
        session_reply_error(s, batch, id, JSONRPC_SERVER_BUSY,
                    r == -EBUSY || r == -EAGAIN ? "the server is busy with other tool calls; retry in a moment"
                                                : "the server is shutting down");
    }
}

/* ---- other methods ---------------------------------------------------------------------- */

static bool version_supported(const char *v) {
    for (size_t i = 0; mcp_supported_versions[i]; i++)
        if (strcmp(mcp_supported_versions[i], v) == 0)
            return true;
    return false;
}

static json_t *handle_initialize(mcp_session *s, const json_t *params, int *ret_code, const char **ret_message) {
    const json_t *requested = json_object_get(params, "protocolVersion");
    if (!json_is_string(requested)) {
        *ret_code = JSONRPC_INVALID_PARAMS;
        *ret_message = "initialize needs params.protocolVersion";
        return NULL;
    }
    pthread_mutex_lock(&s->lock);
    bool again = s->initialize_seen;
    s->initialize_seen = true;
    /* Echo the client's version when we speak it, else offer our newest (the client decides). */
    const char *chosen = version_supported(json_string_value(requested)) ? json_string_value(requested)
                                                                          : mcp_supported_versions[0];
    if (!again) {
        snprintf(s->protocol_version, sizeof s->protocol_version, "%s", chosen);
        const json_t *caps = json_object_get(params, "capabilities");
        s->client_capabilities = json_is_object(caps) ? json_deep_copy(caps) : json_object();
    }
    pthread_mutex_unlock(&s->lock);
    if (again) {
        *ret_code = JSONRPC_INVALID_REQUEST;
        *ret_message = "this session is already initialized; start a new session to initialize again";
        return NULL;
    }
    const mcp_server_options *o = &s->server->opts;
    json_t *capabilities = json_pack("{s:{s:b}, s:{}}", "tools", "listChanged", 0, "logging");
    if (o->prompts && o->prompts[0])
        json_object_set_new(capabilities, "prompts", json_pack("{s:b}", "listChanged", 0));
    if (o->resources)
        json_object_set_new(capabilities, "resources",
                            json_pack("{s:b, s:b}", "subscribe", o->resources->subscribe, "listChanged", 0));
    if (o->complete)
        json_object_set_new(capabilities, "completions", json_object());
    json_t *info = json_pack("{s:s, s:s}", "name", o->name, "version", o->version);
    if (o->title)
        json_object_set_new(info, "title", json_string(o->title));
    json_t *result = json_pack("{s:s, s:o, s:o}", "protocolVersion", chosen, "capabilities", capabilities,
                               "serverInfo", info);
    if (o->instructions)
        json_object_set_new(result, "instructions", json_string(o->instructions));
    return result;
}

/* Cursors are "o:<offset>" — opaque to clients, and checked strictly so a bad one is refused. */
static int parse_cursor(const json_t *params, size_t limit, size_t *ret_offset) {
    const json_t *cursor = json_object_get(params, "cursor");
    if (!cursor || json_is_null(cursor)) {
        *ret_offset = 0;
        return 0;
    }
    if (!json_is_string(cursor))
        return -EINVAL;
    const char *text = json_string_value(cursor);
    if (strncmp(text, "o:", 2) != 0 || text[2] == '\0')
        return -EINVAL;
    char *end;
    errno = 0;
    unsigned long long off = strtoull(text + 2, &end, 10);
    if (errno || *end || off == 0 || off >= limit || text[2] < '0' || text[2] > '9')
        return -EINVAL;
    *ret_offset = (size_t)off;
    return 0;
}

/* The registry indexes of the tools this caller may call (its token's scopes can hide some), in
 * order; pages are over these. visible has room for every enabled tool. Returns their number. */
static size_t visible_tools(const tool_registry *reg, const mcp_caller *caller, size_t *visible) {
    size_t all = tool_registry_count(reg), total = 0;
    for (size_t k = 0; k < all; k++)
        if (!caller || !caller->tool_visible ||
            caller->tool_visible(caller->tool_visible_opaque, tool_registry_tool(reg, k)->name,
                                 tool_registry_tool(reg, k)->read_only))
            visible[total++] = k;
    return total;
}

static json_t *tools_list_result(const mcp_server *server, const size_t *visible, size_t total, size_t offset) {
    const tool_registry *reg = server->opts.registry;
    size_t page = server->opts.tools_page_size ? server->opts.tools_page_size : 100;
    json_t *tools = json_array();
    size_t i = offset;
    for (; i < total && i < offset + page; i++)
        json_array_append(tools, (json_t *)tool_registry_describe(reg, visible[i]));
    json_t *result = json_pack("{s:o}", "tools", tools);
    if (i < total) {
        char next[32];
        snprintf(next, sizeof next, "o:%zu", i);
        json_object_set_new(result, "nextCursor", json_string(next));
    }
    return result;
}

static json_t *handle_tools_list(mcp_session *s, const json_t *params, const mcp_caller *caller, int *ret_code,
                                 const char **ret_message) {
    const tool_registry *reg = s->server->opts.registry;
    size_t all = tool_registry_count(reg), offset;
    size_t *visible = calloc(all ? all : 1, sizeof *visible);
    if (!visible) {
        *ret_code = JSONRPC_INTERNAL_ERROR;
        *ret_message = "out of memory";
        return NULL;
    }
    size_t total = visible_tools(reg, caller, visible);
    if (parse_cursor(params, total, &offset) < 0) {
        free(visible);
        *ret_code = JSONRPC_INVALID_PARAMS;
        *ret_message = "invalid cursor: pass back the nextCursor of the previous tools/list answer";
        return NULL;
    }
    json_t *result = tools_list_result(s->server, visible, total, offset);
    free(visible);
    return result;
}

/* A page of tools/list depends only on which tools the caller sees and where the page starts, and
 * the registry does not change while the server runs: each page is serialised once and kept. */
static const tools_list_page *tools_list_cache_get(mcp_server *server, uint64_t visible, size_t offset) {
    const tools_list_page *found = NULL;
    pthread_mutex_lock(&server->tools_list_lock);
    for (size_t i = 0; i < server->tools_list_count && !found; i++)
        if (server->tools_list_pages[i].visible == visible && server->tools_list_pages[i].offset == offset)
            found = &server->tools_list_pages[i];
    pthread_mutex_unlock(&server->tools_list_lock);
    return found;
}

/* Keeps json (stolen) as the page for (visible, offset) unless another thread did first or the
 * cache is full; returns the kept page, or NULL when json was not kept. */
static const tools_list_page *tools_list_cache_put(mcp_server *server, uint64_t visible, size_t offset,
                                                   char *json) {
    const tools_list_page *kept = NULL;
    pthread_mutex_lock(&server->tools_list_lock);
    bool present = false;
    for (size_t i = 0; i < server->tools_list_count && !present; i++)
        present = server->tools_list_pages[i].visible == visible && server->tools_list_pages[i].offset == offset;
    if (!present && server->tools_list_count < MCP_TOOLS_LIST_PAGES) {
        tools_list_page *p = &server->tools_list_pages[server->tools_list_count++];
        *p = (tools_list_page){.visible = visible, .offset = offset, .json = json, .len = strlen(json)};
        kept = p;
    }
    pthread_mutex_unlock(&server->tools_list_lock);
    return kept;
}

/* Answers tools/list from the cache, filling it on a miss. False when the answer must be built the
 * long way: more than 64 tools, a bad cursor (that path words the error), out of memory. */
static bool tools_list_send_cached(mcp_session *s, const json_t *id, const json_t *params, const mcp_caller *caller) {
    mcp_server *server = s->server;
    size_t visible[64];
    if (tool_registry_count(server->opts.registry) > 64)
        return false;
    size_t total = visible_tools(server->opts.registry, caller, visible), offset;
    if (parse_cursor(params, total, &offset) < 0)
        return false;
    uint64_t mask = 0;
    for (size_t i = 0; i < total; i++)
        mask |= (uint64_t)1 << visible[i];
    const tools_list_page *page = tools_list_cache_get(server, mask, offset);
    char *fresh = NULL;
    if (!page) {
        json_t *result = tools_list_result(server, visible, total, offset);
        fresh = result ? json_dumps(result, JSON_COMPACT) : NULL;
        json_decref(result);
        if (!fresh)
            return false;
        if ((page = tools_list_cache_put(server, mask, offset, fresh)))
            fresh = NULL;
    }
    const char *json = page ? page->json : fresh;
    size_t len = page ? page->len : strlen(fresh);
    buf out;
    buf_init(&out, len + MCP_ENVELOPE_SLACK);
    int r = jsonrpc_write_result(&out, id, json, len);
    if (r >= 0)
        session_send_text(s, out.data, out.len, id);
    buf_free(&out);
    free(fresh);
    return r >= 0;
}

static const prompt_def *find_prompt(const mcp_server *server, const char *name) {
    for (size_t i = 0; server->opts.prompts && server->opts.prompts[i]; i++)
        if (strcmp(server->opts.prompts[i]->name, name) == 0)
            return server->opts.prompts[i];
    return NULL;
}

static json_t *handle_prompts_list(mcp_session *s, const json_t *params, int *ret_code, const char **ret_message) {
    size_t total = 0;
    while (s->server->opts.prompts && s->server->opts.prompts[total])
        total++;
    size_t offset;
    if (parse_cursor(params, total, &offset) < 0) {
        *ret_code = JSONRPC_INVALID_PARAMS;
        *ret_message = "invalid cursor: pass back the nextCursor of the previous prompts/list answer";
        return NULL;
    }
    json_t *prompts = json_array();
    for (size_t i = offset; i < total; i++)
        json_array_append_new(prompts, prompt_describe(s->server->opts.prompts[i]));
    return json_pack("{s:o}", "prompts", prompts);
}

static json_t *handle_prompts_get(mcp_session *s, const json_t *params, int *ret_code, char *message,
                                  size_t message_len) {
    const json_t *name = json_object_get(params, "name");
    const prompt_def *def = json_is_string(name) ? find_prompt(s->server, json_string_value(name)) : NULL;
    *ret_code = JSONRPC_INVALID_PARAMS;
    if (!def) {
        snprintf(message, message_len, "unknown prompt \"%s\"; call prompts/list to see them",
                 json_is_string(name) ? json_string_value(name) : "");
        return NULL;
    }
    const json_t *args = json_object_get(params, "arguments");
    if (args && !json_is_null(args) && !json_is_object(args)) {
        snprintf(message, message_len, "prompt arguments must be an object of strings");
        return NULL;
    }
    json_t *empty = json_object();
    const json_t *use = json_is_object(args) ? args : empty;
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)use, key, value) {
        if (!json_is_string(value)) {
            snprintf(message, message_len, "prompt argument \"%s\" must be a string", key);
            json_decref(empty);
            return NULL;
        }
    }
    for (const prompt_argument *a = def->arguments; a && a->name; a++) {
        if (a->required && !json_object_get(use, a->name)) {
            snprintf(message, message_len, "prompt \"%s\" needs the argument \"%s\"", def->name, a->name);
            json_decref(empty);
            return NULL;
        }
    }
    error_info err = {0};
    json_t *result = def->render(def, use, &err);
    json_decref(empty);
    if (!result)
        snprintf(message, message_len, "%s", err.message);
    return result;
}

static void handle_cancelled(mcp_session *s, const json_t *params) {
    const json_t *request_id = json_object_get(params, "requestId");
    if (!request_id)
        return;
    pthread_mutex_lock(&s->lock);
    for (inflight_call *c = s->inflight; c; c = c->next)
        if (json_equal(c->id, request_id))
            atomic_store(&c->cancelled, true);
    pthread_cond_broadcast(&s->changed); /* a call waiting on the client stops waiting */
    pthread_mutex_unlock(&s->lock);
}

static void handle_request(mcp_session *s, batch_reply *batch, const json_t *msg, const mcp_caller *caller) {
    const char *method = json_string_value(json_object_get(msg, "method"));
    const json_t *id = json_object_get(msg, "id");
    const json_t *params = json_object_get(msg, "params");
    json_t *empty = NULL;
    if (!params || json_is_null(params))
        params = empty = json_object();
    if (!json_is_object(params)) {
        session_reply_error(s, batch, id, JSONRPC_INVALID_PARAMS, "params must be an object");
        return;
    }

    int code = 0;
    const char *message = NULL;
    char message_buf[512];
    json_t *result = NULL;
    const mcp_resource_provider *resources = s->server->opts.resources;
    bool handled = true;
    if (strcmp(method, "tools/call") == 0)
        handle_tools_call(s, batch, id, params, caller);
    else if (resources && strcmp(method, "resources/list") == 0)
        resources_handle_list(s, batch, id, params, false);
    else if (resources && strcmp(method, "resources/templates/list") == 0)
        resources_handle_list(s, batch, id, params, true);
    else if (resources && strcmp(method, "resources/read") == 0)
        resources_handle_read(s, batch, id, params);
    else if (resources && resources->subscribe && strcmp(method, "resources/subscribe") == 0)
        resources_handle_subscription(s, batch, id, params, true);
    else if (resources && resources->subscribe && strcmp(method, "resources/unsubscribe") == 0)
        resources_handle_subscription(s, batch, id, params, false);
    else if (s->server->opts.complete && strcmp(method, "completion/complete") == 0)
        completion_handle(s, batch, id, params);
    else
        handled = false;
    if (handled) {
        json_decref(empty);
        return;
    }
    if (strcmp(method, "initialize") == 0) {
        result = handle_initialize(s, params, &code, &message);
    } else if (strcmp(method, "ping") == 0) {
        result = json_object();
    } else if (strcmp(method, "tools/list") == 0) {
        if (!batch && tools_list_send_cached(s, id, params, caller)) {
            json_decref(empty);
            return;
        }
        result = handle_tools_list(s, params, caller, &code, &message);
    } else if (strcmp(method, "prompts/list") == 0 && s->server->opts.prompts) {
        result = handle_prompts_list(s, params, &code, &message);
    } else if (strcmp(method, "prompts/get") == 0 && s->server->opts.prompts) {
        result = handle_prompts_get(s, params, &code, message_buf, sizeof message_buf);
        message = message_buf;
    } else if (strcmp(method, "logging/setLevel") == 0) {
        const json_t *level = json_object_get(params, "level");
        int idx = json_is_string(level) ? log_level_index(json_string_value(level)) : -1;
        if (idx < 0) {
            code = JSONRPC_INVALID_PARAMS;
            message = "level must be one of debug, info, notice, warning, error, critical, alert, emergency";
        } else {
            pthread_mutex_lock(&s->lock);
            s->log_level = idx;
            pthread_mutex_unlock(&s->lock);
            result = json_object();
        }
    } else {
        snprintf(message_buf, sizeof message_buf, "Method not found: %s", method);
        code = JSONRPC_METHOD_NOT_FOUND;
        message = message_buf;
    }
    json_decref(empty);
    if (result)
        session_reply(s, batch, jsonrpc_result(id, result));
    else
        session_reply_error(s, batch, id, code ? code : JSONRPC_INTERNAL_ERROR, message ? message : "internal error");
}

static void handle_notification(mcp_session *s, const json_t *msg) {
    const char *method = json_string_value(json_object_get(msg, "method"));
    const json_t *params = json_object_get(msg, "params");
    if (strcmp(method, "notifications/initialized") == 0) {
        pthread_mutex_lock(&s->lock);
        s->initialized = true;
        pthread_mutex_unlock(&s->lock);
    } else if (strcmp(method, "notifications/cancelled") == 0) {
        handle_cancelled(s, params);
    }
    /* Other notifications (roots/list_changed, progress…) need nothing from us. */
}

/* Handles one decoded message; returns true when it expects an answer (a request). */
static void dispatch(mcp_session *s, batch_reply *batch, const json_t *msg, const mcp_caller *caller) {
    const char *reason = NULL;
    switch (jsonrpc_classify(msg, &reason)) {
    case JSONRPC_KIND_REQUEST:
        handle_request(s, batch, msg, caller);
        break;
    case JSONRPC_KIND_NOTIFICATION:
        handle_notification(s, msg);
        break;
    case JSONRPC_KIND_RESPONSE:
        client_request_deliver(s, msg);
        break;
    case JSONRPC_KIND_INVALID: {
        const json_t *id = json_is_object(msg) ? json_object_get(msg, "id") : NULL;
        if (id && !json_is_string(id) && !json_is_integer(id))
            id = NULL;
        session_reply_error(s, batch, id, JSONRPC_INVALID_REQUEST, reason);
        break;
    }
    }
}

static bool expects_answer(const json_t *msg) {
    const char *reason;
    jsonrpc_kind kind = jsonrpc_classify(msg, &reason);
    return kind == JSONRPC_KIND_REQUEST || kind == JSONRPC_KIND_INVALID;
}

static void receive_batch(mcp_session *s, const json_t *batch_msg, const mcp_caller *caller) {
    pthread_mutex_lock(&s->lock);
    bool allowed = strcmp(s->protocol_version, "2025-03-26") == 0;
    pthread_mutex_unlock(&s->lock);
    if (!allowed) {
        session_reply_error(s, NULL, NULL, JSONRPC_INVALID_REQUEST,
                    "JSON-RPC batching is not supported in 2025-06-18 and later; send one message at a time");
        return;
    }
    if (json_array_size(batch_msg) == 0) {
        session_reply_error(s, NULL, NULL, JSONRPC_INVALID_REQUEST, "an empty batch is not a valid JSON-RPC request");
        return;
    }
    batch_reply *batch = batch_new();
    if (!batch) {
        session_reply_error(s, NULL, NULL, JSONRPC_INTERNAL_ERROR, "out of memory");
        return;
    }
    size_t i;
    const json_t *msg;
    /* One extra pending count keeps the batch alive until every member has been dispatched. */
    batch->pending = 1;
    json_array_foreach(batch_msg, i, msg) {
        if (expects_answer(msg)) {
            const json_t *id = json_object_get(msg, "id");
            if (!batch->first_id && (json_is_string(id) || json_is_integer(id)))
                batch->first_id = json_deep_copy(id);
            pthread_mutex_lock(&batch->lock);
            batch->pending++;
            pthread_mutex_unlock(&batch->lock);
            dispatch(s, batch, msg, caller);
        } else {
            dispatch(s, NULL, msg, caller);
        }
    }
    session_reply(s, batch, NULL);
}

void mcp_session_receive(mcp_session *s, const char *data, size_t len) {
    mcp_session_receive_as(s, data, len, NULL);
}

void mcp_session_receive_as(mcp_session *s, const char *data, size_t len, const mcp_caller *caller) {
    if (len > s->server->max_message_bytes) {
        char message[160];
        snprintf(message, sizeof message, "message of %zu bytes exceeds the limit of %zu bytes (max_message_bytes)",
                 len, s->server->max_message_bytes);
        session_reply_error(s, NULL, NULL, JSONRPC_MESSAGE_TOO_LARGE, message);
        return;
    }
    json_error_t jerr;
    const size_t flags = JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY;
    /* The fast reader builds the same message; anything unusual, errors included, is jansson's. */
    json_t *msg = json_fast_loadb(data, len, flags);
    if (!msg)
        msg = json_loadb(data, len, flags, &jerr);
    if (!msg) {
        char message[300];
        snprintf(message, sizeof message, "Parse error: %s (at byte %d)", jerr.text, jerr.position);
        session_reply_error(s, NULL, NULL, JSONRPC_PARSE_ERROR, message);
        return;
    }
    if (log_enabled(LOG_TRACE)) {
        /* Protocol traces pass through the sanitiser in log_msg, like every log line. */
        log_trace("<- %.*s", (int)(len > 4000 ? 4000 : len), data);
    }
    if (json_is_array(msg))
        receive_batch(s, msg, caller);
    else
        dispatch(s, NULL, msg, caller);
    json_decref(msg);
}

/* ---- lifetime --------------------------------------------------------------------------- */

int mcp_session_new(mcp_server *server, const mcp_session_options *opts, mcp_session **ret) {
    if (!opts || !opts->send)
        return -EINVAL;
    mcp_session *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->server = server;
    s->opts = *opts;
    s->refs = 1;
    s->log_level = log_level_index("info");
    snprintf(s->protocol_version, sizeof s->protocol_version, "%s", MCP_DEFAULT_VERSION);
    s->subscriptions = json_object();
    if (!s->subscriptions) {
        free(s);
        return -ENOMEM;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->changed, NULL);
    pthread_mutex_lock(&server->sessions_lock);
    s->next_session = server->sessions;
    if (server->sessions)
        server->sessions->prev_session = s;
    server->sessions = s;
    pthread_mutex_unlock(&server->sessions_lock);
    *ret = s;
    return 0;
}

void mcp_session_close(mcp_session *s) {
    if (!s)
        return;
    mcp_server *server = s->server;
    pthread_mutex_lock(&server->sessions_lock);
    if (s->prev_session)
        s->prev_session->next_session = s->next_session;
    else
        server->sessions = s->next_session;
    if (s->next_session)
        s->next_session->prev_session = s->prev_session;
    s->next_session = s->prev_session = NULL;
    pthread_mutex_unlock(&server->sessions_lock);

    pthread_mutex_lock(&s->lock);
    s->closed = true;
    for (inflight_call *c = s->inflight; c; c = c->next)
        atomic_store(&c->cancelled, true);
    pthread_cond_broadcast(&s->changed); /* calls waiting on the client give up */
    pthread_mutex_unlock(&s->lock);
    session_unref(s);
}

int mcp_server_new(const mcp_server_options *opts, mcp_server **ret) {
    if (!opts || !opts->registry || !opts->name || !opts->version)
        return -EINVAL;
    mcp_server *server = calloc(1, sizeof *server);
    if (!server)
        return -ENOMEM;
    server->opts = *opts;
    const kubemcp_config *cfg = opts->config;
    server->max_message_bytes = cfg && cfg->max_message_bytes ? cfg->max_message_bytes : MCP_DEFAULT_MAX_MESSAGE;
    server->max_output_bytes = cfg && cfg->max_output_bytes ? cfg->max_output_bytes : MCP_DEFAULT_MAX_OUTPUT;
    unsigned threads = opts->worker_threads ? opts->worker_threads : 8;
    size_t queued = opts->max_queued_calls ? opts->max_queued_calls : 256;
    int r = worker_pool_new(threads, queued, &server->pool);
    if (r < 0) {
        free(server);
        return r;
    }
    pthread_mutex_init(&server->sessions_lock, NULL);
    pthread_mutex_init(&server->tools_list_lock, NULL);
    /* Before the workers parse anything: tool calls render Kubernetes answers in an arena. */
    json_arena_install();
    *ret = server;
    return 0;
}

void mcp_server_drain(mcp_server *server) {
    worker_pool_drain(server->pool);
}

mcp_server *mcp_server_free(mcp_server *server) {
    if (!server)
        return NULL;
    worker_pool_free(server->pool);
    pthread_mutex_destroy(&server->sessions_lock);
    for (size_t i = 0; i < server->tools_list_count; i++)
        free(server->tools_list_pages[i].json);
    pthread_mutex_destroy(&server->tools_list_lock);
    free(server);
    return NULL;
}
