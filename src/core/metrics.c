#include "core/metrics.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

#define HISTOGRAM_BUCKETS 11
static const double bucket_bounds[HISTOGRAM_BUCKETS] = {.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};
static const char *const bucket_labels[HISTOGRAM_BUCKETS] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25",
                                                             "0.5",   "1",    "2.5",   "5",    "10"};

/* Open-addressing index slots: a power of two comfortably above the label-set limit + 1. */
#define INDEX_SLOTS 4096
_Static_assert(INDEX_SLOTS >= 2 * (METRICS_MAX_LABEL_SETS + 1), "index too small for the label-set limit");

static const char other[] = "other";

typedef enum family_type { FAMILY_COUNTER, FAMILY_GAUGE, FAMILY_HISTOGRAM } family_type;

typedef struct histogram {
    uint64_t buckets[HISTOGRAM_BUCKETS]; /* not cumulative; rendering accumulates */
    uint64_t count;
    double sum;
} histogram;

typedef struct series {
    char *values[2]; /* owned label values; unused ones NULL */
    uint32_t hash;
    union {
        uint64_t counter;
        long gauge;
        histogram hist;
    } v;
} series;

typedef struct family {
    char *name; /* owned */
    const char *help;
    family_type type;
    size_t n_labels;
    char *label_names[2]; /* owned */
    series **items;
    size_t n, alloc;
    uint32_t *index; /* INDEX_SLOTS entries: item position + 1, 0 = empty; allocated on first use */
} family;

struct metrics {
    pthread_mutex_t lock;
    family http_requests;
    family http_duration;
    family tool_calls;
    family tool_duration;
    family *dynamic[METRICS_MAX_DYNAMIC_FAMILIES];
    size_t n_dynamic;
};

static const struct {
    const char *name;
    const char *help;
} known_help[] = {
    {"kubemcp_open_sse_streams", "Server-sent event streams currently open."},
    {"kubemcp_open_sessions", "MCP sessions currently open."},
    {"kubemcp_sessions", "MCP sessions currently open."},
    {"kubemcp_auth_total", "Authentication attempts by outcome."},
};

/* ---- families and series ---- */

static int family_init(family *f, const char *name, const char *help, family_type type, const char *l0,
                       const char *l1) {
    memset(f, 0, sizeof *f);
    f->type = type;
    f->help = help;
    f->name = strdup(name);
    if (!f->name)
        return -ENOMEM;
    const char *labels[2] = {l0, l1};
    for (size_t i = 0; i < 2 && labels[i]; i++) {
        f->label_names[i] = strdup(labels[i]);
        if (!f->label_names[i])
            return -ENOMEM;
        f->n_labels++;
    }
    return 0;
}

static void family_release(family *f) {
    for (size_t i = 0; i < f->n; i++) {
        free(f->items[i]->values[0]);
        free(f->items[i]->values[1]);
        free(f->items[i]);
    }
    free(f->items);
    free(f->index);
    free(f->name);
    free(f->label_names[0]);
    free(f->label_names[1]);
}

static uint32_t label_hash(const char *v0, const char *v1) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)v0; p && *p; p++)
        h = (h ^ *p) * 16777619u;
    h = (h ^ 0xffu) * 16777619u; /* separator: ("ab","c") differs from ("a","bc") */
    for (const unsigned char *p = (const unsigned char *)v1; p && *p; p++)
        h = (h ^ *p) * 16777619u;
    return h;
}

