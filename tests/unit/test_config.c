/* Configuration: precedence, drop-ins, every error path a user can hit, lists, denied_resources. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.h"

static char tmpdir[64];

static void write_file(const char *name, const char *content) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static const char *path_of(const char *name) {
    static char path[4][256];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

static int setup(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/kubemcp-config-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    char dropins[128];
    snprintf(dropins, sizeof dropins, "%s/conf.d", tmpdir);
    assert_int_equal(mkdir(dropins, 0700), 0);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Loads with argv (NULL-terminated, program name added) and envp (NULL-terminated). */
static int load(kubemcp_config **ret, error_info *err, const char *const *args, const char *const *env) {
    char *argv[32] = {"kubemcp"};
    int argc = 1;
    for (; args && args[argc - 1]; argc++)
        argv[argc] = (char *)args[argc - 1];
    char *envp[32] = {0};
    for (int i = 0; env && env[i]; i++)
        envp[i] = (char *)env[i];
    error_clear(err);
    return config_load(argc, argv, envp, ret, err);
}

/* Expects an error whose message contains every given fragment. */
static void expect_error(const char *const *args, const char *const *env, int code, ...) {
    kubemcp_config *cfg = NULL;
    error_info err = {0};
    int r = load(&cfg, &err, args, env);
    assert_null(cfg);
    if (r != code)
        fail_msg("expected %d, got %d (%s)", code, r, err.message);
    va_list ap;
    va_start(ap, code);
    for (const char *fragment; (fragment = va_arg(ap, const char *));)
        if (!strstr(err.message, fragment))
            fail_msg("message \"%s\" lacks \"%s\"", err.message, fragment);
    va_end(ap);
}

static void test_defaults(void **state) {
    (void)state;
    kubemcp_config *cfg = NULL;
    error_info err;
    assert_int_equal(load(&cfg, &err, NULL, NULL), 0);
    assert_null(cfg->port);
    assert_null(cfg->kubeconfig);
    assert_null(cfg->cluster_provider_strategy);
    assert_false(cfg->read_only);
    assert_true(cfg->mask_secrets);
    assert_string_equal(cfg->list_output, "yaml");
    assert_int_equal(cfg->toolsets.count, 2);
    assert_true(string_list_contains(&cfg->toolsets, "core"));
    assert_true(string_list_contains(&cfg->toolsets, "config"));
    assert_false(string_list_contains(&cfg->toolsets, "helm"));
    assert_false(string_list_contains(NULL, "core"));
    assert_int_equal(cfg->max_message_bytes, 4 * 1024 * 1024);
    assert_int_equal(cfg->max_output_bytes, 1024 * 1024);
    assert_int_equal(cfg->kube_timeout_seconds, 30);
    assert_int_equal(cfg->worker_threads, 8);
    assert_int_equal(cfg->log_level, 0);
    assert_null(cfg->config_path);
    assert_false(cfg->show_help);
    assert_null(config_free(cfg));
    assert_null(config_free(NULL));
}

