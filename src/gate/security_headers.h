/* Response headers that every HTTP answer carries, whatever the route: the server returns JSON and
 * event streams, never pages meant to be framed, sniffed, cached or given device access. */
#ifndef KUBEMCP_GATE_SECURITY_HEADERS_H
#define KUBEMCP_GATE_SECURITY_HEADERS_H

#include <stdbool.h>

#define SECURITY_HEADERS_HSTS_VALUE "max-age=31536000; includeSubDomains"

/* Calls add(opaque, name, value) once per header, in a fixed order: Content-Security-Policy,
 * X-Frame-Options, X-Content-Type-Options, Referrer-Policy, Permissions-Policy,
 * Cross-Origin-Opener-Policy, Cross-Origin-Resource-Policy, Cache-Control, and
 * Strict-Transport-Security when tls or hsts_forced (ENABLE_HSTS=true behind a TLS-terminating
 * proxy). The strings are static. */
void security_headers_each(bool tls, bool hsts_forced, void (*add)(void *opaque, const char *name, const char *value),
                           void *opaque);

#endif
