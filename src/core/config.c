/* kubemcp configuration.
 *
 * Precedence, lowest to highest:
 *   1. built-in defaults (config_new_defaults)
 *   2. the TOML file named by --config, else $KUBEMCP_CONFIG, else $K8S_MCP_CONFIG_PATH
 *   3. drop-in files *.toml in the drop-in directory, in byte-wise lexical order; each later file
 *      overrides the keys it sets (tables merge key by key, arrays such as toolsets or
 *      [[denied_resources]] are replaced as a whole). The directory is --config-dir, else
 *      $KUBEMCP_CONFIG_DIR, else config_dir in the main file, else conf.d/ beside the main file.
 *   4. environment: KUBEMCP_<KEY> for every key (lists comma-separated), and LOG_LEVEL (as in the
 *      Go peer's docker-compose; KUBEMCP_LOG_LEVEL wins over it). Empty variables count as unset.
 *   5. command-line flags (the last occurrence of a flag wins).
 * KUBECONFIG is deliberately not read here: the kube module resolves it when `kubeconfig` is unset.
 * docs/configuration.md lists every key, flag and variable; keep the two in step. */
#include "core/config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/toml.h"

#define CONFIG_FILE_MAX_BYTES ((size_t)1024 * 1024)
#define CONFIG_DROPIN_MAX_FILES 256
#define CONFIG_LIST_MAX_ITEMS 1024
#define CONFIG_VALUE_MAX_BYTES 65536

typedef enum field_type {
    FIELD_STRING,
    FIELD_BOOL,
    FIELD_INT,
    FIELD_CHOICE,
    FIELD_LIST,
    FIELD_PORT,
    FIELD_DENIED_RESOURCES,
} field_type;

typedef enum int_width {
    WIDTH_INT,
    WIDTH_LONG,
    WIDTH_SIZE,
} int_width;

typedef struct config_field {
    const char *key;  /* TOML key; the variable is KUBEMCP_ + upper case */
    const char *flag; /* long flag without "--", NULL = none */
    field_type type;
    size_t offset;
    int_width width;
    long long min, max;
    const char *const *choices;
    const char *value_hint;
    const char *help;
} config_field;

static const char *const strategy_choices[] = {"kubeconfig", "in-cluster", "auth-headers", "disabled", NULL};
static const char *const list_output_choices[] = {"yaml", "table", NULL};
static const char *const cluster_auth_mode_choices[] = {"passthrough", "kubeconfig", "impersonate", "exchange", NULL};
static const char *const transport_choices[] = {"stdio", "streamable-http", "http", "sse", NULL};
static const char *const known_toolsets[] = {KUBEMCP_KNOWN_TOOLSETS, NULL};

#define OFF(member) offsetof(kubemcp_config, member)

