/* /metrics text must parse as Prometheus exposition 0.0.4, count exactly under concurrency and stay
 * bounded whatever label values arrive. A small strict parser below checks every line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/metrics.h"

/* ---- a strict exposition-format parser ---- */

#define MAX_SAMPLES 20000
#define MAX_FAMILIES 128

typedef struct sample {
    char name[160];
    char labels[512]; /* unescaped, "k=v,k=v" in the order written */
    double value;
} sample;

typedef struct exposition {
    sample *samples;
    size_t n;
    char families[MAX_FAMILIES][160];
    char types[MAX_FAMILIES][32];
    size_t n_families;
} exposition;

static bool name_char(char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
}

static int sample_compare(const void *a, const void *b) {
    const sample *x = *(const sample *const *)a, *y = *(const sample *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->labels, y->labels);
}

/* Parses text; fails the test with the offending line on any format error. */
static void parse_exposition(const char *text, exposition *e) {
    memset(e, 0, sizeof *e);
    e->samples = calloc(MAX_SAMPLES, sizeof *e->samples);
    assert_non_null(e->samples);
    const char *current = NULL, *current_type = NULL;
    bool help_seen = false;
    size_t line_no = 0;
    for (const char *line = text; *line;) {
        const char *nl = strchr(line, '\n');
        if (!nl)
            fail_msg("last line has no newline: %s", line);
        size_t len = (size_t)(nl - line);
        char l[2048];
        assert_true(len < sizeof l);
        memcpy(l, line, len);
        l[len] = '\0';
        line = nl + 1;
        line_no++;
        if (len == 0)
            fail_msg("line %zu: empty line", line_no);

        if (strncmp(l, "# HELP ", 7) == 0) {
            char name[160];
            int n = 0;
            if (sscanf(l + 7, "%159s %n", name, &n) != 1 || n == 0)
                fail_msg("line %zu: bad HELP: %s", line_no, l);
            help_seen = true;
            continue;
        }
        if (strncmp(l, "# TYPE ", 7) == 0) {
            char name[160], type[32];
            if (sscanf(l + 7, "%159s %31s", name, type) != 2)
                fail_msg("line %zu: bad TYPE: %s", line_no, l);
            if (strcmp(type, "counter") && strcmp(type, "gauge") && strcmp(type, "histogram"))
                fail_msg("line %zu: unknown type %s", line_no, type);
            for (size_t i = 0; i < e->n_families; i++)
                if (strcmp(e->families[i], name) == 0)
                    fail_msg("line %zu: second TYPE for %s", line_no, name);
            assert_true(help_seen);
            assert_true(e->n_families < MAX_FAMILIES);
            snprintf(e->families[e->n_families], sizeof e->families[0], "%s", name);
            snprintf(e->types[e->n_families], sizeof e->types[0], "%s", type);
            current = e->families[e->n_families];
            current_type = e->types[e->n_families];
            e->n_families++;
            help_seen = false;
            continue;
        }
        if (l[0] == '#')
            fail_msg("line %zu: unexpected comment: %s", line_no, l);

        assert_true(e->n < MAX_SAMPLES);
        sample *s = &e->samples[e->n];
        const char *p = l;
        size_t n = 0;
        while (name_char(*p, n == 0) && n + 1 < sizeof s->name)
            s->name[n++] = *p++;
        s->name[n] = '\0';
        if (n == 0)
            fail_msg("line %zu: no metric name: %s", line_no, l);
        if (!current)
            fail_msg("line %zu: sample before any TYPE", line_no);
        size_t fl = strlen(current);
        bool same_family = strcmp(s->name, current) == 0 ||
                           (strcmp(current_type, "histogram") == 0 && strncmp(s->name, current, fl) == 0 &&
                            (!strcmp(s->name + fl, "_bucket") || !strcmp(s->name + fl, "_sum") ||
                             !strcmp(s->name + fl, "_count")));
        if (!same_family)
            fail_msg("line %zu: sample %s outside its family %s", line_no, s->name, current);

        size_t lo = 0;
        if (*p == '{') {
            p++;
            while (*p != '}') {
                if (lo)
                    s->labels[lo++] = ',';
                size_t k = 0;
                while (name_char(*p, k == 0) && *p != ':') {
                    s->labels[lo++] = *p++;
                    k++;
                }
                if (k == 0 || *p++ != '=' || *p++ != '"')
                    fail_msg("line %zu: bad label: %s", line_no, l);
                s->labels[lo++] = '=';
                while (*p != '"') {
                    if (*p == '\0')
                        fail_msg("line %zu: unterminated label value", line_no);
                    if (*p == '\\') {
                        p++;
                        if (*p == 'n')
                            s->labels[lo++] = '\n';
                        else if (*p == '\\' || *p == '"')
                            s->labels[lo++] = *p;
                        else
                            fail_msg("line %zu: bad escape \\%c", line_no, *p);
                        p++;
                    } else {
                        s->labels[lo++] = *p++;
                    }
                    assert_true(lo < sizeof s->labels - 2);
                }
                p++;
                if (*p == ',')
                    p++;
                else if (*p != '}')
                    fail_msg("line %zu: expected , or }: %s", line_no, l);
            }
            p++;
        }
        s->labels[lo] = '\0';
        if (*p++ != ' ')
            fail_msg("line %zu: no space before value: %s", line_no, l);
        if (strcmp(p, "+Inf") == 0) {
            s->value = INFINITY;
        } else {
            char *end;
            s->value = strtod(p, &end);
            if (end == p || *end != '\0')
                fail_msg("line %zu: bad value \"%s\"", line_no, p);
        }
        e->n++;
    }
    /* No series twice. */
    const sample **sorted = malloc((e->n + 1) * sizeof *sorted);
    assert_non_null(sorted);
    for (size_t i = 0; i < e->n; i++)
        sorted[i] = &e->samples[i];
    qsort(sorted, e->n, sizeof *sorted, sample_compare);
    for (size_t i = 1; i < e->n; i++)
        if (sample_compare(&sorted[i - 1], &sorted[i]) == 0)
            fail_msg("duplicate series %s{%s}", sorted[i]->name, sorted[i]->labels);
    free(sorted);
}

