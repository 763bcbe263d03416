/* What a tool is and what it receives. The registry (tools/registry.c) validates arguments
 * against input_schema and applies policy before a handler runs, so handlers may assume the
 * argument types their schema declares. */
#ifndef KUBEMCP_TOOLS_TOOL_H
#define KUBEMCP_TOOLS_TOOL_H

#include <stdatomic.h>
#include <stdbool.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/config.h"
#include "gate/identity.h"
#include "kube/kube.h"

typedef struct tool_context {
    const kubemcp_config *config;        /* borrowed */
    kube_provider *provider;             /* borrowed; NULL when Kubernetes access could not be set up */
    const char *provider_error;          /* borrowed; why provider is NULL (e.g. a broken kubeconfig) */
    const kube_credential *credential;   /* borrowed; NULL = the cluster's own credentials */
    const caller_identity *identity;     /* borrowed; the validated caller, NULL when unknown */
    kube_cluster *cluster_override;      /* borrowed; the cluster the request chose by header, NULL = by context */
    const atomic_bool *cancelled;        /* set when the client cancels the call */
    /* Reports progress to the client when it asked for it (no-op otherwise). */
    void (*progress)(void *opaque, double progress, double total, const char *message);
    void *progress_opaque;
    /* Sends a request to the client (sampling/createMessage, elicitation/create, roots/list, ping)
     * on behalf of this call and waits for its answer. Returns 0 with *ret_result (owned) when the
     * client answered with a result; -EPERM when the client did not declare the capability (nothing
     * is sent); -EPROTO when it answered with an error (message in err); -ETIMEDOUT after
     * timeout_ms (0 = 60 s); -ECANCELED when the call is cancelled or the session closes; -EBUSY
     * when too many requests to this client are outstanding; -ENOTSUP when the transport cannot
     * bring the answer back (stateless HTTP). params is borrowed (may be NULL).
     * NULL when the engine running the tool cannot reach a client. */
    int (*request)(void *opaque, const char *method, const json_t *params, int timeout_ms, json_t **ret_result,
                   error_info *err);
    /* Sends notifications/message (level: debug … emergency) tied to this call, if the client's
     * logging/setLevel lets it through; data is sanitised like every log line. NULL when the
     * engine running the tool has no client. */
    void (*log)(void *opaque, const char *level, const char *data);
    /* Asks the transport to close the connection carrying this call's answer now (SSE polling,
     * SEP-1699); the call goes on and its answer reaches the client when it reconnects. 0, or
     * -ENOTSUP when the transport cannot. NULL when the engine has no client. */
    int (*close_stream)(void *opaque);
    void *call_opaque; /* the opaque for request, log and close_stream */
} tool_context;

typedef struct tool_result {
    bool is_error;
    buf text;           /* the text block the model reads (bounded by max_output_bytes) */
    json_t *structured; /* optional structuredContent, owned */
    /* Optional ready content array (text, image, audio, resource, resource_link blocks), owned.
     * When set it is sent as is and text is ignored. */
    json_t *content;
} tool_result;

typedef int (*tool_handler)(const tool_context *ctx, const json_t *args, tool_result *ret);

typedef struct tool_def {
    const char *name;
    const char *title;
    const char *description;
    const char *input_schema; /* JSON Schema (2020-12 subset) as JSON text */
    const char *toolset;      /* "core" | "config" */
    bool read_only;
    bool destructive;
    bool idempotent;
    bool open_world;
    tool_handler handler;
    /* Kubernetes kinds this tool always touches, for denied_resources ("group/version/kind"
     * entries, NULL-terminated; NULL = the tool resolves its kind from arguments and checks itself). */
    const char *const *fixed_kinds;
} tool_def;

/* Result helpers: the text is appended (bounded); error sets is_error. Return 0 (so a handler can
 * `return tool_result_error(ret, ...)`) . */