static void test_every_key_from_file(void **state) {
    (void)state;
    write_file("all.toml",
               "kubeconfig = \"/k/config\"\ncluster_provider_strategy = \"auth-headers\"\ncontext = \"prod\"\n"
               "disable_multi_cluster = true\nrequire_oauth = true\nvalidate_token = true\nport = 8080\n"
               "bind_address = \"127.0.0.1\"\nread_only = true\ndisable_destructive = true\n"
               "toolsets = [\"core\"]\nenabled_tools = [\"pods_list\", \"pods_get\"]\ndisabled_tools = [\"pods_exec\"]\n"
               "list_output = \"table\"\nmask_secrets = false\nserver_instructions = \"\"\"be careful\"\"\"\n"
               "log_level = 9\nlog_file = \"/var/log/k.log\"\nmax_message_bytes = 1024\nmax_output_bytes = 2048\n"
               "kube_timeout_seconds = 5\nworker_threads = 2\n"
               "[[denied_resources]]\ngroup = \"\"\nversion = \"v1\"\nkind = \"Secret\"\n"
               "[[denied_resources]]\ngroup = \"rbac.authorization.k8s.io\"\n");
    kubemcp_config *cfg = NULL;
    error_info err;
    const char *args[] = {"--config", path_of("all.toml"), NULL};
    assert_int_equal(load(&cfg, &err, args, NULL), 0);
    assert_string_equal(cfg->kubeconfig, "/k/config");
    assert_string_equal(cfg->cluster_provider_strategy, "auth-headers");
    assert_string_equal(cfg->context, "prod");
    assert_true(cfg->disable_multi_cluster && cfg->require_oauth && cfg->validate_token);
    assert_string_equal(cfg->port, "8080");
    assert_string_equal(cfg->bind_address, "127.0.0.1");
    assert_true(cfg->read_only && cfg->disable_destructive);
    assert_int_equal(cfg->toolsets.count, 1);
    assert_int_equal(cfg->enabled_tools.count, 2);
    assert_string_equal(cfg->enabled_tools.items[1], "pods_get");
    assert_true(string_list_contains(&cfg->disabled_tools, "pods_exec"));
    assert_string_equal(cfg->list_output, "table");
    assert_false(cfg->mask_secrets);
    assert_string_equal(cfg->server_instructions, "be careful");
    assert_int_equal(cfg->log_level, 9);
    assert_string_equal(cfg->log_file, "/var/log/k.log");
    assert_int_equal(cfg->max_message_bytes, 1024);
    assert_int_equal(cfg->max_output_bytes, 2048);
    assert_int_equal(cfg->kube_timeout_seconds, 5);
    assert_int_equal(cfg->worker_threads, 2);
    assert_int_equal(cfg->denied_resources_count, 2);
    assert_string_equal(cfg->denied_resources[0].group, "");
    assert_string_equal(cfg->denied_resources[0].version, "v1");
    assert_string_equal(cfg->denied_resources[0].kind, "Secret");
    assert_string_equal(cfg->denied_resources[1].group, "rbac.authorization.k8s.io");
    assert_string_equal(cfg->denied_resources[1].kind, "");
    assert_string_equal(cfg->config_path, path_of("all.toml"));
    config_free(cfg);
}

static void test_precedence_flags_over_env_over_file(void **state) {
    (void)state;
    write_file("p.toml", "log_level = 1\nport = \"1111\"\nread_only = true\nlist_output = \"table\"\n");
    kubemcp_config *cfg = NULL;
    error_info err;
    const char *args[] = {"--config", path_of("p.toml"), "--log-level=3", NULL};
    const char *env[] = {"KUBEMCP_LOG_LEVEL=2", "KUBEMCP_PORT=2222", "KUBEMCP_READ_ONLY=false", NULL};
    assert_int_equal(load(&cfg, &err, args, env), 0);
    assert_int_equal(cfg->log_level, 3);        /* flag */
    assert_string_equal(cfg->port, "2222");     /* env over file */
    assert_false(cfg->read_only);               /* env over file */
    assert_string_equal(cfg->list_output, "table"); /* file over default */
    config_free(cfg);

    /* LOG_LEVEL (docker-compose spelling) counts, KUBEMCP_LOG_LEVEL wins over it. */
    const char *env2[] = {"LOG_LEVEL=4", NULL};
    assert_int_equal(load(&cfg, &err, NULL, env2), 0);
    assert_int_equal(cfg->log_level, 4);
    config_free(cfg);
    const char *env3[] = {"LOG_LEVEL=4", "KUBEMCP_LOG_LEVEL=6", NULL};
    assert_int_equal(load(&cfg, &err, NULL, env3), 0);
    assert_int_equal(cfg->log_level, 6);
    config_free(cfg);

    /* An empty variable counts as unset. */
    const char *env4[] = {"KUBEMCP_PORT=", NULL};
    const char *args4[] = {"--config", path_of("p.toml"), NULL};
    assert_int_equal(load(&cfg, &err, args4, env4), 0);
    assert_string_equal(cfg->port, "1111");
    config_free(cfg);
}

