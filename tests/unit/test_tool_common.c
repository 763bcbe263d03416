/* Shared tool helpers: policy, arguments, bounded output, manifest parsing, the catalog. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/json_arena.h"
#include "kube/kube_internal.h"
#include "kube_test_server.h"
#include "tools/tool.h"

static void test_denied_resources(void **state) {
    (void)state;
    denied_resource denied[] = {
        {.group = "", .version = "v1", .kind = "Secret"},
        {.group = "rbac.authorization.k8s.io", .version = "", .kind = "ClusterRole"},
        {.group = "apps", .version = "", .kind = ""},
    };
    kubemcp_config cfg = {.denied_resources = denied, .denied_resources_count = 3};
    error_info err = {0};
    assert_int_equal(tool_check_denied(&cfg, "", "v1", "Secret", &err), -EPERM);
    assert_non_null(strstr(err.message, "v1 Secret"));
    assert_non_null(strstr(err.message, "denied_resources"));
    /* Kind matching ignores case; the group must match exactly (empty = core only). */
    assert_int_equal(tool_check_denied(&cfg, "", "v1", "secret", &err), -EPERM);
    assert_int_equal(tool_check_denied(&cfg, "", "v2", "Secret", &err), 0);
    assert_int_equal(tool_check_denied(&cfg, "example.com", "v1", "Secret", &err), 0);
    assert_int_equal(tool_check_denied(&cfg, "", "v1", "ConfigMap", &err), 0);
    /* Empty version = any version. */
    assert_int_equal(tool_check_denied(&cfg, "rbac.authorization.k8s.io", "v1", "ClusterRole", &err), -EPERM);
    assert_int_equal(tool_check_denied(&cfg, "rbac.authorization.k8s.io", "v1beta1", "ClusterRole", &err), -EPERM);
    assert_int_equal(tool_check_denied(&cfg, "rbac.authorization.k8s.io", "v1", "Role", &err), 0);
    /* Empty kind = every kind of the group. */
    assert_int_equal(tool_check_denied(&cfg, "apps", "v1", "Deployment", &err), -EPERM);
    assert_int_equal(tool_check_denied(NULL, "", "v1", "Secret", &err), 0);
}

static void test_args(void **state) {
    (void)state;
    json_t *args = json_loads("{\"s\":\"x\",\"b\":true,\"i\":7,\"r\":3.0,\"frac\":2.5,\"wrong\":\"7\"}", 0, NULL);
    assert_string_equal(tool_arg_string(args, "s"), "x");
    assert_null(tool_arg_string(args, "missing"));
    assert_null(tool_arg_string(args, "i"));
    assert_true(tool_arg_bool(args, "b", false));
    assert_false(tool_arg_bool(args, "missing", false));
    assert_true(tool_arg_bool(args, "s", true));
    assert_int_equal(tool_arg_int(args, "i", 0), 7);
    assert_int_equal(tool_arg_int(args, "r", 0), 3);
    assert_int_equal(tool_arg_int(args, "frac", -1), -1);
    assert_int_equal(tool_arg_int(args, "wrong", 100), 100);
    assert_int_equal(tool_arg_int(NULL, "i", 5), 5);
    json_decref(args);
}

