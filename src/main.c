/* kubemcp command line: `kubemcp [serve] [flags]` runs the MCP server (stdio by default);
 * `kubemcp tools` lists the tools; `kubemcp config check` validates the configuration;
 * `kubemcp version` prints the version. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/token_create.h"
#include "core/config.h"
#include "core/log.h"
#include "gate/as_metadata.h"
#include "gate/audit.h"
#include "gate/authenticate.h"
#include "gate/oidc.h"
#include "gate/token_exchange.h"
#include "gate/tokenreview.h"
#include "kube/kube.h"
#include "mcp/prompts.h"
#include "mcp/server.h"
#include "tools/registry.h"
#include "core/metrics.h"
#include "transport/http_server.h"
#include "transport/stdio.h"

extern char **environ;

#define DEFAULT_INSTRUCTIONS                                                                                     \
    "kubemcp gives access to Kubernetes clusters with the permissions of the user who runs it. Use pods_* "      \
    "tools for pods, resources_* tools for any kind (apiVersion + kind, custom resources included), and "        \
    "events_list to find out why something fails. When a call is refused, the message is the API server's own " \
    "RBAC decision."

static void on_input_end(void *opaque) {
    (void)opaque;
    /* All threads block SIGUSR1; main's sigwait picks it up. */
    kill(getpid(), SIGUSR1);
}

static int block_signals(sigset_t *ret_set) {
    sigemptyset(ret_set);
    sigaddset(ret_set, SIGINT);
    sigaddset(ret_set, SIGTERM);
    sigaddset(ret_set, SIGHUP);
    sigaddset(ret_set, SIGUSR1);
    /* A client that goes away must not kill us through SIGPIPE; writes report EPIPE instead. */
    signal(SIGPIPE, SIG_IGN);
    return -pthread_sigmask(SIG_BLOCK, ret_set, NULL);
}

/* Collects the context names the tools may target (all of them unless multi-cluster is off). */
static const char **context_names(kube_provider *provider, const kubemcp_config *cfg) {
    size_t n = provider ? kube_provider_context_count(provider) : 0;
    const char **names = calloc(n + 1, sizeof *names);
    if (!names || cfg->disable_multi_cluster)
        return names;
    for (size_t i = 0; i < n; i++)
        names[i] = kube_provider_context_name(provider, i);
    return names;
}

static int print_tools(const kubemcp_config *cfg) {
    tool_registry *reg = NULL;
    error_info err = {0};
    tool_registry_options ro = {.catalog = tool_catalog, .config = cfg};
    if (tool_registry_new(&ro, &reg, &err) < 0) {
        fprintf(stderr, "kubemcp: %s\n", err.message);
        return 2;
    }
    for (size_t i = 0; tool_catalog[i]; i++) {
        const tool_def *t = tool_catalog[i];
        const tool_def *found = NULL;
        error_info why = {0};
        bool enabled = tool_registry_find(reg, t->name, &found, &why) == 0;
        printf("%-28s %-7s %-10s %s\n", t->name, t->toolset,
               t->read_only ? "read-only" : t->destructive ? "destructive" : "write", enabled ? "" : why.message);
    }
    tool_registry_free(reg);
    return 0;
}

static void warn_about_settings(const kubemcp_config *cfg) {
    if (cfg->require_oauth || cfg->validate_token)
        log_warn("require_oauth and validate_token apply to HTTP requests; stdio has no bearer token, so they "
                 "have no effect here");
}

static bool wants_http(const kubemcp_config *cfg) {
    return cfg->port != NULL;
}

/* SIGHUP: re-read the configuration the server started with (same flags and environment) and
 * apply what can change without a restart: log_level, the TLS certificate and key, and
 * allowed_origins. Everything else is reported as needing a restart. */
