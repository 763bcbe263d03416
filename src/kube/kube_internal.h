/* Private to src/kube: how the provider builds a cluster, and the per-cluster discovery cache. */
#ifndef KUBEMCP_KUBE_KUBE_INTERNAL_H
#define KUBEMCP_KUBE_KUBE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "kube/kube.h"
#include "kube/kubeconfig.h"

/* Everything a cluster needs, all borrowed (copied by kube_cluster_new). PEM material is in
 * memory: the provider reads files before building the cluster. */
typedef struct kube_cluster_config {
    const char *name; /* context name, for messages */
    const char *server;
    const char *namespace_name; /* NULL = "default" */
    const char *ca_pem;
    size_t ca_len;
    bool insecure_skip_tls_verify;
    const char *tls_server_name;
    const char *proxy_url;
    /* the cluster's own credentials; at most one kind is used, in this order of precedence */
    const char *token;
    const char *token_file;
    const kc_exec *exec;
    const char *cert_pem;
    size_t cert_len;
    const char *key_pem;
    size_t key_len;
    const char *username;
    const char *password;
    /* auth-headers strategy: no own credentials; every request must bring a bearer */
    bool require_bearer;
    long timeout_seconds; /* 0 = 30 */
} kube_cluster_config;

int kube_cluster_new(const kube_cluster_config *cfg, kube_cluster **ret, error_info *err);
kube_cluster *kube_cluster_free(kube_cluster *c);

typedef struct kube_discovery kube_discovery;
kube_discovery *kube_discovery_new(void);
kube_discovery *kube_discovery_free(kube_discovery *d);
kube_discovery *kube_cluster_discovery(kube_cluster *c);

/* For tests: a smaller handle pool, and how many handles are pooled now. */
size_t kube_cluster_pooled_handles(kube_cluster *c);

#endif
