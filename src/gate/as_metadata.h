/* The external issuer's authorization server metadata, served again at kubemcp's own origin
 * (/.well-known/oauth-authorization-server[/…] and /.well-known/openid-configuration[/…]) for MCP
 * clients of the 2025-03-26 spec, which look for it there, and for users of the Go peer, which
 * serves them too.
 *
 * The RFC 8414 document is the issuer's own (fetched in the path-insertion form of RFC 8414 §3.1);
 * when the issuer publishes none (404, or an empty body or object, as Entra ID does) it is built
 * from the issuer's openid-configuration. Either way only registered metadata members with the
 * right JSON types are kept, the upstream "issuer" must equal the configured issuer exactly, and
 * scopes_supported is replaced by the scopes kubemcp advertises in its Protected Resource Metadata
 * when it has any (what a client should ask for to call kubemcp, as the peer does). Documents are
 * cached for a TTL; a failure is remembered for a few seconds so a down IdP is not hammered.
 *
 * Thread-safe. as_metadata_peek never blocks; as_metadata_get may (it fetches), so the HTTP
 * transport calls it on a worker thread. */
#ifndef KUBEMCP_GATE_AS_METADATA_H
#define KUBEMCP_GATE_AS_METADATA_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error_info.h"
#include "gate/jwks.h"

#define AS_METADATA_TTL 300
/* After a failed fetch, requests get the stored error this long before the next attempt. */
#define AS_METADATA_RETRY_SECONDS 5
/* A document that could not be refreshed is still served this long after it was fetched. */
#define AS_METADATA_MAX_STALE 3600
/* Real documents are a few KiB; the IdP is remote-controlled input. */
#define AS_METADATA_MAX_BYTES (256 * 1024)
#define AS_METADATA_TIMEOUT 5
/* Bounds inside a document: longer arrays, strings or URLs drop the member. */
#define AS_METADATA_MAX_ARRAY 256
#define AS_METADATA_MAX_STRING 512
#define AS_METADATA_MAX_URL 2048

typedef enum as_metadata_kind {
    AS_METADATA_OAUTH,  /* RFC 8414 */
    AS_METADATA_OPENID, /* OpenID Connect Discovery 1.0 */
} as_metadata_kind;

/* What a document must satisfy; also what as_metadata_parse needs. */
typedef struct as_metadata_policy {
    const char *issuer;         /* the configured issuer; the document's must be identical */
    bool allow_http;            /* http:// endpoint URLs (loopback development and tests) */
    const char *const *scopes;  /* NULL-terminated; non-empty replaces scopes_supported */
} as_metadata_policy;

/* Validates an upstream document and returns the one kubemcp serves (compact JSON, heap):
 * registered members only (RFC 8414 §2 and the OpenID Connect Discovery members it registers in
 * §7.1.2, plus RFC 9207's and the MCP client ID metadata document flag), each with its JSON type
 * checked (endpoint URLs absolute https://, no fragment; arrays of non-empty strings; booleans); a
 * member that fails is dropped. Errors: -ENODATA for an empty body, whitespace or {} (the issuer
 * publishes nothing there); -EBADMSG for anything else that is not a JSON object, or a required
 * member (issuer, authorization_endpoint, token_endpoint, response_types_supported; for OpenID also
 * jwks_uri, subject_types_supported, id_token_signing_alg_values_supported) missing or invalid;
 * -EPERM when its issuer is not the configured one. Messages name the member, never its value. */
int as_metadata_parse(const char *text, size_t len, as_metadata_kind kind, const as_metadata_policy *policy,
                      char **ret_json, error_info *err);

/* Where the issuer publishes its RFC 8414 document: the well-known segment inserted between host
 * and path, any terminating "/" of the path removed (RFC 8414 §3.1). NULL for an issuer that is
 * not an absolute http(s) URL or has a query or fragment. */
char *as_metadata_oauth_url(const char *issuer);

typedef struct as_metadata_options {
    as_metadata_policy policy;  /* strings are copied */
    jwks_http_options http;     /* ca_file copied; 0 timeout / size = the defaults above */
    long ttl_seconds;           /* 0 = AS_METADATA_TTL */
} as_metadata_options;

typedef struct as_metadata as_metadata;

/* Does not fetch. -EINVAL with a message when the issuer has no usable RFC 8414 URL. */
int as_metadata_new(const as_metadata_options *opts, as_metadata **ret, error_info *err);
as_metadata *as_metadata_free(as_metadata *m);

/* Without blocking: 0 and a copy of the cached document (fresh, or stale while a refresh is under
 * way or failed recently); the stored error of a recent failure; -EWOULDBLOCK when only a fetch
 * can answer. */
int as_metadata_peek(as_metadata *m, as_metadata_kind kind, char **ret_json, error_info *err);

/* The document, fetching it when the cache cannot answer (one fetch at a time per kind; others
 * wait for it). 0 and a heap copy; otherwise a negative errno with a message for the operator and
 * the client: -ECONNREFUSED, -EHOSTUNREACH, -ETIMEDOUT, -EPROTO, -EIO when the IdP cannot be
 * reached; -EBADMSG, -EPERM, -EMSGSIZE, -ENODATA when it answered with something unusable. */
int as_metadata_get(as_metadata *m, as_metadata_kind kind, char **ret_json, error_info *err);

/* The HTTP status for a failure of as_metadata_get/peek: 503 when the IdP is unreachable, else
 * 502 (it answered, but not with a usable document). */
unsigned as_metadata_error_status(int r);

/* For tests: the monotonic clock (seconds) the cache uses; NULL restores the real one. */
void as_metadata_set_clock(as_metadata *m, long long (*now)(void));

#endif
