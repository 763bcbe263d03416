/* Which clusters exist and how to build one: the strategies kubeconfig | in-cluster |
 * auth-headers | disabled. Clusters are built on first use so one broken context does not stop
 * the others; the default context is checked at start so a broken setup fails early. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "core/buf.h"
#include "kube/incluster.h"
#include "kube/kube.h"
#include "kube/kube_internal.h"
#include "kube/kubeconfig.h"

#define INCLUSTER_CONTEXT "in-cluster"
#define PEM_FILE_MAX (1024u * 1024u)

/* A cluster a request named by header: kept for reuse (connections, discovery), keyed by server URL
 * and the SHA-256 of its CA. */
struct header_cluster {
    struct header_cluster *next;
    char *server;
    unsigned char ca_digest[32];
    kube_cluster *cluster;
};

/* At most this many distinct (server, CA) pairs are kept; allowed_api_servers bounds the servers,
 * this bounds the CA variants a caller could make us build. */
#define KUBE_HEADER_CLUSTERS_MAX 64

struct kube_provider {
    char strategy[16];
    kubeconfig *kc;      /* kubeconfig and auth-headers */
    kube_incluster ic;   /* in-cluster */
    char **contexts;     /* exposed context names */
    size_t n_contexts;
    char *default_context;
    kube_cluster **clusters; /* parallel to contexts, built lazily */
    struct header_cluster *header_clusters; /* chosen per request by header (allowed_api_servers) */
    size_t n_header_clusters;
    pthread_mutex_t lock;
    long timeout_seconds;
    bool strip_credentials;
    bool single_context;
};

static const char *opt_getenv(const kube_provider_options *opts, const char *name) {
    if (!opts->env)
        return getenv(name);
    size_t nl = strlen(name);
    for (size_t i = 0; opts->env[i]; i++)
        if (strncmp(opts->env[i], name, nl) == 0 && opts->env[i][nl] == '=')
            return opts->env[i] + nl + 1;
    return NULL;
}

static const char *incluster_getenv(const char *name, void *ctx) {
    return opt_getenv(ctx, name);
}

kube_provider *kube_provider_free(kube_provider *p) {
    if (!p)
        return NULL;
    for (size_t i = 0; i < p->n_contexts; i++) {
        if (p->clusters)
            kube_cluster_free(p->clusters[i]);
        free(p->contexts[i]);
    }
    free(p->clusters);
    while (p->header_clusters) {
        struct header_cluster *h = p->header_clusters;
        p->header_clusters = h->next;
        kube_cluster_free(h->cluster);
        free(h->server);
        free(h);
    }
    free(p->contexts);
    free(p->default_context);
    kubeconfig_free(p->kc);
    kube_incluster_clear(&p->ic);
    pthread_mutex_destroy(&p->lock);
    free(p);
    return NULL;
}

static int add_context(kube_provider *p, const char *name) {
    char **arr = realloc(p->contexts, (p->n_contexts + 1) * sizeof *arr);
    if (!arr)
        return -ENOMEM;
    p->contexts = arr;
    if (!(arr[p->n_contexts] = strdup(name)))
        return -ENOMEM;
    p->n_contexts++;
    return 0;
}

static void known_contexts(const kube_provider *p, char *out, size_t len) {
    buf b;
    buf_init(&b, len - 1);
    for (size_t i = 0; i < p->n_contexts; i++)
        if (buf_printf(&b, "%s\"%s\"", i ? ", " : "", p->contexts[i]) < 0)
            break;
    snprintf(out, len, "%s", b.data ? b.data : "none");
    buf_free(&b);
}

