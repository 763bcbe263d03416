/* Minting a service-account token through the TokenRequest API
 * (POST /api/v1/namespaces/NS/serviceaccounts/NAME/token), as `kubectl create token` does. */
#ifndef KUBEMCP_KUBE_TOKENREQUEST_H
#define KUBEMCP_KUBE_TOKENREQUEST_H

#include "core/error_info.h"
#include "kube/kube.h"

typedef struct token_request {
    const char *namespace_name;
    const char *service_account;
    long long expiration_seconds;   /* 0 = the API server's default (1 h); it enforces at least 600 */
    const char *const *audiences;   /* NULL-terminated, NULL = the API server's own audiences */
    const kube_credential *credential; /* who asks: NULL = the cluster's own credentials */
} token_request;

typedef struct token_grant {
    char *token;                /* owned; wipe with token_grant_clear */
    char *expiration_timestamp; /* RFC 3339, owned */
} token_grant;

/* The API server's refusal (RBAC, unknown service account) reaches err in its own words. */
int token_request_create(kube_cluster *cluster, const token_request *req, token_grant *ret, error_info *err);
void token_grant_clear(token_grant *grant);

#endif
