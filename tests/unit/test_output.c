/* output_yaml / output_table: kubectl-like text that parses back to the same JSON. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libfyaml.h>

#include "tools/output.h"
#include "tools/tool.h"

static json_t *load_data(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/output/%s", KUBEMCP_TEST_DATA_DIR, name);
    json_error_t jerr;
    json_t *v = json_load_file(path, JSON_PRESERVE_ORDER, &jerr);
    if (!v)
        fail_msg("cannot load %s: %s", path, jerr.text);
    return v;
}

static char *read_data(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/output/%s", KUBEMCP_TEST_DATA_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return text;
}

static char *yaml_of(const json_t *v) {
    buf out;
    buf_init(&out, 8u << 20);
    assert_int_equal(output_yaml(v, &out), 0);
    char *text = buf_steal(&out);
    return text ? text : strdup("");
}

/* Parses YAML with libfyaml (strict: the document must load without any error) and converts it
 * back to JSON through the same converter that reads user manifests. */
static json_t *yaml_parse_back(const char *yaml) {
    struct fy_document *doc = fy_document_build_from_string(NULL, yaml, strlen(yaml));
    if (!doc)
        fail_msg("libfyaml rejected:\n%s", yaml);
    fy_document_destroy(doc);
    /* The manifest parser needs apiVersion/kind/name: wrap the value in a fake object. */
    json_t *value_holder = NULL;
    buf wrapped;
    buf_init(&wrapped, 16u << 20);
    buf_append_str(&wrapped, "apiVersion: v1\nkind: Test\nmetadata:\n  name: t\nvalue:\n");
    /* Indent the YAML under value: by two spaces. */
    const char *p = yaml;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (n)
            buf_append_str(&wrapped, "  ");
        buf_append(&wrapped, p, n);
        buf_append_str(&wrapped, "\n");
        p += n + (nl ? 1 : 0);
    }
    json_t *docs = NULL;
    error_info err = {0};
    int r = tool_parse_manifest(wrapped.data, wrapped.len, &docs, &err);
    if (r < 0)
        fail_msg("parse back failed: %s\n%s", err.message, wrapped.data);
    buf_free(&wrapped);
    value_holder = json_incref(json_object_get(json_array_get(docs, 0), "value"));
    json_decref(docs);
    return value_holder;
}

