#include "gate/jwks.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjose/cjose.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>

#include "core/buf.h"
#include "kube/curl_common.h"

#define CONNECT_TIMEOUT 5

struct jwks_key {
    atomic_int refs;
    cjose_jwk_t *jwk;
    jwks_kty kty;
    char *kid;
    char *alg;
    const char *crv; /* static string */
    size_t bits;
    char *material;  /* the public members as imported (compact JSON): tells keys apart across fetches */
};

struct jwks_cache {
    char *uri;
    char *ca_file;
    jwks_http_options http;
    long ttl;
    long min_interval;
    bool is_static;
    long long (*now)(void);

    pthread_mutex_t lock;
    pthread_cond_t fetch_done;
    /* Under lock: */
    jwks_key **keys;
    size_t n_keys;
    long long fetched_at;   /* 0 = never */
    long long last_attempt;
    bool attempted;
    bool fetching;
    char last_error[512];
    jwks_stats stats;
    unsigned long long generation; /* counts fetches that removed a key */
};

static long long real_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec;
}

/* ---- bounded HTTPS GET ---- */

/* "scheme://host[:port]" of url for messages (no path, no userinfo, no query). */
static void url_origin(const char *url, char *out, size_t out_len) {
    snprintf(out, out_len, "%s", "(bad URL)");
    CURLU *u = curl_url();
    if (!u)
        return;
    char *scheme = NULL, *host = NULL, *port = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK && curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
            snprintf(out, out_len, "%s://%s:%s", scheme, host, port);
        else
            snprintf(out, out_len, "%s://%s", scheme, host);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
}

static int check_url(const char *url, bool allow_http, const char *what, error_info *err) {
    if (!url || !*url)
        return error_set(err, EINVAL, "no URL for the %s", what);
    CURLU *u = curl_url();
    if (!u)
        return error_set(err, ENOMEM, "out of memory");
    char *scheme = NULL;
    int r = 0;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
        r = error_set(err, EINVAL, "the %s URL %s is not a valid URL", what, url);
    else if (strcmp(scheme, "https") != 0 && !(allow_http && strcmp(scheme, "http") == 0))
        r = error_set(err, EINVAL, "the %s URL %s must use https://", what, url);
    curl_free(scheme);
    curl_url_cleanup(u);
    return r;
}

/* One bounded request to the IdP: a GET, or a POST of a form when form is set. Unless any_status,
 * an answer other than 200 is an error; otherwise its status is handed back with its body. */
typedef struct idp_request {
    const char *url;
    const char *what;
    const char *form;          /* NULL = GET */
    size_t form_len;
    const char *authorization; /* an Authorization header value; NULL = none */
    bool any_status;
} idp_request;

