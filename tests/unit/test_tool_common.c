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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_denied_resources),
        cmocka_unit_test(test_args),
        cmocka_unit_test(test_output_cut_with_note),
        cmocka_unit_test(test_result_error_is_redacted),
        cmocka_unit_test(test_manifest_parsing),
        cmocka_unit_test(test_quantities),
        cmocka_unit_test(test_catalog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
