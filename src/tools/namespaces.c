/* namespaces_list. */
#include "tools/tool.h"

static const char *const namespace_kinds[] = {"/v1/Namespace", NULL};

static int namespaces_list_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    error_info err = {0};
    kube_cluster *cluster;
    if (tool_cluster(ctx, args, &cluster, &err) < 0)
        return tool_result_from_error(ret, &err);
    tool_list_options opts = {
        .path = "/api/v1/namespaces",
        .field_selector = tool_arg_string(args, "fieldSelector"),
        .table = tool_wants_table(ctx, args),
        .empty_text = "No namespaces found",
    };
    if (tool_list(ctx, cluster, &opts, ret, &err) < 0)
        return tool_result_from_error(ret, &err);
    return 0;
}

const tool_def tool_namespaces_list = {
    .name = "namespaces_list",
    .title = "Namespaces: List",
    .description = "List all the Kubernetes namespaces in the current cluster",
    .input_schema = "{\"type\":\"object\",\"properties\":{"
                    "\"fieldSelector\":{\"type\":\"string\",\"description\":\"Optional Kubernetes field selector "
                    "(e.g. 'metadata.name=default' or 'status.phase=Active')\"},"
                    "\"output\":{\"type\":\"string\",\"enum\":[\"yaml\",\"table\"],\"description\":\"Output format: "
                    "'table' (columns like kubectl get) or 'yaml' (full objects); defaults to the server's "
                    "list_output setting\"}"
                    "},\"additionalProperties\":false}",
    .toolset = "core",
    .read_only = true,
    .idempotent = true,
    .open_world = true,
    .handler = namespaces_list_handler,
    .fixed_kinds = namespace_kinds,
};
