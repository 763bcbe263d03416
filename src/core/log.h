/* Process-wide logger. Every message passes through log_sanitize before it is written, so a
 * token, password or key that reaches a log call is printed as **** instead.
 * Thread-safe: one line is written with one write(2). */
#ifndef KUBEMCP_CORE_LOG_H
#define KUBEMCP_CORE_LOG_H

#include <stddef.h>

/* Severities. Verbosity (config log_level 0-9, as in the Go peer's klog levels) decides which
 * informational messages show: errors and warnings always do; info needs level >= 1, debug >= 5,
 * protocol traces >= 7. */
typedef enum log_severity {
    LOG_ERROR,
    LOG_WARN,
    LOG_INFO,
    LOG_DEBUG,
    LOG_TRACE,
} log_severity;

/* path NULL or "stderr" logs to stderr. Returns negative errno if the file cannot be opened. */
int log_open(const char *path, int verbosity);
void log_set_verbosity(int verbosity);
int log_get_verbosity(void);
int log_enabled(log_severity severity);
void log_close(void);

void log_msg(log_severity severity, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_trace(...) log_msg(LOG_TRACE, __VA_ARGS__)

/* Rewrites text in place, replacing secrets with "****": values after "Bearer " / "Basic ",
 * JWT-shaped strings (three base64url segments, the first starting "eyJ"), PEM blocks
 * (-----BEGIN ... -----END ...-----), and the values of JSON or key=value fields whose name
 * contains token, password, secret, authorization, client-key-data or client-certificate-data.
 * The result is never longer than the input. Returns the new length. */
size_t log_sanitize(char *text, size_t len);

#endif
