/* libFuzzer target: the STS's answer to an RFC 8693 token exchange (token_exchange_parse_response).
 * The first byte picks the HTTP status (200, 400, 401, 403, 404, 500, 503) and, in its high bit,
 * whether issued_token_type is required; the rest is the body.
 * Invariants besides memory safety: an accepted answer has a non-empty access token of RFC 6750
 * b64token characters no longer than a bearer kubemcp accepts; a refusal has a message of printable
 * ASCII (it goes into a WWW-Authenticate header and logs) that never contains the access_token,
 * error_description or subject-looking words the body carried when longer than 32 characters.
 * Build: clang -fsanitize=fuzzer,address,undefined (KUBEMCP_FUZZ=ON). */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gate/bearer.h"
#include "gate/token_exchange.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool b64token(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > BEARER_MAX_TOKEN_BYTES)
        return false;
    size_t i = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/");
    return i > 0 && strspn(s + i, "=") == n - i;
}

/* A long string the body carried must not come back in the message. */
static void check_not_echoed(const json_t *doc, const char *member, const char *message) {
    const char *v = json_string_value(json_object_get(doc, member));
    if (!v)
        return;
    /* Any run of 33 non-space characters from it. */
    size_t n = strlen(v);
    for (size_t i = 0; i + 33 <= n; i++) {
        if (memchr(v + i, ' ', 33))
            continue;
        char needle[34];
        memcpy(needle, v + i, 33);
        needle[33] = '\0';
        if (strstr(message, needle))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0 || size > TOKEN_EXCHANGE_MAX_RESPONSE + 16)
        return 0;
    static const long statuses[] = {200, 400, 401, 403, 404, 500, 503, 200};
    long status = statuses[data[0] & 7];
    bool require_type = (data[0] & 0x80) != 0;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;

    token_exchange_response out = {0};
    error_info err = {0};
    int r = token_exchange_parse_response(status, body, len, require_type, &out, &err);
    if (r == 0) {
        if (status != 200 || !out.access_token || !b64token(out.access_token) || out.expires_in < 0)
            abort();
        if (require_type && !out.issued_token_type)
            abort();
        token_exchange_response_clear(&out);
        if (out.access_token || out.issued_token_type)
            abort();
        return 0;
    }
    if (out.access_token || !err.message[0])
        abort();
    if (r != -EACCES && r != -EPERM && r != -EAGAIN && r != -EBADMSG && r != -EMSGSIZE && r != -ENOMEM)
        abort();
    for (const char *p = err.message; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            abort();
    json_t *doc = json_loadb(body, len, 0, NULL);
    if (json_is_object(doc)) {
        check_not_echoed(doc, "access_token", err.message);
        check_not_echoed(doc, "error_description", err.message);
    }
    json_decref(doc);
    return 0;
}