static bool value_equal(const char *a, const char *b) {
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

/* The index slot holding (v0, v1), or the empty slot where it would go. */
static uint32_t *family_slot(family *f, const char *v0, const char *v1, uint32_t hash) {
    for (uint32_t i = hash & (INDEX_SLOTS - 1);; i = (i + 1) & (INDEX_SLOTS - 1)) {
        uint32_t *slot = &f->index[i];
        if (*slot == 0)
            return slot;
        const series *s = f->items[*slot - 1];
        if (s->hash == hash && value_equal(s->values[0], v0) && value_equal(s->values[1], v1))
            return slot;
    }
}

static series *family_add(family *f, uint32_t *slot, const char *v0, const char *v1, uint32_t hash) {
    if (f->n == f->alloc) {
        size_t alloc = f->alloc ? f->alloc * 2 : 16;
        series **items = realloc(f->items, alloc * sizeof *items);
        if (!items)
            return NULL;
        f->items = items;
        f->alloc = alloc;
    }
    series *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->hash = hash;
    s->values[0] = v0 ? strdup(v0) : NULL;
    s->values[1] = v1 ? strdup(v1) : NULL;
    if ((v0 && !s->values[0]) || (v1 && !s->values[1])) {
        free(s->values[0]);
        free(s->values[1]);
        free(s);
        return NULL;
    }
    f->items[f->n++] = s;
    *slot = (uint32_t)f->n;
    return s;
}

/* The series for these label values, created on first use; past the label-set limit, the all-"other"
 * series (which may exceed the limit by exactly one). NULL only when out of memory. */
static series *family_series(family *f, const char *v0, const char *v1) {
    if (!f->index) {
        f->index = calloc(INDEX_SLOTS, sizeof *f->index);
        if (!f->index)
            return NULL;
    }
    uint32_t hash = label_hash(v0, v1);
    uint32_t *slot = family_slot(f, v0, v1, hash);
    if (*slot)
        return f->items[*slot - 1];
    if (f->n >= METRICS_MAX_LABEL_SETS) {
        v0 = f->n_labels > 0 ? other : NULL;
        v1 = f->n_labels > 1 ? other : NULL;
        hash = label_hash(v0, v1);
        slot = family_slot(f, v0, v1, hash);
        if (*slot)
            return f->items[*slot - 1];
        if (f->n > METRICS_MAX_LABEL_SETS)
            return NULL; /* cannot happen: only the overflow series passes the limit */
    }
    return family_add(f, slot, v0, v1, hash);
}

/* ---- input hygiene ---- */

static const char *sanitize_label_value(const char *v) {
    if (!v || !*v)
        return other;
    size_t len = strnlen(v, METRICS_LABEL_VALUE_MAX + 1);
    if (len > METRICS_LABEL_VALUE_MAX || !utf8_is_valid(v, len))
        return other;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return other;
    return v;
}

static bool valid_name(const char *s, bool colon_ok) {
    if (!s || !*s)
        return false;
    size_t len = strnlen(s, METRICS_NAME_MAX + 1);
    if (len > METRICS_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon_ok && c == ':') ||
                  (i > 0 && c >= '0' && c <= '9');
        if (!ok)
            return false;
    }
    return true;
}

static bool valid_label_name(const char *s) {
    /* "__" is reserved by Prometheus; "le" belongs to histogram buckets. */
    return valid_name(s, false) && strncmp(s, "__", 2) != 0 && strcmp(s, "le") != 0;
}

static double clamp_seconds(double seconds) {
    return isfinite(seconds) && seconds > 0 ? seconds : 0;
}

static void histogram_observe(histogram *h, double seconds) {
    for (size_t i = 0; i < HISTOGRAM_BUCKETS; i++) {
        if (seconds <= bucket_bounds[i]) {
            h->buckets[i]++;
            break;
        }
    }
    h->count++;
    h->sum += seconds;
}

/* ---- public API ---- */

metrics *metrics_new(void) {
    metrics *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return NULL;
    }
    int r = 0;
    if (r == 0)
        r = family_init(&m->http_requests, "kubemcp_http_requests_total", "HTTP requests answered, by route and status code.",
                        FAMILY_COUNTER, "route", "code");
    if (r == 0)
        r = family_init(&m->http_duration, "kubemcp_http_request_duration_seconds",
                        "Time to answer an HTTP request, by route.", FAMILY_HISTOGRAM, "route", NULL);
    if (r == 0)
        r = family_init(&m->tool_calls, "kubemcp_tool_calls_total", "MCP tool calls finished, by tool and outcome.",
                        FAMILY_COUNTER, "tool", "outcome");
    if (r == 0)
        r = family_init(&m->tool_duration, "kubemcp_tool_call_duration_seconds", "Time a tool call took, by tool.",
                        FAMILY_HISTOGRAM, "tool", NULL);
    if (r < 0)
        return metrics_free(m);
    return m;
}

