/* A user-facing error: a human message saying what went wrong and what to do.
 * Plumbing returns negative errno; anything a user will read goes through error_info. */
#ifndef KUBEMCP_CORE_ERROR_INFO_H
#define KUBEMCP_CORE_ERROR_INFO_H

#include <stddef.h>

#define ERROR_INFO_MESSAGE_MAX 1024

typedef struct error_info {
    char message[ERROR_INFO_MESSAGE_MAX];
    /* HTTP status of the Kubernetes answer that caused the error, 0 when none. */
    int http_status;
} error_info;

/* Formats into err->message (truncating safely). err may be NULL. Returns -code so callers can
 * write `return error_set(err, -EINVAL, "...")`; code must be a positive errno value or 0. */
int error_set(error_info *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prefixes the existing message: "context: old message". */
void error_prefix(error_info *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void error_clear(error_info *err);

#endif
