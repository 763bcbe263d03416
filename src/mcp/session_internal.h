/* Internals shared by the MCP engine's files (server.c: lifecycle, dispatch, tools, prompts;
 * client_requests.c: requests to the client; resources.c; completion.c). Not for other modules. */
#ifndef KUBEMCP_MCP_SESSION_INTERNAL_H
#define KUBEMCP_MCP_SESSION_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "mcp/caller.h"
#include "mcp/server.h"
#include "mcp/worker_pool.h"

/* One serialised tools/list result: the tools shown (bit i = registry index i) and the page's
 * offset among them. */
typedef struct tools_list_page {
    uint64_t visible;
    size_t offset;
    char *json; /* compact JSON of the result object, owned */
    size_t len;
} tools_list_page;

/* Distinct (visible tools, page) results kept; more are built on each call. */
#define MCP_TOOLS_LIST_PAGES 16

struct mcp_server {
    mcp_server_options opts;
    worker_pool *pool;
    size_t max_message_bytes;
    size_t max_output_bytes;
    pthread_mutex_t sessions_lock;
    mcp_session *sessions; /* open sessions, for notifications to every subscriber */
    pthread_mutex_t tools_list_lock;
    tools_list_page tools_list_pages[MCP_TOOLS_LIST_PAGES]; /* entries never change once added */
    size_t tools_list_count;
};

typedef struct inflight_call inflight_call;

/* Collects the answers to a JSON-RPC batch (2025-03-26 only) so they go out as one array. */
typedef struct batch_reply {
    pthread_mutex_t lock;
    json_t *responses;
    size_t pending;
    json_t *first_id; /* the batch's first request id, so a transport can route the whole answer */
} batch_reply;

struct inflight_call {
    inflight_call *next;
    mcp_session *session; /* holds a reference */
    json_t *id;
    json_t *arguments;
    json_t *progress_token; /* NULL when the client did not ask for progress */
    const tool_def *tool;
    batch_reply *batch;
    atomic_bool cancelled;
    bool progress_any; /* a progress notification went out (the first may be 0) */
    double progress_sent;
    mcp_caller_copy *caller; /* who asked, when the transport said so (NULL = the session's defaults) */
};

/* A request we sent to the client on behalf of a tool call, waiting for its answer. */
typedef struct server_request {
    struct server_request *next;
    json_t *id;       /* "srv-N" */
    json_t *response; /* the client's whole response message, once it arrived */
} server_request;

struct mcp_session {
    mcp_server *server;
    mcp_session_options opts;
    pthread_mutex_t lock;
    int refs;
    bool closed;
    bool initialized;
    bool initialize_seen;
    char protocol_version[16];
    int log_level; /* index into log_levels; messages below are not sent */
    inflight_call *inflight;
    size_t inflight_count;
    json_t *client_capabilities; /* from initialize; NULL before */
    json_t *subscriptions;       /* resource URIs → true */
    server_request *server_requests;
    size_t server_request_count;
    unsigned long long next_server_request;
    pthread_cond_t changed; /* a client response arrived, a call was cancelled, or the session closed */
    mcp_session *next_session, *prev_session; /* in server->sessions while open */
};

/* ---- helpers in server.c ---------------------------------------------------------------- */

/* Sends one JSON text unless the session is closed (related_id as below). */
void session_send_text(mcp_session *s, const char *text, size_t len, const json_t *related_id);
/* Sends msg (stolen) unless the session is closed. related_id: the request it answers or belongs
 * to, NULL for messages unrelated to any request (HTTP transports route by it). */
void session_send_json(mcp_session *s, json_t *msg, const json_t *related_id);
/* Delivers one answer (stolen; NULL = none, for a cancelled request) directly or into its batch. */
void session_reply(mcp_session *s, batch_reply *batch, json_t *msg);
void session_reply_error(mcp_session *s, batch_reply *batch, const json_t *id, int code, const char *message);
/* Answers with the error a provider callback reported: -ENOENT → -32002 (data {uri} when uri is
 * given), -EINVAL → -32602, else -32603; the message is err's. */
void session_reply_provider_error(mcp_session *s, batch_reply *batch, const json_t *id, int r, const error_info *err,
                                  const char *uri);
void session_unref(mcp_session *s);
/* Whether the client's logging/setLevel lets a message of level through (false once closed). */
bool session_log_wanted(mcp_session *s, const char *level);
/* Sends notifications/message; text is sanitised in place (secrets become "****") first. */
void session_log_text(mcp_session *s, const char *level, const char *logger, char *text, size_t len,
                      const json_t *related_id);

/* ---- client_requests.c ------------------------------------------------------------------ */

/* tool_context.request for the call `call_opaque` (an inflight_call). */
int client_request_send(void *call_opaque, const char *method, const json_t *params, int timeout_ms,
                        json_t **ret_result, error_info *err);
/* A JSON-RPC response from the client: wakes the call waiting for it (unknown ids are ignored). */
void client_request_deliver(mcp_session *s, const json_t *msg);

/* ---- resources.c / completion.c --------------------------------------------------------- */

void resources_handle_list(mcp_session *s, batch_reply *batch, const json_t *id, const json_t *params,
                           bool templates);
void resources_handle_read(mcp_session *s, batch_reply *batch, const json_t *id, const json_t *params);
void resources_handle_subscription(mcp_session *s, batch_reply *batch, const json_t *id, const json_t *params,
                                   bool subscribe);
void completion_handle(mcp_session *s, batch_reply *batch, const json_t *id, const json_t *params);

#endif
