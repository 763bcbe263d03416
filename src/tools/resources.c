/* resources_* tools: any kind, resolved through discovery, checked against denied_resources. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/redact.h"
#include "tools/tool.h"

#define RESOURCE_KIND_PROPERTIES                                                                                  \
    "\"apiVersion\":{\"type\":\"string\",\"description\":\"apiVersion of the resources (examples of valid "       \
    "apiVersion are: v1, apps/v1, networking.k8s.io/v1)\"},"                                                      \
    "\"kind\":{\"type\":\"string\",\"description\":\"kind of the resource (examples of valid kind are: Pod, "      \
    "Service, Deployment, Ingress)\"}"

/* Cluster + resolved kind + the path of one object (name may be NULL for the collection). With
 * all_namespaces_when_unset, a namespaced kind without a namespace argument gives the
 * all-namespaces path. */
typedef struct resource_target {
    kube_cluster *cluster;
    kube_resource_info info;
    const char *ns; /* NULL for cluster-scoped kinds or all namespaces */
    char path[2048];
} resource_target;

static int resource_target_resolve(const tool_context *ctx, const json_t *args, const char *name,
                                   const char *subresource, bool all_namespaces_when_unset, resource_target *ret,
                                   error_info *err) {
    int r = tool_cluster(ctx, args, &ret->cluster, err);
    if (r < 0)
        return r;
    r = tool_resolve_kind(ctx, ret->cluster, tool_arg_string(args, "apiVersion"), tool_arg_string(args, "kind"),
                          &ret->info, err);
    if (r < 0)
        return r;
    ret->ns = NULL;
    kube_resource_info path_info = ret->info;
    if (ret->info.namespaced) {
        const char *ns_arg = tool_arg_string(args, "namespace");
        if (all_namespaces_when_unset && !(ns_arg && ns_arg[0]))
            path_info.namespaced = false; /* /apis/G/V/RESOURCE lists every namespace */
        else
            ret->ns = tool_namespace(args, ret->cluster);
    }
    return kube_resource_path(&path_info, ret->ns, name, subresource, ret->path, sizeof ret->path, err);
}

/* ------------------------------------------------------------------ list */

static int resources_list_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    error_info err = {0};
    resource_target target;
    if (resource_target_resolve(ctx, args, NULL, NULL, true, &target, &err) < 0)
        return tool_result_from_error(ret, &err);
    tool_list_options opts = {
        .path = target.path,
        .label_selector = tool_arg_string(args, "labelSelector"),
        .field_selector = tool_arg_string(args, "fieldSelector"),
        .table = tool_wants_table(ctx, args),
        .with_namespace = target.info.namespaced && !target.ns,
    };
    if (tool_list(ctx, target.cluster, &opts, ret, &err) < 0)
        return tool_result_from_error(ret, &err);
    return 0;
}

const tool_def tool_resources_list = {
    .name = "resources_list",
    .title = "Resources: List",
    .description = "List Kubernetes resources and objects in the current cluster by providing their apiVersion "
                   "and kind and optionally the namespace and label selector\n(common apiVersion and kind include: "
                   "v1 Pod, v1 Service, v1 Node, apps/v1 Deployment, networking.k8s.io/v1 Ingress)",
    .input_schema =
        "{\"type\":\"object\",\"properties\":{" RESOURCE_KIND_PROPERTIES ","
        "\"namespace\":{\"type\":\"string\",\"description\":\"Optional Namespace to retrieve the namespaced "
        "resources from (ignored in case of cluster scoped resources). If not provided, will list resources from "
        "all namespaces\"},"
        "\"labelSelector\":{\"type\":\"string\",\"description\":\"Optional Kubernetes label selector (e.g. "
        "'app=myapp,env=prod' or 'app in (myapp,yourapp)'), use this option when you want to filter the resources "
        "by label\"},"
        "\"fieldSelector\":{\"type\":\"string\",\"description\":\"Optional Kubernetes field selector (e.g. "
        "'metadata.name=my-pod' or 'status.phase=Running')\"},"
        "\"output\":{\"type\":\"string\",\"enum\":[\"yaml\",\"table\"],\"description\":\"Output format: 'table' "
        "(columns like kubectl get) or 'yaml' (full objects); defaults to the server's list_output setting\"}"
        "},\"required\":[\"apiVersion\",\"kind\"],\"additionalProperties\":false}",
    .toolset = "core",
    .read_only = true,
    .idempotent = true,
    .open_world = true,
    .handler = resources_list_handler,
};

