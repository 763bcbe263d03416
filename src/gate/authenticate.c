#include "gate/authenticate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

struct gate {
    gate_options opts;
};

int gate_new(const gate_options *opts, gate **ret, error_info *err) {
    if (opts->cluster_mode == GATE_CLUSTER_IMPERSONATE && !opts->tokenreview)
        return error_set(err, EINVAL,
                         "cluster_auth_mode \"impersonate\" needs a validated caller: turn on validate_token, so "
                         "kubemcp knows whom to impersonate");
    gate *g = calloc(1, sizeof *g);
    if (!g)
        return -ENOMEM;
    g->opts = *opts;
    *ret = g;
    return 0;
}

gate *gate_free(gate *g) {
    free(g);
    return NULL;
}

void gate_decision_clear(gate_decision *d) {
    d->bearer = bearer_free(d->bearer);
    d->identity = caller_identity_free(d->identity);
    free(d->principal);
    d->principal = NULL;
    d->has_credential = false;
    memset(&d->credential, 0, sizeof d->credential);
}

static char *token_principal(const char *token) {
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)token, strlen(token), digest);
    char *out = malloc(7 + 2 * SHA256_DIGEST_LENGTH + 1);
    if (!out)
        return NULL;
    memcpy(out, "sha256:", 7);
    for (size_t i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", digest[i]);
    return out;
}

static void audit_decision(gate *g, const gate_decision *d, const char *source_address) {
    if (!g->opts.audit)
        return;
    audit_event event = {
        .kind = "authentication",
        .identity = d->identity,
        .source_address = source_address,
        .outcome = d->http_status ? "refused" : "allowed",
        .reason = d->http_status || !d->identity ? d->message : NULL,
        .duration_ms = -1,
    };
    audit_log_write(g->opts.audit, &event);
}

static void refuse(gate_decision *d, int status, const char *code, const char *message) {
    d->http_status = status;
    d->error_code = code;
    snprintf(d->message, sizeof d->message, "%s", message);
}

void gate_authenticate(gate *g, const bearer_headers *headers, const char *source_address, gate_decision *d) {
    memset(d, 0, sizeof *d);
    error_info err = {0};
    char *token = NULL;
    if (g->opts.cluster_mode != GATE_CLUSTER_KUBECONFIG || g->opts.require_token || g->opts.tokenreview) {
        if (bearer_from_headers(headers, &token, &err) < 0) {
            refuse(d, 401, "invalid_request", err.message);
            goto out;
        }
    }
    if (!token) {
        if (g->opts.require_token) {
            refuse(d, 401, "invalid_request", "bearer token required in Authorization header");
            goto out;
        }
        d->principal = strdup("");
        snprintf(d->message, sizeof d->message, "no bearer token: the server's own credentials are used");
        goto out;
    }

    if (g->opts.tokenreview) {
        int r = tokenreview_check(g->opts.tokenreview, token, &d->identity, &err);
        if (r == -EACCES) {
            refuse(d, 401, "invalid_token", err.message);
            goto out;
        }
        if (r < 0) {
            refuse(d, 503, "temporarily_unavailable", err.message);
            goto out;
        }
    }
    d->principal = d->identity ? strdup(d->identity->username) : token_principal(token);
    if (!d->principal) {
        refuse(d, 503, "temporarily_unavailable", "out of memory");
        goto out;
    }
    switch (g->opts.cluster_mode) {
    case GATE_CLUSTER_PASSTHROUGH:
        d->bearer = token;
        token = NULL;
        d->has_credential = true;
        d->credential.bearer_token = d->bearer;
        break;
    case GATE_CLUSTER_IMPERSONATE:
        d->has_credential = true;
        d->credential.impersonate_user = d->identity->username;
        d->credential.impersonate_groups = (const char *const *)d->identity->groups;
        d->credential.impersonate_uid = d->identity->uid;
        break;
    case GATE_CLUSTER_KUBECONFIG:
        break;
    }
    if (d->identity)
        snprintf(d->message, sizeof d->message, "authenticated as %s by TokenReview", d->identity->username);
    else
        snprintf(d->message, sizeof d->message, "bearer token passed through unvalidated");
out:
    token = bearer_free(token);
    if (d->http_status)
        gate_decision_clear(d);
    audit_decision(g, d, source_address);
}
