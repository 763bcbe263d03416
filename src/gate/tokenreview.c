#include "gate/tokenreview.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "core/base64.h"

#define DEFAULT_POSITIVE_TTL 300
#define DEFAULT_NEGATIVE_TTL 10
#define DEFAULT_MAX_ENTRIES 10000
/* The payload of a JWT we peek into for its exp; larger ones are simply not peeked at. */
#define JWT_PAYLOAD_MAX 8192

typedef struct review_entry {
    struct review_entry *next;
    unsigned char key[SHA256_DIGEST_LENGTH];
    bool authenticated;
    caller_identity *identity; /* when authenticated */
    char error[256];           /* when not */
    long long expires;
} review_entry;

struct tokenreview_cache {
    kube_cluster *cluster;
    json_t *audiences; /* JSON array, or NULL */
    long positive_ttl;
    long negative_ttl;
    size_t max_entries;
    pthread_mutex_t lock;
    review_entry **buckets;
    size_t bucket_count; /* a power of two */
    size_t count;
    tokenreview_stats stats;
    long long (*now)(void);
};

static long long real_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec;
}

int tokenreview_cache_new(const tokenreview_options *opts, tokenreview_cache **ret) {
    if (!opts || !opts->cluster)
        return -EINVAL;
    tokenreview_cache *c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    c->cluster = opts->cluster;
    c->positive_ttl = opts->positive_ttl_seconds > 0 ? opts->positive_ttl_seconds : DEFAULT_POSITIVE_TTL;
    c->negative_ttl = opts->negative_ttl_seconds > 0 ? opts->negative_ttl_seconds : DEFAULT_NEGATIVE_TTL;
    c->max_entries = opts->max_entries ? opts->max_entries : DEFAULT_MAX_ENTRIES;
    c->bucket_count = 64;
    while (c->bucket_count < c->max_entries)
        c->bucket_count *= 2;
    c->buckets = calloc(c->bucket_count, sizeof *c->buckets);
    if (opts->audiences && opts->audiences[0]) {
        c->audiences = json_array();
        for (size_t i = 0; opts->audiences[i]; i++)
            json_array_append_new(c->audiences, json_string(opts->audiences[i]));
    }
    if (!c->buckets) {
        free(c);
        return -ENOMEM;
    }
    c->now = real_now;
    pthread_mutex_init(&c->lock, NULL);
    *ret = c;
    return 0;
}

static void entry_free(review_entry *e) {
    caller_identity_free(e->identity);
    free(e);
}

tokenreview_cache *tokenreview_cache_free(tokenreview_cache *c) {
    if (!c)
        return NULL;
    for (size_t i = 0; i < c->bucket_count; i++) {
        review_entry *e = c->buckets[i];
        while (e) {
            review_entry *next = e->next;
            entry_free(e);
            e = next;
        }
    }
    free(c->buckets);
    json_decref(c->audiences);
    pthread_mutex_destroy(&c->lock);
    free(c);
    return NULL;
}

void tokenreview_cache_set_clock(tokenreview_cache *c, long long (*now)(void)) {
    c->now = now ? now : real_now;
}

tokenreview_stats tokenreview_cache_stats(tokenreview_cache *c) {
    pthread_mutex_lock(&c->lock);
    tokenreview_stats s = c->stats;
    s.entries = c->count;
    pthread_mutex_unlock(&c->lock);
    return s;
}

static size_t bucket_of(const tokenreview_cache *c, const unsigned char *key) {
    size_t h = 0;
    memcpy(&h, key, sizeof h);
    return h & (c->bucket_count - 1);
}

/* Drops expired entries; if the cache is still full, drops the oldest-inserted chain of the
 * bucket the new entry goes to. Called with the lock held. */