/* ------------------------------------------------------------------- get */

static int resources_get_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    error_info err = {0};
    resource_target target;
    if (resource_target_resolve(ctx, args, tool_arg_string(args, "name"), NULL, false, &target, &err) < 0)
        return tool_result_from_error(ret, &err);
    if (tool_kube_get_yaml(ctx, target.cluster, target.path, NULL, ret, NULL, &err) < 0)
        return tool_result_from_error(ret, &err);
    return 0;
}

#define RESOURCE_NAME_NAMESPACE_PROPERTIES(what)                                                                 \
    "\"name\":{\"type\":\"string\",\"minLength\":1,\"description\":\"Name of the resource" what "\"},"                           \
    "\"namespace\":{\"type\":\"string\",\"description\":\"Optional Namespace of the resource (ignored in case "  \
    "of cluster scoped resources); defaults to the context's namespace\"}"

const tool_def tool_resources_get = {
    .name = "resources_get",
    .title = "Resources: Get",
    .description = "Get a Kubernetes resource in the current cluster by providing its apiVersion, kind, "
                   "optionally the namespace, and its name\n(common apiVersion and kind include: v1 Pod, v1 "
                   "Service, v1 Node, apps/v1 Deployment, networking.k8s.io/v1 Ingress)",
    .input_schema = "{\"type\":\"object\",\"properties\":{" RESOURCE_KIND_PROPERTIES "," RESOURCE_NAME_NAMESPACE_PROPERTIES(
        "") "},\"required\":[\"apiVersion\",\"kind\",\"name\"],\"additionalProperties\":false}",
    .toolset = "core",
    .read_only = true,
    .idempotent = true,
    .open_world = true,
    .handler = resources_get_handler,
};

/* --------------------------------------------------------------- apply */

static int apply_one(const tool_context *ctx, kube_cluster *cluster, json_t *doc, bool force, json_t **ret,
                     error_info *err) {
    const char *api_version = json_string_value(json_object_get(doc, "apiVersion"));
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    json_t *metadata = json_object_get(doc, "metadata");
    const char *name = json_string_value(json_object_get(metadata, "name"));
    kube_resource_info info;
    int r = tool_resolve_kind(ctx, cluster, api_version, kind, &info, err);
    if (r < 0)
        return r;
    const char *ns = NULL;
    if (info.namespaced) {
        ns = json_string_value(json_object_get(metadata, "namespace"));
        if (!ns || !ns[0]) {
            ns = kube_cluster_default_namespace(cluster);
            if (!ns || !ns[0])
                ns = "default";
        }
    }
    char path[2048];
    r = kube_resource_path(&info, ns, name, NULL, path, sizeof path, err);
    if (r < 0)
        return r;
    /* JSON is YAML, and the apply-patch+yaml content type is what server-side apply takes. */
    char *body = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!body)
        return error_set(err, ENOMEM, "out of memory");
    kube_request req = {
        .method = "PATCH",
        .path = path,
        .query = force ? "fieldManager=kubemcp&force=true" : "fieldManager=kubemcp",
        .content_type = "application/apply-patch+yaml",
        .body = body,
        .body_len = strlen(body),
    };
    r = tool_kube_json(ctx, cluster, &req, ret, err);
    /* The body may hold Secret values: clear it so they do not linger in freed heap. */
    memset(body, 0, strlen(body));
    free(body);
    if (r < 0 && err && err->http_status == 409)
        error_prefix(err, "%s \"%s\" was changed by another field manager (set force to true to take over those "
                          "fields)", info.kind, name);
    return r;
}

