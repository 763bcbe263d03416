/* In-cluster configuration (a pod's service account) and re-readable token files.
 * The kubelet rotates projected service-account tokens by swapping the file, so a token file is
 * re-read whenever it changes (checked with stat on use), at least every
 * KUBE_TOKEN_FILE_MAX_AGE_S, and on demand after a 401. */
#ifndef KUBEMCP_KUBE_INCLUSTER_H
#define KUBEMCP_KUBE_INCLUSTER_H

#include <stddef.h>

#include "core/error_info.h"

#define KUBE_INCLUSTER_DEFAULT_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define KUBE_TOKEN_FILE_MAX_BYTES (64u * 1024u)
#define KUBE_TOKEN_FILE_MAX_AGE_S 60

typedef struct kube_token_file kube_token_file;

int kube_token_file_new(const char *path, kube_token_file **ret);
kube_token_file *kube_token_file_free(kube_token_file *tf);
/* A copy of the current token (trailing whitespace trimmed); caller frees (and should zero) it. */
int kube_token_file_get(kube_token_file *tf, char **ret_token, error_info *err);
/* Forces a re-read on next use (after a 401). */
void kube_token_file_invalidate(kube_token_file *tf);

typedef struct kube_incluster {
    char *server;         /* https://HOST:PORT, IPv6 bracketed */
    char *ca_pem;         /* contents of <dir>/ca.crt */
    size_t ca_len;
    char *token_path;     /* <dir>/token */
    char *namespace_name; /* contents of <dir>/namespace, "default" when absent */
} kube_incluster;

/* getenv_fn(name, ctx) supplies KUBERNETES_SERVICE_HOST/PORT (NULL = getenv). dir NULL = default. */
typedef const char *(*kube_getenv_fn)(const char *name, void *ctx);
int kube_incluster_load(const char *dir, kube_getenv_fn getenv_fn, void *ctx, kube_incluster *ret, error_info *err);
void kube_incluster_clear(kube_incluster *ic);

#endif