int tool_result_printf(tool_result *ret, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int tool_result_error(tool_result *ret, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int tool_result_from_error(tool_result *ret, const error_info *err);
/* Appends one content block (stolen) to ret->content, creating the array. -ENOMEM on failure. */
int tool_result_add_content(tool_result *ret, json_t *block);

/* Argument accessors: NULL / default when absent. */
const char *tool_arg_string(const json_t *args, const char *key);
bool tool_arg_bool(const json_t *args, const char *key, bool dflt);
long long tool_arg_int(const json_t *args, const char *key, long long dflt);

/* Policy check used by tools that resolve a kind at run time: -EPERM with a message when
 * config.denied_resources matches group/version/kind. */
int tool_check_denied(const kubemcp_config *cfg, const char *group, const char *version, const char *kind,
                      error_info *err);

/* ------------------------------------------------------------------------------------------
 * Helpers shared by the built-in tools (tools/tool_common.c).
 * ------------------------------------------------------------------------------------------ */

/* Bytes kept free at the end of a result so the "output cut" note always fits. */
#define TOOL_OUTPUT_NOTE_RESERVE 512
/* Page size for list calls: big enough to be fast, small enough to stop early at the output cap. */
#define TOOL_LIST_PAGE_LIMIT 500

/* The cluster named by the optional `context` argument (NULL/absent = the default context). */
int tool_cluster(const tool_context *ctx, const json_t *args, kube_cluster **ret, error_info *err);
/* The `namespace` argument, else the cluster's default namespace, else "default". Borrowed. */
const char *tool_namespace(const json_t *args, const kube_cluster *cluster);
bool tool_cancelled(const tool_context *ctx);
/* True when list output should be a Table: the `output` argument ("table" | "yaml") when given,
 * else config list_output. */
bool tool_wants_table(const tool_context *ctx, const json_t *args);

/* A resource of a built-in kind, without discovery (pods, nodes, metrics…). */
void tool_resource_info(kube_resource_info *ret, const char *group, const char *version, const char *resource,
                        const char *kind, bool namespaced);
/* Discovery plus the denied_resources check, for kinds that come from arguments. */
int tool_resolve_kind(const tool_context *ctx, kube_cluster *cluster, const char *api_version, const char *kind,
                      kube_resource_info *ret, error_info *err);

/* allowed_namespaces: 0 when the namespace may be used (or no confinement is configured);
 * -EPERM with a message otherwise. NULL/"" means "all namespaces or cluster-scoped". */
int tool_check_namespace(const tool_context *ctx, const char *namespace_name, error_info *err);

/* One call with the caller's credential (ctx->credential), bounded by max_output_bytes-derived
 * limits and ctx->cancelled. A status >= 400 becomes an error carrying the apiserver's Status
 * message. req->credential / cancelled / max_response_bytes are filled in when unset. */
int tool_kube_request(const tool_context *ctx, kube_cluster *cluster, const kube_request *req, kube_response *ret,
                      error_info *err);
/* As tool_kube_request, then the body parsed as JSON, managedFields dropped and Secrets masked
 * when config mask_secrets. An empty 2xx body yields a NULL *ret. */
int tool_kube_json(const tool_context *ctx, kube_cluster *cluster, const kube_request *req, json_t **ret,
                   error_info *err);
/* GET path?query as JSON (see tool_kube_json). */
int tool_kube_get(const tool_context *ctx, kube_cluster *cluster, const char *path, const char *query, json_t **ret,
                  error_info *err);

/* GET path?query, then the answer appended as YAML (as tool_kube_get + tool_result_yaml; an empty
 * body appends nothing). The answer is parsed, printed and dropped inside a jansson arena scope
 * (core/json_arena.h), which saves the per-node malloc/free of a throwaway tree. */
int tool_kube_get_yaml(const tool_context *ctx, kube_cluster *cluster, const char *path, const char *query,
                       tool_result *ret, const char *hint, error_info *err);

/* Appends value as YAML, cut at max_output_bytes with a note (hint says how to narrow, may be NULL). */
int tool_result_yaml(const tool_context *ctx, tool_result *ret, const json_t *value, const char *hint);
/* Appends text as is, cut at max_output_bytes (on a line boundary) with a note. */
int tool_result_text(const tool_context *ctx, tool_result *ret, const char *text, size_t len, const char *hint);

typedef struct tool_list_options {
    const char *path;           /* collection path, already escaped */
    const char *label_selector; /* raw (escaped here); NULL or "" = none */
    const char *field_selector;
    bool table;                 /* ask for meta.k8s.io/v1 Table and print columns */
    bool with_namespace;        /* NAMESPACE column / all-namespaces list */
    /* Optional rewrite of one page of items for YAML output (events_list prints a readable
     * view). Returns a new reference to print; NULL = out of memory. It runs inside a jansson
     * arena scope (core/json_arena.h): build the view from items and new values only. */
    json_t *(*view)(json_t *items, void *opaque);
    void *view_opaque;
    const char *empty_text;     /* printed when nothing matched; NULL = "No resources found" */
} tool_list_options;

/* Lists a collection page by page (limit=500 + continue), checking ctx->cancelled between
 * pages, and appends YAML (a sequence of items) or a table to ret. Stops at max_output_bytes
 * with a note on how to narrow the query. */
int tool_list(const tool_context *ctx, kube_cluster *cluster, const tool_list_options *opts, tool_result *ret,
              error_info *err);

/* Parses a manifest: JSON (object, or array of objects), or YAML with one or more documents
 * (`kind: List` documents are expanded). *ret_documents is a JSON array of objects, each with
 * apiVersion, kind and metadata.name. Errors name the document and the line/column. */
#define TOOL_MANIFEST_MAX_BYTES (4u << 20)
int tool_parse_manifest(const char *text, size_t len, json_t **ret_documents, error_info *err);

/* Parses a Kubernetes quantity ("250m", "129Mi", "1e3", "512n") into base units (cores, bytes). */
bool tool_quantity_parse(const char *s, double *ret);

/* The built-in tools, one per file by subject (pods.c, resources.c, namespaces.c, events.c,
 * nodes.c, config_tools.c). */
extern const tool_def tool_configuration_view, tool_configuration_contexts_list;
extern const tool_def tool_namespaces_list, tool_events_list;
extern const tool_def tool_pods_list, tool_pods_list_in_namespace, tool_pods_get, tool_pods_delete, tool_pods_log,
    tool_pods_top, tool_pods_run;
extern const tool_def tool_resources_list, tool_resources_get, tool_resources_create_or_update,
    tool_resources_delete, tool_resources_scale;
extern const tool_def tool_nodes_top, tool_nodes_stats_summary;
extern const tool_def tool_serviceaccount_token_create;

/* Every built-in tool, NULL-terminated; defined in tools/catalog.c. */
extern const tool_def *const tool_catalog[];

#endif
