/* nodes_top (metrics.k8s.io NodeMetrics against allocatable, like kubectl top node) and
 * nodes_stats_summary (the kubelet Summary API through the apiserver's node proxy). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/output.h"
#include "tools/tool.h"

static const char *const node_metrics_kinds[] = {"/v1/Node", "metrics.k8s.io/v1beta1/NodeMetrics", NULL};
static const char *const node_kinds[] = {"/v1/Node", NULL};

static const char *json_str(const json_t *v) {
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool quantity_of(const json_t *map, const char *key, double *ret) {
    return tool_quantity_parse(json_str(json_object_get(map, key)), ret);
}

/* The node's allocatable CPU and memory, from a NodeList or a single Node; false when unknown. */
static bool node_allocatable(const json_t *nodes, const char *name, double *ret_cpu, double *ret_memory) {
    const json_t *items = json_object_get(nodes, "items");
    size_t i;
    const json_t *node;
    json_array_foreach(items, i, node) {
        const char *n = json_str(json_object_get(json_object_get(node, "metadata"), "name"));
        if (!n || strcmp(n, name) != 0)
            continue;
        const json_t *allocatable = json_object_get(json_object_get(node, "status"), "allocatable");
        return quantity_of(allocatable, "cpu", ret_cpu) && quantity_of(allocatable, "memory", ret_memory);
    }
    return false;
}

static int nodes_top_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    error_info err = {0};
    kube_cluster *cluster;
    if (tool_cluster(ctx, args, &cluster, &err) < 0)
        return tool_result_from_error(ret, &err);
    const char *name = tool_arg_string(args, "name");
    if (name && !name[0])
        name = NULL;
    const char *selector = tool_arg_string(args, "label_selector");
    char query[1024] = "";
    if (selector && selector[0] && !name) {
        char escaped[900];
        if (kube_query_escape(selector, escaped, sizeof escaped) < 0)
            return tool_result_error(ret, "label_selector is too long");
        snprintf(query, sizeof query, "labelSelector=%s", escaped);
    }

    kube_resource_info info;
    tool_resource_info(&info, "metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", false);
    char path[1024];
    if (kube_resource_path(&info, NULL, name, NULL, path, sizeof path, &err) < 0)
        return tool_result_from_error(ret, &err);
    json_t *metrics = NULL;
    if (tool_kube_get(ctx, cluster, path, query[0] ? query : NULL, &metrics, &err) < 0) {
        if (err.http_status == 404 && !name)
            error_prefix(&err, "metrics are not available (is metrics-server installed in the cluster?)");
        return tool_result_from_error(ret, &err);
    }
    json_t *items = json_object_get(metrics, "items");
    json_t *single = NULL;
    if (!json_is_array(items)) {
        single = json_array();
        json_array_append(single, metrics);
        items = single;
    }

    /* Percentages need the nodes' allocatable; a caller who may read metrics but not nodes still
     * gets the absolute numbers. */
    tool_resource_info(&info, "", "v1", "nodes", "Node", false);
    json_t *nodes = NULL;
    if (kube_resource_path(&info, NULL, NULL, NULL, path, sizeof path, NULL) == 0) {
        error_info ignored = {0};
        char node_query[1100];
        if (name) {
            char escaped[900];
            if (kube_query_escape(name, escaped, sizeof escaped) == 0)
                snprintf(node_query, sizeof node_query, "fieldSelector=metadata.name%%3D%s", escaped);
            else
                node_query[0] = '\0';
        } else {
            snprintf(node_query, sizeof node_query, "%s", query);
        }
        if (tool_kube_get(ctx, cluster, path, node_query[0] ? node_query : NULL, &nodes, &ignored) < 0)
            nodes = NULL;
    }

    size_t n = json_array_size(items);
    if (n == 0) {
        json_decref(nodes);
        json_decref(single);
        json_decref(metrics);
        return tool_result_printf(ret, "No node metrics found\n");
    }
    const size_t ncols = 5;
    char **cells = calloc((n + 1) * ncols, sizeof *cells);
    if (!cells) {
        json_decref(nodes);
        json_decref(single);
        json_decref(metrics);
        return tool_result_error(ret, "out of memory");
    }
    size_t c = 0;
    cells[c++] = strdup("NAME");
    cells[c++] = strdup("CPU(cores)");
    cells[c++] = strdup("CPU(%)");
    cells[c++] = strdup("MEMORY(bytes)");
    cells[c++] = strdup("MEMORY(%)");
    size_t i;
    json_t *m;
    json_array_foreach(items, i, m) {
        const char *node_name = json_str(json_object_get(json_object_get(m, "metadata"), "name"));
        const json_t *usage = json_object_get(m, "usage");
        double cpu = 0, memory = 0, alloc_cpu = 0, alloc_memory = 0;
        quantity_of(usage, "cpu", &cpu);
        quantity_of(usage, "memory", &memory);
        bool have_alloc = node_name && node_allocatable(nodes, node_name, &alloc_cpu, &alloc_memory);
        cells[c++] = strdup(node_name ? node_name : "");
        if (asprintf(&cells[c++], "%.0fm", ceil(cpu * 1000.0 - 1e-9)) < 0)
            cells[c - 1] = NULL;
        if (have_alloc && alloc_cpu > 0) {
            if (asprintf(&cells[c++], "%.0f%%", floor(cpu / alloc_cpu * 100.0)) < 0)
                cells[c - 1] = NULL;
        } else {
            cells[c++] = strdup("<unknown>");
        }
        if (asprintf(&cells[c++], "%.0fMi", floor(memory / 1048576.0)) < 0)
            cells[c - 1] = NULL;
        if (have_alloc && alloc_memory > 0) {
            if (asprintf(&cells[c++], "%.0f%%", floor(memory / alloc_memory * 100.0)) < 0)
                cells[c - 1] = NULL;
        } else {
            cells[c++] = strdup("<unknown>");
        }
    }
    buf table;
    buf_init(&table, 16u << 20);
    output_columns((const char *const *)cells, ncols, n + 1, &table);
    tool_result_text(ctx, ret, table.data ? table.data : "", table.len, "narrow with name or label_selector");
    buf_free(&table);
    for (size_t k = 0; k < (n + 1) * ncols; k++)
        free(cells[k]);
    free(cells);
    json_decref(nodes);
    json_decref(single);
    json_decref(metrics);
    return 0;
}