static void make_room(tokenreview_cache *c, size_t bucket, long long now) {
    if (c->count < c->max_entries)
        return;
    for (size_t i = 0; i < c->bucket_count; i++) {
        review_entry **p = &c->buckets[i];
        while (*p) {
            if ((*p)->expires <= now) {
                review_entry *dead = *p;
                *p = dead->next;
                entry_free(dead);
                c->count--;
            } else {
                p = &(*p)->next;
            }
        }
    }
    while (c->count >= c->max_entries && c->buckets[bucket]) {
        review_entry *dead = c->buckets[bucket];
        c->buckets[bucket] = dead->next;
        entry_free(dead);
        c->count--;
    }
    /* Still full (every other bucket holds live entries): drop one elsewhere. */
    for (size_t i = 0; c->count >= c->max_entries && i < c->bucket_count; i++) {
        if (c->buckets[i]) {
            review_entry *dead = c->buckets[i];
            c->buckets[i] = dead->next;
            entry_free(dead);
            c->count--;
        }
    }
}

/* Answers from the cache: 1 with the result filled, 0 on a miss. Lock held. */
static int lookup(tokenreview_cache *c, const unsigned char *key, long long now, caller_identity **ret,
                  error_info *err, int *ret_r) {
    review_entry **p = &c->buckets[bucket_of(c, key)];
    while (*p) {
        review_entry *e = *p;
        if (CRYPTO_memcmp(e->key, key, sizeof e->key) == 0) {
            if (e->expires <= now) {
                *p = e->next;
                entry_free(e);
                c->count--;
                return 0;
            }
            if (e->authenticated) {
                *ret = caller_identity_copy(e->identity);
                *ret_r = *ret ? 0 : -ENOMEM;
            } else {
                *ret_r = error_set(err, EACCES, "%s", e->error);
            }
            return 1;
        }
        p = &e->next;
    }
    return 0;
}

/* A JWT-shaped token's exp claim (unverified — used only to stop caching it past its life), or 0. */
static long long jwt_expiry(const char *token) {
    const char *dot1 = strchr(token, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    if (!dot1 || !dot2 || strncmp(token, "eyJ", 3) != 0)
        return 0;
    size_t encoded_len = (size_t)(dot2 - dot1 - 1), len;
    unsigned char *payload = NULL;
    if (base64_decoded_max(encoded_len) > JWT_PAYLOAD_MAX ||
        base64url_decode_strict(dot1 + 1, encoded_len, &payload, &len) < 0)
        return 0;
    json_t *claims = json_loadb((const char *)payload, len, 0, NULL);
    free(payload);
    long long exp = json_is_integer(json_object_get(claims, "exp")) ? json_integer_value(json_object_get(claims, "exp")) : 0;
    json_decref(claims);
    return exp > 0 ? exp : 0;
}

static void wipe_response(kube_response *r) {
    /* A TokenReview answer echoes the token in spec.token. */
    if (r->body)
        OPENSSL_cleanse(r->body, r->body_len);
    kube_response_clear(r);
}

/* Sends one TokenReview. 0: authenticated (identity set); -EACCES: not (message set); other: the
 * review failed. */
static int review(tokenreview_cache *c, const char *token, caller_identity **ret_identity, error_info *err) {
    json_t *spec = json_pack("{s:s}", "token", token);
    if (c->audiences)
        json_object_set(spec, "audiences", c->audiences);
    json_t *body = json_pack("{s:s, s:s, s:o}", "apiVersion", "authentication.k8s.io/v1", "kind", "TokenReview",
                             "spec", spec);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return error_set(err, ENOMEM, "out of memory");
    kube_request req = {
        .method = "POST",
        .path = "/apis/authentication.k8s.io/v1/tokenreviews",
        .content_type = "application/json",
        .body = text,
        .body_len = strlen(text),
        .max_response_bytes = 1024 * 1024,
    };
    kube_response resp = {0};
    int r = kube_do(c->cluster, &req, &resp, err);
    OPENSSL_cleanse(text, strlen(text));
    free(text);
    if (r < 0) {
        error_prefix(err, "cannot validate the token (TokenReview)");
        return -EAGAIN;
    }
    if (resp.status >= 400) {
        kube_response_error(&resp, err);
        wipe_response(&resp);
        error_prefix(err, "the TokenReview was refused (the server's own credentials need permission to create "
                          "tokenreviews, e.g. the system:auth-delegator ClusterRole)");
        return -EAGAIN;
    }
    json_t *answer = kube_response_json(&resp, err);
    wipe_response(&resp);
    if (!answer)
        return -EAGAIN;
    json_t *status = json_object_get(answer, "status");
    json_t *user = json_object_get(status, "user");
    if (!json_is_true(json_object_get(status, "authenticated"))) {
        const char *why = json_string_value(json_object_get(status, "error"));
        error_set(err, EACCES, "the token was not accepted by the Kubernetes API server%s%s", why ? ": " : "",
                  why ? why : "");
        /* The answer still holds the token in spec.token. */
        json_object_del(json_object_get(answer, "spec"), "token");
        json_decref(answer);
        return -EACCES;
    }
    const char *groups[256];
    size_t n = 0;
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(user, "groups"), i, g) {
        if (json_is_string(g) && n < sizeof groups / sizeof *groups)
            groups[n++] = json_string_value(g);
    }
    caller_identity *id = caller_identity_new(json_string_value(json_object_get(user, "username")),
                                              json_string_value(json_object_get(user, "uid")), groups, n,
                                              "tokenreview");
    json_object_del(json_object_get(answer, "spec"), "token");
    json_decref(answer);
    if (!id)
        return error_set(err, ENOMEM, "out of memory");
    if (!id->username[0]) {
        caller_identity_free(id);
        return error_set(err, EACCES, "the TokenReview named no user for this token");
    }
    *ret_identity = id;
    return 0;
}