static int load_kubeconfig(const kube_provider_options *opts, kubeconfig **ret, error_info *err) {
    if (opts->kubeconfig_path && *opts->kubeconfig_path)
        return kubeconfig_load_file(opts->kubeconfig_path, ret, err);
    const char *list = opt_getenv(opts, "KUBECONFIG");
    if (list && *list)
        return kubeconfig_load_list(list, ret, err);
    const char *home = opt_getenv(opts, "HOME");
    if (!home || !*home)
        return error_set(err, ENOENT, "no kubeconfig found: set --kubeconfig or KUBECONFIG, or create ~/.kube/config");
    char path[4096];
    snprintf(path, sizeof path, "%s/.kube/config", home);
    if (access(path, F_OK) < 0)
        return error_set(err, ENOENT, "no kubeconfig found: set --kubeconfig or KUBECONFIG, or create ~/.kube/config");
    return kubeconfig_load_file(path, ret, err);
}

static bool kubeconfig_present(const kube_provider_options *opts) {
    if (opts->kubeconfig_path && *opts->kubeconfig_path)
        return true;
    const char *list = opt_getenv(opts, "KUBECONFIG");
    if (list && *list)
        return true;
    const char *home = opt_getenv(opts, "HOME");
    if (!home || !*home)
        return false;
    char path[4096];
    snprintf(path, sizeof path, "%s/.kube/config", home);
    return access(path, F_OK) == 0;
}

/* Reads PEM material given inline (already decoded) or as a file. */
static int pem_material(const unsigned char *data, size_t data_len, const char *file, const char *what, char **ret,
                        size_t *ret_len, error_info *err) {
    if (data) {
        char *copy = malloc(data_len + 1);
        if (!copy)
            return -ENOMEM;
        memcpy(copy, data, data_len);
        copy[data_len] = '\0';
        *ret = copy;
        *ret_len = data_len;
        return 0;
    }
    if (file)
        return kube_read_file(file, PEM_FILE_MAX, what, ret, ret_len, err);
    *ret = NULL;
    *ret_len = 0;
    return 0;
}

static void pem_free(char *p, size_t len) {
    if (p) {
        explicit_bzero(p, len);
        free(p);
    }
}

static int build_kubeconfig_cluster(kube_provider *p, const char *name, kube_cluster **ret, error_info *err) {
    int r = kubeconfig_check_context(p->kc, name, err);
    if (r < 0)
        return r;
    const kc_context *ctx = kubeconfig_context(p->kc, name);
    const kc_cluster *cl = kubeconfig_cluster(p->kc, ctx->cluster);
    const kc_user *u = p->strip_credentials ? NULL : kubeconfig_user(p->kc, ctx->user);
    kube_cluster_config cfg = {
        .name = name,
        .server = cl->server,
        .namespace_name = ctx->namespace_name,
        .insecure_skip_tls_verify = cl->insecure_skip_tls_verify,
        .tls_server_name = cl->tls_server_name,
        .proxy_url = cl->proxy_url,
        .require_bearer = p->strip_credentials,
        .timeout_seconds = p->timeout_seconds,
    };
    char *ca = NULL, *cert = NULL, *key = NULL;
    size_t ca_len = 0, cert_len = 0, key_len = 0;
    if ((r = pem_material(cl->ca_data, cl->ca_data_len, cl->ca_file, "certificate-authority", &ca, &ca_len, err)) < 0)
        goto out;
    if (u) {
        if (u->auth_provider && !u->token && !u->exec) {
            r = error_set(err, ENOTSUP,
                          "user \"%s\" in kubeconfig %s uses the auth-provider \"%s\", which kubemcp does not support: "
                          "switch to an exec credential plugin (e.g. kubelogin: `kubelogin convert-kubeconfig`)",
                          u->name, u->source, u->auth_provider);
            goto out;
        }
        if ((r = pem_material(u->cert_data, u->cert_data_len, u->cert_file, "client-certificate", &cert, &cert_len, err)) < 0 ||
            (r = pem_material(u->key_data, u->key_data_len, u->key_file, "client-key", &key, &key_len, err)) < 0)
            goto out;
        if (!cert != !key) {
            r = error_set(err, EINVAL,
                          "user \"%s\" in kubeconfig %s has a client %s but no client %s: give both (or neither)", u->name,
                          u->source, cert ? "certificate" : "key", cert ? "key" : "certificate");
            goto out;
        }
        cfg.token = u->token;
        cfg.token_file = u->token_file;
        cfg.exec = u->exec;
        cfg.username = u->username;
        cfg.password = u->password;
        cfg.cert_pem = cert;
        cfg.cert_len = cert_len;
        cfg.key_pem = key;
        cfg.key_len = key_len;
    }
    cfg.ca_pem = ca;
    cfg.ca_len = ca_len;
    r = kube_cluster_new(&cfg, ret, err);
    if (r < 0 && r != -ENOMEM)
        error_prefix(err, "context \"%s\"", name);
out:
    free(ca);
    free(cert);
    pem_free(key, key_len);
    return r;
}