static void test_output_cut_with_note(void **state) {
    (void)state;
    kubemcp_config cfg = {.max_output_bytes = 2048};
    tool_context ctx = {.config = &cfg};
    tool_result ret = {0};
    buf_init(&ret.text, 1u << 20);
    json_t *items = json_array();
    for (int i = 0; i < 200; i++)
        json_array_append_new(items, json_pack("{s:s, s:i}", "name", "pod-with-a-fairly-long-name", "index", i));
    assert_int_equal(tool_result_yaml(&ctx, &ret, items, "narrow the query with labelSelector"), 0);
    assert_true(ret.text.len <= 2048);
    assert_non_null(strstr(ret.text.data, "- name: pod-with-a-fairly-long-name\n"));
    assert_non_null(strstr(ret.text.data, "[output cut at 2048 bytes (max_output_bytes); narrow the query with "
                                          "labelSelector]"));
    /* Cut on a line boundary: the text before the note ends with a whole line. */
    char *note = strstr(ret.text.data, "\n[output cut");
    assert_non_null(note);
    assert_true(note[-1] == '\n');
    buf_free(&ret.text);

    /* Small output is not cut and has no note. */
    tool_result small = {0};
    json_t *one = json_pack("{s:s}", "a", "b");
    assert_int_equal(tool_result_yaml(&ctx, &small, one, NULL), 0);
    assert_string_equal(small.text.data, "a: b\n");
    buf_free(&small.text);
    json_decref(one);

    /* Plain text (logs) is cut the same way. */
    tool_result log = {0};
    char big[5000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (i % 50 == 49) ? '\n' : 'x';
    assert_int_equal(tool_result_text(&ctx, &log, big, sizeof big, "use tail"), 0);
    assert_true(log.text.len <= 2048);
    assert_non_null(strstr(log.text.data, "; use tail]"));
    buf_free(&log.text);
    json_decref(items);
}

static void test_result_error_is_redacted(void **state) {
    (void)state;
    tool_result ret = {0};
    tool_result_printf(&ret, "partial output");
    error_info err = {0};
    error_set(&err, EACCES, "rejected token Bearer abcdefghijklmnopqrstuvwxyz: {\"data\":{\"k\":\"c2VjcmV0\"}}");
    assert_int_equal(tool_result_from_error(&ret, &err), 0);
    assert_true(ret.is_error);
    assert_null(strstr(ret.text.data, "partial output"));
    assert_null(strstr(ret.text.data, "abcdefghijklmnopqrstuvwxyz"));
    assert_null(strstr(ret.text.data, "c2VjcmV0"));
    assert_non_null(strstr(ret.text.data, "rejected token"));
    buf_free(&ret.text);
}

static json_t *parse_ok(const char *text) {
    json_t *docs = NULL;
    error_info err = {0};
    int r = tool_parse_manifest(text, strlen(text), &docs, &err);
    if (r < 0)
        fail_msg("unexpected error: %s", err.message);
    return docs;
}

static void parse_fails(const char *text, const char *expected) {
    json_t *docs = NULL;
    error_info err = {0};
    assert_true(tool_parse_manifest(text, strlen(text), &docs, &err) < 0);
    assert_null(docs);
    if (!strstr(err.message, expected))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, expected);
}

