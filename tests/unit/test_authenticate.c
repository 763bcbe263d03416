/* The gate's decision: who is calling and what the cluster will see. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "gate/authenticate.h"

static void decide(gate *g, const char *authorization, gate_decision *d) {
    const char *values[] = {authorization};
    gate_request req = {.bearer = {values, authorization ? 1 : 0, NULL, 0}, .source_address = "127.0.0.1"};
    gate_authenticate(g, &req, d);
}

static void test_server_url_normalisation(void **state) {
    char out[128];
    assert_int_equal(gate_normalize_server_url("HTTPS://API.Example.COM:6443/", out, sizeof out), 0);
    assert_string_equal(out, "https://api.example.com:6443");
    assert_int_equal(gate_normalize_server_url("https://h:6443/Prefix/", out, sizeof out), 0);
    assert_string_equal(out, "https://h:6443/Prefix");
    assert_int_equal(gate_normalize_server_url("ftp://h", out, sizeof out), -EINVAL);
    assert_int_equal(gate_normalize_server_url("https://user:pw@h", out, sizeof out), -EINVAL);
    assert_int_equal(gate_normalize_server_url("https://h?x=1", out, sizeof out), -EINVAL);
    assert_int_equal(gate_normalize_server_url("https://", out, sizeof out), -EINVAL);
}

static void test_server_header_needs_allowlist(void **state) {
    gate *g = NULL;
    error_info err = {0};
    string_list none = {0};
    gate_options o = {.allowed_api_servers = &none};
    assert_int_equal(gate_new(&o, &g, &err), 0);
    const char *token[] = {"Bearer tok"};
    const char *server[] = {"https://evil.example:6443"};
    gate_request req = {.bearer = {token, 1, NULL, 0}, .server = server, .server_count = 1};
    gate_decision d;
    gate_authenticate(g, &req, &d);
    assert_int_equal(d.http_status, 403);
    assert_non_null(strstr(d.message, "allowed_api_servers"));
    assert_null(d.cluster);
    gate_decision_clear(&d);
    gate_free(g);

    char *items[] = {"https://good.example:6443", NULL};
    string_list allowed = {items, 1};
    o.allowed_api_servers = &allowed;
    assert_int_equal(gate_new(&o, &g, &err), 0);
    gate_authenticate(g, &req, &d);
    assert_int_equal(d.http_status, 403); /* evil is still not on the list */
    gate_decision_clear(&d);
    /* Listed, but no provider to build it with, and without a token: refused either way. */
    const char *good[] = {"https://GOOD.example:6443/"};
    gate_request no_token = {.server = good, .server_count = 1};
    gate_authenticate(g, &no_token, &d);
    assert_true(d.http_status == 401 || d.http_status == 503);
    gate_decision_clear(&d);
    gate_free(g);
}

static void test_passthrough(void **state) {
    gate *g = NULL;
    error_info err = {0};
    gate_options o = {.cluster_mode = GATE_CLUSTER_PASSTHROUGH};
    assert_int_equal(gate_new(&o, &g, &err), 0);
    gate_decision d;
    decide(g, "Bearer tok-123", &d);
    assert_int_equal(d.http_status, 0);
    assert_true(d.has_credential);
    assert_string_equal(d.credential.bearer_token, "tok-123");
    assert_non_null(strstr(d.principal, "sha256:"));
    assert_null(strstr(d.principal, "tok-123"));
    assert_null(d.identity);
    char first[128];
    snprintf(first, sizeof first, "%s", d.principal);
    gate_decision_clear(&d);
    decide(g, "Bearer tok-123", &d);
    assert_string_equal(d.principal, first); /* the same token is the same principal */
    gate_decision_clear(&d);
    /* No token, not required: the server's own credentials, anonymous principal. */
    decide(g, NULL, &d);
    assert_int_equal(d.http_status, 0);
    assert_false(d.has_credential);
    assert_string_equal(d.principal, "");
    gate_decision_clear(&d);
    /* Malformed: 401 even when a token is not required. */
    decide(g, "Basic dXNlcjpwYXNz", &d);
    assert_int_equal(d.http_status, 401);
    assert_string_equal(d.error_code, "invalid_request");
    assert_false(d.has_credential);
    gate_decision_clear(&d);
    gate_free(g);
}

static void test_required(void **state) {
    gate *g = NULL;
    error_info err = {0};
    gate_options o = {.require_token = true};
    assert_int_equal(gate_new(&o, &g, &err), 0);
    gate_decision d;
    decide(g, NULL, &d);
    assert_int_equal(d.http_status, 401);
    assert_string_equal(d.message, "bearer token required in Authorization header");
    gate_decision_clear(&d);
    gate_free(g);
}

