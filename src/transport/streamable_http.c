/* Streamable HTTP (MCP 2025-11-25) on /mcp: POST carries one client message, GET opens a stream
 * for server messages, DELETE ends the session. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "transport/http_internal.h"

static bool version_supported(const char *v) {
    for (size_t i = 0; mcp_supported_versions[i]; i++)
        if (strcmp(mcp_supported_versions[i], v) == 0)
            return true;
    return false;
}

/* Answers a request that was suspended waiting for its JSON answer (or that got it at once). */
enum MHD_Result http_answer_waiting(http_request *req) {
    http_stream *st = req->stream;
    pthread_mutex_lock(&st->lock);
    bool answered = st->answered, finished = st->finished;
    size_t len = st->out.len;
    char *body = answered ? buf_steal(&st->out) : NULL;
    if (!answered && !finished) {
        /* Not yet: sleep until the worker's answer resumes us (under the stream lock, so the
         * resume cannot come before the suspend). */
        st->suspended = true;
        req->waiting = true;
        MHD_suspend_connection(req->conn);
        pthread_mutex_unlock(&st->lock);
        return MHD_YES;
    }
    pthread_mutex_unlock(&st->lock);
    req->waiting = false;
    if (!answered) {
        if (req->route == ROUTE_REST)
            return http_respond_text(req, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json",
                                     "{\"error\":\"the server is shutting down\"}");
        return http_respond_jsonrpc_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, -32000,
                                          "the session ended before the request was answered");
    }
    if (req->route == ROUTE_REST) {
        return rest_shim_answer(req, body, len);
    }
    const char *sid = NULL;
    if (req->new_session && req->session) {
        /* A failed initialize leaves no session behind. */
        json_t *j = json_loadb(body ? body : "", len, 0, NULL);
        if (j && json_object_get(j, "error")) {
            http_session_close(req->session);
        } else {
            sid = req->session->id;
            log_info("MCP session %.8s… started", sid);
        }
        json_decref(j);
    }
    return http_respond(req, MHD_HTTP_OK, "application/json", body, body ? len : 0, sid);
}

/* Resolves the session for a request carrying Mcp-Session-Id; answers 404 itself when unknown. */
static bool session_from_header(http_request *req, const char *sid, enum MHD_Result *ret) {
    req->session = http_session_find(req->server, sid);
    /* A session belongs to whoever opened it: another caller presenting its id is told it does
     * not exist, exactly as for an unknown id. */
    if (!req->session || req->session->legacy || !http_session_principal_matches(req->session, req)) {
        http_session_unref(req->session);
        req->session = NULL;
        *ret = http_respond_jsonrpc_error(req, MHD_HTTP_NOT_FOUND, -32001,
                                          "Session not found: it ended or never existed; send initialize again");
        return false;
    }
    http_session_touch(req->session, 1);
    req->counted_busy = true;
    return true;
}

