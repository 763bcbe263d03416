/* MCP over HTTP (libmicrohttpd): Streamable HTTP on /mcp (MCP 2025-11-25), the older HTTP+SSE
 * transport (GET /sse + POST /message), a REST shim (POST /api/mcp/tools/{name}), health, readiness
 * and Prometheus metrics.
 *
 * No HTTP thread waits on the network: a request whose answer comes from a tool call suspends its
 * connection, and the send callback resumes it when the worker answers; SSE streams suspend while
 * they have nothing to send. Every request passes the Origin/Host check and every answer carries
 * the security headers. */
#ifndef KUBEMCP_TRANSPORT_HTTP_SERVER_H
#define KUBEMCP_TRANSPORT_HTTP_SERVER_H

#include <stdbool.h>

#include "core/config.h"
#include "core/error_info.h"
#include "core/metrics.h"
#include "gate/as_metadata.h"
#include "gate/authenticate.h"
#include "kube/kube.h"
#include "mcp/server.h"
#include "tools/registry.h"

typedef struct http_server http_server;

typedef struct http_server_options {
    mcp_server *mcp;                /* borrowed */
    const kubemcp_config *config;   /* borrowed; read at start only (host, port, limits, TLS files) */
    kube_provider *provider;        /* borrowed, may be NULL: /readyz asks its default cluster */
    const char *provider_error;     /* why provider is NULL, for /readyz */
    const tool_registry *registry;  /* borrowed: the REST shim answers 404 for tools it does not offer */
    metrics *metrics;               /* borrowed, may be NULL */
    gate *gate;                     /* borrowed, may be NULL: who is calling, checked on every MCP request */
    /* Optional: called once the listening URL is known (port 0 resolved), before any request is
     * served. It may make the gate (owned by the server from then on, replacing `gate`) and the
     * Protected Resource Metadata JSON served at /.well-known/oauth-protected-resource (malloc'd,
     * owned by the server). A negative return stops the start with err. */
    int (*on_bound)(void *opaque, const char *url, gate **ret_gate, char **ret_protected_resource_metadata,
                    error_info *err);
    void *on_bound_opaque;
    /* Borrowed, may be NULL: the OpenID issuer's authorization server metadata, served without a
     * token at /.well-known/oauth-authorization-server[/…] and /.well-known/openid-configuration[/…]
     * (404 when NULL). */
    as_metadata *as_metadata;
} http_server_options;

/* Binds (port 0 = any free port) and starts serving. On failure the message says what to fix. */
int http_server_start(const http_server_options *opts, http_server **ret, error_info *err);

/* "http://127.0.0.1:PORT" (or https, [::1]) — the address actually bound. Borrowed. */
const char *http_server_url(const http_server *s);
unsigned http_server_port(const http_server *s);

/* Re-reads the TLS certificate and key files; new handshakes use them, open connections keep
 * theirs. Fails (keeping the old pair) when the server has no TLS or the files are bad. */
int http_server_reload_tls(http_server *s, const char *cert_file, const char *key_file, error_info *err);

/* Replaces the CORS / Origin policy (allowed_origins) for new requests. */
int http_server_set_allowed_origins(http_server *s, const string_list *origins, error_info *err);

/* Shutdown, in this order: quiesce (stop accepting; open connections go on), then the caller drains
 * the MCP server (running tool calls answer), then stop (SSE streams end cleanly, answers still
 * being written get a few seconds, every session is closed, the daemon stops). */
void http_server_quiesce(http_server *s);
http_server *http_server_stop(http_server *s);

#endif
