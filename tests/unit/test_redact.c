/* Secret masking and managedFields removal: nothing a Secret holds may reach the model. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tools/redact.h"

static json_t *load_data(const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/output/%s", KUBEMCP_TEST_DATA_DIR, name);
    json_t *v = json_load_file(path, 0, NULL);
    assert_non_null(v);
    return v;
}

static void assert_not_in(const json_t *v, const char *needle) {
    char *text = json_dumps(v, JSON_ENCODE_ANY);
    if (strstr(text, needle))
        fail_msg("\"%s\" still present in %s", needle, text);
    free(text);
}

static void test_secret_get(void **state) {
    (void)state;
    json_t *secret = load_data("secret-get-admin.json");
    redact_drop_managed_fields(secret);
    assert_null(json_object_get(json_object_get(secret, "metadata"), "managedFields"));
    assert_int_equal(redact_mask_secrets(secret), 1);
    assert_string_equal(json_string_value(json_object_get(json_object_get(secret, "data"), "password")), "****");
    assert_not_in(secret, "czNjcjN0LXZhbHVlLTQy");
    /* What is not secret stays readable. */
    assert_string_equal(json_string_value(json_object_get(secret, "type")), "Opaque");
    json_decref(secret);
}

static void test_secret_list_and_last_applied(void **state) {
    (void)state;
    json_t *list = json_loads(
        "{\"kind\":\"SecretList\",\"apiVersion\":\"v1\",\"items\":[{\"metadata\":{\"name\":\"a\",\"annotations\":"
        "{\"kubectl.kubernetes.io/last-applied-configuration\":\"{\\\"apiVersion\\\":\\\"v1\\\",\\\"kind\\\":"
        "\\\"Secret\\\",\\\"stringData\\\":{\\\"token\\\":\\\"hunter2\\\"}}\\n\"},\"managedFields\":[{}]},"
        "\"data\":{\"k1\":\"djE=\",\"k2\":\"djI=\"},\"stringData\":{\"s\":\"plain-secret\"}}]}",
        0, NULL);
    assert_non_null(list);
    redact_drop_managed_fields(list);
    assert_null(json_object_get(json_object_get(json_array_get(json_object_get(list, "items"), 0), "metadata"),
                                "managedFields"));
    assert_true(redact_mask_secrets(list) >= 4);
    assert_not_in(list, "djE=");
    assert_not_in(list, "djI=");
    assert_not_in(list, "plain-secret");
    assert_not_in(list, "hunter2");
    json_decref(list);

    /* A generic List (e.g. several applied objects) masks only its Secrets. */
    json_t *mixed = json_loads("{\"kind\":\"List\",\"items\":[{\"kind\":\"ConfigMap\",\"data\":{\"a\":\"visible\"}},"
                               "{\"kind\":\"Secret\",\"data\":{\"b\":\"aGlkZGVu\"}}]}",
                               0, NULL);
    assert_int_equal(redact_mask_secrets(mixed), 1);
    char *text = json_dumps(mixed, 0);
    assert_non_null(strstr(text, "visible"));
    assert_null(strstr(text, "aGlkZGVu"));
    free(text);
    json_decref(mixed);
}

static void test_table_rows(void **state) {
    (void)state;
    /* includeObject=Object puts whole Secrets in rows; the default (Metadata) still carries the
     * last-applied annotation. */
    json_t *table = json_loads(
        "{\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/v1\",\"columnDefinitions\":[],\"rows\":["
        "{\"cells\":[\"s1\"],\"object\":{\"kind\":\"Secret\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"s1\","
        "\"managedFields\":[{}]},\"data\":{\"p\":\"c2VjcmV0MQ==\"}}},"
        "{\"cells\":[\"s2\"],\"object\":{\"kind\":\"PartialObjectMetadata\",\"metadata\":{\"name\":\"s2\","
        "\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"{\\\"kind\\\":\\\"Secret\\\","
        "\\\"data\\\":{\\\"p\\\":\\\"c2VjcmV0Mg==\\\"}}\"}}}},"
        "{\"cells\":[\"cm\"],\"object\":{\"kind\":\"PartialObjectMetadata\",\"metadata\":{\"name\":\"cm\","
        "\"annotations\":{\"kubectl.kubernetes.io/last-applied-configuration\":\"{\\\"kind\\\":\\\"ConfigMap\\\","
        "\\\"data\\\":{\\\"p\\\":\\\"shown\\\"}}\"}}}}]}",
        0, NULL);
    assert_non_null(table);
    redact_drop_managed_fields(table);
    assert_int_equal(redact_mask_secrets(table), 2);
    assert_not_in(table, "c2VjcmV0MQ==");
    assert_not_in(table, "c2VjcmV0Mg==");
    assert_not_in(table, "managedFields");
    char *text = json_dumps(table, 0);
    assert_non_null(strstr(text, "shown"));
    free(text);
    json_decref(table);
}

static void test_apply_result(void **state) {
    (void)state;
    /* What server-side apply returns for a Secret: stringData folded into data. */
    json_t *applied = json_loads("{\"kind\":\"Secret\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"db\","
                                 "\"managedFields\":[{\"manager\":\"kubemcp\"}]},\"data\":{\"user\":\"YWRtaW4=\","
                                 "\"pass\":\"cGFzcw==\"},\"type\":\"Opaque\"}",
                                 0, NULL);
    redact_drop_managed_fields(applied);
    assert_int_equal(redact_mask_secrets(applied), 2);
    assert_not_in(applied, "YWRtaW4=");
    assert_not_in(applied, "cGFzcw==");
    assert_not_in(applied, "kubemcp");
    json_decref(applied);

    json_t *not_secret = json_loads("{\"kind\":\"ConfigMap\",\"data\":{\"a\":\"b\"}}", 0, NULL);
    assert_int_equal(redact_mask_secrets(not_secret), 0);
    json_decref(not_secret);
}

static void test_error_text(void **state) {
    (void)state;
    char text[] = "Secret \"db\" is invalid: {\"kind\":\"Secret\",\"data\": {\"password\": \"czNjcjN0\", "
                  "\"user\":\"YWRtaW4=\"}} and escaped {\\\"stringData\\\":{\\\"k\\\":\\\"hunter2\\\"}} "
                  "Authorization: Bearer abcdefghijklmnop";
    size_t len = redact_text(text, strlen(text));
    assert_int_equal(len, strlen(text));
    assert_null(strstr(text, "czNjcjN0"));
    assert_null(strstr(text, "YWRtaW4="));
    assert_null(strstr(text, "hunter2"));
    assert_null(strstr(text, "abcdefghijklmnop"));
    assert_non_null(strstr(text, "\"password\": \"****\""));
    assert_non_null(strstr(text, "is invalid"));

    char plain[] = "pods \"web\" not found";
    assert_int_equal(redact_text(plain, strlen(plain)), strlen("pods \"web\" not found"));
    assert_string_equal(plain, "pods \"web\" not found");

    char unterminated[] = "{\"data\":{\"a\":\"bcdefgh";
    size_t n = redact_text(unterminated, strlen(unterminated));
    assert_true(n <= strlen("{\"data\":{\"a\":\"bcdefgh"));
    assert_null(strstr(unterminated, "bcdefgh"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secret_get),
        cmocka_unit_test(test_secret_list_and_last_applied),
        cmocka_unit_test(test_table_rows),
        cmocka_unit_test(test_apply_result),
        cmocka_unit_test(test_error_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
