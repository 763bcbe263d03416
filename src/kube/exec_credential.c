#include "kube/exec_credential.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/json_error.h"
#include "core/buf.h"

extern char **environ;

struct exec_credential {
    pthread_mutex_t lock;
    char *api_version;
    char *command;
    char **argv; /* command + args, NULL-terminated */
    char **extra_env; /* "NAME=value", NULL-terminated */
    char *install_hint;
    int timeout_ms;
    bool cached;
    exec_credential_result cache;
};

static void free_strv(char **v) {
    for (size_t i = 0; v && v[i]; i++) {
        explicit_bzero(v[i], strlen(v[i]));
        free(v[i]);
    }
    free(v);
}

static void secret_str_free(char *s) {
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

void exec_credential_result_clear(exec_credential_result *r) {
    if (!r)
        return;
    secret_str_free(r->token);
    secret_str_free(r->cert_pem);
    secret_str_free(r->key_pem);
    r->token = r->cert_pem = r->key_pem = NULL;
    r->expiry = 0;
}

exec_credential *exec_credential_free(exec_credential *ec) {
    if (!ec)
        return NULL;
    pthread_mutex_destroy(&ec->lock);
    free(ec->api_version);
    free(ec->command);
    free_strv(ec->argv);
    free_strv(ec->extra_env);
    free(ec->install_hint);
    exec_credential_result_clear(&ec->cache);
    free(ec);
    return NULL;
}

int exec_credential_new(const kc_exec *cfg, exec_credential **ret, error_info *err) {
    if (!cfg || !cfg->command || !*cfg->command)
        return error_set(err, EINVAL, "exec credential plugin has no command: set users[].user.exec.command");
    const char *api = cfg->api_version ? cfg->api_version : "client.authentication.k8s.io/v1";
    if (strcmp(api, "client.authentication.k8s.io/v1") != 0 && strcmp(api, "client.authentication.k8s.io/v1beta1") != 0)
        return error_set(err, EINVAL,
                         "exec credential plugin \"%s\" uses apiVersion \"%s\"; kubemcp supports "
                         "client.authentication.k8s.io/v1 and v1beta1 (update the plugin or the kubeconfig)",
                         cfg->command, api);
    if (cfg->interactive_mode && strcmp(cfg->interactive_mode, "Always") == 0)
        return error_set(err, EINVAL,
                         "credential plugin \"%s\" needs an interactive terminal (interactiveMode: Always), which kubemcp "
                         "cannot offer: log in beforehand or use a plugin mode that works without prompts",
                         cfg->command);
    exec_credential *ec = calloc(1, sizeof *ec);
    if (!ec)
        return -ENOMEM;
    pthread_mutex_init(&ec->lock, NULL);
    ec->timeout_ms = EXEC_CREDENTIAL_TIMEOUT_MS;
    ec->api_version = strdup(api);
    ec->command = strdup(cfg->command);
    ec->install_hint = cfg->install_hint ? strdup(cfg->install_hint) : NULL;
    ec->argv = calloc(cfg->n_args + 2, sizeof *ec->argv);
    ec->extra_env = calloc(cfg->n_env + 2, sizeof *ec->extra_env);
    if (!ec->api_version || !ec->command || !ec->argv || !ec->extra_env || (cfg->install_hint && !ec->install_hint))
        goto oom;
    if (!(ec->argv[0] = strdup(cfg->command)))
        goto oom;
    for (size_t i = 0; i < cfg->n_args; i++)
        if (!(ec->argv[i + 1] = strdup(cfg->args[i])))
            goto oom;
    for (size_t i = 0; i < cfg->n_env; i++)
        if (asprintf(&ec->extra_env[i], "%s=%s", cfg->env[i].name, cfg->env[i].value ? cfg->env[i].value : "") < 0) {
            ec->extra_env[i] = NULL;
            goto oom;
        }
    /* The plugin learns it may not prompt: we have no terminal to offer it. */
    if (asprintf(&ec->extra_env[cfg->n_env],
                 "KUBERNETES_EXEC_INFO={\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",\"spec\":{\"interactive\":false}}",
                 api) < 0) {
        ec->extra_env[cfg->n_env] = NULL;
        goto oom;
    }
    *ret = ec;
    return 0;
oom:
    exec_credential_free(ec);
    return -ENOMEM;
}

void exec_credential_set_timeout_ms(exec_credential *ec, int timeout_ms) {
    ec->timeout_ms = timeout_ms;
}

void exec_credential_invalidate(exec_credential *ec) {
    pthread_mutex_lock(&ec->lock);
    exec_credential_result_clear(&ec->cache);
    ec->cached = false;
    pthread_mutex_unlock(&ec->lock);
}

/* ---- RFC 3339 ---------------------------------------------------------------------------- */

static int digits(const char **p, int n, int *ret) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -EINVAL;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *ret = v;
    return 0;
}