static int idp_fetch(const idp_request *req, const jwks_http_options *opts, long *ret_status, char **ret_body,
                     size_t *ret_len, error_info *err) {
    jwks_http_options o = opts ? *opts : (jwks_http_options){0};
    const char *url = req->url;
    const char *what = req->what ? req->what : "document";
    int r = check_url(url, o.allow_http, what, err);
    if (r < 0)
        return r;
    if ((r = kube_curl_init(err)) < 0)
        return r;
    size_t max = o.max_body_bytes ? o.max_body_bytes : JWKS_DEFAULT_MAX_BODY;
    long timeout = o.timeout_seconds > 0 ? o.timeout_seconds : JWKS_DEFAULT_TIMEOUT;
    char origin[256];
    url_origin(url, origin, sizeof origin);

    CURL *h = curl_easy_init();
    if (!h)
        return error_set(err, ENOMEM, "out of memory");
    curl_body f = {.too_big = false};
    buf_init(&f.body, max);
    char errbuf[CURL_ERROR_SIZE] = "";
    /* The Authorization header, when there is one, heads the list: curl_slist_append returns the
     * head, and the credential in that node is wiped before the list is freed. */
    struct curl_slist *auth_header = NULL;
    if (req->authorization) {
        buf line;
        buf_init(&line, 16384);
        if (buf_printf(&line, "Authorization: %s", req->authorization) == 0)
            auth_header = curl_slist_append(NULL, line.data);
        if (line.data)
            OPENSSL_cleanse(line.data, line.len);
        buf_free(&line);
        if (!auth_header) {
            curl_easy_cleanup(h);
            return error_set(err, ENOMEM, "out of memory");
        }
    }
    struct curl_slist *headers = curl_slist_append(auth_header, "Accept: application/json");
    if (!headers)
        headers = auth_header; /* out of memory: go without Accept, as before */
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, o.allow_http ? "http,https" : "https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "kubemcp/" KUBEMCP_VERSION);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout < CONNECT_TIMEOUT ? timeout : (long)CONNECT_TIMEOUT);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, curl_body_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &f);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (req->form) {
        /* Content-Type defaults to application/x-www-form-urlencoded for a POST body. */
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->form);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->form_len);
    }
    if (o.ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, o.ca_file);
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    const char *detail = errbuf[0] ? errbuf : curl_easy_strerror(cc);
    if (cc == CURLE_OK) {
        if (status != 200 && !req->any_status)
            r = error_set(err, EBADMSG, "the %s at %s answered HTTP %ld (expected 200)", what, url, status);
    } else if ((cc == CURLE_WRITE_ERROR && f.too_big) || cc == CURLE_FILESIZE_EXCEEDED) {
        r = error_set(err, EMSGSIZE, "the %s at %s is larger than %zu bytes", what, url, max);
    } else if (cc == CURLE_COULDNT_CONNECT) {
        r = error_set(err, ECONNREFUSED, "the IdP at %s is unreachable: %s", origin, detail);
    } else if (cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_COULDNT_RESOLVE_PROXY) {
        r = error_set(err, EHOSTUNREACH, "the IdP at %s is unreachable: %s", origin, detail);
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        r = error_set(err, ETIMEDOUT, "the IdP at %s is unreachable: no answer within %ld s", origin, timeout);
    } else if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_SSL_CACERT_BADFILE) {
        r = error_set(err, EPROTO, "the IdP at %s is unreachable: TLS failed: %s (check the CA file)", origin, detail);
    } else if (cc == CURLE_UNSUPPORTED_PROTOCOL) {
        r = error_set(err, EINVAL, "the %s URL %s uses a scheme that is not allowed", what, url);
    } else {
        r = error_set(err, EIO, "the IdP at %s is unreachable: %s", origin, detail);
    }
    if (auth_header)
        OPENSSL_cleanse(auth_header->data, strlen(auth_header->data));
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    if (r < 0) {
        if (f.body.data)
            OPENSSL_cleanse(f.body.data, f.body.len);
        buf_free(&f.body);
        return r;
    }
    size_t len = f.body.len;
    char *body = buf_steal(&f.body);
    if (!body && !req->any_status)
        return error_set(err, EBADMSG, "the %s at %s is empty", what, url);
    if (!body && !(body = calloc(1, 1)))
        return error_set(err, ENOMEM, "out of memory");
    if (ret_status)
        *ret_status = status;
    *ret_body = body;
    if (ret_len)
        *ret_len = len;
    return 0;
}

int jwks_http_get(const char *url, const jwks_http_options *opts, const char *what, char **ret_body,
                  size_t *ret_len, error_info *err) {
    idp_request req = {.url = url, .what = what};
    return idp_fetch(&req, opts, NULL, ret_body, ret_len, err);
}

int jwks_http_get_status(const char *url, const jwks_http_options *opts, const char *what, long *ret_status,
                         char **ret_body, size_t *ret_len, error_info *err) {
    idp_request req = {.url = url, .what = what, .any_status = true};
    return idp_fetch(&req, opts, ret_status, ret_body, ret_len, err);
}

int jwks_http_post_form(const char *url, const jwks_http_options *opts, const char *what, const char *form,
                        size_t form_len, const char *authorization, long *ret_status, char **ret_body,
                        size_t *ret_len, error_info *err) {
    if (!form)
        return error_set(err, EINVAL, "no form to send to the %s", what ? what : "IdP");
    idp_request req = {
        .url = url, .what = what, .form = form, .form_len = form_len, .authorization = authorization,
        .any_status = true,
    };
    return idp_fetch(&req, opts, ret_status, ret_body, ret_len, err);
}

