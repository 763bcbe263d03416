/* Process-wide logger and the secret sanitiser every message passes through. */
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Longest line written; longer messages are cut and marked. */
#define LOG_LINE_MAX 16384
/* Longest message formatted (and sanitised) before cutting, so a secret near the cut is still
 * recognised whole. */
#define LOG_FORMAT_MAX (256 * 1024)

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = STDERR_FILENO;
static bool log_fd_owned;
static atomic_int log_verbosity = 1;

int log_open(const char *path, int verbosity) {
    int fd = STDERR_FILENO;
    if (path && *path && strcmp(path, "stderr") != 0) {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
            return -errno;
    }
    pthread_mutex_lock(&log_lock);
    if (log_fd_owned)
        close(log_fd);
    log_fd = fd;
    log_fd_owned = fd != STDERR_FILENO;
    pthread_mutex_unlock(&log_lock);
    log_set_verbosity(verbosity);
    return 0;
}

void log_set_verbosity(int verbosity) {
    if (verbosity < 0)
        verbosity = 0;
    if (verbosity > 9)
        verbosity = 9;
    atomic_store(&log_verbosity, verbosity);
}

int log_get_verbosity(void) {
    return atomic_load(&log_verbosity);
}

int log_enabled(log_severity severity) {
    int v = atomic_load(&log_verbosity);
    switch (severity) {
    case LOG_ERROR:
    case LOG_WARN:
        return 1;
    case LOG_INFO:
        return v >= 1;
    case LOG_DEBUG:
        return v >= 5;
    case LOG_TRACE:
        return v >= 7;
    }
    return 0;
}

void log_close(void) {
    pthread_mutex_lock(&log_lock);
    if (log_fd_owned)
        close(log_fd);
    log_fd = STDERR_FILENO;
    log_fd_owned = false;
    pthread_mutex_unlock(&log_lock);
}

static const char *severity_name(log_severity severity) {
    switch (severity) {
    case LOG_ERROR: return "ERROR";
    case LOG_WARN: return "WARN";
    case LOG_INFO: return "INFO";
    case LOG_DEBUG: return "DEBUG";
    case LOG_TRACE: return "TRACE";
    }
    return "INFO";
}

static void write_all(int fd, const char *data, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report a logging failure */
        }
        data += n;
        len -= (size_t)n;
    }
}

void log_msg(log_severity severity, const char *fmt, ...) {
    if (!log_enabled(severity))
        return;
    int saved_errno = errno;

    char small[4096];
    char *message = small;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        errno = saved_errno;
        return;
    }
    size_t message_len = (size_t)n;
    if (message_len >= sizeof small) {
        size_t size = message_len + 1 < LOG_FORMAT_MAX ? message_len + 1 : LOG_FORMAT_MAX;
        char *big = malloc(size);
        if (big) {
            va_start(ap, fmt);
            vsnprintf(big, size, fmt, ap);
            va_end(ap);
            message = big;
            message_len = size - 1 < message_len ? size - 1 : message_len;
        } else {
            message_len = sizeof small - 1;
        }
    }
    bool cut = message_len < (size_t)n;
    message_len = log_sanitize(message, message_len);

    char line[LOG_LINE_MAX];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    size_t used = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ", &tm);
    used += (size_t)snprintf(line + used, sizeof line - used, " %s ", severity_name(severity));
    static const char cut_marker[] = " [message truncated]";
    size_t room = sizeof line - used - 1 /* newline */;
    if (message_len > room)
        cut = true;
    /* The marker must fit whenever it is written — also when the message was cut earlier (at
     * formatting) and sanitising then shrank it. */
    if (cut && message_len > room - (sizeof cut_marker - 1))
        message_len = room - (sizeof cut_marker - 1);
    for (size_t i = 0; i < message_len; i++) {
        unsigned char c = (unsigned char)message[i];
        /* One entry, one line: a message must not be able to forge further log lines. */
        line[used++] = (c < 0x20 && c != '\t') || c == 0x7f ? ' ' : (char)c;
    }
    if (cut) {
        memcpy(line + used, cut_marker, sizeof cut_marker - 1);
        used += sizeof cut_marker - 1;
    }
    line[used++] = '\n';
    if (message != small)
        free(message);

    pthread_mutex_lock(&log_lock);
    write_all(log_fd, line, used);
    pthread_mutex_unlock(&log_lock);
    errno = saved_errno;
}

