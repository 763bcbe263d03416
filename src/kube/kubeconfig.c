#include "kube/kubeconfig.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libfyaml.h>

#include "core/base64.h"
#include "core/utf8.h"
#include "core/yaml_input.h"

/* Per-parse state: where we are, for messages. */
typedef struct kc_parser {
    const char *file;
    char *dir; /* directory of file, for relative paths; NULL = cwd */
    error_info *err;
} kc_parser;

static void kc_exec_free(kc_exec *e) {
    if (!e)
        return;
    free(e->api_version);
    free(e->command);
    for (size_t i = 0; i < e->n_args; i++)
        free(e->args[i]);
    free(e->args);
    for (size_t i = 0; i < e->n_env; i++) {
        free(e->env[i].name);
        if (e->env[i].value)
            explicit_bzero(e->env[i].value, strlen(e->env[i].value));
        free(e->env[i].value);
    }
    free(e->env);
    free(e->install_hint);
    free(e->interactive_mode);
    free(e);
}

static void secret_free(void *p, size_t len) {
    if (p) {
        explicit_bzero(p, len);
        free(p);
    }
}

static void kc_cluster_clear(kc_cluster *c) {
    free(c->name);
    free(c->server);
    free(c->ca_data);
    free(c->ca_file);
    free(c->tls_server_name);
    free(c->proxy_url);
    free(c->source);
}

static void kc_user_clear(kc_user *u) {
    free(u->name);
    secret_free(u->token, u->token ? strlen(u->token) : 0);
    free(u->token_file);
    free(u->cert_data);
    secret_free(u->key_data, u->key_data_len);
    free(u->cert_file);
    free(u->key_file);
    free(u->username);
    secret_free(u->password, u->password ? strlen(u->password) : 0);
    kc_exec_free(u->exec);
    free(u->auth_provider);
    free(u->source);
}

static void kc_context_clear(kc_context *c) {
    free(c->name);
    free(c->cluster);
    free(c->user);
    free(c->namespace_name);
    free(c->source);
}

kubeconfig *kubeconfig_free(kubeconfig *kc) {
    if (!kc)
        return NULL;
    for (size_t i = 0; i < kc->n_clusters; i++)
        kc_cluster_clear(&kc->clusters[i]);
    for (size_t i = 0; i < kc->n_users; i++)
        kc_user_clear(&kc->users[i]);
    for (size_t i = 0; i < kc->n_contexts; i++)
        kc_context_clear(&kc->contexts[i]);
    free(kc->clusters);
    free(kc->users);
    free(kc->contexts);
    free(kc->current_context);
    free(kc->files);
    free(kc);
    return NULL;
}

/* ---- files ------------------------------------------------------------------------------ */

