/* Logger and secret sanitiser: what reaches a log file must never contain a credential. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/log.h"

/* Sanitises a copy of in and compares it with want. */
static void check(const char *in, const char *want) {
    char text[2048];
    size_t len = strlen(in);
    assert_true(len < sizeof text);
    memcpy(text, in, len + 1);
    size_t n = log_sanitize(text, len);
    assert_true(n <= len);
    text[n] = '\0';
    if (strcmp(text, want) != 0)
        fail_msg("sanitize(\"%s\")\n  got  \"%s\"\n  want \"%s\"", in, text, want);
}

static void test_bearer_and_basic_credentials_are_masked(void **state) {
    (void)state;
    check("Authorization: Bearer sha256~abcDEF123_-xyz", "Authorization: Bearer ****");
    check("header authorization=Bearer abc.def.ghi rest", "header authorization=Bearer **** rest");
    check("sent bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ== to the server", "sent bearer **** to the server");
    check("curl -H 'Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=='", "curl -H 'Authorization: Basic ****'");
    check("BEARER tok-12345", "BEARER ****");
}

static void test_jwt_is_masked_anywhere(void **state) {
    (void)state;
    check("token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl expired",
          "token **** expired");
    check("id=eyJhbGciOiJub25lIn0.eyJzdWIiOiJib2IifQ.", "id=****");
    /* cut short by a length limit: still a secret */
    check("partial eyJhbGciOiJSUzI1NiJ9.eyJzdWIi", "partial ****");
}

static void test_pem_blocks_are_masked(void **state) {
    (void)state;
    check("key: -----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY----- done",
          "key: **** done");
    check("-----BEGIN CERTIFICATE-----\nMIIC", "****");
}

static void test_secret_fields_in_json_and_key_value_text(void **state) {
    (void)state;
    check("{\"access_token\":\"abc123\",\"expires_in\":3600}", "{\"access_token\":\"****\",\"expires_in\":3600}");
    check("{\"password\": \"hunter2\", \"user\": \"bob\"}", "{\"password\": \"****\", \"user\": \"bob\"}");
    check("{\"Password\":\"a\\\"b\"}", "{\"Password\":\"****\"}");
    check("{\"client_secret\":12345}", "{\"client_secret\":****}");
    check("login password=hunter2 user=bob", "login password=**** user=bob");
    check("client-key-data: LS0tLS1CRUdJTi", "client-key-data: ****");
    check("client-certificate-data: LS0tLS1CRUdJTi", "client-certificate-data: ****");
    check("refresh_token=abcdef&state=xyz", "refresh_token=****&state=xyz");
    check("body {\\\"token\\\":\\\"s3cr3t\\\"}", "body {\\\"token\\\":\\\"****\\\"}");
    /* short values get fewer stars so the text never grows */
    check("token=ab", "token=**");
}

static void test_text_without_secrets_is_untouched(void **state) {
    (void)state;
    const char *plain[] = {
        "listening on 127.0.0.1:8080 (Streamable HTTP at /mcp)",
        "GET https://10.0.0.1:6443/api/v1/namespaces/default/pods?limit=500 -> 200 in 12 ms",
        "kind: Secret name: db-credentials namespace: prod",
        "the bearer token was rejected: 401 Unauthorized; check the token's audience",
        "basic auth is not supported",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"pods_list\"}}",
        "eyJ is how JSON in base64 starts",
        "",
    };
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        check(plain[i], plain[i]);
}

static void test_sanitize_is_linear_on_adversarial_input(void **state) {
    (void)state;
    /* Shapes that make naive scanners quadratic: many unterminated JWT/PEM/field prefixes. */
    const char *units[] = {"eyJa.", "-----BEGIN ", "token", "Bearer "};
    size_t len = 4 * 1024 * 1024;
    char *text = malloc(len + 1);
    assert_non_null(text);
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        size_t ul = strlen(units[u]);
        for (size_t i = 0; i < len; i++)
            text[i] = units[u][i % ul];
        clock_t start = clock();
        size_t n = log_sanitize(text, len);
        double seconds = (double)(clock() - start) / CLOCKS_PER_SEC;
        assert_true(n <= len);
        assert_true(seconds < 2.0);
    }
    free(text);
}

static void test_log_writes_one_sanitised_line_per_message(void **state) {
    (void)state;
    char path[] = "/tmp/kubemcp-test-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(log_open(path, 1), 0);
    log_info("user %s sent Bearer %s", "alice", "tok3n-value-123");
    log_debug("hidden at verbosity 1");
    log_error("two\nlines");
    log_close();

    char content[1024] = {0};
    fd = open(path, O_RDONLY);
    ssize_t n = read(fd, content, sizeof content - 1);
    close(fd);
    unlink(path);
    assert_true(n > 0);
    /* 2026-11-22T05:50:06Z INFO message */
    char *first = content;
    char *second = strchr(first, '\n');
    assert_non_null(second);
    *second++ = '\0';
    assert_int_equal(strlen(first) > 21 && first[4] == '-' && first[10] == 'T' && first[19] == 'Z', 1);
    assert_string_equal(first + 20, " INFO user alice sent Bearer ****");
    assert_non_null(strstr(second, " ERROR two lines\n"));
    assert_null(strstr(content, "tok3n"));
    assert_null(strstr(content, "hidden"));
}

static void test_verbosity_levels(void **state) {
    (void)state;
    log_set_verbosity(0);
    assert_true(log_enabled(LOG_ERROR) && log_enabled(LOG_WARN));
    assert_false(log_enabled(LOG_INFO));
    log_set_verbosity(5);
    assert_true(log_enabled(LOG_DEBUG));
    assert_false(log_enabled(LOG_TRACE));
    log_set_verbosity(42);
    assert_int_equal(log_get_verbosity(), 9);
    assert_true(log_enabled(LOG_TRACE));
    assert_int_equal(log_open("/nonexistent-dir/kubemcp.log", 1), -ENOENT);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bearer_and_basic_credentials_are_masked),
        cmocka_unit_test(test_jwt_is_masked_anywhere),
        cmocka_unit_test(test_pem_blocks_are_masked),
        cmocka_unit_test(test_secret_fields_in_json_and_key_value_text),
        cmocka_unit_test(test_text_without_secrets_is_untouched),
        cmocka_unit_test(test_sanitize_is_linear_on_adversarial_input),
        cmocka_unit_test(test_log_writes_one_sanitised_line_per_message),
        cmocka_unit_test(test_verbosity_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
