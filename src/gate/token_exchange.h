/* OAuth 2.0 Token Exchange (RFC 8693) toward Kubernetes: the caller's validated access token (the
 * "subject token", issued for kubemcp) is exchanged at a security token service for a token the
 * cluster accepts, and that token is what the cluster sees. The MCP authorization spec forbids
 * passing the MCP-audience token itself on.
 *
 * Exchanged tokens are cached, keyed by the SHA-256 of the subject token (the subject token itself
 * is never stored), until the earlier of their own expiry and the subject token's, less a margin.
 * Concurrent misses for one subject token share one request to the STS. Refusals are remembered
 * briefly; after a transport failure the STS is left alone for a few seconds and misses fail fast
 * with the same reason.
 *
 * Messages never contain the subject token, the exchanged token or the client secret: an STS's
 * error_description is reduced to RFC 6749's character set, bounded, and long opaque words in it
 * are elided. Thread-safe. */
#ifndef KUBEMCP_GATE_TOKEN_EXCHANGE_H
#define KUBEMCP_GATE_TOKEN_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error_info.h"
#include "gate/jwks.h"

#define TOKEN_EXCHANGE_GRANT_TYPE "urn:ietf:params:oauth:grant-type:token-exchange"
#define TOKEN_EXCHANGE_TYPE_ACCESS_TOKEN "urn:ietf:params:oauth:token-type:access_token"
#define TOKEN_EXCHANGE_TYPE_JWT "urn:ietf:params:oauth:token-type:jwt"

/* The largest STS answer read (a token is at most BEARER_MAX_TOKEN_BYTES). */
#define TOKEN_EXCHANGE_MAX_RESPONSE (64 * 1024)
#define TOKEN_EXCHANGE_DEFAULT_MAX_ENTRIES 10000
#define TOKEN_EXCHANGE_DEFAULT_MARGIN 30       /* seconds before expiry an exchanged token is renewed */
#define TOKEN_EXCHANGE_DEFAULT_TTL 60          /* cache life of a token whose answer had no expires_in */
#define TOKEN_EXCHANGE_DEFAULT_NEGATIVE_TTL 10 /* how long a refusal is remembered */
#define TOKEN_EXCHANGE_RETRY_SECONDS 5         /* quiet time after the STS could not be reached */

typedef enum token_exchange_strategy {
    TOKEN_EXCHANGE_RFC8693,     /* requested_token_type=access_token; issued_token_type required */
    TOKEN_EXCHANGE_KEYCLOAK_V1, /* Keycloak's legacy exchange: no requested_token_type */
} token_exchange_strategy;

typedef enum token_exchange_auth_style {
    TOKEN_EXCHANGE_AUTH_PARAMS, /* client_id (and client_secret) in the form body */
    TOKEN_EXCHANGE_AUTH_HEADER, /* HTTP Basic, RFC 6749 §2.3.1 (both parts form-urlencoded first) */
} token_exchange_auth_style;

typedef struct token_exchange_options {
    token_exchange_strategy strategy;
    /* The STS endpoint; NULL = ask token_url_source once (the issuer's discovered token_endpoint). */
    const char *token_url;
    int (*token_url_source)(void *opaque, char **ret_url, error_info *err);
    void *token_url_opaque;
    const char *client_id;              /* NULL = no client authentication */
    const char *client_secret;          /* NULL = a public client; copied and wiped on free */
    token_exchange_auth_style auth_style;
    const char *audience;               /* NULL = none sent */
    const char *const *scopes;          /* NULL-terminated; sent space-separated; NULL = none */
    jwks_http_options http;             /* CA file, plain http (tests), timeout; max_body is capped */
    size_t max_entries;                 /* 0 = TOKEN_EXCHANGE_DEFAULT_MAX_ENTRIES */
    long margin_seconds;                /* 0 = TOKEN_EXCHANGE_DEFAULT_MARGIN */
    long default_ttl_seconds;           /* 0 = TOKEN_EXCHANGE_DEFAULT_TTL */
    long negative_ttl_seconds;          /* 0 = TOKEN_EXCHANGE_DEFAULT_NEGATIVE_TTL */
} token_exchange_options;

typedef struct token_exchange token_exchange;

typedef struct token_exchange_stats {
    unsigned long long hits;      /* answered from the cache (tokens and remembered refusals) */
    unsigned long long misses;
    unsigned long long exchanges; /* requests sent to the STS */
    unsigned long long coalesced; /* misses that waited for another caller's request */
    size_t entries;
} token_exchange_stats;

/* -EINVAL with a message for options that cannot work (no endpoint and no source, a secret or the
 * header style without a client id). Does not contact the STS. */
int token_exchange_new(const token_exchange_options *opts, token_exchange **ret, error_info *err);
token_exchange *token_exchange_free(token_exchange *tx);

/* The token the cluster sees for subject_token (already validated by the caller; subject_exp is
 * its exp, 0 = unknown). May block on the network. 0 and *ret_token (owned: wipe and free it, e.g.
 * with bearer_free); -EACCES when the STS refused the subject token (invalid_grant: the caller
 * answers 401); any other negative errno when the exchange could not be done (503): -EPERM the
 * STS refused kubemcp's request (invalid_client, invalid_target, …: a configuration problem),
 * -EBADMSG an answer that is not a usable token response, -EAGAIN/-ECONNREFUSED/… the STS could not
 * be reached. err says which, without any token or secret. */
int token_exchange_get(token_exchange *tx, const char *subject_token, long long subject_exp, char **ret_token,
                       error_info *err);

/* Whether token_exchange_get would go to the network for this subject token (nothing cached or
 * remembered, or another caller's request is still running): the transport then runs it off its
 * own threads. */
bool token_exchange_needs_network(token_exchange *tx, const char *subject_token);

token_exchange_stats token_exchange_get_stats(token_exchange *tx);

/* For tests: the clock (seconds) the cache uses; NULL restores the real one. */
void token_exchange_set_clock(token_exchange *tx, long long (*now)(void));

/* ---- the STS answer, exposed for the unit tests and the fuzz target ---- */

typedef struct token_exchange_response {
    char *access_token;      /* owned; wiped by token_exchange_response_clear */
    char *issued_token_type; /* owned; NULL when the answer had none (accepted for keycloak-v1) */
    long long expires_in;    /* seconds; 0 when the answer had none */
} token_exchange_response;

/* Parses the STS's answer (HTTP status and body, RFC 8693 §2.2). 200: a JSON object with a
 * non-empty access_token of RFC 6750 b64token characters, at most BEARER_MAX_TOKEN_BYTES;
 * token_type "Bearer" (any case); issued_token_type access_token or jwt (required unless
 * !require_issued_type); expires_in, when present, a positive integer. Other members are ignored
 * (RFC 6749 §5.1). Anything else is -EBADMSG. A 4xx/5xx with an RFC 6749 §5.2 error document is
 * -EACCES for invalid_grant and -EPERM for the other codes; a 5xx without one is -EAGAIN, other
 * answers -EBADMSG. Writes *ret only on success. */
int token_exchange_parse_response(long status, const char *body, size_t len, bool require_issued_type,
                                  token_exchange_response *ret, error_info *err);
void token_exchange_response_clear(token_exchange_response *r);

#endif