static void reload(int argc, char **argv, const kubemcp_config *running, http_server *http) {
    kubemcp_config *fresh = NULL;
    error_info err = {0};
    if (config_load(argc, argv, environ, &fresh, &err) < 0) {
        log_error("SIGHUP: the configuration is not valid, keeping the running one: %s", err.message);
        return;
    }
    log_set_verbosity(fresh->log_level);
    log_info("SIGHUP: configuration reloaded; log_level is %d", fresh->log_level);
    if (http && fresh->tls_cert && fresh->tls_key) {
        if (http_server_reload_tls(http, fresh->tls_cert, fresh->tls_key, &err) < 0)
            log_error("SIGHUP: keeping the old TLS certificate: %s", err.message);
        else
            log_info("SIGHUP: TLS certificate %s reloaded", fresh->tls_cert);
    }
    if (http) {
        if (http_server_set_allowed_origins(http, &fresh->allowed_origins, &err) < 0)
            log_error("SIGHUP: keeping the old allowed_origins: %s", err.message);
    }
    bool policy_changed = fresh->read_only != running->read_only ||
                          fresh->disable_destructive != running->disable_destructive ||
                          fresh->toolsets.count != running->toolsets.count ||
                          fresh->enabled_tools.count != running->enabled_tools.count ||
                          fresh->disabled_tools.count != running->disabled_tools.count;
    if (policy_changed)
        log_warn("SIGHUP: tool policy settings (read_only, disable_destructive, toolsets, enabled_tools, "
                 "disabled_tools) changed, but they apply only after a restart");
    config_free(fresh);
}

/* What make_gate needs to decide who is calling, once the listening URL is known. */
typedef struct gate_context {
    kubemcp_config *cfg;
    kube_provider *provider;
    tokenreview_cache *reviews;
    audit_log *audit;
    bool auth_headers;
    oidc_gate **oidc; /* made here when an OpenID issuer is configured; freed by serve() */
    token_exchange **exchange; /* made here for cluster_auth_mode "exchange"; freed by serve() */
    char resource[512];
    char resource_metadata_url[600];
} gate_context;

static char *read_secret_file(const char *key, const char *path, size_t *ret_len, error_info *err) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        error_set(err, errno, "cannot read %s %s: %s", key, path, strerror(errno));
        return NULL;
    }
    char *secret = calloc(1, 4097);
    size_t n = secret ? fread(secret, 1, 4096, f) : 0;
    fclose(f);
    while (n > 0 && (secret[n - 1] == '\n' || secret[n - 1] == '\r'))
        secret[--n] = '\0';
    *ret_len = n;
    return secret;
}

static void add_scope(const char **list, size_t *n, const char *scope) {
    if (!scope || !*scope)
        return;
    for (size_t i = 0; i < *n; i++)
        if (strcmp(list[i], scope) == 0)
            return;
    list[(*n)++] = scope;
}

/* The scopes kubemcp advertises: oidc_scopes, then the per-tool scopes (read, write, overrides),
 * each once. A NULL-terminated array of strings borrowed from cfg (free the array only), or NULL. */
static const char **advertised_scopes(const kubemcp_config *cfg) {
    const char **list = calloc(cfg->oidc_scopes.count + 2 + cfg->oidc_tool_scopes.count + 1, sizeof *list);
    if (!list)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < cfg->oidc_scopes.count; i++)
        add_scope(list, &n, cfg->oidc_scopes.items[i]);
    add_scope(list, &n, cfg->oidc_read_scope);
    add_scope(list, &n, cfg->oidc_write_scope);
    for (size_t i = 0; i < cfg->oidc_tool_scopes.count; i++) {
        const char *eq = strchr(cfg->oidc_tool_scopes.items[i], '=');
        add_scope(list, &n, eq ? eq + 1 : NULL);
    }
    return list;
}

/* The Protected Resource Metadata (RFC 9728) for an OpenID-protected server. */
static char *protected_resource_metadata(const gate_context *g) {
    const char **list = advertised_scopes(g->cfg);
    json_t *scopes = json_array();
    for (size_t i = 0; list && list[i]; i++)
        json_array_append_new(scopes, json_string(list[i]));
    if (!list) {
        json_decref(scopes);
        return NULL;
    }
    free(list);
    json_t *prm = json_pack("{s:s, s:[s], s:o, s:[s]}", "resource", g->resource, "authorization_servers",
                            g->cfg->oidc_issuer_url, "scopes_supported", scopes, "bearer_methods_supported", "header");
    char *text = prm ? json_dumps(prm, JSON_COMPACT) : NULL;
    json_decref(prm);
    return text;
}

