#include "gate/authenticate.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "core/base64.h"
#include "core/strv.h"

struct gate {
    gate_options opts;
};

int gate_new(const gate_options *opts, gate **ret, error_info *err) {
    if (opts->cluster_mode == GATE_CLUSTER_IMPERSONATE && !opts->tokenreview && !opts->oidc)
        return error_set(err, EINVAL,
                         "cluster_auth_mode \"impersonate\" needs a validated caller: turn on validate_token (or "
                         "configure an OpenID issuer), so kubemcp knows whom to impersonate");
    if (opts->tokenreview && opts->oidc)
        return error_set(err, EINVAL,
                         "validate_token (TokenReview) and an OpenID issuer both validate the bearer token; choose one");
    if (opts->cluster_mode == GATE_CLUSTER_EXCHANGE && (!opts->oidc || !opts->exchange))
        return error_set(err, EINVAL,
                         "token exchange needs an OpenID issuer (oidc_issuer_url): kubemcp exchanges only tokens it "
                         "has validated");
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
    strv_free(d->scopes);
    d->scopes = NULL;
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

int gate_normalize_server_url(const char *url, char *out, size_t out_len) {
    const char *rest;
    if (strncasecmp(url, "https://", 8) == 0)
        rest = url + 8;
    else if (strncasecmp(url, "http://", 7) == 0)
        rest = url + 7;
    else
        return -EINVAL;
    size_t scheme_len = (size_t)(rest - url);
    size_t len = strlen(url);
    while (len > scheme_len && url[len - 1] == '/')
        len--;
    if (len == scheme_len || len >= out_len || memchr(rest, '@', len - scheme_len) ||
        memchr(rest, '?', len - scheme_len) || memchr(rest, '#', len - scheme_len))
        return -EINVAL;
    /* Only the authority is compared case-insensitively; a path (rare for API servers) is kept. */
    const char *slash = memchr(rest, '/', len - scheme_len);
    size_t authority_end = slash ? (size_t)(slash - url) : len;
    for (size_t i = 0; i < len; i++)
        out[i] = i < authority_end ? (char)tolower((unsigned char)url[i]) : url[i];
    out[len] = '\0';
    return 0;
}

/* The kubernetes-server / kubernetes-certificate-authority-data headers: the cluster they name, if
 * allowed. 0 with *ret NULL when the request names none. */
static int header_cluster(gate *g, const gate_request *req, kube_cluster **ret, error_info *err) {
    *ret = NULL;
    if (req->server_count == 0 && req->ca_data_count == 0)
        return 0;
    if (req->server_count != 1 || req->ca_data_count > 1)
        return error_set(err, EINVAL, "send the kubernetes-server header once (and kubernetes-certificate-authority-data "
                                      "at most once)");
    char url[512];
    if (gate_normalize_server_url(req->server[0], url, sizeof url) < 0)
        return error_set(err, EINVAL, "the kubernetes-server header must be an http(s) URL without credentials, "
                                      "query or fragment");
    const string_list *allowed = g->opts.allowed_api_servers;
    bool listed = false;
    for (size_t i = 0; allowed && i < allowed->count && !listed; i++) {
        char entry[512];
        listed = gate_normalize_server_url(allowed->items[i], entry, sizeof entry) == 0 && strcmp(entry, url) == 0;
    }
    if (!listed)
        return error_set(err, EPERM,
                         allowed && allowed->count
                             ? "the kubernetes-server header names an API server that is not on this server's "
                               "allowed_api_servers list"
                             : "per-request cluster selection (the kubernetes-server header) is off on this server; "
                               "an operator can allow API servers with allowed_api_servers");
    if (!g->opts.provider)
        return error_set(err, EAGAIN, "Kubernetes access is not available on this server");
    unsigned char *ca = NULL;
    size_t ca_len = 0;
    if (req->ca_data_count == 1) {
        size_t in_len = strlen(req->ca_data[0]);
        if (in_len > 64 * 1024)
            return error_set(err, EINVAL, "the kubernetes-certificate-authority-data header is too large");
        int r = base64_decode(req->ca_data[0], in_len, &ca, &ca_len);
        if (r == -ENOMEM)
            return error_set(err, ENOMEM, "out of memory");
        /* base64_decode ends the data with a NUL, so strstr stays inside it. */
        if (r < 0 || ca_len == 0 || !strstr((const char *)ca, "-----BEGIN CERTIFICATE-----")) {
            free(ca);
            return error_set(err, EINVAL, "the kubernetes-certificate-authority-data header must be a base64-encoded "
                                          "PEM certificate, as in a kubeconfig");
        }
    }
    int r = kube_provider_cluster_for_server(g->opts.provider, url, (const char *)ca, ca_len, ret, err);
    free(ca);
    return r;
}

/* RFC 6750 / RFC 9728: a quoted-string cannot hold '"' or '\\'; keep the description plain. */
static void quoted_safe(const char *in, char *out, size_t out_len) {
    size_t n = 0;
    for (const char *p = in; *p && n + 1 < out_len; p++)
        out[n++] = (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) ? '\'' : *p;
    out[n] = '\0';
}

static void build_challenge(gate *g, gate_decision *d) {
    size_t used = (size_t)snprintf(d->challenge, sizeof d->challenge, "Bearer realm=\"kubemcp\"");
    if (g->opts.resource_metadata_url && used < sizeof d->challenge)
        used += (size_t)snprintf(d->challenge + used, sizeof d->challenge - used, ", resource_metadata=\"%s\"",
                                 g->opts.resource_metadata_url);
    if (g->opts.required_scopes && g->opts.required_scopes[0] && used < sizeof d->challenge) {
        used += (size_t)snprintf(d->challenge + used, sizeof d->challenge - used, ", scope=\"");
        for (size_t i = 0; g->opts.required_scopes[i] && used < sizeof d->challenge; i++)
            used += (size_t)snprintf(d->challenge + used, sizeof d->challenge - used, "%s%s", i ? " " : "",
                                     g->opts.required_scopes[i]);
        if (used < sizeof d->challenge)
            used += (size_t)snprintf(d->challenge + used, sizeof d->challenge - used, "\"");
    }
    /* A request that simply had no token gets no error code (RFC 6750 §3.1). */
    if (d->error_code && used < sizeof d->challenge) {
        char description[300];
        quoted_safe(d->message, description, sizeof description);
        snprintf(d->challenge + used, sizeof d->challenge - used, ", error=\"%s\", error_description=\"%s\"",
                 d->error_code, description);
    }
}

void gate_authenticate(gate *g, const gate_request *req, gate_decision *d) {
    memset(d, 0, sizeof *d);
    error_info err = {0};
    char *token = NULL;
    const char *source_address = req->source_address;
    if (g->opts.cluster_mode != GATE_CLUSTER_KUBECONFIG || g->opts.require_token || g->opts.tokenreview) {
        int br = bearer_from_headers(&req->bearer, &token, &err);
        if (br < 0) {
            refuse(d, 401, br == -EBADMSG ? "invalid_token" : "invalid_request", err.message);
            goto out;
        }
    }
    int hr = header_cluster(g, req, &d->cluster, &err);
    if (hr < 0) {
        refuse(d, hr == -EPERM ? 403 : hr == -EAGAIN ? 503 : 400, "invalid_request", err.message);
        goto out;
    }
    if (d->cluster && (!token || g->opts.cluster_mode != GATE_CLUSTER_PASSTHROUGH)) {
        /* That cluster has no credentials of ours: only the caller's own token can be used there. */
        refuse(d, token ? 400 : 401, "invalid_request",
               token ? "the kubernetes-server header works only with cluster_auth_mode \"passthrough\""
                     : "a request naming its API server (kubernetes-server) must bring a bearer token");
        goto out;
    }
    if (!token) {
        if (g->opts.require_token) {
            refuse(d, 401, NULL, "bearer token required in Authorization header");
            goto out;
        }
        d->principal = strdup("");
        snprintf(d->message, sizeof d->message, "no bearer token: the server's own credentials are used");
        goto out;
    }

    long long subject_exp = 0;
    if (g->opts.oidc) {
        jwt_result *jr = NULL;
        int r = oidc_gate_validate(g->opts.oidc, token, &jr, &err);
        if (r == -EAGAIN) {
            refuse(d, 503, "temporarily_unavailable", err.message);
            goto out;
        }
        if (r < 0) {
            refuse(d, 401, "invalid_token", err.message);
            goto out;
        }
        for (size_t i = 0; g->opts.required_scopes && g->opts.required_scopes[i]; i++) {
            if (!jwt_result_has_scope(jr, g->opts.required_scopes[i])) {
                char message[256];
                snprintf(message, sizeof message, "the token lacks the scope \"%s\"", g->opts.required_scopes[i]);
                jwt_result_unref(jr);
                refuse(d, 403, "insufficient_scope", message);
                goto out;
            }
        }
        d->identity = jwt_result_identity(jr);
        subject_exp = jr->exp;
        bool oom = false;
        d->scopes = strv_copy((const char *const *)jr->scopes, &oom);
        jwt_result_unref(jr);
        if (!d->identity || oom) {
            refuse(d, 503, "temporarily_unavailable", "out of memory");
            goto out;
        }
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
    case GATE_CLUSTER_EXCHANGE: {
        /* The MCP-audience token never goes to the cluster: the STS's token for the caller does. */
        int r = token_exchange_get(g->opts.exchange, token, subject_exp, &d->bearer, &err);
        if (r < 0) {
            refuse(d, r == -EACCES ? 401 : 503, r == -EACCES ? "invalid_token" : "temporarily_unavailable",
                   err.message);
            goto out;
        }
        d->has_credential = true;
        d->credential.bearer_token = d->bearer;
        break;
    }
    case GATE_CLUSTER_KUBECONFIG:
        break;
    }
    if (d->identity)
        snprintf(d->message, sizeof d->message, "authenticated as %s by %s%s", d->identity->username,
                 g->opts.oidc ? "the OpenID issuer's token" : "TokenReview",
                 g->opts.cluster_mode == GATE_CLUSTER_EXCHANGE ? "; the cluster sees the token exchanged for it" : "");
    else
        snprintf(d->message, sizeof d->message, "bearer token passed through unvalidated");
out:
    token = bearer_free(token);
    if (d->http_status == 401 || d->http_status == 403)
        build_challenge(g, d);
    if (d->http_status) {
        gate_decision_clear(d);
        d->cluster = NULL;
    }
    audit_decision(g, d, source_address);
}

bool gate_needs_network(gate *g, const gate_request *req) {
    if (!g->opts.tokenreview && !g->opts.oidc)
        return false;
    char *token = NULL;
    error_info err = {0};
    if (bearer_from_headers(&req->bearer, &token, &err) < 0 || !token)
        return false;
    bool network = g->opts.oidc ? oidc_gate_needs_network(g->opts.oidc, token)
                                : !tokenreview_cached(g->opts.tokenreview, token);
    if (!network && g->opts.cluster_mode == GATE_CLUSTER_EXCHANGE)
        network = token_exchange_needs_network(g->opts.exchange, token);
    bearer_free(token);
    return network;
}

/* The scope a tool_scopes entry ("TOOL=SCOPE") gives tool, or NULL. Returned pointer is into the entry. */
static const char *tool_scope_override(const gate *g, const char *tool) {
    size_t n = tool ? strlen(tool) : 0;
    for (size_t i = 0; n && g->opts.tool_scopes && g->opts.tool_scopes[i]; i++) {
        const char *e = g->opts.tool_scopes[i];
        if (strncmp(e, tool, n) == 0 && e[n] == '=')
            return e + n + 1;
    }
    return NULL;
}

int gate_tool_allowed(const gate *g, const gate_decision *d, const char *tool, bool read_only,
                      const char **ret_needed) {
    const char *needed = tool_scope_override(g, tool);
    if (!needed)
        needed = read_only ? g->opts.read_scope : g->opts.write_scope;
    if (!needed || !d->scopes)
        return 0; /* no per-tool scopes, or not a JWT caller */
    for (size_t i = 0; d->scopes[i]; i++)
        if (strcmp(d->scopes[i], needed) == 0)
            return 0;
    *ret_needed = needed;
    return -EACCES;
}

void gate_insufficient_scope(const gate *g, gate_decision *d, const char *needed) {
    d->http_status = 403;
    d->error_code = "insufficient_scope";
    snprintf(d->message, sizeof d->message, "this tool needs the scope \"%s\", which the token lacks", needed);
    size_t used = (size_t)snprintf(d->challenge, sizeof d->challenge, "Bearer realm=\"kubemcp\"");
    if (g->opts.resource_metadata_url && used < sizeof d->challenge)
        used += (size_t)snprintf(d->challenge + used, sizeof d->challenge - used, ", resource_metadata=\"%s\"",
                                 g->opts.resource_metadata_url);
    if (used < sizeof d->challenge)
        snprintf(d->challenge + used, sizeof d->challenge - used,
                 ", scope=\"%s\", error=\"insufficient_scope\", error_description=\"%s\"", needed, d->message);
}