static const config_field fields[] = {
    {"kubeconfig", "kubeconfig", FIELD_STRING, OFF(kubeconfig), 0, 0, 0, NULL, "FILE",
     "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)"},
    {"cluster_provider_strategy", "cluster-provider-strategy", FIELD_CHOICE, OFF(cluster_provider_strategy), 0, 0, 0,
     strategy_choices, "STRATEGY",
     "how to reach clusters: kubeconfig, in-cluster, auth-headers (use the caller's bearer token) or disabled "
     "(default: in-cluster inside a pod, else kubeconfig)"},
    {"context", "context", FIELD_STRING, OFF(context), 0, 0, 0, NULL, "NAME",
     "kubeconfig context to use by default (default: the kubeconfig's current-context)"},
    {"disable_multi_cluster", "disable-multi-cluster", FIELD_BOOL, OFF(disable_multi_cluster), 0, 0, 0, NULL, NULL,
     "expose only the default context; tools take no context argument"},
    {"require_oauth", "require-oauth", FIELD_BOOL, OFF(require_oauth), 0, 0, 0, NULL, NULL,
     "require an OAuth bearer token on HTTP requests"},
    {"validate_token", "validate-token", FIELD_BOOL, OFF(validate_token), 0, 0, 0, NULL, NULL,
     "validate passed-through bearer tokens with a Kubernetes TokenReview"},
    {"token_review_audiences", "token-review-audiences", FIELD_LIST, OFF(token_review_audiences), 0, 0, 0, NULL,
     "A,B", "audiences a reviewed token must be valid for (default: the API server's own)"},
    {"token_review_cache_ttl_seconds", NULL, FIELD_INT, OFF(token_review_cache_ttl_seconds), WIDTH_LONG, 1, 86400,
     NULL, "SECONDS", "how long an accepted token is trusted before it is reviewed again (default 300; a JWT's own "
     "exp shortens it)"},
    {"token_review_negative_ttl_seconds", NULL, FIELD_INT, OFF(token_review_negative_ttl_seconds), WIDTH_LONG, 1,
     3600, NULL, "SECONDS", "how long a refused token is remembered (default 10)"},
    {"cluster_auth_mode", "cluster-auth-mode", FIELD_CHOICE, OFF(cluster_auth_mode), 0, 0, 0, cluster_auth_mode_choices,
     "MODE", "what the cluster sees: passthrough (the caller's bearer token; default), kubeconfig (always the "
     "server's own credentials), impersonate (the server's credentials acting as the validated caller) or exchange "
     "(a token an STS issues for the validated caller, RFC 8693; see token_exchange_strategy)"},
    {"allowed_namespaces", "allowed-namespaces", FIELD_LIST, OFF(allowed_namespaces), 0, 0, 0, NULL, "A,B",
     "confine every tool to these namespaces, on top of RBAC (default: no confinement)"},
    {"oidc_issuer_url", "oidc-issuer-url", FIELD_STRING, OFF(oidc_issuer_url), 0, 0, 0, NULL, "URL",
     "make kubemcp an OAuth resource server for this OpenID issuer: bearer tokens must be its JWTs"},
    {"authorization_url", "authorization-url", FIELD_STRING, OFF(oidc_issuer_url), 0, 0, 0, NULL, "URL",
     "same as oidc_issuer_url (the Go peer's spelling)"},
    {"oidc_audience", "oidc-audience", FIELD_STRING, OFF(oidc_audience), 0, 0, 0, NULL, "AUD",
     "an audience accepted besides the server's own resource URI (typically the OAuth client id)"},
    {"oidc_client_id", "oidc-client-id", FIELD_STRING, OFF(oidc_audience), 0, 0, 0, NULL, "ID",
     "same as oidc_audience"},
    {"oauth_audience", "oauth-audience", FIELD_STRING, OFF(oidc_audience), 0, 0, 0, NULL, "AUD",
     "same as oidc_audience (the Go peer's spelling)"},
    {"oidc_scopes", "oidc-scopes", FIELD_LIST, OFF(oidc_scopes), 0, 0, 0, NULL, "A,B",
     "scopes every token must carry, advertised in the protected resource metadata and the 401 challenge"},
    {"oauth_scopes", "oauth-scopes", FIELD_LIST, OFF(oidc_scopes), 0, 0, 0, NULL, "A,B", "same as oidc_scopes"},
    {"oidc_read_scope", "oidc-read-scope", FIELD_STRING, OFF(oidc_read_scope), 0, 0, 0, NULL, "SCOPE",
     "scope a token needs for read-only tools (others are hidden from tools/list and refused with 403)"},
    {"oidc_write_scope", "oidc-write-scope", FIELD_STRING, OFF(oidc_write_scope), 0, 0, 0, NULL, "SCOPE",
     "scope a token needs for the tools that change things"},
    {"oidc_tool_scopes", "oidc-tool-scopes", FIELD_LIST, OFF(oidc_tool_scopes), 0, 0, 0, NULL, "TOOL=SCOPE,...",
     "per-tool overrides of oidc_read_scope / oidc_write_scope, e.g. [\"pods_log=mcp:logs\"]"},
    {"oidc_signing_algorithms", "oidc-signing-algorithms", FIELD_LIST, OFF(oidc_signing_algorithms), 0, 0, 0, NULL,
     "ALG,...", "accepted JWT algorithms (default RS256 RS384 RS512 PS256 ES256 ES384; HS256 needs "
     "oidc_hs256_secret_file)"},
    {"oidc_signing_method", "oidc-signing-method", FIELD_LIST, OFF(oidc_signing_algorithms), 0, 0, 0, NULL, "ALG",
     "same as oidc_signing_algorithms (kube-mcp's spelling: RS256 or HS256)"},
    {"oidc_hs256_secret_file", "oidc-hs256-secret-file", FIELD_STRING, OFF(oidc_hs256_secret_file), 0, 0, 0, NULL,
     "FILE", "file holding the shared secret for HS256 tokens (at least 32 bytes)"},
    {"oidc_require_at_jwt", "oidc-require-at-jwt", FIELD_BOOL, OFF(oidc_require_at_jwt), 0, 0, 0, NULL, NULL,
     "accept only access tokens typed at+jwt (RFC 9068), not ID tokens"},
    {"oidc_allow_http", "oidc-allow-http", FIELD_BOOL, OFF(oidc_allow_http), 0, 0, 0, NULL, NULL,
     "allow a plain-http issuer (loopback development and tests only)"},
    {"oidc_ca_file", "oidc-ca-file", FIELD_STRING, OFF(oidc_ca_file), 0, 0, 0, NULL, "FILE",
     "PEM bundle to trust for the issuer (default: the system store)"},
    {"oidc_clock_skew_seconds", NULL, FIELD_INT, OFF(oidc_clock_skew_seconds), WIDTH_LONG, 0, 600, NULL, "SECONDS",
     "leeway for exp, nbf and iat (default 60)"},
    {"oidc_username_claim", "oidc-username-claim", FIELD_STRING, OFF(oidc_username_claim), 0, 0, 0, NULL, "CLAIM",
     "claim naming the Kubernetes user (default sub), as kube-apiserver's --oidc-username-claim"},
    {"oidc_username_prefix", "oidc-username-prefix", FIELD_STRING, OFF(oidc_username_prefix), 0, 0, 0, NULL,
     "PREFIX", "prefix for that user name (default \"<issuer>#\" except for email; \"-\" for none)"},
    {"oidc_groups_claim", "oidc-groups-claim", FIELD_STRING, OFF(oidc_groups_claim), 0, 0, 0, NULL, "CLAIM",
     "claim listing the user's groups (default: none)"},
    {"oidc_groups_prefix", "oidc-groups-prefix", FIELD_STRING, OFF(oidc_groups_prefix), 0, 0, 0, NULL, "PREFIX",
     "prefix for those group names"},
    {"token_exchange_strategy", "token-exchange-strategy", FIELD_STRING, OFF(token_exchange_strategy), 0, 0, 0, NULL,
     "STRATEGY", "exchange each validated caller's token at an STS (RFC 8693) and send the cluster the new token: "
     "rfc8693 or keycloak-v1 (needs oidc_issuer_url; default: off)"},
    {"sts_token_url", "sts-token-url", FIELD_STRING, OFF(sts_token_url), 0, 0, 0, NULL, "URL",
     "the STS's token endpoint (default: the issuer's token_endpoint from discovery)"},
    {"sts_client_id", "sts-client-id", FIELD_STRING, OFF(sts_client_id), 0, 0, 0, NULL, "ID",
     "client id kubemcp authenticates to the STS with (default: none)"},
    {"sts_client_secret", NULL, FIELD_STRING, OFF(sts_client_secret), 0, 0, 0, NULL, "SECRET",
     "that client's secret (TOML or KUBEMCP_STS_CLIENT_SECRET only; prefer sts_client_secret_file)"},
    {"sts_client_secret_file", "sts-client-secret-file", FIELD_STRING, OFF(sts_client_secret_file), 0, 0, 0, NULL,
     "FILE", "file holding the STS client secret"},
    {"sts_audience", "sts-audience", FIELD_STRING, OFF(sts_audience), 0, 0, 0, NULL, "AUD",
     "audience to ask the STS for, e.g. the API server's OIDC client id (default: none sent)"},
    {"sts_scopes", "sts-scopes", FIELD_LIST, OFF(sts_scopes), 0, 0, 0, NULL, "A,B",
     "scopes to ask the STS for (default: none sent)"},
    {"sts_auth_style", "sts-auth-style", FIELD_STRING, OFF(sts_auth_style), 0, 0, 0, NULL, "STYLE",
     "how the client authenticates to the STS: params (client_id/client_secret in the form; default) or header "
     "(HTTP Basic)"},
    {"base_url", "base-url", FIELD_STRING, OFF(base_url), 0, 0, 0, NULL, "URL",
     "the server's public URL, when a proxy sits in front: the OAuth resource is BASE/mcp (default: the "
     "listening URL)"},
    {"server_url", "server-url", FIELD_STRING, OFF(base_url), 0, 0, 0, NULL, "URL", "same as base_url"},
    {"allowed_api_servers", "allowed-api-servers", FIELD_LIST, OFF(allowed_api_servers), 0, 0, 0, NULL, "URL,...",
     "API servers a request may choose with the kubernetes-server header (with its own bearer token); empty = "
     "the header is refused"},
    {"audit_log", "audit-log", FIELD_STRING, OFF(audit_log), 0, 0, 0, NULL, "FILE",
     "write one JSON line per tool call and authentication decision to FILE, or \"stderr\" (default: off)"},
    {"port", "port", FIELD_PORT, OFF(port), 0, 0, 65535, NULL, "PORT",
     "serve Streamable HTTP (/mcp) and SSE on this TCP port, 0 = any free port (default: stdio)"},
    {"bind_address", "bind-address", FIELD_STRING, OFF(bind_address), 0, 0, 0, NULL, "ADDRESS",
     "address the HTTP server listens on (also --host; default: 127.0.0.1)"},
    {"transport", "transport", FIELD_CHOICE, OFF(transport), 0, 0, 0, transport_choices, "NAME",
     "stdio, or streamable-http / http / sse to serve HTTP (all HTTP endpoints are served either way; "
     "default: stdio unless a port is set)"},
    {"http_addr", "http-addr", FIELD_STRING, OFF(http_addr), 0, 0, 0, NULL, "HOST:PORT",
     "HTTP listen address as host:port, :port or [v6]:port (sets bind_address and port)"},
    {"sse", "sse", FIELD_BOOL, OFF(sse), 0, 0, 0, NULL, NULL,
     "serve HTTP, including the legacy SSE endpoints /sse and /message (same as --transport=sse)"},
    {"tls_cert", "tls-cert", FIELD_STRING, OFF(tls_cert), 0, 0, 0, NULL, "FILE",
     "PEM certificate (chain) for HTTPS; needs tls_key; re-read on SIGHUP"},
    {"tls_key", "tls-key", FIELD_STRING, OFF(tls_key), 0, 0, 0, NULL, "FILE",
     "PEM private key for HTTPS; re-read on SIGHUP"},
    {"stateless", "stateless", FIELD_BOOL, OFF(stateless), 0, 0, 0, NULL, NULL,
     "no MCP sessions over HTTP: every POST is served on its own, GET /mcp answers 405"},
    {"max_body_bytes", "max-body-bytes", FIELD_INT, OFF(max_body_bytes), WIDTH_SIZE, 1024, 1024LL * 1024 * 1024, NULL,
     "BYTES", "largest HTTP request body; larger ones get 413 (default: 4194304)"},
    {"max_sessions", "max-sessions", FIELD_INT, OFF(max_sessions), WIDTH_LONG, 1, 10000000, NULL, "N",
     "MCP sessions open at once over HTTP; more get 503 (default: 10000)"},
    {"session_idle_timeout_seconds", "session-idle-timeout-seconds", FIELD_INT, OFF(session_idle_timeout_seconds),
     WIDTH_LONG, 1, 30LL * 24 * 3600, NULL, "SECONDS", "an HTTP session unused this long is closed (default: 3600)"},
    {"allowed_origins", "allowed-origins", FIELD_LIST, OFF(allowed_origins), 0, 0, 0, NULL, "ORIGIN,...",
     "browser origins (scheme://host[:port]) allowed by CORS and the Origin check (also env ALLOWED_ORIGINS)"},
    {"enable_hsts", "enable-hsts", FIELD_BOOL, OFF(enable_hsts), 0, 0, 0, NULL, NULL,
     "send Strict-Transport-Security even over plain HTTP, e.g. behind a TLS proxy (also env ENABLE_HSTS)"},
    {"sse_keepalive_seconds", "sse-keepalive-seconds", FIELD_INT, OFF(sse_keepalive_seconds), WIDTH_LONG, 1, 3600,
     NULL, "SECONDS", "send a \": keepalive\" comment on SSE streams idle this long (default: 15)"},
    {"max_connections", "max-connections", FIELD_INT, OFF(max_connections), WIDTH_LONG, 1, 1000000, NULL, "N",
     "HTTP connections open at once (default: 4096)"},
    {"max_connections_per_ip", "max-connections-per-ip", FIELD_INT, OFF(max_connections_per_ip), WIDTH_LONG, 0,
     1000000, NULL, "N", "HTTP connections per client address, 0 = no per-address limit (default: 0)"},
    {"connection_timeout_seconds", "connection-timeout-seconds", FIELD_INT, OFF(connection_timeout_seconds),
     WIDTH_LONG, 1, 3600, NULL, "SECONDS",
     "close an HTTP connection that sends nothing (headers, body, next request) for this long (default: 60)"},
    {"http_threads", "http-threads", FIELD_INT, OFF(http_threads), WIDTH_INT, 1, 64, NULL, "N",
     "HTTP event-loop threads (default: 4)"},
    {"read_only", "read-only", FIELD_BOOL, OFF(read_only), 0, 0, 0, NULL, NULL,
     "offer only tools that do not change the cluster"},
    {"disable_destructive", "disable-destructive", FIELD_BOOL, OFF(disable_destructive), 0, 0, 0, NULL, NULL,
     "hide tools that delete or overwrite resources"},
    {"toolsets", "toolsets", FIELD_LIST, OFF(toolsets), 0, 0, 0, NULL, "A,B",
     "toolsets to enable: core, config (default: core,config)"},
    {"enabled_tools", "enabled-tools", FIELD_LIST, OFF(enabled_tools), 0, 0, 0, NULL, "A,B",
     "offer only these tools"},
    {"disabled_tools", "disabled-tools", FIELD_LIST, OFF(disabled_tools), 0, 0, 0, NULL, "A,B",
     "never offer these tools"},
    {"denied_resources", NULL, FIELD_DENIED_RESOURCES, 0, 0, 0, 0, NULL, "G/V/K,...",
     "resources no tool may touch"},
    {"list_output", "list-output", FIELD_CHOICE, OFF(list_output), 0, 0, 0, list_output_choices, "FORMAT",
     "format of resource lists: yaml or table (default: yaml)"},
    {"mask_secrets", "mask-secrets", FIELD_BOOL, OFF(mask_secrets), 0, 0, 0, NULL, NULL,
     "replace Secret data and credentials in tool output with **** (default: true)"},
    {"server_instructions", NULL, FIELD_STRING, OFF(server_instructions), 0, 0, 0, NULL, "TEXT",
     "instructions sent to clients at initialize (default: built-in text)"},
    {"log_level", "log-level", FIELD_INT, OFF(log_level), WIDTH_INT, 0, 9, NULL, "0-9",
     "log verbosity: 0 errors and warnings, 1 info, 5 debug, 7+ protocol traces (default: 0)"},
    {"log_file", "log-file", FIELD_STRING, OFF(log_file), 0, 0, 0, NULL, "FILE",
     "write logs to this file instead of stderr (\"stderr\" = stderr)"},
    {"max_message_bytes", NULL, FIELD_INT, OFF(max_message_bytes), WIDTH_SIZE, 1024, 1024LL * 1024 * 1024, NULL,
     "BYTES", "largest JSON-RPC message accepted (default: 4194304)"},
    {"max_output_bytes", NULL, FIELD_INT, OFF(max_output_bytes), WIDTH_SIZE, 1024, 256LL * 1024 * 1024, NULL,
     "BYTES", "largest tool output returned; longer output is cut with a note (default: 1048576)"},
    {"kube_timeout_seconds", NULL, FIELD_INT, OFF(kube_timeout_seconds), WIDTH_LONG, 1, 3600, NULL, "SECONDS",
     "timeout of each Kubernetes API request (default: 30)"},
    {"worker_threads", NULL, FIELD_INT, OFF(worker_threads), WIDTH_INT, 1, 256, NULL, "N",
     "threads that run tool calls (default: 8)"},
    {"config_dir", "config-dir", FIELD_STRING, OFF(config_dir), 0, 0, 0, NULL, "DIR",
     "drop-in directory of *.toml files read after the main file (default: conf.d beside it)"},
};