static int discovered_token_endpoint(void *opaque, char **ret_url, error_info *err) {
    return oidc_gate_token_endpoint(opaque, ret_url, err);
}

/* The STS client for cluster_auth_mode "exchange"; config_load has checked the combination. */
static int make_token_exchange(const kubemcp_config *cfg, oidc_gate *oidc, token_exchange **ret, error_info *err) {
    size_t secret_len = 0;
    char *secret = NULL;
    if (cfg->sts_client_secret_file &&
        !(secret = read_secret_file("sts_client_secret_file", cfg->sts_client_secret_file, &secret_len, err)))
        return -EINVAL;
    if (secret && (secret_len == 0 || strlen(secret) != secret_len)) {
        free(secret);
        return error_set(err, EINVAL, "sts_client_secret_file %s is empty or holds a NUL byte",
                         cfg->sts_client_secret_file);
    }
    token_exchange_options xo = {
        .strategy = strcmp(cfg->token_exchange_strategy, "keycloak-v1") == 0 ? TOKEN_EXCHANGE_KEYCLOAK_V1
                                                                             : TOKEN_EXCHANGE_RFC8693,
        .token_url = cfg->sts_token_url,
        .token_url_source = discovered_token_endpoint,
        .token_url_opaque = oidc,
        .client_id = cfg->sts_client_id,
        .client_secret = secret ? secret : cfg->sts_client_secret,
        .auth_style = cfg->sts_auth_style && strcmp(cfg->sts_auth_style, "header") == 0 ? TOKEN_EXCHANGE_AUTH_HEADER
                                                                                       : TOKEN_EXCHANGE_AUTH_PARAMS,
        .audience = cfg->sts_audience,
        .scopes = (const char *const *)cfg->sts_scopes.items,
        .http = {.ca_file = cfg->oidc_ca_file, .allow_http = cfg->oidc_allow_http},
    };
    int r = token_exchange_new(&xo, ret, err);
    if (secret) {
        memset(secret, 0, secret_len);
        free(secret);
    }
    if (r == 0)
        log_info("token exchange (%s) at %s, audience %s", cfg->token_exchange_strategy,
                 cfg->sts_token_url ? cfg->sts_token_url : "the issuer's token endpoint",
                 cfg->sts_audience ? cfg->sts_audience : "(none)");
    return r;
}

/* http_server's on_bound: the gate, and for an OpenID issuer the resource URI (our own URL) and
 * its metadata. */