static int resources_create_or_update_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    error_info err = {0};
    kube_cluster *cluster;
    if (tool_cluster(ctx, args, &cluster, &err) < 0)
        return tool_result_from_error(ret, &err);
    const char *resource = tool_arg_string(args, "resource");
    if (!resource)
        return tool_result_error(ret, "resource is required: the object to create or update, as YAML or JSON");
    json_t *documents = NULL;
    if (tool_parse_manifest(resource, strlen(resource), &documents, &err) < 0)
        return tool_result_from_error(ret, &err);
    bool force = tool_arg_bool(args, "force", false);

    json_t *applied = json_array();
    size_t i;
    json_t *doc;
    json_array_foreach(documents, i, doc) {
        if (tool_cancelled(ctx)) {
            error_set(&err, ECANCELED, "the call was cancelled by the client");
        } else {
            json_t *result = NULL;
            if (apply_one(ctx, cluster, doc, force, &result, &err) == 0) {
                json_array_append_new(applied, result ? result : json_null());
                continue;
            }
        }
        /* Say what already happened: earlier documents stay applied. */
        if (i > 0)
            error_prefix(&err, "%zu of %zu resources were applied, then %s \"%s\" failed", i,
                         json_array_size(documents), json_string_value(json_object_get(doc, "kind")),
                         json_string_value(json_object_get(json_object_get(doc, "metadata"), "name")));
        json_decref(applied);
        json_decref(documents);
        return tool_result_from_error(ret, &err);
    }
    json_decref(documents);
    tool_result_printf(ret, "# The following resources (YAML) have been created or updated successfully\n");
    tool_result_yaml(ctx, ret, applied, NULL);
    json_decref(applied);
    return 0;
}

const tool_def tool_resources_create_or_update = {
    .name = "resources_create_or_update",
    .title = "Resources: Create or Update",
    .description = "Create or update a Kubernetes resource in the current cluster by providing a YAML or JSON "
                   "representation of the resource (several YAML documents separated by --- are applied in "
                   "order). Uses server-side apply with field manager kubemcp\n(common apiVersion and kind "
                   "include: v1 Pod, v1 Service, v1 Node, apps/v1 Deployment, networking.k8s.io/v1 Ingress)",
    .input_schema = "{\"type\":\"object\",\"properties\":{"
                    "\"resource\":{\"type\":\"string\",\"description\":\"A JSON or YAML containing a "
                    "representation of the Kubernetes resource. Should include top-level fields such as "
                    "apiVersion, kind, metadata, and spec\"},"
                    "\"force\":{\"type\":\"boolean\",\"default\":false,\"description\":\"Take ownership of fields "
                    "another field manager set (server-side apply force); only when the user asked to "
                    "override\"}"
                    "},\"required\":[\"resource\"],\"additionalProperties\":false}",
    .toolset = "core",
    .destructive = true,
    .idempotent = true,
    .open_world = true,
    .handler = resources_create_or_update_handler,
};

/* -------------------------------------------------------------- delete */

static int resources_delete_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    error_info err = {0};
    resource_target target;
    const char *name = tool_arg_string(args, "name");
    if (resource_target_resolve(ctx, args, name, NULL, false, &target, &err) < 0)
        return tool_result_from_error(ret, &err);
    char query[64] = "";
    const json_t *grace = json_object_get(args, "gracePeriodSeconds");
    if (grace) {
        long long seconds = tool_arg_int(args, "gracePeriodSeconds", 0);
        if (seconds < 0)
            return tool_result_error(ret, "gracePeriodSeconds must be 0 or more");
        snprintf(query, sizeof query, "gracePeriodSeconds=%lld", seconds);
    }
    kube_request req = {.method = "DELETE", .path = target.path, .query = query[0] ? query : NULL};
    json_t *answer = NULL;
    if (tool_kube_json(ctx, target.cluster, &req, &answer, &err) < 0)
        return tool_result_from_error(ret, &err);
    json_decref(answer);
    if (target.ns)
        return tool_result_printf(ret, "%s \"%s\" in namespace \"%s\" deleted successfully\n", target.info.kind, name,
                                  target.ns);
    return tool_result_printf(ret, "%s \"%s\" deleted successfully\n", target.info.kind, name);
}

