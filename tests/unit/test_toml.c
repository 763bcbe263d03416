/* TOML parser: a file-driven valid/invalid matrix (tests/unit/data/toml) plus limits and key lines. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/toml.h"

#define DATA_DIR KUBEMCP_TEST_DATA_DIR "/toml"

static char *slurp(const char *path, size_t *ret_len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *data = malloc(1 << 20);
    size_t n = data ? fread(data, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (data)
        data[n] = '\0';
    *ret_len = n;
    return data;
}

/* Sorted *.toml names in dir. */
static size_t list_cases(const char *dir, char names[][128], size_t max) {
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t count = 0;
    struct dirent *e;
    while ((e = readdir(d)) && count < max) {
        size_t n = strlen(e->d_name);
        if (n > 5 && n < 128 && strcmp(e->d_name + n - 5, ".toml") == 0)
            memcpy(names[count++], e->d_name, n + 1);
    }
    closedir(d);
    qsort(names, count, sizeof names[0], (int (*)(const void *, const void *))strcmp);
    return count;
}

static void test_valid_documents_match_expected_json(void **state) {
    (void)state;
    static char names[256][128];
    size_t count = list_cases(DATA_DIR "/valid", names, 256);
    assert_true(count >= 25);
    size_t failures = 0;
    for (size_t i = 0; i < count; i++) {
        char path[512], expected_path[512];
        snprintf(path, sizeof path, DATA_DIR "/valid/%s", names[i]);
        snprintf(expected_path, sizeof expected_path, "%.*s.json", (int)(strlen(path) - 5), path);
        size_t len = 0;
        char *text = slurp(path, &len);
        assert_non_null(text);
        json_error_t jerr;
        json_t *expected = json_load_file(expected_path, JSON_ALLOW_NUL, &jerr);
        if (!expected)
            fail_msg("%s: %s", expected_path, jerr.text);
        json_t *got = NULL;
        error_info err = {0};
        int r = toml_parse(text, len, names[i], &got, &err);
        if (r < 0) {
            print_error("%s: unexpected error: %s\n", names[i], err.message);
            failures++;
        } else if (!json_equal(got, expected)) {
            char *dump = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
            print_error("%s: got %s\n", names[i], dump);
            free(dump);
            failures++;
        }
        json_decref(got);
        json_decref(expected);
        free(text);
    }
    assert_int_equal(failures, 0);
}

static void test_invalid_documents_fail_at_expected_position(void **state) {
    (void)state;
    static char names[256][128];
    size_t count = list_cases(DATA_DIR "/invalid", names, 256);
    assert_true(count >= 40);
    size_t failures = 0;
    for (size_t i = 0; i < count; i++) {
        char path[512], err_path[512];
        snprintf(path, sizeof path, DATA_DIR "/invalid/%s", names[i]);
        snprintf(err_path, sizeof err_path, "%.*s.err", (int)(strlen(path) - 5), path);
        size_t len = 0, err_len = 0;
        char *text = slurp(path, &len);
        char *expect = slurp(err_path, &err_len);
        assert_non_null(text);
        if (!expect)
            fail_msg("%s: missing .err file", names[i]);
        /* .err: "LINE:COLUMN\nsubstring of the message\n" */
        char *nl = strchr(expect, '\n');
        assert_non_null(nl);
        *nl = '\0';
        char *substring = nl + 1;
        char *nl2 = strchr(substring, '\n');
        if (nl2)
            *nl2 = '\0';
        char prefix[256];
        snprintf(prefix, sizeof prefix, "%s:%s: ", names[i], expect);

        json_t *got = NULL;
        error_info err = {0};
        int r = toml_parse(text, len, names[i], &got, &err);
        if (r >= 0) {
            print_error("%s: parsed, but it is invalid TOML\n", names[i]);
            json_decref(got);
            failures++;
        } else if (strncmp(err.message, prefix, strlen(prefix)) != 0 || !strstr(err.message, substring)) {
            print_error("%s: expected \"%s...%s\", got \"%s\"\n", names[i], prefix, substring, err.message);
            failures++;
        } else if (r != -EINVAL) {
            print_error("%s: expected -EINVAL, got %d\n", names[i], r);
            failures++;
        }
        free(text);
        free(expect);
    }
    assert_int_equal(failures, 0);
}

static void test_text_need_not_be_nul_terminated(void **state) {
    (void)state;
    const char doc[] = "a = 12345";
    json_t *root;
    error_info err = {0};
    /* Only "a = 12" is in range: the parser must not read past len. */
    assert_int_equal(toml_parse(doc, 6, NULL, &root, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(root, "a")), 12);
    json_decref(root);
}

