/* Tool policy and argument validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "tools/registry.h"

static int noop(const tool_context *ctx, const json_t *args, tool_result *ret) {
    return 0;
}

static const tool_def reader = {.name = "reader", .description = "r", .toolset = "core", .read_only = true,
                                .input_schema = "{\"type\":\"object\",\"properties\":{"
                                                "\"name\":{\"type\":\"string\",\"minLength\":1,\"maxLength\":8},"
                                                "\"tail\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":1000},"
                                                "\"mode\":{\"type\":\"string\",\"enum\":[\"yaml\",\"table\"]},"
                                                "\"labels\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
                                                "\"opts\":{\"type\":\"object\",\"properties\":{\"x\":{\"type\":\"boolean\"}},"
                                                "\"additionalProperties\":false}},"
                                                "\"required\":[\"name\"],\"additionalProperties\":false}",
                                .handler = noop};
static const tool_def writer = {.name = "writer", .description = "w", .toolset = "core",
                                .input_schema = "{\"type\":\"object\"}", .handler = noop};
static const tool_def deleter = {.name = "deleter", .description = "d", .toolset = "core", .destructive = true,
                                 .input_schema = "{\"type\":\"object\"}", .handler = noop};
static const tool_def viewer = {.name = "viewer", .description = "v", .toolset = "config", .read_only = true,
                                .input_schema = "{\"type\":\"object\"}", .handler = noop};
static const tool_def *const catalog[] = {&reader, &writer, &deleter, &viewer, NULL};

static void set_list(string_list *l, const char *a, const char *b) {
    l->count = 0;
    l->items = calloc(3, sizeof *l->items);
    if (a)
        l->items[l->count++] = strdup(a);
    if (b)
        l->items[l->count++] = strdup(b);
}

static void free_list(string_list *l) {
    for (size_t i = 0; i < l->count; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->count = 0;
}

static tool_registry *make(kubemcp_config *cfg) {
    tool_registry *reg = NULL;
    error_info err;
    tool_registry_options o = {.catalog = catalog, .config = cfg};
    assert_int_equal(tool_registry_new(&o, &reg, &err), 0);
    return reg;
}

static int find(tool_registry *reg, const char *name, char *why, size_t why_len) {
    const tool_def *t = NULL;
    error_info err = {0};
    int r = tool_registry_find(reg, name, &t, &err);
    if (why)
        snprintf(why, why_len, "%s", err.message);
    return r;
}

static void test_defaults_enable_core_and_config(void **state) {
    kubemcp_config *cfg = config_new_defaults();
    tool_registry *reg = make(cfg);
    assert_int_equal(tool_registry_count(reg), 4);
    assert_int_equal(find(reg, "nope", NULL, 0), -ENOENT);
    tool_registry_free(reg);
    config_free(cfg);
}

static void test_read_only_hides_and_refuses_writers(void **state) {
    kubemcp_config *cfg = config_new_defaults();
    cfg->read_only = true;
    tool_registry *reg = make(cfg);
    assert_int_equal(tool_registry_count(reg), 2);
    char why[256];
    assert_int_equal(find(reg, "writer", why, sizeof why), -EPERM);
    assert_non_null(strstr(why, "read_only"));
    assert_int_equal(find(reg, "deleter", NULL, 0), -EPERM);
    assert_int_equal(find(reg, "reader", NULL, 0), 0);
    tool_registry_free(reg);
    config_free(cfg);
}

static void test_disable_destructive_keeps_writers(void **state) {
    kubemcp_config *cfg = config_new_defaults();
    cfg->disable_destructive = true;
    tool_registry *reg = make(cfg);
    assert_int_equal(find(reg, "writer", NULL, 0), 0);
    char why[256];
    assert_int_equal(find(reg, "deleter", why, sizeof why), -EPERM);
    assert_non_null(strstr(why, "disable_destructive"));
    tool_registry_free(reg);
    config_free(cfg);
}

static void test_toolsets_enabled_and_disabled_tools(void **state) {
    kubemcp_config *cfg = config_new_defaults();
    free_list(&cfg->toolsets);
    set_list(&cfg->toolsets, "config", NULL);
    tool_registry *reg = make(cfg);
    assert_int_equal(tool_registry_count(reg), 1);
    assert_string_equal(json_string_value(json_object_get(tool_registry_describe(reg, 0), "name")), "viewer");
    assert_ptr_equal(tool_registry_tool(reg, 0), &viewer);
    assert_null(tool_registry_tool(reg, 1));
    tool_registry_free(reg);

    set_list(&cfg->enabled_tools, "reader", "deleter");
    reg = make(cfg);
    assert_int_equal(tool_registry_count(reg), 2);
    tool_registry_free(reg);

    set_list(&cfg->disabled_tools, "deleter", NULL);
    reg = make(cfg);
    assert_int_equal(tool_registry_count(reg), 1);
    assert_int_equal(find(reg, "deleter", NULL, 0), -EPERM);
    tool_registry_free(reg);

    free_list(&cfg->disabled_tools);
    set_list(&cfg->disabled_tools, "delter", NULL);
    tool_registry *bad = NULL;
    error_info err;
    tool_registry_options o = {.catalog = catalog, .config = cfg};
    assert_int_equal(tool_registry_new(&o, &bad, &err), -EINVAL);
    assert_non_null(strstr(err.message, "\"delter\""));
    config_free(cfg);
}

static void test_context_argument_added_for_several_contexts(void **state) {
    const char *contexts[] = {"prod", "dev", NULL};
    tool_registry *reg = NULL;
    error_info err;
    tool_registry_options o = {.catalog = catalog, .contexts = contexts, .default_context = "prod"};
    assert_int_equal(tool_registry_new(&o, &reg, &err), 0);
    const json_t *schema = json_object_get(tool_registry_describe(reg, 1), "inputSchema");
    const json_t *ctx = json_object_get(json_object_get(schema, "properties"), "context");
    assert_non_null(ctx);
    assert_int_equal(json_array_size(json_object_get(ctx, "enum")), 2);
    json_t *args = json_pack("{s:s}", "context", "staging");
    assert_int_equal(tool_registry_validate(reg, &writer, args, &err), -EINVAL);
    json_decref(args);
    tool_registry_free(reg);

    const char *one[] = {"only", NULL};
    o.contexts = one;
    assert_int_equal(tool_registry_new(&o, &reg, &err), 0);
    schema = json_object_get(tool_registry_describe(reg, 1), "inputSchema");
    assert_null(json_object_get(json_object_get(schema, "properties"), "context"));
    tool_registry_free(reg);
}

static void expect_invalid(tool_registry *reg, const char *args_json, const char *message_part) {
    json_t *args = json_loads(args_json, 0, NULL);
    error_info err = {0};
    assert_int_equal(tool_registry_validate(reg, &reader, args, &err), -EINVAL);
    if (!strstr(err.message, message_part))
        fail_msg("expected \"%s\" in \"%s\"", message_part, err.message);
    json_decref(args);
}

static void test_argument_validation(void **state) {
    tool_registry *reg = NULL;
    error_info err;
    tool_registry_options o = {.catalog = catalog};
    assert_int_equal(tool_registry_new(&o, &reg, &err), 0);
    json_t *ok = json_loads("{\"name\":\"a\",\"tail\":10,\"mode\":\"yaml\",\"labels\":[\"x\"],\"opts\":{\"x\":true}}", 0, NULL);
    assert_int_equal(tool_registry_validate(reg, &reader, ok, &err), 0);
    json_decref(ok);
    /* 10.0 is an integer in JSON Schema. */
    ok = json_loads("{\"name\":\"a\",\"tail\":10.0}", 0, NULL);
    assert_int_equal(tool_registry_validate(reg, &reader, ok, &err), 0);
    json_decref(ok);

    expect_invalid(reg, "{}", "missing required argument \"name\"");
    expect_invalid(reg, "{\"name\":\"\"}", "\"name\" must not be empty");
    expect_invalid(reg, "{\"name\":\"123456789\"}", "longer than 8 characters");
    expect_invalid(reg, "{\"name\":1}", "\"name\" must be a string, not an integer");
    expect_invalid(reg, "{\"name\":\"a\",\"tail\":1.5}", "\"tail\" must be an integer");
    expect_invalid(reg, "{\"name\":\"a\",\"tail\":-1}", "at least 0");
    expect_invalid(reg, "{\"name\":\"a\",\"tail\":5000}", "at most 1000");
    expect_invalid(reg, "{\"name\":\"a\",\"mode\":\"json\"}", "must be one of: yaml, table");
    expect_invalid(reg, "{\"name\":\"a\",\"labels\":[1]}", "labels[0]");
    expect_invalid(reg, "{\"name\":\"a\",\"opts\":{\"y\":1}}", "unknown argument \"y\" in opts");
    expect_invalid(reg, "{\"name\":\"a\",\"extra\":1}", "unknown argument \"extra\"");
    json_t *not_object = json_string("x");
    assert_int_equal(tool_registry_validate(reg, &reader, not_object, &err), -EINVAL);
    json_decref(not_object);
    tool_registry_free(reg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_enable_core_and_config),
        cmocka_unit_test(test_read_only_hides_and_refuses_writers),
        cmocka_unit_test(test_disable_destructive_keeps_writers),
        cmocka_unit_test(test_toolsets_enabled_and_disabled_tools),
        cmocka_unit_test(test_context_argument_added_for_several_contexts),
        cmocka_unit_test(test_argument_validation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
