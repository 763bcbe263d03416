#include "gate/oidc.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/strv.h"
#include "gate/oidc_discovery.h"

/* After a failed discovery, the next attempt waits this long: a down IdP is not hammered by every
 * request, and requests meanwhile get the stored reason at once. */
#define OIDC_RETRY_SECONDS 5

struct oidc_gate {
    pthread_mutex_t lock;
    char *issuer;
    char **audiences;
    char **algorithms;
    oidc_options opts; /* strings point into the copies above or are copied below */
    unsigned char *secret;
    char *username_claim, *username_prefix, *groups_claim, *groups_prefix, *ca_file;
    jwks_cache *keys;
    /* NULL until discovery succeeded, then never replaced: published with a release store, so
     * oidc_gate_needs_network reads it without the lock, which a first discovery may hold for seconds. */
    _Atomic(jwt_validator *) validator;
    char *token_endpoint;     /* from discovery; NULL when the issuer names none */
    long long retry_after;
    char last_error[ERROR_INFO_MESSAGE_MAX];
};

static long long now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec;
}

int oidc_gate_new(const oidc_options *opts, oidc_gate **ret, error_info *err) {
    if (!opts->issuer || !*opts->issuer)
        return error_set(err, EINVAL, "the OpenID issuer URL is empty: set oidc_issuer_url (or authorization_url)");
    if (!opts->audiences || !opts->audiences[0])
        return error_set(err, EINVAL, "no audience to accept: set oidc_audience or base_url");
    oidc_gate *g = calloc(1, sizeof *g);
    if (!g)
        return -ENOMEM;
    bool oom = false;
    g->issuer = strdup_tracked(opts->issuer, &oom);
    g->audiences = strv_copy(opts->audiences, &oom);
    g->algorithms = strv_copy(opts->algorithms, &oom);
    g->username_claim = strdup_tracked(opts->username_claim, &oom);
    g->username_prefix = strdup_tracked(opts->username_prefix, &oom);
    g->groups_claim = strdup_tracked(opts->groups_claim, &oom);
    g->groups_prefix = strdup_tracked(opts->groups_prefix, &oom);
    g->ca_file = strdup_tracked(opts->ca_file, &oom);
    if (opts->hs256_secret && opts->hs256_secret_len) {
        g->secret = malloc(opts->hs256_secret_len);
        if (g->secret)
            memcpy(g->secret, opts->hs256_secret, opts->hs256_secret_len);
        else
            oom = true;
    }
    if (oom) {
        oidc_gate_free(g);
        return -ENOMEM;
    }
    g->opts = *opts;
    g->opts.issuer = g->issuer;
    g->opts.audiences = (const char *const *)g->audiences;
    g->opts.algorithms = (const char *const *)g->algorithms;
    g->opts.username_claim = g->username_claim;
    g->opts.username_prefix = g->username_prefix;
    g->opts.groups_claim = g->groups_claim;
    g->opts.groups_prefix = g->groups_prefix;
    g->opts.ca_file = g->ca_file;
    g->opts.hs256_secret = g->secret;
    pthread_mutex_init(&g->lock, NULL);
    *ret = g;
    return 0;
}

oidc_gate *oidc_gate_free(oidc_gate *g) {
    if (!g)
        return NULL;
    jwt_validator_free(atomic_load(&g->validator));
    jwks_cache_free(g->keys);
    free(g->token_endpoint);
    free(g->issuer);
    strv_free(g->audiences);
    strv_free(g->algorithms);
    free(g->username_claim);
    free(g->username_prefix);
    free(g->groups_claim);
    free(g->groups_prefix);
    free(g->ca_file);
    if (g->secret) {
        memset(g->secret, 0, g->opts.hs256_secret_len);
        free(g->secret);
    }
    pthread_mutex_destroy(&g->lock);
    free(g);
    return NULL;
}

/* Discovery, keys and the validator, once. Called with the lock held. */
static int ensure_validator(oidc_gate *g, error_info *err) {
    if (atomic_load_explicit(&g->validator, memory_order_relaxed))
        return 0;
    if (g->retry_after && now_seconds() < g->retry_after)
        return error_set(err, EAGAIN, "%s", g->last_error);
    jwks_http_options http = {.ca_file = g->opts.ca_file, .allow_http = g->opts.allow_http};
    oidc_provider_metadata *meta = NULL;
    jwt_validator *validator = NULL;
    int r = oidc_discover(g->issuer, &http, &meta, err);
    if (r == 0) {
        jwks_options jo = {.jwks_uri = meta->jwks_uri, .http = http};
        r = jwks_cache_new(&jo, &g->keys, err);
    }
    if (r == 0) {
        jwt_policy policy = {
            .issuer = g->issuer,
            .audiences = g->opts.audiences,
            .algorithms = g->opts.algorithms,
            .clock_skew_seconds = g->opts.clock_skew_seconds,
            .require_at_jwt_typ = g->opts.require_at_jwt_typ,
            .hs256_secret = g->opts.hs256_secret,
            .hs256_secret_len = g->opts.hs256_secret_len,
            .username_claim = g->opts.username_claim,
            .username_prefix = g->opts.username_prefix,
            .groups_claim = g->opts.groups_claim,
            .groups_prefix = g->opts.groups_prefix,
        };
        r = jwt_validator_new(&policy, g->keys, &validator, err);
        if (r < 0)
            g->keys = jwks_cache_free(g->keys);
    }
    const char *token_endpoint = r == 0 ? json_string_value(json_object_get(meta->document, "token_endpoint")) : NULL;
    if (token_endpoint && *token_endpoint && !(g->token_endpoint = strdup(token_endpoint))) {
        validator = jwt_validator_free(validator);
        g->keys = jwks_cache_free(g->keys);
        r = error_set(err, ENOMEM, "out of memory");
    }
    oidc_provider_metadata_free(meta);
    if (r < 0) {
        snprintf(g->last_error, sizeof g->last_error, "%s", err ? err->message : "the OpenID issuer is unavailable");
        g->retry_after = now_seconds() + OIDC_RETRY_SECONDS;
        return -EAGAIN;
    }
    atomic_store_explicit(&g->validator, validator, memory_order_release);
    return 0;
}

int oidc_gate_validate(oidc_gate *g, const char *token, jwt_result **ret, error_info *err) {
    pthread_mutex_lock(&g->lock);
    int r = ensure_validator(g, err);
    jwt_validator *v = atomic_load_explicit(&g->validator, memory_order_relaxed);
    pthread_mutex_unlock(&g->lock);
    if (r < 0)
        return r;
    /* The validator is never replaced once built, so it is used without the lock. */
    return jwt_validate(v, token, ret, err);
}

bool oidc_gate_needs_network(oidc_gate *g, const char *token) {
    jwt_validator *v = atomic_load_explicit(&g->validator, memory_order_acquire);
    return !v || jwt_validator_needs_network(v, token);
}

int oidc_gate_token_endpoint(oidc_gate *g, char **ret, error_info *err) {
    pthread_mutex_lock(&g->lock);
    int r = ensure_validator(g, err);
    char *url = NULL;
    if (r == 0 && !g->token_endpoint)
        r = error_set(err, ENOENT, "the OpenID configuration of %s names no token_endpoint", g->issuer);
    else if (r == 0 && !(url = strdup(g->token_endpoint)))
        r = error_set(err, ENOMEM, "out of memory");
    pthread_mutex_unlock(&g->lock);
    if (r == 0)
        *ret = url;
    return r;
}