static int build_incluster_cluster(kube_provider *p, kube_cluster **ret, error_info *err) {
    kube_cluster_config cfg = {
        .name = INCLUSTER_CONTEXT,
        .server = p->ic.server,
        .namespace_name = p->ic.namespace_name,
        .ca_pem = p->ic.ca_pem,
        .ca_len = p->ic.ca_len,
        .token_file = p->ic.token_path,
        .timeout_seconds = p->timeout_seconds,
    };
    return kube_cluster_new(&cfg, ret, err);
}

static int build_cluster(kube_provider *p, size_t i, error_info *err) {
    if (p->clusters[i])
        return 0;
    if (p->kc)
        return build_kubeconfig_cluster(p, p->contexts[i], &p->clusters[i], err);
    return build_incluster_cluster(p, &p->clusters[i], err);
}

static int setup_kubeconfig(kube_provider *p, const kube_provider_options *opts, error_info *err) {
    int r = load_kubeconfig(opts, &p->kc, err);
    if (r < 0)
        return r;
    if (p->kc->n_contexts == 0)
        return error_set(err, ENOENT, "kubeconfig %s defines no contexts: add one (e.g. `kubectl config set-context`)",
                         p->kc->files);
    const char *def = opts->default_context && *opts->default_context ? opts->default_context : p->kc->current_context;
    if (!def && p->kc->n_contexts == 1)
        def = p->kc->contexts[0].name;
    if (!def)
        return error_set(err, EINVAL,
                         "kubeconfig %s sets no current-context: run `kubectl config use-context NAME` or pass --context",
                         p->kc->files);
    if (!kubeconfig_context(p->kc, def)) {
        for (size_t i = 0; i < p->kc->n_contexts; i++)
            if ((r = add_context(p, p->kc->contexts[i].name)) < 0)
                return r;
        char known[512];
        known_contexts(p, known, sizeof known);
        return error_set(err, ENOENT, "context \"%s\" does not exist in kubeconfig %s; known contexts: %s", def,
                         p->kc->files, known);
    }
    if (!(p->default_context = strdup(def)))
        return -ENOMEM;
    if (p->single_context)
        return add_context(p, def);
    for (size_t i = 0; i < p->kc->n_contexts; i++)
        if ((r = add_context(p, p->kc->contexts[i].name)) < 0)
            return r;
    return 0;
}