static void test_manifest_parsing(void **state) {
    (void)state;
    json_t *docs = parse_ok("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  n: \"1\"\n"
                            "  mode: 0644\n---\n# comment only\n---\napiVersion: apps/v1\nkind: Deployment\n"
                            "metadata: {name: b, labels: {app: web}}\nspec:\n  replicas: 2\n  paused: false\n"
                            "  x: ~\n  y: yes\n  f: 1.5\n  s: !!str 123\n");
    assert_int_equal(json_array_size(docs), 2);
    json_t *cm = json_array_get(docs, 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(cm, "data"), "n")), "1");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(cm, "data"), "mode")), 0644);
    json_t *spec = json_object_get(json_array_get(docs, 1), "spec");
    assert_int_equal(json_integer_value(json_object_get(spec, "replicas")), 2);
    assert_true(json_is_false(json_object_get(spec, "paused")));
    assert_true(json_is_null(json_object_get(spec, "x")));
    assert_string_equal(json_string_value(json_object_get(spec, "y")), "yes");
    assert_true(json_is_real(json_object_get(spec, "f")));
    assert_string_equal(json_string_value(json_object_get(spec, "s")), "123");
    json_decref(docs);

    /* Single-quoted scalars are decoded from source (libfyaml 0.7.12 leaks on '' otherwise). */
    docs = parse_ok("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: q\ndata:\n  a: 'it''s'\n  b: ''\n"
                    "  c: '''x'''\n  d: 'multi\n    line'\n");
    json_t *data = json_object_get(json_array_get(docs, 0), "data");
    assert_string_equal(json_string_value(json_object_get(data, "a")), "it's");
    assert_string_equal(json_string_value(json_object_get(data, "b")), "");
    assert_string_equal(json_string_value(json_object_get(data, "c")), "'x'");
    assert_string_equal(json_string_value(json_object_get(data, "d")), "multi line");
    json_decref(docs);

    docs = parse_ok("{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\"},"
                    "\"stringData\":{\"a\":\"b\"}}");
    assert_int_equal(json_array_size(docs), 1);
    json_decref(docs);

    docs = parse_ok("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n"
                    "    name: x\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: y\n");
    assert_int_equal(json_array_size(docs), 2);
    json_decref(docs);

    docs = parse_ok("base: &b {apiVersion: v1, kind: ConfigMap}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n"
                    "  name: alias\ncopy: *b\n");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(docs, 0), "copy"),
                                                          "kind")),
                        "ConfigMap");
    json_decref(docs);

    parse_fails("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n bad: indent\n", "line ");
    parse_fails("apiVersion: v1\nkind: ConfigMap\n", "has no metadata.name");
    parse_fails("kind: ConfigMap\nmetadata:\n  name: a\n", "has no apiVersion");
    parse_fails("apiVersion: v1\nmetadata:\n  name: a\n", "has no kind");
    parse_fails("{\"apiVersion\": \"v1\",", "not valid JSON (line 1");
    parse_fails("", "empty");
    parse_fails("- a\n- b\n", "not a map");
    parse_fails("a: &a [*a, *a]\n", "");
    parse_fails("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: x\nmetadata: {}\n",
                "document 2");
    /* An alias bomb is refused, not expanded. */
    parse_fails("a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n",
                "too many values");
    /* Few nodes but a large value repeated: refused by the text budget, not expanded. */
    size_t big = 1024 * 1024;
    char *bomb = malloc(big + 4096);
    size_t n = (size_t)sprintf(bomb, "big: &x \"");
    memset(bomb + n, 'A', big);
    n += big;
    n += (size_t)sprintf(bomb + n, "\"\nl: [");
    for (int i = 0; i < 100; i++)
        n += (size_t)sprintf(bomb + n, "%s*x", i ? "," : "");
    sprintf(bomb + n, "]\n");
    parse_fails(bomb, "too much text");
    free(bomb);

    /* A tagged single-quoted scalar is read from the source too ('' is one quote). */
    docs = parse_ok("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ! 'it''s'}\n");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(docs, 0), "metadata"), "name")),
                        "it's");
    json_decref(docs);

    /* Control characters YAML does not allow are refused before the parser sees them. */
    parse_fails("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: 'a\x1b'}\n", "control character");

    /* Windows line ends read like Unix ones, block scalars included. */
    docs = parse_ok("apiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: crlf\r\ndata:\r\n  script: |\r\n"
                    "    echo one\r\n    echo two\r\n");
    assert_string_equal(json_string_value(json_object_get(json_object_get(json_array_get(docs, 0), "data"), "script")),
                        "echo one\necho two\n");
    json_decref(docs);
}

static void test_quantities(void **state) {
    (void)state;
    double v;
    assert_true(tool_quantity_parse("250m", &v));
    assert_true(v > 0.2499 && v < 0.2501);
    assert_true(tool_quantity_parse("129Mi", &v));
    assert_true(v == 129.0 * 1048576.0);
    assert_true(tool_quantity_parse("1234567n", &v));
    assert_true(tool_quantity_parse("2", &v) && v == 2.0);
    assert_false(tool_quantity_parse("12Q", &v));
    assert_false(tool_quantity_parse("", &v));
}

static void test_catalog(void **state) {
    (void)state;
    size_t n = 0;
    for (const tool_def *const *t = tool_catalog; *t; t++, n++) {
        const tool_def *def = *t;
        json_error_t jerr;
        json_t *schema = json_loads(def->input_schema, 0, &jerr);
        if (!schema)
            fail_msg("%s: bad schema: %s", def->name, jerr.text);
        assert_true(json_is_false(json_object_get(schema, "additionalProperties")));
        json_t *props = json_object_get(schema, "properties");
        assert_true(json_is_object(props));
        size_t i;
        json_t *req;
        json_array_foreach(json_object_get(schema, "required"), i, req) {
            if (!json_object_get(props, json_string_value(req)))
                fail_msg("%s requires undeclared %s", def->name, json_string_value(req));
        }
        const char *key;
        json_t *prop;
        json_object_foreach(props, key, prop) {
            if (!json_is_string(json_object_get(prop, "type")) || !json_is_string(json_object_get(prop, "description")))
                fail_msg("%s.%s lacks type or description", def->name, key);
        }
        json_decref(schema);
        assert_non_null(def->handler);
        assert_false(def->read_only && def->destructive);
        for (const tool_def *const *u = t + 1; *u; u++)
            assert_string_not_equal(def->name, (*u)->name);
    }
    assert_int_equal(n, 19);
}