static void exposition_free(exposition *e) {
    free(e->samples);
}

static bool find(const exposition *e, const char *name, const char *labels, double *ret) {
    for (size_t i = 0; i < e->n; i++) {
        if (!strcmp(e->samples[i].name, name) && !strcmp(e->samples[i].labels, labels)) {
            *ret = e->samples[i].value;
            return true;
        }
    }
    return false;
}

static double value_of(const exposition *e, const char *name, const char *labels) {
    double v = NAN; /* fail_msg is not marked noreturn */
    if (!find(e, name, labels, &v))
        fail_msg("no sample %s{%s}", name, labels);
    return v;
}

static size_t count_samples(const exposition *e, const char *name) {
    size_t n = 0;
    for (size_t i = 0; i < e->n; i++)
        n += strcmp(e->samples[i].name, name) == 0;
    return n;
}

static const char *type_of(const exposition *e, const char *family) {
    for (size_t i = 0; i < e->n_families; i++)
        if (!strcmp(e->families[i], family))
            return e->types[i];
    return NULL;
}

/* Checks each histogram series: buckets cumulative and ordered, +Inf == _count. */
static void check_histograms(const exposition *e) {
    for (size_t f = 0; f < e->n_families; f++) {
        if (strcmp(e->types[f], "histogram") != 0)
            continue;
        char count_name[200], bucket_name[200];
        snprintf(count_name, sizeof count_name, "%s_count", e->families[f]);
        snprintf(bucket_name, sizeof bucket_name, "%s_bucket", e->families[f]);
        for (size_t i = 0; i < e->n; i++) {
            if (strcmp(e->samples[i].name, count_name) != 0)
                continue;
            const char *labels = e->samples[i].labels;
            double prev = 0;
            size_t buckets = 0;
            for (size_t j = 0; j < e->n; j++) {
                const sample *b = &e->samples[j];
                size_t ll = strlen(labels);
                if (strcmp(b->name, bucket_name) || strncmp(b->labels, labels, ll) || strncmp(b->labels + ll, ",le=", 4))
                    continue;
                assert_true(b->value >= prev);
                prev = b->value;
                buckets++;
                if (!strcmp(b->labels + ll + 4, "+Inf"))
                    assert_true(b->value == e->samples[i].value);
            }
            assert_int_equal(buckets, 12);
        }
    }
}

