/* kubeconfig parsing, kubectl merge rules, broken inputs, redacted view, and the provider
 * strategies built on top (auto-detection, disabled, auth-headers, contexts). */
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
#include <unistd.h>

#include "kube/kube.h"
#include "kube/kubeconfig.h"

#define DATA KUBEMCP_TEST_DATA_DIR "/kube"

#define TEST_TMPDIR_PREFIX "kubemcp-kc"
#include "test_tmpdir.h"

static char *write_tmp(const char *name, const char *content) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
    return path;
}

static kubeconfig *parse_ok(const char *yaml) {
    error_info err = {0};
    kubeconfig *kc = NULL;
    int r = kubeconfig_parse(yaml, strlen(yaml), "/tmp/x/config", &kc, &err);
    if (r < 0)
        fail_msg("parse failed: %s", err.message);
    return kc;
}

static void parse_fails(const char *yaml, const char *want) {
    error_info err = {0};
    kubeconfig *kc = NULL;
    int r = kubeconfig_parse(yaml, strlen(yaml), "/etc/kube/bad.yaml", &kc, &err);
    assert_true(r < 0);
    assert_null(kc);
    if (!strstr(err.message, want))
        fail_msg("message \"%s\" lacks \"%s\"", err.message, want);
}

static void test_every_field(void **state) {
    (void)state;
    error_info err = {0};
    kubeconfig *kc = NULL;
    assert_int_equal(kubeconfig_load_file(DATA "/full.yaml", &kc, &err), 0);
    assert_string_equal(kc->current_context, "dev");
    assert_int_equal(kc->n_clusters, 3); /* the duplicate "prod" keeps the first definition */

    const kc_cluster *prod = kubeconfig_cluster(kc, "prod");
    assert_string_equal(prod->server, "https://prod.example.com:6443");
    assert_non_null(strstr((const char *)prod->ca_data, "CADATA"));
    assert_string_equal(prod->tls_server_name, "kubernetes.default");
    assert_string_equal(prod->proxy_url, "http://proxy.example.com:3128");
    assert_false(prod->insecure_skip_tls_verify);

    const kc_cluster *dev = kubeconfig_cluster(kc, "dev");
    assert_string_equal(dev->ca_file, DATA "/ca.crt"); /* relative to the kubeconfig's directory */
    assert_null(dev->ca_data);
    assert_true(kubeconfig_cluster(kc, "lab")->insecure_skip_tls_verify);
    assert_string_equal(kubeconfig_cluster(kc, "lab")->server, "https://[::1]:6443");

    const kc_context *ctx = kubeconfig_context(kc, "dev");
    assert_string_equal(ctx->cluster, "dev");
    assert_string_equal(ctx->user, "dev-cert-files");
    assert_string_equal(ctx->namespace_name, "team-a");
    assert_null(kubeconfig_context(kc, "prod")->namespace_name);

    const kc_user *files = kubeconfig_user(kc, "dev-cert-files");
    assert_string_equal(files->cert_file, DATA "/client.crt");
    assert_string_equal(files->key_file, DATA "/./client.key");

    const kc_user *tok = kubeconfig_user(kc, "prod-token");
    assert_string_equal(tok->token, "sekret-token-value");
    assert_non_null(strstr((const char *)tok->cert_data, "CERT"));
    assert_non_null(strstr((const char *)tok->key_data, "KEY"));

    const kc_user *basic = kubeconfig_user(kc, "basic");
    assert_string_equal(basic->username, "admin");
    assert_string_equal(basic->password, "hunter2");
    assert_string_equal(kubeconfig_user(kc, "token-file")->token_file, DATA "/token");

    const kc_exec *e = kubeconfig_user(kc, "exec-user")->exec;
    assert_non_null(e);
    assert_string_equal(e->api_version, "client.authentication.k8s.io/v1beta1");
    assert_string_equal(e->command, "kubelogin");
    assert_int_equal(e->n_args, 3);
    assert_string_equal(e->args[0], "get-token");
    assert_null(e->args[3]);
    assert_int_equal(e->n_env, 2);
    assert_string_equal(e->env[0].name, "AAD_LOGIN_METHOD");
    assert_string_equal(e->env[0].value, "secret-env-value");
    assert_string_equal(e->env[1].value, "");
    assert_string_equal(e->install_hint, "Install kubelogin from https://azure.github.io/kubelogin/");
    assert_string_equal(e->interactive_mode, "Never");
    kubeconfig_free(kc);
}