#define FIELD_COUNT (sizeof fields / sizeof fields[0])

/* ---- small helpers ---- */

static const config_field *field_by_key(const char *key, size_t len) {
    for (size_t i = 0; i < FIELD_COUNT; i++)
        if (strlen(fields[i].key) == len && memcmp(fields[i].key, key, len) == 0)
            return &fields[i];
    return NULL;
}

static const config_field *field_by_flag(const char *flag, size_t len) {
    for (size_t i = 0; i < FIELD_COUNT; i++)
        if (fields[i].flag && strlen(fields[i].flag) == len && memcmp(fields[i].flag, flag, len) == 0)
            return &fields[i];
    return NULL;
}

static bool is_field(const config_field *f, const char *key) {
    return strcmp(f->key, key) == 0;
}

static void *field_ptr(kubemcp_config *cfg, const config_field *f) {
    return (char *)cfg + f->offset;
}

/* Edit distance for "did you mean" hints; inputs are short names (longer ones get no hint). */
static size_t edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return SIZE_MAX;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* " (did you mean X?)" for the closest known name, or "" — written into out. */
static const char *suggestion(const char *given, bool flags, char *out, size_t out_size) {
    const char *best = NULL;
    size_t best_distance = 3;
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        const char *candidate = flags ? fields[i].flag : fields[i].key;
        if (!candidate)
            continue;
        size_t d = edit_distance(given, candidate);
        if (d < best_distance) {
            best_distance = d;
            best = candidate;
        }
    }
    if (!best)
        return "";
    snprintf(out, out_size, " (did you mean %s%s?)", flags ? "--" : "", best);
    return out;
}

static void known_keys(char *out, size_t out_size) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        int n = snprintf(out + used, out_size - used, "%s%s", i ? ", " : "", fields[i].key);
        if (n < 0 || (size_t)n >= out_size - used)
            return;
        used += (size_t)n;
    }
}

static void choices_text(const char *const *choices, char *out, size_t out_size) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; choices[i]; i++) {
        int n = snprintf(out + used, out_size - used, "%s%s", i ? ", " : "", choices[i]);
        if (n < 0 || (size_t)n >= out_size - used)
            return;
        used += (size_t)n;
    }
}

void string_list_clear(string_list *list) {
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i]);
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

bool string_list_contains(const string_list *list, const char *s) {
    if (!list || !s)
        return false;
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i], s) == 0)
            return true;
    return false;
}

static int string_list_add(string_list *list, const char *s, size_t len) {
    if (list->count >= CONFIG_LIST_MAX_ITEMS)
        return -E2BIG;
    /* One spare slot keeps the array NULL-terminated for APIs that take char *const *. */
    char **items = realloc(list->items, (list->count + 2) * sizeof *items);
    if (!items)
        return -ENOMEM;
    list->items = items;
    list->items[list->count] = NULL;
    char *copy = strndup(s, len);
    if (!copy)
        return -ENOMEM;
    list->items[list->count++] = copy;
    list->items[list->count] = NULL;
    return 0;
}

