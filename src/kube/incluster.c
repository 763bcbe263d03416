#include "kube/incluster.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "kube/kubeconfig.h"

struct kube_token_file {
    pthread_mutex_t lock;
    char *path;
    char *token;
    struct stat seen; /* identity of the file the token came from */
    time_t read_at;
};

int kube_token_file_new(const char *path, kube_token_file **ret) {
    kube_token_file *tf = calloc(1, sizeof *tf);
    if (!tf)
        return -ENOMEM;
    if (!(tf->path = strdup(path))) {
        free(tf);
        return -ENOMEM;
    }
    pthread_mutex_init(&tf->lock, NULL);
    *ret = tf;
    return 0;
}

static void drop_token(kube_token_file *tf) {
    if (tf->token) {
        explicit_bzero(tf->token, strlen(tf->token));
        free(tf->token);
        tf->token = NULL;
    }
}

kube_token_file *kube_token_file_free(kube_token_file *tf) {
    if (!tf)
        return NULL;
    drop_token(tf);
    pthread_mutex_destroy(&tf->lock);
    free(tf->path);
    free(tf);
    return NULL;
}

void kube_token_file_invalidate(kube_token_file *tf) {
    pthread_mutex_lock(&tf->lock);
    drop_token(tf);
    pthread_mutex_unlock(&tf->lock);
}

static bool same_file(const struct stat *a, const struct stat *b) {
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int kube_token_file_get(kube_token_file *tf, char **ret_token, error_info *err) {
    pthread_mutex_lock(&tf->lock);
    struct stat st;
    int r = 0;
    bool have_stat = stat(tf->path, &st) == 0;
    time_t now = time(NULL);
    if (!tf->token || !have_stat || !same_file(&st, &tf->seen) || now - tf->read_at >= KUBE_TOKEN_FILE_MAX_AGE_S) {
        char *data;
        size_t len;
        r = kube_read_file(tf->path, KUBE_TOKEN_FILE_MAX_BYTES, "token", &data, &len, err);
        if (r < 0) {
            pthread_mutex_unlock(&tf->lock);
            return r;
        }
        while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r' || data[len - 1] == ' ' || data[len - 1] == '\t'))
            data[--len] = '\0';
        if (len == 0) {
            free(data);
            pthread_mutex_unlock(&tf->lock);
            return error_set(err, EINVAL, "token file %s is empty: write the bearer token into it", tf->path);
        }
        drop_token(tf);
        tf->token = data;
        tf->read_at = now;
        if (have_stat)
            tf->seen = st;
        else
            memset(&tf->seen, 0, sizeof tf->seen);
    }
    char *copy = strdup(tf->token);
    pthread_mutex_unlock(&tf->lock);
    if (!copy)
        return -ENOMEM;
    *ret_token = copy;
    return 0;
}

void kube_incluster_clear(kube_incluster *ic) {
    if (!ic)
        return;
    free(ic->server);
    free(ic->ca_pem);
    free(ic->token_path);
    free(ic->namespace_name);
    memset(ic, 0, sizeof *ic);
}

int kube_incluster_load(const char *dir, kube_getenv_fn getenv_fn, void *ctx, kube_incluster *ret, error_info *err) {
    if (!dir)
        dir = KUBE_INCLUSTER_DEFAULT_DIR;
    const char *host = getenv_fn ? getenv_fn("KUBERNETES_SERVICE_HOST", ctx) : getenv("KUBERNETES_SERVICE_HOST");
    const char *port = getenv_fn ? getenv_fn("KUBERNETES_SERVICE_PORT", ctx) : getenv("KUBERNETES_SERVICE_PORT");
    if (!host || !*host || !port || !*port)
        return error_set(err, ENOENT,
                         "in-cluster configuration needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, which "
                         "Kubernetes sets in every pod: run kubemcp in a pod or use a kubeconfig");
    for (const char *p = port; *p; p++)
        if (*p < '0' || *p > '9')
            return error_set(err, EINVAL, "KUBERNETES_SERVICE_PORT \"%.32s\" is not a port number", port);
    kube_incluster ic = {0};
    int r;
    bool v6 = strchr(host, ':') != NULL && host[0] != '[';
    if (asprintf(&ic.server, v6 ? "https://[%s]:%s" : "https://%s:%s", host, port) < 0) {
        ic.server = NULL;
        return -ENOMEM;
    }
    if (asprintf(&ic.token_path, "%s/token", dir) < 0) {
        ic.token_path = NULL;
        r = -ENOMEM;
        goto fail;
    }
    char *path;
    if (asprintf(&path, "%s/ca.crt", dir) < 0) {
        r = -ENOMEM;
        goto fail;
    }
    r = kube_read_file(path, 1024 * 1024, "service account CA", &ic.ca_pem, &ic.ca_len, err);
    free(path);
    if (r < 0)
        goto fail;
    if (asprintf(&path, "%s/token", dir) < 0) {
        r = -ENOMEM;
        goto fail;
    }
    struct stat st;
    r = stat(path, &st) < 0 ? -errno : 0;
    free(path);
    if (r < 0) {
        r = error_set(err, -r, "service account token %s/token is missing: is automountServiceAccountToken disabled "
                                "for this pod?", dir);
        goto fail;
    }
    if (asprintf(&path, "%s/namespace", dir) < 0) {
        r = -ENOMEM;
        goto fail;
    }
    size_t len;
    if (kube_read_file(path, 4096, "namespace", &ic.namespace_name, &len, NULL) == 0) {
        while (len > 0 && (ic.namespace_name[len - 1] == '\n' || ic.namespace_name[len - 1] == ' '))
            ic.namespace_name[--len] = '\0';
        if (len == 0) {
            free(ic.namespace_name);
            ic.namespace_name = NULL;
        }
    }
    free(path);
    if (!ic.namespace_name && !(ic.namespace_name = strdup("default"))) {
        r = -ENOMEM;
        goto fail;
    }
    *ret = ic;
    return 0;
fail:
    kube_incluster_clear(&ic);
    return r;
}