static char *render(metrics *m) {
    buf b;
    buf_init(&b, 16 << 20);
    assert_int_equal(metrics_render(m, &b), 0);
    char *text = buf_steal(&b);
    return text ? text : calloc(1, 1);
}

static void render_and_parse(metrics *m, exposition *e) {
    char *text = render(m);
    parse_exposition(text, e);
    check_histograms(e);
    free(text);
}

/* ---- tests ---- */

static void test_empty(void **state) {
    metrics *m = metrics_new();
    assert_non_null(m);
    exposition e;
    render_and_parse(m, &e);
    assert_int_equal(e.n, 0);
    assert_string_equal(type_of(&e, "kubemcp_http_requests_total"), "counter");
    assert_string_equal(type_of(&e, "kubemcp_http_request_duration_seconds"), "histogram");
    assert_string_equal(type_of(&e, "kubemcp_tool_calls_total"), "counter");
    assert_string_equal(type_of(&e, "kubemcp_tool_call_duration_seconds"), "histogram");
    exposition_free(&e);
    assert_null(metrics_free(m));
    assert_null(metrics_free(NULL));
}

static void test_http_requests(void **state) {
    metrics *m = metrics_new();
    for (int i = 0; i < 3; i++)
        metrics_http_request(m, "/mcp", 200, 0.003);
    metrics_http_request(m, "/mcp", 404, 0.2);
    metrics_http_request(m, "/sse", 200, 20);
    metrics_http_request(m, "/health", 200, 0.005); /* on a bucket bound: counts in le="0.005" */
    metrics_http_request(m, "/mcp", 42, -1);        /* nonsense status and duration */
    metrics_http_request(m, "/mcp", 200, NAN);

    char *text = render(m);
    /* Exact lines, as a scraper sees them. */
    assert_non_null(strstr(text, "\n# TYPE kubemcp_http_requests_total counter\n"));
    assert_non_null(strstr(text, "\nkubemcp_http_requests_total{route=\"/mcp\",code=\"200\"} 4\n"));
    assert_non_null(strstr(text, "\nkubemcp_http_requests_total{route=\"/mcp\",code=\"404\"} 1\n"));
    assert_non_null(strstr(text, "\nkubemcp_http_requests_total{route=\"/mcp\",code=\"other\"} 1\n"));
    assert_non_null(strstr(text, "\nkubemcp_http_request_duration_seconds_bucket{route=\"/sse\",le=\"10\"} 0\n"));
    assert_non_null(strstr(text, "\nkubemcp_http_request_duration_seconds_bucket{route=\"/sse\",le=\"+Inf\"} 1\n"));
    assert_non_null(strstr(text, "\nkubemcp_http_request_duration_seconds_sum{route=\"/sse\"} 20\n"));
    assert_non_null(strstr(text, "\nkubemcp_http_request_duration_seconds_count{route=\"/sse\"} 1\n"));
    /* Sorted by label values. */
    assert_true(strstr(text, "route=\"/health\",code") < strstr(text, "route=\"/mcp\",code=\"200\""));
    assert_true(strstr(text, "code=\"200\"") < strstr(text, "code=\"404\""));
    free(text);

    exposition e;
    render_and_parse(m, &e);
    const char *b = "kubemcp_http_request_duration_seconds_bucket";
    assert_true(value_of(&e, b, "route=/mcp,le=0.005") == 5); /* 3 x 3ms + -1 and NaN counted as 0 */
    assert_true(value_of(&e, b, "route=/mcp,le=0.1") == 5);
    assert_true(value_of(&e, b, "route=/mcp,le=0.25") == 6);
    assert_true(value_of(&e, b, "route=/mcp,le=+Inf") == 6);
    assert_true(value_of(&e, b, "route=/health,le=0.005") == 1);
    assert_true(value_of(&e, "kubemcp_http_request_duration_seconds_count", "route=/mcp") == 6);
    assert_true(fabs(value_of(&e, "kubemcp_http_request_duration_seconds_sum", "route=/mcp") - 0.209) < 1e-12);
    exposition_free(&e);
    metrics_free(m);
}