static int add_warning(kubemcp_config *cfg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int add_warning(kubemcp_config *cfg, const char *fmt, ...) {
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (string_list_contains(&cfg->warnings, text))
        return 0;
    return string_list_add(&cfg->warnings, text, strlen(text));
}

static void denied_resources_clear(kubemcp_config *cfg) {
    for (size_t i = 0; i < cfg->denied_resources_count; i++) {
        free(cfg->denied_resources[i].group);
        free(cfg->denied_resources[i].version);
        free(cfg->denied_resources[i].kind);
    }
    free(cfg->denied_resources);
    cfg->denied_resources = NULL;
    cfg->denied_resources_count = 0;
}

/* ---- defaults ---- */

kubemcp_config *config_new_defaults(void) {
    kubemcp_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return NULL;
    cfg->list_output = strdup("yaml");
    cfg->mask_secrets = true;
    cfg->max_message_bytes = (size_t)4 * 1024 * 1024;
    cfg->max_output_bytes = (size_t)1024 * 1024;
    cfg->kube_timeout_seconds = 30;
    cfg->token_review_cache_ttl_seconds = 300;
    cfg->token_review_negative_ttl_seconds = 10;
    cfg->oidc_clock_skew_seconds = 60;
    cfg->worker_threads = 8;
    cfg->log_level = 0;
    cfg->max_body_bytes = (size_t)4 * 1024 * 1024;
    cfg->max_sessions = 10000;
    cfg->session_idle_timeout_seconds = 3600;
    cfg->sse_keepalive_seconds = 15;
    cfg->max_connections = 4096;
    cfg->connection_timeout_seconds = 60;
    cfg->http_threads = 4;
    if (!cfg->list_output || string_list_add(&cfg->toolsets, "core", 4) < 0 ||
        string_list_add(&cfg->toolsets, "config", 6) < 0)
        return config_free(cfg);
    return cfg;
}

kubemcp_config *config_free(kubemcp_config *cfg) {
    if (!cfg)
        return NULL;
    free(cfg->kubeconfig);
    free(cfg->cluster_provider_strategy);
    free(cfg->context);
    free(cfg->port);
    free(cfg->bind_address);
    free(cfg->transport);
    free(cfg->http_addr);
    free(cfg->tls_cert);
    free(cfg->tls_key);
    string_list_clear(&cfg->allowed_origins);
    string_list_clear(&cfg->token_review_audiences);
    free(cfg->cluster_auth_mode);
    string_list_clear(&cfg->allowed_namespaces);
    string_list_clear(&cfg->allowed_api_servers);
    free(cfg->oidc_issuer_url);
    free(cfg->oidc_audience);
    string_list_clear(&cfg->oidc_scopes);
    string_list_clear(&cfg->oidc_signing_algorithms);
    free(cfg->oidc_hs256_secret_file);
    free(cfg->oidc_read_scope);
    free(cfg->oidc_write_scope);
    string_list_clear(&cfg->oidc_tool_scopes);
    free(cfg->oidc_ca_file);
    free(cfg->oidc_username_claim);
    free(cfg->oidc_username_prefix);
    free(cfg->oidc_groups_claim);
    free(cfg->oidc_groups_prefix);
    free(cfg->token_exchange_strategy);
    free(cfg->sts_token_url);
    free(cfg->sts_client_id);
    if (cfg->sts_client_secret) {
        explicit_bzero(cfg->sts_client_secret, strlen(cfg->sts_client_secret));
        free(cfg->sts_client_secret);
    }
    free(cfg->sts_client_secret_file);
    free(cfg->sts_audience);
    string_list_clear(&cfg->sts_scopes);
    free(cfg->sts_auth_style);
    free(cfg->base_url);
    free(cfg->audit_log);
    string_list_clear(&cfg->toolsets);
    string_list_clear(&cfg->enabled_tools);
    string_list_clear(&cfg->disabled_tools);
    denied_resources_clear(cfg);
    free(cfg->list_output);
    free(cfg->server_instructions);
    free(cfg->log_file);
    free(cfg->config_path);
    free(cfg->config_dir);
    string_list_clear(&cfg->unknown_toolsets);
    string_list_clear(&cfg->warnings);
    free(cfg);
    return NULL;
}

/* ---- values ----
 * A value arrives either as a parsed TOML node (toml != NULL) or as text from the environment or a
 * flag. `where` names its origin for messages: "FILE:LINE: key", "--flag" or "VARIABLE". */

typedef struct value_source {
    const json_t *toml;
    const char *text;
    const char *where;
} value_source;

static int type_error(const value_source *v, error_info *err, const char *expected) {
    return error_set(err, EINVAL, "%s must be %s, got %s", v->where, expected, toml_type_name(v->toml));
}

static int set_string(char **slot, const char *s, size_t len) {
    char *copy = NULL;
    if (len) {
        copy = strndup(s, len);
        if (!copy)
            return -ENOMEM;
    }
    free(*slot);
    *slot = copy; /* "" unsets: the built-in default applies */
    return 0;
}

static int value_text(const value_source *v, error_info *err, const char *expected, const char **ret, size_t *ret_len) {
    if (v->toml) {
        if (!json_is_string(v->toml))
            return type_error(v, err, expected);
        const char *s = json_string_value(v->toml);
        size_t len = json_string_length(v->toml);
        if (strlen(s) != len)
            return error_set(err, EINVAL, "%s must not contain a NUL character (\\u0000)", v->where);
        *ret = s;
        *ret_len = len;
        return 0;
    }
    *ret = v->text;
    *ret_len = strlen(v->text);
    return 0;
}

static int parse_bool_text(const char *s, bool *ret) {
    static const char *const yes[] = {"true", "1"};
    static const char *const no[] = {"false", "0"};
    for (size_t i = 0; i < 2; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *ret = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *ret = false;
            return 0;
        }
    }
    return -EINVAL;
}

static int apply_bool(const config_field *f, kubemcp_config *cfg, const value_source *v, error_info *err) {
    bool b;
    if (v->toml) {
        if (!json_is_boolean(v->toml))
            return type_error(v, err, "a boolean (true or false, without quotes)");
        b = json_is_true(v->toml);
    } else if (parse_bool_text(v->text, &b) < 0) {
        return error_set(err, EINVAL, "%s: invalid boolean \"%.64s\"; use true or false", v->where, v->text);
    }
    *(bool *)field_ptr(cfg, f) = b;
    return 0;
}

static int parse_integer_text(const char *s, long long *ret) {
    if (!*s || isspace((unsigned char)*s))
        return -EINVAL;
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (*end || errno == ERANGE)
        return -EINVAL;
    *ret = n;
    return 0;
}

static int apply_int(const config_field *f, kubemcp_config *cfg, const value_source *v, error_info *err) {
    long long n;
    if (v->toml) {
        if (!json_is_integer(v->toml))
            return error_set(err, EINVAL, "%s must be an integer from %lld to %lld (without quotes), got %s", v->where,
                             f->min, f->max, toml_type_name(v->toml));
        n = json_integer_value(v->toml);
    } else if (parse_integer_text(v->text, &n) < 0) {
        return error_set(err, EINVAL, "%s: invalid integer \"%.64s\"; use a whole number from %lld to %lld", v->where,
                         v->text, f->min, f->max);
    }
    if (n < f->min || n > f->max)
        return error_set(err, ERANGE, "%s: %lld is out of range; use a value from %lld to %lld", v->where, n, f->min,
                         f->max);
    void *p = field_ptr(cfg, f);
    switch (f->width) {
    case WIDTH_INT: *(int *)p = (int)n; break;
    case WIDTH_LONG: *(long *)p = (long)n; break;
    case WIDTH_SIZE: *(size_t *)p = (size_t)n; break;
    }
    return 0;
}

static int apply_string(const config_field *f, kubemcp_config *cfg, const value_source *v, error_info *err) {
    const char *s;
    size_t len;
    int r = value_text(v, err, "a string (in quotes)", &s, &len);
    if (r < 0)
        return r;
    if (len > CONFIG_VALUE_MAX_BYTES)
        return error_set(err, E2BIG, "%s is longer than %d bytes; shorten it", v->where, CONFIG_VALUE_MAX_BYTES);
    return set_string((char **)field_ptr(cfg, f), s, len) < 0 ? error_set(err, ENOMEM, "out of memory") : 0;
}

static int apply_choice(const config_field *f, kubemcp_config *cfg, const value_source *v, error_info *err) {
    char accepted[256];
    choices_text(f->choices, accepted, sizeof accepted);
    const char *s;
    size_t len;
    char expected[300];
    snprintf(expected, sizeof expected, "one of the strings %s", accepted);
    int r = value_text(v, err, expected, &s, &len);
    if (r < 0)
        return r;
    if (len == 0)
        return set_string((char **)field_ptr(cfg, f), s, 0);
    for (size_t i = 0; f->choices[i]; i++)
        if (strcmp(f->choices[i], s) == 0)
            return set_string((char **)field_ptr(cfg, f), s, len) < 0 ? error_set(err, ENOMEM, "out of memory") : 0;
    return error_set(err, EINVAL, "%s: unknown value \"%.64s\"; use one of: %s", v->where, s, accepted);
}

static int apply_port(const config_field *f, kubemcp_config *cfg, const value_source *v, error_info *err) {
    char digits[32];
    long long n;
    if (v->toml && json_is_integer(v->toml)) {
        n = json_integer_value(v->toml);
    } else {
        const char *s;
        size_t len;
        int r = value_text(v, err, "a port number (8080 or \"8080\")", &s, &len);
        if (r < 0)
            return r;
        if (len == 0)
            return set_string((char **)field_ptr(cfg, f), s, 0);
        bool ok = len <= 5;
        for (size_t i = 0; ok && i < len; i++)
            ok = isdigit((unsigned char)s[i]);
        if (!ok)
            return error_set(err, EINVAL, "%s: invalid port \"%.64s\"; use a number from 0 to 65535", v->where, s);
        n = strtoll(s, NULL, 10);
    }
    if (n < 0 || n > 65535)
        return error_set(err, ERANGE, "%s: port %lld is out of range; use a number from 0 to 65535 (0 = any free port)",
                         v->where, n);
    snprintf(digits, sizeof digits, "%lld", n);
    return set_string((char **)field_ptr(cfg, f), digits, strlen(digits)) < 0 ? error_set(err, ENOMEM, "out of memory")
                                                                               : 0;
}

