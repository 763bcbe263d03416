/* The MCP protocol engine, independent of transport: JSON-RPC 2.0 framing, initialize and version
 * negotiation, capabilities, tools, prompts, resources, completion, ping, logging, cancellation,
 * progress, and requests from tool calls to the client (sampling, elicitation, roots).
 *
 * A transport creates one session per client connection and feeds it whole messages; the
 * session answers through the transport's send callback, possibly from a worker thread (tool
 * calls run on the server's worker pool), so the callback must be thread-safe. */
#ifndef KUBEMCP_MCP_SERVER_H
#define KUBEMCP_MCP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "kube/kube.h"
#include "gate/audit.h"
#include "mcp/caller.h"
#include "mcp/prompts.h"
#include "tools/registry.h"

typedef struct mcp_server mcp_server;
typedef struct mcp_session mcp_session;

/* Resources (optional). Callbacks run on the transport's thread and must be thread-safe; they
 * return 0, or a negative errno with err filled in: -ENOENT → -32002 "Resource not found",
 * -EINVAL → -32602, anything else → -32603. */
typedef struct mcp_resource_provider {
    void *opaque;
    /* One page of resources/list: *ret_items = array of {uri, name, title?, description?,
     * mimeType?, size?} (owned); *ret_next_cursor = malloc'd cursor for the next page, or NULL.
     * cursor is NULL for the first page. */
    int (*list)(void *opaque, const char *cursor, json_t **ret_items, char **ret_next_cursor, error_info *err);
    /* resources/read: *ret_contents = array of {uri, mimeType?, text | blob (base64)} (owned). */
    int (*read)(void *opaque, const char *uri, json_t **ret_contents, error_info *err);
    /* resources/templates/list, as list with {uriTemplate, name, …} items; NULL = no templates. */
    int (*list_templates)(void *opaque, const char *cursor, json_t **ret_items, char **ret_next_cursor,
                          error_info *err);
    /* When true, resources/subscribe and /unsubscribe are served and `subscribe` is declared.
     * The session keeps the subscribed URIs itself; these hooks (may be NULL) can refuse a URI. */
    bool subscribe;
    int (*on_subscribe)(void *opaque, mcp_session *session, const char *uri, error_info *err);
    void (*on_unsubscribe)(void *opaque, mcp_session *session, const char *uri);
} mcp_resource_provider;

/* completion/complete (optional): ref is the request's ref object ({type:"ref/prompt", name} or
 * {type:"ref/resource", uri}), context_arguments the already-resolved arguments (may be NULL).
 * *ret_values = array of strings (owned; cut to 100 by the server); *ret_total / *ret_has_more
 * may be left as they are (-1 / false = not reported). Same error convention as resources. */
typedef int (*mcp_complete_fn)(void *opaque, const json_t *ref, const char *argument_name, const char *argument_value,
                               const json_t *context_arguments, json_t **ret_values, long long *ret_total,
                               bool *ret_has_more, error_info *err);

typedef struct mcp_server_options {
    const char *name;         /* serverInfo.name */
    const char *version;      /* serverInfo.version */
    const char *title;        /* serverInfo.title, may be NULL */
    const char *instructions; /* may be NULL */
    const kubemcp_config *config;    /* borrowed; limits, policy */
    kube_provider *provider;         /* borrowed; may be NULL for servers without Kubernetes */
    const char *provider_error;      /* why provider is NULL (e.g. a broken kubeconfig), shown on tool calls */
    audit_log *audit;                /* borrowed; NULL = no audit log. One line per tool call */
    const tool_registry *registry;   /* borrowed */
    const prompt_def *const *prompts; /* borrowed, NULL-terminated; may be NULL */
    unsigned worker_threads;         /* 0 = 8 */
    size_t max_queued_calls;         /* 0 = 256 */
    size_t tools_page_size;          /* 0 = 100 */
    const mcp_resource_provider *resources; /* borrowed; NULL = no `resources` capability */
    mcp_complete_fn complete;        /* NULL = no `completions` capability */
    void *complete_opaque;
} mcp_server_options;

int mcp_server_new(const mcp_server_options *opts, mcp_server **ret);
/* Stops taking tool calls and waits for the queued and running ones to finish and answer. */
void mcp_server_drain(mcp_server *server);
/* Drains, then frees. Sessions must be closed first. */
mcp_server *mcp_server_free(mcp_server *server);

/* Called with one complete JSON text (no trailing newline), from any thread. related_id is the
 * JSON-RPC id of the client request the message answers or belongs to (a response, or progress
 * and log notifications sent while that request runs; for a batch answer, the batch's first
 * request id), or NULL for a message unrelated to any request. Borrowed for the call only. */
typedef void (*mcp_send_fn)(void *opaque, const char *json, size_t len, const json_t *related_id);

/* Per-connection facts a transport knows (all borrowed for the session's life, may be NULL). */
typedef struct mcp_session_options {
    mcp_send_fn send;
    void *send_opaque;
    const kube_credential *credential; /* caller's credential toward Kubernetes; NULL = server's own */
    /* Optional (SSE polling, SEP-1699): end the stream that carries the answer to related_id now,
     * without cancelling the request; the client resumes (GET with Last-Event-ID) and the later
     * messages of that request reach it there. Returns 0, or -ENOTSUP when the request has no
     * stream that can be resumed. NULL = the transport cannot do this. */
    int (*close_stream)(void *opaque, const json_t *related_id);
    /* The transport cannot bring the client's answers back to this session (stateless HTTP: each
     * POST gets a throwaway session), so requests to the client fail at once instead of waiting
     * for their timeout. */
    bool no_client_requests;
} mcp_session_options;

int mcp_session_new(mcp_server *server, const mcp_session_options *opts, mcp_session **ret);

/* Handles one message (a JSON-RPC request, notification, response or, for 2025-03-26, a batch).
 * Malformed input is answered with the proper JSON-RPC error; nothing here can fail the session. */
void mcp_session_receive(mcp_session *session, const char *data, size_t len);
/* The same, for a message whose sender the transport authenticated: tool calls it starts use
 * caller->credential toward Kubernetes (instead of the session's), and the audit log names
 * caller->identity. caller is borrowed for the call only; NULL behaves like mcp_session_receive. */
void mcp_session_receive_as(mcp_session *session, const char *data, size_t len, const mcp_caller *caller);

/* The transport is done with the session: in-flight calls are cancelled, their answers dropped,
 * and the session is freed once the last one returns. */
void mcp_session_close(mcp_session *session);

/* Sends notifications/message if the client's logging level lets it through (sanitised). */
void mcp_session_log(mcp_session *session, const char *level, const char *logger, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sends notifications/resources/updated for uri when this session subscribed to it. */
void mcp_session_resource_updated(mcp_session *session, const char *uri);
/* The same for every open session of the server that subscribed to uri. */
void mcp_server_resource_updated(mcp_server *server, const char *uri);

/* Protocol versions this server speaks, newest first, NULL-terminated. */
extern const char *const mcp_supported_versions[];

#endif
