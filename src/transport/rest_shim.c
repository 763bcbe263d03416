/* POST /api/mcp/tools/{name}: the tool's arguments as the JSON body, the CallToolResult as the
 * answer (seed 002's Python example). Served by a throwaway MCP session, like a stateless POST. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "transport/http_internal.h"

enum MHD_Result rest_shim_handle(http_request *req) {
    http_server *s = req->server;
    const char *name = req->url + strlen("/api/mcp/tools/");
    if (!*name || strlen(name) >= sizeof req->rest_tool)
        return http_respond_text(req, MHD_HTTP_NOT_FOUND, "application/json",
                                 "{\"error\":\"name the tool: POST /api/mcp/tools/{name}\"}");
    snprintf(req->rest_tool, sizeof req->rest_tool, "%s", name);
    const tool_def *tool = NULL;
    error_info err = {0};
    if (s->opts.registry && tool_registry_find(s->opts.registry, name, &tool, &err) < 0) {
        json_t *j = json_pack("{s:s}", "error", err.message);
        char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
        return text ? http_respond(req, MHD_HTTP_NOT_FOUND, "application/json", text, strlen(text), NULL) : MHD_NO;
    }
    json_t *args = NULL;
    if (req->body.len > 0) {
        json_error_t jerr;
        args = json_loadb(req->body.data, req->body.len, JSON_REJECT_DUPLICATES, &jerr);
        if (!args || !json_is_object(args)) {
            char m[300];
            snprintf(m, sizeof m, "the body must be a JSON object of tool arguments%s%s", args ? "" : ": ",
                     args ? "" : jerr.text);
            json_decref(args);
            json_t *j = json_pack("{s:s}", "error", m);
            char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
            json_decref(j);
            return text ? http_respond(req, MHD_HTTP_BAD_REQUEST, "application/json", text, strlen(text), NULL)
                        : MHD_NO;
        }
    } else {
        args = json_object();
    }
    if (!http_tool_call_allowed(req, name)) {
        json_decref(args);
        return http_respond_unauthorized(req);
    }
    json_t *id = json_integer(1);
    json_t *call = json_pack("{s:s, s:O, s:s, s:{s:s, s:o}}", "jsonrpc", "2.0", "id", id, "method", "tools/call",
                             "params", "name", name, "arguments", args);
    char *text = call ? json_dumps(call, JSON_COMPACT) : NULL;
    json_decref(call);
    if (!text) {
        json_decref(id);
        return MHD_NO;
    }
    int r = http_session_new(s, false, false, &req->session);
    if (r < 0) {
        free(text);
        json_decref(id);
        return http_respond_text(req, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json",
                                 "{\"error\":\"cannot create a session\"}");
    }
    req->one_shot = true;
    req->stream = http_stream_new(s, STREAM_JSON, id);
    if (!req->stream) {
        free(text);
        json_decref(id);
        return MHD_NO;
    }
    http_session_note_tool_call(req->session, id, name);
    json_decref(id);
    http_session_attach(req->session, req->stream);
    http_stream_bind(req->stream, req->conn);
    mcp_caller caller;
    mcp_session_receive_as(req->session->mcp, text, strlen(text), http_caller(req, &caller));
    free(text);
    return http_answer_waiting(req);
}

enum MHD_Result rest_shim_answer(http_request *req, char *body, size_t len) {
    json_t *answer = json_loadb(body ? body : "", len, 0, NULL);
    free(body);
    json_t *result = json_object_get(answer, "result");
    json_t *error = json_object_get(answer, "error");
    unsigned status = MHD_HTTP_OK;
    char *text = NULL;
    if (result) {
        text = json_dumps(result, JSON_COMPACT);
    } else {
        status = MHD_HTTP_BAD_REQUEST;
        json_t *j = json_pack("{s:O?}", "error", json_object_get(error, "message"));
        text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        json_decref(j);
    }
    json_decref(answer);
    if (!text)
        return MHD_NO;
    return http_respond(req, status, "application/json", text, strlen(text), NULL);
}