int kube_parse_rfc3339(const char *s, time_t *ret) {
    int Y, M, D, h, m, sec;
    const char *p = s;
    if (digits(&p, 4, &Y) < 0 || *p++ != '-' || digits(&p, 2, &M) < 0 || *p++ != '-' || digits(&p, 2, &D) < 0)
        return -EINVAL;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return -EINVAL;
    p++;
    if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &m) < 0 || *p++ != ':' || digits(&p, 2, &sec) < 0)
        return -EINVAL;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return -EINVAL;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -EINVAL;
        while (isdigit((unsigned char)*p))
            p++;
    }
    long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (digits(&p, 2, &oh) < 0 || *p++ != ':' || digits(&p, 2, &om) < 0 || oh > 23 || om > 59)
            return -EINVAL;
        offset = sign * (oh * 3600L + om * 60L);
    } else {
        return -EINVAL;
    }
    if (*p)
        return -EINVAL;
    struct tm tm = {.tm_year = Y - 1900, .tm_mon = M - 1, .tm_mday = D, .tm_hour = h, .tm_min = m, .tm_sec = sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -EINVAL;
    *ret = t - offset;
    return 0;
}

/* ---- output parsing --------------------------------------------------------------------- */

static int dup_field(json_t *status, const char *key, char **ret) {
    json_t *v = json_object_get(status, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return -EINVAL;
    if (json_string_length(v) == 0)
        return 0;
    *ret = strdup(json_string_value(v));
    return *ret ? 0 : -ENOMEM;
}

int exec_credential_parse(const char *text, size_t len, const char *expected_api_version, exec_credential_result *ret,
                          error_info *err) {
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        /* Only the reason: jansson's "near '…'" would quote part of the credential. */
        char reason[160];
        json_error_reason(&jerr, reason, sizeof reason);
        return error_set(err, EINVAL,
                         "the credential plugin printed something that is not an ExecCredential JSON object (line %d: %s); "
                         "run it by hand to see what it prints",
                         root ? 1 : jerr.line, root ? "not an object" : reason);
    }
    int r = 0;
    exec_credential_result res = {0};
    const char *kind = json_string_value(json_object_get(root, "kind"));
    const char *api = json_string_value(json_object_get(root, "apiVersion"));
    json_t *status = json_object_get(root, "status");
    if (!kind || strcmp(kind, "ExecCredential") != 0) {
        r = error_set(err, EINVAL, "the credential plugin's output has kind \"%s\", expected \"ExecCredential\"",
                      kind ? kind : "");
        goto out;
    }
    if (expected_api_version && (!api || strcmp(api, expected_api_version) != 0)) {
        r = error_set(err, EINVAL,
                      "the credential plugin answered apiVersion \"%s\" but the kubeconfig asks for \"%s\": make them match",
                      api ? api : "", expected_api_version);
        goto out;
    }
    if (!json_is_object(status)) {
        r = error_set(err, EINVAL, "the credential plugin's ExecCredential has no status: it must return status.token "
                                   "or status.clientCertificateData and clientKeyData");
        goto out;
    }
    if (dup_field(status, "token", &res.token) < 0 || dup_field(status, "clientCertificateData", &res.cert_pem) < 0 ||
        dup_field(status, "clientKeyData", &res.key_pem) < 0) {
        r = error_set(err, EINVAL, "the credential plugin's ExecCredential status fields must be strings");
        goto out;
    }
    if (!res.token && !(res.cert_pem && res.key_pem)) {
        r = error_set(err, EINVAL, "the credential plugin's ExecCredential has neither status.token nor both "
                                   "status.clientCertificateData and status.clientKeyData");
        goto out;
    }
    json_t *exp = json_object_get(status, "expirationTimestamp");
    if (exp && !json_is_null(exp)) {
        if (!json_is_string(exp) || kube_parse_rfc3339(json_string_value(exp), &res.expiry) < 0) {
            r = error_set(err, EINVAL,
                          "the credential plugin's status.expirationTimestamp is not an RFC 3339 time "
                          "(e.g. 2024-05-01T12:00:00Z)");
            goto out;
        }
    }
out:
    json_decref(root);
    if (r < 0) {
        exec_credential_result_clear(&res);
        return r;
    }
    *ret = res;
    return 0;
}

/* ---- running the plugin ----------------------------------------------------------------- */

