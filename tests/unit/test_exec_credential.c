/* Exec credential plugins: real shell-script plugins written into a temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kube/exec_credential.h"

#define TEST_TMPDIR_PREFIX "kubemcp-exec"
#include "test_tmpdir.h"

/* Writes an executable plugin that counts its runs in <tmpdir>/calls, then runs body. */
static const char *write_plugin(const char *name, const char *body) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\nn=$(cat '%s/calls' 2>/dev/null || echo 0)\necho $((n + 1)) > '%s/calls'\n%s\n", tmpdir,
            tmpdir, body);
    fclose(f);
    chmod(path, 0700);
    return path;
}

static int calls(void) {
    char path[512];
    snprintf(path, sizeof path, "%s/calls", tmpdir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = 0;
    if (fscanf(f, "%d", &n) != 1)
        n = -1;
    fclose(f);
    return n;
}

static exec_credential *make(const char *command, char **args, size_t n_args, kc_exec_env *env, size_t n_env,
                             const char *hint) {
    kc_exec cfg = {.api_version = "client.authentication.k8s.io/v1", .command = (char *)command, .args = args,
                   .n_args = n_args, .env = env, .n_env = n_env, .install_hint = (char *)hint};
    exec_credential *ec = NULL;
    error_info err = {0};
    if (exec_credential_new(&cfg, &ec, &err) < 0)
        fail_msg("exec_credential_new: %s", err.message);
    return ec;
}

#define CRED(status) "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":" status "}'"

static void test_token_cached_until_expiry(void **state) {
    (void)state;
    const char *cmd = write_plugin("plugin", CRED("{\"token\":\"tok-1\",\"expirationTimestamp\":\"2099-01-01T00:00:00Z\"}"));
    exec_credential *ec = make(cmd, NULL, 0, NULL, 0, NULL);
    error_info err = {0};
    exec_credential_result res = {0};
    assert_int_equal(exec_credential_get(ec, &res, &err), 0);
    assert_string_equal(res.token, "tok-1");
    assert_null(res.cert_pem);
    assert_int_equal(res.expiry, 4070908800);
    exec_credential_result_clear(&res);
    assert_int_equal(exec_credential_get(ec, &res, &err), 0);
    exec_credential_result_clear(&res);
    assert_int_equal(calls(), 1); /* served from the cache */
    exec_credential_invalidate(ec); /* as after a 401 */
    assert_int_equal(exec_credential_get(ec, &res, &err), 0);
    exec_credential_result_clear(&res);
    assert_int_equal(calls(), 2);
    exec_credential_free(ec);
}

static void test_expired_is_refetched(void **state) {
    (void)state;
    char body[256];
    /* expires within the refresh margin: every use runs the plugin again */
    time_t soon = time(NULL) + EXEC_CREDENTIAL_REFRESH_SKEW_S / 2;
    struct tm tm;
    gmtime_r(&soon, &tm);
    char ts[64];
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(body, sizeof body, CRED("{\"token\":\"tok\",\"expirationTimestamp\":\"%s\"}"), ts);
    const char *cmd = write_plugin("plugin", body);
    exec_credential *ec = make(cmd, NULL, 0, NULL, 0, NULL);
    error_info err = {0};
    exec_credential_result res = {0};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(exec_credential_get(ec, &res, &err), 0);
        exec_credential_result_clear(&res);
    }
    assert_int_equal(calls(), 3);
    exec_credential_free(ec);
}

static void test_args_env_and_exec_info(void **state) {
    (void)state;
    /* the plugin reports what it received through the token */
    const char *cmd = write_plugin(
        "plugin", "info=$(printf %s \"$KUBERNETES_EXEC_INFO\" | tr -d '\"{}:,')\n"
                  "echo \"{\\\"apiVersion\\\":\\\"client.authentication.k8s.io/v1\\\",\\\"kind\\\":\\\"ExecCredential\\\","
                  "\\\"status\\\":{\\\"token\\\":\\\"$1|$2|$MY_VAR|$HOME_SET|$info$KUBEMCP_OAUTH_CLIENT_SECRET\\\"}}\"");
    char *args[] = {"first arg", "--second", NULL};
    kc_exec_env env[] = {{.name = "MY_VAR", .value = "configured"}, {.name = "HOME_SET", .value = "yes"}};
    exec_credential *ec = make(cmd, args, 2, env, 2, NULL);
    error_info err = {0};
    exec_credential_result res = {0};
    setenv("MY_VAR", "inherited-but-overridden", 1);
    setenv("KUBEMCP_OAUTH_CLIENT_SECRET", "never-for-plugins", 1);
    assert_int_equal(exec_credential_get(ec, &res, &err), 0);
    unsetenv("KUBEMCP_OAUTH_CLIENT_SECRET");
    unsetenv("MY_VAR");
    assert_string_equal(res.token, "first arg|--second|configured|yes|"
                                   "apiVersionclient.authentication.k8s.io/v1kindExecCredentialspecinteractivefalse");
    exec_credential_result_clear(&res);
    exec_credential_free(ec);
}

static void test_client_certificate(void **state) {
    (void)state;
    const char *cmd = write_plugin("plugin", CRED("{\"clientCertificateData\":\"-----BEGIN CERTIFICATE-----\\\\nC\\\\n\","
                                                  "\"clientKeyData\":\"-----BEGIN PRIVATE KEY-----\\\\nK\\\\n\"}"));
    exec_credential *ec = make(cmd, NULL, 0, NULL, 0, NULL);
    error_info err = {0};
    exec_credential_result res = {0};
    assert_int_equal(exec_credential_get(ec, &res, &err), 0);
    assert_null(res.token);
    assert_non_null(strstr(res.cert_pem, "BEGIN CERTIFICATE"));
    assert_non_null(strstr(res.key_pem, "BEGIN PRIVATE KEY"));
    assert_int_equal(res.expiry, 0);
    exec_credential_result_clear(&res);
    exec_credential_free(ec);
}