static void test_config_path_from_environment(void **state) {
    (void)state;
    write_file("e1.toml", "context = \"one\"\n");
    write_file("e2.toml", "context = \"two\"\n");
    char v1[300], v2[300];
    snprintf(v1, sizeof v1, "K8S_MCP_CONFIG_PATH=%s", path_of("e1.toml"));
    snprintf(v2, sizeof v2, "KUBEMCP_CONFIG=%s", path_of("e2.toml"));
    kubemcp_config *cfg = NULL;
    error_info err;
    const char *env[] = {v1, NULL};
    assert_int_equal(load(&cfg, &err, NULL, env), 0);
    assert_string_equal(cfg->context, "one");
    config_free(cfg);
    const char *both[] = {v1, v2, NULL};
    assert_int_equal(load(&cfg, &err, NULL, both), 0);
    assert_string_equal(cfg->context, "two");
    config_free(cfg);
    const char *args[] = {"--config", path_of("e1.toml"), NULL};
    assert_int_equal(load(&cfg, &err, args, both), 0);
    assert_string_equal(cfg->context, "one");
    config_free(cfg);
}

static void test_dropins_apply_in_lexical_order(void **state) {
    (void)state;
    write_file("main.toml", "context = \"main\"\nport = 1000\ntoolsets = [\"core\", \"config\"]\nread_only = true\n");
    write_file("conf.d/20-second.toml", "context = \"second\"\ntoolsets = [\"config\"]\n");
    write_file("conf.d/10-first.toml", "context = \"first\"\nport = 2000\n");
    write_file("conf.d/30-notes.txt", "this is not toml [[[");
    write_file("conf.d/.hidden.toml", "this is not toml [[[");
    kubemcp_config *cfg = NULL;
    error_info err;
    const char *args[] = {"--config", path_of("main.toml"), NULL};
    assert_int_equal(load(&cfg, &err, args, NULL), 0);
    assert_string_equal(cfg->context, "second");  /* 20 after 10 */
    assert_string_equal(cfg->port, "2000");       /* 10 over main */
    assert_true(cfg->read_only);                  /* untouched by drop-ins */
    assert_int_equal(cfg->toolsets.count, 1);     /* arrays replace, not append */
    assert_string_equal(cfg->toolsets.items[0], "config");
    assert_string_equal(cfg->config_dir, path_of("conf.d"));
    config_free(cfg);

    /* An error in a drop-in names the drop-in file and line. */
    write_file("conf.d/40-bad.toml", "\nread_only = \"yes\"\n");
    expect_error(args, NULL, -EINVAL, "40-bad.toml:2: read_only must be a boolean", "got string", NULL);
    /* A drop-in cannot move the drop-in directory. */
    write_file("conf.d/40-bad.toml", "config_dir = \"/elsewhere\"\n");
    expect_error(args, NULL, -EINVAL, "40-bad.toml:1: config_dir can only be set in the main config file", NULL);
    unlink(path_of("conf.d/40-bad.toml"));
}

static void test_config_dir_flag_env_and_key(void **state) {
    (void)state;
    char other[200];
    snprintf(other, sizeof other, "%s/other.d", tmpdir);
    mkdir(other, 0700);
    write_file("other.d/a.toml", "context = \"from-other\"\n");
    write_file("plain.toml", "context = \"main\"\n");
    kubemcp_config *cfg = NULL;
    error_info err;
    const char *args[] = {"--config", path_of("plain.toml"), "--config-dir", other, NULL};
    assert_int_equal(load(&cfg, &err, args, NULL), 0);
    assert_string_equal(cfg->context, "from-other");
    config_free(cfg);

    char env_dir[256];
    snprintf(env_dir, sizeof env_dir, "KUBEMCP_CONFIG_DIR=%s", other);
    const char *env[] = {env_dir, NULL};
    const char *args2[] = {"--config", path_of("plain.toml"), NULL};
    assert_int_equal(load(&cfg, &err, args2, env), 0);
    assert_string_equal(cfg->context, "from-other");
    config_free(cfg);

    write_file("keyed.toml", "config_dir = \"other.d\"\ncontext = \"main\"\n"); /* relative to the file */
    const char *args3[] = {"--config", path_of("keyed.toml"), NULL};
    assert_int_equal(load(&cfg, &err, args3, NULL), 0);
    assert_string_equal(cfg->context, "from-other");
    config_free(cfg);

    const char *missing[] = {"--config-dir", "/nonexistent/kubemcp.d", NULL};
    expect_error(missing, NULL, -ENOENT, "cannot read config directory /nonexistent/kubemcp.d", NULL);
}

