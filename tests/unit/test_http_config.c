/* The HTTP settings: the seed spellings (--sse, --transport, --http-addr, --host, --tls-cert-file),
 * their defaults, the unprefixed environment names, and the mistakes a user can make. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/config.h"

static kubemcp_config *load(int argc, char **argv, char **envp, int expect, const char *message_part) {
    kubemcp_config *cfg = NULL;
    error_info err = {0};
    int r = config_load(argc, argv, envp, &cfg, &err);
    if (expect == 0) {
        if (r < 0)
            fail_msg("unexpected error: %s", err.message);
        return cfg;
    }
    assert_int_equal(r, expect);
    assert_null(cfg);
    if (message_part && !strstr(err.message, message_part))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, message_part);
    return NULL;
}

static void test_defaults(void **state) {
    (void)state;
    char *argv[] = {"kubemcp", NULL};
    char *envp[] = {NULL};
    kubemcp_config *cfg = load(1, argv, envp, 0, NULL);
    assert_null(cfg->port);
    assert_int_equal(cfg->max_body_bytes, 4 * 1024 * 1024);
    assert_int_equal(cfg->max_sessions, 10000);
    assert_int_equal(cfg->session_idle_timeout_seconds, 3600);
    assert_int_equal(cfg->sse_keepalive_seconds, 15);
    assert_false(cfg->stateless);
    config_free(cfg);
}

static void test_seed_spellings(void **state) {
    (void)state;
    char *envp[] = {NULL};
    char *mtv[] = {"kubemcp", "--sse", "--host", "127.0.0.2", "--port", "9000", NULL};
    kubemcp_config *cfg = load(6, mtv, envp, 0, NULL);
    assert_string_equal(cfg->port, "9000");
    assert_string_equal(cfg->bind_address, "127.0.0.2");
    config_free(cfg);

    char *gs[] = {"kubemcp", "--transport=streamable-http", "--http-addr", ":8181", NULL};
    cfg = load(4, gs, envp, 0, NULL);
    assert_string_equal(cfg->port, "8181");
    assert_null(cfg->bind_address);
    config_free(cfg);

    char *v6[] = {"kubemcp", "--http-addr", "[::1]:0", NULL};
    cfg = load(3, v6, envp, 0, NULL);
    assert_string_equal(cfg->port, "0");
    assert_string_equal(cfg->bind_address, "::1");
    config_free(cfg);

    char *dflt[] = {"kubemcp", "--transport", "sse", NULL};
    cfg = load(3, dflt, envp, 0, NULL);
    assert_string_equal(cfg->port, "8080");
    config_free(cfg);

    char *tls[] = {"kubemcp", "--port", "1", "--tls-cert-file", "/c", "--key-file", "/k", NULL};
    cfg = load(7, tls, envp, 0, NULL);
    assert_string_equal(cfg->tls_cert, "/c");
    assert_string_equal(cfg->tls_key, "/k");
    config_free(cfg);
}

static void test_environment_names(void **state) {
    (void)state;
    char *argv[] = {"kubemcp", NULL};
    char *envp[] = {"ALLOWED_ORIGINS=https://a.example, https://b.example:8443", "ENABLE_HSTS=true",
                    "KUBEMCP_STATELESS=1", NULL};
    kubemcp_config *cfg = load(1, argv, envp, 0, NULL);
    assert_int_equal(cfg->allowed_origins.count, 2);
    assert_string_equal(cfg->allowed_origins.items[1], "https://b.example:8443");
    assert_true(cfg->enable_hsts);
    assert_true(cfg->stateless);
    assert_int_equal(cfg->warnings.count, 0);
    config_free(cfg);
}

static void test_mistakes(void **state) {
    (void)state;
    char *envp[] = {NULL};
    char *a[] = {"kubemcp", "--http-addr", "localhost", NULL};
    load(3, a, envp, -EINVAL, "host:port");
    char *b[] = {"kubemcp", "--http-addr", "h:99999", NULL};
    load(3, b, envp, -EINVAL, "0 to 65535");
    char *c[] = {"kubemcp", "--transport", "stdio", "--port", "8080", NULL};
    load(5, c, envp, -EINVAL, "transport is \"stdio\"");
    char *d[] = {"kubemcp", "--port", "8443", "--tls-cert", "/c", NULL};
    load(5, d, envp, -EINVAL, "tls_key");
    char *e[] = {"kubemcp", "--transport", "websocket", NULL};
    load(3, e, envp, -EINVAL, "streamable-http");
    char *f[] = {"kubemcp", "--max-body-bytes", "10", NULL};
    load(3, f, envp, -ERANGE, "max-body-bytes");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_seed_spellings),
        cmocka_unit_test(test_environment_names),
        cmocka_unit_test(test_mistakes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
