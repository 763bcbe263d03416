/* The HTTP+SSE transport of MCP 2024-11-05, still used by older clients and desktop hosts:
 * GET /sse opens the session's only stream (first event: the POST endpoint), and
 * POST /message?sessionId=… carries client messages, answered 202 with the replies on the stream. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "transport/http_internal.h"

enum MHD_Result sse_legacy_handle_get(http_request *req) {
    http_server *s = req->server;
    if (s->cfg->stateless)
        return http_respond_jsonrpc_error(req, MHD_HTTP_METHOD_NOT_ALLOWED, -32600,
                                          "the SSE transport needs sessions, and this server is stateless; use "
                                          "POST /mcp");
    int r = http_session_new(s, true, true, &req->session);
    if (r == -EBUSY)
        return http_respond_jsonrpc_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, -32000,
                                          "too many open MCP sessions (max_sessions); retry later");
    if (r < 0)
        return http_respond_jsonrpc_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, -32603, "cannot create a session");
    http_session_touch(req->session, 1);
    req->counted_busy = true;
    if (req->authenticated && req->auth.principal && !(req->session->principal = strdup(req->auth.principal)))
        return http_respond_jsonrpc_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, -32603, "out of memory");
    http_stream *st = http_stream_new(s, STREAM_LEGACY, NULL);
    if (!st)
        return MHD_NO;
    req->stream = st;
    char event[160];
    snprintf(event, sizeof event, "event: endpoint\ndata: /message?sessionId=%s\n\n", req->session->id);
    http_stream_push(st, event, strlen(event), false);
    http_session_attach(req->session, st);
    log_info("legacy SSE session %.8s… started", req->session->id);
    return http_respond_sse(req, st, NULL);
}

enum MHD_Result sse_legacy_handle_post(http_request *req) {
    const char *sid = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "sessionId");
    if (!sid)
        sid = MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, "session_id");
    if (!sid)
        return http_respond_jsonrpc_error(req, MHD_HTTP_BAD_REQUEST, -32600,
                                          "Bad Request: sessionId query parameter is required (from the endpoint "
                                          "event of GET /sse)");
    req->session = http_session_find(req->server, sid);
    if (!req->session || !req->session->legacy || !http_session_principal_matches(req->session, req)) {
        http_session_unref(req->session);
        req->session = NULL;
        return http_respond_jsonrpc_error(req, MHD_HTTP_NOT_FOUND, -32001,
                                          "Session not found: open a new stream with GET /sse");
    }
    http_session_touch(req->session, 1);
    req->counted_busy = true;
    const char *body = req->body.data ? req->body.data : "";
    json_t *msg = json_loadb(body, req->body.len, JSON_DECODE_ANY, NULL);
    if (!msg)
        return http_respond_jsonrpc_error(req, MHD_HTTP_BAD_REQUEST, -32700, "Parse error: the body is not JSON");
    const json_t *method = json_object_get(msg, "method");
    if (json_is_string(method) && strcmp(json_string_value(method), "tools/call") == 0) {
        const char *tool = json_string_value(json_object_get(json_object_get(msg, "params"), "name"));
        if (!http_tool_call_allowed(req, tool)) {
            json_decref(msg);
            return http_respond_unauthorized(req);
        }
        http_session_note_tool_call(req->session, json_object_get(msg, "id"), tool);
    }
    json_decref(msg);
    mcp_caller caller;
    mcp_session_receive_as(req->session->mcp, body, req->body.len, http_caller(req, &caller));
    return http_respond_text(req, MHD_HTTP_ACCEPTED, "text/plain", "Accepted");
}