static void test_flag_forms(void **state) {
    (void)state;
    kubemcp_config *cfg = NULL;
    error_info err;
    const char *args[] = {"--read-only", "--disable-destructive=true", "--mask-secrets=false", "--port", "9090",
                          "--bind-address=0.0.0.0", "--toolsets", "core, config,helm", "--enabled-tools=a,b",
                          "--disabled-tools", "c", "--list-output", "table", "--context=dev", "--kubeconfig", "/k",
                          "--cluster-provider-strategy=in-cluster", "--disable-multi-cluster", "--require-oauth=1",
                          "--validate-token=FALSE", "--log-file", "/tmp/x.log", "--log-level", "2", NULL};
    assert_int_equal(load(&cfg, &err, args, NULL), 0);
    assert_true(cfg->read_only && cfg->disable_destructive && cfg->disable_multi_cluster && cfg->require_oauth);
    assert_false(cfg->mask_secrets);
    assert_false(cfg->validate_token);
    assert_string_equal(cfg->port, "9090");
    assert_string_equal(cfg->bind_address, "0.0.0.0");
    assert_int_equal(cfg->toolsets.count, 2);
    assert_string_equal(cfg->toolsets.items[0], "core");
    assert_string_equal(cfg->toolsets.items[1], "config");
    /* "helm" (a Go peer default) does not fail: it is set aside for main to warn about */
    assert_int_equal(cfg->unknown_toolsets.count, 1);
    assert_string_equal(cfg->unknown_toolsets.items[0], "helm");
    assert_int_equal(cfg->warnings.count, 1);
    assert_non_null(strstr(cfg->warnings.items[0], "toolset \"helm\""));
    assert_int_equal(cfg->enabled_tools.count, 2);
    assert_string_equal(cfg->disabled_tools.items[0], "c");
    assert_string_equal(cfg->list_output, "table");
    assert_string_equal(cfg->context, "dev");
    assert_string_equal(cfg->kubeconfig, "/k");
    assert_string_equal(cfg->cluster_provider_strategy, "in-cluster");
    assert_string_equal(cfg->log_file, "/tmp/x.log");
    assert_int_equal(cfg->log_level, 2);
    config_free(cfg);

    const char *help[] = {"--help", NULL};
    assert_int_equal(load(&cfg, &err, help, NULL), 0);
    assert_true(cfg->show_help);
    config_free(cfg);
}

static void test_env_lists_and_denied_resources(void **state) {
    (void)state;
    kubemcp_config *cfg = NULL;
    error_info err;
    const char *env[] = {"KUBEMCP_ENABLED_TOOLS=pods_list, pods_get,,", "KUBEMCP_TOOLSETS=config",
                         "KUBEMCP_DENIED_RESOURCES=/v1/Secret, rbac.authorization.k8s.io/v1/",
                         "KUBEMCP_MASK_SECRETS=0", "KUBEMCP_REDONLY=true", NULL};
    assert_int_equal(load(&cfg, &err, NULL, env), 0);
    assert_int_equal(cfg->enabled_tools.count, 2);
    assert_string_equal(cfg->enabled_tools.items[1], "pods_get");
    assert_int_equal(cfg->toolsets.count, 1);
    assert_int_equal(cfg->denied_resources_count, 2);
    assert_string_equal(cfg->denied_resources[0].group, "");
    assert_string_equal(cfg->denied_resources[0].kind, "Secret");
    assert_string_equal(cfg->denied_resources[1].group, "rbac.authorization.k8s.io");
    assert_string_equal(cfg->denied_resources[1].version, "v1");
    assert_string_equal(cfg->denied_resources[1].kind, "");
    assert_false(cfg->mask_secrets);
    /* a misspelt variable is reported, not silently ignored */
    assert_int_equal(cfg->warnings.count, 1);
    assert_non_null(strstr(cfg->warnings.items[0], "KUBEMCP_REDONLY"));
    config_free(cfg);

    const char *bad[] = {"KUBEMCP_DENIED_RESOURCES=Secret", NULL};
    expect_error(NULL, bad, -EINVAL, "environment variable KUBEMCP_DENIED_RESOURCES", "group/version/kind", NULL);
}