int tokenreview_check(tokenreview_cache *c, const char *token, caller_identity **ret, error_info *err) {
    if (!token || !*token)
        return error_set(err, EACCES, "no bearer token to review");
    unsigned char key[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)token, strlen(token), key);
    long long now = c->now();

    int r = 0;
    pthread_mutex_lock(&c->lock);
    int found = lookup(c, key, now, ret, err, &r);
    if (found)
        c->stats.hits++;
    else
        c->stats.misses++;
    pthread_mutex_unlock(&c->lock);
    if (found)
        return r;

    /* The review runs without the lock; two concurrent misses for one token both ask, which is
     * harmless and keeps a slow API server from serialising every caller. */
    caller_identity *id = NULL;
    r = review(c, token, &id, err);
    pthread_mutex_lock(&c->lock);
    c->stats.reviews++;
    pthread_mutex_unlock(&c->lock);
    if (r < 0 && r != -EACCES)
        return r;

    review_entry *e = calloc(1, sizeof *e);
    if (e) {
        memcpy(e->key, key, sizeof key);
        e->authenticated = r == 0;
        if (r == 0) {
            e->identity = caller_identity_copy(id);
            long long expires = now + c->positive_ttl;
            long long exp = jwt_expiry(token);
            if (exp > 0 && exp < expires)
                expires = exp;
            e->expires = expires;
        } else {
            snprintf(e->error, sizeof e->error, "%s", err ? err->message : "token not accepted");
            e->expires = now + c->negative_ttl;
        }
        if ((r == 0 && !e->identity) || e->expires <= now) {
            entry_free(e);
        } else {
            pthread_mutex_lock(&c->lock);
            size_t b = bucket_of(c, key);
            make_room(c, b, now);
            e->next = c->buckets[b];
            c->buckets[b] = e;
            c->count++;
            pthread_mutex_unlock(&c->lock);
        }
    }
    if (r == 0)
        *ret = id;
    return r;
}

bool tokenreview_cached(tokenreview_cache *c, const char *token) {
    if (!token || !*token)
        return true;
    unsigned char key[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)token, strlen(token), key);
    long long now = c->now();
    bool found = false;
    pthread_mutex_lock(&c->lock);
    for (const review_entry *e = c->buckets[bucket_of(c, key)]; e && !found; e = e->next)
        found = CRYPTO_memcmp(e->key, key, sizeof e->key) == 0 && e->expires > now;
    pthread_mutex_unlock(&c->lock);
    return found;
}
