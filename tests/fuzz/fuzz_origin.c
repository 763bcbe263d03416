/* libFuzzer target: ALLOWED_ORIGINS parsing and the per-request Origin/Host gate.
 * Input: "csv \n host \n origin", each part optional; the first byte also picks the bind flags.
 * Checks invariants besides memory safety: every normalised entry is allowed when sent back as an
 * Origin, an allowed origin passes access_check, and no header value carries CR/LF.
 * Build: clang -fsanitize=fuzzer,address,undefined (KUBEMCP_FUZZ=ON). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gate/cors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_header(void *opaque, const char *name, const char *value) {
    (void)opaque;
    if (strpbrk(name, "\r\n") || strpbrk(value, "\r\n") || !*value)
        abort();
}

/* The next '\n'-terminated part of the input as a NUL-terminated copy; NULL when absent. */
static char *next_part(const uint8_t **data, size_t *size) {
    if (*size == 0)
        return NULL;
    const uint8_t *nl = memchr(*data, '\n', *size);
    size_t len = nl ? (size_t)(nl - *data) : *size;
    char *s = malloc(len + 1);
    if (!s)
        return NULL;
    memcpy(s, *data, len);
    s[len] = '\0';
    *data += nl ? len + 1 : len;
    *size -= nl ? len + 1 : len;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0 || size > 16384)
        return 0;
    uint8_t flags = data[0];
    data++;
    size--;
    char *csv = next_part(&data, &size);
    char *host = next_part(&data, &size);
    char *origin = next_part(&data, &size);

    cors_policy *p = NULL;
    error_info err = {0};
    if (cors_policy_new(csv, &p, &err) < 0) {
        if (p || err.message[0] == '\0' || strchr(err.message, '\n'))
            abort(); /* a failure always explains itself, on one line */
    } else {
        if (cors_policy_count(p) > CORS_MAX_ORIGINS)
            abort();
        for (size_t i = 0; i < cors_policy_count(p); i++) {
            const char *o = cors_policy_origin(p, i);
            if (!cors_origin_allowed(p, o)) /* normalisation is idempotent */
                abort();
            if (access_check(p, false, 0, NULL, o) != ACCESS_ALLOW)
                abort();
        }
        cors_policy_set_allow_credentials(p, flags & 4);
    }

    bool loopback = flags & 1;
    unsigned port = (flags & 2) ? 8080 : 0;
    access_decision d = access_check(p, loopback, port, host, origin);
    if (d != ACCESS_ALLOW && d != ACCESS_FORBIDDEN_ORIGIN && d != ACCESS_FORBIDDEN_HOST)
        abort();
    bool allowed = cors_origin_allowed(p, origin);
    if (allowed && access_check(p, false, port, host, origin) != ACCESS_ALLOW)
        abort();
    if (origin && strcmp(origin, "null") == 0 && d == ACCESS_ALLOW)
        abort();
    cors_response_headers(p, origin, flags & 8, check_header, NULL);

    cors_policy_free(p);
    free(csv);
    free(host);
    free(origin);
    return 0;
}
