/* The Kubernetes side of kubemcp: which clusters exist (provider), how to reach one (cluster:
 * pooled connections, TLS material, discovery cache), and one REST call with per-request
 * credentials. Library code: no logging of tokens, errors go to error_info. */
#ifndef KUBEMCP_KUBE_KUBE_H
#define KUBEMCP_KUBE_KUBE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/error_info.h"

typedef struct kube_provider kube_provider;
typedef struct kube_cluster kube_cluster;

typedef struct kube_provider_options {
    const char *kubeconfig_path; /* NULL: KUBECONFIG (colon-separated, kubectl merge rules), then ~/.kube/config */
    const char *strategy;        /* NULL (auto) | "kubeconfig" | "in-cluster" | "auth-headers" | "disabled" */
    const char *default_context; /* NULL: current-context */
    bool single_context;         /* only the default context is exposed */
    long timeout_seconds;        /* per request; 0 = 30 */
    /* For tests: where the in-cluster files live (default /var/run/secrets/kubernetes.io/serviceaccount)
     * and the env to read KUBERNETES_SERVICE_HOST/PORT from (NULL = process environment). */
    const char *incluster_dir;
    /* NULL-terminated "NAME=value" list consulted instead of the process environment for
     * KUBECONFIG, HOME and KUBERNETES_SERVICE_HOST/PORT (tests); NULL = process environment. */
    const char *const *env;
} kube_provider_options;

int kube_provider_new(const kube_provider_options *opts, kube_provider **ret, error_info *err);
kube_provider *kube_provider_free(kube_provider *p);

/* "kubeconfig" | "in-cluster" | "auth-headers" | "disabled": the strategy actually in force. */
const char *kube_provider_strategy(const kube_provider *p);
size_t kube_provider_context_count(const kube_provider *p);
const char *kube_provider_context_name(const kube_provider *p, size_t i);
const char *kube_provider_default_context(const kube_provider *p);
/* Cluster server URL of a context, for configuration_contexts_list (borrowed). */
char *kube_provider_context_server(const kube_provider *p, const char *context); /* malloc'd, userinfo redacted */

/* The cluster for a context (NULL = default). Borrowed: lives as long as the provider.
 * Unknown context → -ENOENT with a message listing the known ones. */
int kube_provider_cluster(kube_provider *p, const char *context, kube_cluster **ret, error_info *err);

/* The merged kubeconfig as a JSON object shaped like `kubectl config view` output
 * (apiVersion, kind, clusters, contexts, users, current-context, preferences).
 * minify: only the current (or given) context and what it references.
 * Every credential (token, client-key-data, client-certificate-data, password, exec env values,
 * auth-provider config) is replaced by "REDACTED"/"DATA+OMITTED" as kubectl does; CA data
 * becomes "DATA+OMITTED". Caller owns the result. */
json_t *kube_provider_kubeconfig_view(kube_provider *p, const char *context, bool minify, error_info *err);

/* A cluster chosen per request by URL (the kubernetes-server header), with the given CA (PEM; NULL
 * = the system trust store) and no credentials of its own: every request must bring a bearer token.
 * Kept and reused for the provider's life (bounded). The caller must have checked the URL against
 * allowed_api_servers. Borrowed result. */
int kube_provider_cluster_for_server(kube_provider *p, const char *server, const char *ca_pem, size_t ca_len,
                                     kube_cluster **ret, error_info *err);

const char *kube_cluster_default_namespace(const kube_cluster *c);
const char *kube_cluster_server(const kube_cluster *c);

/* Per-request credential override. All fields borrowed; NULL = use the cluster's own credentials. */
typedef struct kube_credential {
    const char *bearer_token;
    const char *impersonate_user;
    const char *const *impersonate_groups; /* NULL-terminated */
    const char *impersonate_uid;
} kube_credential;

typedef struct kube_request {
    const char *method;       /* "GET", "POST", "PUT", "PATCH", "DELETE" */
    const char *path;         /* already escaped, e.g. "/api/v1/namespaces/default/pods" */
    const char *query;        /* already escaped "a=b&c=d", or NULL */
    const char *accept;       /* NULL = "application/json" */
    const char *content_type; /* for bodies */
    const char *body;
    size_t body_len;
    const kube_credential *credential; /* NULL = cluster's own */
    size_t max_response_bytes;         /* 0 = 16 MiB; a larger answer fails with -EMSGSIZE and a clear message */
    const atomic_bool *cancelled;      /* polled during the transfer; set → -ECANCELED */
} kube_request;

typedef struct kube_response {
    long status;        /* HTTP status */
    char *body;         /* NUL-terminated, owned */
    size_t body_len;
    char *content_type; /* owned, may be NULL */
} kube_response;

void kube_response_clear(kube_response *r);

/* Performs one call. 0 when an HTTP answer arrived, whatever its status (the caller inspects
 * status); negative errno on transport failure (connection refused, TLS, timeout, cancelled, too
 * big) with a message naming the server and what to check. Thread-safe. */
int kube_do(kube_cluster *c, const kube_request *req, kube_response *ret, error_info *err);

/* If r->status >= 400: fills err with the apiserver's Status.message (or a short excerpt of a
 * non-Status body), sets err->http_status, returns -EIO (or -EACCES for 401/403, -ENOENT for 404,
 * -EEXIST for 409). Returns 0 for a 2xx/3xx answer. */
int kube_response_error(const kube_response *r, error_info *err);

/* Parses the body as JSON (caller owns the result); on a bad body returns NULL with a message. */
json_t *kube_response_json(const kube_response *r, error_info *err);

typedef struct kube_resource_info {
    char group[256]; /* a DNS subdomain: up to 253 characters */
    char version[64];
    char resource[128]; /* plural, e.g. "pods" */
    char kind[128];
    bool namespaced;
    bool has_scale;     /* the resource has a /scale subresource */
} kube_resource_info;

/* Resolves apiVersion ("v1", "apps/v1", "forklift.konveyor.io/v1beta1") + kind ("Pod") through API
 * discovery, cached per cluster and refreshed once on a miss (so CRDs created later are found).
 * Kind matching is exact first, then case-insensitive; a plural resource name is accepted too.
 * Unknown → -ENOENT with a message like kubectl's: `the server doesn't have a resource type "Foo" in
 * group/version "x/v1"`. */
int kube_discovery_resolve(kube_cluster *c, const kube_credential *cred, const char *api_version,
                           const char *kind, kube_resource_info *ret, error_info *err);

/* Writes the REST path for a resource: /api/v1/namespaces/NS/pods/NAME/SUB (each segment
 * percent-escaped). namespace ignored for cluster-scoped kinds; NULL or "" namespace = all
 * namespaces; name NULL = the collection, subresource may be NULL. An empty name, or "." / ".."
 * anywhere, is refused with -EINVAL (they would address another object); -ENAMETOOLONG when it
 * does not fit. err may be NULL. */
int kube_resource_path(const kube_resource_info *info, const char *namespace_name, const char *name,
                       const char *subresource, char *out, size_t out_len, error_info *err);

/* Percent-escapes a query value (for label/field selectors and continue tokens) into out. */
int kube_query_escape(const char *value, char *out, size_t out_len);

#endif
