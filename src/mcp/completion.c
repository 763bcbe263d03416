/* completion/complete: argument suggestions from the server's completion callback. */
#include <errno.h>
#include <string.h>

#include "mcp/jsonrpc.h"
#include "mcp/session_internal.h"

/* completion/complete answers carry at most this many values (spec limit). */
#define COMPLETION_MAX_VALUES 100

void completion_handle(mcp_session *s, batch_reply *batch, const json_t *id, const json_t *params) {
    const json_t *ref = json_object_get(params, "ref");
    const json_t *argument = json_object_get(params, "argument");
    const char *ref_type = json_string_value(json_object_get(ref, "type"));
    const char *name = json_string_value(json_object_get(argument, "name"));
    const char *value = json_string_value(json_object_get(argument, "value"));
    if (!ref_type || (strcmp(ref_type, "ref/prompt") != 0 && strcmp(ref_type, "ref/resource") != 0)) {
        session_reply_error(s, batch, id, JSONRPC_INVALID_PARAMS, "params.ref.type must be \"ref/prompt\" or \"ref/resource\"");
        return;
    }
    if (!name || !value) {
        session_reply_error(s, batch, id, JSONRPC_INVALID_PARAMS, "params.argument needs a name and a value (strings)");
        return;
    }
    const json_t *context_args = json_object_get(json_object_get(params, "context"), "arguments");
    json_t *values = NULL;
    long long total = -1;
    bool has_more = false;
    error_info err = {0};
    int r = s->server->opts.complete(s->server->opts.complete_opaque, ref, name, value,
                                     json_is_object(context_args) ? context_args : NULL, &values, &total, &has_more,
                                     &err);
    if (r < 0) {
        json_decref(values);
        session_reply_provider_error(s, batch, id, r == -ENOENT ? -EINVAL : r, &err, NULL);
        return;
    }
    json_t *cut = json_array();
    size_t i;
    const json_t *v;
    json_array_foreach(values, i, v) {
        if (i >= COMPLETION_MAX_VALUES) {
            has_more = true;
            break;
        }
        if (json_is_string(v))
            json_array_append(cut, (json_t *)v);
    }
    json_decref(values);
    json_t *completion = json_pack("{s:o}", "values", cut);
    if (total >= 0)
        json_object_set_new(completion, "total", json_integer(total));
    if (has_more)
        json_object_set_new(completion, "hasMore", json_true());
    session_reply(s, batch, jsonrpc_result(id, json_pack("{s:o}", "completion", completion)));
}
