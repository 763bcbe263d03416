/* The audit log: one parseable JSON line per event, arguments sanitised. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gate/audit.h"

static void test_sanitize_arguments(void **state) {
    json_t *args = json_pack("{s:s, s:s, s:s, s:{s:s}, s:i}", "name", "web-0", "token", "abc123",
                             "resource", "apiVersion: v1\nkind: Secret\n...............................................................................................................................................................................................................................................",
                             "nested", "password", "hunter2", "tail", 10);
    json_t *clean = audit_sanitize_arguments(args);
    assert_string_equal(json_string_value(json_object_get(clean, "name")), "web-0");
    assert_string_equal(json_string_value(json_object_get(clean, "token")), "****");
    assert_non_null(strstr(json_string_value(json_object_get(clean, "resource")), "bytes>"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(clean, "nested"), "password")), "****");
    assert_int_equal(json_integer_value(json_object_get(clean, "tail")), 10);
    json_decref(args);
    json_decref(clean);

    args = json_pack("{s:s}", "labelSelector", "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl");
    clean = audit_sanitize_arguments(args);
    char *text = json_dumps(clean, 0);
    assert_null(strstr(text, "eyJzdWIiOiIxIn0"));
    free(text);
    json_decref(args);
    json_decref(clean);
}

static void test_lines_are_json(void **state) {
    char path[] = "/tmp/kubemcp-audit-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    audit_log *log = NULL;
    error_info err = {0};
    assert_int_equal(audit_log_open(path, &log, &err), 0);
    const char *groups[] = {"k8slab:readers", "system:authenticated"};
    caller_identity *alice = caller_identity_new("alice", "uid-alice", groups, 2, "tokenreview");
    json_t *args = json_pack("{s:s}", "namespace", "kube-system");
    audit_event call = {.kind = "tool_call", .identity = alice, .source_address = "127.0.0.1", .tool = "pods_list",
                        .arguments = args, .namespace_name = "kube-system", .outcome = "error",
                        .reason = "pods is forbidden: User \"alice\" cannot list", .duration_ms = 12.5};
    audit_log_write(log, &call);
    audit_event auth = {.kind = "authentication", .source_address = "10.1.2.3", .outcome = "refused",
                        .reason = "invalid token Bearer abcdefgh12345678", .duration_ms = -1};
    audit_log_write(log, &auth);
    audit_log_close(log);
    caller_identity_free(alice);
    json_decref(args);

    FILE *f = fopen(path, "r");
    char line[4096];
    assert_non_null(fgets(line, sizeof line, f));
    json_t *first = json_loads(line, 0, NULL);
    assert_non_null(first);
    assert_string_equal(json_string_value(json_object_get(first, "subject")), "alice");
    assert_string_equal(json_string_value(json_object_get(first, "tool")), "pods_list");
    assert_string_equal(json_string_value(json_object_get(first, "outcome")), "error");
    assert_int_equal(json_array_size(json_object_get(first, "groups")), 2);
    assert_true(json_real_value(json_object_get(first, "duration_ms")) == 12.5);
    assert_non_null(json_object_get(first, "time"));
    assert_non_null(fgets(line, sizeof line, f));
    json_t *second = json_loads(line, 0, NULL);
    assert_true(json_is_null(json_object_get(second, "subject")));
    assert_null(strstr(line, "abcdefgh12345678"));
    assert_null(fgets(line, sizeof line, f));
    fclose(f);
    json_decref(first);
    json_decref(second);
    unlink(path);
}

static void test_unwritable_path_is_reported(void **state) {
    audit_log *log = NULL;
    error_info err = {0};
    assert_true(audit_log_open("/nonexistent-dir/audit.log", &log, &err) < 0);
    assert_non_null(strstr(err.message, "/nonexistent-dir/audit.log"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sanitize_arguments),
        cmocka_unit_test(test_lines_are_json),
        cmocka_unit_test(test_unwritable_path_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
