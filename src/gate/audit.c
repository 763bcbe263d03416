#include "gate/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/utf8.h"

/* A string argument longer than this is a manifest or a blob: its size is logged, not its text. */
#define AUDIT_MAX_STRING 256
#define AUDIT_MAX_DEPTH 8

struct audit_log {
    int fd;
    bool owns_fd;
    pthread_mutex_t lock;
};

int audit_log_open(const char *path, audit_log **ret, error_info *err) {
    audit_log *log = calloc(1, sizeof *log);
    if (!log)
        return -ENOMEM;
    if (!path || strcmp(path, "stderr") == 0) {
        log->fd = STDERR_FILENO;
    } else {
        log->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (log->fd < 0) {
            int e = errno;
            free(log);
            return error_set(err, e, "cannot open the audit log %s: %s", path, strerror(e));
        }
        log->owns_fd = true;
    }
    pthread_mutex_init(&log->lock, NULL);
    *ret = log;
    return 0;
}

audit_log *audit_log_close(audit_log *log) {
    if (!log)
        return NULL;
    if (log->owns_fd)
        close(log->fd);
    pthread_mutex_destroy(&log->lock);
    free(log);
    return NULL;
}

static bool secret_key(const char *key) {
    static const char *const words[] = {"token", "password", "secret", "authorization", "credential", "key-data",
                                        "apikey", "api_key", NULL};
    for (size_t i = 0; words[i]; i++)
        if (strcasestr(key, words[i]))
            return true;
    return false;
}

static json_t *sanitize_value(const char *key, const json_t *v, int depth) {
    if (depth > AUDIT_MAX_DEPTH)
        return json_string("<nested too deeply>");
    if (key && secret_key(key))
        return json_string("****");
    if (json_is_string(v)) {
        size_t len = json_string_length(v);
        if (len > AUDIT_MAX_STRING) {
            char note[64];
            snprintf(note, sizeof note, "<%zu bytes>", len);
            return json_string(note);
        }
        char copy[AUDIT_MAX_STRING + 1];
        memcpy(copy, json_string_value(v), len);
        copy[len] = '\0';
        size_t n = log_sanitize(copy, len);
        return utf8_json_string(copy, n);
    }
    if (json_is_object(v)) {
        json_t *out = json_object();
        const char *k;
        json_t *child;
        json_object_foreach((json_t *)v, k, child) json_object_set_new(out, k, sanitize_value(k, child, depth + 1));
        return out;
    }
    if (json_is_array(v)) {
        json_t *out = json_array();
        size_t i;
        json_t *child;
        json_array_foreach(v, i, child) json_array_append_new(out, sanitize_value(NULL, child, depth + 1));
        return out;
    }
    return json_deep_copy(v);
}

json_t *audit_sanitize_arguments(const json_t *arguments) {
    return arguments ? sanitize_value(NULL, arguments, 0) : json_object();
}

static void set_string(json_t *obj, const char *key, const char *value) {
    if (value)
        json_object_set_new(obj, key, utf8_json_string(value, strlen(value)));
}

void audit_log_write(audit_log *log, const audit_event *e) {
    if (!log || !e)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char when[40];
    snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

    json_t *line = json_object();
    set_string(line, "time", when);
    set_string(line, "kind", e->kind);
    if (e->identity) {
        set_string(line, "subject", e->identity->username);
        set_string(line, "uid", e->identity->uid);
        json_t *groups = json_array();
        for (size_t i = 0; i < e->identity->group_count; i++)
            json_array_append_new(groups, utf8_json_string(e->identity->groups[i], strlen(e->identity->groups[i])));
        json_object_set_new(line, "groups", groups);
        set_string(line, "authenticated_by", e->identity->source);
    } else {
        json_object_set_new(line, "subject", json_null());
    }
    set_string(line, "source", e->source_address ? e->source_address : "stdio");
    set_string(line, "tool", e->tool);
    if (e->arguments)
        json_object_set_new(line, "arguments", audit_sanitize_arguments(e->arguments));
    set_string(line, "context", e->context);
    set_string(line, "namespace", e->namespace_name);
    set_string(line, "outcome", e->outcome);
    if (e->reason) {
        char reason[512];
        snprintf(reason, sizeof reason, "%s", e->reason);
        size_t n = log_sanitize(reason, strlen(reason));
        json_object_set_new(line, "reason", utf8_json_string(reason, n));
    }
    if (e->duration_ms >= 0 && strcmp(e->kind ? e->kind : "", "tool_call") == 0)
        json_object_set_new(line, "duration_ms", json_real(e->duration_ms));
    char *text = json_dumps(line, JSON_COMPACT);
    json_decref(line);
    if (!text)
        return;
    size_t len = strlen(text);
    text[len] = '\n';
    pthread_mutex_lock(&log->lock);
    ssize_t written = write(log->fd, text, len + 1);
    pthread_mutex_unlock(&log->lock);
    (void)written; /* the audit log must never take the server down */
    free(text);
}