/* ---- keys ---- */

static jwks_key *key_free(jwks_key *k) {
    if (!k)
        return NULL;
    cjose_jwk_release(k->jwk);
    free(k->kid);
    free(k->alg);
    free(k->material);
    free(k);
    return NULL;
}

jwks_key *jwks_key_ref(jwks_key *k) {
    if (k)
        atomic_fetch_add_explicit(&k->refs, 1, memory_order_relaxed);
    return k;
}

jwks_key *jwks_key_unref(jwks_key *k) {
    if (k && atomic_fetch_sub_explicit(&k->refs, 1, memory_order_acq_rel) == 1)
        key_free(k);
    return NULL;
}

const cjose_jwk_t *jwks_key_jwk(const jwks_key *k) {
    return k->jwk;
}
jwks_kty jwks_key_kty(const jwks_key *k) {
    return k->kty;
}
const char *jwks_key_kid(const jwks_key *k) {
    return k->kid;
}
const char *jwks_key_alg(const jwks_key *k) {
    return k->alg;
}
const char *jwks_key_crv(const jwks_key *k) {
    return k->crv;
}
size_t jwks_key_bits(const jwks_key *k) {
    return k->bits;
}

bool jwks_key_fits_alg(const jwks_key *k, const char *alg) {
    if (!k || !alg)
        return false;
    if (k->alg && strcmp(k->alg, alg) != 0)
        return false;
    static const char *const rsa[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"};
    for (size_t i = 0; i < sizeof rsa / sizeof *rsa; i++)
        if (strcmp(alg, rsa[i]) == 0)
            return k->kty == JWKS_KTY_RSA;
    if (k->kty != JWKS_KTY_EC || !k->crv)
        return false;
    if (strcmp(alg, "ES256") == 0)
        return strcmp(k->crv, "P-256") == 0;
    if (strcmp(alg, "ES384") == 0)
        return strcmp(k->crv, "P-384") == 0;
    if (strcmp(alg, "ES512") == 0)
        return strcmp(k->crv, "P-521") == 0;
    return false;
}

/* A non-empty base64url member (RFC 7518 §6: no padding). Checked here because cjose's decoder
 * aborts the process (an assert) on some malformed input: a hostile JWKS must not reach it. */
static bool is_string(json_t *o, const char *name) {
    json_t *v = json_object_get(o, name);
    size_t len = json_string_length(v);
    if (!json_is_string(v) || len == 0 || len % 4 == 1)
        return false;
    const char *s = json_string_value(v);
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
            return false;
    }
    return true;
}

/* One usable signing key from a JWK object, or NULL (skipped: encryption keys, symmetric keys,
 * unknown types, short RSA keys, anything cjose will not import). Only the public members are
 * handed to cjose, so a JWKS that leaks private parameters still yields verify-only keys. */