static void test_file_errors_name_file_and_line(void **state) {
    (void)state;
    const char *args[] = {"--config", path_of("bad.toml"), NULL};
    write_file("bad.toml", "port = 8080\nreadonly = true\n");
    expect_error(args, NULL, -EINVAL, "bad.toml:2: unknown key \"readonly\"", "did you mean read_only?",
                 "known keys: kubeconfig", NULL);
    write_file("bad.toml", "[server]\nport = 1\n");
    expect_error(args, NULL, -EINVAL, "bad.toml:1: unknown table \"server\"", NULL);
    write_file("bad.toml", "read_only = \"yes\"\n");
    expect_error(args, NULL, -EINVAL, "bad.toml:1: read_only must be a boolean (true or false", NULL);
    write_file("bad.toml", "\n\nlog_level = 12\n");
    expect_error(args, NULL, -ERANGE, "bad.toml:3: log_level: 12 is out of range; use a value from 0 to 9", NULL);
    write_file("bad.toml", "log_level = \"2\"\n");
    expect_error(args, NULL, -EINVAL, "log_level must be an integer from 0 to 9", "got string", NULL);
    write_file("bad.toml", "cluster_provider_strategy = \"kcp\"\n");
    expect_error(args, NULL, -EINVAL, "unknown value \"kcp\"", "kubeconfig, in-cluster, auth-headers, disabled", NULL);
    write_file("bad.toml", "list_output = \"json\"\n");
    expect_error(args, NULL, -EINVAL, "list_output: unknown value \"json\"; use one of: yaml, table", NULL);
    write_file("bad.toml", "port = 70000\n");
    expect_error(args, NULL, -ERANGE, "port 70000 is out of range", NULL);
    write_file("bad.toml", "port = \"http\"\n");
    expect_error(args, NULL, -EINVAL, "invalid port \"http\"", NULL);
    write_file("bad.toml", "context = 1979-05-27\n");
    expect_error(args, NULL, -EINVAL, "context must be a string", "got local-date", NULL);
    write_file("bad.toml", "toolsets = \"core\"\n");
    expect_error(args, NULL, -EINVAL, "toolsets must be an array of strings", NULL);
    write_file("bad.toml", "enabled_tools = [\"a\", 1]\n");
    expect_error(args, NULL, -EINVAL, "enabled_tools: item 2 must be a string, got integer", NULL);
    write_file("bad.toml", "worker_threads = 0\n");
    expect_error(args, NULL, -ERANGE, "worker_threads: 0 is out of range; use a value from 1 to 256", NULL);
    write_file("bad.toml", "[[denied_resources]]\ngroup = \"\"\nkinds = \"Secret\"\n");
    expect_error(args, NULL, -EINVAL, "bad.toml:3: denied_resources[0].kinds: unknown key", NULL);
    write_file("bad.toml", "[[denied_resources]]\nkind = 5\n");
    expect_error(args, NULL, -EINVAL, "bad.toml:2: denied_resources[0].kind must be a string", NULL);
    write_file("bad.toml", "\ndenied_resources = [{kind = \"Secret\", name = \"x\"}]\n");
    expect_error(args, NULL, -EINVAL, "bad.toml:2: denied_resources[0].name: unknown key", NULL);
    write_file("bad.toml", "denied_resources = \"Secret\"\n");
    expect_error(args, NULL, -EINVAL, "denied_resources must be written as [[denied_resources]]", NULL);
    /* syntax errors come from the TOML parser with line and column */
    write_file("bad.toml", "a = 1\nport = \n");
    expect_error(args, NULL, -EINVAL, "bad.toml:2:8: missing value", NULL);

    const char *missing[] = {"--config", "/nonexistent/kubemcp.toml", NULL};
    expect_error(missing, NULL, -ENOENT, "cannot open config file /nonexistent/kubemcp.toml", NULL);
}