static void test_timeout_kills(void **state) {
    (void)state;
    const char *cmd = write_plugin("plugin", "exec sleep 20");
    exec_credential *ec = make(cmd, NULL, 0, NULL, 0, NULL);
    exec_credential_set_timeout_ms(ec, 300);
    error_info err = {0};
    exec_credential_result res = {0};
    time_t t0 = time(NULL);
    assert_int_equal(exec_credential_get(ec, &res, &err), -ETIMEDOUT);
    assert_true(time(NULL) - t0 < 5);
    assert_non_null(strstr(err.message, "did not finish"));
    exec_credential_free(ec);
}

static void test_bad_outputs(void **state) {
    (void)state;
    error_info err = {0};
    exec_credential_result res = {0};
    const char *cmd = write_plugin("bad-json", "echo 'this is not json'");
    exec_credential *ec = make(cmd, NULL, 0, NULL, 0, NULL);
    assert_int_equal(exec_credential_get(ec, &res, &err), -EINVAL);
    assert_non_null(strstr(err.message, "not an ExecCredential JSON object"));
    exec_credential_free(ec);

    cmd = write_plugin("fails", "echo 'login required' >&2; exit 3");
    ec = make(cmd, NULL, 0, NULL, 0, "run `mylogin` first");
    assert_int_equal(exec_credential_get(ec, &res, &err), -EIO);
    assert_non_null(strstr(err.message, "exit status 3"));
    assert_non_null(strstr(err.message, "run `mylogin` first"));
    exec_credential_free(ec);

    cmd = write_plugin("huge", "head -c 2000000 /dev/zero | tr '\\0' a");
    ec = make(cmd, NULL, 0, NULL, 0, NULL);
    assert_int_equal(exec_credential_get(ec, &res, &err), -EMSGSIZE);
    exec_credential_free(ec);

    cmd = write_plugin("notoken", CRED("{}"));
    ec = make(cmd, NULL, 0, NULL, 0, NULL);
    assert_int_equal(exec_credential_get(ec, &res, &err), -EINVAL);
    assert_non_null(strstr(err.message, "neither status.token"));
    exec_credential_free(ec);

    cmd = write_plugin("badtime", CRED("{\"token\":\"t\",\"expirationTimestamp\":\"tomorrow\"}"));
    ec = make(cmd, NULL, 0, NULL, 0, NULL);
    assert_int_equal(exec_credential_get(ec, &res, &err), -EINVAL);
    assert_non_null(strstr(err.message, "RFC 3339"));
    exec_credential_free(ec);

    const char *v1beta1 = "{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\","
                          "\"status\":{\"token\":\"t\"}}";
    assert_int_equal(exec_credential_parse(v1beta1, strlen(v1beta1), "client.authentication.k8s.io/v1", &res, &err),
                     -EINVAL);
    assert_non_null(strstr(err.message, "make them match"));
}

static void test_missing_command(void **state) {
    (void)state;
    exec_credential *ec = make("kubemcp-no-such-plugin", NULL, 0, NULL, 0, "Install it with `brew install thing`");
    error_info err = {0};
    exec_credential_result res = {0};
    assert_int_equal(exec_credential_get(ec, &res, &err), -ENOENT);
    assert_non_null(strstr(err.message, "\"kubemcp-no-such-plugin\""));
    assert_non_null(strstr(err.message, "not found"));
    assert_non_null(strstr(err.message, "Install it with `brew install thing`"));
    exec_credential_free(ec);

    kc_exec bad = {.api_version = "client.authentication.k8s.io/v1alpha1", .command = "x"};
    assert_int_equal(exec_credential_new(&bad, &ec, &err), -EINVAL);
    assert_non_null(strstr(err.message, "v1alpha1"));
    kc_exec always = {.command = "x", .interactive_mode = "Always"};
    assert_int_equal(exec_credential_new(&always, &ec, &err), -EINVAL);
    assert_non_null(strstr(err.message, "interactive terminal"));
}

static void test_rfc3339(void **state) {
    (void)state;
    time_t t;
    assert_int_equal(kube_parse_rfc3339("1970-01-01T00:00:00Z", &t), 0);
    assert_int_equal(t, 0);
    assert_int_equal(kube_parse_rfc3339("2024-05-01T12:00:00.123456Z", &t), 0);
    assert_int_equal(t, 1714564800);
    assert_int_equal(kube_parse_rfc3339("2024-05-01T14:00:00+02:00", &t), 0);
    assert_int_equal(t, 1714564800);
    assert_int_equal(kube_parse_rfc3339("2024-05-01", &t), -EINVAL);
    assert_int_equal(kube_parse_rfc3339("2024-05-01T12:00:00", &t), -EINVAL);
    assert_int_equal(kube_parse_rfc3339("2024-13-01T12:00:00Z", &t), -EINVAL);
    assert_int_equal(kube_parse_rfc3339("2024-05-01T12:00:00Zjunk", &t), -EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_token_cached_until_expiry, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_expired_is_refetched, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_args_env_and_exec_info, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_client_certificate, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_timeout_kills, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_bad_outputs, setup_tmp, teardown_tmp),
        cmocka_unit_test(test_missing_command),
        cmocka_unit_test(test_rfc3339),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