static jwks_key *key_from_json(json_t *jwk) {
    if (!json_is_object(jwk))
        return NULL;
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    json_t *use = json_object_get(jwk, "use");
    json_t *ops = json_object_get(jwk, "key_ops");
    json_t *alg = json_object_get(jwk, "alg");
    json_t *kid = json_object_get(jwk, "kid");
    if (!kty || (use && (!json_is_string(use) || strcmp(json_string_value(use), "sig") != 0)))
        return NULL;
    if (ops) {
        bool verify = false;
        size_t i;
        json_t *op;
        json_array_foreach(ops, i, op) verify = verify || (json_is_string(op) && strcmp(json_string_value(op), "verify") == 0);
        if (!verify)
            return NULL;
    }
    if ((alg && !json_is_string(alg)) || (kid && !json_is_string(kid)))
        return NULL;
    jwks_kty type;
    const char *crv = NULL;
    json_t *pub = NULL;
    if (strcmp(kty, "RSA") == 0) {
        if (!is_string(jwk, "n") || !is_string(jwk, "e"))
            return NULL;
        type = JWKS_KTY_RSA;
        pub = json_pack("{s:s, s:O, s:O}", "kty", "RSA", "n", json_object_get(jwk, "n"), "e", json_object_get(jwk, "e"));
    } else if (strcmp(kty, "EC") == 0) {
        const char *c = json_string_value(json_object_get(jwk, "crv"));
        if (!c || !is_string(jwk, "x") || !is_string(jwk, "y"))
            return NULL;
        if (strcmp(c, "P-256") == 0)
            crv = "P-256";
        else if (strcmp(c, "P-384") == 0)
            crv = "P-384";
        else if (strcmp(c, "P-521") == 0)
            crv = "P-521";
        else
            return NULL;
        type = JWKS_KTY_EC;
        pub = json_pack("{s:s, s:s, s:O, s:O}", "kty", "EC", "crv", crv, "x", json_object_get(jwk, "x"), "y",
                        json_object_get(jwk, "y"));
    } else {
        return NULL;
    }
    char *text = pub ? json_dumps(pub, JSON_COMPACT) : NULL;
    json_decref(pub);
    if (!text)
        return NULL;
    cjose_err cerr;
    cjose_jwk_t *cj = cjose_jwk_import(text, strlen(text), &cerr);
    if (!cj) {
        free(text);
        return NULL;
    }
    jwks_key *k = calloc(1, sizeof *k);
    if (!k) {
        free(text);
        cjose_jwk_release(cj);
        return NULL;
    }
    atomic_init(&k->refs, 1);
    k->material = text;
    k->jwk = cj;
    k->kty = type;
    k->crv = crv;
    k->bits = cjose_jwk_get_keysize(cj, &cerr);
    k->kid = kid ? strdup(json_string_value(kid)) : NULL;
    k->alg = alg ? strdup(json_string_value(alg)) : NULL;
    if ((kid && !k->kid) || (alg && !k->alg) || (type == JWKS_KTY_RSA && k->bits < 2048))
        return key_free(k);
    return k;
}

static void keys_free(jwks_key **keys, size_t n) {
    for (size_t i = 0; i < n; i++)
        jwks_key_unref(keys[i]);
    free(keys);
}

static bool same_text(const char *a, const char *b) {
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Whether a key of the old set is missing from the new one (same kid, alg and public key). */
static bool keys_removed(jwks_key *const *old, size_t n_old, jwks_key *const *new_keys, size_t n_new) {
    for (size_t i = 0; i < n_old; i++) {
        bool kept = false;
        for (size_t k = 0; k < n_new && !kept; k++)
            kept = same_text(old[i]->kid, new_keys[k]->kid) && same_text(old[i]->alg, new_keys[k]->alg) &&
                   same_text(old[i]->material, new_keys[k]->material);
        if (!kept)
            return true;
    }
    return false;
}

/* Parses a JWKS document into its usable keys. where names the source in messages. */
static int parse_set(const char *text, size_t len, const char *where, jwks_key ***ret, size_t *ret_n, error_info *err) {
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *keys = json_object_get(doc, "keys");
    if (!json_is_array(keys)) {
        json_decref(doc);
        return error_set(err, EBADMSG, "the JWKS %s is not a JSON Web Key Set (expected an object with a \"keys\" array)",
                         where);
    }
    size_t total = json_array_size(keys);
    jwks_key **out = calloc(total < JWKS_MAX_KEYS ? total + 1 : JWKS_MAX_KEYS + 1, sizeof *out);
    if (!out) {
        json_decref(doc);
        return error_set(err, ENOMEM, "out of memory");
    }
    size_t n = 0;
    for (size_t i = 0; i < total && n < JWKS_MAX_KEYS; i++) {
        jwks_key *k = key_from_json(json_array_get(keys, i));
        if (k)
            out[n++] = k;
    }
    json_decref(doc);
    if (n == 0) {
        free(out);
        return error_set(err, EBADMSG,
                         "the JWKS %s has no usable signing key (RSA of at least 2048 bits or EC P-256/P-384/P-521, "
                         "with use \"sig\")",
                         where);
    }
    *ret = out;
    *ret_n = n;
    return 0;
}

/* ---- cache ---- */

static jwks_cache *cache_alloc(void) {
    jwks_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->now = real_now;
    c->ttl = JWKS_DEFAULT_TTL;
    c->min_interval = JWKS_DEFAULT_MIN_REFETCH_INTERVAL;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->fetch_done, NULL);
    return c;
}