static void test_tool_calls(void **state) {
    metrics *m = metrics_new();
    metrics_tool_call(m, "pods_list", "ok", 0.04);
    metrics_tool_call(m, "pods_list", "ok", 0.06);
    metrics_tool_call(m, "pods_list", "error", 1.5);
    metrics_tool_call(m, "pods_log", "cancelled", 3);
    exposition e;
    render_and_parse(m, &e);
    assert_true(value_of(&e, "kubemcp_tool_calls_total", "tool=pods_list,outcome=ok") == 2);
    assert_true(value_of(&e, "kubemcp_tool_calls_total", "tool=pods_list,outcome=error") == 1);
    assert_true(value_of(&e, "kubemcp_tool_calls_total", "tool=pods_log,outcome=cancelled") == 1);
    const char *b = "kubemcp_tool_call_duration_seconds_bucket";
    assert_true(value_of(&e, b, "tool=pods_list,le=0.05") == 1);
    assert_true(value_of(&e, b, "tool=pods_list,le=0.1") == 2);
    assert_true(value_of(&e, b, "tool=pods_list,le=2.5") == 3);
    assert_true(value_of(&e, b, "tool=pods_log,le=2.5") == 0);
    assert_true(value_of(&e, b, "tool=pods_log,le=5") == 1);
    assert_true(value_of(&e, "kubemcp_tool_call_duration_seconds_sum", "tool=pods_list") == 0.04 + 0.06 + 1.5);
    exposition_free(&e);
    metrics_free(m);
}

