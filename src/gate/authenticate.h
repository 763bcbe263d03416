/* The gate's decision for one HTTP request: who is calling (bearer from the headers, optionally
 * validated with a TokenReview) and what the cluster will see for the calls the request starts
 * (the caller's bearer, the server's own credentials, or the server's credentials impersonating
 * the validated caller). Transport-independent: the HTTP layer hands in the header values and
 * turns a refusal into 401/503. */
#ifndef KUBEMCP_GATE_AUTHENTICATE_H
#define KUBEMCP_GATE_AUTHENTICATE_H

#include <stdbool.h>

#include "core/config.h"
#include "core/error_info.h"
#include "gate/audit.h"
#include "gate/bearer.h"
#include "gate/identity.h"
#include "gate/tokenreview.h"
#include "kube/kube.h"

typedef enum gate_cluster_mode {
    GATE_CLUSTER_PASSTHROUGH, /* the caller's bearer when present, else the server's credentials */
    GATE_CLUSTER_KUBECONFIG,  /* always the server's credentials; headers are ignored */
    GATE_CLUSTER_IMPERSONATE, /* the server's credentials + Impersonate-User/Group of the validated caller */
} gate_cluster_mode;

typedef struct gate_options {
    bool require_token;              /* require_oauth, or the auth-headers strategy */
    gate_cluster_mode cluster_mode;
    tokenreview_cache *tokenreview;  /* borrowed; NULL = tokens are not validated */
    audit_log *audit;                /* borrowed; NULL = no audit */
} gate_options;

typedef struct gate gate;

/* Refuses an impossible combination (impersonation without validation) with a message. */
int gate_new(const gate_options *opts, gate **ret, error_info *err);
gate *gate_free(gate *g);

typedef struct gate_decision {
    int http_status;          /* 0 = allowed; 401 = refused; 503 = could not decide (TokenReview failed) */
    const char *error_code;   /* for WWW-Authenticate: "invalid_request" | "invalid_token" | "temporarily_unavailable" */
    char message[512];        /* for the body and the audit log; never contains the token */
    /* When allowed: */
    bool has_credential;      /* false = the server's own credentials */
    kube_credential credential; /* points into the fields below */
    char *bearer;             /* owned, wiped on clear */
    caller_identity *identity; /* owned, NULL when not validated */
    char *principal;          /* owned: who this is for session binding — the identity's username, or
                               * "sha256:<hex>" of an unvalidated token, or "" for anonymous */
} gate_decision;

/* Decides for one request. headers may hold no values (anonymous). source_address may be NULL. */
void gate_authenticate(gate *g, const bearer_headers *headers, const char *source_address, gate_decision *ret);
void gate_decision_clear(gate_decision *d);

#endif