int jwks_cache_new(const jwks_options *opts, jwks_cache **ret, error_info *err) {
    if (!opts)
        return error_set(err, EINVAL, "no JWKS options");
    int r = check_url(opts->jwks_uri, opts->http.allow_http, "JWKS", err);
    if (r < 0)
        return r;
    jwks_cache *c = cache_alloc();
    if (!c)
        return error_set(err, ENOMEM, "out of memory");
    c->uri = strdup(opts->jwks_uri);
    c->http = opts->http;
    if (opts->http.ca_file && !(c->ca_file = strdup(opts->http.ca_file))) {
        jwks_cache_free(c);
        return error_set(err, ENOMEM, "out of memory");
    }
    c->http.ca_file = c->ca_file;
    if (opts->ttl_seconds > 0)
        c->ttl = opts->ttl_seconds;
    if (opts->min_refetch_interval_seconds > 0)
        c->min_interval = opts->min_refetch_interval_seconds;
    if (!c->uri) {
        jwks_cache_free(c);
        return error_set(err, ENOMEM, "out of memory");
    }
    *ret = c;
    return 0;
}

int jwks_cache_new_static(const char *jwks_json, size_t len, jwks_cache **ret, error_info *err) {
    if (!jwks_json)
        return error_set(err, EINVAL, "no JWKS");
    jwks_key **keys = NULL;
    size_t n = 0;
    int r = parse_set(jwks_json, len, "(static)", &keys, &n, err);
    if (r < 0)
        return r;
    jwks_cache *c = cache_alloc();
    if (!c) {
        keys_free(keys, n);
        return error_set(err, ENOMEM, "out of memory");
    }
    c->is_static = true;
    c->keys = keys;
    c->n_keys = n;
    c->fetched_at = 1;
    *ret = c;
    return 0;
}

jwks_cache *jwks_cache_free(jwks_cache *c) {
    if (!c)
        return NULL;
    keys_free(c->keys, c->n_keys);
    free(c->uri);
    free(c->ca_file);
    pthread_cond_destroy(&c->fetch_done);
    pthread_mutex_destroy(&c->lock);
    free(c);
    return NULL;
}

void jwks_cache_set_clock(jwks_cache *c, long long (*now)(void)) {
    pthread_mutex_lock(&c->lock);
    c->now = now ? now : real_now;
    pthread_mutex_unlock(&c->lock);
}

unsigned long long jwks_cache_generation(jwks_cache *c) {
    pthread_mutex_lock(&c->lock);
    unsigned long long g = c->generation;
    pthread_mutex_unlock(&c->lock);
    return g;
}

jwks_stats jwks_cache_stats(jwks_cache *c) {
    pthread_mutex_lock(&c->lock);
    jwks_stats s = c->stats;
    s.keys = c->n_keys;
    s.fetched_at = c->is_static ? 0 : c->fetched_at;
    pthread_mutex_unlock(&c->lock);
    return s;
}

/* Lock held. 0 and a borrowed key; -ENOENT when none fits (or the choice is ambiguous). */
static int find_key(jwks_cache *c, const char *kid, const char *alg, jwks_key **ret) {
    jwks_key *found = NULL;
    for (size_t i = 0; i < c->n_keys; i++) {
        jwks_key *k = c->keys[i];
        if (kid) {
            if (k->kid && strcmp(k->kid, kid) == 0) {
                *ret = k;
                return 0;
            }
        } else if (jwks_key_fits_alg(k, alg)) {
            if (found)
                return -ENOENT;
            found = k;
        }
    }
    if (!found)
        return -ENOENT;
    *ret = found;
    return 0;
}

static bool may_attempt(const jwks_cache *c, long long now) {
    return !c->attempted || now - c->last_attempt >= c->min_interval || now < c->last_attempt;
}

