#include "core/error_info.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int error_set(error_info *err, int code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return -code;
}

void error_prefix(error_info *err, const char *fmt, ...) {
    if (!err)
        return;
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    char old[sizeof err->message];
    memcpy(old, err->message, sizeof old);
    snprintf(err->message, sizeof err->message, "%s: %s", prefix, old);
}

void error_clear(error_info *err) {
    if (err) {
        err->message[0] = '\0';
        err->http_status = 0;
    }
}
