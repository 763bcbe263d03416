/* The signing keys of an external OpenID issuer: a JSON Web Key Set fetched from its jwks_uri
 * (bounded, HTTPS), cached for a TTL, refetched when a token names a key we do not know (at most
 * once per min_refetch_interval, so a stream of made-up kids cannot turn us into a load generator
 * against the IdP), and served from the cache while the IdP is down: keys are only replaced by a
 * later successful fetch. Also built from a static JWKS string (static key configuration, tests).
 *
 * Thread-safe. Keys handed out are reference-counted: a key stays usable by the request holding it
 * even when a refetch replaces the set. */
#ifndef KUBEMCP_GATE_JWKS_H
#define KUBEMCP_GATE_JWKS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjose/jwk.h>

#include "core/error_info.h"

#define JWKS_DEFAULT_TTL 300
#define JWKS_DEFAULT_MIN_REFETCH_INTERVAL 30
#define JWKS_DEFAULT_TIMEOUT 10
#define JWKS_DEFAULT_MAX_BODY (1024 * 1024)
/* More keys than this in one set is not a real IdP; the rest are ignored. */
#define JWKS_MAX_KEYS 64

/* How documents are fetched from the IdP (shared with oidc_discovery and token_exchange). */
typedef struct jwks_http_options {
    const char *ca_file;    /* PEM bundle to trust; NULL = the system store */
    bool allow_http;        /* plain http:// (tests, loopback development only) */
    long timeout_seconds;   /* whole transfer; 0 = JWKS_DEFAULT_TIMEOUT */
    size_t max_body_bytes;  /* 0 = JWKS_DEFAULT_MAX_BODY */
} jwks_http_options;

/* A bounded GET of url, expecting 200 and a body (no redirects are followed). what names the
 * document in messages ("JWKS", "OpenID configuration"). On success *ret_body is a NUL-terminated
 * heap string the caller frees. -ECONNREFUSED/-EHOSTUNREACH/-ETIMEDOUT/-EPROTO: "the IdP at X is
 * unreachable: …"; -EMSGSIZE: too large; -EBADMSG: a non-200 answer; -EINVAL: a bad URL. */
int jwks_http_get(const char *url, const jwks_http_options *opts, const char *what, char **ret_body,
                  size_t *ret_len, error_info *err);

/* The same GET, except that any HTTP status is an answer: 0 with *ret_status and the body (possibly
 * empty), for documents whose absence (404) is meaningful. */
int jwks_http_get_status(const char *url, const jwks_http_options *opts, const char *what, long *ret_status,
                         char **ret_body, size_t *ret_len, error_info *err);

/* A bounded POST of an application/x-www-form-urlencoded body (a token endpoint), with the same
 * transport rules and errors as jwks_http_get, except that any HTTP status is an answer: 0 with
 * *ret_status and the body (possibly empty, an OAuth error document for a 400). authorization, when
 * not NULL, is sent as the Authorization header value ("Basic …"). The form and that header carry
 * credentials: they are never put in a message, and the header copy made here is wiped. */
int jwks_http_post_form(const char *url, const jwks_http_options *opts, const char *what, const char *form,
                        size_t form_len, const char *authorization, long *ret_status, char **ret_body,
                        size_t *ret_len, error_info *err);

typedef struct jwks_options {
    const char *jwks_uri;                /* https:// (http:// only with http.allow_http) */
    jwks_http_options http;
    long ttl_seconds;                    /* 0 = JWKS_DEFAULT_TTL */
    long min_refetch_interval_seconds;   /* 0 = JWKS_DEFAULT_MIN_REFETCH_INTERVAL */
} jwks_options;

typedef struct jwks_cache jwks_cache;
typedef struct jwks_key jwks_key;

typedef enum jwks_kty {
    JWKS_KTY_RSA,
    JWKS_KTY_EC,
} jwks_kty;

typedef struct jwks_stats {
    unsigned long long fetches;        /* attempts, successful or not */
    unsigned long long fetch_failures;
    size_t keys;                       /* in the current set */
    long long fetched_at;              /* last successful fetch (cache clock), 0 = never */
} jwks_stats;

/* Does not fetch: the first lookup (or jwks_cache_refresh) does. -EINVAL with a message for a
 * missing or non-https URI. */
int jwks_cache_new(const jwks_options *opts, jwks_cache **ret, error_info *err);

/* A fixed set from JSON text ({"keys":[…]}); never fetched. Refuses a set with no usable key. */
int jwks_cache_new_static(const char *jwks_json, size_t len, jwks_cache **ret, error_info *err);

jwks_cache *jwks_cache_free(jwks_cache *c);

/* The key for a token: by kid, or when kid is NULL the only key that fits alg (a set with several
 * candidates and a token without kid is ambiguous and refused). May block on the network: an
 * expired set or an unknown kid triggers a fetch under the rate limit.
 * 0 and a new reference in *ret; -ENOENT "unknown signing key"; -EAGAIN when no keys could ever be
 * fetched (err says why: the caller answers 503, not 401). */
int jwks_cache_get_key(jwks_cache *c, const char *kid, const char *alg, jwks_key **ret, error_info *err);

/* Fetches now, outside the rate limit (startup, an operator's reload). On failure the current keys
 * stay and -EAGAIN says why. A static set answers 0. */
int jwks_cache_refresh(jwks_cache *c, error_info *err);

/* Whether jwks_cache_get_key for this kid would go to the network (the transport then runs the
 * validation off its own threads). */
bool jwks_cache_needs_fetch(jwks_cache *c, const char *kid);

jwks_stats jwks_cache_stats(jwks_cache *c);

/* Changes whenever a fetch removed a key (the IdP rotated it out): results verified with the old set
 * must be verified again, since their key may be the one gone. Adding keys does not change it. */
unsigned long long jwks_cache_generation(jwks_cache *c);

/* For tests: the clock (seconds) the cache uses; NULL restores the real one. */
void jwks_cache_set_clock(jwks_cache *c, long long (*now)(void));

/* Key accessors; the key is immutable while referenced. */
const cjose_jwk_t *jwks_key_jwk(const jwks_key *k);
jwks_kty jwks_key_kty(const jwks_key *k);
const char *jwks_key_kid(const jwks_key *k); /* NULL when the JWK has none */
const char *jwks_key_alg(const jwks_key *k); /* the JWK's "alg", NULL when absent */
const char *jwks_key_crv(const jwks_key *k); /* "P-256", "P-384", "P-521" for EC keys, else NULL */
size_t jwks_key_bits(const jwks_key *k);
/* Whether this key may verify a signature made with JWS algorithm alg (kty, curve, the JWK's own
 * alg). HS* never fits: shared secrets do not come from a JWKS. */
bool jwks_key_fits_alg(const jwks_key *k, const char *alg);
jwks_key *jwks_key_ref(jwks_key *k);
jwks_key *jwks_key_unref(jwks_key *k);

#endif
