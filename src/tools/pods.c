/* pods_* tools: list, get, delete, log, top, run. Names and arguments follow the Go peer
 * (kubernetes-mcp-server) so prompts written for it carry over. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "tools/output.h"
#include "tools/redact.h"
#include "tools/tool.h"

static const char *const pod_kinds[] = {"/v1/Pod", NULL};
static const char *const pod_metrics_kinds[] = {"/v1/Pod", "metrics.k8s.io/v1beta1/PodMetrics", NULL};
static const char *const pod_run_kinds[] = {"/v1/Pod", "/v1/Service", NULL};

static void pods_info(kube_resource_info *info, bool namespaced) {
    tool_resource_info(info, "", "v1", "pods", "Pod", namespaced);
}

static int pods_path(const char *ns, const char *name, const char *sub, char *out, size_t out_len, error_info *err) {
    kube_resource_info info;
    /* A cluster-scoped view of a namespaced resource gives the all-namespaces path (/api/v1/pods). */
    pods_info(&info, ns != NULL);
    return kube_resource_path(&info, ns, name, sub, out, out_len, err);
}

/* ------------------------------------------------------------------ list */

static int pods_list_common(const tool_context *ctx, const json_t *args, bool all_namespaces, tool_result *ret) {
    error_info err = {0};
    kube_cluster *cluster;
    int r = tool_cluster(ctx, args, &cluster, &err);
    if (r < 0)
        return tool_result_from_error(ret, &err);
    const char *ns = all_namespaces ? NULL : tool_namespace(args, cluster);
    char path[1024];
    if (pods_path(ns, NULL, NULL, path, sizeof path, &err) < 0)
        return tool_result_from_error(ret, &err);
    tool_list_options opts = {
        .path = path,
        .label_selector = tool_arg_string(args, "labelSelector"),
        .field_selector = tool_arg_string(args, "fieldSelector"),
        .table = tool_wants_table(ctx, args),
        .with_namespace = all_namespaces,
        .empty_text = "No pods found",
    };
    r = tool_list(ctx, cluster, &opts, ret, &err);
    if (r < 0)
        return tool_result_from_error(ret, &err);
    return 0;
}

static int pods_list_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    /* The auth-headers docs' curl example calls pods_list with a namespace: honour it. */
    const char *ns = tool_arg_string(args, "namespace");
    return pods_list_common(ctx, args, !(ns && ns[0]), ret);
}

static int pods_list_in_namespace_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    return pods_list_common(ctx, args, false, ret);
}

#define SELECTOR_PROPERTIES                                                                                       \
    "\"labelSelector\":{\"type\":\"string\",\"description\":\"Kubernetes label selector (e.g. 'app=myapp,env=prod' " \
    "or 'app in (myapp,yourapp)'); only pods with matching labels are listed\"},"                                  \
    "\"fieldSelector\":{\"type\":\"string\",\"description\":\"Kubernetes field selector (e.g. "                    \
    "'status.phase=Running' or 'spec.nodeName=node-1')\"},"                                                        \
    "\"output\":{\"type\":\"string\",\"enum\":[\"yaml\",\"table\"],\"description\":\"Output format: 'table' "        \
    "(columns like kubectl get) or 'yaml' (full objects); defaults to the server's list_output setting\"}"

const tool_def tool_pods_list = {
    .name = "pods_list",
    .title = "Pods: List",
    .description = "List all the Kubernetes pods in the current cluster from all namespaces (or only one, when "
                   "namespace is given)",
    .input_schema = "{\"type\":\"object\",\"properties\":{"
                    "\"namespace\":{\"type\":\"string\",\"description\":\"Optional: list only this namespace\"},"
                    SELECTOR_PROPERTIES "},\"additionalProperties\":false}",
    .toolset = "core",
    .read_only = true,
    .idempotent = true,
    .open_world = true,
    .handler = pods_list_handler,
    .fixed_kinds = pod_kinds,
};