/* Adds one list item, routing unknown toolset names aside. */
static int list_add_item(const config_field *f, kubemcp_config *cfg, string_list *list, const char *s, size_t len,
                         const value_source *v, error_info *err) {
    if (len == 0)
        return 0;
    if (len > 256)
        return error_set(err, EINVAL, "%s: list item \"%.32s...\" is longer than 256 bytes", v->where, s);
    int r;
    if (is_field(f, "toolsets")) {
        bool known = false;
        for (size_t i = 0; known_toolsets[i]; i++)
            known = known || (strlen(known_toolsets[i]) == len && memcmp(known_toolsets[i], s, len) == 0);
        if (!known) {
            char name[257];
            memcpy(name, s, len);
            name[len] = '\0';
            r = string_list_contains(&cfg->unknown_toolsets, name) ? 0 : string_list_add(&cfg->unknown_toolsets, s, len);
            if (r < 0)
                return error_set(err, -r, "%s: too many unknown toolsets", v->where);
            return 0;
        }
    }
    r = string_list_add(list, s, len);
    if (r == -E2BIG)
        return error_set(err, E2BIG, "%s: more than %d items; shorten the list", v->where, CONFIG_LIST_MAX_ITEMS);
    return r < 0 ? error_set(err, ENOMEM, "out of memory") : 0;
}

static int apply_list(const config_field *f, kubemcp_config *cfg, const value_source *v, error_info *err) {
    string_list list = {0};
    int r = 0;
    if (is_field(f, "toolsets"))
        string_list_clear(&cfg->unknown_toolsets); /* the new list replaces the old one entirely */
    if (v->toml) {
        if (!json_is_array(v->toml)) {
            r = type_error(v, err, "an array of strings, e.g. [\"a\", \"b\"]");
            goto out;
        }
        size_t i;
        json_t *item;
        json_array_foreach(v->toml, i, item) {
            if (!json_is_string(item) || strlen(json_string_value(item)) != json_string_length(item)) {
                r = error_set(err, EINVAL, "%s: item %zu must be a string, got %s", v->where, i + 1,
                              toml_type_name(item));
                goto out;
            }
            if ((r = list_add_item(f, cfg, &list, json_string_value(item), json_string_length(item), v, err)) < 0)
                goto out;
        }
    } else {
        const char *s = v->text;
        while (*s) {
            const char *comma = strchr(s, ',');
            const char *end = comma ? comma : s + strlen(s);
            const char *a = s, *b = end;
            while (a < b && isspace((unsigned char)*a))
                a++;
            while (b > a && isspace((unsigned char)b[-1]))
                b--;
            if ((r = list_add_item(f, cfg, &list, a, (size_t)(b - a), v, err)) < 0)
                goto out;
            s = comma ? comma + 1 : end;
        }
    }
    string_list *slot = (string_list *)field_ptr(cfg, f);
    string_list_clear(slot);
    *slot = list;
    return 0;
out:
    string_list_clear(&list);
    return r;
}

static int denied_add(denied_resource **items, size_t *count, const char *group, size_t group_len,
                      const char *version, size_t version_len, const char *kind, size_t kind_len) {
    denied_resource *grown = realloc(*items, (*count + 1) * sizeof *grown);
    if (!grown)
        return -ENOMEM;
    *items = grown;
    denied_resource *d = &grown[*count];
    d->group = strndup(group, group_len);
    d->version = strndup(version, version_len);
    d->kind = strndup(kind, kind_len);
    if (!d->group || !d->version || !d->kind) {
        free(d->group);
        free(d->version);
        free(d->kind);
        return -ENOMEM;
    }
    (*count)++;
    return 0;
}

/* Line of a TOML key path, for messages; 0 when unknown. */
static long key_line(const json_t *key_lines, const char *path) {
    return key_lines ? (long)json_integer_value(json_object_get(key_lines, path)) : 0;
}

static int apply_denied_resources(kubemcp_config *cfg, const value_source *v, const char *file,
                                  const json_t *key_lines, error_info *err) {
    denied_resource *items = NULL;
    size_t count = 0;
    int r = 0;
    if (v->toml) {
        if (!json_is_array(v->toml)) {
            r = error_set(err, EINVAL, "%s must be written as [[denied_resources]] tables with group, version and kind, got %s",
                          v->where, toml_type_name(v->toml));
            goto out;
        }
        size_t i;
        json_t *entry;
        json_array_foreach(v->toml, i, entry) {
            char path[64];
            snprintf(path, sizeof path, "denied_resources[%zu]", i);
            long line = key_line(key_lines, path);
            if (!line) /* an inline array of tables: point at the key */
                line = key_line(key_lines, "denied_resources");
            if (!json_is_object(entry) || toml_is_datetime(entry) || toml_is_special_float(entry)) {
                r = error_set(err, EINVAL, "%s: denied_resources item %zu must be a table with group, version and kind, got %s",
                              v->where, i + 1, toml_type_name(entry));
                goto out;
            }
            const char *parts[3] = {"", "", ""};
            size_t lens[3] = {0, 0, 0};
            static const char *const names[3] = {"group", "version", "kind"};
            const char *key;
            json_t *value;
            json_object_foreach(entry, key, value) {
                size_t k = 0;
                while (k < 3 && strcmp(names[k], key) != 0)
                    k++;
                char where[PATH_MAX + 64];
                long value_line = line;
                char value_path[128];
                snprintf(value_path, sizeof value_path, "%s.%s", path, key);
                if (key_line(key_lines, value_path))
                    value_line = key_line(key_lines, value_path);
                if (file)
                    snprintf(where, sizeof where, "%s:%ld: denied_resources[%zu].%.64s", file, value_line, i, key);
                else
                    snprintf(where, sizeof where, "%s", v->where);
                if (k == 3) {
                    r = error_set(err, EINVAL, "%s: unknown key; a denied resource has only group, version and kind", where);
                    goto out;
                }
                if (!json_is_string(value) || strlen(json_string_value(value)) != json_string_length(value)) {
                    r = error_set(err, EINVAL, "%s must be a string (\"\" = core group / any), got %s", where,
                                  toml_type_name(value));
                    goto out;
                }
                parts[k] = json_string_value(value);
                lens[k] = json_string_length(value);
            }
            if (count >= CONFIG_LIST_MAX_ITEMS) {
                r = error_set(err, E2BIG, "%s: more than %d denied resources", v->where, CONFIG_LIST_MAX_ITEMS);
                goto out;
            }
            if (denied_add(&items, &count, parts[0], lens[0], parts[1], lens[1], parts[2], lens[2]) < 0) {
                r = error_set(err, ENOMEM, "out of memory");
                goto out;
            }
        }
    } else {
        /* Environment / flag form: "group/version/kind" entries separated by commas, e.g. "/v1/Secret". */
        const char *s = v->text;
        while (*s) {
            const char *comma = strchr(s, ',');
            const char *end = comma ? comma : s + strlen(s);
            while (s < end && isspace((unsigned char)*s))
                s++;
            const char *e = end;
            while (e > s && isspace((unsigned char)e[-1]))
                e--;
            if (e > s) {
                const char *slash1 = memchr(s, '/', (size_t)(e - s));
                const char *slash2 = slash1 ? memchr(slash1 + 1, '/', (size_t)(e - slash1 - 1)) : NULL;
                if (!slash2 || memchr(slash2 + 1, '/', (size_t)(e - slash2 - 1))) {
                    r = error_set(err, EINVAL, "%s: invalid entry \"%.*s\"; write group/version/kind, e.g. /v1/Secret "
                                  "(empty group = core) or rbac.authorization.k8s.io/v1/ (empty kind = any)",
                                  v->where, (int)(e - s > 64 ? 64 : e - s), s);
                    goto out;
                }
                if (count >= CONFIG_LIST_MAX_ITEMS) {
                    r = error_set(err, E2BIG, "%s: more than %d denied resources", v->where, CONFIG_LIST_MAX_ITEMS);
                    goto out;
                }
                if (denied_add(&items, &count, s, (size_t)(slash1 - s), slash1 + 1, (size_t)(slash2 - slash1 - 1),
                               slash2 + 1, (size_t)(e - slash2 - 1)) < 0) {
                    r = error_set(err, ENOMEM, "out of memory");
                    goto out;
                }
            }
            s = comma ? comma + 1 : end;
        }
    }
    denied_resources_clear(cfg);
    cfg->denied_resources = items;
    cfg->denied_resources_count = count;
    return 0;
out:
    for (size_t i = 0; i < count; i++) {
        free(items[i].group);
        free(items[i].version);
        free(items[i].kind);
    }
    free(items);
    return r;
}

