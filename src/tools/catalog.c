/* Every built-in tool, in the order tools/list shows them. */
#include "tools/tool.h"

const tool_def *const tool_catalog[] = {
    &tool_configuration_contexts_list,
    &tool_configuration_view,
    &tool_events_list,
    &tool_namespaces_list,
    &tool_nodes_stats_summary,
    &tool_nodes_top,
    &tool_pods_delete,
    &tool_pods_get,
    &tool_pods_list,
    &tool_pods_list_in_namespace,
    &tool_pods_log,
    &tool_pods_run,
    &tool_pods_top,
    &tool_resources_create_or_update,
    &tool_resources_delete,
    &tool_resources_get,
    &tool_resources_list,
    &tool_resources_scale,
    &tool_serviceaccount_token_create,
    NULL,
};
