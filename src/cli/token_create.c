#include "cli/token_create.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/duration.h"
#include "kube/kube.h"
#include "kube/tokenrequest.h"

#define TOKEN_CLI_MAX_AUDIENCES 16

static void usage(FILE *out) {
    fprintf(out, "usage: kubemcp token create SERVICEACCOUNT [-n NAMESPACE] [--duration 1h] [--audience AUD]... "
                 "[-o text|json]\n"
                 "                             [--kubeconfig FILE] [--context NAME] [--config FILE]\n"
                 "Mints a service-account token with the TokenRequest API, using your kubeconfig's credentials.\n");
}

/* The value of "--flag value" / "--flag=value" / "-f value" at argv[*i], advancing *i; NULL when
 * argv[*i] is not this flag. *ret_missing is set when the flag has no value. */
static const char *flag_value(int argc, char **argv, int *i, const char *long_name, const char *short_name,
                              bool *ret_missing) {
    const char *arg = argv[*i];
    size_t n = strlen(long_name);
    if (strncmp(arg, long_name, n) == 0 && arg[n] == '=')
        return arg + n + 1;
    if (strcmp(arg, long_name) == 0 || (short_name && strcmp(arg, short_name) == 0)) {
        if (*i + 1 >= argc) {
            *ret_missing = true;
            return NULL;
        }
        return argv[++*i];
    }
    return NULL;
}

int token_create_command(int argc, char **argv, char **envp) {
    const char *service_account = NULL, *namespace_name = NULL, *duration = NULL, *output = "text";
    const char *audiences[TOKEN_CLI_MAX_AUDIENCES + 1] = {0};
    size_t audience_count = 0;
    /* Flags that are not ours (--kubeconfig, --context, --config…) go to the configuration loader. */
    char **passthrough = calloc((size_t)argc + 1, sizeof *passthrough);
    if (!passthrough)
        return 1;
    int pass_count = 0;
    passthrough[pass_count++] = argv[0];
    int code = 2;
    /* The service account comes first, as in `kubectl create token NAME`, so that the remaining
     * flags and their values can go to the configuration loader untouched. */
    int i = 1;
    if (argc > 1 && argv[1][0] != '-')
        service_account = argv[i++];
    for (; i < argc; i++) {
        bool missing = false;
        const char *v;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            code = 0;
            goto out;
        } else if ((v = flag_value(argc, argv, &i, "--namespace", "-n", &missing))) {
            namespace_name = v;
        } else if ((v = flag_value(argc, argv, &i, "--duration", NULL, &missing))) {
            duration = v;
        } else if ((v = flag_value(argc, argv, &i, "--audience", NULL, &missing))) {
            if (audience_count == TOKEN_CLI_MAX_AUDIENCES) {
                fprintf(stderr, "kubemcp: at most %d --audience flags\n", TOKEN_CLI_MAX_AUDIENCES);
                goto out;
            }
            audiences[audience_count++] = v;
        } else if ((v = flag_value(argc, argv, &i, "--output", "-o", &missing))) {
            output = v;
        } else if (missing) {
            fprintf(stderr, "kubemcp: %s needs a value\n", argv[i]);
            goto out;
        } else {
            passthrough[pass_count++] = argv[i];
        }
    }
    if (!service_account) {
        fprintf(stderr, "kubemcp: name the service account first: kubemcp token create SERVICEACCOUNT [flags]\n");
        usage(stderr);
        goto out;
    }
    if (strcmp(output, "text") != 0 && strcmp(output, "json") != 0) {
        fprintf(stderr, "kubemcp: -o must be text or json, not \"%s\"\n", output);
        goto out;
    }
    error_info err = {0};
    long long seconds = 0;
    if (duration && duration_parse_seconds(duration, &seconds, &err) < 0) {
        fprintf(stderr, "kubemcp: %s\n", err.message);
        goto out;
    }

    kubemcp_config *cfg = NULL;
    if (config_load(pass_count, passthrough, envp, &cfg, &err) < 0) {
        fprintf(stderr, "kubemcp: %s\n", err.message);
        goto out;
    }
    code = 1;
    kube_provider *provider = NULL;
    kube_provider_options po = {.kubeconfig_path = cfg->kubeconfig, .strategy = cfg->cluster_provider_strategy,
                                .default_context = cfg->context, .timeout_seconds = cfg->kube_timeout_seconds};
    kube_cluster *cluster = NULL;
    token_grant grant = {0};
    token_request req = {.namespace_name = namespace_name, .service_account = service_account,
                         .expiration_seconds = seconds, .audiences = audiences};
    if (kube_provider_new(&po, &provider, &err) < 0 || kube_provider_cluster(provider, NULL, &cluster, &err) < 0 ||
        token_request_create(cluster, &req, &grant, &err) < 0) {
        fprintf(stderr, "kubemcp: %s\n", err.message);
    } else {
        if (strcmp(output, "json") == 0) {
            json_t *out = json_pack("{s:s, s:s, s:s, s:s}", "token", grant.token, "expirationTimestamp",
                                    grant.expiration_timestamp, "serviceAccount", service_account, "namespace",
                                    namespace_name ? namespace_name : kube_cluster_default_namespace(cluster));
            json_dumpf(out, stdout, JSON_INDENT(2));
            fputc('\n', stdout);
            json_decref(out);
        } else {
            printf("%s\n", grant.token);
        }
        code = fflush(stdout) == 0 ? 0 : 1;
    }
    token_grant_clear(&grant);
    kube_provider_free(provider);
    config_free(cfg);
out:
    free(passthrough);
    return code;
}