static char **build_env(exec_credential *ec) {
    size_t n = 0, extra = 0;
    while (environ && environ[n])
        n++;
    while (ec->extra_env[extra])
        extra++;
    char **env = calloc(n + extra + 1, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        /* configured values override inherited ones, and the exec info is ours alone */
        bool overridden = false;
        const char *eq = strchr(environ[i], '=');
        size_t nl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
        for (size_t j = 0; j < extra && !overridden; j++)
            overridden = strncmp(ec->extra_env[j], environ[i], nl) == 0 && ec->extra_env[j][nl] == '=';
        /* kubemcp's own settings (client secrets, sealing keys) are none of the plugin's business */
        if (!overridden && strncmp(environ[i], "KUBEMCP_", 8) != 0)
            env[k++] = environ[i];
    }
    for (size_t j = 0; j < extra; j++)
        env[k++] = ec->extra_env[j];
    env[k] = NULL;
    return env; /* borrowed strings: free only the array */
}

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int run_plugin(exec_credential *ec, buf *out, error_info *err) {
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return error_set(err, errno, "cannot run credential plugin \"%s\": pipe: %s", ec->command, strerror(errno));
    char **env = build_env(ec);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    /* stdin is /dev/null (no prompts), stdout is our pipe, stderr stays ours; nothing else leaks */
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    /* The server blocks SIGTERM/SIGINT/SIGHUP in every thread and ignores SIGPIPE; a plugin must
     * start with the ordinary signal state, or it could neither be stopped nor see a closed pipe. */
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid;
    int r = env ? posix_spawnp(&pid, ec->command, &fa, &attr, ec->argv, env) : ENOMEM;
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    close(pipefd[1]);
    if (r != 0) {
        close(pipefd[0]);
        if (r == ENOENT || r == EACCES)
            return error_set(err, r, "cannot run credential plugin \"%s\": %s. %s", ec->command,
                             r == ENOENT ? "executable not found in PATH" : strerror(r),
                             ec->install_hint ? ec->install_hint : "Install it or fix users[].user.exec.command in your kubeconfig.");
        return error_set(err, r, "cannot run credential plugin \"%s\": %s", ec->command, strerror(r));
    }
    long long deadline = now_ms() + ec->timeout_ms;
    bool too_big = false, timed_out = false;
    char chunk[8192];
    for (;;) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
        int pr = poll(&pfd, 1, (int)left);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pr == 0)
            continue;
        ssize_t n = read(pipefd[0], chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            break;
        }
        if (n == 0)
            break;
        if (buf_append(out, chunk, (size_t)n) < 0) {
            too_big = true;
            break;
        }
    }
    explicit_bzero(chunk, sizeof chunk);
    close(pipefd[0]);
    if (timed_out || too_big)
        kill(pid, SIGKILL);
    int status = 0;
    /* the plugin closed stdout; give it the rest of the deadline to exit */
    for (;;) {
        pid_t w = waitpid(pid, &status, timed_out || too_big ? 0 : WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR))
            break;
        if (w == 0) {
            if (now_ms() >= deadline) {
                kill(pid, SIGKILL);
                timed_out = true;
                waitpid(pid, &status, 0);
                break;
            }
            struct timespec ts = {0, 10 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    if (timed_out)
        return error_set(err, ETIMEDOUT, "credential plugin \"%s\" did not finish within %d s and was stopped "
                                          "(does it wait for a login in a browser or terminal? log in first)",
                         ec->command, ec->timeout_ms / 1000);
    if (too_big)
        return error_set(err, EMSGSIZE, "credential plugin \"%s\" printed more than %u bytes; an ExecCredential is small",
                         ec->command, EXEC_CREDENTIAL_MAX_OUTPUT);
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        return error_set(err, EIO, "credential plugin \"%s\" failed with exit status %d (its messages are on stderr)%s%s",
                         ec->command, WEXITSTATUS(status), ec->install_hint ? ". " : "",
                         ec->install_hint ? ec->install_hint : "");
    if (WIFSIGNALED(status))
        return error_set(err, EIO, "credential plugin \"%s\" was killed by signal %d", ec->command, WTERMSIG(status));
    return 0;
}

static bool cache_fresh(const exec_credential *ec) {
    if (!ec->cached)
        return false;
    if (ec->cache.expiry == 0)
        return true;
    return time(NULL) + EXEC_CREDENTIAL_REFRESH_SKEW_S < ec->cache.expiry;
}

static int result_copy(const exec_credential_result *src, exec_credential_result *dst) {
    exec_credential_result r = {.expiry = src->expiry};
    if ((src->token && !(r.token = strdup(src->token))) || (src->cert_pem && !(r.cert_pem = strdup(src->cert_pem))) ||
        (src->key_pem && !(r.key_pem = strdup(src->key_pem)))) {
        exec_credential_result_clear(&r);
        return -ENOMEM;
    }
    *dst = r;
    return 0;
}

int exec_credential_get(exec_credential *ec, exec_credential_result *ret, error_info *err) {
    int r;
    /* Held across the plugin run on purpose: concurrent requests wait for one run instead of
     * starting one plugin each. */
    pthread_mutex_lock(&ec->lock);
    if (!cache_fresh(ec)) {
        buf out;
        buf_init(&out, EXEC_CREDENTIAL_MAX_OUTPUT);
        r = run_plugin(ec, &out, err);
        if (r == 0) {
            exec_credential_result fresh;
            r = exec_credential_parse(out.data ? out.data : "", out.len, ec->api_version, &fresh, err);
            if (r < 0) {
                error_prefix(err, "credential plugin \"%s\"", ec->command);
            } else {
                exec_credential_result_clear(&ec->cache);
                ec->cache = fresh;
                ec->cached = true;
            }
        }
        if (out.data)
            explicit_bzero(out.data, out.len);
        buf_free(&out);
        if (r < 0) {
            pthread_mutex_unlock(&ec->lock);
            return r;
        }
    }
    r = result_copy(&ec->cache, ret);
    pthread_mutex_unlock(&ec->lock);
    return r;
}
