/* The MCP protocol engine, independent of transport: JSON-RPC 2.0 framing, initialize and version
 * negotiation, capabilities, tools, prompts, ping, logging, cancellation and progress.
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
#include "mcp/prompts.h"
#include "tools/registry.h"

typedef struct mcp_server mcp_server;
typedef struct mcp_session mcp_session;

typedef struct mcp_server_options {
    const char *name;         /* serverInfo.name */
    const char *version;      /* serverInfo.version */
    const char *title;        /* serverInfo.title, may be NULL */
    const char *instructions; /* may be NULL */
    const kubemcp_config *config;    /* borrowed; limits, policy */
    kube_provider *provider;         /* borrowed; may be NULL for servers without Kubernetes */
    const char *provider_error;      /* why provider is NULL (e.g. a broken kubeconfig), shown on tool calls */
    const tool_registry *registry;   /* borrowed */
    const prompt_def *const *prompts; /* borrowed, NULL-terminated; may be NULL */
    unsigned worker_threads;         /* 0 = 8 */
    size_t max_queued_calls;         /* 0 = 256 */
    size_t tools_page_size;          /* 0 = 100 */
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
} mcp_session_options;

int mcp_session_new(mcp_server *server, const mcp_session_options *opts, mcp_session **ret);

/* Handles one message (a JSON-RPC request, notification, response or, for 2025-03-26, a batch).
 * Malformed input is answered with the proper JSON-RPC error; nothing here can fail the session. */
void mcp_session_receive(mcp_session *session, const char *data, size_t len);

/* The transport is done with the session: in-flight calls are cancelled, their answers dropped,
 * and the session is freed once the last one returns. */
void mcp_session_close(mcp_session *session);

/* Sends notifications/message if the client's logging level lets it through (sanitised). */
void mcp_session_log(mcp_session *session, const char *level, const char *logger, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Protocol versions this server speaks, newest first, NULL-terminated. */
extern const char *const mcp_supported_versions[];

#endif