const tool_def tool_pods_list_in_namespace = {
    .name = "pods_list_in_namespace",
    .title = "Pods: List in Namespace",
    .description = "List all the Kubernetes pods in the specified namespace in the current cluster",
    .input_schema = "{\"type\":\"object\",\"properties\":{"
                    "\"namespace\":{\"type\":\"string\",\"description\":\"Namespace to list pods from\"},"
                    SELECTOR_PROPERTIES "},\"required\":[\"namespace\"],\"additionalProperties\":false}",
    .toolset = "core",
    .read_only = true,
    .idempotent = true,
    .open_world = true,
    .handler = pods_list_in_namespace_handler,
    .fixed_kinds = pod_kinds,
};

/* ------------------------------------------------------------ get/delete */

static int pods_get_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    error_info err = {0};
    kube_cluster *cluster;
    if (tool_cluster(ctx, args, &cluster, &err) < 0)
        return tool_result_from_error(ret, &err);
    char path[1024];
    if (pods_path(tool_namespace(args, cluster), tool_arg_string(args, "name"), NULL, path, sizeof path, &err) < 0)
        return tool_result_from_error(ret, &err);
    if (tool_kube_get_yaml(ctx, cluster, path, NULL, ret, NULL, &err) < 0)
        return tool_result_from_error(ret, &err);
    return 0;
}

#define NAME_NAMESPACE_PROPERTIES(what)                                                                          \
    "\"name\":{\"type\":\"string\",\"minLength\":1,\"description\":\"Name of the " what "\"},"                                   \
    "\"namespace\":{\"type\":\"string\",\"description\":\"Namespace of the " what                               \
    "; defaults to the context's namespace\"}"

const tool_def tool_pods_get = {
    .name = "pods_get",
    .title = "Pods: Get",
    .description = "Get a Kubernetes Pod in the current or provided namespace with the provided name",
    .input_schema = "{\"type\":\"object\",\"properties\":{" NAME_NAMESPACE_PROPERTIES("Pod")
                    "},\"required\":[\"name\"],\"additionalProperties\":false}",
    .toolset = "core",
    .read_only = true,
    .idempotent = true,
    .open_world = true,
    .handler = pods_get_handler,
    .fixed_kinds = pod_kinds,
};

static int pods_delete_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    error_info err = {0};
    kube_cluster *cluster;
    if (tool_cluster(ctx, args, &cluster, &err) < 0)
        return tool_result_from_error(ret, &err);
    const char *ns = tool_namespace(args, cluster);
    const char *name = tool_arg_string(args, "name");
    char path[1024];
    if (pods_path(ns, name, NULL, path, sizeof path, &err) < 0)
        return tool_result_from_error(ret, &err);
    kube_request req = {.method = "DELETE", .path = path};
    json_t *answer = NULL;
    if (tool_kube_json(ctx, cluster, &req, &answer, &err) < 0)
        return tool_result_from_error(ret, &err);
    json_decref(answer);
    return tool_result_printf(ret, "Pod \"%s\" in namespace \"%s\" deleted successfully\n", name, ns);
}

const tool_def tool_pods_delete = {
    .name = "pods_delete",
    .title = "Pods: Delete",
    .description = "Delete a Kubernetes Pod in the current or provided namespace with the provided name",
    .input_schema = "{\"type\":\"object\",\"properties\":{" NAME_NAMESPACE_PROPERTIES("Pod to delete")
                    "},\"required\":[\"name\"],\"additionalProperties\":false}",
    .toolset = "core",
    .destructive = true,
    .idempotent = true,
    .open_world = true,
    .handler = pods_delete_handler,
    .fixed_kinds = pod_kinds,
};

/* ------------------------------------------------------------------- log */