static enum MHD_Result handle_post(http_request *req) {
    http_server *s = req->server;
    const char *ctype = http_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (ctype && !strcasestr(ctype, "json"))
        return http_respond_jsonrpc_error(req, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, -32700,
                                          "Content-Type must be application/json");
    const char *body = req->body.data ? req->body.data : "";
    size_t len = req->body.len;
    json_error_t jerr;
    json_t *msg = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!msg) {
        char m[300];
        snprintf(m, sizeof m, "Parse error: %s (at byte %d)", jerr.text, jerr.position);
        return http_respond_jsonrpc_error(req, MHD_HTTP_BAD_REQUEST, -32700, m);
    }
    const char *header_version = http_header(req, "MCP-Protocol-Version");
    const char *sid = s->cfg->stateless ? NULL : http_header(req, "Mcp-Session-Id");
    enum MHD_Result result = MHD_YES;

    const json_t *related = NULL;
    bool is_request = false, is_initialize = false, is_tool_call = false;
    if (json_is_array(msg)) {
        /* Batches exist only in 2025-03-26. */
        const char *v = header_version ? header_version : "2025-03-26";
        if (sid) {
            http_session *hs = http_session_find(s, sid);
            if (hs) {
                pthread_mutex_lock(&hs->lock);
                if (!header_version)
                    v = NULL;
                char pv[16];
                snprintf(pv, sizeof pv, "%s", hs->protocol_version);
                pthread_mutex_unlock(&hs->lock);
                if (!v && strcmp(pv, "2025-03-26") != 0) {
                    http_session_unref(hs);
                    json_decref(msg);
                    return http_respond_jsonrpc_error(req, MHD_HTTP_BAD_REQUEST, -32600,
                                                      "JSON-RPC batching is not supported in 2025-06-18 and later; "
                                                      "send one message per POST");
                }
                if (!v)
                    v = "2025-03-26";
                http_session_unref(hs);
            }
        }
        if (strcmp(v, "2025-03-26") != 0) {
            json_decref(msg);
            return http_respond_jsonrpc_error(req, MHD_HTTP_BAD_REQUEST, -32600,
                                              "JSON-RPC batching is not supported in 2025-06-18 and later; send one "
                                              "message per POST");
        }
        size_t i;
        const json_t *m;
        json_array_foreach(msg, i, m) {
            const json_t *id = json_object_get(m, "id");
            if (json_object_get(m, "method") && id && !json_is_null(id)) {
                is_request = true;
                if (!related)
                    related = id;
            }
        }
        if (json_array_size(msg) == 0)
            is_request = true; /* answered with an error by the engine */
    } else if (json_is_object(msg)) {
        const json_t *method = json_object_get(msg, "method");
        const json_t *id = json_object_get(msg, "id");
        is_request = json_is_string(method) && id && !json_is_null(id);
        if (!json_is_string(method) && !json_object_get(msg, "result") && !json_object_get(msg, "error"))
            is_request = true; /* invalid: the engine answers with an error */
        related = id;
        is_initialize = json_is_string(method) && strcmp(json_string_value(method), "initialize") == 0;
        is_tool_call = is_request && json_is_string(method) && strcmp(json_string_value(method), "tools/call") == 0;
    } else {
        is_request = true;
    }

    /* Which session serves this message. */
    if (sid) {
        if (is_initialize) {
            /* A client re-initializing with an old id starts afresh. */
            sid = NULL;
        } else if (!session_from_header(req, sid, &result)) {
            json_decref(msg);
            return result;
        }
    }
    if (!req->session) {
        bool keep = is_initialize && !s->cfg->stateless;
        int r = http_session_new(s, keep, false, &req->session);
        if (r == -EBUSY) {
            json_decref(msg);
            return http_respond_jsonrpc_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, -32000,
                                              "too many open MCP sessions (max_sessions); close some or retry later");
        }
        if (r < 0) {
            json_decref(msg);
            return http_respond_jsonrpc_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, -32603, "cannot create a session");
        }
        req->new_session = keep;
        if (req->authenticated && req->auth.principal && !(req->session->principal = strdup(req->auth.principal))) {
            json_decref(msg);
            return http_respond_jsonrpc_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, -32603, "out of memory");
        }
        /* A bare request without a session (the seed's curl example) is served on its own. */
        req->one_shot = !keep;
    }
    http_session *hs = req->session;
    /* Each POST brings its own Authorization header: its calls run with that credential. */
    mcp_caller caller_storage;
    const mcp_caller *caller = http_caller(req, &caller_storage);

    if (!is_request) {
        mcp_session_receive_as(hs->mcp, body, len, caller);
        json_decref(msg);
        return http_respond(req, MHD_HTTP_ACCEPTED, NULL, NULL, 0, NULL);
    }

    if (is_tool_call &&
        !http_tool_call_allowed(req, json_string_value(json_object_get(json_object_get(msg, "params"), "name")))) {
        json_decref(msg);
        return http_respond_unauthorized(req);
    }
    bool sse = is_tool_call && http_accepts_sse(req);
    /* Answers are routed by request id; one without a usable id comes back with "id": null. */
    http_stream *st = http_stream_new(s, sse ? STREAM_POST_SSE : STREAM_JSON, related ? related : json_null());
    if (!st) {
        json_decref(msg);
        return MHD_NO;
    }
    req->stream = st;
    if (is_tool_call)
        http_session_note_tool_call(hs, related,
                                    json_string_value(json_object_get(json_object_get(msg, "params"), "name")));
    json_decref(msg);
    http_session_attach(hs, st);
    if (sse) {
        http_stream_prime(st);
        enum MHD_Result r = http_respond_sse(req, st, NULL);
        mcp_session_receive_as(hs->mcp, body, len, caller);
        return r;
    }
    http_stream_bind(st, req->conn);
    mcp_session_receive_as(hs->mcp, body, len, caller);
    return http_answer_waiting(req);
}

static enum MHD_Result open_standalone(http_request *req) {
    http_stream *st = http_stream_new(req->server, STREAM_STANDALONE, NULL);
    if (!st)
        return MHD_NO;
    req->stream = st;
    http_session_attach(req->session, st);
    return http_respond_sse(req, st, NULL);
}