static void test_label_hygiene(void **state) {
    metrics *m = metrics_new();
    metrics_http_request(m, "a\"b\\c", 200, 0);   /* escaped */
    metrics_http_request(m, "line\nbreak", 200, 0); /* control character: other */
    metrics_http_request(m, "bad\xff", 200, 0);   /* not UTF-8: other */
    metrics_http_request(m, NULL, 200, 0);
    metrics_http_request(m, "", 200, 0);
    char longv[METRICS_LABEL_VALUE_MAX + 2];
    memset(longv, 'x', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    metrics_http_request(m, longv, 200, 0);
    metrics_tool_call(m, "caf\xc3\xa9", NULL, 0); /* UTF-8 is fine */

    char *text = render(m);
    assert_non_null(strstr(text, "{route=\"a\\\"b\\\\c\",code=\"200\"} 1\n"));
    free(text);
    exposition e;
    render_and_parse(m, &e);
    assert_true(value_of(&e, "kubemcp_http_requests_total", "route=a\"b\\c,code=200") == 1);
    assert_true(value_of(&e, "kubemcp_http_requests_total", "route=other,code=200") == 5);
    assert_true(value_of(&e, "kubemcp_tool_calls_total", "tool=caf\xc3\xa9,outcome=other") == 1);
    exposition_free(&e);
    metrics_free(m);
}

static void test_gauges_and_counters(void **state) {
    metrics *m = metrics_new();
    metrics_gauge_add(m, "kubemcp_open_sse_streams", 3);
    metrics_gauge_add(m, "kubemcp_open_sse_streams", -1);
    metrics_gauge_add(m, "kubemcp_open_sessions", 0); /* registers at 0 */
    metrics_gauge_set(m, "kubemcp_queue_depth", -7);
    metrics_gauge_add(m, "bad name", 1);                     /* invalid name: ignored */
    metrics_gauge_add(m, "9lives", 1);                       /* invalid name: ignored */
    metrics_gauge_add(m, "kubemcp_http_requests_total", 1);  /* taken by a built-in: ignored */
    metrics_gauge_add(m, "kubemcp_tool_call_duration_seconds_sum", 1);
    metrics_gauge_add(m, NULL, 1);
    metrics_counter_add(m, "kubemcp_auth_total", "outcome", "ok", 2);
    metrics_counter_add(m, "kubemcp_auth_total", "outcome", "invalid_token", 1);
    metrics_counter_add(m, "kubemcp_auth_total", "outcome", "ok", 1);
    metrics_counter_add(m, "kubemcp_auth_total", "outcome", "ok", -5);      /* counters never go down */
    metrics_counter_add(m, "kubemcp_auth_total", "reason", "ok", 1);        /* other label name: ignored */
    metrics_counter_add(m, "kubemcp_open_sse_streams", "x", "y", 1);        /* a gauge already: ignored */
    metrics_counter_add(m, "kubemcp_bad_label_total", "le", "y", 1);        /* reserved label: ignored */
    metrics_counter_add(m, "kubemcp_bad_label_total", "__name", "y", 1);    /* reserved label: ignored */
    metrics_counter_add(m, "kubemcp_throttled_total", NULL, "ignored", 4);  /* no label */
    metrics_gauge_add(m, "kubemcp_open_sse_streams", LONG_MAX);
    metrics_gauge_add(m, "kubemcp_open_sse_streams", LONG_MAX); /* saturates, no overflow */

    char *text = render(m);
    assert_non_null(strstr(text, "\n# TYPE kubemcp_open_sse_streams gauge\n"));
    assert_non_null(strstr(text, "# HELP kubemcp_open_sse_streams Server-sent event streams currently open.\n"));
    assert_non_null(strstr(text, "\nkubemcp_auth_total{outcome=\"ok\"} 3\n"));
    assert_non_null(strstr(text, "\nkubemcp_throttled_total 4\n"));
    assert_null(strstr(text, "bad_label"));
    free(text);

    exposition e;
    render_and_parse(m, &e);
    assert_string_equal(type_of(&e, "kubemcp_auth_total"), "counter");
    assert_string_equal(type_of(&e, "kubemcp_queue_depth"), "gauge");
    assert_true(value_of(&e, "kubemcp_open_sse_streams", "") == (double)LONG_MAX);
    assert_true(value_of(&e, "kubemcp_open_sessions", "") == 0);
    assert_true(value_of(&e, "kubemcp_queue_depth", "") == -7);
    assert_true(value_of(&e, "kubemcp_auth_total", "outcome=invalid_token") == 1);
    assert_int_equal(count_samples(&e, "kubemcp_auth_total"), 2);
    assert_int_equal(count_samples(&e, "kubemcp_http_requests_total"), 0);
    assert_null(type_of(&e, "9lives"));
    exposition_free(&e);

    metrics_gauge_set(m, "kubemcp_open_sse_streams", 0);
    render_and_parse(m, &e);
    assert_true(value_of(&e, "kubemcp_open_sse_streams", "") == 0);
    exposition_free(&e);

    /* NULL metrics are a no-op everywhere. */
    metrics_http_request(NULL, "/mcp", 200, 1);
    metrics_tool_call(NULL, "t", "ok", 1);
    metrics_gauge_add(NULL, "g", 1);
    metrics_counter_add(NULL, "c", NULL, NULL, 1);
    metrics_free(m);
}

static void test_cardinality_bounded(void **state) {
    metrics *m = metrics_new();
    char route[32];
    for (int i = 0; i < 1500; i++) {
        snprintf(route, sizeof route, "/r%04d", i);
        metrics_http_request(m, route, 200, 0.001);
        metrics_counter_add(m, "kubemcp_auth_total", "client", route, 1);
    }
    for (int i = 0; i < 100; i++) /* another code for an existing route: a new label set, folded too */
        metrics_http_request(m, "/r0000", 500 + i % 50, 0.001);
    for (int i = 0; i < 200; i++) {
        snprintf(route, sizeof route, "g%d", i);
        metrics_gauge_add(m, route, 1); /* past the family limit: dropped */
    }
    exposition e;
    render_and_parse(m, &e);
    assert_int_equal(count_samples(&e, "kubemcp_http_requests_total"), METRICS_MAX_LABEL_SETS + 1);
    assert_true(value_of(&e, "kubemcp_http_requests_total", "route=/r0999,code=200") == 1);
    assert_false(find(&e, "kubemcp_http_requests_total", "route=/r1000,code=200", &(double){0}));
    assert_true(value_of(&e, "kubemcp_http_requests_total", "route=other,code=other") == 600);
    assert_int_equal(count_samples(&e, "kubemcp_http_request_duration_seconds_count"), METRICS_MAX_LABEL_SETS + 1);
    assert_true(value_of(&e, "kubemcp_http_request_duration_seconds_count", "route=other") == 500);
    assert_true(value_of(&e, "kubemcp_http_request_duration_seconds_count", "route=/r0000") == 101);
    assert_int_equal(count_samples(&e, "kubemcp_auth_total"), METRICS_MAX_LABEL_SETS + 1);
    assert_true(value_of(&e, "kubemcp_auth_total", "client=other") == 500);
    /* Every request is still counted somewhere. */
    double total = 0;
    for (size_t i = 0; i < e.n; i++)
        if (!strcmp(e.samples[i].name, "kubemcp_http_requests_total"))
            total += e.samples[i].value;
    assert_true(total == 1600);
    assert_true(e.n_families == 4 + METRICS_MAX_DYNAMIC_FAMILIES);
    exposition_free(&e);
    metrics_free(m);
}

static void test_render_too_small(void **state) {
    metrics *m = metrics_new();
    metrics_http_request(m, "/mcp", 200, 0.1);
    buf b;
    buf_init(&b, 300);
    assert_int_equal(buf_append_str(&b, "prefix\n"), 0);
    assert_int_equal(metrics_render(m, &b), -EMSGSIZE);
    assert_string_equal(b.data, "prefix\n"); /* unchanged on failure */
    assert_int_equal(b.len, 7);
    buf_free(&b);
    assert_int_equal(metrics_render(NULL, &b), -EINVAL);
    metrics_free(m);
}

/* ---- concurrency: totals exact under contention ---- */

#define THREADS 8
#define ITERATIONS 20000

static void *hammer(void *opaque) {
    metrics *m = opaque;
    for (int i = 0; i < ITERATIONS; i++) {
        metrics_http_request(m, (i & 1) ? "/mcp" : "/sse", 200, 0.001);
        metrics_tool_call(m, "pods_list", "ok", 0.02);
        metrics_gauge_add(m, "kubemcp_open_sse_streams", 1);
        metrics_counter_add(m, "kubemcp_auth_total", "outcome", "ok", 1);
        metrics_gauge_add(m, "kubemcp_open_sessions", 1);
        metrics_gauge_add(m, "kubemcp_open_sessions", -1);
        if (i % 5000 == 0) { /* scrapes while the counters move */
            buf b;
            buf_init(&b, 1 << 20);
            assert_int_equal(metrics_render(m, &b), 0);
            buf_free(&b);
        }
    }
    return NULL;
}

static void test_concurrency(void **state) {
    metrics *m = metrics_new();
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, m), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    exposition e;
    render_and_parse(m, &e);
    const double half = THREADS * ITERATIONS / 2, all = THREADS * ITERATIONS;
    assert_true(value_of(&e, "kubemcp_http_requests_total", "route=/mcp,code=200") == half);
    assert_true(value_of(&e, "kubemcp_http_requests_total", "route=/sse,code=200") == half);
    assert_true(value_of(&e, "kubemcp_http_request_duration_seconds_bucket", "route=/mcp,le=0.005") == half);
    assert_true(value_of(&e, "kubemcp_tool_calls_total", "tool=pods_list,outcome=ok") == all);
    assert_true(value_of(&e, "kubemcp_tool_call_duration_seconds_count", "tool=pods_list") == all);
    assert_true(value_of(&e, "kubemcp_open_sse_streams", "") == all);
    assert_true(value_of(&e, "kubemcp_open_sessions", "") == 0);
    assert_true(value_of(&e, "kubemcp_auth_total", "outcome=ok") == all);
    exposition_free(&e);
    metrics_free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),          cmocka_unit_test(test_http_requests),
        cmocka_unit_test(test_tool_calls),     cmocka_unit_test(test_label_hygiene),
        cmocka_unit_test(test_gauges_and_counters), cmocka_unit_test(test_cardinality_bounded),
        cmocka_unit_test(test_render_too_small), cmocka_unit_test(test_concurrency),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