static bool is_stale(const jwks_cache *c, long long now) {
    return !c->is_static && (c->fetched_at == 0 || now - c->fetched_at >= c->ttl);
}

/* Lock held on entry and exit; dropped for the transfer. */
static void fetch_locked(jwks_cache *c, long long now) {
    c->fetching = true;
    c->attempted = true;
    c->last_attempt = now;
    c->stats.fetches++;
    char *uri = c->uri;
    jwks_http_options http = c->http;
    pthread_mutex_unlock(&c->lock);

    error_info ferr = {0};
    char *body = NULL;
    size_t len = 0;
    jwks_key **keys = NULL;
    size_t n = 0;
    int r = jwks_http_get(uri, &http, "JWKS", &body, &len, &ferr);
    if (r == 0) {
        char where[600];
        snprintf(where, sizeof where, "at %s", uri);
        r = parse_set(body, len, where, &keys, &n, &ferr);
    }
    free(body);

    pthread_mutex_lock(&c->lock);
    if (r == 0) {
        if (keys_removed(c->keys, c->n_keys, keys, n))
            c->generation++;
        keys_free(c->keys, c->n_keys);
        c->keys = keys;
        c->n_keys = n;
        c->fetched_at = c->now();
        if (c->fetched_at == 0)
            c->fetched_at = 1;
        c->last_error[0] = '\0';
    } else {
        c->stats.fetch_failures++;
        snprintf(c->last_error, sizeof c->last_error, "%s", ferr.message);
    }
    c->fetching = false;
    pthread_cond_broadcast(&c->fetch_done);
}

int jwks_cache_get_key(jwks_cache *c, const char *kid, const char *alg, jwks_key **ret, error_info *err) {
    pthread_mutex_lock(&c->lock);
    bool fetched = false;
    jwks_key *k = NULL;
    int fr;
    for (;;) {
        long long now = c->now();
        k = NULL;
        fr = find_key(c, kid, alg, &k);
        bool want = !c->is_static && !fetched && (is_stale(c, now) || fr < 0);
        if (!want)
            break;
        if (c->fetching) {
            /* Someone else is fetching: use the key we have, or wait for theirs. */
            if (fr == 0)
                break;
            pthread_cond_wait(&c->fetch_done, &c->lock);
            fetched = true; /* their fetch counts as ours */
            continue;
        }
        if (!may_attempt(c, now))
            break;
        fetch_locked(c, now);
        fetched = true;
    }
    if (fr == 0) {
        *ret = jwks_key_ref(k);
        pthread_mutex_unlock(&c->lock);
        return 0;
    }
    int r;
    if (!c->is_static && c->fetched_at == 0)
        r = error_set(err, EAGAIN, "signing keys unavailable: %s",
                      c->last_error[0] ? c->last_error : "the JWKS has not been fetched yet");
    else
        r = error_set(err, ENOENT, "unknown signing key");
    pthread_mutex_unlock(&c->lock);
    return r;
}

int jwks_cache_refresh(jwks_cache *c, error_info *err) {
    pthread_mutex_lock(&c->lock);
    if (c->is_static) {
        pthread_mutex_unlock(&c->lock);
        return 0;
    }
    while (c->fetching)
        pthread_cond_wait(&c->fetch_done, &c->lock);
    fetch_locked(c, c->now());
    int r = 0;
    if (c->last_error[0])
        r = error_set(err, EAGAIN, "%s", c->last_error);
    pthread_mutex_unlock(&c->lock);
    return r;
}

bool jwks_cache_needs_fetch(jwks_cache *c, const char *kid) {
    pthread_mutex_lock(&c->lock);
    bool needs = false;
    if (!c->is_static) {
        long long now = c->now();
        bool known = false;
        for (size_t i = 0; kid && i < c->n_keys && !known; i++)
            known = c->keys[i]->kid && strcmp(c->keys[i]->kid, kid) == 0;
        if (!kid)
            known = c->n_keys > 0;
        needs = c->fetching || ((is_stale(c, now) || !known) && may_attempt(c, now));
    }
    pthread_mutex_unlock(&c->lock);
    return needs;
}