static void test_flag_and_env_errors(void **state) {
    (void)state;
    const char *unknown[] = {"--read-olny", NULL};
    expect_error(unknown, NULL, -EINVAL, "unknown flag --read-olny", "did you mean --read-only?", "--help", NULL);
    const char *no_value[] = {"--port", NULL};
    expect_error(no_value, NULL, -EINVAL, "flag --port needs a value", NULL);
    const char *flag_as_value[] = {"--log-file", "--read-only", NULL};
    expect_error(flag_as_value, NULL, -EINVAL, "flag --log-file needs a value", NULL);
    const char *bad_bool[] = {"--read-only=yes", NULL};
    expect_error(bad_bool, NULL, -EINVAL, "flag --read-only: invalid boolean \"yes\"; use true or false", NULL);
    const char *positional[] = {"--read-only", "false", NULL};
    expect_error(positional, NULL, -EINVAL, "unexpected argument \"false\"", NULL);
    const char *bad_level[] = {"--log-level", "ten", NULL};
    expect_error(bad_level, NULL, -EINVAL, "flag --log-level: invalid integer \"ten\"", NULL);
    const char *bad_strategy[] = {"--cluster-provider-strategy", "kcp", NULL};
    expect_error(bad_strategy, NULL, -EINVAL, "flag --cluster-provider-strategy: unknown value \"kcp\"", NULL);
    const char *env_bool[] = {"KUBEMCP_READ_ONLY=yes", NULL};
    expect_error(NULL, env_bool, -EINVAL, "environment variable KUBEMCP_READ_ONLY: invalid boolean", NULL);
    const char *env_range[] = {"KUBEMCP_KUBE_TIMEOUT_SECONDS=0", NULL};
    expect_error(NULL, env_range, -ERANGE, "environment variable KUBEMCP_KUBE_TIMEOUT_SECONDS: 0 is out of range", NULL);
    const char *env_level[] = {"LOG_LEVEL=debug", NULL};
    expect_error(NULL, env_level, -EINVAL, "environment variable LOG_LEVEL: invalid integer \"debug\"", NULL);
}

static void test_usage_lists_every_flag(void **state) {
    (void)state;
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    assert_non_null(out);
    config_print_usage(out, "kubemcp");
    fclose(out);
    const char *flags[] = {"--kubeconfig", "--config FILE", "--config-dir", "--cluster-provider-strategy", "--context",
                           "--disable-multi-cluster", "--require-oauth", "--validate-token", "--port",
                           "--bind-address", "--read-only", "--disable-destructive", "--toolsets", "--enabled-tools",
                           "--disabled-tools", "--list-output", "--mask-secrets", "--log-level", "--log-file",
                           "--help", "max_message_bytes", "KUBEMCP_READ_ONLY"};
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++)
        if (!strstr(text, flags[i]))
            fail_msg("usage lacks %s", flags[i]);
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_key_from_file),
        cmocka_unit_test(test_precedence_flags_over_env_over_file),
        cmocka_unit_test(test_config_path_from_environment),
        cmocka_unit_test(test_dropins_apply_in_lexical_order),
        cmocka_unit_test(test_config_dir_flag_env_and_key),
        cmocka_unit_test(test_flag_forms),
        cmocka_unit_test(test_env_lists_and_denied_resources),
        cmocka_unit_test(test_file_errors_name_file_and_line),
        cmocka_unit_test(test_flag_and_env_errors),
        cmocka_unit_test(test_usage_lists_every_flag),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