static int pods_log_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    error_info err = {0};
    kube_cluster *cluster;
    if (tool_cluster(ctx, args, &cluster, &err) < 0)
        return tool_result_from_error(ret, &err);
    const char *name = tool_arg_string(args, "name");
    char path[1024];
    if (pods_path(tool_namespace(args, cluster), name, "log", path, sizeof path, &err) < 0)
        return tool_result_from_error(ret, &err);

    char query[1024] = "";
    size_t qlen = 0;
    const char *container = tool_arg_string(args, "container");
    if (container && container[0]) {
        char escaped[768];
        if (kube_query_escape(container, escaped, sizeof escaped) < 0)
            return tool_result_error(ret, "the container name is too long");
        qlen += (size_t)snprintf(query + qlen, sizeof query - qlen, "container=%s&", escaped);
    }
    if (tool_arg_bool(args, "previous", false))
        qlen += (size_t)snprintf(query + qlen, sizeof query - qlen, "previous=true&");
    long long tail = tool_arg_int(args, "tail", 100);
    if (tail > 0)
        qlen += (size_t)snprintf(query + qlen, sizeof query - qlen, "tailLines=%lld&", tail);
    /* The apiserver stops the log at limitBytes, so a chatty pod never costs more than the cap. */
    size_t limit = ctx && ctx->config && ctx->config->max_output_bytes ? ctx->config->max_output_bytes : 1u << 20;
    snprintf(query + qlen, sizeof query - qlen, "limitBytes=%zu", limit);

    kube_request req = {
        .method = "GET",
        .path = path,
        .query = query,
        .accept = "*/*",
        .max_response_bytes = limit + 4096,
    };
    kube_response response = {0};
    if (tool_kube_request(ctx, cluster, &req, &response, &err) < 0)
        return tool_result_from_error(ret, &err);
    if (!response.body || response.body_len == 0) {
        kube_response_clear(&response);
        return tool_result_printf(ret, "The pod %s has not logged any message yet\n", name);
    }
    /* Logs can quote credentials; they go through the same scrubbing as error texts. */
    size_t len = redact_text(response.body, response.body_len);
    tool_result_text(ctx, ret, response.body, len, "use tail to read fewer lines");
    kube_response_clear(&response);
    return 0;
}

const tool_def tool_pods_log = {
    .name = "pods_log",
    .title = "Pods: Log",
    .description = "Get the logs of a Kubernetes Pod in the current or provided namespace with the provided name",
    .input_schema =
        "{\"type\":\"object\",\"properties\":{" NAME_NAMESPACE_PROPERTIES("Pod to get the logs from") ","
        "\"container\":{\"type\":\"string\",\"description\":\"Name of the container in the Pod to get the logs "
        "from (optional when the Pod has one container)\"},"
        "\"previous\":{\"type\":\"boolean\",\"description\":\"Return the logs of the previous terminated "
        "container instance (optional)\"},"
        "\"tail\":{\"type\":\"integer\",\"default\":100,\"minimum\":0,\"description\":\"Number of lines to "
        "retrieve from the end of the logs (optional, default 100; 0 = all lines up to the output limit)\"}"
        "},\"required\":[\"name\"],\"additionalProperties\":false}",
    .toolset = "core",
    .read_only = true,
    .idempotent = true,
    .open_world = true,
    .handler = pods_log_handler,
    .fixed_kinds = pod_kinds,
};

/* ------------------------------------------------------------------- top */

/* Parses a Kubernetes quantity ("250m", "1.5", "128974848", "129Mi", "1e3", "512n") into base
 * units. */
bool tool_quantity_parse(const char *s, double *ret) {
    if (!s || !*s)
        return false;
    char *end;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v))
        return false;
    static const struct {
        const char *suffix;
        double factor;
    } suffixes[] = {
        {"", 1},       {"n", 1e-9},          {"u", 1e-6},          {"m", 1e-3},          {"k", 1e3},
        {"M", 1e6},    {"G", 1e9},           {"T", 1e12},          {"P", 1e15},          {"E", 1e18},
        {"Ki", 1024.0}, {"Mi", 1048576.0},    {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
        {"Pi", 1125899906842624.0},          {"Ei", 1152921504606846976.0},
    };
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        if (strcmp(end, suffixes[i].suffix) == 0) {
            *ret = v * suffixes[i].factor;
            return true;
        }
    }
    return false;
}

