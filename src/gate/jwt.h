/* Validating an access token issued by an external OpenID issuer (kubemcp as an OAuth resource
 * server): a compact JWS, checked against an algorithm allowlist and the issuer's JWKS (or a
 * configured HS256 secret), then iss / aud / exp / nbf / iat / typ / sub, and mapped to a
 * Kubernetes identity the way kube-apiserver's --oidc-* options map claims.
 *
 * Every refusal leaves a short reason in err ("token expired", "audience mismatch", …) that is safe
 * to log and to put in a WWW-Authenticate error_description: it never contains the token or any
 * claim value. A validator keeps verified tokens in a cache keyed by the SHA-256 of the token, so a
 * token seen before costs a hash and a lookup; a JWKS refetch that removes a key empties it in
 * effect (jwks_cache_generation), so no token outlives its key there. */
#ifndef KUBEMCP_GATE_JWT_H
#define KUBEMCP_GATE_JWT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/error_info.h"
#include "gate/identity.h"
#include "gate/jwks.h"

/* Larger bearer tokens are refused before any parsing. */
#define JWT_MAX_TOKEN_BYTES 16384
#define JWT_DEFAULT_CACHE_ENTRIES 10000
#define JWT_DEFAULT_CACHE_TTL 300
/* RFC 7518 §3.2: an HS256 key must be at least as long as the hash. */
#define JWT_MIN_HS256_SECRET 32

typedef struct jwt_policy {
    const char *issuer;                 /* required; compared exactly (a trailing "/" matters) */
    const char *const *audiences;       /* required, NULL-terminated: aud must contain one exactly */
    const char *const *algorithms;      /* NULL-terminated allowlist; NULL = RS256 RS384 RS512 PS256 ES256 ES384
                                         * (+ HS256 when a secret is set). "none" is always refused. */
    long clock_skew_seconds;            /* leeway for exp / nbf / iat; 0 = none */
    bool require_at_jwt_typ;            /* header typ must be "at+jwt" or "application/at+jwt" (RFC 9068) */
    const unsigned char *hs256_secret;  /* shared secret for HS256 (seed 004); NULL = HS256 refused */
    size_t hs256_secret_len;
    const char *username_claim;         /* NULL = "sub" */
    const char *username_prefix;        /* NULL = "<issuer>#" unless the claim is "email"; "-" = no prefix */
    const char *groups_claim;           /* NULL = no groups */
    const char *groups_prefix;          /* NULL = none */
    size_t cache_max_entries;           /* 0 = JWT_DEFAULT_CACHE_ENTRIES */
    long cache_max_ttl_seconds;         /* 0 = JWT_DEFAULT_CACHE_TTL; an entry never outlives the token's exp */
} jwt_policy;

/* A validated token. Immutable and reference-counted: the validator's cache and every caller
 * holding it share one copy. */
typedef struct jwt_result {
    char *subject;      /* sub */
    char *username;     /* username_claim with its prefix */
    char **groups;      /* NULL-terminated, prefixed */
    size_t group_count;
    char **scopes;      /* NULL-terminated, from "scope" (space-separated) or "scp" (array or string) */
    size_t scope_count;
    long long exp;
    const char *alg;    /* the algorithm that verified it (static string) */
    json_t *claims;     /* the whole payload; read-only (shared between threads) */
} jwt_result;

typedef struct jwt_validator jwt_validator;

/* Checks the policy (issuer and audiences set, no "none", HS256 only with a secret of at least 32
 * bytes, every listed algorithm supported) and copies it. keys is borrowed and may be NULL only when
 * HS256 is the only algorithm. */
int jwt_validator_new(const jwt_policy *policy, jwks_cache *keys, jwt_validator **ret, error_info *err);
jwt_validator *jwt_validator_free(jwt_validator *v);

/* 0 and a new reference in *ret (release with jwt_result_unref); -EACCES when the token is refused
 * (err holds the short reason); -EAGAIN when the issuer's keys cannot be had (the caller answers
 * 503); -ENOMEM. May block on the network (JWKS fetch) unless jwt_validator_cached is true. */
int jwt_validate(jwt_validator *v, const char *token, jwt_result **ret, error_info *err);

/* Whether jwt_validate would answer this token from its cache. */
bool jwt_validator_cached(jwt_validator *v, const char *token);

/* Whether jwt_validate may block on the network for this token (not cached, and its key needs a
 * JWKS fetch): the transport then runs the validation off its own threads. */
bool jwt_validator_needs_network(jwt_validator *v, const char *token);

/* The same checks without a validator and its cache (now in seconds since the epoch). */
int jwt_validate_once(const char *token, const jwt_policy *policy, jwks_cache *keys, long long now, jwt_result **ret,
                      error_info *err);

jwt_result *jwt_result_ref(jwt_result *r);
jwt_result *jwt_result_unref(jwt_result *r);

/* Whether the token granted scope (exact match). */
bool jwt_result_has_scope(const jwt_result *r, const char *scope);

/* The Kubernetes identity the token stands for (username, groups, no uid; source "oidc"), as
 * kube-apiserver would build it from the same token. */
caller_identity *jwt_result_identity(const jwt_result *r);

typedef struct jwt_cache_stats {
    unsigned long long hits;
    unsigned long long misses;
    size_t entries;
} jwt_cache_stats;

jwt_cache_stats jwt_validator_stats(jwt_validator *v);

/* For tests: the clock (seconds) the validator uses; NULL restores the real one. */
void jwt_validator_set_clock(jwt_validator *v, long long (*now)(void));

#endif