/* ---- answers from a Kubernetes API stand-in ---- */

static const char secret_json[] =
    "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\",\"managedFields\":[{\"manager\":"
    "\"kubectl\",\"fieldsV1\":{\"f:data\":{}}}],\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":"
    "\"{\\\"kind\\\":\\\"Secret\\\",\\\"data\\\":{\\\"k\\\":\\\"dmFsdWU=\\\"}}\\n\"}},\"data\":{\"k\":\"dmFsdWU=\"}}";

static const char *const pod_pages[] = {
    "{\"apiVersion\":\"v1\",\"kind\":\"PodList\",\"metadata\":{\"continue\":\"next page\",\"remainingItemCount\":1},"
    "\"items\":[{\"metadata\":{\"name\":\"a\",\"managedFields\":[{}]}},{\"metadata\":{\"name\":\"b\"},"
    "\"spec\":{\"note\":\"two\\nlines\"}}]}",
    "{\"apiVersion\":\"v1\",\"kind\":\"PodList\",\"metadata\":{},\"items\":[{\"metadata\":{\"name\":\"c\"}}]}",
};

static const char table_json[] =
    "{\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{},\"columnDefinitions\":[{\"name\":\"Name\","
    "\"type\":\"string\",\"priority\":0}],\"rows\":[{\"cells\":[\"only-row\"]}]}";

static void kube_handler(const ts_request *req, ts_reply *reply, void *ctx) {
    (void)ctx;
    if (strcmp(req->target, "/api/v1/namespaces/default/secrets/s") == 0)
        ts_reply_text(reply, 200, secret_json);
    else if (strcmp(req->target, "/api/v1/namespaces/default/configmaps/broken") == 0)
        ts_reply_text(reply, 200, "{\"kind\": not json");
    else if (strcmp(req->target, "/api/v1/namespaces/default/configmaps/empty") == 0)
        ts_reply_text(reply, 200, "");
    else if (strcmp(req->target, "/api/v1/namespaces/default/pods?limit=500") == 0)
        ts_reply_text(reply, 200, pod_pages[0]);
    else if (strcmp(req->target, "/api/v1/namespaces/default/pods?limit=500&continue=next%20page") == 0)
        ts_reply_text(reply, 200, pod_pages[1]);
    else if (strncmp(req->target, "/apis/example.com/v1/tables?", 28) == 0)
        ts_reply_text(reply, 200, table_json);
    else
        ts_reply_text(reply, 404, "{\"kind\":\"Status\",\"message\":\"not found here\"}");
}

typedef struct kube_fixture {
    test_server *server;
    kube_cluster *cluster;
    kubemcp_config config;
    tool_context ctx;
} kube_fixture;

static int kube_setup(void **state) {
    kube_fixture *f = calloc(1, sizeof *f);
    f->server = test_server_start(kube_handler, NULL);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", f->server->port);
    kube_cluster_config cfg = {.name = "test", .server = url};
    error_info err = {0};
    if (kube_cluster_new(&cfg, &f->cluster, &err) < 0)
        fail_msg("kube_cluster_new: %s", err.message);
    f->config.mask_secrets = true;
    f->ctx.config = &f->config;
    *state = f;
    return 0;
}

static int kube_teardown(void **state) {
    kube_fixture *f = *state;
    kube_cluster_free(f->cluster);
    test_server_stop(f->server);
    free(f);
    return 0;
}