/* GET with Last-Event-ID (SEP-1699): the events of that one stream after that id, then the rest
 * of its request's messages, response included. Another stream's events are never replayed. */
static enum MHD_Result resume_stream(http_request *req, const char *last_event_id) {
    char kind;
    uint64_t number, seq;
    if (sse_event_id_parse(last_event_id, &kind, &number, &seq) < 0)
        return http_respond_jsonrpc_error(req, MHD_HTTP_BAD_REQUEST, -32600,
                                          "Bad Request: Last-Event-ID is not an event id this server sent; "
                                          "reconnect without it");
    /* GET streams carry messages unrelated to requests and are not replayed (the spec lets a
     * server choose): the client gets a fresh one. */
    if (kind == SSE_KIND_GET)
        return open_standalone(req);
    http_stream *st = NULL;
    int r = http_session_resume(req->session, number, seq, &st);
    if (r == -ENOENT)
        return http_respond_jsonrpc_error(req, MHD_HTTP_BAD_REQUEST, -32600,
                                          "Bad Request: the stream named by Last-Event-ID cannot be resumed (its "
                                          "request was answered and delivered, or the session never had it); "
                                          "send the request again");
    if (r == -ENOMEM)
        return MHD_NO;
    if (r == -ERANGE)
        log_warn("MCP session %.8s…: resuming stream %s after events that were dropped from its replay buffer",
                 req->session->id, last_event_id);
    req->stream = st;
    return http_respond_sse(req, st, NULL);
}

static enum MHD_Result handle_get(http_request *req) {
    http_server *s = req->server;
    if (s->cfg->stateless)
        return http_method_not_allowed(req, "POST, OPTIONS");
    const char *sid = http_header(req, "Mcp-Session-Id");
    if (!sid)
        return http_respond_jsonrpc_error(req, MHD_HTTP_BAD_REQUEST, -32600,
                                          "Bad Request: Mcp-Session-Id header is required (send initialize first)");
    enum MHD_Result result;
    if (!session_from_header(req, sid, &result))
        return result;
    if (!http_accepts_sse(req))
        return http_respond_jsonrpc_error(req, MHD_HTTP_NOT_ACCEPTABLE, -32600,
                                          "Not Acceptable: GET /mcp opens an event stream; send Accept: "
                                          "text/event-stream");
    const char *last_event_id = http_header(req, "Last-Event-ID");
    if (last_event_id)
        return resume_stream(req, last_event_id);
    return open_standalone(req);
}

static enum MHD_Result handle_delete(http_request *req) {
    if (req->server->cfg->stateless)
        return http_respond_jsonrpc_error(req, MHD_HTTP_METHOD_NOT_ALLOWED, -32600,
                                          "Method Not Allowed: this server is stateless and has no sessions");
    const char *sid = http_header(req, "Mcp-Session-Id");
    if (!sid)
        return http_respond_jsonrpc_error(req, MHD_HTTP_BAD_REQUEST, -32600,
                                          "Bad Request: Mcp-Session-Id header is required");
    enum MHD_Result result;
    if (!session_from_header(req, sid, &result))
        return result;
    log_info("MCP session %.8s… ended by the client", req->session->id);
    http_session_close(req->session);
    return http_respond(req, MHD_HTTP_OK, NULL, NULL, 0, NULL);
}

enum MHD_Result streamable_http_handle(http_request *req) {
    const char *v = http_header(req, "MCP-Protocol-Version");
    if (v && !version_supported(v)) {
        char m[200];
        snprintf(m, sizeof m, "Bad Request: Unsupported protocol version: %.32s (supported: %s, %s, %s, %s)", v,
                 mcp_supported_versions[0], mcp_supported_versions[1], mcp_supported_versions[2],
                 mcp_supported_versions[3]);
        return http_respond_jsonrpc_error(req, MHD_HTTP_BAD_REQUEST, -32600, m);
    }
    if (strcmp(req->method, "POST") == 0)
        return handle_post(req);
    if (strcmp(req->method, "GET") == 0)
        return handle_get(req);
    if (strcmp(req->method, "DELETE") == 0)
        return handle_delete(req);
    return http_respond_jsonrpc_error(req, MHD_HTTP_METHOD_NOT_ALLOWED, -32600,
                                      "Method Not Allowed: /mcp takes POST, GET and DELETE");
}