const tool_def tool_resources_delete = {
    .name = "resources_delete",
    .title = "Resources: Delete",
    .description = "Delete a Kubernetes resource in the current cluster by providing its apiVersion, kind, "
                   "optionally the namespace, and its name\n(common apiVersion and kind include: v1 Pod, v1 "
                   "Service, v1 Node, apps/v1 Deployment, networking.k8s.io/v1 Ingress)",
    .input_schema =
        "{\"type\":\"object\",\"properties\":{" RESOURCE_KIND_PROPERTIES "," RESOURCE_NAME_NAMESPACE_PROPERTIES(
            "") ","
        "\"gracePeriodSeconds\":{\"type\":\"integer\",\"minimum\":0,\"description\":\"Optional duration in seconds "
        "before the object should be deleted; 0 deletes immediately. Defaults to the resource's own grace "
        "period\"}"
        "},\"required\":[\"apiVersion\",\"kind\",\"name\"],\"additionalProperties\":false}",
    .toolset = "core",
    .destructive = true,
    .idempotent = true,
    .open_world = true,
    .handler = resources_delete_handler,
};

/* --------------------------------------------------------------- scale */

static int resources_scale_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    error_info err = {0};
    resource_target target;
    const char *name = tool_arg_string(args, "name");
    if (resource_target_resolve(ctx, args, name, "scale", false, &target, &err) < 0)
        return tool_result_from_error(ret, &err);
    if (!target.info.has_scale)
        return tool_result_error(ret,
                                 "%s does not have a scale subresource; scale a Deployment, StatefulSet, ReplicaSet "
                                 "or another kind that supports it",
                                 target.info.kind);
    json_t *scale = NULL;
    const json_t *replicas = json_object_get(args, "scale");
    if (!replicas) {
        if (tool_kube_get(ctx, target.cluster, target.path, NULL, &scale, &err) < 0)
            return tool_result_from_error(ret, &err);
    } else {
        long long n = tool_arg_int(args, "scale", -1);
        if (n < 0 || n > 2147483647LL)
            return tool_result_error(ret, "scale must be a number of replicas from 0 to 2147483647");
        char body[96];
        snprintf(body, sizeof body, "{\"spec\":{\"replicas\":%lld}}", n);
        kube_request req = {
            .method = "PATCH",
            .path = target.path,
            .content_type = "application/merge-patch+json",
            .body = body,
            .body_len = strlen(body),
        };
        if (tool_kube_json(ctx, target.cluster, &req, &scale, &err) < 0)
            return tool_result_from_error(ret, &err);
    }
    tool_result_yaml(ctx, ret, scale, NULL);
    json_decref(scale);
    return 0;
}

const tool_def tool_resources_scale = {
    .name = "resources_scale",
    .title = "Resources: Scale",
    .description = "Get or update the scale of a Kubernetes resource in the current cluster by providing its "
                   "apiVersion, kind, name, and optionally the namespace. If the scale is not provided, it will "
                   "return the current scale of the resource",
    .input_schema =
        "{\"type\":\"object\",\"properties\":{" RESOURCE_KIND_PROPERTIES "," RESOURCE_NAME_NAMESPACE_PROPERTIES(
            " to get or update the scale of") ","
        "\"scale\":{\"type\":\"integer\",\"minimum\":0,\"description\":\"Optional scale to update the resource's "
        "replicas to. If not provided, the current scale is returned\"}"
        "},\"required\":[\"apiVersion\",\"kind\",\"name\"],\"additionalProperties\":false}",
    .toolset = "core",
    .destructive = true,
    .idempotent = true,
    .open_world = true,
    .handler = resources_scale_handler,
};
