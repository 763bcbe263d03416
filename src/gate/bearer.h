/* Finding the caller's bearer token in HTTP headers: `Authorization: Bearer …`, falling back to the
 * legacy `kubernetes-authorization` header, which carries the same "Bearer x" value (the Go peer's
 * spelling). The token is checked for shape only; whether it is good is Kubernetes' (or the
 * TokenReview's, or the OIDC validator's) decision. */
#ifndef KUBEMCP_GATE_BEARER_H
#define KUBEMCP_GATE_BEARER_H

#include <stddef.h>

#include "core/error_info.h"

/* Longest token accepted: real ones (JWTs with many groups, OpenShift sha256~) stay far below. */
#define BEARER_MAX_TOKEN_BYTES 16384

typedef struct bearer_headers {
    const char *const *authorization;            /* every Authorization header value, in order */
    size_t authorization_count;
    const char *const *kubernetes_authorization; /* every kubernetes-authorization value */
    size_t kubernetes_authorization_count;
} bearer_headers;

/* 0 and *ret_token (owned, NUL-terminated) when a bearer token is present; 0 and *ret_token = NULL
 * when neither header is present; the caller answers 401 to -EINVAL when a header is present but
 * malformed (another scheme, an empty token, the header sent more than once: invalid_request) and
 * to -EBADMSG when the token in it is (oversized, control characters, spaces or commas inside:
 * invalid_token). The message never contains the token. */
int bearer_from_headers(const bearer_headers *h, char **ret_token, error_info *err);

/* Overwrites and frees a token; returns NULL. */
char *bearer_free(char *token);

#endif
