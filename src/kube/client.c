/* One REST call to a cluster: pooled libcurl easy handles, TLS material from memory, and the
 * credential chosen per request. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/base64.h"
#include "core/json_error.h"
#include "core/json_fast.h"
#include "core/buf.h"
#include "kube/curl_common.h"
#include "kube/exec_credential.h"
#include "kube/incluster.h"
#include "kube/kube_internal.h"

#ifndef KUBEMCP_VERSION
#define KUBEMCP_VERSION "0"
#endif

#define KUBE_DEFAULT_MAX_RESPONSE (16u * 1024u * 1024u)
#define KUBE_CONNECT_TIMEOUT_S 10L
#define KUBE_POOL_MAX 8

/* Two pools: handles whose connections were opened while presenting the cluster's client
 * certificate, and handles that never presented one. A TLS connection authenticated with a
 * certificate must never carry another caller's request, so the two never mix. */
enum { POOL_PLAIN, POOL_CERT, POOL_COUNT };

struct kube_cluster {
    char *name;
    char *server;
    char *url_base; /* server, with the host swapped for tls-server-name when one is set */
    char *namespace_name;
    char *ca_pem;
    size_t ca_len;
    bool insecure;
    char *proxy_url;
    char *connect_to;  /* "tlsname:port:host:port" when tls-server-name is set */
    char *host_header; /* "Host: host:port" to keep the real host in the request */
    char *token;
    kube_token_file *token_file;
    exec_credential *exec;
    char *cert_pem;
    size_t cert_len;
    char *key_pem;
    size_t key_len;
    char *basic_header;
    bool require_bearer;
    long timeout_seconds;

    pthread_mutex_t pool_lock;
    CURL *pool[POOL_COUNT][KUBE_POOL_MAX];
    size_t pool_n[POOL_COUNT];

    kube_discovery *discovery;
};

static void secret_free(char *s, size_t len) {
    if (s) {
        explicit_bzero(s, len);
        free(s);
    }
}

kube_cluster *kube_cluster_free(kube_cluster *c) {
    if (!c)
        return NULL;
    for (int p = 0; p < POOL_COUNT; p++)
        for (size_t i = 0; i < c->pool_n[p]; i++)
            curl_easy_cleanup(c->pool[p][i]);
    pthread_mutex_destroy(&c->pool_lock);
    free(c->name);
    free(c->server);
    free(c->url_base);
    free(c->namespace_name);
    free(c->ca_pem);
    free(c->proxy_url);
    free(c->connect_to);
    free(c->host_header);
    secret_free(c->token, c->token ? strlen(c->token) : 0);
    kube_token_file_free(c->token_file);
    exec_credential_free(c->exec);
    free(c->cert_pem);
    secret_free(c->key_pem, c->key_len);
    secret_free(c->basic_header, c->basic_header ? strlen(c->basic_header) : 0);
    kube_discovery_free(c->discovery);
    free(c);
    return NULL;
}

static char *memdup0(const char *p, size_t len) {
    char *d = malloc(len + 1);
    if (d) {
        memcpy(d, p, len);
        d[len] = '\0';
    }
    return d;
}

/* tls-server-name: libcurl takes SNI and the name to verify from the URL host, so the URL names
 * tls-server-name and CONNECT_TO sends the connection to the real host. */