static void test_get_yaml_is_get_then_yaml(void **state) {
    kube_fixture *f = *state;
    const char *paths[] = {"/api/v1/namespaces/default/secrets/s", "/api/v1/namespaces/default/configmaps/broken",
                           "/api/v1/namespaces/default/configmaps/empty", "/api/v1/namespaces/default/configmaps/none"};
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        tool_result two_steps = {0}, one_step = {0};
        error_info err_two = {0}, err_one = {0};
        json_t *object = NULL;
        int r_two = tool_kube_get(&f->ctx, f->cluster, paths[i], NULL, &object, &err_two);
        if (r_two >= 0)
            tool_result_yaml(&f->ctx, &two_steps, object, NULL);
        json_decref(object);
        int r_one = tool_kube_get_yaml(&f->ctx, f->cluster, paths[i], NULL, &one_step, NULL, &err_one);
        assert_false(json_arena_active());
        assert_int_equal(r_one, r_two);
        assert_string_equal(err_one.message, err_two.message);
        assert_int_equal(one_step.text.len, two_steps.text.len);
        if (one_step.text.len)
            assert_string_equal(one_step.text.data, two_steps.text.data);
        buf_free(&one_step.text);
        buf_free(&two_steps.text);
    }
    /* The Secret itself: values and the annotation masked, managedFields gone. */
    tool_result secret = {0};
    error_info err = {0};
    assert_int_equal(tool_kube_get_yaml(&f->ctx, f->cluster, paths[0], NULL, &secret, NULL, &err), 0);
    assert_null(strstr(secret.text.data, "dmFsdWU="));
    assert_null(strstr(secret.text.data, "managedFields"));
    assert_non_null(strstr(secret.text.data, "k: \"****\""));
    buf_free(&secret.text);
}

/* Progress notifications build and dump JSON of their own: they must run outside the arena. */
static int progress_calls;
static double progress_seen[4];
static void progress_with_json(void *opaque, double progress, double total, const char *message) {
    (void)opaque;
    assert_false(json_arena_active());
    json_t *n = json_pack("{s:f, s:f, s:s}", "progress", progress, "total", total, "message", message);
    char *text = json_dumps(n, JSON_COMPACT);
    free(text);
    json_decref(n);
    if (progress_calls < 4)
        progress_seen[progress_calls] = progress;
    progress_calls++;
}

/* A view that keeps parts of the items, as events_list does. */
static json_t *names_view(json_t *items, void *opaque) {
    (void)opaque;
    json_t *view = json_array();
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) {
        json_t *entry = json_object();
        json_object_set(entry, "metadata", json_object_get(item, "metadata"));
        json_object_set_new(entry, "seen", json_true());
        json_array_append_new(view, entry);
    }
    return view;
}

static void test_list_pages_yaml_and_tables(void **state) {
    kube_fixture *f = *state;
    f->ctx.progress = progress_with_json;
    tool_list_options opts = {.path = "/api/v1/namespaces/default/pods"};
    tool_result res = {0};
    error_info err = {0};
    progress_calls = 0;
    assert_int_equal(tool_list(&f->ctx, f->cluster, &opts, &res, &err), 0);
    assert_false(json_arena_active());
    assert_string_equal(res.text.data, "- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: a\n"
                                       "- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: b\n  spec:\n"
                                       "    note: |-\n      two\n      lines\n"
                                       "- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: c\n");
    assert_int_equal(progress_calls, 2);
    assert_true(progress_seen[0] == 2 && progress_seen[1] == 3);
    buf_free(&res.text);

    opts.view = names_view;
    tool_result viewed = {0};
    assert_int_equal(tool_list(&f->ctx, f->cluster, &opts, &viewed, &err), 0);
    assert_non_null(strstr(viewed.text.data, "- metadata:\n    name: c\n  seen: true\n"));
    buf_free(&viewed.text);

    /* A Table where YAML was asked for (some aggregated APIs) is still printed as a table. */
    tool_list_options tables = {.path = "/apis/example.com/v1/tables"};
    tool_result table = {0};
    assert_int_equal(tool_list(&f->ctx, f->cluster, &tables, &table, &err), 0);
    assert_string_equal(table.text.data, "NAME\nonly-row\n");
    buf_free(&table.text);
    f->ctx.progress = NULL;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_denied_resources),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_output_cut_with_note),
        cmocka_unit_test(test_result_error_is_redacted),
        cmocka_unit_test(test_manifest_parsing),
        cmocka_unit_test(test_quantities),
        cmocka_unit_test(test_catalog),
        cmocka_unit_test_setup_teardown(test_get_yaml_is_get_then_yaml, kube_setup, kube_teardown),
        cmocka_unit_test_setup_teardown(test_list_pages_yaml_and_tables, kube_setup, kube_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