static int apply_value(const config_field *f, kubemcp_config *cfg, const value_source *v, const char *file,
                       const json_t *key_lines, error_info *err) {
    switch (f->type) {
    case FIELD_STRING: return apply_string(f, cfg, v, err);
    case FIELD_BOOL: return apply_bool(f, cfg, v, err);
    case FIELD_INT: return apply_int(f, cfg, v, err);
    case FIELD_CHOICE: return apply_choice(f, cfg, v, err);
    case FIELD_LIST: return apply_list(f, cfg, v, err);
    case FIELD_PORT: return apply_port(f, cfg, v, err);
    case FIELD_DENIED_RESOURCES: return apply_denied_resources(cfg, v, file, key_lines, err);
    }
    return -EINVAL;
}

/* ---- files ---- */

static int read_file(const char *path, char **ret, size_t *ret_len, error_info *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return error_set(err, errno, "cannot open config file %s: %s; check the path or its permissions", path,
                         strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return error_set(err, EINVAL, "config file %s is not a regular file; give the path of a .toml file", path);
    }
    if ((unsigned long long)st.st_size > CONFIG_FILE_MAX_BYTES) {
        close(fd);
        return error_set(err, E2BIG, "config file %s is larger than %zu bytes; is it the right file?", path,
                         CONFIG_FILE_MAX_BYTES);
    }
    size_t cap = (size_t)st.st_size + 1;
    char *data = malloc(cap);
    if (!data) {
        close(fd);
        return error_set(err, ENOMEM, "out of memory reading %s", path);
    }
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, data + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(data);
            close(fd);
            return error_set(err, e, "cannot read config file %s: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == cap) { /* the file grew since fstat */
            free(data);
            close(fd);
            return error_set(err, EBUSY, "config file %s changed while it was read; try again", path);
        }
    }
    close(fd);
    *ret = data;
    *ret_len = len;
    return 0;
}

/* Applies one parsed TOML file. main_file allows config_dir (drop-ins may not move the drop-in
 * directory they are read from). */
static int apply_toml(kubemcp_config *cfg, const char *path, const json_t *root, const json_t *key_lines,
                      bool main_file, error_info *err) {
    const char *key;
    size_t key_len;
    json_t *value;
    json_object_keylen_foreach((json_t *)root, key, key_len, value) {
        long line = key_line(key_lines, key);
        const config_field *f = strlen(key) == key_len ? field_by_key(key, key_len) : NULL;
        if (!f) {
            char keys[1024], hint[128];
            known_keys(keys, sizeof keys);
            bool table = json_is_object(value) && !toml_is_datetime(value) && !toml_is_special_float(value);
            return error_set(err, EINVAL, "%s:%ld: unknown %s \"%.64s\"%s; known keys: %s", path, line,
                             table ? "table" : "key", key, suggestion(key, false, hint, sizeof hint), keys);
        }
        if (!main_file && is_field(f, "config_dir"))
            return error_set(err, EINVAL, "%s:%ld: config_dir can only be set in the main config file, not in a drop-in",
                             path, line);
        char where[PATH_MAX + 128];
        snprintf(where, sizeof where, "%s:%ld: %s", path, line, key);
        value_source v = {.toml = value, .where = where};
        int r = apply_value(f, cfg, &v, path, key_lines, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int load_toml_file(kubemcp_config *cfg, const char *path, bool main_file, error_info *err) {
    char *text = NULL;
    size_t len = 0;
    int r = read_file(path, &text, &len, err);
    if (r < 0)
        return r;
    json_t *root = NULL, *key_lines = NULL;
    toml_limits limits = {.max_document_bytes = CONFIG_FILE_MAX_BYTES};
    r = toml_parse_ex(text, len, path, &limits, &root, &key_lines, err);
    free(text);
    if (r < 0)
        return r;
    r = apply_toml(cfg, path, root, key_lines, main_file, err);
    json_decref(root);
    json_decref(key_lines);
    return r;
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dropins(kubemcp_config *cfg, const char *dir, bool explicit_dir, error_info *err) {
    DIR *d = opendir(dir);
    if (!d) {
        if (!explicit_dir && errno == ENOENT)
            return 0;
        return error_set(err, errno, "cannot read config directory %s: %s; create it or fix --config-dir", dir,
                         strerror(errno));
    }
    string_list names = {0};
    int r = 0;
    struct dirent *entry;
    while ((entry = readdir(d))) {
        size_t n = strlen(entry->d_name);
        if (entry->d_name[0] == '.' || n < 6 || strcmp(entry->d_name + n - 5, ".toml") != 0)
            continue;
        if (names.count >= CONFIG_DROPIN_MAX_FILES) {
            r = error_set(err, E2BIG, "config directory %s holds more than %d .toml files; merge some of them", dir,
                          CONFIG_DROPIN_MAX_FILES);
            goto out;
        }
        if (string_list_add(&names, entry->d_name, n) < 0) {
            r = error_set(err, ENOMEM, "out of memory");
            goto out;
        }
    }
    if (names.count)
        qsort(names.items, names.count, sizeof *names.items, compare_names);
    for (size_t i = 0; i < names.count; i++) {
        char path[PATH_MAX];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, names.items[i]) >= sizeof path) {
            r = error_set(err, ENAMETOOLONG, "config path %s/%s is too long", dir, names.items[i]);
            goto out;
        }
        if ((r = load_toml_file(cfg, path, false, err)) < 0)
            goto out;
    }
out:
    closedir(d);
    string_list_clear(&names);
    return r;
}

/* ---- environment and flags ---- */

typedef struct pending {
    const config_field *field;
    const char *value; /* borrowed from argv / envp */
    char where[160];
} pending;

/* Looks up NAME in envp (first occurrence wins, as with getenv). Empty values count as unset. */
static const char *env_get(char **envp, const char *name) {
    size_t n = strlen(name);
    for (char **e = envp; e && *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return (*e)[n + 1] ? *e + n + 1 : NULL;
    return NULL;
}

static void env_name(const config_field *f, char *out, size_t out_size) {
    size_t used = (size_t)snprintf(out, out_size, "KUBEMCP_");
    for (const char *k = f->key; *k && used + 1 < out_size; k++)
        out[used++] = (char)toupper((unsigned char)*k);
    out[used] = '\0';
}

static int collect_env(kubemcp_config *cfg, char **envp, pending *out, size_t *count) {
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        char name[64];
        env_name(&fields[i], name, sizeof name);
        const char *value = env_get(envp, name);
        /* Unprefixed names other projects document (seed 003, the Go peer's docker-compose). */
        static const char *const aliases[][2] = {
            {"log_level", "LOG_LEVEL"}, {"allowed_origins", "ALLOWED_ORIGINS"}, {"enable_hsts", "ENABLE_HSTS"}};
        for (size_t a = 0; !value && a < sizeof aliases / sizeof aliases[0]; a++)
            if (strcmp(fields[i].key, aliases[a][0]) == 0 && (value = env_get(envp, aliases[a][1])))
                snprintf(name, sizeof name, "%s", aliases[a][1]);
        if (!value)
            continue;
        out[*count].field = &fields[i];
        out[*count].value = value;
        snprintf(out[*count].where, sizeof out[*count].where, "environment variable %s", name);
        (*count)++;
    }
    /* Unknown KUBEMCP_* variables are most likely typos; other modules read their own variables, so
     * this is a warning, not an error. */
    for (char **e = envp; e && *e; e++) {
        if (strncmp(*e, "KUBEMCP_", 8) != 0)
            continue;
        const char *eq = strchr(*e, '=');
        size_t n = eq ? (size_t)(eq - *e) : strlen(*e);
        bool known = (n == 14 && !strncmp(*e, "KUBEMCP_CONFIG", 14));
        for (size_t i = 0; !known && i < FIELD_COUNT; i++) {
            char name[64];
            env_name(&fields[i], name, sizeof name);
            known = strlen(name) == n && !strncmp(*e, name, n);
        }
        if (!known && add_warning(cfg, "environment variable %.*s is not a kubemcp setting and is ignored; "
                                       "see docs/configuration.md for the names",
                                  (int)(n > 100 ? 100 : n), *e) < 0)
            return -ENOMEM;
    }
    return 0;
}

typedef struct flag_result {
    const char *config_path;
    const char *config_dir;
    bool help;
} flag_result;

static bool is_bool_field(const config_field *f) {
    return f->type == FIELD_BOOL;
}

static int collect_flags(int argc, char **argv, pending *out, size_t *count, size_t max, flag_result *res,
                         error_info *err) {
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            res->help = true;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0')
            return error_set(err, EINVAL, "unexpected argument \"%.64s\"; flags start with -- (run with --help to list them)",
                             arg);
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
        /* Spellings of other kubernetes MCP servers (seeds): --host (kubectl-mtv), --tls-cert-file /
         * --tls-key-file (giantswarm), --cert-file / --key-file (kubectl-mtv). */
        static const char *const flag_aliases[][2] = {{"host", "bind-address"},     {"tls-cert-file", "tls-cert"},
                                                      {"tls-key-file", "tls-key"},  {"cert-file", "tls-cert"},
                                                      {"key-file", "tls-key"}};
        for (size_t a = 0; a < sizeof flag_aliases / sizeof flag_aliases[0]; a++)
            if (strlen(flag_aliases[a][0]) == name_len && strncmp(name, flag_aliases[a][0], name_len) == 0) {
                name = flag_aliases[a][1];
                name_len = strlen(name);
                break;
            }
        const char *value = eq ? eq + 1 : NULL;
        bool is_config = name_len == 6 && !strncmp(name, "config", 6);
        const config_field *f = is_config ? NULL : field_by_flag(name, name_len);
        if (!f && !is_config) {
            char given[64], hint[128];
            snprintf(given, sizeof given, "%.*s", (int)(name_len > 60 ? 60 : name_len), name);
            return error_set(err, EINVAL, "unknown flag --%s%s; run with --help to list the flags", given,
                             suggestion(given, true, hint, sizeof hint));
        }
        const char *flag_name = is_config ? "config" : f->flag;
        if (!value && f && is_bool_field(f)) {
            value = "true";
        } else if (!value) {
            if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)
                return error_set(err, EINVAL, "flag --%s needs a value, e.g. --%s %s", flag_name, flag_name,
                                 is_config ? "/etc/kubemcp/config.toml" : f->value_hint ? f->value_hint : "VALUE");
            value = argv[++i];
        }
        if (is_config) {
            if (!*value)
                return error_set(err, EINVAL, "flag --config needs a file name");
            res->config_path = value;
            continue;
        }
        if (is_field(f, "config_dir"))
            res->config_dir = *value ? value : NULL;
        if (*count >= max)
            return error_set(err, E2BIG, "too many flags (more than %zu)", max);
        out[*count].field = f;
        out[*count].value = value;
        snprintf(out[*count].where, sizeof out[*count].where, "flag --%s", f->flag);
        (*count)++;
    }
    return 0;
}