static int setup_tls_server_name(kube_cluster *c, const char *tls_server_name, error_info *err) {
    CURLU *u = curl_url();
    if (!u)
        return -ENOMEM;
    char *scheme = NULL, *host = NULL, *port = NULL;
    int r = 0;
    if (curl_url_set(u, CURLUPART_URL, c->server, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
        r = error_set(err, EINVAL, "the server URL \"%s\" of context \"%s\" is not a valid URL (expected https://HOST:PORT)",
                      c->server, c->name);
        goto out;
    }
    if (curl_url_set(u, CURLUPART_HOST, tls_server_name, 0) != CURLUE_OK) {
        r = error_set(err, EINVAL, "tls-server-name \"%s\" of context \"%s\" is not a valid host name", tls_server_name,
                      c->name);
        goto out;
    }
    curl_url_set(u, CURLUPART_PORT, port, 0);
    char *url = NULL;
    if (curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK) {
        r = -ENOMEM;
        goto out;
    }
    free(c->url_base);
    c->url_base = strdup(url);
    curl_free(url);
    if (!c->url_base || asprintf(&c->connect_to, "%s:%s:%s:%s", tls_server_name, port, host, port) < 0 ||
        asprintf(&c->host_header, "Host: %s:%s", host, port) < 0) {
        c->connect_to = c->host_header = NULL;
        r = -ENOMEM;
    }
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return r;
}

int kube_cluster_new(const kube_cluster_config *cfg, kube_cluster **ret, error_info *err) {
    if (!cfg->server || !*cfg->server)
        return error_set(err, EINVAL, "context \"%s\" has no server URL: set clusters[].cluster.server in your kubeconfig",
                         cfg->name ? cfg->name : "");
    if (strncmp(cfg->server, "https://", 8) != 0 && strncmp(cfg->server, "http://", 7) != 0)
        return error_set(err, EINVAL,
                         "the server URL \"%s\" of context \"%s\" must start with https:// (or http://)", cfg->server,
                         cfg->name ? cfg->name : "");
    kube_cluster *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    pthread_mutex_init(&c->pool_lock, NULL);
    int r = -ENOMEM;
    c->name = strdup(cfg->name ? cfg->name : "");
    c->server = strdup(cfg->server);
    size_t sl = c->server ? strlen(c->server) : 0;
    while (sl > 0 && c->server[sl - 1] == '/') /* paths are appended with their own slash */
        c->server[--sl] = '\0';
    c->url_base = c->server ? strdup(c->server) : NULL;
    c->namespace_name = strdup(cfg->namespace_name && *cfg->namespace_name ? cfg->namespace_name : "default");
    c->discovery = kube_discovery_new();
    if (!c->name || !c->server || !c->url_base || !c->namespace_name || !c->discovery)
        goto fail;
    c->insecure = cfg->insecure_skip_tls_verify;
    c->require_bearer = cfg->require_bearer;
    c->timeout_seconds = cfg->timeout_seconds > 0 ? cfg->timeout_seconds : 30;
    if (cfg->ca_pem && cfg->ca_len && !(c->ca_pem = memdup0(cfg->ca_pem, cfg->ca_len)))
        goto fail;
    c->ca_len = cfg->ca_len;
    if (cfg->proxy_url && *cfg->proxy_url && !(c->proxy_url = strdup(cfg->proxy_url)))
        goto fail;
    if (cfg->tls_server_name && *cfg->tls_server_name && (r = setup_tls_server_name(c, cfg->tls_server_name, err)) < 0)
        goto fail;
    r = -ENOMEM;
    if (!cfg->require_bearer) {
        if (cfg->token && *cfg->token) {
            if (!(c->token = strdup(cfg->token)))
                goto fail;
        } else if (cfg->token_file && *cfg->token_file) {
            if ((r = kube_token_file_new(cfg->token_file, &c->token_file)) < 0)
                goto fail;
        } else if (cfg->exec) {
            if ((r = exec_credential_new(cfg->exec, &c->exec, err)) < 0)
                goto fail;
        } else if (cfg->username && *cfg->username) {
            char *pair;
            if (asprintf(&pair, "%s:%s", cfg->username, cfg->password ? cfg->password : "") < 0)
                goto fail;
            char *b64 = base64_encode(pair, strlen(pair));
            secret_free(pair, strlen(pair));
            if (!b64)
                goto fail;
            int n = asprintf(&c->basic_header, "Authorization: Basic %s", b64);
            secret_free(b64, strlen(b64));
            if (n < 0) {
                c->basic_header = NULL;
                goto fail;
            }
        }
        /* a client certificate may accompany a token, as in kubectl */
        if (cfg->cert_pem && cfg->key_pem) {
            if (!(c->cert_pem = memdup0(cfg->cert_pem, cfg->cert_len)) || !(c->key_pem = memdup0(cfg->key_pem, cfg->key_len)))
                goto fail;
            c->cert_len = cfg->cert_len;
            c->key_len = cfg->key_len;
        }
    }
    *ret = c;
    return 0;
fail:
    kube_cluster_free(c);
    return r;
}

const char *kube_cluster_default_namespace(const kube_cluster *c) {
    return c->namespace_name;
}

const char *kube_cluster_server(const kube_cluster *c) {
    return c->server;
}

kube_discovery *kube_cluster_discovery(kube_cluster *c) {
    return c->discovery;
}

size_t kube_cluster_pooled_handles(kube_cluster *c) {
    pthread_mutex_lock(&c->pool_lock);
    size_t n = c->pool_n[POOL_PLAIN] + c->pool_n[POOL_CERT];
    pthread_mutex_unlock(&c->pool_lock);
    return n;
}

static CURL *pool_take(kube_cluster *c, int which) {
    CURL *h = NULL;
    pthread_mutex_lock(&c->pool_lock);
    if (c->pool_n[which] > 0)
        h = c->pool[which][--c->pool_n[which]];
    pthread_mutex_unlock(&c->pool_lock);
    return h ? h : curl_easy_init();
}

/* curl_easy_reset drops every option (headers, certificates, auth) but keeps the live
 * connections and TLS session cache, which is exactly what may be shared. */
static void pool_return(kube_cluster *c, int which, CURL *h) {
    curl_easy_reset(h);
    pthread_mutex_lock(&c->pool_lock);
    if (c->pool_n[which] < KUBE_POOL_MAX) {
        c->pool[which][c->pool_n[which]++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->pool_lock);
    if (h)
        curl_easy_cleanup(h);
}

void kube_response_clear(kube_response *r) {
    if (!r)
        return;
    free(r->body);
    free(r->content_type);
    r->body = NULL;
    r->content_type = NULL;
    r->body_len = 0;
    r->status = 0;
}

typedef struct transfer {
    curl_body sink;
    const atomic_bool *cancelled;
} transfer;

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    transfer *t = userdata;
    return t->cancelled && atomic_load(t->cancelled) ? 1 : 0;
}

/* Frees a header list after wiping it: it may hold a bearer token. */
static void headers_free(struct curl_slist *h) {
    for (struct curl_slist *p = h; p; p = p->next)
        if (p->data)
            explicit_bzero(p->data, strlen(p->data));
    curl_slist_free_all(h);
}

static int headers_add(struct curl_slist **list, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int headers_add(struct curl_slist **list, const char *fmt, ...) {
    char *line;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ENOMEM;
    struct curl_slist *nl = curl_slist_append(*list, line);
    explicit_bzero(line, (size_t)n);
    free(line);
    if (!nl)
        return -ENOMEM;
    *list = nl;
    return 0;
}

/* A header value must not smuggle in another header. */
static bool header_value_ok(const char *v) {
    return v && !strpbrk(v, "\r\n");
}

/* The credential actually used for one attempt. */
typedef struct attempt_cred {
    char *token; /* owned */
    const char *basic_header;
    const char *cert_pem, *key_pem;
    size_t cert_len, key_len;
    exec_credential_result exec; /* owned */
    bool refreshable;            /* a 401 may be fixed by re-reading the token / re-running the plugin */
} attempt_cred;

static void attempt_cred_clear(attempt_cred *a) {
    secret_free(a->token, a->token ? strlen(a->token) : 0);
    exec_credential_result_clear(&a->exec);
    memset(a, 0, sizeof *a);
}

static int resolve_cred(kube_cluster *c, const kube_credential *cred, attempt_cred *a, error_info *err) {
    memset(a, 0, sizeof *a);
    if (cred && cred->bearer_token) {
        /* the caller's token replaces every credential of the cluster, including its certificate */
        if (!*cred->bearer_token || !header_value_ok(cred->bearer_token))
            return error_set(err, EACCES, "the bearer token is empty or malformed: send a valid Kubernetes token");
        a->token = strdup(cred->bearer_token);
        return a->token ? 0 : -ENOMEM;
    }
    if (c->require_bearer)
        return error_set(err, EACCES, "bearer token required in Authorization header");
    int r;
    if (c->token) {
        if (!(a->token = strdup(c->token)))
            return -ENOMEM;
    } else if (c->token_file) {
        if ((r = kube_token_file_get(c->token_file, &a->token, err)) < 0)
            return r;
        a->refreshable = true;
    } else if (c->exec) {
        if ((r = exec_credential_get(c->exec, &a->exec, err)) < 0)
            return r;
        a->refreshable = true;
        if (a->exec.token) {
            a->token = a->exec.token;
            a->exec.token = NULL;
        } else {
            a->cert_pem = a->exec.cert_pem;
            a->cert_len = strlen(a->exec.cert_pem);
            a->key_pem = a->exec.key_pem;
            a->key_len = strlen(a->exec.key_pem);
        }
    } else if (c->basic_header) {
        a->basic_header = c->basic_header;
    }
    if (!a->cert_pem && c->cert_pem) {
        a->cert_pem = c->cert_pem;
        a->cert_len = c->cert_len;
        a->key_pem = c->key_pem;
        a->key_len = c->key_len;
    }
    if (a->token && !header_value_ok(a->token)) {
        attempt_cred_clear(a);
        return error_set(err, EINVAL, "the token of context \"%s\" contains a line break: fix it in your kubeconfig",
                         c->name);
    }
    return 0;
}

static int build_headers(kube_cluster *c, const kube_request *req, const attempt_cred *a, struct curl_slist **ret,
                         error_info *err) {
    struct curl_slist *h = NULL;
    int r = 0;
    const kube_credential *cred = req->credential;
    const char *accept = req->accept ? req->accept : "application/json";
    if (!header_value_ok(accept) || (req->content_type && !header_value_ok(req->content_type))) {
        return error_set(err, EINVAL, "invalid Accept or Content-Type header value");
    }
    if ((r = headers_add(&h, "Accept: %s", accept)) < 0)
        goto fail;
    if (req->body && (r = headers_add(&h, "Content-Type: %s", req->content_type ? req->content_type : "application/json")) < 0)
        goto fail;
    /* no 100-continue round trip for our small bodies */
    if ((r = headers_add(&h, "Expect:")) < 0)
        goto fail;
    if (c->host_header && (r = headers_add(&h, "%s", c->host_header)) < 0)
        goto fail;
    if (a->token)
        r = headers_add(&h, "Authorization: Bearer %s", a->token);
    else if (a->basic_header)
        r = headers_add(&h, "%s", a->basic_header);
    if (r < 0)
        goto fail;
    if (cred) {
        if (cred->impersonate_user) {
            if (!header_value_ok(cred->impersonate_user) || !*cred->impersonate_user) {
                r = error_set(err, EINVAL, "the user to impersonate is empty or contains a line break");
                goto fail;
            }
            if ((r = headers_add(&h, "Impersonate-User: %s", cred->impersonate_user)) < 0)
                goto fail;
        }
        for (size_t i = 0; cred->impersonate_groups && cred->impersonate_groups[i]; i++) {
            if (!header_value_ok(cred->impersonate_groups[i])) {
                r = error_set(err, EINVAL, "a group to impersonate contains a line break");
                goto fail;
            }
            if ((r = headers_add(&h, "Impersonate-Group: %s", cred->impersonate_groups[i])) < 0)
                goto fail;
        }
        if (cred->impersonate_uid) {
            if (!header_value_ok(cred->impersonate_uid)) {
                r = error_set(err, EINVAL, "the uid to impersonate contains a line break");
                goto fail;
            }
            if ((r = headers_add(&h, "Impersonate-Uid: %s", cred->impersonate_uid)) < 0)
                goto fail;
        }
    }
    *ret = h;
    return 0;
fail:
    headers_free(h);
    return r;
}

static int map_curl_error(kube_cluster *c, CURL *h, CURLcode cc, const transfer *t, size_t max, const char *errbuf,
                          error_info *err) {
    long os_errno = 0;
    curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
    const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(cc);
    switch (cc) {
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        if (t->sink.too_big || cc == CURLE_FILESIZE_EXCEEDED)
            return error_set(err, EMSGSIZE,
                             "the answer from the Kubernetes API server at %s is larger than %zu bytes: ask for less "
                             "(use limit and continue, a label or field selector, or a namespace)",
                             c->server, max);
        break;
    case CURLE_ABORTED_BY_CALLBACK:
        return error_set(err, ECANCELED, "the request to the Kubernetes API server was cancelled");
    case CURLE_COULDNT_CONNECT:
        return error_set(err, ECONNREFUSED,
                         "cannot reach the Kubernetes API server at %s: %s (check the server URL in your kubeconfig and "
                         "that the cluster is running)",
                         c->server, os_errno ? strerror((int)os_errno) : detail);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return error_set(err, EHOSTUNREACH,
                         "cannot reach the Kubernetes API server at %s: %s (check the server URL%s in your kubeconfig and "
                         "your DNS)",
                         c->server, detail, cc == CURLE_COULDNT_RESOLVE_PROXY ? " and proxy-url" : "");
    case CURLE_OPERATION_TIMEDOUT:
        return error_set(err, ETIMEDOUT,
                         "the Kubernetes API server at %s did not answer within %ld s (check that the cluster is running "
                         "and reachable, or raise the timeout)",
                         c->server, c->timeout_seconds);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
        return error_set(err, EPROTO,
                         "TLS with the Kubernetes API server at %s failed: %s (check certificate-authority-data, "
                         "tls-server-name and the client certificate in your kubeconfig)",
                         c->server, detail);
    default:
        break;
    }
    return error_set(err, EIO, "request to the Kubernetes API server at %s failed: %s", c->server, detail);
}

/* A failure that says the reused connection was stale (closed or reset by the server, an HTTP/2
 * GOAWAY), not that the request itself failed. */
static bool stale_connection_error(CURLcode cc) {
    return cc == CURLE_HTTP2 || cc == CURLE_HTTP2_STREAM || cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR ||
           cc == CURLE_GOT_NOTHING;
}

static int do_once(kube_cluster *c, const kube_request *req, const attempt_cred *a, bool fresh_connection,
                   bool *ret_stale, kube_response *ret, error_info *err) {
    *ret_stale = false;
    size_t max = req->max_response_bytes ? req->max_response_bytes : KUBE_DEFAULT_MAX_RESPONSE;
    struct curl_slist *headers = NULL;
    struct curl_slist *connect_to = NULL;
    int r = build_headers(c, req, a, &headers, err);
    if (r < 0)
        return r;
    if (c->connect_to && !(connect_to = curl_slist_append(NULL, c->connect_to))) {
        headers_free(headers);
        return -ENOMEM;
    }
    char *url;
    bool has_query = req->query && *req->query;
    if (asprintf(&url, "%s%s%s%s%s", c->url_base, req->path[0] == '/' ? "" : "/", req->path, has_query ? "?" : "",
                 has_query ? req->query : "") < 0) {
        headers_free(headers);
        curl_slist_free_all(connect_to);
        return -ENOMEM;
    }
    int which = a->cert_pem ? POOL_CERT : POOL_PLAIN;
    CURL *h = pool_take(c, which);
    if (!h) {
        free(url);
        headers_free(headers);
        curl_slist_free_all(connect_to);
        return -ENOMEM;
    }
    transfer t = {.cancelled = req->cancelled};
    buf_init(&t.sink.body, max);
    char errbuf[CURL_ERROR_SIZE] = "";
    const char *method = req->method ? req->method : "GET";

    /* Every option a request depends on is set here, every time: the handle was reset on return. */
    curl_easy_setopt(h, CURLOPT_URL, url);
    /* Send the path exactly as built: never let "/../" style segments be collapsed into another object. */
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "kubemcp/" KUBEMCP_VERSION);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, KUBE_CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout_seconds);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, curl_body_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t.sink);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
    if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        if (req->body) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
        }
    }
    if (c->connect_to)
        curl_easy_setopt(h, CURLOPT_CONNECT_TO, connect_to);
    if (c->proxy_url)
        curl_easy_setopt(h, CURLOPT_PROXY, c->proxy_url);
    if (c->ca_pem) {
        struct curl_blob ca = {.data = c->ca_pem, .len = c->ca_len, .flags = CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &ca);
    }
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, c->insecure ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, c->insecure ? 0L : 2L);
    if (a->cert_pem) {
        struct curl_blob cert = {.data = (void *)a->cert_pem, .len = a->cert_len, .flags = CURL_BLOB_COPY};
        struct curl_blob key = {.data = (void *)a->key_pem, .len = a->key_len, .flags = CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
        curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cert);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
        curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &key);
    }

    if (fresh_connection)
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK) {
        long new_connections = 0;
        curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &new_connections);
        *ret_stale = new_connections == 0 && stale_connection_error(cc) && t.sink.body.len == 0;
        r = map_curl_error(c, h, cc, &t, max, errbuf, err);
    } else {
        kube_response resp = {0};
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
        char *ct = NULL;
        curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
        if (ct && !(resp.content_type = strdup(ct)))
            r = -ENOMEM;
        resp.body_len = t.sink.body.len;
        resp.body = t.sink.body.data ? buf_steal(&t.sink.body) : strdup("");
        if (!resp.body)
            r = -ENOMEM;
        if (r < 0)
            kube_response_clear(&resp);
        else
            *ret = resp;
    }
    pool_return(c, which, h);
    buf_free(&t.sink.body);
    free(url);
    headers_free(headers);
    curl_slist_free_all(connect_to);
    return r;
}