static void test_challenges(void **state) {
    gate *g = NULL;
    error_info err = {0};
    const char *scopes[] = {"mcp:read", "mcp:write", NULL};
    gate_options o = {.require_token = true, .required_scopes = scopes,
                      .resource_metadata_url = "https://mcp.example/.well-known/oauth-protected-resource"};
    assert_int_equal(gate_new(&o, &g, &err), 0);
    gate_decision d;
    decide(g, NULL, &d);
    /* No token at all: the challenge points at the metadata and names the scopes, with no error code. */
    assert_string_equal(d.challenge, "Bearer realm=\"kubemcp\", "
                                     "resource_metadata=\"https://mcp.example/.well-known/oauth-protected-resource\", "
                                     "scope=\"mcp:read mcp:write\"");
    gate_decision_clear(&d);
    /* A token that cannot be one is an invalid token (the client should get a new one)... */
    decide(g, "Bearer a\"b", &d);
    assert_int_equal(d.http_status, 401);
    assert_non_null(strstr(d.challenge, ", error=\"invalid_token\", error_description=\""));
    assert_null(strstr(d.challenge + strlen("Bearer realm=\"kubemcp\""), "\"b"));
    gate_decision_clear(&d);
    /* ...a header of another scheme is an invalid request. */
    decide(g, "Basic dXNlcjpwYXNz", &d);
    assert_int_equal(d.http_status, 401);
    assert_non_null(strstr(d.challenge, ", error=\"invalid_request\", error_description=\""));
    gate_decision_clear(&d);
    gate_free(g);
}

static void test_tool_scopes(void **state) {
    gate *g = NULL;
    error_info err = {0};
    gate_options o = {.read_scope = "mcp:read", .write_scope = "mcp:write"};
    assert_int_equal(gate_new(&o, &g, &err), 0);
    gate_decision d = {0};
    const char *needed = NULL;
    /* Not a JWT caller (no scopes): per-tool scopes do not apply. */
    assert_int_equal(gate_tool_allowed(g, &d, "pods_delete", false, &needed), 0);
    char *scopes[] = {"openid", "mcp:read", NULL};
    d.scopes = scopes;
    assert_int_equal(gate_tool_allowed(g, &d, "pods_get", true, &needed), 0);
    assert_int_equal(gate_tool_allowed(g, &d, "pods_delete", false, &needed), -EACCES);
    assert_string_equal(needed, "mcp:write");
    gate_insufficient_scope(g, &d, needed);
    assert_int_equal(d.http_status, 403);
    assert_non_null(strstr(d.challenge, "scope=\"mcp:write\", error=\"insufficient_scope\""));
    gate_free(g);
    /* A per-tool override wins over the annotation-derived scope. */
    const char *overrides[] = {"pods_log=mcp:logs", "pods_delete=mcp:read", NULL};
    o.tool_scopes = overrides;
    assert_int_equal(gate_new(&o, &g, &err), 0);
    assert_int_equal(gate_tool_allowed(g, &d, "pods_log", true, &needed), -EACCES);
    assert_string_equal(needed, "mcp:logs");
    assert_int_equal(gate_tool_allowed(g, &d, "pods_delete", false, &needed), 0);
    assert_int_equal(gate_tool_allowed(g, &d, "pods_logs", true, &needed), 0); /* no prefix match */
    d.scopes = NULL;
    gate_free(g);
}

static void test_kubeconfig_mode_ignores_headers(void **state) {
    gate *g = NULL;
    error_info err = {0};
    gate_options o = {.cluster_mode = GATE_CLUSTER_KUBECONFIG};
    assert_int_equal(gate_new(&o, &g, &err), 0);
    gate_decision d;
    decide(g, "Bearer tok-123", &d);
    assert_int_equal(d.http_status, 0);
    assert_false(d.has_credential);
    gate_decision_clear(&d);
    gate_free(g);
}

static void test_impersonation_needs_validation(void **state) {
    gate *g = NULL;
    error_info err = {0};
    gate_options o = {.cluster_mode = GATE_CLUSTER_IMPERSONATE};
    assert_int_equal(gate_new(&o, &g, &err), -EINVAL);
    assert_non_null(strstr(err.message, "validate_token"));
}

static void test_decisions_are_audited_without_tokens(void **state) {
    char path[] = "/tmp/kubemcp-gate-audit-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    audit_log *log = NULL;
    error_info err = {0};
    assert_int_equal(audit_log_open(path, &log, &err), 0);
    gate *g = NULL;
    gate_options o = {.require_token = true, .audit = log};
    assert_int_equal(gate_new(&o, &g, &err), 0);
    gate_decision d;
    decide(g, "Bearer very-secret-token-value", &d);
    gate_decision_clear(&d);
    decide(g, NULL, &d);
    gate_decision_clear(&d);
    gate_free(g);
    audit_log_close(log);
    FILE *f = fopen(path, "r");
    char text[4096] = "";
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = '\0';
    fclose(f);
    unlink(path);
    assert_non_null(strstr(text, "\"outcome\":\"allowed\""));
    assert_non_null(strstr(text, "\"outcome\":\"refused\""));
    assert_null(strstr(text, "very-secret-token-value"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_passthrough),
        cmocka_unit_test(test_server_url_normalisation),
        cmocka_unit_test(test_server_header_needs_allowlist),
        cmocka_unit_test(test_required),
        cmocka_unit_test(test_challenges),
        cmocka_unit_test(test_tool_scopes),
        cmocka_unit_test(test_kubeconfig_mode_ignores_headers),
        cmocka_unit_test(test_impersonation_needs_validation),
        cmocka_unit_test(test_decisions_are_audited_without_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