static void test_merge_first_wins(void **state) {
    (void)state;
    error_info err = {0};
    kubeconfig *kc = NULL;
    /* a missing file in the list is skipped, as kubectl does */
    assert_int_equal(kubeconfig_load_list(DATA "/merge-a.yaml:/nonexistent/kubeconfig:" DATA "/merge-b.yaml:" DATA
                                                "/merge-c.yaml",
                                          &kc, &err),
                     0);
    assert_string_equal(kubeconfig_cluster(kc, "shared")->server, "https://from-a.example.com");
    assert_string_equal(kubeconfig_context(kc, "shared")->namespace_name, "from-a");
    assert_string_equal(kubeconfig_user(kc, "shared")->token, "token-a");
    assert_non_null(kubeconfig_context(kc, "only-b"));
    assert_string_equal(kubeconfig_cluster(kc, "b-cluster")->server, "https://b.example.com");
    /* a sets none, b is the first that sets it; c's comes too late */
    assert_string_equal(kc->current_context, "only-b");
    assert_int_equal(kc->n_contexts, 2);
    kubeconfig_free(kc);

    /* the order decides */
    assert_int_equal(kubeconfig_load_list(DATA "/merge-b.yaml:" DATA "/merge-a.yaml", &kc, &err), 0);
    assert_string_equal(kubeconfig_cluster(kc, "shared")->server, "https://from-b.example.com");
    kubeconfig_free(kc);

    assert_int_equal(kubeconfig_load_list("/nonexistent/a:/nonexistent/b", &kc, &err), -ENOENT);
    assert_non_null(strstr(err.message, "none of the kubeconfig files"));
}

static void test_broken_inputs(void **state) {
    (void)state;
    parse_fails("clusters:\n- name: a\n  cluster: {server: [\n", "/etc/kube/bad.yaml line ");
    parse_fails("clusters:\n- name: a\n  cluster: {server: [\n", "invalid YAML");
    parse_fails("- just\n- a list\n", "top level must be a mapping");
    parse_fails("a: 1\nb: \"x\n", "/etc/kube/bad.yaml line 2: invalid YAML");
    parse_fails("%X a\x80\n", "not valid UTF-8"); /* libfyaml 0.7 loops forever on this one */
    parse_fails("clusters: 5\n", "\"clusters\" must be a list");
    parse_fails("clusters:\n- cluster:\n    server: https://x\n", "has no name");
    parse_fails("clusters:\n- name: a\n  cluster:\n    server: https://x\n    certificate-authority-data: '%%%notbase64'\n",
                "line 5: \"certificate-authority-data\" is not valid base64");
    parse_fails("clusters:\n- name: a\n  cluster:\n    server: https://x\n    certificate-authority-data: 'QUJD='\n",
                "cluster \"a\"");
    parse_fails("clusters:\n- name: a\n  cluster:\n    insecure-skip-tls-verify: maybe\n", "must be true or false");
    parse_fails("users:\n- name: u\n  user:\n    exec:\n      args: [x]\n", "has no command");
    parse_fails("users:\n- name: u\n  user:\n    exec:\n      command: x\n      env: [{value: v}]\n", "needs a name");
    parse_fails("users:\n- name: u\n  user:\n    token: [1, 2]\n", "\"token\" must be a string");

    /* parse is fine, the context is not */
    kubeconfig *kc = parse_ok("clusters:\n- name: noserver\n  cluster: {}\n"
                              "contexts:\n- name: a\n  context: {cluster: missing, user: u}\n"
                              "- name: b\n  context: {cluster: noserver}\n"
                              "- name: c\n  context: {user: u}\n");
    error_info err = {0};
    assert_int_equal(kubeconfig_check_context(kc, "a", &err), -ENOENT);
    assert_non_null(strstr(err.message, "refers to cluster \"missing\", which is not defined"));
    assert_int_equal(kubeconfig_check_context(kc, "b", &err), -EINVAL);
    assert_non_null(strstr(err.message, "cluster \"noserver\" in kubeconfig /tmp/x/config has no server"));
    assert_int_equal(kubeconfig_check_context(kc, "c", &err), -EINVAL);
    assert_non_null(strstr(err.message, "names no cluster"));
    assert_int_equal(kubeconfig_check_context(kc, "zzz", &err), -ENOENT);
    kubeconfig_free(kc);

    /* empty file = empty config, not a crash */
    kc = parse_ok("");
    assert_int_equal(kc->n_contexts, 0);
    kubeconfig_free(kc);
    kc = parse_ok("clusters:\ncontexts: ~\nusers: []\n");
    kubeconfig_free(kc);

    /* too large */
    size_t big = KUBECONFIG_MAX_FILE_BYTES + 10;
    char *data = malloc(big);
    memset(data, '#', big);
    assert_int_equal(kubeconfig_parse(data, big, "huge", &kc, &err), -EFBIG);
    free(data);
}