metrics *metrics_free(metrics *m) {
    if (!m)
        return NULL;
    family_release(&m->http_requests);
    family_release(&m->http_duration);
    family_release(&m->tool_calls);
    family_release(&m->tool_duration);
    for (size_t i = 0; i < m->n_dynamic; i++) {
        family_release(m->dynamic[i]);
        free(m->dynamic[i]);
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
    return NULL;
}

void metrics_http_request(metrics *m, const char *route, int status, double seconds) {
    if (!m)
        return;
    char code[16];
    if (status >= 100 && status <= 599)
        snprintf(code, sizeof code, "%d", status);
    else
        snprintf(code, sizeof code, "%s", other);
    route = sanitize_label_value(route);
    seconds = clamp_seconds(seconds);
    pthread_mutex_lock(&m->lock);
    series *s = family_series(&m->http_requests, route, code);
    if (s)
        s->v.counter++;
    s = family_series(&m->http_duration, route, NULL);
    if (s)
        histogram_observe(&s->v.hist, seconds);
    pthread_mutex_unlock(&m->lock);
}

void metrics_tool_call(metrics *m, const char *tool, const char *outcome, double seconds) {
    if (!m)
        return;
    tool = sanitize_label_value(tool);
    outcome = sanitize_label_value(outcome);
    seconds = clamp_seconds(seconds);
    pthread_mutex_lock(&m->lock);
    series *s = family_series(&m->tool_calls, tool, outcome);
    if (s)
        s->v.counter++;
    s = family_series(&m->tool_duration, tool, NULL);
    if (s)
        histogram_observe(&s->v.hist, seconds);
    pthread_mutex_unlock(&m->lock);
}

static bool builtin_name(const metrics *m, const char *name) {
    const family *builtins[] = {&m->http_requests, &m->http_duration, &m->tool_calls, &m->tool_duration};
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
        /* A histogram also owns name_bucket, name_sum and name_count. */
        size_t n = strlen(builtins[i]->name);
        if (strncmp(name, builtins[i]->name, n) == 0 &&
            (name[n] == '\0' || (builtins[i]->type == FAMILY_HISTOGRAM &&
                                 (!strcmp(name + n, "_bucket") || !strcmp(name + n, "_sum") || !strcmp(name + n, "_count")))))
            return true;
    }
    return false;
}

/* The named dynamic family of this type and label, created on first use; NULL when the name is
 * invalid, taken by another type or label, or the family limit is reached. Called locked. */
static family *dynamic_family(metrics *m, const char *name, family_type type, const char *label_name) {
    for (size_t i = 0; i < m->n_dynamic; i++) {
        family *f = m->dynamic[i];
        if (strcmp(f->name, name) != 0)
            continue;
        if (f->type != type || !value_equal(f->label_names[0], label_name))
            return NULL;
        return f;
    }
    if (m->n_dynamic >= METRICS_MAX_DYNAMIC_FAMILIES || builtin_name(m, name))
        return NULL;
    family *f = malloc(sizeof *f);
    if (!f)
        return NULL;
    const char *help = type == FAMILY_GAUGE ? "Gauge kubemcp reports." : "Counter kubemcp reports.";
    for (size_t i = 0; i < sizeof known_help / sizeof known_help[0]; i++)
        if (strcmp(known_help[i].name, name) == 0)
            help = known_help[i].help;
    if (family_init(f, name, help, type, label_name, NULL) < 0) {
        family_release(f);
        free(f);
        return NULL;
    }
    m->dynamic[m->n_dynamic++] = f;
    return f;
}

static long saturating_add(long a, long b) {
    long r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? LONG_MAX : LONG_MIN;
    return r;
}

static void gauge_update(metrics *m, const char *name, long v, bool add) {
    if (!m || !valid_name(name, true))
        return;
    pthread_mutex_lock(&m->lock);
    family *f = dynamic_family(m, name, FAMILY_GAUGE, NULL);
    series *s = f ? family_series(f, NULL, NULL) : NULL;
    if (s)
        s->v.gauge = add ? saturating_add(s->v.gauge, v) : v;
    pthread_mutex_unlock(&m->lock);
}

void metrics_gauge_add(metrics *m, const char *name, long delta) {
    gauge_update(m, name, delta, true);
}

void metrics_gauge_set(metrics *m, const char *name, long value) {
    gauge_update(m, name, value, false);
}

void metrics_counter_add(metrics *m, const char *name, const char *label_name, const char *label_value, long delta) {
    if (!m || delta < 0 || !valid_name(name, true) || (label_name && !valid_label_name(label_name)))
        return;
    const char *v = label_name ? sanitize_label_value(label_value) : NULL;
    pthread_mutex_lock(&m->lock);
    family *f = dynamic_family(m, name, FAMILY_COUNTER, label_name);
    series *s = f ? family_series(f, v, NULL) : NULL;
    if (s)
        s->v.counter += (uint64_t)delta;
    pthread_mutex_unlock(&m->lock);
}

/* ---- rendering ---- */

/* The shortest %g text that reads back as the same double ('.' decimal point: the program never
 * calls setlocale). */
