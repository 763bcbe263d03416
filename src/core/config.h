/* kubemcp configuration: defaults < TOML file (--config, then conf.d/NAME.toml drop-ins in lexical
 * order) < environment < command-line flags. One struct, immutable after load; a reload builds a
 * new one. */
#ifndef KUBEMCP_CORE_CONFIG_H
#define KUBEMCP_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error_info.h"

typedef struct string_list {
    char **items; /* NULL-terminated when not empty */
    size_t count;
} string_list;

/* A group/version/kind the server refuses to touch. Empty group = core API group;
 * empty version or kind = any. */
typedef struct denied_resource {
    char *group;
    char *version;
    char *kind;
} denied_resource;

typedef struct kubemcp_config {
    /* Kubernetes */
    char *kubeconfig;                /* NULL: KUBECONFIG, then ~/.kube/config */
    char *cluster_provider_strategy; /* NULL (auto) | "kubeconfig" | "in-cluster" | "auth-headers" | "disabled" */
    char *context;                   /* default context override, NULL = kubeconfig's current-context */
    bool disable_multi_cluster;      /* true: only the default context, tools take no `context` */

    /* Inbound auth: who is calling (HTTP only; stdio has no bearer) */
    bool require_oauth;                  /* a request without a bearer token is refused (401) */
    bool validate_token;                 /* check each bearer with a cached TokenReview first */
    string_list token_review_audiences;  /* spec.audiences of the TokenReview; empty = the API server's */
    long token_review_cache_ttl_seconds;    /* how long an accepted token is trusted (default 300) */
    long token_review_negative_ttl_seconds; /* how long a refused token is remembered (default 10) */
    /* Who the cluster sees: NULL/"passthrough" = the caller's bearer (else the server's own
     * credentials), "kubeconfig" = always the server's own, "impersonate" = the server's own plus
     * Impersonate-User/Group of the validated caller, "exchange" = a token an STS issued for the
     * validated caller (RFC 8693; set whenever token_exchange_strategy is). */
    char *cluster_auth_mode;
    string_list allowed_namespaces;      /* non-empty: every tool is confined to these namespaces */
    string_list allowed_api_servers;     /* API server URLs a request may name with kubernetes-server */
    /* OAuth resource server for an external OpenID issuer (bearer = the issuer's JWT) */
    char *oidc_issuer_url;               /* also authorization_url */
    char *oidc_audience;                 /* also oidc_client_id, oauth_audience */
    string_list oidc_scopes;             /* required scopes; also oauth_scopes */
    char *oidc_read_scope;               /* per-tool: read-only tools need it (NULL = none) */
    char *oidc_write_scope;              /* per-tool: the other tools need it */
    string_list oidc_tool_scopes;        /* per-tool overrides, "TOOL=SCOPE" */
    string_list oidc_signing_algorithms; /* also oidc_signing_method */
    char *oidc_hs256_secret_file;
    bool oidc_allow_http;
    bool oidc_require_at_jwt;            /* header typ must be at+jwt */
    char *oidc_ca_file;
    long oidc_clock_skew_seconds;        /* default 60 */
    char *oidc_username_claim, *oidc_username_prefix, *oidc_groups_claim, *oidc_groups_prefix;
    /* RFC 8693 token exchange toward the cluster (the Go peer's key names) */
    char *token_exchange_strategy;       /* NULL = off, "rfc8693" or "keycloak-v1" */
    char *sts_token_url;                 /* NULL = the issuer's token_endpoint (discovery) */
    char *sts_client_id;
    char *sts_client_secret;             /* TOML or environment only (no flag); wiped when freed */
    char *sts_client_secret_file;        /* preferred: a file holding the secret */
    char *sts_audience;
    string_list sts_scopes;
    char *sts_auth_style;                /* NULL/"params" (form body) or "header" (HTTP Basic) */
    char *base_url;                      /* public URL (also server_url); the resource is BASE/mcp */
    char *audit_log;                     /* NULL = off; "stderr" or a file for one JSON line per decision */

    /* Transport */
    char *transport;    /* NULL (stdio unless port is set) | "stdio" | "streamable-http" | "http" | "sse" */
    char *port;         /* NULL = stdio (or 8080 when transport asks for HTTP) */
    char *bind_address; /* NULL = 127.0.0.1 */
    char *http_addr;    /* "host:port" (--http-addr); folded into bind_address/port by config_load */
    bool sse;           /* --sse: kubectl-mtv spelling of "serve HTTP (with the SSE endpoints)" */

    /* HTTP server */
    char *tls_cert;                    /* PEM certificate (chain) file; with tls_key serves HTTPS */
    char *tls_key;                     /* PEM private key file */
    bool stateless;                    /* no Mcp-Session-Id: each POST is served by a throwaway session */
    size_t max_body_bytes;             /* largest HTTP request body (default 4 MiB) */
    long max_sessions;                 /* open MCP sessions at once (default 10000) */
    long session_idle_timeout_seconds; /* a session unused this long is closed (default 3600) */
    string_list allowed_origins;       /* CORS: browser origins allowed to call us (scheme://host[:port]) */
    bool enable_hsts;                  /* send Strict-Transport-Security even without TLS (behind a proxy) */
    long sse_keepalive_seconds;        /* ": keepalive" comment on streams idle this long (default 15) */
    long max_connections;              /* concurrent HTTP connections (default 4096) */
    long max_connections_per_ip;       /* per client address, 0 = no per-address limit (default) */
    long connection_timeout_seconds;   /* an HTTP connection idle (or sending headers/body) this long is closed */
    int http_threads;                  /* HTTP event-loop threads (default 4) */

    /* Tools and policy */
    bool read_only;
    bool disable_destructive;
    string_list toolsets; /* default: core, config */
    string_list enabled_tools;
    string_list disabled_tools;
    denied_resource *denied_resources;
    size_t denied_resources_count;
    char *list_output;    /* "yaml" (default) | "table" */
    bool mask_secrets;    /* default true */
    char *server_instructions; /* NULL = built-in text */

    /* Limits */
    size_t max_message_bytes;  /* largest JSON-RPC message accepted (default 4 MiB) */
    size_t max_output_bytes;   /* largest tool text returned (default 1 MiB); longer output is cut with a note */
    long kube_timeout_seconds; /* per Kubernetes request (default 30) */
    int worker_threads;        /* tool-call workers (default 8) */

    /* Logging */
    int log_level;  /* 0-9 */
    char *log_file; /* NULL or "stderr" = stderr */

    /* Where it came from, for `kubemcp config check` and reload */
    char *config_path;
    char *config_dir; /* drop-in directory that was read, NULL = none */

    /* Set by config_load, for main to act on */
    bool show_help;               /* --help / -h was given: print config_print_usage and exit 0 */
    string_list unknown_toolsets; /* toolsets named in the config that kubemcp does not have (e.g. the
                                   * Go peer's "helm"); removed from `toolsets`, main should warn */
    string_list warnings;         /* other non-fatal findings (e.g. an unknown KUBEMCP_* variable), one
                                   * readable sentence each, for main to log */
} kubemcp_config;

/* Toolsets this build provides; other names end up in unknown_toolsets. */
#define KUBEMCP_KNOWN_TOOLSETS "core", "config"

/* Parses argv (flags after the subcommand has been removed; argv[0] is the program name), the
 * environment (envp, NULL-terminated "K=V" strings) and the TOML files they name.
 * On a bad flag, env value, TOML syntax (file:line:column), unknown key or invalid value, returns a
 * negative errno and a message naming the flag/key/file. Writes *ret only on success. */
int config_load(int argc, char **argv, char **envp, kubemcp_config **ret, error_info *err);

/* Loads defaults only (tests, fuzzing). */
kubemcp_config *config_new_defaults(void);

kubemcp_config *config_free(kubemcp_config *cfg);

/* Prints `--help` text for every flag to the stream. */
void config_print_usage(void *file_stream, const char *program);

bool string_list_contains(const string_list *list, const char *s);

/* Frees the items and the array; leaves an empty list. */
void string_list_clear(string_list *list);

#endif
