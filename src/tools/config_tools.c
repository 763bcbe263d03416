/* config toolset: the kubeconfig as kubemcp sees it, without credentials. */
#include <stdlib.h>
#include <string.h>

#include "tools/output.h"
#include "tools/tool.h"

/* kube_provider_kubeconfig_view already redacts; this second pass makes sure no credential
 * field of a user entry can reach the model even if that changes. */
static void redact_kubeconfig_users(json_t *view) {
    static const char *const credential_keys[] = {"token", "client-key-data", "client-certificate-data", "password",
                                                  "client-key", "tokenFile", NULL};
    size_t i;
    json_t *entry;
    json_array_foreach(json_object_get(view, "users"), i, entry) {
        json_t *user = json_object_get(entry, "user");
        if (!json_is_object(user))
            continue;
        for (size_t k = 0; credential_keys[k]; k++) {
            const char *value = json_string_value(json_object_get(user, credential_keys[k]));
            if (value && strcmp(value, "REDACTED") != 0 && strcmp(value, "DATA+OMITTED") != 0)
                json_object_set_new(user, credential_keys[k], json_string("REDACTED"));
        }
        json_t *provider_config = json_object_get(json_object_get(user, "auth-provider"), "config");
        const char *key;
        json_t *value;
        json_object_foreach(provider_config, key, value) {
            if (strstr(key, "token") || strstr(key, "secret"))
                json_object_set_new(provider_config, key, json_string("REDACTED"));
        }
    }
}

static int configuration_view_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    if (!ctx || !ctx->provider)
        return tool_result_error(ret, "no Kubernetes configuration is loaded; start kubemcp with a kubeconfig "
                                      "(--kubeconfig or KUBECONFIG)");
    error_info err = {0};
    const char *context = tool_arg_string(args, "context");
    json_t *view = kube_provider_kubeconfig_view(ctx->provider, context && context[0] ? context : NULL,
                                                 tool_arg_bool(args, "minified", true), &err);
    if (!view)
        return tool_result_from_error(ret, &err);
    redact_kubeconfig_users(view);
    tool_result_yaml(ctx, ret, view, NULL);
    json_decref(view);
    return 0;
}

const tool_def tool_configuration_view = {
    .name = "configuration_view",
    .title = "Configuration: View",
    .description = "Get the current Kubernetes configuration content as a kubeconfig YAML (credentials are "
                   "always redacted)",
    .input_schema = "{\"type\":\"object\",\"properties\":{"
                    "\"minified\":{\"type\":\"boolean\",\"default\":true,\"description\":\"Return a minified "
                    "version of the configuration. If set to true, keeps only the current-context and the "
                    "relevant pieces of the configuration for that context. If set to false, all contexts, "
                    "clusters, auth-infos, and users are returned in the configuration. (Optional, default "
                    "true)\"}"
                    "},\"additionalProperties\":false}",
    .toolset = "config",
    .read_only = true,
    .idempotent = true,
    .open_world = false,
    .handler = configuration_view_handler,
};

static int configuration_contexts_list_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    (void)args;
    if (!ctx || !ctx->provider)
        return tool_result_error(ret, "no Kubernetes configuration is loaded; start kubemcp with a kubeconfig "
                                      "(--kubeconfig or KUBECONFIG)");
    size_t n = kube_provider_context_count(ctx->provider);
    const char *current = kube_provider_default_context(ctx->provider);
    if (n == 0)
        return tool_result_printf(ret, "No contexts found\n");
    tool_result_printf(ret, "Available Kubernetes contexts (%zu total, default: %s):\n\n", n,
                       current ? current : "none");
    size_t cells_n = (n + 1) * 3;
    const char **cells = calloc(cells_n, sizeof *cells);
    if (!cells)
        return tool_result_error(ret, "out of memory");
    cells[0] = "CURRENT";
    cells[1] = "NAME";
    cells[2] = "SERVER";
    char **servers = calloc(n + 1, sizeof *servers);
    if (!servers) {
        free(cells);
        return tool_result_error(ret, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = kube_provider_context_name(ctx->provider, i);
        servers[i] = name ? kube_provider_context_server(ctx->provider, name) : NULL;
        cells[(i + 1) * 3] = name && current && strcmp(name, current) == 0 ? "*" : "";
        cells[(i + 1) * 3 + 1] = name ? name : "";
        cells[(i + 1) * 3 + 2] = servers[i] ? servers[i] : "";
    }
    buf table;
    buf_init(&table, 4u << 20);
    output_columns(cells, 3, n + 1, &table);
    tool_result_text(ctx, ret, table.data ? table.data : "", table.len, NULL);
    buf_free(&table);
    for (size_t i = 0; i < n; i++)
        free(servers[i]);
    free(servers);
    free(cells);
    return 0;
}

const tool_def tool_configuration_contexts_list = {
    .name = "configuration_contexts_list",
    .title = "Configuration: Contexts List",
    .description = "List all available context names and associated server urls from the kubeconfig file",
    .input_schema = "{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}",
    .toolset = "config",
    .read_only = true,
    .idempotent = true,
    .open_world = false,
    .handler = configuration_contexts_list_handler,
};
