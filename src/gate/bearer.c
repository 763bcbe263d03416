#include "gate/bearer.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

/* RFC 6750 b64token plus what real Kubernetes tokens use (OpenShift "sha256~…" has '~'). Anything
 * else — spaces, commas, quotes, control bytes — means the header is not a single bearer token. */
static bool token_char(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("-._~+/=:", c));
}

static int parse_one(const char *header_name, const char *value, char **ret_token, error_info *err) {
    const char *p = value;
    while (*p == ' ' || *p == '\t')
        p++;
    if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t'))
        return error_set(err, EINVAL, "the %s header must be \"Bearer <token>\"", header_name);
    p += 6;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t len = strlen(p);
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    if (len == 0)
        return error_set(err, EINVAL, "the %s header has an empty bearer token", header_name);
    /* The header is well formed, but what it carries cannot be a token: a malformed token
     * (RFC 6750 §3.1 invalid_token), not a malformed request. */
    if (len > BEARER_MAX_TOKEN_BYTES)
        return error_set(err, EBADMSG, "the bearer token in the %s header is longer than %d bytes", header_name,
                         BEARER_MAX_TOKEN_BYTES);
    for (size_t i = 0; i < len; i++)
        if (!token_char((unsigned char)p[i]))
            return error_set(err, EBADMSG, "the bearer token in the %s header contains characters a token cannot have",
                             header_name);
    char *token = strndup(p, len);
    if (!token)
        return -ENOMEM;
    *ret_token = token;
    return 0;
}

int bearer_from_headers(const bearer_headers *h, char **ret_token, error_info *err) {
    /* Two Authorization headers could smuggle a second identity past a proxy that checked the
     * first: refuse rather than pick one. */
    if (h->authorization_count > 1)
        return error_set(err, EINVAL, "the Authorization header was sent more than once");
    if (h->kubernetes_authorization_count > 1)
        return error_set(err, EINVAL, "the kubernetes-authorization header was sent more than once");
    if (h->authorization_count == 1)
        return parse_one("Authorization", h->authorization[0], ret_token, err);
    if (h->kubernetes_authorization_count == 1)
        return parse_one("kubernetes-authorization", h->kubernetes_authorization[0], ret_token, err);
    *ret_token = NULL;
    return 0;
}

char *bearer_free(char *token) {
    if (token) {
        OPENSSL_cleanse(token, strlen(token));
        free(token);
    }
    return NULL;
}
