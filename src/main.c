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
#include "gate/audit.h"
#include "gate/authenticate.h"
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
    gate *http_gate = NULL;
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
    if (http) {
        gate_options go = {
            .require_token = cfg->require_oauth,
            .cluster_mode = !cfg->cluster_auth_mode || strcmp(cfg->cluster_auth_mode, "passthrough") == 0
                                ? GATE_CLUSTER_PASSTHROUGH
                            : strcmp(cfg->cluster_auth_mode, "kubeconfig") == 0 ? GATE_CLUSTER_KUBECONFIG
                                                                                 : GATE_CLUSTER_IMPERSONATE,
            .tokenreview = reviews,
            .audit = audit,
            .allowed_api_servers = &cfg->allowed_api_servers,
            .provider = provider,
        };
        if (auth_headers && go.cluster_mode != GATE_CLUSTER_PASSTHROUGH) {
            fprintf(stderr, "kubemcp: the auth-headers strategy keeps no credentials of its own, so "
                            "cluster_auth_mode must be passthrough\n");
            exit_code = 2;
            goto out;
        }
        if (gate_new(&go, &http_gate, &err) < 0) {
            fprintf(stderr, "kubemcp: %s\n", err.message);
            exit_code = 2;
            goto out;
        }
    }

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
            .gate = http_gate,
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
    gate_free(http_gate);
    tokenreview_cache_free(reviews);
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