/* ---- sanitiser ----
 * One left-to-right pass that copies text onto itself. Every replacement is no longer than what it
 * replaces, so the write index never passes the read index and the bytes still to be read are
 * untouched. Each input byte is examined a bounded number of times, so the pass is linear. */

static const char mask[] = "****";

static bool is_alnum(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_b64url(int c) {
    return is_alnum(c) || c == '-' || c == '_';
}

/* Characters of an HTTP token68 credential (Bearer / Basic values). */
static bool is_credential_char(int c) {
    return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
}

static bool is_field_name_char(int c) {
    return is_alnum(c) || c == '-' || c == '_' || c == '.';
}

static int lower(int c) {
    return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

static bool starts_with_ci(const char *s, size_t len, const char *prefix) {
    size_t n = strlen(prefix);
    if (len < n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lower((unsigned char)s[i]) != prefix[i])
            return false;
    return true;
}

static bool contains_ci(const char *s, size_t len, const char *needle) {
    size_t n = strlen(needle);
    for (size_t i = 0; i + n <= len; i++)
        if (starts_with_ci(s + i, len - i, needle))
            return true;
    return false;
}

static bool is_secret_field_name(const char *name, size_t len) {
    static const char *const names[] = {"token", "password", "secret", "authorization", "client-key-data",
                                        "client-certificate-data"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (contains_ci(name, len, names[i]))
            return true;
    return false;
}

/* Writes a mask for a value of value_len bytes: "****", or fewer stars for a shorter value so the
 * text never grows. */
static size_t put_mask(char *text, size_t w, size_t value_len) {
    size_t n = value_len < sizeof mask - 1 ? value_len : sizeof mask - 1;
    memcpy(text + w, mask, n);
    return w + n;
}

/* Length of "bearer " / "basic " (scheme plus spaces) at s, 0 if none. */
static size_t auth_scheme_len(const char *s, size_t len) {
    size_t n;
    if (starts_with_ci(s, len, "bearer"))
        n = 6;
    else if (starts_with_ci(s, len, "basic"))
        n = 5;
    else
        return 0;
    size_t spaces = 0;
    while (n + spaces < len && s[n + spaces] == ' ')
        spaces++;
    return spaces ? n + spaces : 0;
}

/* Length of a JWT-shaped token at s: "eyJ" header, '.', payload, optionally '.' and a signature.
 * Two segments are enough: a token cut short is still a secret. 0 if none. */
static size_t jwt_len(const char *s, size_t len) {
    if (len < 3 || memcmp(s, "eyJ", 3) != 0)
        return 0;
    size_t i = 3;
    while (i < len && is_b64url((unsigned char)s[i]))
        i++;
    if (i >= len || s[i] != '.')
        return 0;
    i++;
    size_t payload = i;
    while (i < len && is_b64url((unsigned char)s[i]))
        i++;
    if (i == payload)
        return 0;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && is_b64url((unsigned char)s[i]))
            i++;
    }
    return i;
}

/* Length of a PEM block at s through its closing "-----END ...-----" (or to the end of the text if
 * the block is cut short). 0 if s does not start one. */
static size_t pem_len(const char *s, size_t len) {
    static const char begin[] = "-----BEGIN ";
    static const char end[] = "-----END ";
    if (len < sizeof begin - 1 || memcmp(s, begin, sizeof begin - 1) != 0)
        return 0;
    const char *e = memmem(s + sizeof begin - 1, len - (sizeof begin - 1), end, sizeof end - 1);
    if (!e)
        return len;
    size_t i = (size_t)(e - s) + sizeof end - 1;
    const char *close = memmem(s + i, len - i, "-----", 5);
    return close ? (size_t)(close - s) + 5 : len;
}

/* After a secret field name whose text ends at r: the separator and any spaces (and an opening
 * quote) up to the value. Returns the length through the separator, 0 if this is not a field. */
static size_t field_separator_len(const char *s, size_t len) {
    size_t i = 0;
    if (i < len && s[i] == '\\' && i + 1 < len && s[i + 1] == '"')
        i += 2;
    else if (i < len && (s[i] == '"' || s[i] == '\''))
        i++;
    while (i < len && s[i] == ' ')
        i++;
    if (i < len && (s[i] == ':' || s[i] == '=')) {
        /* "https://" and "a==b" are not fields. */
        if (i + 1 < len && (s[i + 1] == '/' || s[i + 1] == '=' || s[i + 1] == ':'))
            return 0;
        return i + 1;
    }
    return 0;
}

size_t log_sanitize(char *text, size_t len) {
    if (!text)
        return 0;
    size_t r = 0, w = 0;
    size_t name_start = 0;  /* write index where the current field-name run starts */
    bool in_name = false;
    int prev = -1;          /* previous input byte, before any rewriting */

    while (r < len) {
        const char *s = text + r;
        size_t rest = len - r;
        int c = (unsigned char)*s;

        size_t n = pem_len(s, rest);
        if (n) {
            w = put_mask(text, w, n);
            r += n;
            prev = '-';
            in_name = false;
            continue;
        }
        if (prev < 0 || !(is_b64url(prev) || prev == '.')) {
            n = jwt_len(s, rest);
            if (n) {
                w = put_mask(text, w, n);
                r += n;
                prev = 'x';
                in_name = false;
                continue;
            }
        }
        if (prev < 0 || !is_alnum(prev)) {
            n = auth_scheme_len(s, rest);
            if (n) {
                memmove(text + w, s, n);
                w += n;
                r += n;
                size_t value = 0;
                bool letters_only = true;
                while (value < len - r && is_credential_char((unsigned char)text[r + value])) {
                    int vc = lower((unsigned char)text[r + value]);
                    letters_only = letters_only && vc >= 'a' && vc <= 'z';
                    value++;
                }
                /* Prose such as "the bearer token was rejected" is not a credential: a real one is
                 * longer than a short word or has digits or symbols in it. */
                if (letters_only && value < 6) {
                    prev = ' ';
                    in_name = false;
                    continue;
                }
                w = put_mask(text, w, value);
                r += value;
                prev = value ? 'x' : ' ';
                in_name = false;
                continue;
            }
        }
        if (in_name && !is_field_name_char(c) && is_secret_field_name(text + name_start, w - name_start)) {
            n = field_separator_len(s, rest);
            if (n) {
                bool authorization = contains_ci(text + name_start, w - name_start, "authorization");
                memmove(text + w, s, n);
                w += n;
                r += n;
                in_name = false;
                while (r < len && text[r] == ' ')
                    text[w++] = text[r++];
                if (r < len && auth_scheme_len(text + r, len - r)) {
                    prev = ' ';
                    continue; /* the Bearer/Basic rule masks the credential */
                }
                /* Quoted value: mask to the matching quote (JSON escapes skipped). */
                size_t quote_len = 0;
                char quote = 0;
                if (r < len && (text[r] == '"' || text[r] == '\'')) {
                    quote = text[r];
                    quote_len = 1;
                } else if (r + 1 < len && text[r] == '\\' && text[r + 1] == '"') {
                    quote = '"';
                    quote_len = 2;
                }
                if (quote_len) {
                    memmove(text + w, text + r, quote_len);
                    w += quote_len;
                    r += quote_len;
                    size_t v = 0;
                    while (r + v < len && text[r + v] != '\n') {
                        if (quote_len == 2 && text[r + v] == '\\' && r + v + 1 < len && text[r + v + 1] == quote)
                            break;
                        if (quote_len == 1 && text[r + v] == quote)
                            break;
                        if (quote_len == 1 && text[r + v] == '\\' && r + v + 1 < len)
                            v++;
                        v++;
                    }
                    if (v > len - r)
                        v = len - r;
                    w = put_mask(text, w, v);
                    r += v;
                    prev = 'x';
                    continue;
                }
                if (r < len && (text[r] == '{' || text[r] == '[')) {
                    prev = ' ';
                    continue; /* a structure: its own fields are checked one by one */
                }
                size_t v = 0;
                while (r + v < len) {
                    int vc = (unsigned char)text[r + v];
                    if (vc == '\n' || vc == '\r' || vc == '"' || vc == '\'')
                        break;
                    /* An Authorization header value runs to the end of the line. */
                    if (!authorization && (vc == ' ' || vc == '\t' || vc == ',' || vc == ';' || vc == '&' ||
                                           vc == '}' || vc == ']'))
                        break;
                    v++;
                }
                w = put_mask(text, w, v);
                r += v;
                prev = 'x';
                continue;
            }
        }

        if (is_field_name_char(c)) {
            if (!in_name) {
                in_name = true;
                name_start = w;
            }
        } else {
            in_name = false;
        }
        text[w++] = (char)c;
        r++;
        prev = c;
    }
    if (w < len)
        text[w] = '\0';
    return w;
}
