#include "gate/oidc_discovery.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define WELL_KNOWN "/.well-known/openid-configuration"

char *oidc_discovery_url(const char *issuer) {
    if (!issuer || !*issuer)
        return NULL;
    size_t n = strlen(issuer);
    if (issuer[n - 1] == '/')
        n--;
    char *url = malloc(n + sizeof WELL_KNOWN);
    if (!url)
        return NULL;
    memcpy(url, issuer, n);
    memcpy(url + n, WELL_KNOWN, sizeof WELL_KNOWN);
    return url;
}

oidc_provider_metadata *oidc_provider_metadata_free(oidc_provider_metadata *m) {
    if (!m)
        return NULL;
    free(m->issuer);
    free(m->jwks_uri);
    json_decref(m->document);
    free(m);
    return NULL;
}

int oidc_discover(const char *issuer, const jwks_http_options *http, oidc_provider_metadata **ret, error_info *err) {
    if (!issuer || !*issuer)
        return error_set(err, EINVAL, "no OIDC issuer configured (set oidc_issuer_url)");
    char *url = oidc_discovery_url(issuer);
    if (!url)
        return error_set(err, ENOMEM, "out of memory");
    char *body = NULL;
    size_t len = 0;
    int r = jwks_http_get(url, http, "OpenID configuration", &body, &len, err);
    if (r < 0) {
        free(url);
        return r;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    free(body);
    if (!json_is_object(doc)) {
        json_decref(doc);
        r = error_set(err, EBADMSG, "the OpenID configuration at %s is not a JSON object", url);
        free(url);
        return r;
    }
    const char *said = json_string_value(json_object_get(doc, "issuer"));
    if (!said || strcmp(said, issuer) != 0) {
        r = error_set(err, EPERM,
                      "issuer mismatch: discovery says %s%s%s but the configured issuer is %s (they must be identical, "
                      "including any trailing \"/\")",
                      said ? "\"" : "", said ? said : "nothing", said ? "\"" : "", issuer);
        json_decref(doc);
        free(url);
        return r;
    }
    const char *jwks_uri = json_string_value(json_object_get(doc, "jwks_uri"));
    bool allow_http = http && http->allow_http;
    if (!jwks_uri || !*jwks_uri) {
        r = error_set(err, EBADMSG, "the OpenID configuration at %s has no jwks_uri", url);
    } else if (strncmp(jwks_uri, "https://", 8) != 0 && !(allow_http && strncmp(jwks_uri, "http://", 7) == 0)) {
        r = error_set(err, EBADMSG, "the OpenID configuration at %s has a jwks_uri that is not https://", url);
    }
    free(url);
    if (r < 0) {
        json_decref(doc);
        return r;
    }
    oidc_provider_metadata *m = calloc(1, sizeof *m);
    if (!m || !(m->issuer = strdup(issuer)) || !(m->jwks_uri = strdup(jwks_uri))) {
        json_decref(doc);
        oidc_provider_metadata_free(m);
        return error_set(err, ENOMEM, "out of memory");
    }
    m->document = doc;
    *ret = m;
    return 0;
}