int kube_do(kube_cluster *c, const kube_request *req, kube_response *ret, error_info *err) {
    if (!c || !req || !req->path || !ret)
        return error_set(err, EINVAL, "invalid Kubernetes request");
    if (req->cancelled && atomic_load(req->cancelled))
        return error_set(err, ECANCELED, "the request to the Kubernetes API server was cancelled");
    /* At the first request, not when the cluster is set up: a server that has not talked to a
     * cluster yet neither loads libcurl (src/lazy/) nor initialises OpenSSL. */
    int init = kube_curl_init(err);
    if (init < 0)
        return init;
    bool fresh_connection = false;
    for (int attempt = 0;; attempt++) {
        attempt_cred a;
        int r = resolve_cred(c, req->credential, &a, err);
        if (r < 0)
            return r;
        kube_response resp = {0};
        bool stale = false;
        r = do_once(c, req, &a, fresh_connection, &stale, &resp, err);
        bool retry = r == 0 && resp.status == 401 && a.refreshable && attempt == 0;
        attempt_cred_clear(&a);
        /* A pooled connection the server had already closed: a GET is safe to send again, once,
         * on a new connection. */
        if (r < 0 && stale && !fresh_connection && strcmp(req->method ? req->method : "GET", "GET") == 0) {
            fresh_connection = true;
            continue;
        }
        if (r < 0)
            return r;
        if (retry) {
            /* a rotated service-account token or an expired plugin credential: fetch anew, once */
            if (c->token_file)
                kube_token_file_invalidate(c->token_file);
            if (c->exec)
                exec_credential_invalidate(c->exec);
            kube_response_clear(&resp);
            continue;
        }
        *ret = resp;
        return 0;
    }
}

