/* libFuzzer target: the upstream authorization server metadata parser (gate/as_metadata.h) and the
 * RFC 8414 URL builder. The first byte picks the kind (RFC 8414 or OpenID), whether http:// URLs are
 * allowed and whether kubemcp's scopes replace scopes_supported; the rest is the document.
 * Invariants besides memory safety:
 *   - an accepted document comes back as a JSON object whose issuer is the configured one, with the
 *     required members present and typed, and parsing that output again gives the same text
 *     (nothing it contains would be filtered out: only valid registered members survive);
 *   - a refusal has a message and one of the documented codes;
 *   - the URL builder answers NULL or a URL that keeps the issuer's scheme and authority.
 * Build: clang -fsanitize=fuzzer,address,undefined (KUBEMCP_FUZZ=ON). */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "gate/as_metadata.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ISSUER "https://idp.example.com/tenant1"

static void check_accepted(const char *json, as_metadata_kind kind, const as_metadata_policy *p) {
    json_t *doc = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(doc) || !json_is_string(json_object_get(doc, "issuer")) ||
        strcmp(json_string_value(json_object_get(doc, "issuer")), ISSUER) != 0)
        abort();
    static const char *const urls[] = {"authorization_endpoint", "token_endpoint"};
    for (size_t i = 0; i < sizeof urls / sizeof *urls; i++) {
        const char *u = json_string_value(json_object_get(doc, urls[i]));
        if (!u || (strncasecmp(u, "https://", 8) != 0 && !p->allow_http) || strchr(u, '#'))
            abort();
    }
    if (!json_is_array(json_object_get(doc, "response_types_supported")))
        abort();
    if (kind == AS_METADATA_OPENID && !json_is_string(json_object_get(doc, "jwks_uri")))
        abort();
    json_t *scopes = json_object_get(doc, "scopes_supported");
    if (p->scopes && p->scopes[0] &&
        (json_array_size(scopes) != 1 || strcmp(json_string_value(json_array_get(scopes, 0)), p->scopes[0]) != 0))
        abort();
    json_decref(doc);
    /* Idempotent: the served document passes its own filter unchanged. */
    char *again = NULL;
    error_info err = {0};
    if (as_metadata_parse(json, strlen(json), kind, p, &again, &err) != 0 || strcmp(again, json) != 0)
        abort();
    free(again);
}

static void check_url(const char *issuer) {
    char *url = as_metadata_oauth_url(issuer);
    if (!url)
        return;
    const char *sep = strstr(issuer, "://");
    if (!sep)
        abort();
    size_t head = (size_t)(sep + 3 - issuer) + strcspn(sep + 3, "/");
    if (strncmp(url, issuer, head) != 0 || strncmp(url + head, "/.well-known/oauth-authorization-server", 39) != 0)
        abort();
    free(url);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0 || size > 65536)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    static const char *const ours[] = {"mcp:read", NULL};
    as_metadata_policy p = {
        .issuer = ISSUER,
        .allow_http = mode & 2,
        .scopes = mode & 4 ? ours : NULL,
    };
    as_metadata_kind kind = mode & 1 ? AS_METADATA_OPENID : AS_METADATA_OAUTH;
    char *json = NULL;
    error_info err = {0};
    int r = as_metadata_parse((const char *)data, size, kind, &p, &json, &err);
    if (r == 0) {
        check_accepted(json, kind, &p);
        free(json);
    } else if (json || !err.message[0] || (r != -ENODATA && r != -EBADMSG && r != -EPERM && r != -ENOMEM)) {
        abort();
    }
    /* The same bytes as an issuer URL. */
    char *issuer = malloc(size + 1);
    if (!issuer)
        return 0;
    memcpy(issuer, data, size);
    issuer[size] = '\0';
    check_url(issuer);
    free(issuer);
    return 0;
}