static const char *str_or_empty(const json_t *v) {
    return json_is_string(v) ? json_string_value(v) : "";
}

/* Sums the containers' usage of one PodMetrics. */
static void pod_metrics_usage(const json_t *metrics, double *ret_cpu, double *ret_memory) {
    double cpu = 0, memory = 0;
    size_t i;
    const json_t *container;
    json_array_foreach(json_object_get(metrics, "containers"), i, container) {
        const json_t *usage = json_object_get(container, "usage");
        double v;
        if (tool_quantity_parse(json_string_value(json_object_get(usage, "cpu")), &v))
            cpu += v;
        if (tool_quantity_parse(json_string_value(json_object_get(usage, "memory")), &v))
            memory += v;
    }
    *ret_cpu = cpu;
    *ret_memory = memory;
}

static int pods_top_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    error_info err = {0};
    kube_cluster *cluster;
    if (tool_cluster(ctx, args, &cluster, &err) < 0)
        return tool_result_from_error(ret, &err);
    const char *name = tool_arg_string(args, "name");
    const char *ns_arg = tool_arg_string(args, "namespace");
    bool all_namespaces = tool_arg_bool(args, "all_namespaces", true) && !(ns_arg && ns_arg[0]) &&
                          !(name && name[0]);
    const char *ns = all_namespaces ? NULL : tool_namespace(args, cluster);

    kube_resource_info info;
    tool_resource_info(&info, "metrics.k8s.io", "v1beta1", "pods", "PodMetrics", ns != NULL);
    char path[1024];
    if (kube_resource_path(&info, ns, name && name[0] ? name : NULL, NULL, path, sizeof path, &err) < 0)
        return tool_result_from_error(ret, &err);
    char query[1024] = "";
    const char *selector = tool_arg_string(args, "label_selector");
    if (selector && selector[0]) {
        char escaped[900];
        if (kube_query_escape(selector, escaped, sizeof escaped) < 0)
            return tool_result_error(ret, "label_selector is too long");
        snprintf(query, sizeof query, "labelSelector=%s", escaped);
    }
    json_t *answer = NULL;
    if (tool_kube_get(ctx, cluster, path, query[0] ? query : NULL, &answer, &err) < 0) {
        if (err.http_status == 404 && !(name && name[0]))
            error_prefix(&err, "metrics are not available (is metrics-server installed in the cluster?)");
        return tool_result_from_error(ret, &err);
    }
    json_t *items = json_object_get(answer, "items");
    json_t *single = NULL;
    if (!json_is_array(items)) {
        single = json_array();
        json_array_append(single, answer);
        items = single;
    }
    size_t n = json_array_size(items);
    if (n == 0) {
        json_decref(answer);
        return tool_result_printf(ret, "No pod metrics found\n");
    }
    size_t ncols = all_namespaces ? 4 : 3;
    char **cells = calloc((n + 1) * ncols, sizeof *cells);
    if (!cells) {
        json_decref(single);
        json_decref(answer);
        return tool_result_error(ret, "out of memory");
    }
    size_t c = 0;
    if (all_namespaces)
        cells[c++] = strdup("NAMESPACE");
    cells[c++] = strdup("NAME");
    cells[c++] = strdup("CPU(cores)");
    cells[c++] = strdup("MEMORY(bytes)");
    size_t i;
    json_t *metrics;
    json_array_foreach(items, i, metrics) {
        const json_t *metadata = json_object_get(metrics, "metadata");
        double cpu, memory;
        pod_metrics_usage(metrics, &cpu, &memory);
        if (all_namespaces)
            cells[c++] = strdup(str_or_empty(json_object_get(metadata, "namespace")));
        cells[c++] = strdup(str_or_empty(json_object_get(metadata, "name")));
        /* kubectl rounds CPU up to whole millicores and prints memory in MiB. */
        if (asprintf(&cells[c++], "%.0fm", ceil(cpu * 1000.0 - 1e-9)) < 0)
            cells[c - 1] = NULL;
        if (asprintf(&cells[c++], "%.0fMi", floor(memory / 1048576.0)) < 0)
            cells[c - 1] = NULL;
    }
    buf table;
    buf_init(&table, 16u << 20);
    output_columns((const char *const *)cells, ncols, n + 1, &table);
    tool_result_text(ctx, ret, table.data ? table.data : "", table.len, "narrow with namespace or label_selector");
    buf_free(&table);
    for (size_t k = 0; k < (n + 1) * ncols; k++)
        free(cells[k]);
    free(cells);
    json_decref(single);
    json_decref(answer);
    return 0;
}