static void test_nesting_deeper_than_limit_is_rejected(void **state) {
    (void)state;
    char doc[512];
    size_t n = (size_t)snprintf(doc, sizeof doc, "a = ");
    for (int i = 0; i < 70; i++)
        doc[n++] = '[';
    for (int i = 0; i < 70; i++)
        doc[n++] = ']';
    json_t *root = NULL;
    error_info err = {0};
    assert_int_equal(toml_parse(doc, n, "deep.toml", &root, &err), -E2BIG);
    assert_non_null(strstr(err.message, "deep.toml:1:"));
    assert_non_null(strstr(err.message, "limit of 64"));

    toml_limits limits = {.max_depth = 3};
    const char *dotted = "a.b.c.d = 1\n";
    assert_int_equal(toml_parse_ex(dotted, strlen(dotted), "d.toml", &limits, &root, NULL, &err), -E2BIG);
    const char *header = "[a.b]\nc = 1\n";
    assert_int_equal(toml_parse_ex(header, strlen(header), "d.toml", &limits, &root, NULL, &err), 0);
    json_decref(root);
    const char *header_too_deep = "[a.b]\nc.d = 1\n";
    assert_int_equal(toml_parse_ex(header_too_deep, strlen(header_too_deep), "d.toml", &limits, &root, NULL, &err), -E2BIG);
}

static void test_string_and_document_limits(void **state) {
    (void)state;
    toml_limits limits = {.max_string_bytes = 8, .max_document_bytes = 64};
    json_t *root = NULL;
    error_info err = {0};
    const char *ok = "s = \"12345678\"";
    assert_int_equal(toml_parse_ex(ok, strlen(ok), "l.toml", &limits, &root, NULL, &err), 0);
    json_decref(root);
    const char *long_string = "s = \"123456789\"";
    assert_int_equal(toml_parse_ex(long_string, strlen(long_string), "l.toml", &limits, &root, NULL, &err), -E2BIG);
    assert_non_null(strstr(err.message, "l.toml:1:5: string is longer than the limit of 8 bytes"));
    const char *long_key = "\"123456789\" = 1";
    assert_int_equal(toml_parse_ex(long_key, strlen(long_key), "l.toml", &limits, &root, NULL, &err), -E2BIG);
    char big[100];
    memset(big, '#', sizeof big);
    assert_int_equal(toml_parse_ex(big, sizeof big, "l.toml", &limits, &root, NULL, &err), -E2BIG);
    assert_non_null(strstr(err.message, "larger than the limit of 64 bytes"));
}

static void test_key_lines_point_at_definitions(void **state) {
    (void)state;
    const char *doc = "port = 8080\n\n[[denied_resources]]\nkind = \"Secret\"\n[[denied_resources]]\n"
                      "group = \"rbac\"\n[server.tls]\ncert.file = \"x\"\n";
    json_t *root = NULL, *lines = NULL;
    error_info err = {0};
    assert_int_equal(toml_parse_ex(doc, strlen(doc), "k.toml", NULL, &root, &lines, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(lines, "port")), 1);
    assert_int_equal(json_integer_value(json_object_get(lines, "denied_resources[0]")), 3);
    assert_int_equal(json_integer_value(json_object_get(lines, "denied_resources[0].kind")), 4);
    assert_int_equal(json_integer_value(json_object_get(lines, "denied_resources[1].group")), 6);
    assert_int_equal(json_integer_value(json_object_get(lines, "server.tls")), 7);
    assert_int_equal(json_integer_value(json_object_get(lines, "server.tls.cert.file")), 8);
    json_decref(root);
    json_decref(lines);
}

static void test_markers_and_type_names(void **state) {
    (void)state;
    const char *doc = "d = 1979-05-27\nf = -inf\ns = \"x\"\ni = 1\nr = 1.5\nb = true\na = []\nt = {}\n";
    json_t *root = NULL;
    error_info err = {0};
    assert_int_equal(toml_parse(doc, strlen(doc), "m.toml", &root, &err), 0);
    assert_true(toml_is_datetime(json_object_get(root, "d")));
    assert_false(toml_is_datetime(json_object_get(root, "t")));
    assert_true(toml_is_special_float(json_object_get(root, "f")));
    assert_string_equal(toml_type_name(json_object_get(root, "d")), "local-date");
    assert_string_equal(toml_type_name(json_object_get(root, "f")), "float");
    assert_string_equal(toml_type_name(json_object_get(root, "s")), "string");
    assert_string_equal(toml_type_name(json_object_get(root, "i")), "integer");
    assert_string_equal(toml_type_name(json_object_get(root, "r")), "float");
    assert_string_equal(toml_type_name(json_object_get(root, "b")), "boolean");
    assert_string_equal(toml_type_name(json_object_get(root, "a")), "array");
    assert_string_equal(toml_type_name(json_object_get(root, "t")), "table");
    json_decref(root);
}

static void test_nul_byte_in_document_is_rejected(void **state) {
    (void)state;
    const char doc[] = "a = 1\nb\0 = 2\n";
    json_t *root = NULL;
    error_info err = {0};
    assert_int_equal(toml_parse(doc, sizeof doc - 1, "n.toml", &root, &err), -EINVAL);
    assert_non_null(strstr(err.message, "n.toml:2:2:"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_documents_match_expected_json),
        cmocka_unit_test(test_invalid_documents_fail_at_expected_position),
        cmocka_unit_test(test_text_need_not_be_nul_terminated),
        cmocka_unit_test(test_nesting_deeper_than_limit_is_rejected),
        cmocka_unit_test(test_string_and_document_limits),
        cmocka_unit_test(test_key_lines_point_at_definitions),
        cmocka_unit_test(test_markers_and_type_names),
        cmocka_unit_test(test_nul_byte_in_document_is_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
