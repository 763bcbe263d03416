#include "mcp/jsonrpc.h"

#include <string.h>

#include "core/json_text.h"
#include "core/utf8.h"

static bool id_is_valid(const json_t *id) {
    return json_is_string(id) || json_is_integer(id);
}

jsonrpc_kind jsonrpc_classify(const json_t *msg, const char **ret_reason) {
    const char *reason = NULL;
    if (!json_is_object(msg)) {
        reason = "a JSON-RPC message must be a JSON object";
        goto invalid;
    }
    const json_t *version = json_object_get(msg, "jsonrpc");
    if (!json_is_string(version) || strcmp(json_string_value(version), "2.0") != 0) {
        reason = "\"jsonrpc\" must be \"2.0\"";
        goto invalid;
    }
    const json_t *method = json_object_get(msg, "method");
    const json_t *id = json_object_get(msg, "id");
    if (method) {
        if (!json_is_string(method)) {
            reason = "\"method\" must be a string";
            goto invalid;
        }
        const json_t *params = json_object_get(msg, "params");
        if (params && !json_is_object(params) && !json_is_array(params)) {
            reason = "\"params\" must be an object";
            goto invalid;
        }
        if (!id)
            return JSONRPC_KIND_NOTIFICATION;
        if (!id_is_valid(id)) {
            reason = "\"id\" must be a string or an integer (null is not allowed)";
            goto invalid;
        }
        return JSONRPC_KIND_REQUEST;
    }
    if (id && (json_object_get(msg, "result") || json_object_get(msg, "error")))
        return JSONRPC_KIND_RESPONSE;
    reason = "a request needs a \"method\"";
invalid:
    if (ret_reason)
        *ret_reason = reason;
    return JSONRPC_KIND_INVALID;
}

json_t *jsonrpc_result(const json_t *id, json_t *result_stolen) {
    json_t *msg = json_object();
    json_object_set_new(msg, "jsonrpc", json_string("2.0"));
    json_object_set_new(msg, "id", id ? json_deep_copy(id) : json_null());
    json_object_set_new(msg, "result", result_stolen ? result_stolen : json_object());
    return msg;
}

json_t *jsonrpc_error(const json_t *id, int code, const char *message, json_t *data_stolen) {
    json_t *error = json_object();
    json_object_set_new(error, "code", json_integer(code));
    /* A message cut to fit a buffer may end inside a UTF-8 sequence; it must still be sent. */
    json_object_set_new(error, "message", utf8_json_string(message ? message : "", message ? strlen(message) : 0));
    if (data_stolen)
        json_object_set_new(error, "data", data_stolen);
    json_t *msg = json_object();
    json_object_set_new(msg, "jsonrpc", json_string("2.0"));
    json_object_set_new(msg, "id", id ? json_deep_copy(id) : json_null());
    json_object_set_new(msg, "error", error);
    return msg;
}

json_t *jsonrpc_notification(const char *method, json_t *params_stolen) {
    json_t *msg = json_object();
    json_object_set_new(msg, "jsonrpc", json_string("2.0"));
    json_object_set_new(msg, "method", json_string(method));
    if (params_stolen)
        json_object_set_new(msg, "params", params_stolen);
    return msg;
}

/* {"jsonrpc":"2.0","id":ID, — what every answer starts with (a NULL id is null, as above). */
static int write_head(buf *out, const json_t *id) {
    int r = buf_append_str(out, "{\"jsonrpc\":\"2.0\",\"id\":");
    if (r >= 0)
        r = id ? json_text_value(out, id) : buf_append_str(out, "null");
    return r;
}

int jsonrpc_write_result(buf *out, const json_t *id, const char *result_json, size_t result_len) {
    int r = write_head(out, id);
    if (r >= 0)
        r = buf_append_str(out, ",\"result\":");
    if (r >= 0)
        r = buf_append(out, result_json, result_len);
    if (r >= 0)
        r = buf_append(out, "}", 1);
    return r;
}

int jsonrpc_write_text_result(buf *out, const json_t *id, const char *text, size_t text_len, bool is_error,
                              const json_t *structured) {
    int r = write_head(out, id);
    if (r >= 0)
        r = buf_append_str(out, ",\"result\":{\"content\":[{\"type\":\"text\",\"text\":");
    if (r >= 0)
        r = json_text_string(out, text, text_len);
    if (r >= 0)
        r = buf_append_str(out, "}]");
    if (r >= 0 && is_error)
        r = buf_append_str(out, ",\"isError\":true");
    if (r >= 0 && structured) {
        r = buf_append_str(out, ",\"structuredContent\":");
        if (r >= 0)
            r = json_text_value(out, structured);
    }
    if (r >= 0)
        r = buf_append_str(out, "}}");
    return r;
}
