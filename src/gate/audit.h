/* The audit log: one JSON line per tool call and per authentication decision, to a file of its own
 * or stderr, so an operator can answer "who did what, from where, with what result". Arguments are
 * sanitised: secrets masked, long values (manifests) replaced by their size. */
#ifndef KUBEMCP_GATE_AUDIT_H
#define KUBEMCP_GATE_AUDIT_H

#include <jansson.h>

#include "core/error_info.h"
#include "gate/identity.h"

typedef struct audit_log audit_log;

/* path NULL or "stderr" → stderr; otherwise appended to (created 0600). */
int audit_log_open(const char *path, audit_log **ret, error_info *err);
audit_log *audit_log_close(audit_log *log);

typedef struct audit_event {
    const char *kind;               /* "tool_call" | "authentication" */
    const caller_identity *identity; /* NULL = anonymous / the server's own credentials */
    const char *source_address;     /* NULL for stdio */
    const char *tool;               /* tool calls */
    const json_t *arguments;        /* tool calls; sanitised before writing */
    const char *context;            /* kubeconfig context, NULL = default */
    const char *namespace_name;
    const char *outcome;            /* "ok" | "error" | "denied" | "cancelled" | "allowed" | "refused" */
    const char *reason;             /* free text, sanitised */
    double duration_ms;
} audit_event;

/* Thread-safe; one write(2) per line. A write failure is counted, never fatal. */
void audit_log_write(audit_log *log, const audit_event *event);

/* The sanitised copy of tool arguments that the audit log writes (caller owns). */
json_t *audit_sanitize_arguments(const json_t *arguments);

#endif