static void test_missing_file(void **state) {
    (void)state;
    error_info err = {0};
    kubeconfig *kc = NULL;
    assert_int_equal(kubeconfig_load_file("/nonexistent/config", &kc, &err), -ENOENT);
    assert_non_null(strstr(err.message, "/nonexistent/config"));
}

static void test_view_redacts(void **state) {
    (void)state;
    error_info err = {0};
    kubeconfig *kc = NULL;
    assert_int_equal(kubeconfig_load_file(DATA "/full.yaml", &kc, &err), 0);
    json_t *v = kubeconfig_view(kc, NULL, false, &err);
    assert_non_null(v);
    char *text = json_dumps(v, JSON_SORT_KEYS);
    assert_null(strstr(text, "sekret-token-value"));
    assert_null(strstr(text, "hunter2"));
    assert_null(strstr(text, "secret-env-value"));
    assert_null(strstr(text, "topsecretarg"));
    assert_null(strstr(text, "LS0t"));
    assert_non_null(strstr(text, "\"certificate-authority-data\": \"DATA+OMITTED\""));
    assert_non_null(strstr(text, "\"token\": \"REDACTED\""));
    assert_non_null(strstr(text, "\"client-key-data\": \"REDACTED\""));
    assert_non_null(strstr(text, "\"password\": \"REDACTED\""));
    assert_non_null(strstr(text, "--client-secret=REDACTED"));
    assert_non_null(strstr(text, "--login=azurecli"));
    assert_string_equal(json_string_value(json_object_get(v, "current-context")), "dev");
    assert_int_equal(json_array_size(json_object_get(v, "contexts")), 5);
    free(text);
    json_decref(v);

    v = kubeconfig_view(kc, "prod", true, &err);
    assert_int_equal(json_array_size(json_object_get(v, "contexts")), 1);
    assert_int_equal(json_array_size(json_object_get(v, "clusters")), 1);
    assert_int_equal(json_array_size(json_object_get(v, "users")), 1);
    assert_string_equal(json_string_value(json_object_get(v, "current-context")), "prod");
    json_decref(v);
    assert_null(kubeconfig_view(kc, "nope", true, &err));
    kubeconfig_free(kc);
}

static void test_view_redacts_urls_and_split_args(void **state) {
    (void)state;
    char path[] = "/tmp/kubemcp-kc-XXXXXX";
    int fd = mkstemp(path);
    const char *yaml = "apiVersion: v1\nkind: Config\n"
                       "clusters:\n- name: c\n  cluster:\n    server: https://admin:s3cretpw@h.example:6443\n"
                       "    proxy-url: http://puser:Pr0xyPass@proxy:3128\n"
                       "contexts:\n- name: x\n  context: {cluster: c, user: u}\n"
                       "users:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
                       "      command: login\n      args: [--client-secret, TOPSECRET, --api-key=ALSOSECRET, get-token, "
                       "--verbose, --auth-token, third-secret]\n"
                       "current-context: x\n";
    assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
    close(fd);
    error_info err = {0};
    kubeconfig *kc = NULL;
    assert_int_equal(kubeconfig_load_file(path, &kc, &err), 0);
    json_t *v = kubeconfig_view(kc, NULL, false, &err);
    char *text = json_dumps(v, 0);
    assert_null(strstr(text, "s3cretpw"));
    assert_null(strstr(text, "Pr0xyPass"));
    assert_null(strstr(text, "TOPSECRET"));
    assert_null(strstr(text, "ALSOSECRET"));
    assert_null(strstr(text, "third-secret"));
    assert_non_null(strstr(text, "https://REDACTED@h.example:6443"));
    assert_non_null(strstr(text, "\"--api-key=REDACTED\""));
    assert_non_null(strstr(text, "\"get-token\""));
    assert_non_null(strstr(text, "\"--verbose\""));
    free(text);
    json_decref(v);
    kubeconfig_free(kc);
    unlink(path);
}

static void assert_server(kube_provider *p, const char *context, const char *expected) {
    char *server = kube_provider_context_server(p, context);
    assert_non_null(server);
    assert_string_equal(server, expected);
    free(server);
}