int kube_provider_new(const kube_provider_options *opts, kube_provider **ret, error_info *err) {
    kube_provider_options none = {0};
    if (!opts)
        opts = &none;
    kube_provider *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    pthread_mutex_init(&p->lock, NULL);
    p->timeout_seconds = opts->timeout_seconds > 0 ? opts->timeout_seconds : 30;
    p->single_context = opts->single_context;
    const char *strategy = opts->strategy;
    int r;
    if (!strategy || !*strategy) {
        if (kubeconfig_present(opts))
            strategy = "kubeconfig";
        else if (opt_getenv(opts, "KUBERNETES_SERVICE_HOST") && *opt_getenv(opts, "KUBERNETES_SERVICE_HOST"))
            strategy = "in-cluster";
        else {
            r = error_set(err, ENOENT, "no kubeconfig found: set --kubeconfig or KUBECONFIG, or create ~/.kube/config");
            goto fail;
        }
    }
    if (strcmp(strategy, "kubeconfig") == 0 || strcmp(strategy, "auth-headers") == 0) {
        p->strip_credentials = strcmp(strategy, "auth-headers") == 0;
        if ((r = setup_kubeconfig(p, opts, err)) < 0)
            goto fail;
    } else if (strcmp(strategy, "in-cluster") == 0) {
        if ((r = kube_incluster_load(opts->incluster_dir, incluster_getenv, (void *)opts, &p->ic, err)) < 0)
            goto fail;
        if ((r = add_context(p, INCLUSTER_CONTEXT)) < 0 || !(p->default_context = strdup(INCLUSTER_CONTEXT))) {
            r = -ENOMEM;
            goto fail;
        }
    } else if (strcmp(strategy, "disabled") != 0) {
        r = error_set(err, EINVAL,
                      "unknown cluster provider strategy \"%s\": use kubeconfig, in-cluster, auth-headers or disabled",
                      strategy);
        goto fail;
    }
    snprintf(p->strategy, sizeof p->strategy, "%s", strategy);
    if (p->n_contexts) {
        if (!(p->clusters = calloc(p->n_contexts, sizeof *p->clusters))) {
            r = -ENOMEM;
            goto fail;
        }
        for (size_t i = 0; i < p->n_contexts; i++)
            if (strcmp(p->contexts[i], p->default_context) == 0 && (r = build_cluster(p, i, err)) < 0)
                goto fail;
    }
    *ret = p;
    return 0;
fail:
    kube_provider_free(p);
    return r;
}

const char *kube_provider_strategy(const kube_provider *p) {
    return p->strategy;
}

size_t kube_provider_context_count(const kube_provider *p) {
    return p->n_contexts;
}

const char *kube_provider_context_name(const kube_provider *p, size_t i) {
    return i < p->n_contexts ? p->contexts[i] : NULL;
}

const char *kube_provider_default_context(const kube_provider *p) {
    return p->default_context;
}

static ssize_t context_index(const kube_provider *p, const char *name) {
    for (size_t i = 0; i < p->n_contexts; i++)
        if (strcmp(p->contexts[i], name) == 0)
            return (ssize_t)i;
    return -1;
}

char *kube_provider_context_server(const kube_provider *p, const char *context) {
    if (!context)
        context = p->default_context;
    if (!context || context_index(p, context) < 0)
        return NULL;
    if (!p->kc)
        return kubeconfig_redact_url(p->ic.server);
    const kc_context *ctx = kubeconfig_context(p->kc, context);
    const kc_cluster *cl = ctx ? kubeconfig_cluster(p->kc, ctx->cluster) : NULL;
    /* A server URL may carry user:password@; a listing must not show it. */
    return cl ? kubeconfig_redact_url(cl->server) : NULL;
}

int kube_provider_cluster(kube_provider *p, const char *context, kube_cluster **ret, error_info *err) {
    if (strcmp(p->strategy, "disabled") == 0)
        return error_set(err, EPERM,
                         "Kubernetes access is disabled (cluster provider strategy \"disabled\"): enable a kubeconfig or "
                         "in-cluster strategy to use Kubernetes tools");
    const char *name = context && *context ? context : p->default_context;
    ssize_t i = context_index(p, name);
    if (i < 0) {
        char known[512];
        known_contexts(p, known, sizeof known);
        return error_set(err, ENOENT, "context \"%s\" not found; known contexts: %s", name, known);
    }
    pthread_mutex_lock(&p->lock);
    int r = build_cluster(p, (size_t)i, err);
    kube_cluster *c = p->clusters[i];
    pthread_mutex_unlock(&p->lock);
    if (r < 0)
        return r;
    *ret = c;
    return 0;
}