static void format_double(double v, char *out, size_t out_size) {
    if (v == 0) {
        snprintf(out, out_size, "0");
        return;
    }
    if (isinf(v)) {
        snprintf(out, out_size, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (fabs(v) < 1e15 && v == trunc(v)) { /* "20", not the shorter "2e+01" */
        snprintf(out, out_size, "%.0f", v);
        return;
    }
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(out, out_size, "%.*g", precision, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

static int append_escaped(buf *out, const char *s, bool quote_escape) {
    int r = 0;
    for (const char *p = s; *p && r == 0; p++) {
        if (*p == '\\')
            r = buf_append(out, "\\\\", 2);
        else if (*p == '\n')
            r = buf_append(out, "\\n", 2);
        else if (*p == '"' && quote_escape)
            r = buf_append(out, "\\\"", 2);
        else
            r = buf_append(out, p, 1);
    }
    return r;
}

/* name{l0="v0",l1="v1",le="x"} for one sample; `le` may be NULL. */
static int append_sample_name(buf *out, const family *f, const char *suffix, const series *s, const char *le) {
    int r = buf_printf(out, "%s%s", f->name, suffix);
    if (r < 0 || (f->n_labels == 0 && !le))
        return r;
    r = buf_append_str(out, "{");
    for (size_t i = 0; i < f->n_labels && r == 0; i++) {
        r = buf_printf(out, "%s%s=\"", i ? "," : "", f->label_names[i]);
        if (r == 0)
            r = append_escaped(out, s->values[i], true);
        if (r == 0)
            r = buf_append_str(out, "\"");
    }
    if (r == 0 && le)
        r = buf_printf(out, "%sle=\"%s\"", f->n_labels ? "," : "", le);
    if (r == 0)
        r = buf_append_str(out, "}");
    return r;
}

static int series_compare(const void *a, const void *b) {
    const series *x = *(const series *const *)a, *y = *(const series *const *)b;
    for (size_t i = 0; i < 2; i++) {
        const char *p = x->values[i] ? x->values[i] : "", *q = y->values[i] ? y->values[i] : "";
        int c = strcmp(p, q);
        if (c)
            return c;
    }
    return 0;
}

static int render_family(const family *f, buf *out) {
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    int r = buf_printf(out, "# HELP %s ", f->name);
    if (r == 0)
        r = append_escaped(out, f->help, false);
    if (r == 0)
        r = buf_printf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
    if (r < 0 || f->n == 0)
        return r;

    /* Sorted, so scrapes diff cleanly whatever order requests arrived in. */
    series **sorted = malloc(f->n * sizeof *sorted);
    if (!sorted)
        return -ENOMEM;
    memcpy(sorted, f->items, f->n * sizeof *sorted);
    qsort(sorted, f->n, sizeof *sorted, series_compare);

    for (size_t i = 0; i < f->n && r == 0; i++) {
        const series *s = sorted[i];
        char number[64];
        switch (f->type) {
        case FAMILY_COUNTER:
            r = append_sample_name(out, f, "", s, NULL);
            if (r == 0)
                r = buf_printf(out, " %llu\n", (unsigned long long)s->v.counter);
            break;
        case FAMILY_GAUGE:
            r = append_sample_name(out, f, "", s, NULL);
            if (r == 0)
                r = buf_printf(out, " %ld\n", s->v.gauge);
            break;
        case FAMILY_HISTOGRAM: {
            uint64_t cumulative = 0;
            for (size_t b = 0; b <= HISTOGRAM_BUCKETS && r == 0; b++) {
                cumulative = b < HISTOGRAM_BUCKETS ? cumulative + s->v.hist.buckets[b] : s->v.hist.count;
                r = append_sample_name(out, f, "_bucket", s, b < HISTOGRAM_BUCKETS ? bucket_labels[b] : "+Inf");
                if (r == 0)
                    r = buf_printf(out, " %llu\n", (unsigned long long)cumulative);
            }
            format_double(s->v.hist.sum, number, sizeof number);
            if (r == 0)
                r = append_sample_name(out, f, "_sum", s, NULL);
            if (r == 0)
                r = buf_printf(out, " %s\n", number);
            if (r == 0)
                r = append_sample_name(out, f, "_count", s, NULL);
            if (r == 0)
                r = buf_printf(out, " %llu\n", (unsigned long long)s->v.hist.count);
            break;
        }
        }
    }
    free(sorted);
    return r;
}

int metrics_render(metrics *m, buf *out) {
    if (!m || !out)
        return -EINVAL;
    size_t start = out->len;
    pthread_mutex_lock(&m->lock);
    const family *builtins[] = {&m->http_requests, &m->http_duration, &m->tool_calls, &m->tool_duration};
    int r = 0;
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0] && r == 0; i++)
        r = render_family(builtins[i], out);
    for (size_t i = 0; i < m->n_dynamic && r == 0; i++)
        r = render_family(m->dynamic[i], out);
    pthread_mutex_unlock(&m->lock);
    if (r < 0 && out->data) {
        out->len = start;
        out->data[start] = '\0';
    }
    return r;
}