int kube_response_error(const kube_response *r, error_info *err) {
    if (r->status < 400)
        return 0;
    int code = r->status == 401 || r->status == 403 ? EACCES : r->status == 404 ? ENOENT : r->status == 409 ? EEXIST : EIO;
    json_t *j = r->body ? json_loadb(r->body, r->body_len, 0, NULL) : NULL;
    const char *kind = json_string_value(json_object_get(j, "kind"));
    const char *msg = json_string_value(json_object_get(j, "message"));
    if (kind && strcmp(kind, "Status") == 0 && msg && *msg) {
        error_set(err, code, "%s", msg);
    } else {
        /* not a Status (e.g. "404 page not found" from a proxy): quote a short, single-line excerpt */
        char excerpt[201];
        size_t n = 0;
        for (size_t i = 0; r->body && i < r->body_len && n < sizeof excerpt - 1; i++) {
            unsigned char ch = (unsigned char)r->body[i];
            excerpt[n++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
        }
        while (n > 0 && excerpt[n - 1] == ' ')
            n--;
        excerpt[n] = '\0';
        if (n)
            error_set(err, code, "the Kubernetes API server answered HTTP %ld: %s", r->status, excerpt);
        else
            error_set(err, code, "the Kubernetes API server answered HTTP %ld with an empty body", r->status);
    }
    json_decref(j);
    if (err)
        err->http_status = (int)r->status;
    return -code;
}

json_t *kube_response_json(const kube_response *r, error_info *err) {
    json_error_t jerr;
    /* The fast reader builds the same tree; it leaves anything unusual, errors included, to jansson. */
    json_t *j = r->body ? json_fast_loadb(r->body, r->body_len, 0) : NULL;
    if (!j && r->body)
        j = json_loadb(r->body, r->body_len, 0, &jerr);
    if (!j) {
        char reason[160];
        json_error_reason(&jerr, reason, sizeof reason);
        error_set(err, EBADMSG, "the Kubernetes API server sent a body that is not JSON (%s)",
                  r->body ? reason : "empty body");
        return NULL;
    }
    return j;
}

/* ---- paths ------------------------------------------------------------------------------- */

static bool unreserved(unsigned char ch) {
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
           ch == '_' || ch == '~';
}

static int escape_into(const char *value, char *out, size_t out_len, size_t *pos) {
    static const char hex[] = "0123456789ABCDEF";
    size_t p = *pos;
    for (const unsigned char *s = (const unsigned char *)value; *s; s++) {
        if (unreserved(*s)) {
            if (p + 1 >= out_len)
                return -ENAMETOOLONG;
            out[p++] = (char)*s;
        } else {
            if (p + 3 >= out_len)
                return -ENAMETOOLONG;
            out[p++] = '%';
            out[p++] = hex[*s >> 4];
            out[p++] = hex[*s & 15];
        }
    }
    out[p] = '\0';
    *pos = p;
    return 0;
}

static int append_raw(const char *s, char *out, size_t out_len, size_t *pos) {
    size_t n = strlen(s);
    if (*pos + n >= out_len)
        return -ENAMETOOLONG;
    memcpy(out + *pos, s, n + 1);
    *pos += n;
    return 0;
}

int kube_query_escape(const char *value, char *out, size_t out_len) {
    if (!value || !out || out_len == 0)
        return -EINVAL;
    size_t pos = 0;
    out[0] = '\0';
    return escape_into(value, out, out_len, &pos);
}

/* A path segment that cannot be a Kubernetes name: "." and ".." would be collapsed by URL
 * normalisation (on our side or a proxy's) and address another object. */
static bool dot_segment(const char *s) {
    return strcmp(s, ".") == 0 || strcmp(s, "..") == 0;
}

int kube_resource_path(const kube_resource_info *info, const char *namespace_name, const char *name,
                       const char *subresource, char *out, size_t out_len, error_info *err) {
    if (!info || !out || out_len == 0 || !info->version[0] || !info->resource[0])
        return error_set(err, EINVAL, "no API resource to build a path for");
    /* An empty name would turn "delete this object" into "delete the whole collection". */
    if (name && !*name)
        return error_set(err, EINVAL, "the %s name is empty: name the object to act on", info->kind[0] ? info->kind : "object");
    if ((name && dot_segment(name)) || (namespace_name && dot_segment(namespace_name)) ||
        (subresource && dot_segment(subresource)) || dot_segment(info->group) || dot_segment(info->version) ||
        dot_segment(info->resource))
        return error_set(err, EINVAL, "\".\" and \"..\" are not valid Kubernetes names");
    size_t pos = 0;
    int r;
    out[0] = '\0';
    if (info->group[0]) {
        if ((r = append_raw("/apis/", out, out_len, &pos)) < 0 || (r = escape_into(info->group, out, out_len, &pos)) < 0 ||
            (r = append_raw("/", out, out_len, &pos)) < 0)
            goto too_long;
    } else if ((r = append_raw("/api/", out, out_len, &pos)) < 0) {
        goto too_long;
    }
    if ((r = escape_into(info->version, out, out_len, &pos)) < 0)
        goto too_long;
    if (info->namespaced && namespace_name && *namespace_name) {
        if ((r = append_raw("/namespaces/", out, out_len, &pos)) < 0 ||
            (r = escape_into(namespace_name, out, out_len, &pos)) < 0)
            goto too_long;
    }
    if ((r = append_raw("/", out, out_len, &pos)) < 0 || (r = escape_into(info->resource, out, out_len, &pos)) < 0)
        goto too_long;
    if (name) {
        if ((r = append_raw("/", out, out_len, &pos)) < 0 || (r = escape_into(name, out, out_len, &pos)) < 0)
            goto too_long;
        if (subresource && *subresource) {
            if ((r = append_raw("/", out, out_len, &pos)) < 0 || (r = escape_into(subresource, out, out_len, &pos)) < 0)
                goto too_long;
        }
    }
    return 0;
too_long:
    return error_set(err, ENAMETOOLONG, "the name or namespace is too long for a Kubernetes API path");
}