static int make_gate(void *opaque, const char *url, gate **ret_gate, char **ret_prm, error_info *err) {
    gate_context *g = opaque;
    kubemcp_config *cfg = g->cfg;
    const char *base = cfg->base_url ? cfg->base_url : url;
    size_t base_len = strlen(base);
    while (base_len > 0 && base[base_len - 1] == '/')
        base_len--;
    snprintf(g->resource, sizeof g->resource, "%.*s/mcp", (int)base_len, base);
    snprintf(g->resource_metadata_url, sizeof g->resource_metadata_url, "%.*s/.well-known/oauth-protected-resource",
             (int)base_len, base);
    bool oidc = cfg->oidc_issuer_url != NULL;
    gate_options go = {
        .require_token = cfg->require_oauth || oidc,
        .cluster_mode = cfg->cluster_auth_mode ? (strcmp(cfg->cluster_auth_mode, "passthrough") == 0
                                                     ? GATE_CLUSTER_PASSTHROUGH
                                                 : strcmp(cfg->cluster_auth_mode, "kubeconfig") == 0
                                                     ? GATE_CLUSTER_KUBECONFIG
                                                 : strcmp(cfg->cluster_auth_mode, "exchange") == 0
                                                     ? GATE_CLUSTER_EXCHANGE
                                                     : GATE_CLUSTER_IMPERSONATE)
                    /* An OAuth token's audience is this server, not the cluster: impersonate by default. */
                    : oidc ? GATE_CLUSTER_IMPERSONATE : GATE_CLUSTER_PASSTHROUGH,
        .tokenreview = g->reviews,
        .audit = g->audit,
        .allowed_api_servers = &cfg->allowed_api_servers,
        .provider = g->provider,
    };
    if (g->auth_headers && go.cluster_mode != GATE_CLUSTER_PASSTHROUGH)
        return error_set(err, EINVAL, "the auth-headers strategy keeps no credentials of its own, so "
                                      "cluster_auth_mode must be passthrough");
    if (oidc) {
        const char *audiences[3] = {g->resource, cfg->oidc_audience, NULL};
        size_t secret_len = 0;
        char *secret = NULL;
        if (cfg->oidc_hs256_secret_file &&
            !(secret = read_secret_file("oidc_hs256_secret_file", cfg->oidc_hs256_secret_file, &secret_len, err)))
            return -EINVAL;
        oidc_options oo = {
            .issuer = cfg->oidc_issuer_url,
            .audiences = audiences,
            .algorithms = cfg->oidc_signing_algorithms.count ? (const char *const *)cfg->oidc_signing_algorithms.items
                                                             : NULL,
            .allow_http = cfg->oidc_allow_http,
            .ca_file = cfg->oidc_ca_file,
            .clock_skew_seconds = cfg->oidc_clock_skew_seconds,
            .require_at_jwt_typ = cfg->oidc_require_at_jwt,
            .hs256_secret = (const unsigned char *)secret,
            .hs256_secret_len = secret_len,
            .username_claim = cfg->oidc_username_claim,
            .username_prefix = cfg->oidc_username_prefix,
            .groups_claim = cfg->oidc_groups_claim,
            .groups_prefix = cfg->oidc_groups_prefix,
        };
        int r = oidc_gate_new(&oo, g->oidc, err);
        if (secret) {
            memset(secret, 0, secret_len);
            free(secret);
        }
        if (r < 0)
            return r;
        go.oidc = *g->oidc;
        go.required_scopes = (const char *const *)cfg->oidc_scopes.items;
        go.resource_metadata_url = g->resource_metadata_url;
        go.read_scope = cfg->oidc_read_scope;
        go.write_scope = cfg->oidc_write_scope;
        for (size_t i = 0; i < cfg->oidc_tool_scopes.count; i++) {
            const char *entry = cfg->oidc_tool_scopes.items[i];
            const char *eq = strchr(entry, '=');
            bool known = false;
            for (size_t t = 0; eq && tool_catalog[t] && !known; t++)
                known = strlen(tool_catalog[t]->name) == (size_t)(eq - entry) &&
                        strncmp(tool_catalog[t]->name, entry, (size_t)(eq - entry)) == 0;
            if (!eq || !eq[1] || !known)
                return error_set(err, EINVAL,
                                 "oidc_tool_scopes entry \"%s\" must be TOOL=SCOPE with a known tool name "
                                 "(run `kubemcp tools`)",
                                 entry);
        }
        go.tool_scopes = (const char *const *)cfg->oidc_tool_scopes.items;
        if (go.cluster_mode == GATE_CLUSTER_EXCHANGE) {
            int xr = make_token_exchange(cfg, *g->oidc, g->exchange, err);
            if (xr < 0)
                return xr;
            go.exchange = *g->exchange;
        }
        if (!(*ret_prm = protected_resource_metadata(g)))
            return error_set(err, ENOMEM, "out of memory");
        log_info("OAuth resource %s, issuer %s", g->resource, cfg->oidc_issuer_url);
    }
    return gate_new(&go, ret_gate, err);
}