static void test_provider_kubeconfig(void **state) {
    (void)state;
    error_info err = {0};
    kube_provider *p = NULL;
    kube_provider_options o = {.kubeconfig_path = DATA "/full.yaml"};
    assert_int_equal(kube_provider_new(&o, &p, &err), 0);
    assert_string_equal(kube_provider_strategy(p), "kubeconfig");
    assert_int_equal(kube_provider_context_count(p), 5);
    assert_string_equal(kube_provider_default_context(p), "dev");
    assert_server(p, "prod", "https://prod.example.com:6443");
    assert_server(p, NULL, "https://127.0.0.1:6443");
    kube_cluster *c = NULL;
    assert_int_equal(kube_provider_cluster(p, NULL, &c, &err), 0);
    assert_string_equal(kube_cluster_default_namespace(c), "team-a");
    assert_int_equal(kube_provider_cluster(p, "prod", &c, &err), 0);
    assert_string_equal(kube_cluster_default_namespace(c), "default");
    assert_string_equal(kube_cluster_server(c), "https://prod.example.com:6443");
    assert_int_equal(kube_provider_cluster(p, "nope", &c, &err), -ENOENT);
    assert_non_null(strstr(err.message, "context \"nope\" not found; known contexts: \"dev\", \"prod\""));
    kube_provider_free(p);

    o.single_context = true;
    o.default_context = "prod";
    assert_int_equal(kube_provider_new(&o, &p, &err), 0);
    assert_int_equal(kube_provider_context_count(p), 1);
    assert_string_equal(kube_provider_context_name(p, 0), "prod");
    assert_int_equal(kube_provider_cluster(p, "dev", &c, &err), -ENOENT);
    json_t *v = kube_provider_kubeconfig_view(p, NULL, false, &err);
    assert_int_equal(json_array_size(json_object_get(v, "contexts")), 1);
    json_decref(v);
    kube_provider_free(p);

    o.default_context = "missing";
    assert_int_equal(kube_provider_new(&o, &p, &err), -ENOENT);
    assert_non_null(strstr(err.message, "context \"missing\" does not exist"));

    /* a default context with a broken cluster fails at start, naming what to fix */
    const char *path = write_tmp("broken", "current-context: a\ncontexts:\n- name: a\n  context: {cluster: gone}\n");
    kube_provider_options b = {.kubeconfig_path = path};
    assert_int_equal(kube_provider_new(&b, &p, &err), -ENOENT);
    assert_non_null(strstr(err.message, "refers to cluster \"gone\""));

    /* a certificate-authority file that does not exist */
    path = write_tmp("noca", "current-context: a\nclusters:\n- name: c\n  cluster: {server: 'https://h', "
                             "certificate-authority: missing-ca.crt}\ncontexts:\n- name: a\n  context: {cluster: c}\n");
    b.kubeconfig_path = path;
    assert_int_equal(kube_provider_new(&b, &p, &err), -ENOENT);
    assert_non_null(strstr(err.message, "missing-ca.crt"));

    path = write_tmp("authprov", "current-context: a\nclusters:\n- name: c\n  cluster: {server: 'https://h'}\n"
                                 "contexts:\n- name: a\n  context: {cluster: c, user: u}\nusers:\n- name: u\n  user:\n"
                                 "    auth-provider: {name: oidc, config: {id-token: x}}\n");
    b.kubeconfig_path = path;
    assert_int_equal(kube_provider_new(&b, &p, &err), -ENOTSUP);
    assert_non_null(strstr(err.message, "auth-provider \"oidc\""));

    path = write_tmp("twoctx", "clusters:\n- name: c\n  cluster: {server: 'https://h'}\n"
                               "contexts:\n- name: a\n  context: {cluster: c}\n- name: b\n  context: {cluster: c}\n");
    b.kubeconfig_path = path;
    assert_int_equal(kube_provider_new(&b, &p, &err), -EINVAL);
    assert_non_null(strstr(err.message, "sets no current-context"));
}