static void assert_round_trip(const json_t *v) {
    char *yaml = yaml_of(v);
    json_t *back = yaml_parse_back(yaml);
    if (!json_equal((json_t *)v, back)) {
        char *a = json_dumps(v, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        char *b = json_dumps(back, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        fail_msg("round trip differs\nin:   %s\nyaml:\n%s\nback: %s", a, yaml, b);
    }
    json_decref(back);
    free(yaml);
}

static void test_yaml_quoting(void **state) {
    (void)state;
    json_t *v = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                          "plain", "hello world", "bool", "true", "yes", "yes", "null", "null", "num", "123",
                          "float", "1.5", "time", "2026-11-22T05:37:17Z", "empty", "", "colon", "a: b", "hash",
                          "a #b", "lead", " x", "star", "*ref", "flag", "--port=8080", "dash", "-");
    char *yaml = yaml_of(v);
    assert_non_null(strstr(yaml, "plain: hello world\n"));
    assert_non_null(strstr(yaml, "bool: \"true\"\n"));
    assert_non_null(strstr(yaml, "\"yes\": \"yes\"\n"));
    assert_non_null(strstr(yaml, "\"null\": \"null\"\n"));
    assert_non_null(strstr(yaml, "num: \"123\"\n"));
    assert_non_null(strstr(yaml, "time: \"2026-11-22T05:37:17Z\"\n"));
    assert_non_null(strstr(yaml, "empty: \"\"\n"));
    assert_non_null(strstr(yaml, "colon: \"a: b\"\n"));
    assert_non_null(strstr(yaml, "star: \"*ref\"\n"));
    assert_non_null(strstr(yaml, "flag: --port=8080\n"));
    free(yaml);
    assert_round_trip(v);
    json_decref(v);

    const char *tricky[] = {"~", "True", "NO", "0x1F", "0o17", "0644", "+1", "-1", ".5", "1e3", ".inf", "-.Inf",
                            ".NaN", "---", "...", "a:", "key: value", "tab\there", "q\"uote", "back\\slash",
                            "{flow}", "[x]", "&anchor", "!tag", "%pct", "@at", "`tick", "|pipe", ">gt", "'sq",
                            "?q", ":c", "a,b", "trailing ", "unicode é ✓", "ctl\x01x", "del\x7f", "nel\xc2\x85x",
                            "ls\xe2\x80\xa8x", "bom\xef\xbb\xbfx", "#hash", "a#b", "<none>", "y", "n", "on", "Off",
                            "k:{\"name\":\"web\"}", "f:metadata", ".", NULL};
    for (size_t i = 0; tricky[i]; i++) {
        json_t *obj = json_pack("{s:s}", "k", tricky[i]);
        assert_non_null(obj);
        assert_round_trip(obj);
        json_t *key = json_object();
        json_object_set_new(key, tricky[i], json_string(tricky[i]));
        assert_round_trip(key);
        json_t *arr = json_pack("[s]", tricky[i]);
        assert_round_trip(arr);
        json_decref(obj);
        json_decref(key);
        json_decref(arr);
    }
}

static void test_yaml_multiline(void **state) {
    (void)state;
    json_t *v = json_pack("{s:s, s:s, s:s, s:s}", "script", "echo hi\nexit 0\n", "nonl", "a\nb", "many",
                          "a\n\n\n", "indented", "line1\n  line2\n");
    char *yaml = yaml_of(v);
    assert_non_null(strstr(yaml, "script: |\n  echo hi\n  exit 0\n"));
    assert_non_null(strstr(yaml, "nonl: |-\n  a\n  b\n"));
    assert_non_null(strstr(yaml, "many: |+\n"));
    free(yaml);
    assert_round_trip(v);
    json_decref(v);

    const char *cases[] = {" leading space\nx", "\nleading newline", "x\n", "x\n\n", "\n", "\n\n", "a\n \nb",
                           "a\nb \n", "a\n\tb\n", "a\r\nb", "#c\n#d", "- a\n- b\n", "k: v\nk2: v2", NULL};
    for (size_t i = 0; cases[i]; i++) {
        json_t *obj = json_pack("{s:s, s:[s], s:{s:s}}", "k", cases[i], "l", cases[i], "m", "n", cases[i]);
        assert_round_trip(obj);
        json_decref(obj);
    }
}

static void test_yaml_nested_lists_and_numbers(void **state) {
    (void)state;
    json_t *v = json_loads("{\"containers\":[{\"name\":\"web\",\"ports\":[{\"containerPort\":8080,"
                           "\"protocol\":\"TCP\"}],\"args\":[\"--a\",\"b c\"]},{\"name\":\"side\"}],"
                           "\"matrix\":[[1,2],[],[[\"x\"]],{}],\"empty\":{},\"none\":[],\"nul\":null,"
                           "\"t\":true,\"f\":false,\"i\":-42,\"r\":0.1,\"whole\":3.0,\"big\":1e300,"
                           "\"list\":[{\"a\":{\"b\":[{\"c\":1}]}}]}",
                           JSON_PRESERVE_ORDER, NULL);
    assert_non_null(v);
    char *yaml = yaml_of(v);
    assert_non_null(strstr(yaml, "containers:\n- name: web\n  ports:\n  - containerPort: 8080\n    protocol: TCP\n"
                                 "  args:\n  - --a\n  - b c\n- name: side\n"));
    assert_non_null(strstr(yaml, "matrix:\n- - 1\n  - 2\n- []\n- - - x\n- {}\n"));
    assert_non_null(strstr(yaml, "empty: {}\nnone: []\nnul: null\nt: true\nf: false\ni: -42\nr: 0.1\nwhole: 3.0\n"));
    free(yaml);
    assert_round_trip(v);
    json_decref(v);

    json_t *scalar = json_string("top");
    char *text = yaml_of(scalar);
    assert_string_equal(text, "top\n");
    free(text);
    json_decref(scalar);
}

static void test_yaml_round_trip_recorded_pod(void **state) {
    (void)state;
    json_t *pod = load_data("pod-get.json");
    char *yaml = yaml_of(pod);
    assert_true(strncmp(yaml, "kind: Pod\napiVersion: v1\nmetadata:\n  name: bench-01\n", 52) == 0);
    free(yaml);
    assert_round_trip(pod);
    json_decref(pod);
    json_t *table = load_data("pods-table.json");
    assert_round_trip(table);
    json_decref(table);
}

static void test_yaml_bounded(void **state) {
    (void)state;
    json_t *pod = load_data("pod-get.json");
    buf out;
    buf_init(&out, 100);
    assert_int_equal(output_yaml(pod, &out), -EMSGSIZE);
    assert_true(out.len <= 100);
    buf_free(&out);
    json_decref(pod);
}

static void test_table_pods(void **state) {
    (void)state;
    json_t *table = load_data("pods-table.json");
    buf out;
    buf_init(&out, 1u << 20);
    assert_int_equal(output_table(table, false, &out), 0);
    char *expected = read_data("pods-table.expected.txt");
    assert_string_equal(out.data, expected);
    free(expected);

    buf_reset(&out);
    assert_int_equal(output_table(table, true, &out), 0);
    expected = read_data("pods-table-namespace.expected.txt");
    assert_string_equal(out.data, expected);
    free(expected);
    buf_free(&out);
    json_decref(table);
}

static void test_table_empty_and_cells(void **state) {
    (void)state;
    json_t *table = json_loads("{\"kind\":\"Table\",\"columnDefinitions\":[{\"name\":\"Name\",\"priority\":0}],"
                               "\"rows\":[]}",
                               0, NULL);
    buf out;
    buf_init(&out, 4096);
    assert_int_equal(output_table(table, false, &out), 0);
    assert_string_equal(out.data, "No resources found\n");
    json_decref(table);

    table = json_loads("{\"kind\":\"Table\",\"columnDefinitions\":[{\"name\":\"Name\",\"priority\":0},"
                       "{\"name\":\"Count\",\"priority\":0},{\"name\":\"Wide\",\"priority\":1}],"
                       "\"rows\":[{\"cells\":[\"a\\nb\",7,\"hidden\"]},{\"cells\":[\"long-name\",null,\"x\"]}]}",
                       0, NULL);
    buf_reset(&out);
    assert_int_equal(output_table(table, false, &out), 0);
    assert_string_equal(out.data, "NAME        COUNT\n"
                                  "a b         7\n"
                                  "long-name   <none>\n");
    json_decref(table);
    buf_free(&out);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_yaml_quoting),
        cmocka_unit_test(test_yaml_multiline),
        cmocka_unit_test(test_yaml_nested_lists_and_numbers),
        cmocka_unit_test(test_yaml_round_trip_recorded_pod),
        cmocka_unit_test(test_yaml_bounded),
        cmocka_unit_test(test_table_pods),
        cmocka_unit_test(test_table_empty_and_cells),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