static int serve(kubemcp_config *cfg, int flag_argc, char **flag_argv) {
    bool http = wants_http(cfg);
    if (!http && cfg->cluster_provider_strategy && strcmp(cfg->cluster_provider_strategy, "auth-headers") == 0) {
        fprintf(stderr, "kubemcp: cluster_provider_strategy \"auth-headers\" takes each user's token from HTTP "
                        "headers, and stdio has none; use it with --port, or choose kubeconfig or in-cluster\n");
        return 2;
    }
    if (!http)
        warn_about_settings(cfg);
    bool auth_headers = cfg->cluster_provider_strategy && strcmp(cfg->cluster_provider_strategy, "auth-headers") == 0;
    if (auth_headers && !cfg->kubeconfig && !getenv("KUBECONFIG") && getenv("KUBERNETES_SERVICE_HOST")) {
        fprintf(stderr, "kubemcp: auth-headers ClusterProviderStrategy cannot be used in in-cluster deployments: "
                        "use in-cluster or disabled, or set --kubeconfig explicitly\n");
        return 2;
    }
    if (auth_headers && !cfg->require_oauth) {
        log_warn("auth-headers ClusterProviderStrategy requires OAuth authentication, enabling RequireOAuth");
        cfg->require_oauth = true;
    }

    sigset_t signals;
    if (block_signals(&signals) < 0) {
        fprintf(stderr, "kubemcp: cannot set up signal handling\n");
        return 1;
    }

    error_info err = {0}, provider_err = {0};
    kube_provider *provider = NULL;
    kube_provider_options po = {
        .kubeconfig_path = cfg->kubeconfig,
        .strategy = cfg->cluster_provider_strategy,
        .default_context = cfg->context,
        .single_context = cfg->disable_multi_cluster,
        .timeout_seconds = cfg->kube_timeout_seconds,
    };
    if (kube_provider_new(&po, &provider, &provider_err) < 0) {
        /* Stay up: the client sees this message on every tool call instead of a dead server. */
        log_error("Kubernetes is not reachable: %s", provider_err.message);
        provider = NULL;
    } else {
        log_info("using %s access, default context %s", kube_provider_strategy(provider),
                 kube_provider_default_context(provider) ? kube_provider_default_context(provider) : "(none)");
    }

    const char **contexts = context_names(provider, cfg);
    tool_registry *registry = NULL;
    tool_registry_options ro = {
        .catalog = tool_catalog,
        .config = cfg,
        .contexts = contexts,
        .default_context = provider ? kube_provider_default_context(provider) : NULL,
    };
    int exit_code = 1;
    mcp_server *server = NULL;
    stdio_transport *transport = NULL;
    audit_log *audit = NULL;
    tokenreview_cache *reviews = NULL;
    oidc_gate *oidc = NULL;
    token_exchange *exchange = NULL;
    as_metadata *issuer_metadata = NULL;
    if (tool_registry_new(&ro, &registry, &err) < 0) {
        fprintf(stderr, "kubemcp: %s\n", err.message);
        exit_code = 2;
        goto out;
    }

    /* Who is calling (HTTP): the gate, with an optional TokenReview cache and the audit log. */
    if (cfg->audit_log && audit_log_open(cfg->audit_log, &audit, &err) < 0) {
        fprintf(stderr, "kubemcp: %s\n", err.message);
        exit_code = 2;
        goto out;
    }
    if (http && cfg->validate_token) {
        kube_cluster *reviewer = NULL;
        if (!provider || kube_provider_cluster(provider, NULL, &reviewer, &err) < 0) {
            fprintf(stderr, "kubemcp: validate_token needs a cluster to send TokenReviews to: %s\n",
                    provider ? err.message : provider_err.message);
            exit_code = 2;
            goto out;
        }
        tokenreview_options to = {
            .cluster = reviewer,
            .audiences = (const char *const *)cfg->token_review_audiences.items,
            .positive_ttl_seconds = cfg->token_review_cache_ttl_seconds,
            .negative_ttl_seconds = cfg->token_review_negative_ttl_seconds,
        };
        if (tokenreview_cache_new(&to, &reviews) < 0) {
            fprintf(stderr, "kubemcp: out of memory\n");
            goto out;
        }
    }
    gate_context gctx = {.cfg = cfg, .provider = provider, .reviews = reviews, .audit = audit,
                         .auth_headers = auth_headers, .oidc = &oidc, .exchange = &exchange};
    mcp_server_options so = {
        .name = "kubemcp",
        .version = KUBEMCP_VERSION,
        .title = "kubemcp — Kubernetes as the human who asks",
        .instructions = cfg->server_instructions ? cfg->server_instructions : DEFAULT_INSTRUCTIONS,
        .config = cfg,
        .provider = provider,
        .provider_error = provider ? NULL : provider_err.message,
        .registry = registry,
        .prompts = kube_prompts,
        .audit = audit,
        .worker_threads = cfg->worker_threads > 0 ? (unsigned)cfg->worker_threads : 0,
    };
    int r = mcp_server_new(&so, &server);
    if (r < 0) {
        fprintf(stderr, "kubemcp: cannot start the MCP server: %s\n", strerror(-r));
        goto out;
    }
    if (http && cfg->oidc_issuer_url) {
        /* The issuer's metadata again at our origin, for clients that look for it there. Its
         * scopes_supported becomes ours, as in the Protected Resource Metadata. */
        const char **scopes = advertised_scopes(cfg);
        as_metadata_options ao = {
            .policy = {.issuer = cfg->oidc_issuer_url, .allow_http = cfg->oidc_allow_http, .scopes = scopes},
            .http = {.ca_file = cfg->oidc_ca_file, .allow_http = cfg->oidc_allow_http},
        };
        r = scopes ? as_metadata_new(&ao, &issuer_metadata, &err) : error_set(&err, ENOMEM, "out of memory");
        free(scopes);
        if (r < 0) {
            fprintf(stderr, "kubemcp: %s\n", err.message);
            exit_code = 2;
            goto out;
        }
    }
    if (http) {
        metrics *m = metrics_new();
        http_server *hs = NULL;
        http_server_options ho = {
            .mcp = server,
            .config = cfg,
            .provider = provider,
            .provider_error = provider ? NULL : provider_err.message,
            .registry = registry,
            .metrics = m,
            .on_bound = make_gate,
            .on_bound_opaque = &gctx,
            .as_metadata = issuer_metadata,
        };
        if (!m || http_server_start(&ho, &hs, &err) < 0) {
            fprintf(stderr, "kubemcp: %s\n", m ? err.message : "out of memory");
            metrics_free(m);
            exit_code = 2;
            goto out;
        }
        /* Tests and scripts read this line to learn the port when --port 0 was given. */
        fprintf(stderr, "kubemcp listening on %s\n", http_server_url(hs));
        fflush(stderr);
        log_info("kubemcp %s serving MCP on %s/mcp (legacy SSE on /sse)", KUBEMCP_VERSION, http_server_url(hs));
        for (;;) {
            int sig = 0;
            if (sigwait(&signals, &sig) != 0)
                continue;
            if (sig == SIGHUP) {
                reload(flag_argc, flag_argv, cfg, hs);
                continue;
            }
            if (sig == SIGUSR1)
                continue;
            log_info("%s; no new connections, finishing tool calls in progress", strsignal(sig));
            break;
        }
        /* Stop accepting, let running calls answer (their connections are resumed with the
         * result), then end the streams and stop. */
        http_server_quiesce(hs);
        mcp_server_drain(server);
        hs = http_server_stop(hs);
        metrics_free(m);
        exit_code = 0;
        goto out;
    }

    stdio_transport_options to = {
        .in_fd = STDIN_FILENO,
        .out_fd = STDOUT_FILENO,
        .max_line_bytes = cfg->max_message_bytes,
        .on_eof = on_input_end,
    };
    r = stdio_transport_start(server, &to, &transport);
    if (r < 0) {
        fprintf(stderr, "kubemcp: cannot start the stdio transport: %s\n", strerror(-r));
        goto out;
    }
    log_info("kubemcp %s serving MCP on stdio", KUBEMCP_VERSION);

    for (;;) {
        int sig = 0;
        if (sigwait(&signals, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            reload(flag_argc, flag_argv, cfg, NULL);
            continue;
        }
        log_info("%s; finishing tool calls in progress", sig == SIGUSR1 ? "input closed" : strsignal(sig));
        break;
    }
    /* Let running calls answer, then stop reading and release everything. */
    mcp_server_drain(server);
    stdio_transport_stop(transport);
    exit_code = 0;
out:
    server = mcp_server_free(server);
    transport = stdio_transport_free(transport);
    tokenreview_cache_free(reviews);
    token_exchange_free(exchange);
    oidc_gate_free(oidc);
    as_metadata_free(issuer_metadata);
    audit_log_close(audit);
    tool_registry_free(registry);
    free(contexts);
    kube_provider_free(provider);
    return exit_code;
}

int main(int argc, char **argv) {
    const char *command = "serve";
    int first = 1;
    if (argc > 1 && argv[1][0] != '-') {
        command = argv[1];
        first = 2;
    }
    if (strcmp(command, "version") == 0 || (argc > 1 && strcmp(argv[1], "--version") == 0)) {
        printf("kubemcp %s\n", KUBEMCP_VERSION);
        return 0;
    }
    if (strcmp(command, "token") == 0) {
        if (argc < 3 || strcmp(argv[2], "create") != 0) {
            fprintf(stderr, "kubemcp: usage: kubemcp token create SERVICEACCOUNT [-n NAMESPACE] [--duration 1h] "
                            "[--audience AUD]... [-o json]\n");
            return 2;
        }
        /* token_create_command sees the program name followed by what comes after `token create`. */
        argv[2] = argv[0];
        return token_create_command(argc - 2, argv + 2, environ);
    }
    bool config_check = false;
    if (strcmp(command, "config") == 0) {
        if (argc < 3 || strcmp(argv[2], "check") != 0) {
            fprintf(stderr, "kubemcp: usage: kubemcp config check [--config FILE] [flags]\n");
            return 2;
        }
        config_check = true;
        first = 3;
    } else if (strcmp(command, "serve") != 0 && strcmp(command, "tools") != 0) {
        fprintf(stderr, "kubemcp: unknown command \"%s\"; commands: serve (default), tools, token create, config check, version\n",
                command);
        return 2;
    }

    /* config_load sees the program name followed by the flags only. */
    int flag_argc = argc - first + 1;
    char **flag_argv = calloc((size_t)flag_argc + 1, sizeof *flag_argv);
    if (!flag_argv)
        return 1;
    flag_argv[0] = argv[0];
    for (int i = first; i < argc; i++)
        flag_argv[i - first + 1] = argv[i];

    kubemcp_config *cfg = NULL;
    error_info err = {0};
    int r = config_load(flag_argc, flag_argv, environ, &cfg, &err);
    if (r < 0) {
        fprintf(stderr, "kubemcp: %s\n", err.message);
        free(flag_argv);
        return 2;
    }
    if (cfg->show_help) {
        config_print_usage(stdout, argv[0]);
        config_free(cfg);
        free(flag_argv);
        return 0;
    }
    if (log_open(cfg->log_file, cfg->log_level) < 0) {
        fprintf(stderr, "kubemcp: cannot open log file %s: %s\n", cfg->log_file, strerror(errno));
        config_free(cfg);
        free(flag_argv);
        return 2;
    }

    for (size_t i = 0; i < cfg->warnings.count; i++)
        log_warn("%s", cfg->warnings.items[i]);

    int exit_code;
    if (config_check) {
        printf("configuration is valid%s%s\n", cfg->config_path ? ": " : "", cfg->config_path ? cfg->config_path : "");
        exit_code = 0;
    } else if (strcmp(command, "tools") == 0) {
        exit_code = print_tools(cfg);
    } else {
        exit_code = serve(cfg, flag_argc, flag_argv);
    }
    free(flag_argv);
    config_free(cfg);
    log_close();
    return exit_code;
}