const tool_def tool_pods_top = {
    .name = "pods_top",
    .title = "Pods: Top",
    .description = "List the resource consumption (CPU and memory) as recorded by the Kubernetes Metrics Server "
                   "for the specified Kubernetes Pods in all namespaces, the provided namespace, or the current "
                   "namespace",
    .input_schema =
        "{\"type\":\"object\",\"properties\":{"
        "\"all_namespaces\":{\"type\":\"boolean\",\"default\":true,\"description\":\"If true, list the resource "
        "consumption for all Pods in all namespaces. If false, list the resource consumption for Pods in the "
        "provided namespace or the current namespace\"},"
        "\"namespace\":{\"type\":\"string\",\"description\":\"Namespace to get the Pods resource consumption from "
        "(optional, current namespace if not provided and all_namespaces is false)\"},"
        "\"name\":{\"type\":\"string\",\"description\":\"Name of the Pod to get the resource consumption from "
        "(optional, all Pods if not provided)\"},"
        "\"label_selector\":{\"type\":\"string\",\"description\":\"Kubernetes label selector (e.g. "
        "'app=myapp,env=prod' or 'app in (myapp,yourapp)'), use this option when you want to filter the pods "
        "by label (optional, only applicable when name is not provided)\"}"
        "},\"additionalProperties\":false}",
    .toolset = "core",
    .read_only = true,
    .idempotent = true,
    .open_world = true,
    .handler = pods_top_handler,
    .fixed_kinds = pod_metrics_kinds,
};

/* ------------------------------------------------------------------- run */

/* A DNS-1123 suffix so repeated runs of the same image do not collide. */
static void random_suffix(char *out, size_t n) {
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    unsigned char bytes[16];
    if (n > sizeof bytes + 1)
        n = sizeof bytes + 1;
    if (getrandom(bytes, sizeof bytes, 0) != (ssize_t)sizeof bytes) {
        for (size_t i = 0; i < sizeof bytes; i++)
            bytes[i] = (unsigned char)rand();
    }
    for (size_t i = 0; i + 1 < n; i++)
        out[i] = alphabet[bytes[i] % (sizeof alphabet - 1)];
    out[n - 1] = '\0';
}

static json_t *run_labels(const char *name) {
    return json_pack("{s:s, s:s, s:s, s:s}", "app.kubernetes.io/name", name, "app.kubernetes.io/component", name,
                     "app.kubernetes.io/managed-by", "kubemcp", "app.kubernetes.io/part-of", "kubemcp-run-sandbox");
}

static int create_object(const tool_context *ctx, kube_cluster *cluster, const kube_resource_info *info,
                         const char *ns, json_t *object, json_t **ret, error_info *err) {
    char path[1024];
    int r = kube_resource_path(info, ns, NULL, NULL, path, sizeof path, err);
    if (r < 0)
        return r;
    char *body = json_dumps(object, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!body)
        return error_set(err, ENOMEM, "out of memory");
    kube_request req = {
        .method = "POST",
        .path = path,
        .query = "fieldManager=kubemcp",
        .content_type = "application/json",
        .body = body,
        .body_len = strlen(body),
    };
    r = tool_kube_json(ctx, cluster, &req, ret, err);
    free(body);
    return r;
}

