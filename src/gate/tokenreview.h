/* Validating a caller's Kubernetes token with a TokenReview before any operation (seed 001's
 * validate_token), with a cache so a busy client costs one review per token and TTL, not one per
 * call. Entries are keyed by the SHA-256 of the token: the token itself is never stored. */
#ifndef KUBEMCP_GATE_TOKENREVIEW_H
#define KUBEMCP_GATE_TOKENREVIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error_info.h"
#include "gate/identity.h"
#include "kube/kube.h"

typedef struct tokenreview_options {
    kube_cluster *cluster;          /* borrowed: reviews are sent with the server's own credentials */
    const char *const *audiences;   /* NULL-terminated; NULL = the API server's default audiences */
    long positive_ttl_seconds;      /* 0 = 300; a JWT's own exp shortens it */
    long negative_ttl_seconds;      /* 0 = 10 */
    size_t max_entries;             /* 0 = 10000 */
} tokenreview_options;

typedef struct tokenreview_cache tokenreview_cache;

typedef struct tokenreview_stats {
    unsigned long long hits;
    unsigned long long misses;
    unsigned long long reviews; /* requests sent to the API server */
    size_t entries;
} tokenreview_stats;

int tokenreview_cache_new(const tokenreview_options *opts, tokenreview_cache **ret);
tokenreview_cache *tokenreview_cache_free(tokenreview_cache *c);

/* 0 and a new identity when the API server authenticates the token; -EACCES when it does not (err
 * says why, in the API server's words, without the token); -EAGAIN or another negative errno when
 * the review itself could not be done (the caller answers 503, and nothing is cached). */
int tokenreview_check(tokenreview_cache *c, const char *token, caller_identity **ret, error_info *err);

/* Whether tokenreview_check would answer this token from the cache, without a network call. */
bool tokenreview_cached(tokenreview_cache *c, const char *token);

tokenreview_stats tokenreview_cache_stats(tokenreview_cache *c);

/* For tests: the clock the cache uses (seconds); NULL restores the real one. */
void tokenreview_cache_set_clock(tokenreview_cache *c, long long (*now)(void));

#endif
