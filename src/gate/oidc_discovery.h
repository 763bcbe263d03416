/* OpenID Connect Discovery for an external issuer: fetches <issuer>/.well-known/openid-configuration
 * (bounded, HTTPS), insists that the document's "issuer" is the configured issuer exactly (a
 * mix-up defence: the metadata of one issuer must never be used for another), and hands back the
 * jwks_uri plus the whole document, from which kubemcp later builds its RFC 8414 and protected
 * resource metadata. */
#ifndef KUBEMCP_GATE_OIDC_DISCOVERY_H
#define KUBEMCP_GATE_OIDC_DISCOVERY_H

#include <jansson.h>

#include "core/error_info.h"
#include "gate/jwks.h"

typedef struct oidc_provider_metadata {
    char *issuer;      /* equal to the configured issuer */
    char *jwks_uri;
    json_t *document;  /* the whole discovery document (owned reference) */
} oidc_provider_metadata;

/* The discovery URL for issuer: a trailing "/" is dropped before the well-known suffix (OpenID
 * Connect Discovery §4.1). Returns a heap string or NULL. */
char *oidc_discovery_url(const char *issuer);

/* 0 and the metadata; otherwise a negative errno and a message for the operator:
 * -ECONNREFUSED/-ETIMEDOUT/…: "the IdP at X is unreachable: …"; -EBADMSG: not a JSON object, no
 * jwks_uri, or a jwks_uri that is not https; -EPERM: "issuer mismatch: discovery says …". */
int oidc_discover(const char *issuer, const jwks_http_options *http, oidc_provider_metadata **ret, error_info *err);

oidc_provider_metadata *oidc_provider_metadata_free(oidc_provider_metadata *m);

#endif