static int pods_run_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    error_info err = {0};
    kube_cluster *cluster;
    if (tool_cluster(ctx, args, &cluster, &err) < 0)
        return tool_result_from_error(ret, &err);
    const char *image = tool_arg_string(args, "image");
    if (!image || !image[0])
        return tool_result_error(ret, "image is required, e.g. \"nginx:1.27\"");
    const char *ns = tool_namespace(args, cluster);
    char generated[64];
    const char *name = tool_arg_string(args, "name");
    if (!name || !name[0]) {
        char suffix[6];
        random_suffix(suffix, sizeof suffix);
        snprintf(generated, sizeof generated, "kubemcp-run-%s", suffix);
        name = generated;
    }
    long long port = tool_arg_int(args, "port", 0);
    if (port < 0 || port > 65535)
        return tool_result_error(ret, "port %lld is out of range; use a TCP port between 1 and 65535", port);

    json_t *container = json_pack("{s:s, s:s, s:s}", "name", name, "image", image, "imagePullPolicy", "IfNotPresent");
    if (port > 0)
        json_object_set_new(container, "ports",
                            json_pack("[{s:I, s:s}]", "containerPort", (json_int_t)port, "protocol", "TCP"));
    json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:s, s:o}, s:{s:[o]}}", "apiVersion", "v1", "kind", "Pod",
                            "metadata", "name", name, "namespace", ns, "labels", run_labels(name), "spec",
                            "containers", container);
    if (!pod)
        return tool_result_error(ret, "out of memory");

    kube_resource_info info;
    pods_info(&info, true);
    json_t *created = json_array();
    json_t *answer = NULL;
    int r = create_object(ctx, cluster, &info, ns, pod, &answer, &err);
    json_decref(pod);
    if (r < 0) {
        json_decref(created);
        return tool_result_from_error(ret, &err);
    }
    json_array_append_new(created, answer ? answer : json_null());

    if (port > 0) {
        json_t *service = json_pack(
            "{s:s, s:s, s:{s:s, s:s, s:o}, s:{s:{s:s}, s:[{s:I, s:I, s:s}]}}", "apiVersion", "v1", "kind",
            "Service", "metadata", "name", name, "namespace", ns, "labels", run_labels(name), "spec", "selector",
            "app.kubernetes.io/name", name, "ports", "port", (json_int_t)port, "targetPort", (json_int_t)port,
            "protocol", "TCP");
        tool_resource_info(&info, "", "v1", "services", "Service", true);
        answer = NULL;
        r = service ? create_object(ctx, cluster, &info, ns, service, &answer, &err)
                    : error_set(&err, ENOMEM, "out of memory");
        json_decref(service);
        if (r < 0) {
            json_decref(created);
            error_prefix(&err, "pod \"%s\" was created, but its Service was not", name);
            return tool_result_from_error(ret, &err);
        }
        json_array_append_new(created, answer ? answer : json_null());
    }
    tool_result_printf(ret, "# The following resources (YAML) have been created or updated successfully\n");
    tool_result_yaml(ctx, ret, created, NULL);
    json_decref(created);
    return 0;
}

const tool_def tool_pods_run = {
    .name = "pods_run",
    .title = "Pods: Run",
    .description = "Run a Kubernetes Pod in the current or provided namespace with the provided container image "
                   "and optional name; when port is given, a Service exposing it is created too",
    .input_schema =
        "{\"type\":\"object\",\"properties\":{"
        "\"image\":{\"type\":\"string\",\"description\":\"Container Image to run in the Pod\"},"
        "\"name\":{\"type\":\"string\",\"description\":\"Name of the Pod (optional, random name if not provided)\"},"
        "\"namespace\":{\"type\":\"string\",\"description\":\"Namespace to run the Pod in\"},"
        "\"port\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":65535,\"description\":\"TCP/IP port to expose "
        "from the Pod container (optional, no port exposed if not provided)\"}"
        "},\"required\":[\"image\"],\"additionalProperties\":false}",
    .toolset = "core",
    .destructive = false,
    .idempotent = false,
    .open_world = true,
    .handler = pods_run_handler,
    .fixed_kinds = pod_run_kinds,
};
