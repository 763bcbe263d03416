/* kubemcp as an OAuth resource server for an external OpenID issuer: discovery and the issuer's
 * keys are fetched lazily (on the first token, and retried after a failure), then every bearer is
 * validated as a JWT (gate/jwt.h) and mapped to a Kubernetes identity. */
#ifndef KUBEMCP_GATE_OIDC_H
#define KUBEMCP_GATE_OIDC_H

#include <stdbool.h>

#include "core/error_info.h"
#include "gate/jwt.h"

typedef struct oidc_options {
    const char *issuer;                  /* compared exactly with iss and the discovery document */
    const char *const *audiences;        /* NULL-terminated: the resource URI and/or a client id */
    const char *const *algorithms;       /* NULL = jwt.h's default allowlist */
    bool allow_http;                     /* a plain-http issuer (loopback development and tests) */
    const char *ca_file;                 /* PEM bundle for the issuer; NULL = system store */
    long clock_skew_seconds;
    bool require_at_jwt_typ;
    const unsigned char *hs256_secret;   /* seed 004's HS256 with a shared secret; NULL = off */
    size_t hs256_secret_len;
    const char *username_claim, *username_prefix, *groups_claim, *groups_prefix;
} oidc_options;

typedef struct oidc_gate oidc_gate;

int oidc_gate_new(const oidc_options *opts, oidc_gate **ret, error_info *err);
oidc_gate *oidc_gate_free(oidc_gate *g);

/* 0 and a result reference (release with jwt_result_unref); -EACCES with a short reason (401);
 * -EAGAIN when the issuer or its keys cannot be reached (503). May block on the network. */
int oidc_gate_validate(oidc_gate *g, const char *token, jwt_result **ret, error_info *err);

/* Whether oidc_gate_validate would go to the network for this token. */
bool oidc_gate_needs_network(oidc_gate *g, const char *token);

/* The issuer's token_endpoint from its discovery document (fetched first if need be), as a new
 * string. -ENOENT when the document names none; -EAGAIN when discovery fails (err says why). */
int oidc_gate_token_endpoint(oidc_gate *g, char **ret, error_info *err);

#endif
