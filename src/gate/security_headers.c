#include "gate/security_headers.h"

#include <stddef.h>

static const struct {
    const char *name;
    const char *value;
} security_headers[] = {
    {"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
    {"X-Frame-Options", "DENY"},
    {"X-Content-Type-Options", "nosniff"},
    {"Referrer-Policy", "no-referrer"},
    /* Only features every current browser recognises: unknown ones print console warnings. */
    {"Permissions-Policy", "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
                           "magnetometer=(), microphone=(), midi=(), payment=(), usb=()"},
    {"Cross-Origin-Opener-Policy", "same-origin"},
    {"Cross-Origin-Resource-Policy", "same-origin"},
    /* Answers carry cluster data and session ids: no shared or browser cache may keep them. */
    {"Cache-Control", "no-store"},
};

void security_headers_each(bool tls, bool hsts_forced, void (*add)(void *opaque, const char *name, const char *value),
                           void *opaque) {
    for (size_t i = 0; i < sizeof security_headers / sizeof security_headers[0]; i++)
        add(opaque, security_headers[i].name, security_headers[i].value);
    if (tls || hsts_forced)
        add(opaque, "Strict-Transport-Security", SECURITY_HEADERS_HSTS_VALUE);
}