static int apply_pending(kubemcp_config *cfg, const pending *items, size_t count, error_info *err) {
    for (size_t i = 0; i < count; i++) {
        value_source v = {.text = items[i].value, .where = items[i].where};
        int r = apply_value(items[i].field, cfg, &v, NULL, NULL, err);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Directory of path ("." when it has none). */
static int dir_of(const char *path, char *out, size_t out_size) {
    const char *slash = strrchr(path, '/');
    if (!slash)
        return snprintf(out, out_size, ".") < (int)out_size ? 0 : -ENAMETOOLONG;
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= out_size)
        return -ENAMETOOLONG;
    memcpy(out, path, n);
    out[n] = '\0';
    return 0;
}

/* Folds the HTTP spellings together: --http-addr into bind_address + port, --sse and --transport
 * into "serve HTTP" (port 8080 when none is given, as giantswarm and kubectl-mtv default), and
 * checks that TLS gets both files. */
static int finish_http_settings(kubemcp_config *cfg, error_info *err) {
    if (cfg->http_addr) {
        const char *a = cfg->http_addr;
        const char *host = a, *host_end, *port;
        if (a[0] == '[') {
            const char *close = strchr(a, ']');
            if (!close || close[1] != ':')
                return error_set(err, EINVAL, "http_addr \"%.64s\": write [v6-address]:port, e.g. [::1]:8080", a);
            host = a + 1;
            host_end = close;
            port = close + 2;
        } else {
            const char *colon = strrchr(a, ':');
            if (!colon || memchr(a, ':', (size_t)(colon - a)))
                return error_set(err, EINVAL, "http_addr \"%.64s\": write host:port or :port, e.g. 127.0.0.1:8080",
                                 a);
            host_end = colon;
            port = colon + 1;
        }
        size_t plen = strlen(port);
        bool ok = plen > 0 && plen <= 5;
        for (size_t i = 0; ok && i < plen; i++)
            ok = isdigit((unsigned char)port[i]);
        if (!ok || strtol(port, NULL, 10) > 65535)
            return error_set(err, EINVAL, "http_addr \"%.64s\": the port must be a number from 0 to 65535", a);
        if (set_string(&cfg->port, port, plen) < 0 ||
            (host_end > host && set_string(&cfg->bind_address, host, (size_t)(host_end - host)) < 0))
            return error_set(err, ENOMEM, "out of memory");
    }
    if (cfg->sse && cfg->transport && strcmp(cfg->transport, "stdio") == 0)
        return error_set(err, EINVAL, "--sse asks for HTTP but transport is \"stdio\"; drop one of them");
    bool wants_http = cfg->sse || (cfg->transport && strcmp(cfg->transport, "stdio") != 0);
    if (wants_http && !cfg->port && set_string(&cfg->port, "8080", 4) < 0)
        return error_set(err, ENOMEM, "out of memory");
    if (cfg->transport && strcmp(cfg->transport, "stdio") == 0 && cfg->port)
        return error_set(err, EINVAL,
                         "transport is \"stdio\" but a port (%s) is set; remove the port or choose "
                         "--transport=streamable-http",
                         cfg->port);
    if (!cfg->tls_cert != !cfg->tls_key)
        return error_set(err, EINVAL, "HTTPS needs both tls_cert and tls_key (--tls-cert FILE --tls-key FILE); "
                                      "only %s is set",
                         cfg->tls_cert ? "tls_cert" : "tls_key");
    return 0;
}

/* Token exchange: the Go peer's spellings, what kubemcp does not support refused by name, and the
 * combinations that cannot work refused before the server starts. */
static int finish_token_exchange_settings(kubemcp_config *cfg, error_info *err) {
    const char *strategy = cfg->token_exchange_strategy;
    const char *mode = cfg->cluster_auth_mode;
    if (!strategy && mode && strcmp(mode, "exchange") == 0 && set_string(&cfg->token_exchange_strategy, "rfc8693", 7) < 0)
        return error_set(err, ENOMEM, "out of memory");
    strategy = cfg->token_exchange_strategy;
    if (!strategy) {
        const char *stray = cfg->sts_token_url ? "sts_token_url" : cfg->sts_client_id ? "sts_client_id"
                            : cfg->sts_client_secret ? "sts_client_secret"
                            : cfg->sts_client_secret_file ? "sts_client_secret_file"
                            : cfg->sts_audience ? "sts_audience" : cfg->sts_scopes.count ? "sts_scopes"
                            : cfg->sts_auth_style ? "sts_auth_style" : NULL;
        if (stray)
            return error_set(err, EINVAL, "%s is set but token exchange is off: set token_exchange_strategy = "
                                          "\"rfc8693\" (or remove the sts_* settings)", stray);
        return 0;
    }
    if (strcmp(strategy, "entra-obo") == 0)
        return error_set(err, ENOTSUP, "token_exchange_strategy \"entra-obo\" (Microsoft Entra On-Behalf-Of) is not "
                                       "supported by kubemcp; use \"rfc8693\" with an STS that implements RFC 8693");
    if (strcmp(strategy, "rfc8693") != 0 && strcmp(strategy, "keycloak-v1") != 0)
        return error_set(err, EINVAL, "token_exchange_strategy \"%.64s\" is unknown; use \"rfc8693\" or \"keycloak-v1\"",
                         strategy);
    const char *style = cfg->sts_auth_style;
    if (style && (strcmp(style, "assertion") == 0 || strcmp(style, "federated") == 0))
        return error_set(err, ENOTSUP, "sts_auth_style \"%s\" (%s) is not supported by kubemcp; use \"params\" or "
                                       "\"header\" with sts_client_secret_file",
                         style, strcmp(style, "assertion") == 0 ? "an RFC 7523 client assertion" : "a federated token file");
    if (style && strcmp(style, "params") != 0 && strcmp(style, "header") != 0)
        return error_set(err, EINVAL, "sts_auth_style \"%.64s\" is unknown; use \"params\" or \"header\"", style);
    if (mode && strcmp(mode, "exchange") != 0 && strcmp(mode, "passthrough") != 0)
        return error_set(err, EINVAL, "token_exchange_strategy is set, so the cluster sees the exchanged token, but "
                                      "cluster_auth_mode is \"%s\"; remove cluster_auth_mode or set it to \"exchange\"",
                         mode);
    if (!cfg->oidc_issuer_url)
        return error_set(err, EINVAL, "token_exchange_strategy needs an OpenID issuer (oidc_issuer_url or "
                                      "authorization_url): kubemcp exchanges only tokens it has validated");
    if (cfg->sts_client_secret && cfg->sts_client_secret_file)
        return error_set(err, EINVAL, "set sts_client_secret or sts_client_secret_file, not both");
    if ((cfg->sts_client_secret || cfg->sts_client_secret_file) && !cfg->sts_client_id)
        return error_set(err, EINVAL, "an STS client secret needs sts_client_id");
    if (style && strcmp(style, "header") == 0 && !cfg->sts_client_id)
        return error_set(err, EINVAL, "sts_auth_style \"header\" needs sts_client_id");
    if (cfg->sts_token_url && strncmp(cfg->sts_token_url, "https://", 8) != 0 &&
        !(cfg->oidc_allow_http && strncmp(cfg->sts_token_url, "http://", 7) == 0))
        return error_set(err, EINVAL, "sts_token_url must be an https:// URL (http:// only with oidc_allow_http)");
    if (set_string(&cfg->cluster_auth_mode, "exchange", 8) < 0)
        return error_set(err, ENOMEM, "out of memory");
    return 0;
}

int config_load(int argc, char **argv, char **envp, kubemcp_config **ret, error_info *err) {
    kubemcp_config *cfg = config_new_defaults();
    if (!cfg)
        return error_set(err, ENOMEM, "out of memory");
    size_t flag_max = argc > 0 ? (size_t)argc : 1;
    pending *flag_items = calloc(flag_max, sizeof *flag_items);
    pending env_items[FIELD_COUNT];
    size_t flag_count = 0, env_count = 0;
    flag_result flags = {0};
    int r;
    if (!flag_items) {
        r = error_set(err, ENOMEM, "out of memory");
        goto out;
    }
    if ((r = collect_flags(argc, argv, flag_items, &flag_count, flag_max, &flags, err)) < 0)
        goto out;
    if ((r = collect_env(cfg, envp, env_items, &env_count)) < 0) {
        r = error_set(err, ENOMEM, "out of memory");
        goto out;
    }

    const char *config_path = flags.config_path;
    if (!config_path)
        config_path = env_get(envp, "KUBEMCP_CONFIG");
    if (!config_path)
        config_path = env_get(envp, "K8S_MCP_CONFIG_PATH");
    const char *explicit_dir = flags.config_dir ? flags.config_dir : env_get(envp, "KUBEMCP_CONFIG_DIR");

    if (config_path) {
        if (!(cfg->config_path = strdup(config_path))) {
            r = error_set(err, ENOMEM, "out of memory");
            goto out;
        }
        if ((r = load_toml_file(cfg, config_path, true, err)) < 0)
            goto out;
    }

    /* The drop-in directory: flag/env name it relative to the working directory, config_dir in the
     * main file relative to that file, and the default is conf.d beside the main file. */
    char dir[PATH_MAX];
    bool have_dir = false, dir_explicit = true;
    if (explicit_dir) {
        have_dir = snprintf(dir, sizeof dir, "%s", explicit_dir) < (int)sizeof dir;
    } else if (config_path) {
        char base[PATH_MAX];
        if (dir_of(config_path, base, sizeof base) < 0) {
            r = error_set(err, ENAMETOOLONG, "config path %s is too long", config_path);
            goto out;
        }
        if (cfg->config_dir)
            have_dir = snprintf(dir, sizeof dir, "%s%s%s", cfg->config_dir[0] == '/' ? "" : base,
                                cfg->config_dir[0] == '/' ? "" : "/", cfg->config_dir) < (int)sizeof dir;
        else {
            have_dir = snprintf(dir, sizeof dir, "%s/conf.d", base) < (int)sizeof dir;
            dir_explicit = false;
        }
    } else if (cfg->config_dir) {
        have_dir = snprintf(dir, sizeof dir, "%s", cfg->config_dir) < (int)sizeof dir;
    }
    free(cfg->config_dir);
    cfg->config_dir = NULL;
    if (have_dir) {
        struct stat st;
        bool exists = stat(dir, &st) == 0;
        if ((r = load_dropins(cfg, dir, dir_explicit, err)) < 0)
            goto out;
        if (exists && !(cfg->config_dir = strdup(dir))) {
            r = error_set(err, ENOMEM, "out of memory");
            goto out;
        }
    }

    /* config_dir has been consumed; env and flags may still name it, which was handled above, so
     * skip it here to keep the recorded directory the one actually read. */
    for (size_t i = 0; i < env_count; i++)
        if (is_field(env_items[i].field, "config_dir"))
            env_items[i].field = NULL;
    for (size_t i = 0; i < flag_count; i++)
        if (is_field(flag_items[i].field, "config_dir"))
            flag_items[i].field = NULL;
    for (size_t i = 0; i < env_count; i++) {
        if (!env_items[i].field)
            continue;
        if ((r = apply_pending(cfg, &env_items[i], 1, err)) < 0)
            goto out;
    }
    for (size_t i = 0; i < flag_count; i++) {
        if (!flag_items[i].field)
            continue;
        if ((r = apply_pending(cfg, &flag_items[i], 1, err)) < 0)
            goto out;
    }
    if ((r = finish_http_settings(cfg, err)) < 0)
        goto out;
    if ((r = finish_token_exchange_settings(cfg, err)) < 0)
        goto out;
    for (size_t i = 0; i < cfg->unknown_toolsets.count; i++)
        if (add_warning(cfg, "toolset \"%.64s\" is not available in kubemcp and is ignored; available: core, config",
                        cfg->unknown_toolsets.items[i]) < 0) {
            r = error_set(err, ENOMEM, "out of memory");
            goto out;
        }
    cfg->show_help = flags.help;
    r = 0;
out:
    free(flag_items);
    if (r < 0) {
        config_free(cfg);
        return r;
    }
    *ret = cfg;
    return 0;
}

/* ---- usage ---- */

void config_print_usage(void *file_stream, const char *program) {
    FILE *out = file_stream ? file_stream : stdout;
    fprintf(out,
            "Usage: %s [serve|token|version|config check] [flags]\n"
            "\n"
            "Settings come from, lowest to highest precedence: defaults, the TOML file (--config), drop-ins\n"
            "(conf.d/*.toml beside it, in lexical order), environment variables (KUBEMCP_<KEY>), and flags.\n"
            "\n"
            "Flags:\n",
            program ? program : "kubemcp");
    fprintf(out, "  %-36s %s\n", "--config FILE",
            "TOML config file (env KUBEMCP_CONFIG or K8S_MCP_CONFIG_PATH)");
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        const config_field *f = &fields[i];
        if (!f->flag)
            continue;
        char left[64];
        if (f->type == FIELD_BOOL)
            snprintf(left, sizeof left, "--%s[=true|false]", f->flag);
        else
            snprintf(left, sizeof left, "--%s %s", f->flag, f->value_hint ? f->value_hint : "VALUE");
        char env[64];
        env_name(f, env, sizeof env);
        fprintf(out, "  %-36s %s (env %s, key %s)\n", left, f->help, env, f->key);
    }
    fprintf(out, "  %-36s %s\n", "-h, --help", "show this help and exit");
    fprintf(out, "\nSettings without a flag (TOML key, env KUBEMCP_<KEY>):\n");
    for (size_t i = 0; i < FIELD_COUNT; i++) {
        const config_field *f = &fields[i];
        if (f->flag)
            continue;
        fprintf(out, "  %-36s %s\n", f->key, f->help);
    }
    fprintf(out, "\nSee docs/configuration.md for every setting.\n");
}
