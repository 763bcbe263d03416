/* Resources: resources/list, resources/templates/list and resources/read through the server's
 * provider, per-session subscriptions, and notifications/resources/updated. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mcp/jsonrpc.h"
#include "mcp/session_internal.h"

/* Resource URIs one session may subscribe to. */
#define RESOURCES_MAX_SUBSCRIPTIONS 256

/* resources/list and resources/templates/list: one page from the provider. */
void resources_handle_list(mcp_session *s, batch_reply *batch, const json_t *id, const json_t *params,
                                 bool templates) {
    const mcp_resource_provider *p = s->server->opts.resources;
    const json_t *cursor = json_object_get(params, "cursor");
    if (cursor && !json_is_null(cursor) && !json_is_string(cursor)) {
        session_reply_error(s, batch, id, JSONRPC_INVALID_PARAMS, "invalid cursor: pass back the nextCursor of the previous answer");
        return;
    }
    int (*list)(void *, const char *, json_t **, char **, error_info *) = templates ? p->list_templates : p->list;
    json_t *items = NULL;
    char *next = NULL;
    error_info err = {0};
    if (list) {
        int r = list(p->opaque, json_string_value(cursor), &items, &next, &err);
        if (r < 0) {
            session_reply_provider_error(s, batch, id, r, &err, NULL);
            return;
        }
    } else if (json_is_string(cursor)) {
        session_reply_error(s, batch, id, JSONRPC_INVALID_PARAMS, "invalid cursor: pass back the nextCursor of the previous answer");
        return;
    }
    json_t *result = json_object();
    json_object_set_new(result, templates ? "resourceTemplates" : "resources",
                        json_is_array(items) ? json_incref(items) : json_array());
    if (next)
        json_object_set_new(result, "nextCursor", json_string(next));
    json_decref(items);
    free(next);
    session_reply(s, batch, jsonrpc_result(id, result));
}

void resources_handle_read(mcp_session *s, batch_reply *batch, const json_t *id, const json_t *params) {
    const mcp_resource_provider *p = s->server->opts.resources;
    const char *uri = json_string_value(json_object_get(params, "uri"));
    if (!uri || !*uri) {
        session_reply_error(s, batch, id, JSONRPC_INVALID_PARAMS, "resources/read needs params.uri (the resource's URI)");
        return;
    }
    json_t *contents = NULL;
    error_info err = {0};
    int r = p->read ? p->read(p->opaque, uri, &contents, &err) : error_set(&err, ENOENT, "Resource not found: %s", uri);
    if (r < 0) {
        session_reply_provider_error(s, batch, id, r, &err, uri);
        return;
    }
    if (!json_is_array(contents)) {
        json_decref(contents);
        session_reply_error(s, batch, id, JSONRPC_INTERNAL_ERROR, "the resource provider returned no contents");
        return;
    }
    session_reply(s, batch, jsonrpc_result(id, json_pack("{s:o}", "contents", contents)));
}

void resources_handle_subscription(mcp_session *s, batch_reply *batch, const json_t *id, const json_t *params,
                                   bool subscribe) {
    const mcp_resource_provider *p = s->server->opts.resources;
    const char *uri = json_string_value(json_object_get(params, "uri"));
    if (!uri || !*uri) {
        session_reply_error(s, batch, id, JSONRPC_INVALID_PARAMS, "params.uri (the resource's URI) is required");
        return;
    }
    if (subscribe) {
        error_info err = {0};
        int r = p->on_subscribe ? p->on_subscribe(p->opaque, s, uri, &err) : 0;
        if (r < 0) {
            session_reply_provider_error(s, batch, id, r, &err, uri);
            return;
        }
        pthread_mutex_lock(&s->lock);
        bool full = json_object_size(s->subscriptions) >= RESOURCES_MAX_SUBSCRIPTIONS &&
                    !json_object_get(s->subscriptions, uri);
        if (!full)
            json_object_set_new(s->subscriptions, uri, json_true());
        pthread_mutex_unlock(&s->lock);
        if (full) {
            session_reply_error(s, batch, id, JSONRPC_INVALID_PARAMS,
                        "too many resource subscriptions on this session; unsubscribe from some first");
            return;
        }
    } else {
        pthread_mutex_lock(&s->lock);
        bool was = json_object_del(s->subscriptions, uri) == 0;
        pthread_mutex_unlock(&s->lock);
        if (was && p->on_unsubscribe)
            p->on_unsubscribe(p->opaque, s, uri);
    }
    session_reply(s, batch, jsonrpc_result(id, json_object()));
}

void mcp_session_resource_updated(mcp_session *s, const char *uri) {
    pthread_mutex_lock(&s->lock);
    bool subscribed = !s->closed && json_object_get(s->subscriptions, uri) != NULL;
    pthread_mutex_unlock(&s->lock);
    if (subscribed)
        session_send_json(s, jsonrpc_notification("notifications/resources/updated", json_pack("{s:s}", "uri", uri)),
                          NULL);
}

void mcp_server_resource_updated(mcp_server *server, const char *uri) {
    /* Collect the subscribers under the lock, send outside it: a transport's send callback may
     * take locks of its own that it also holds while closing a session. */
    size_t n = 0, cap = 0;
    mcp_session **targets = NULL;
    pthread_mutex_lock(&server->sessions_lock);
    for (mcp_session *s = server->sessions; s; s = s->next_session) {
        pthread_mutex_lock(&s->lock);
        bool subscribed = !s->closed && json_object_get(s->subscriptions, uri) != NULL;
        if (subscribed) {
            if (n == cap) {
                size_t grown = cap ? cap * 2 : 8;
                mcp_session **t = realloc(targets, grown * sizeof *t);
                if (!t) {
                    pthread_mutex_unlock(&s->lock);
                    break;
                }
                targets = t;
                cap = grown;
            }
            s->refs++;
            targets[n++] = s;
        }
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_unlock(&server->sessions_lock);
    for (size_t i = 0; i < n; i++) {
        mcp_session_resource_updated(targets[i], uri);
        session_unref(targets[i]);
    }
    free(targets);
}