const tool_def tool_nodes_top = {
    .name = "nodes_top",
    .title = "Nodes: Top",
    .description = "List the resource consumption (CPU and memory) as recorded by the Kubernetes Metrics Server "
                   "for the specified Kubernetes Nodes or all nodes in the cluster",
    .input_schema = "{\"type\":\"object\",\"properties\":{"
                    "\"name\":{\"type\":\"string\",\"description\":\"Name of the Node to get the resource "
                    "consumption from (optional, all Nodes if not provided)\"},"
                    "\"label_selector\":{\"type\":\"string\",\"description\":\"Kubernetes label selector (e.g. "
                    "'node-role.kubernetes.io/worker=') to filter nodes by label (optional, only applicable when "
                    "name is not provided)\"}"
                    "},\"additionalProperties\":false}",
    .toolset = "core",
    .read_only = true,
    .idempotent = true,
    .open_world = true,
    .handler = nodes_top_handler,
    .fixed_kinds = node_metrics_kinds,
};

static int nodes_stats_summary_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    error_info err = {0};
    kube_cluster *cluster;
    if (tool_cluster(ctx, args, &cluster, &err) < 0)
        return tool_result_from_error(ret, &err);
    const char *name = tool_arg_string(args, "name");
    kube_resource_info info;
    tool_resource_info(&info, "", "v1", "nodes", "Node", false);
    char path[1024];
    if (kube_resource_path(&info, NULL, name, "proxy", path, sizeof path, &err) < 0)
        return tool_result_from_error(ret, &err);
    if (strlen(path) + sizeof "/stats/summary" > sizeof path)
        return tool_result_error(ret, "the node name is too long");
    strcat(path, "/stats/summary");
    kube_request req = {.method = "GET", .path = path};
    kube_response response = {0};
    if (tool_kube_request(ctx, cluster, &req, &response, &err) < 0)
        return tool_result_from_error(ret, &err);
    tool_result_text(ctx, ret, response.body ? response.body : "", response.body_len, NULL);
    kube_response_clear(&response);
    return 0;
}

const tool_def tool_nodes_stats_summary = {
    .name = "nodes_stats_summary",
    .title = "Node: Stats Summary",
    .description = "Get detailed resource usage statistics from a Kubernetes node via the kubelet's Summary API. "
                   "Provides comprehensive metrics including CPU, memory, filesystem, and network usage at the "
                   "node, pod, and container levels (and PSI pressure data on nodes that report it)",
    .input_schema = "{\"type\":\"object\",\"properties\":{"
                    "\"name\":{\"type\":\"string\",\"minLength\":1,\"description\":\"Name of the node to get stats from\"}"
                    "},\"required\":[\"name\"],\"additionalProperties\":false}",
    .toolset = "core",
    .read_only = true,
    .idempotent = true,
    .open_world = true,
    .handler = nodes_stats_summary_handler,
    .fixed_kinds = node_kinds,
};
