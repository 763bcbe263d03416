/* The gate's decision for one HTTP request: who is calling (bearer from the headers, optionally
 * validated with a TokenReview) and what the cluster will see for the calls the request starts
 * (the caller's bearer, the server's own credentials, the server's credentials impersonating the
 * validated caller, or a token the STS issued for the caller by RFC 8693 token exchange).
 * Transport-independent: the HTTP layer hands in the header values and turns a refusal into
 * 401/503. */
#ifndef KUBEMCP_GATE_AUTHENTICATE_H
#define KUBEMCP_GATE_AUTHENTICATE_H

#include <stdbool.h>

#include "core/config.h"
#include "core/error_info.h"
#include "gate/audit.h"
#include "gate/bearer.h"
#include "gate/identity.h"
#include "gate/oidc.h"
#include "gate/token_exchange.h"
#include "gate/tokenreview.h"
#include "kube/kube.h"

typedef enum gate_cluster_mode {
    GATE_CLUSTER_PASSTHROUGH, /* the caller's bearer when present, else the server's credentials */
    GATE_CLUSTER_KUBECONFIG,  /* always the server's credentials; headers are ignored */
    GATE_CLUSTER_IMPERSONATE, /* the server's credentials + Impersonate-User/Group of the validated caller */
    GATE_CLUSTER_EXCHANGE,    /* the validated caller's token exchanged at an STS (RFC 8693) */
} gate_cluster_mode;

typedef struct gate_options {
    bool require_token;              /* require_oauth, or the auth-headers strategy */
    /* Per-request cluster selection (kubernetes-server header): refused unless the URL is listed
     * here, so a caller can never make us send a token to a host of its choosing. Empty = off. */
    const string_list *allowed_api_servers;
    kube_provider *provider;         /* borrowed: builds the clusters those headers name */
    gate_cluster_mode cluster_mode;
    tokenreview_cache *tokenreview;  /* borrowed; NULL = tokens are not validated */
    oidc_gate *oidc;                 /* borrowed; bearer tokens are JWTs of an external issuer */
    token_exchange *exchange;        /* borrowed; GATE_CLUSTER_EXCHANGE's STS client */
    const char *const *required_scopes; /* NULL-terminated; a validated JWT must carry all (else 403) */
    const char *resource_metadata_url;  /* for the WWW-Authenticate challenge (RFC 9728); NULL = none */
    /* Per-tool scopes for JWT callers: read-only tools need read_scope, the others write_scope
     * (NULL = no such requirement). tools/list shows only what the token may call. */
    const char *read_scope;
    const char *write_scope;
    const char *const *tool_scopes; /* NULL-terminated "TOOL=SCOPE" overrides (checked by the caller) */
    audit_log *audit;                /* borrowed; NULL = no audit */
} gate_options;

typedef struct gate gate;

/* Refuses an impossible combination (impersonation without validation, token exchange without an
 * OpenID issuer) with a message. */
int gate_new(const gate_options *opts, gate **ret, error_info *err);
gate *gate_free(gate *g);

typedef struct gate_decision {
    int http_status;          /* 0 = allowed; 401 = refused; 503 = could not decide (TokenReview or token
                               * exchange failed) */
    const char *error_code;   /* for WWW-Authenticate: "invalid_request" | "invalid_token" | "insufficient_scope" |
                               * "temporarily_unavailable"; NULL when the request simply had no token */
    char challenge[1024];     /* the WWW-Authenticate value for a 401/403 */
    char message[512];        /* for the body and the audit log; never contains the token */
    /* When allowed: */
    bool has_credential;      /* false = the server's own credentials */
    kube_credential credential; /* points into the fields below */
    char *bearer;             /* owned, wiped on clear */
    caller_identity *identity; /* owned, NULL when not validated */
    char *principal;          /* owned: who this is for session binding — the identity's username, or
                               * "sha256:<hex>" of an unvalidated token, or "" for anonymous */
    kube_cluster *cluster;    /* borrowed: the cluster the kubernetes-server header chose, NULL = none */
    char **scopes;            /* owned, NULL-terminated: a validated JWT's scopes; NULL = not a JWT caller */
} gate_decision;

/* Whether the caller may use a tool: the tool's override in tool_scopes, else read_scope or
 * write_scope by its annotations. 0, or -EACCES with *ret_needed the missing scope (the transport
 * answers 403 insufficient_scope). */
int gate_tool_allowed(const gate *g, const gate_decision *d, const char *tool, bool read_only,
                      const char **ret_needed);
/* Fills d->challenge for a refused tool call (403 insufficient_scope naming the scope). */
void gate_insufficient_scope(const gate *g, gate_decision *d, const char *needed);

/* What the gate reads from one request (all borrowed; counts may be 0). */
typedef struct gate_request {
    bearer_headers bearer;
    const char *const *server;  /* kubernetes-server header values */
    size_t server_count;
    const char *const *ca_data; /* kubernetes-certificate-authority-data values (base64 PEM) */
    size_t ca_data_count;
    const char *source_address; /* may be NULL */
} gate_request;

/* Decides for one request. May block on the network (a TokenReview or token exchange not in the
 * cache). */
void gate_authenticate(gate *g, const gate_request *request, gate_decision *ret);

/* Whether gate_authenticate would need the network for this request (a token to review or
 * exchange that the caches cannot answer): the transport then runs it off its own threads. */
bool gate_needs_network(gate *g, const gate_request *request);

/* "scheme://host[:port]" lower-cased scheme and host, without a trailing "/": how
 * allowed_api_servers entries and kubernetes-server values are compared. -EINVAL if not http(s). */
int gate_normalize_server_url(const char *url, char *out, size_t out_len);
void gate_decision_clear(gate_decision *d);

#endif
