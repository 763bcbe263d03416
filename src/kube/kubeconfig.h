/* kubeconfig files: parsing (libfyaml), kubectl's merge rules across KUBECONFIG, and the
 * redacted `kubectl config view` rendering. Paths inside a file are made absolute against the
 * file's directory at load time, as kubectl does, so later code never sees a relative path. */
#ifndef KUBEMCP_KUBE_KUBECONFIG_H
#define KUBEMCP_KUBE_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/error_info.h"

/* A kubeconfig file larger than this is refused: real ones are a few KiB. */
#define KUBECONFIG_MAX_FILE_BYTES (4u * 1024u * 1024u)

typedef struct kc_exec_env {
    char *name;
    char *value;
} kc_exec_env;

typedef struct kc_exec {
    char *api_version;
    char *command;
    char **args; /* NULL-terminated */
    size_t n_args;
    kc_exec_env *env;
    size_t n_env;
    char *install_hint;
    char *interactive_mode; /* "Never" | "IfAvailable" | "Always", may be NULL */
} kc_exec;

typedef struct kc_cluster {
    char *name;
    char *server;
    unsigned char *ca_data; /* decoded certificate-authority-data, may be NULL */
    size_t ca_data_len;
    char *ca_file; /* absolute */
    bool insecure_skip_tls_verify;
    char *tls_server_name;
    char *proxy_url;
    char *source; /* file that defined it, for messages */
} kc_cluster;

typedef struct kc_user {
    char *name;
    char *token;
    char *token_file; /* absolute */
    unsigned char *cert_data;
    size_t cert_data_len;
    char *cert_file;
    unsigned char *key_data;
    size_t key_data_len;
    char *key_file;
    char *username;
    char *password;
    kc_exec *exec;
    char *auth_provider; /* name only: the legacy auth-provider mechanism is not supported */
    char *source;
} kc_user;

typedef struct kc_context {
    char *name;
    char *cluster;
    char *user;
    char *namespace_name;
    char *source;
} kc_context;

typedef struct kubeconfig {
    kc_cluster *clusters;
    size_t n_clusters;
    kc_user *users;
    size_t n_users;
    kc_context *contexts;
    size_t n_contexts;
    char *current_context; /* NULL when no file sets it */
    char *files;           /* the files that were merged, ", "-separated, for messages */
} kubeconfig;

/* Parses one kubeconfig held in memory. filename names it in messages and anchors relative
 * paths (NULL: "<memory>", paths relative to the working directory). */
int kubeconfig_parse(const char *data, size_t len, const char *filename, kubeconfig **ret, error_info *err);

/* Loads one file (bounded by KUBECONFIG_MAX_FILE_BYTES). */
int kubeconfig_load_file(const char *path, kubeconfig **ret, error_info *err);

/* Loads a KUBECONFIG-style colon-separated list and merges it the way kubectl does: for clusters,
 * contexts and users the first file that defines a name wins; current-context comes from the first
 * file that sets it. Files in the list that do not exist are skipped (as kubectl does); when none
 * exists the result is -ENOENT. */
int kubeconfig_load_list(const char *list, kubeconfig **ret, error_info *err);

/* Moves every entry of from whose name into lacks into into (first definition wins). from is
 * left empty but must still be freed. */
int kubeconfig_merge(kubeconfig *into, kubeconfig *from);

kubeconfig *kubeconfig_free(kubeconfig *kc);

const kc_context *kubeconfig_context(const kubeconfig *kc, const char *name);
const kc_cluster *kubeconfig_cluster(const kubeconfig *kc, const char *name);
const kc_user *kubeconfig_user(const kubeconfig *kc, const char *name);

/* Checks that a context is usable: it exists, its cluster exists and has a server, its user (if
 * named) exists. Fills err with what is wrong and how to fix it. */
int kubeconfig_check_context(const kubeconfig *kc, const char *name, error_info *err);

/* `kubectl config view [--minify]` as JSON, credentials always redacted. context NULL = current. */
json_t *kubeconfig_view(const kubeconfig *kc, const char *context, bool minify, error_info *err);

/* Reads a small file whole (bounded by max) into a NUL-terminated buffer; messages name the file
 * and the purpose ("certificate-authority"). Shared with the TLS and token-file code. */
int kube_read_file(const char *path, size_t max, const char *what, char **ret_data, size_t *ret_len, error_info *err);


/* url with any user:password@ part replaced by REDACTED@ (malloc'd; NULL for NULL). */
char *kubeconfig_redact_url(const char *url);

#endif
