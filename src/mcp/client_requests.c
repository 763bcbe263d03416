/* Requests from the server to the client (sampling/createMessage, elicitation/create,
 * roots/list, ping) made by a tool call running on a worker: sent with a server-chosen id
 * ("srv-N") related to the call, then the worker waits for the client's response (delivered by
 * the session's receive path), the call's cancellation, the session's end or a timeout. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcp/jsonrpc.h"
#include "mcp/session_internal.h"

/* Requests from us to one client waiting for an answer at once. */
#define CLIENT_REQUEST_MAX_OUTSTANDING 16
#define CLIENT_REQUEST_DEFAULT_TIMEOUT_MS 60000
#define CLIENT_REQUEST_MAX_TIMEOUT_MS (10 * 60 * 1000)

/* Whether the client declared what method needs (spec: never send a request the client did not
 * negotiate). NULL when allowed, else why not. */
static const char *client_request_refusal(const json_t *caps, const char *method, const json_t *params) {
    if (strcmp(method, "ping") == 0)
        return NULL;
    if (strcmp(method, "sampling/createMessage") == 0)
        return json_is_object(json_object_get(caps, "sampling")) ? NULL
                                                                  : "the client did not declare the sampling capability";
    if (strcmp(method, "roots/list") == 0)
        return json_is_object(json_object_get(caps, "roots")) ? NULL : "the client did not declare the roots capability";
    if (strcmp(method, "elicitation/create") == 0) {
        const json_t *elicitation = json_object_get(caps, "elicitation");
        if (!json_is_object(elicitation))
            return "the client did not declare the elicitation capability";
        const char *mode = json_string_value(json_object_get(params, "mode"));
        if (mode && strcmp(mode, "url") == 0)
            return json_object_get(elicitation, "url") ? NULL : "the client does not support URL elicitation";
        /* An empty elicitation capability means form mode (2025-06-18 clients). */
        return json_object_size(elicitation) == 0 || json_object_get(elicitation, "form")
                   ? NULL
                   : "the client does not support form elicitation";
    }
    return "a server may only send ping, sampling/createMessage, elicitation/create or roots/list";
}

static void add_ms(struct timespec *t, long ms) {
    t->tv_sec += ms / 1000;
    t->tv_nsec += (ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

static void server_request_unlink(mcp_session *s, server_request *req) {
    for (server_request **p = &s->server_requests; *p; p = &(*p)->next) {
        if (*p == req) {
            *p = req->next;
            s->server_request_count--;
            return;
        }
    }
}

int client_request_send(void *call_opaque, const char *method, const json_t *params, int timeout_ms,
                        json_t **ret_result, error_info *err) {
    inflight_call *call = call_opaque;
    mcp_session *s = call->session;
    if (!method)
        return error_set(err, EINVAL, "no method given for the request to the client");
    if (timeout_ms <= 0)
        timeout_ms = CLIENT_REQUEST_DEFAULT_TIMEOUT_MS;
    if (timeout_ms > CLIENT_REQUEST_MAX_TIMEOUT_MS)
        timeout_ms = CLIENT_REQUEST_MAX_TIMEOUT_MS;

    server_request *req = calloc(1, sizeof *req);
    if (!req)
        return error_set(err, ENOMEM, "out of memory");
    pthread_mutex_lock(&s->lock);
    const char *refusal = client_request_refusal(s->client_capabilities, method, params);
    int r = 0;
    if (refusal)
        r = error_set(err, EPERM, "cannot send %s: %s", method, refusal);
    else if (s->opts.no_client_requests)
        r = error_set(err, ENOTSUP, "cannot send %s: this connection cannot carry the client's answer back "
                                    "(stateless mode); use a session", method);
    else if (s->closed || atomic_load(&call->cancelled))
        r = error_set(err, ECANCELED, "the tool call was cancelled");
    else if (s->server_request_count >= CLIENT_REQUEST_MAX_OUTSTANDING)
        r = error_set(err, EBUSY, "too many requests to the client are waiting for an answer (at most %d)",
                      CLIENT_REQUEST_MAX_OUTSTANDING);
    if (r < 0) {
        pthread_mutex_unlock(&s->lock);
        free(req);
        return r;
    }
    char id_text[32];
    snprintf(id_text, sizeof id_text, "srv-%llu", ++s->next_server_request);
    req->id = json_string(id_text);
    req->next = s->server_requests;
    s->server_requests = req;
    s->server_request_count++;
    pthread_mutex_unlock(&s->lock);

    json_t *msg = json_pack("{s:s, s:O, s:s}", "jsonrpc", "2.0", "id", req->id, "method", method);
    if (msg && params)
        json_object_set_new(msg, "params", json_deep_copy(params));
    if (msg)
        session_send_json(s, msg, call->id);

    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    add_ms(&deadline, timeout_ms);
    bool timed_out = false;
    pthread_mutex_lock(&s->lock);
    while (!req->response && !s->closed && !atomic_load(&call->cancelled) && !timed_out)
        timed_out = pthread_cond_timedwait(&s->changed, &s->lock, &deadline) == ETIMEDOUT;
    server_request_unlink(s, req);
    json_t *response = req->response;
    bool closed = s->closed;
    pthread_mutex_unlock(&s->lock);

    if (response) {
        const json_t *result = json_object_get(response, "result");
        if (result) {
            *ret_result = json_incref((json_t *)result);
        } else {
            const json_t *error = json_object_get(response, "error");
            const char *message = json_string_value(json_object_get(error, "message"));
            r = error_set(err, EPROTO, "the client answered %s with error %lld: %s", method,
                          json_integer_value(json_object_get(error, "code")), message ? message : "(no message)");
        }
    } else {
        r = timed_out ? error_set(err, ETIMEDOUT, "the client did not answer %s within %d ms", method, timeout_ms)
                      : error_set(err, ECANCELED, "the tool call was cancelled while waiting for the client");
        /* Tell the client to stop working on a request we no longer wait for. */
        if (!closed)
            session_send_json(s,
                              jsonrpc_notification("notifications/cancelled",
                                                   json_pack("{s:O, s:s}", "requestId", req->id, "reason",
                                                             timed_out ? "timed out" : "the tool call was cancelled")),
                              call->id);
    }
    json_decref(response);
    json_decref(req->id);
    free(req);
    return r;
}

/* Unknown ids are ignored: a late answer after a timeout, or a confused client. */
void client_request_deliver(mcp_session *s, const json_t *msg) {
    const json_t *id = json_object_get(msg, "id");
    pthread_mutex_lock(&s->lock);
    for (server_request *req = s->server_requests; req; req = req->next) {
        if (!req->response && json_equal(req->id, id)) {
            req->response = json_incref((json_t *)msg);
            pthread_cond_broadcast(&s->changed);
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
}
