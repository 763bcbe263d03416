/* events_list: core/v1 Events as a readable list (what happened to which object, and why). */
#include <stdio.h>
#include <string.h>

#include "tools/tool.h"

static const char *const event_kinds[] = {"/v1/Event", "events.k8s.io/v1/Event", NULL};

static const char *string_field(const json_t *object, const char *key) {
    const json_t *v = json_object_get(object, key);
    return json_is_string(v) && json_string_length(v) ? json_string_value(v) : NULL;
}

static const char *or_empty(const char *s) {
    return s ? s : "";
}

/* The newest of the times an Event can carry: series/lastTimestamp for repeated events,
 * eventTime for events.k8s.io writers, the creation time as a last resort. */
static const char *event_time(const json_t *event) {
    const char *t = string_field(event, "lastTimestamp");
    if (!t)
        t = string_field(json_object_get(event, "series"), "lastObservedTime");
    if (!t)
        t = string_field(event, "eventTime");
    if (!t)
        t = string_field(event, "firstTimestamp");
    if (!t)
        t = string_field(json_object_get(event, "metadata"), "creationTimestamp");
    return t;
}

static json_t *events_readable_view(json_t *items, void *opaque) {
    (void)opaque;
    json_t *view = json_array();
    if (!view)
        return NULL;
    size_t i;
    json_t *event;
    json_array_foreach(items, i, event) {
        const json_t *involved = json_object_get(event, "involvedObject");
        json_t *entry = json_object();
        const char *ns = string_field(json_object_get(event, "metadata"), "namespace");
        json_object_set_new(entry, "namespace", json_string(ns ? ns : ""));
        const char *time = event_time(event);
        if (time)
            json_object_set_new(entry, "lastSeen", json_string(time));
        json_object_set_new(entry, "type", json_string(or_empty(string_field(event, "type"))));
        json_object_set_new(entry, "reason", json_string(or_empty(string_field(event, "reason"))));
        char object[512];
        snprintf(object, sizeof object, "%s/%s", or_empty(string_field(involved, "kind")),
                 or_empty(string_field(involved, "name")));
        json_object_set_new(entry, "object", json_string(object));
        const char *api_version = string_field(involved, "apiVersion");
        if (api_version)
            json_object_set_new(entry, "objectApiVersion", json_string(api_version));
        json_t *count = json_object_get(event, "count");
        if (json_is_integer(count) && json_integer_value(count) > 1)
            json_object_set(entry, "count", count);
        json_object_set_new(entry, "message", json_string(or_empty(string_field(event, "message"))));
        json_array_append_new(view, entry);
    }
    return view;
}

static int events_list_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    error_info err = {0};
    kube_cluster *cluster;
    if (tool_cluster(ctx, args, &cluster, &err) < 0)
        return tool_result_from_error(ret, &err);
    const char *ns = tool_arg_string(args, "namespace");
    kube_resource_info info;
    tool_resource_info(&info, "", "v1", "events", "Event", ns && ns[0]);
    char path[1024];
    if (kube_resource_path(&info, ns && ns[0] ? ns : NULL, NULL, NULL, path, sizeof path, &err) < 0)
        return tool_result_from_error(ret, &err);
    tool_list_options opts = {
        .path = path,
        .field_selector = tool_arg_string(args, "fieldSelector"),
        .view = events_readable_view,
        .with_namespace = !(ns && ns[0]),
        .empty_text = "No events found",
    };
    if (tool_list(ctx, cluster, &opts, ret, &err) < 0)
        return tool_result_from_error(ret, &err);
    return 0;
}

const tool_def tool_events_list = {
    .name = "events_list",
    .title = "Events: List",
    .description = "List all the Kubernetes events in the current cluster from all namespaces, or from the "
                   "provided namespace (namespace, type, reason, involved object and message of each)",
    .input_schema = "{\"type\":\"object\",\"properties\":{"
                    "\"namespace\":{\"type\":\"string\",\"description\":\"Optional Namespace to retrieve the events "
                    "from. If not provided, will list events from all namespaces\"},"
                    "\"fieldSelector\":{\"type\":\"string\",\"description\":\"Optional Kubernetes field selector "
                    "(e.g. 'type=Warning' or 'involvedObject.name=my-pod')\"}"
                    "},\"additionalProperties\":false}",
    .toolset = "core",
    .read_only = true,
    .idempotent = true,
    .open_world = true,
    .handler = events_list_handler,
    .fixed_kinds = event_kinds,
};
