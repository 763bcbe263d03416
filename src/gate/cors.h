/* Origin policy for the HTTP transports: which browser origins may call us (ALLOWED_ORIGINS, seed 003
 * rules), the per-request Origin/Host check the MCP spec requires (DNS-rebinding protection), and the
 * CORS response headers for an allowed origin.
 *
 * Origins are compared after normalisation to scheme://host:port: lower-case scheme and host, the
 * default port (80/443) made explicit, IPv6 literals in brackets in their canonical form. */
#ifndef KUBEMCP_GATE_CORS_H
#define KUBEMCP_GATE_CORS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error_info.h"

/* Limits on ALLOWED_ORIGINS: a longer list or entry is refused at start-up. */
#define CORS_MAX_ORIGINS 100
#define CORS_ORIGIN_MAX 2048

/* Seconds a browser may cache a preflight answer (Chromium caps it at 7200). */
#define CORS_PREFLIGHT_MAX_AGE "3600"

/* A policy is immutable once built (set_allow_credentials belongs to setup), so any number of
 * threads may use it at once without locking. */
typedef struct cors_policy cors_policy;

/* Parses a comma-separated ALLOWED_ORIGINS value (NULL or "" = no origin allowed). Whitespace around
 * entries is trimmed and empty entries are ignored; duplicates (after normalisation) collapse.
 * An invalid entry fails with -EINVAL and a message naming the entry and the rule it breaks;
 * wildcards ("*", or a host such as *.example.com) are refused. *ret is written only on success. */
int cors_policy_new(const char *allowed_origins_csv, cors_policy **ret, error_info *err);
cors_policy *cors_policy_free(cors_policy *p);

/* Off by default: kubemcp authenticates with bearer tokens, not cookies, so browsers need no
 * credentialed CORS; turning it on lets an allowed origin send ambient credentials. */
void cors_policy_set_allow_credentials(cors_policy *p, bool allow);

/* The normalised entries, for a start-up log line. Borrowed; valid until cors_policy_free. */
size_t cors_policy_count(const cors_policy *p);
const char *cors_policy_origin(const cors_policy *p, size_t i);

/* True when origin (a request's Origin header value) equals an allowed origin after normalisation.
 * NULL, "null" and malformed values are never allowed. p may be NULL (nothing allowed). */
bool cors_origin_allowed(const cors_policy *p, const char *origin);

typedef enum access_decision { ACCESS_ALLOW, ACCESS_FORBIDDEN_ORIGIN, ACCESS_FORBIDDEN_HOST } access_decision;

/* origin/host may be NULL (header absent). bound_to_loopback: the server listens on 127.0.0.0/8 or
 * ::1. server_port: our port (0 = unknown: any port is accepted for our own loopback origin).
 *
 * - bound to loopback: Host, when present, must name 127.0.0.1, localhost or [::1], with any port,
 *   case-insensitively (a rebound DNS name fails here) -> else ACCESS_FORBIDDEN_HOST. The port is not
 *   checked so SSH tunnels (-L 9000:localhost:8080) keep working; it plays no part in rebinding.
 * - Origin, when present, must be an allowed origin or, when bound to loopback, our own loopback
 *   origin (http or https, 127.0.0.1 | localhost | [::1], port server_port) -> else
 *   ACCESS_FORBIDDEN_ORIGIN. "null" and malformed values are forbidden.
 * The Host check runs first. The answer for either FORBIDDEN value is HTTP 403. */
access_decision access_check(const cors_policy *p, bool bound_to_loopback, unsigned server_port, const char *host,
                             const char *origin);

/* Calls add(opaque, name, value) for each CORS response header to send for this request origin:
 * none unless cors_origin_allowed(p, origin). Access-Control-Allow-Origin carries the origin as a
 * browser serialises it (default port omitted), which is what the browser compares against.
 * preflight: the request is an OPTIONS preflight (adds the Allow-Methods/-Headers/Max-Age set).
 * The strings passed to add are valid only during the call. */
void cors_response_headers(const cors_policy *p, const char *origin, bool preflight,
                           void (*add)(void *opaque, const char *name, const char *value), void *opaque);

#endif
