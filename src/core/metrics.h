/* Process metrics in the Prometheus text exposition format 0.0.4, for /metrics.
 *
 * Thread-safe (one mutex; every update is a short table lookup). Cardinality is bounded: each
 * family keeps at most METRICS_MAX_LABEL_SETS distinct label sets; once full, a new label set is
 * folded into the one whose values are all "other". Label values that are NULL, empty, longer than
 * METRICS_LABEL_VALUE_MAX, not UTF-8 or holding control characters are reported as "other" too.
 *
 * Built-in families:
 *   kubemcp_http_requests_total{route,code}          counter
 *   kubemcp_http_request_duration_seconds{route}     histogram
 *   kubemcp_tool_calls_total{tool,outcome}           counter
 *   kubemcp_tool_call_duration_seconds{tool}         histogram
 * plus gauges and counters created by name on first use (at most METRICS_MAX_DYNAMIC_FAMILIES). */
#ifndef KUBEMCP_CORE_METRICS_H
#define KUBEMCP_CORE_METRICS_H

#include "core/buf.h"

#define METRICS_MAX_LABEL_SETS 1000
#define METRICS_MAX_DYNAMIC_FAMILIES 64
#define METRICS_LABEL_VALUE_MAX 128
#define METRICS_NAME_MAX 128

/* Content-Type of metrics_render's output. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct metrics metrics;

metrics *metrics_new(void); /* NULL when out of memory */
metrics *metrics_free(metrics *m);

/* One HTTP request answered: route is our route name ("/mcp", "/sse", ...), status the HTTP status
 * (outside 100..599 counts as code "other"), seconds its duration. */
void metrics_http_request(metrics *m, const char *route, int status, double seconds);

/* One tool call finished: outcome is "ok", "error" or "cancelled". */
void metrics_tool_call(metrics *m, const char *tool, const char *outcome, double seconds);

/* Adds delta to the gauge name (created at 0 on first use; name must match
 * [a-zA-Z_:][a-zA-Z0-9_:]*, e.g. "kubemcp_open_sse_streams"). A name already used by another
 * family, or past the family limit, is ignored. */
void metrics_gauge_add(metrics *m, const char *name, long delta);
void metrics_gauge_set(metrics *m, const char *name, long value);

/* Adds delta (>= 0; a negative delta is ignored: counters only go up) to the counter name with one
 * label, e.g. ("kubemcp_auth_total", "outcome", "invalid_token"). label_name NULL = no label. The
 * first call fixes the family's label name; calls with another label name are ignored. */
void metrics_counter_add(metrics *m, const char *name, const char *label_name, const char *label_value, long delta);

/* Appends the exposition text to out. 0, or negative errno (-EMSGSIZE when out's maximum is too
 * small, -ENOMEM); on failure out is left as it was. */
int metrics_render(metrics *m, buf *out);

#endif