int kube_read_file(const char *path, size_t max, const char *what, char **ret_data, size_t *ret_len, error_info *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return error_set(err, e, "cannot read %s file %s: %s (check the path in your kubeconfig)", what, path,
                         strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return error_set(err, EINVAL, "%s file %s is not a regular file (check the path in your kubeconfig)", what,
                         path);
    }
    if ((uintmax_t)st.st_size > max) {
        close(fd);
        return error_set(err, EFBIG, "%s file %s is too large (%jd bytes, the limit is %zu)", what, path,
                         (intmax_t)st.st_size, max);
    }
    size_t cap = (size_t)st.st_size + 1, len = 0;
    char *data = malloc(cap);
    if (!data) {
        close(fd);
        return -ENOMEM;
    }
    for (;;) {
        if (len + 1 >= cap) {
            /* the file grew after fstat: keep reading up to max, no further */
            if (cap > max) {
                free(data);
                close(fd);
                return error_set(err, EFBIG, "%s file %s is too large (the limit is %zu bytes)", what, path, max);
            }
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *p = realloc(data, ncap + 1);
            if (!p) {
                free(data);
                close(fd);
                return -ENOMEM;
            }
            data = p;
            cap = ncap + 1;
        }
        ssize_t n = read(fd, data + len, cap - 1 - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(data);
            close(fd);
            return error_set(err, e, "cannot read %s file %s: %s", what, path, strerror(e));
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    data[len] = '\0';
    *ret_data = data;
    if (ret_len)
        *ret_len = len;
    return 0;
}

/* ---- YAML helpers ----------------------------------------------------------------------- */

static int node_line(struct fy_node *n) {
    if (!n)
        return 0;
    struct fy_token *t = NULL;
    if (fy_node_get_type(n) == FYNT_SCALAR)
        t = fy_node_get_scalar_token(n);
    if (!t)
        return 0;
    const struct fy_mark *m = fy_token_start_mark(t);
    return m ? m->line + 1 : 0;
}

static int perr(kc_parser *p, struct fy_node *where, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int perr(kc_parser *p, struct fy_node *where, int code, const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int line = node_line(where);
    if (line > 0)
        return error_set(p->err, code, "kubeconfig %s line %d: %s", p->file, line, msg);
    return error_set(p->err, code, "kubeconfig %s: %s", p->file, msg);
}

/* The value node of key in a mapping, and the key node (for its line). */
static struct fy_node *map_get(struct fy_node *map, const char *key, struct fy_node **ret_key) {
    if (!map || fy_node_get_type(map) != FYNT_MAPPING)
        return NULL;
    void *it = NULL;
    struct fy_node_pair *pair;
    while ((pair = fy_node_mapping_iterate(map, &it))) {
        struct fy_node *k = fy_node_pair_key(pair);
        if (!k || fy_node_get_type(k) != FYNT_SCALAR)
            continue;
        size_t len;
        const char *s = fy_node_get_scalar(k, &len);
        if (s && len == strlen(key) && memcmp(s, key, len) == 0) {
            if (ret_key)
                *ret_key = k;
            return fy_node_pair_value(pair);
        }
    }
    return NULL;
}

/* A scalar field as a new string; absent or null → *ret stays NULL. */
static int get_str(kc_parser *p, struct fy_node *map, const char *key, char **ret) {
    struct fy_node *k = NULL;
    struct fy_node *v = map_get(map, key, &k);
    if (!v)
        return 0;
    if (fy_node_is_alias(v))
        return perr(p, k, EINVAL, "\"%s\" is a YAML alias; aliases are not supported in kubeconfig files", key);
    if (fy_node_get_type(v) != FYNT_SCALAR)
        return perr(p, k, EINVAL, "\"%s\" must be a string", key);
    size_t len;
    const char *s = fy_node_get_scalar(v, &len);
    if (!s)
        return 0;
    if (memchr(s, '\0', len))
        return perr(p, k, EINVAL, "\"%s\" contains a NUL byte", key);
    /* a plain `~`/`null` is YAML for "absent" */
    if (fy_node_get_style(v) == FYNS_PLAIN && ((len == 4 && memcmp(s, "null", 4) == 0) || (len == 1 && s[0] == '~')))
        return 0;
    char *copy = strndup(s, len);
    if (!copy)
        return -ENOMEM;
    free(*ret);
    *ret = copy;
    return 0;
}

static int get_bool(kc_parser *p, struct fy_node *map, const char *key, bool *ret) {
    char *s = NULL;
    int r = get_str(p, map, key, &s);
    if (r < 0 || !s)
        return r;
    struct fy_node *k = NULL;
    map_get(map, key, &k);
    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
        *ret = true;
    else if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
        *ret = false;
    else
        r = perr(p, k, EINVAL, "\"%s\" must be true or false, not \"%.64s\"", key, s);
    free(s);
    return r;
}

static int get_b64(kc_parser *p, struct fy_node *map, const char *key, unsigned char **ret, size_t *ret_len) {
    char *s = NULL;
    int r = get_str(p, map, key, &s);
    if (r < 0 || !s)
        return r;
    unsigned char *data;
    size_t len;
    r = base64_decode(s, strlen(s), &data, &len);
    explicit_bzero(s, strlen(s));
    free(s);
    if (r == -ENOMEM)
        return r;
    if (r < 0) {
        struct fy_node *k = NULL;
        map_get(map, key, &k);
        return perr(p, k, EINVAL, "\"%s\" is not valid base64 (it must hold base64-encoded PEM, e.g. from `base64 -w0 ca.crt`)",
                    key);
    }
    free(*ret);
    *ret = data;
    *ret_len = len;
    return 0;
}

/* A path field, made absolute against the kubeconfig's directory. */
static int get_path(kc_parser *p, struct fy_node *map, const char *key, char **ret) {
    char *s = NULL;
    int r = get_str(p, map, key, &s);
    if (r < 0 || !s)
        return r;
    if (s[0] == '\0') {
        free(s);
        return 0;
    }
    if (s[0] != '/' && p->dir) {
        char *abs;
        if (asprintf(&abs, "%s/%s", p->dir, s) < 0) {
            free(s);
            return -ENOMEM;
        }
        free(s);
        s = abs;
    }
    free(*ret);
    *ret = s;
    return 0;
}

/* Iterates a top-level list ("clusters") whose items are {name, <inner>: {...}}. */
typedef int (*item_fn)(kc_parser *p, kubeconfig *kc, const char *name, struct fy_node *name_node, struct fy_node *inner);

static bool kc_has_name(const kubeconfig *kc, const char *list, const char *name) {
    if (strcmp(list, "clusters") == 0)
        return kubeconfig_cluster(kc, name) != NULL;
    if (strcmp(list, "users") == 0)
        return kubeconfig_user(kc, name) != NULL;
    return kubeconfig_context(kc, name) != NULL;
}

static int parse_list(kc_parser *p, kubeconfig *kc, struct fy_node *root, const char *list, const char *inner_key,
                      item_fn fn) {
    struct fy_node *k = NULL;
    struct fy_node *seq = map_get(root, list, &k);
    if (!seq)
        return 0;
    if (fy_node_get_type(seq) == FYNT_SCALAR) {
        const char *s = fy_node_get_scalar0(seq);
        if (!s || !*s || strcmp(s, "null") == 0 || strcmp(s, "~") == 0)
            return 0;
    }
    if (fy_node_get_type(seq) != FYNT_SEQUENCE || fy_node_is_alias(seq))
        return perr(p, k, EINVAL, "\"%s\" must be a list of {name, %s} entries", list, inner_key);
    void *it = NULL;
    struct fy_node *item;
    while ((item = fy_node_sequence_iterate(seq, &it))) {
        if (fy_node_get_type(item) != FYNT_MAPPING)
            return perr(p, k, EINVAL, "every entry of \"%s\" must be a mapping with name and %s", list, inner_key);
        char *name = NULL;
        int r = get_str(p, item, "name", &name);
        if (r < 0)
            return r;
        struct fy_node *nk = NULL;
        map_get(item, "name", &nk);
        if (!name || !*name) {
            free(name);
            return perr(p, k, EINVAL, "an entry of \"%s\" has no name: give every entry a unique name", list);
        }
        struct fy_node *ik = NULL;
        struct fy_node *inner = map_get(item, inner_key, &ik);
        if (inner && fy_node_get_type(inner) != FYNT_MAPPING) {
            bool empty = fy_node_get_type(inner) == FYNT_SCALAR && fy_node_get_scalar_length(inner) == 0;
            if (!empty) {
                r = perr(p, ik ? ik : nk, EINVAL, "%s \"%s\": \"%s\" must be a mapping", list, name, inner_key);
                free(name);
                return r;
            }
            inner = NULL;
        }
        /* within one file kubectl also keeps the first of duplicate names */
        if (!kc_has_name(kc, list, name))
            r = fn(p, kc, name, nk, inner);
        free(name);
        if (r < 0)
            return r;
    }
    return 0;
}

static void *grow(void *arr, size_t n, size_t size) {
    return realloc(arr, (n + 1) * size);
}

static int parse_cluster(kc_parser *p, kubeconfig *kc, const char *name, struct fy_node *nk, struct fy_node *m) {
    kc_cluster *arr = grow(kc->clusters, kc->n_clusters, sizeof *arr);
    if (!arr)
        return -ENOMEM;
    kc->clusters = arr;
    kc_cluster *c = &arr[kc->n_clusters];
    memset(c, 0, sizeof *c);
    c->name = strdup(name);
    c->source = strdup(p->file);
    if (!c->name || !c->source) {
        kc_cluster_clear(c);
        return -ENOMEM;
    }
    int r = 0;
    if (m) {
        if ((r = get_str(p, m, "server", &c->server)) < 0 ||
            (r = get_b64(p, m, "certificate-authority-data", &c->ca_data, &c->ca_data_len)) < 0 ||
            (r = get_path(p, m, "certificate-authority", &c->ca_file)) < 0 ||
            (r = get_bool(p, m, "insecure-skip-tls-verify", &c->insecure_skip_tls_verify)) < 0 ||
            (r = get_str(p, m, "tls-server-name", &c->tls_server_name)) < 0 ||
            (r = get_str(p, m, "proxy-url", &c->proxy_url)) < 0) {
            if (r != -ENOMEM)
                error_prefix(p->err, "cluster \"%s\"", name);
            kc_cluster_clear(c);
            return r;
        }
    }
    (void)nk;
    kc->n_clusters++;
    return 0;
}

static int parse_exec(kc_parser *p, struct fy_node *ek, struct fy_node *m, kc_exec **ret) {
    if (fy_node_get_type(m) != FYNT_MAPPING)
        return perr(p, ek, EINVAL, "\"exec\" must be a mapping with apiVersion and command");
    kc_exec *e = calloc(1, sizeof *e);
    if (!e)
        return -ENOMEM;
    int r;
    if ((r = get_str(p, m, "apiVersion", &e->api_version)) < 0 || (r = get_str(p, m, "command", &e->command)) < 0 ||
        (r = get_str(p, m, "installHint", &e->install_hint)) < 0 ||
        (r = get_str(p, m, "interactiveMode", &e->interactive_mode)) < 0)
        goto fail;
    if (!e->command || !*e->command) {
        r = perr(p, ek, EINVAL, "\"exec\" has no command: name the credential plugin to run (e.g. kubelogin)");
        goto fail;
    }
    e->args = calloc(1, sizeof *e->args);
    if (!e->args) {
        r = -ENOMEM;
        goto fail;
    }
    struct fy_node *ak = NULL;
    struct fy_node *args = map_get(m, "args", &ak);
    if (args && !(fy_node_get_type(args) == FYNT_SCALAR && fy_node_get_scalar_length(args) == 0)) {
        if (fy_node_get_type(args) != FYNT_SEQUENCE) {
            r = perr(p, ak, EINVAL, "exec \"args\" must be a list of strings");
            goto fail;
        }
        void *it = NULL;
        struct fy_node *a;
        while ((a = fy_node_sequence_iterate(args, &it))) {
            size_t len;
            const char *s = fy_node_get_type(a) == FYNT_SCALAR ? fy_node_get_scalar(a, &len) : NULL;
            if (!s || memchr(s, '\0', len)) {
                r = perr(p, ak, EINVAL, "exec \"args\" must be a list of strings");
                goto fail;
            }
            char **na = realloc(e->args, (e->n_args + 2) * sizeof *na);
            if (!na) {
                r = -ENOMEM;
                goto fail;
            }
            e->args = na;
            e->args[e->n_args] = strndup(s, len);
            if (!e->args[e->n_args]) {
                r = -ENOMEM;
                goto fail;
            }
            e->args[++e->n_args] = NULL;
        }
    }
    struct fy_node *envk = NULL;
    struct fy_node *env = map_get(m, "env", &envk);
    if (env && !(fy_node_get_type(env) == FYNT_SCALAR && fy_node_get_scalar_length(env) == 0)) {
        const char *s = fy_node_get_type(env) == FYNT_SCALAR ? fy_node_get_scalar0(env) : NULL;
        if (s && (strcmp(s, "null") == 0 || strcmp(s, "~") == 0))
            env = NULL;
    }
    if (env && !(fy_node_get_type(env) == FYNT_SCALAR && fy_node_get_scalar_length(env) == 0)) {
        if (fy_node_get_type(env) != FYNT_SEQUENCE) {
            r = perr(p, envk, EINVAL, "exec \"env\" must be a list of {name, value} entries");
            goto fail;
        }
        void *it = NULL;
        struct fy_node *item;
        while ((item = fy_node_sequence_iterate(env, &it))) {
            if (fy_node_get_type(item) != FYNT_MAPPING) {
                r = perr(p, envk, EINVAL, "exec \"env\" must be a list of {name, value} entries");
                goto fail;
            }
            kc_exec_env *ne = realloc(e->env, (e->n_env + 1) * sizeof *ne);
            if (!ne) {
                r = -ENOMEM;
                goto fail;
            }
            e->env = ne;
            kc_exec_env *v = &e->env[e->n_env++];
            v->name = v->value = NULL;
            if ((r = get_str(p, item, "name", &v->name)) < 0 || (r = get_str(p, item, "value", &v->value)) < 0)
                goto fail;
            if (!v->name || !*v->name || strchr(v->name, '=')) {
                r = perr(p, envk, EINVAL, "an exec \"env\" entry needs a name without '='");
                goto fail;
            }
            if (!v->value && !(v->value = strdup(""))) {
                r = -ENOMEM;
                goto fail;
            }
        }
    }
    *ret = e;
    return 0;
fail:
    kc_exec_free(e);
    return r;
}

static int parse_user(kc_parser *p, kubeconfig *kc, const char *name, struct fy_node *nk, struct fy_node *m) {
    kc_user *arr = grow(kc->users, kc->n_users, sizeof *arr);
    if (!arr)
        return -ENOMEM;
    kc->users = arr;
    kc_user *u = &arr[kc->n_users];
    memset(u, 0, sizeof *u);
    u->name = strdup(name);
    u->source = strdup(p->file);
    if (!u->name || !u->source) {
        kc_user_clear(u);
        return -ENOMEM;
    }
    int r = 0;
    if (m) {
        if ((r = get_str(p, m, "token", &u->token)) < 0 || (r = get_path(p, m, "tokenFile", &u->token_file)) < 0 ||
            (r = get_b64(p, m, "client-certificate-data", &u->cert_data, &u->cert_data_len)) < 0 ||
            (r = get_b64(p, m, "client-key-data", &u->key_data, &u->key_data_len)) < 0 ||
            (r = get_path(p, m, "client-certificate", &u->cert_file)) < 0 ||
            (r = get_path(p, m, "client-key", &u->key_file)) < 0 || (r = get_str(p, m, "username", &u->username)) < 0 ||
            (r = get_str(p, m, "password", &u->password)) < 0)
            goto fail;
        struct fy_node *ek = NULL;
        struct fy_node *exec = map_get(m, "exec", &ek);
        if (exec && !(fy_node_get_type(exec) == FYNT_SCALAR && fy_node_get_scalar_length(exec) == 0)) {
            if ((r = parse_exec(p, ek, exec, &u->exec)) < 0)
                goto fail;
        }
        struct fy_node *apk = NULL;
        struct fy_node *ap = map_get(m, "auth-provider", &apk);
        if (ap && fy_node_get_type(ap) == FYNT_MAPPING) {
            if ((r = get_str(p, ap, "name", &u->auth_provider)) < 0)
                goto fail;
            if (!u->auth_provider && !(u->auth_provider = strdup("unknown"))) {
                r = -ENOMEM;
                goto fail;
            }
        }
    }
    (void)nk;
    kc->n_users++;
    return 0;
fail:
    if (r != -ENOMEM)
        error_prefix(p->err, "user \"%s\"", name);
    kc_user_clear(u);
    return r;
}

static int parse_context(kc_parser *p, kubeconfig *kc, const char *name, struct fy_node *nk, struct fy_node *m) {
    kc_context *arr = grow(kc->contexts, kc->n_contexts, sizeof *arr);
    if (!arr)
        return -ENOMEM;
    kc->contexts = arr;
    kc_context *c = &arr[kc->n_contexts];
    memset(c, 0, sizeof *c);
    c->name = strdup(name);
    c->source = strdup(p->file);
    if (!c->name || !c->source) {
        kc_context_clear(c);
        return -ENOMEM;
    }
    int r = 0;
    if (m && ((r = get_str(p, m, "cluster", &c->cluster)) < 0 || (r = get_str(p, m, "user", &c->user)) < 0 ||
              (r = get_str(p, m, "namespace", &c->namespace_name)) < 0)) {
        if (r != -ENOMEM)
            error_prefix(p->err, "context \"%s\"", name);
        kc_context_clear(c);
        return r;
    }
    (void)nk;
    kc->n_contexts++;
    return 0;
}

/* libfyaml reports "no document" as an error without a message; kubectl treats such a file as empty. */
static bool only_comments(const char *data, size_t len) {
    bool in_comment = false;
    for (size_t i = 0; i < len; i++) {
        char ch = data[i];
        if (in_comment) {
            in_comment = ch != '\n';
            continue;
        }
        if (ch == '#')
            in_comment = true;
        else if (ch != ' ' && ch != '\t' && ch != '\r' && ch != '\n')
            return false;
    }
    return true;
}

int kubeconfig_parse(const char *data, size_t len, const char *filename, kubeconfig **ret, error_info *err) {
    kc_parser p = {.file = filename ? filename : "<memory>", .err = err};
    if (len > KUBECONFIG_MAX_FILE_BYTES)
        return error_set(err, EFBIG, "kubeconfig %s is too large (%zu bytes, the limit is %u)", p.file, len,
                         KUBECONFIG_MAX_FILE_BYTES);
    /* YAML is Unicode; libfyaml 0.7 also loops forever on some invalid bytes in a directive line */
    if (!utf8_is_valid(data, len))
        return error_set(err, EINVAL, "kubeconfig %s is not valid UTF-8 text: is it the right file?", p.file);
    if (filename) {
        const char *slash = strrchr(filename, '/');
        if (slash) {
            p.dir = slash == filename ? strdup("/") : strndup(filename, (size_t)(slash - filename));
            if (!p.dir)
                return -ENOMEM;
        }
    }

    if (yaml_input_unprintable(data, len) < len) {
        free(p.dir);
        return error_set(err, EINVAL, "kubeconfig %s contains control characters YAML does not allow: is it the right "
                                      "file?", p.file);
    }
    /* libfyaml would print diagnostics to stderr: collect them instead and report the first. */
    struct fy_diag *diag = yaml_input_quiet_diag();
    size_t normalized_len;
    char *normalized = yaml_input_normalize_newlines(data, len, &normalized_len);
    if (!diag || (!normalized && memchr(data, '\r', len))) {
        if (diag)
            fy_diag_destroy(diag);
        free(normalized);
        free(p.dir);
        return -ENOMEM;
    }
    if (normalized) {
        data = normalized;
        len = normalized_len;
    }
    struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET | FYPCF_JSON_NONE, .diag = diag};
    int r = 0;
    kubeconfig *kc = NULL;
    struct fy_document *doc = fy_document_build_from_string(&cfg, data, len);
    if (!doc) {
        void *it = NULL;
        struct fy_diag_error *de = fy_diag_errors_iterate(diag, &it);
        if (de && de->msg) {
            r = error_set(err, EINVAL, "kubeconfig %s line %d: invalid YAML: %s (fix the file or point --kubeconfig elsewhere)",
                          p.file, de->line, de->msg);
            goto out;
        }
        if (!only_comments(data, len)) {
            r = error_set(err, EINVAL, "kubeconfig %s is not valid YAML (fix the file or point --kubeconfig elsewhere)",
                          p.file);
            goto out;
        }
        /* no document and no error: an empty file (or only comments), an empty config for kubectl */
    }
    kc = calloc(1, sizeof *kc);
    if (!kc || !(kc->files = strdup(p.file))) {
        r = -ENOMEM;
        goto out;
    }
    struct fy_node *root = doc ? fy_document_root(doc) : NULL;
    if (!root) /* an empty file is an empty config, as for kubectl */
        goto out;
    if (fy_node_get_type(root) != FYNT_MAPPING) {
        r = error_set(err, EINVAL, "kubeconfig %s is not a kubeconfig: the top level must be a mapping with clusters, "
                      "contexts and users", p.file);
        goto out;
    }
    if ((r = parse_list(&p, kc, root, "clusters", "cluster", parse_cluster)) < 0 ||
        (r = parse_list(&p, kc, root, "users", "user", parse_user)) < 0 ||
        (r = parse_list(&p, kc, root, "contexts", "context", parse_context)) < 0 ||
        (r = get_str(&p, root, "current-context", &kc->current_context)) < 0)
        goto out;
    if (kc->current_context && !*kc->current_context) {
        free(kc->current_context);
        kc->current_context = NULL;
    }
out:
    fy_document_destroy(doc);
    fy_diag_destroy(diag);
    if (normalized) {
        explicit_bzero(normalized, normalized_len); /* a kubeconfig holds credentials */
        free(normalized);
    }
    free(p.dir);
    if (r < 0) {
        kubeconfig_free(kc);
        return r;
    }
    *ret = kc;
    return 0;
}

int kubeconfig_load_file(const char *path, kubeconfig **ret, error_info *err) {
    char *data;
    size_t len;
    int r = kube_read_file(path, KUBECONFIG_MAX_FILE_BYTES, "kubeconfig", &data, &len, err);
    if (r < 0)
        return r;
    r = kubeconfig_parse(data, len, path, ret, err);
    explicit_bzero(data, len);
    free(data);
    return r;
}

#define MOVE_MISSING(field, count, type, lookup)                                                                       \
    do {                                                                                                               \
        for (size_t i = 0; i < from->count; i++) {                                                                     \
            type *item = &from->field[i];                                                                              \
            if (lookup(into, item->name)) {                                                                            \
                type##_clear(item);                                                                                    \
                continue;                                                                                              \
            }                                                                                                          \
            type *arr = realloc(into->field, (into->count + 1) * sizeof *arr);                                         \
            if (!arr) {                                                                                                \
                for (size_t j = i; j < from->count; j++)                                                               \
                    type##_clear(&from->field[j]);                                                                     \
                from->count = 0;                                                                                       \
                return -ENOMEM;                                                                                        \
            }                                                                                                          \
            into->field = arr;                                                                                         \
            into->field[into->count++] = *item;                                                                        \
        }                                                                                                              \
        from->count = 0;                                                                                               \
    } while (0)

int kubeconfig_merge(kubeconfig *into, kubeconfig *from) {
    MOVE_MISSING(clusters, n_clusters, kc_cluster, kubeconfig_cluster);
    MOVE_MISSING(users, n_users, kc_user, kubeconfig_user);
    MOVE_MISSING(contexts, n_contexts, kc_context, kubeconfig_context);
    if (!into->current_context && from->current_context) {
        into->current_context = from->current_context;
        from->current_context = NULL;
    }
    if (from->files) {
        char *files;
        if (asprintf(&files, "%s, %s", into->files ? into->files : "", from->files) < 0)
            return -ENOMEM;
        free(into->files);
        into->files = files;
    }
    return 0;
}

int kubeconfig_load_list(const char *list, kubeconfig **ret, error_info *err) {
    char *copy = strdup(list);
    if (!copy)
        return -ENOMEM;
    kubeconfig *merged = NULL;
    int r = 0;
    char *save = NULL;
    for (char *path = strtok_r(copy, ":", &save); path; path = strtok_r(NULL, ":", &save)) {
        if (!*path)
            continue;
        if (access(path, F_OK) < 0 && errno == ENOENT)
            continue; /* kubectl skips missing files in KUBECONFIG */
        kubeconfig *one;
        r = kubeconfig_load_file(path, &one, err);
        if (r < 0)
            break;
        if (!merged) {
            merged = one;
            continue;
        }
        r = kubeconfig_merge(merged, one);
        kubeconfig_free(one);
        if (r < 0)
            break;
    }
    free(copy);
    if (r == 0 && !merged)
        r = error_set(err, ENOENT, "none of the kubeconfig files in \"%s\" exists: fix KUBECONFIG or set --kubeconfig",
                      list);
    if (r < 0) {
        kubeconfig_free(merged);
        return r;
    }
    *ret = merged;
    return 0;
}

const kc_context *kubeconfig_context(const kubeconfig *kc, const char *name) {
    for (size_t i = 0; name && i < kc->n_contexts; i++)
        if (strcmp(kc->contexts[i].name, name) == 0)
            return &kc->contexts[i];
    return NULL;
}

const kc_cluster *kubeconfig_cluster(const kubeconfig *kc, const char *name) {
    for (size_t i = 0; name && i < kc->n_clusters; i++)
        if (strcmp(kc->clusters[i].name, name) == 0)
            return &kc->clusters[i];
    return NULL;
}

const kc_user *kubeconfig_user(const kubeconfig *kc, const char *name) {
    for (size_t i = 0; name && i < kc->n_users; i++)
        if (strcmp(kc->users[i].name, name) == 0)
            return &kc->users[i];
    return NULL;
}

int kubeconfig_check_context(const kubeconfig *kc, const char *name, error_info *err) {
    const kc_context *ctx = kubeconfig_context(kc, name);
    if (!ctx)
        return error_set(err, ENOENT, "context \"%s\" does not exist in kubeconfig %s (see `kubectl config get-contexts`)",
                         name, kc->files);
    if (!ctx->cluster || !*ctx->cluster)
        return error_set(err, EINVAL, "context \"%s\" in kubeconfig %s names no cluster: add `cluster: NAME` to it", name,
                         ctx->source);
    const kc_cluster *cl = kubeconfig_cluster(kc, ctx->cluster);
    if (!cl)
        return error_set(err, ENOENT,
                         "context \"%s\" in kubeconfig %s refers to cluster \"%s\", which is not defined in any kubeconfig "
                         "file: add it under clusters or fix the context",
                         name, ctx->source, ctx->cluster);
    if (!cl->server || !*cl->server)
        return error_set(err, EINVAL, "cluster \"%s\" in kubeconfig %s has no server: set `server: https://HOST:PORT`",
                         cl->name, cl->source);
    if (ctx->user && *ctx->user && !kubeconfig_user(kc, ctx->user))
        return error_set(err, ENOENT,
                         "context \"%s\" in kubeconfig %s refers to user \"%s\", which is not defined in any kubeconfig "
                         "file: add it under users or fix the context",
                         name, ctx->source, ctx->user);
    return 0;
}

/* ---- view ------------------------------------------------------------------------------- */

static int set_str(json_t *o, const char *k, const char *v) {
    return v ? json_object_set_new(o, k, json_string(v)) : 0;
}

/* A flag name that announces a secret value (`--oidc-client-secret`, `--api-key`, `--token`…). */
static bool secret_flag_name(const char *name, size_t len) {
    static const char *const words[] = {"secret", "token", "password", "passwd", "key", "credential", "auth", NULL};
    char lowered[128];
    if (len >= sizeof lowered)
        len = sizeof lowered - 1;
    for (size_t i = 0; i < len; i++)
        lowered[i] = (char)tolower((unsigned char)name[i]);
    lowered[len] = '\0';
    for (size_t i = 0; words[i]; i++)
        if (strstr(lowered, words[i]))
            return true;
    return false;
}

/* Exec args sometimes carry secrets, as `--client-secret=VALUE` or as `--client-secret VALUE`:
 * the value part, or the argument after such a flag, is redacted. */
static json_t *redacted_args(char *const *args, size_t n) {
    json_t *out = json_array();
    bool redact_next = false;
    for (size_t i = 0; i < n; i++) {
        const char *arg = args[i];
        if (redact_next && arg[0] != '-') {
            json_array_append_new(out, json_string("REDACTED"));
            redact_next = false;
            continue;
        }
        redact_next = false;
        const char *eq = strchr(arg, '=');
        if (arg[0] == '-' && eq && secret_flag_name(arg, (size_t)(eq - arg))) {
            char *text;
            if (asprintf(&text, "%.*s=REDACTED", (int)(eq - arg), arg) < 0)
                continue;
            json_array_append_new(out, json_string(text));
            free(text);
            continue;
        }
        if (arg[0] == '-' && !eq && secret_flag_name(arg, strlen(arg)))
            redact_next = true;
        json_array_append_new(out, json_string(arg));
    }
    return out;
}

char *kubeconfig_redact_url(const char *url) {
    if (!url)
        return NULL;
    const char *scheme_end = strstr(url, "://");
    const char *host_start = scheme_end ? scheme_end + 3 : url;
    const char *at = NULL;
    for (const char *p = host_start; *p && *p != '/' && *p != '?' && *p != '#'; p++)
        if (*p == '@')
            at = p;
    if (!at)
        return strdup(url);
    char *text;
    if (asprintf(&text, "%.*sREDACTED%s", (int)(host_start - url), url, at) < 0)
        return NULL;
    return text;
}

static json_t *redacted_url(const char *url) {
    char *text = kubeconfig_redact_url(url);
    json_t *j = text ? json_string(text) : NULL;
    free(text);
    return j;
}

static json_t *view_cluster(const kc_cluster *c) {
    json_t *o = json_object();
    if (c->server)
        json_object_set_new(o, "server", redacted_url(c->server));
    if (c->ca_data)
        json_object_set_new(o, "certificate-authority-data", json_string("DATA+OMITTED"));
    set_str(o, "certificate-authority", c->ca_file);
    if (c->insecure_skip_tls_verify)
        json_object_set_new(o, "insecure-skip-tls-verify", json_true());
    set_str(o, "tls-server-name", c->tls_server_name);
    if (c->proxy_url)
        json_object_set_new(o, "proxy-url", redacted_url(c->proxy_url));
    json_t *item = json_object();
    json_object_set_new(item, "name", json_string(c->name));
    json_object_set_new(item, "cluster", o);
    return item;
}

static json_t *view_user(const kc_user *u) {
    json_t *o = json_object();
    if (u->token)
        json_object_set_new(o, "token", json_string("REDACTED"));
    set_str(o, "tokenFile", u->token_file);
    if (u->cert_data)
        json_object_set_new(o, "client-certificate-data", json_string("REDACTED"));
    if (u->key_data)
        json_object_set_new(o, "client-key-data", json_string("REDACTED"));
    set_str(o, "client-certificate", u->cert_file);
    set_str(o, "client-key", u->key_file);
    set_str(o, "username", u->username);
    if (u->password)
        json_object_set_new(o, "password", json_string("REDACTED"));
    if (u->exec) {
        json_t *e = json_object();
        set_str(e, "apiVersion", u->exec->api_version);
        set_str(e, "command", u->exec->command);
        json_object_set_new(e, "args", redacted_args(u->exec->args, u->exec->n_args));
        json_t *env = json_array();
        for (size_t i = 0; i < u->exec->n_env; i++) {
            json_t *v = json_object();
            json_object_set_new(v, "name", json_string(u->exec->env[i].name));
            json_object_set_new(v, "value", json_string("REDACTED"));
            json_array_append_new(env, v);
        }
        json_object_set_new(e, "env", env);
        set_str(e, "installHint", u->exec->install_hint);
        set_str(e, "interactiveMode", u->exec->interactive_mode);
        json_object_set_new(o, "exec", e);
    }
    if (u->auth_provider) {
        json_t *ap = json_object();
        json_object_set_new(ap, "name", json_string(u->auth_provider));
        json_object_set_new(ap, "config", json_string("REDACTED"));
        json_object_set_new(o, "auth-provider", ap);
    }
    json_t *item = json_object();
    json_object_set_new(item, "name", json_string(u->name));
    json_object_set_new(item, "user", o);
    return item;
}

static json_t *view_context(const kc_context *c) {
    json_t *o = json_object();
    set_str(o, "cluster", c->cluster);
    set_str(o, "user", c->user);
    set_str(o, "namespace", c->namespace_name);
    json_t *item = json_object();
    json_object_set_new(item, "name", json_string(c->name));
    json_object_set_new(item, "context", o);
    return item;
}

json_t *kubeconfig_view(const kubeconfig *kc, const char *context, bool minify, error_info *err) {
    const char *current = context ? context : kc->current_context;
    json_t *clusters = json_array(), *users = json_array(), *contexts = json_array();
    json_t *root = json_object();
    if (!root || !clusters || !users || !contexts) {
        json_decref(root);
        json_decref(clusters);
        json_decref(users);
        json_decref(contexts);
        error_set(err, ENOMEM, "out of memory rendering the kubeconfig");
        return NULL;
    }
    json_object_set_new(root, "apiVersion", json_string("v1"));
    json_object_set_new(root, "kind", json_string("Config"));
    json_object_set_new(root, "clusters", clusters);
    json_object_set_new(root, "contexts", contexts);
    json_object_set_new(root, "current-context", json_string(current ? current : ""));
    json_object_set_new(root, "preferences", json_object());
    json_object_set_new(root, "users", users);
    if (minify) {
        if (!current) {
            error_set(err, EINVAL, "current-context is not set: name a context to show");
            json_decref(root);
            return NULL;
        }
        const kc_context *ctx = kubeconfig_context(kc, current);
        if (!ctx) {
            error_set(err, ENOENT, "context \"%s\" does not exist in kubeconfig %s (see `kubectl config get-contexts`)",
                      current, kc->files);
            json_decref(root);
            return NULL;
        }
        json_array_append_new(contexts, view_context(ctx));
        const kc_cluster *cl = kubeconfig_cluster(kc, ctx->cluster);
        if (cl)
            json_array_append_new(clusters, view_cluster(cl));
        const kc_user *u = kubeconfig_user(kc, ctx->user);
        if (u)
            json_array_append_new(users, view_user(u));
        return root;
    }
    for (size_t i = 0; i < kc->n_clusters; i++)
        json_array_append_new(clusters, view_cluster(&kc->clusters[i]));
    for (size_t i = 0; i < kc->n_contexts; i++)
        json_array_append_new(contexts, view_context(&kc->contexts[i]));
    for (size_t i = 0; i < kc->n_users; i++)
        json_array_append_new(users, view_user(&kc->users[i]));
    return root;
}