json_t *kube_provider_kubeconfig_view(kube_provider *p, const char *context, bool minify, error_info *err) {
    if (strcmp(p->strategy, "disabled") == 0) {
        error_set(err, EPERM, "Kubernetes access is disabled (cluster provider strategy \"disabled\"): there is no "
                              "kubeconfig to show");
        return NULL;
    }
    if (context && context_index(p, context) < 0) {
        char known[512];
        known_contexts(p, known, sizeof known);
        error_set(err, ENOENT, "context \"%s\" not found; known contexts: %s", context, known);
        return NULL;
    }
    if (p->kc) {
        /* with a single exposed context, the others stay hidden */
        if (p->single_context)
            return kubeconfig_view(p->kc, context ? context : p->default_context, true, err);
        return kubeconfig_view(p->kc, context ? context : (minify ? p->default_context : NULL), minify, err);
    }
    json_t *root = json_pack("{s:s, s:s, s:[{s:s, s:{s:s, s:s}}], s:[{s:s, s:{s:s, s:s, s:s}}], s:s, s:{}, "
                             "s:[{s:s, s:{s:s}}]}",
                             "apiVersion", "v1", "kind", "Config", "clusters", "name", INCLUSTER_CONTEXT, "cluster",
                             "server", p->ic.server, "certificate-authority-data", "DATA+OMITTED", "contexts", "name",
                             INCLUSTER_CONTEXT, "context", "cluster", INCLUSTER_CONTEXT, "user", INCLUSTER_CONTEXT,
                             "namespace", p->ic.namespace_name, "current-context", INCLUSTER_CONTEXT, "preferences",
                             "users", "name", INCLUSTER_CONTEXT, "user", "tokenFile", p->ic.token_path);
    if (!root)
        error_set(err, ENOMEM, "out of memory rendering the kubeconfig");
    return root;
}

int kube_provider_cluster_for_server(kube_provider *p, const char *server, const char *ca_pem, size_t ca_len,
                                     kube_cluster **ret, error_info *err) {
    if (!server || !*server)
        return error_set(err, EINVAL, "no API server URL given");
    unsigned char digest[32] = {0};
    if (ca_pem && ca_len)
        SHA256((const unsigned char *)ca_pem, ca_len, digest);
    pthread_mutex_lock(&p->lock);
    int r = 0;
    for (struct header_cluster *h = p->header_clusters; h; h = h->next) {
        if (strcmp(h->server, server) == 0 && memcmp(h->ca_digest, digest, sizeof digest) == 0) {
            *ret = h->cluster;
            goto out;
        }
    }
    if (p->n_header_clusters >= KUBE_HEADER_CLUSTERS_MAX) {
        r = error_set(err, EMFILE,
                      "too many different API servers and certificate authorities requested by header (%d); "
                      "restart kubemcp or use fewer distinct kubernetes-certificate-authority-data values",
                      KUBE_HEADER_CLUSTERS_MAX);
        goto out;
    }
    struct header_cluster *h = calloc(1, sizeof *h);
    if (!h || !(h->server = strdup(server))) {
        free(h);
        r = error_set(err, ENOMEM, "out of memory");
        goto out;
    }
    memcpy(h->ca_digest, digest, sizeof digest);
    /* No credentials of its own: every request to it must bring the caller's bearer token. */
    kube_cluster_config cfg = {
        .name = server,
        .server = server,
        .ca_pem = ca_len ? ca_pem : NULL,
        .ca_len = ca_len,
        .require_bearer = true,
        .timeout_seconds = p->timeout_seconds,
    };
    r = kube_cluster_new(&cfg, &h->cluster, err);
    if (r < 0) {
        free(h->server);
        free(h);
        goto out;
    }
    h->next = p->header_clusters;
    p->header_clusters = h;
    p->n_header_clusters++;
    *ret = h->cluster;
out:
    pthread_mutex_unlock(&p->lock);
    return r;
}