static void test_provider_autodetect(void **state) {
    (void)state;
    error_info err = {0};
    kube_provider *p = NULL;
    const char *env_none[] = {"HOME=/nonexistent-home", NULL};
    kube_provider_options o = {.env = env_none};
    assert_int_equal(kube_provider_new(&o, &p, &err), -ENOENT);
    assert_string_equal(err.message, "no kubeconfig found: set --kubeconfig or KUBECONFIG, or create ~/.kube/config");

    const char *env_kc[] = {"HOME=/nonexistent-home", "KUBECONFIG=" DATA "/merge-a.yaml:" DATA "/merge-b.yaml",
                            "KUBERNETES_SERVICE_HOST=10.0.0.1", "KUBERNETES_SERVICE_PORT=443", NULL};
    o.env = env_kc;
    assert_int_equal(kube_provider_new(&o, &p, &err), 0);
    assert_string_equal(kube_provider_strategy(p), "kubeconfig");
    assert_string_equal(kube_provider_default_context(p), "only-b");
    p = kube_provider_free(p);

    /* ~/.kube/config */
    char home[300], dir[320], cfg[340];
    snprintf(home, sizeof home, "HOME=%s", tmpdir);
    snprintf(dir, sizeof dir, "%s/.kube", tmpdir);
    mkdir(dir, 0700);
    snprintf(cfg, sizeof cfg, "%s/.kube/config", tmpdir);
    FILE *f = fopen(cfg, "w");
    fputs("current-context: h\nclusters:\n- {name: c, cluster: {server: 'https://home:6443'}}\n"
          "contexts:\n- {name: h, context: {cluster: c}}\n",
          f);
    fclose(f);
    const char *env_home[] = {home, NULL};
    o.env = env_home;
    assert_int_equal(kube_provider_new(&o, &p, &err), 0);
    assert_server(p, "h", "https://home:6443");
    p = kube_provider_free(p);

    /* in-cluster when no kubeconfig exists */
    char icdir[300];
    snprintf(icdir, sizeof icdir, "%s/sa", tmpdir);
    mkdir(icdir, 0700);
    write_tmp("sa/token", "sa-token\n");
    write_tmp("sa/ca.crt", "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n");
    write_tmp("sa/namespace", "mcp-system");
    const char *env_ic[] = {"HOME=/nonexistent-home", "KUBERNETES_SERVICE_HOST=fd00::1", "KUBERNETES_SERVICE_PORT=443",
                            NULL};
    o.env = env_ic;
    o.incluster_dir = icdir;
    assert_int_equal(kube_provider_new(&o, &p, &err), 0);
    assert_string_equal(kube_provider_strategy(p), "in-cluster");
    assert_server(p, NULL, "https://[fd00::1]:443");
    kube_cluster *c;
    assert_int_equal(kube_provider_cluster(p, NULL, &c, &err), 0);
    assert_string_equal(kube_cluster_default_namespace(c), "mcp-system");
    json_t *v = kube_provider_kubeconfig_view(p, NULL, false, &err);
    assert_non_null(v);
    char *text = json_dumps(v, 0);
    assert_null(strstr(text, "sa-token"));
    free(text);
    json_decref(v);
    kube_provider_free(p);
}

static void test_provider_disabled_and_auth_headers(void **state) {
    (void)state;
    error_info err = {0};
    kube_provider *p = NULL;
    kube_provider_options o = {.strategy = "disabled"};
    assert_int_equal(kube_provider_new(&o, &p, &err), 0);
    assert_int_equal(kube_provider_context_count(p), 0);
    kube_cluster *c = NULL;
    assert_int_equal(kube_provider_cluster(p, NULL, &c, &err), -EPERM);
    assert_non_null(strstr(err.message, "Kubernetes access is disabled"));
    kube_provider_free(p);

    o.strategy = "bogus";
    assert_int_equal(kube_provider_new(&o, &p, &err), -EINVAL);
    assert_non_null(strstr(err.message, "unknown cluster provider strategy \"bogus\""));

    o.strategy = "auth-headers";
    o.kubeconfig_path = DATA "/full.yaml";
    o.default_context = "prod";
    assert_int_equal(kube_provider_new(&o, &p, &err), 0);
    assert_string_equal(kube_provider_strategy(p), "auth-headers");
    assert_int_equal(kube_provider_cluster(p, NULL, &c, &err), 0);
    kube_request req = {.method = "GET", .path = "/api"};
    kube_response resp = {0};
    assert_int_equal(kube_do(c, &req, &resp, &err), -EACCES);
    assert_string_equal(err.message, "bearer token required in Authorization header");
    const char *groups[] = {"system:masters", NULL};
    kube_credential imp = {.impersonate_user = "admin", .impersonate_groups = groups};
    req.credential = &imp;
    assert_int_equal(kube_do(c, &req, &resp, &err), -EACCES);
    kube_provider_free(p);

    o.strategy = "in-cluster";
    const char *env[] = {NULL};
    o.env = env;
    assert_int_equal(kube_provider_new(&o, &p, &err), -ENOENT);
    assert_non_null(strstr(err.message, "KUBERNETES_SERVICE_HOST"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_field),
        cmocka_unit_test(test_merge_first_wins),
        cmocka_unit_test(test_broken_inputs),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_view_redacts),
        cmocka_unit_test(test_view_redacts_urls_and_split_args),
        cmocka_unit_test_setup_teardown(test_provider_kubeconfig, setup_tmp, teardown_tmp),
        cmocka_unit_test_setup_teardown(test_provider_autodetect, setup_tmp, teardown_tmp),
        cmocka_unit_test(test_provider_disabled_and_auth_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
