/* What every built-in tool needs: results, arguments, policy, calls with the caller's
 * credential, bounded output, paged lists, and manifest parsing. */
#include "tools/tool.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libfyaml.h>

#include "core/json_arena.h"
#include "core/json_error.h"
#include "core/utf8.h"
#include "core/yaml_input.h"
#include "tools/output.h"
#include "tools/redact.h"

#define TOOL_DEFAULT_OUTPUT_BYTES (1u << 20)

/* ------------------------------------------------------------- results */

/* A zeroed result (never initialised by its owner) still gets a bounded buffer. */
static void result_ensure_buffer(tool_result *ret) {
    if (ret->text.max == 0 && ret->text.data == NULL)
        buf_init(&ret->text, TOOL_DEFAULT_OUTPUT_BYTES);
}

static void result_vappend(tool_result *ret, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void result_vappend(tool_result *ret, const char *fmt, va_list ap) {
    result_ensure_buffer(ret);
    va_list copy;
    va_copy(copy, ap);
    int r = buf_vprintf(&ret->text, fmt, copy);
    va_end(copy);
    if (r == -EMSGSIZE) {
        /* Too long for what is left: keep as much as fits rather than nothing. */
        char *full = NULL;
        if (vasprintf(&full, fmt, ap) >= 0 && full) {
            size_t room = ret->text.max > ret->text.len ? ret->text.max - ret->text.len : 0;
            size_t n = strlen(full);
            buf_append(&ret->text, full, n < room ? n : room);
            free(full);
        }
    }
}

int tool_result_printf(tool_result *ret, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    result_vappend(ret, fmt, ap);
    va_end(ap);
    return 0;
}

/* Error texts may quote objects or headers: they pass through redact_text like everything a
 * model reads. */
static void result_append_redacted(tool_result *ret, const char *text) {
    char *copy = strdup(text);
    if (!copy)
        return;
    size_t len = redact_text(copy, strlen(copy));
    copy[len] = '\0';
    tool_result_printf(ret, "%s", copy);
    free(copy);
}

int tool_result_error(tool_result *ret, const char *fmt, ...) {
    result_ensure_buffer(ret);
    char *text = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    ret->is_error = true;
    /* An error replaces partial output: half a list followed by an error misleads. */
    buf_reset(&ret->text);
    if (n >= 0 && text)
        result_append_redacted(ret, text);
    else
        tool_result_printf(ret, "out of memory while reporting an error");
    free(text);
    return 0;
}

int tool_result_from_error(tool_result *ret, const error_info *err) {
    const char *message = err && err->message[0] ? err->message : "the operation failed for an unknown reason";
    return tool_result_error(ret, "%s", message);
}

int tool_result_add_content(tool_result *ret, json_t *block) {
    if (!block)
        return -ENOMEM;
    if (!ret->content && !(ret->content = json_array())) {
        json_decref(block);
        return -ENOMEM;
    }
    return json_array_append_new(ret->content, block) == 0 ? 0 : -ENOMEM;
}

/* Room left for content, keeping space for the cut note. */
static size_t result_budget(const tool_context *ctx, tool_result *ret) {
    result_ensure_buffer(ret);
    size_t max = ret->text.max;
    if (ctx && ctx->config && ctx->config->max_output_bytes && ctx->config->max_output_bytes < max)
        max = ctx->config->max_output_bytes;
    if (max <= ret->text.len + TOOL_OUTPUT_NOTE_RESERVE)
        return 0;
    return max - ret->text.len - TOOL_OUTPUT_NOTE_RESERVE;
}

static size_t output_limit(const tool_context *ctx) {
    if (ctx && ctx->config && ctx->config->max_output_bytes)
        return ctx->config->max_output_bytes;
    return TOOL_DEFAULT_OUTPUT_BYTES;
}

static void result_append_cut_note(const tool_context *ctx, tool_result *ret, const char *hint) {
    tool_result_printf(ret, "\n[output cut at %zu bytes (max_output_bytes)%s%s]\n", output_limit(ctx),
                       hint ? "; " : "", hint ? hint : "");
}

/* Appends len bytes of text; when they do not fit, appends the part up to the last line break
 * that fits and the note. Returns 1 when cut. */
static int result_append_bounded(const tool_context *ctx, tool_result *ret, const char *text, size_t len,
                                 const char *hint) {
    size_t budget = result_budget(ctx, ret);
    if (len <= budget) {
        buf_append(&ret->text, text, len);
        return 0;
    }
    size_t keep = budget;
    while (keep > 0 && text[keep - 1] != '\n')
        keep--;
    if (keep == 0)
        keep = budget;
    /* Never split a UTF-8 sequence. */
    while (keep > 0 && keep < len && ((unsigned char)text[keep] & 0xc0) == 0x80)
        keep--;
    buf_append(&ret->text, text, keep);
    result_append_cut_note(ctx, ret, hint);
    return 1;
}

/* Drops a partial last line left by a render that ran out of room. */
static void buf_trim_to_line(buf *b) {
    while (b->len > 0 && b->data[b->len - 1] != '\n')
        b->len--;
    if (b->data)
        b->data[b->len] = '\0';
}

int tool_result_text(const tool_context *ctx, tool_result *ret, const char *text, size_t len, const char *hint) {
    return result_append_bounded(ctx, ret, text, len, hint) < 0 ? -ENOMEM : 0;
}

int tool_result_yaml(const tool_context *ctx, tool_result *ret, const json_t *value, const char *hint) {
    buf yaml;
    /* Rendering one byte past the budget is enough to know it was cut. */
    buf_init(&yaml, result_budget(ctx, ret) + 1);
    int r = output_yaml(value, &yaml);
    if (r < 0 && r != -EMSGSIZE) {
        buf_free(&yaml);
        return r;
    }
    /* output_yaml stops at the budget, possibly mid-line: keep whole lines, then the note. */
    if (r == -EMSGSIZE)
        buf_trim_to_line(&yaml);
    if (result_append_bounded(ctx, ret, yaml.data ? yaml.data : "", yaml.len, hint) == 0 && r == -EMSGSIZE)
        result_append_cut_note(ctx, ret, hint);
    buf_free(&yaml);
    return 0;
}

/* ----------------------------------------------------------- arguments */

const char *tool_arg_string(const json_t *args, const char *key) {
    const json_t *v = json_object_get(args, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

bool tool_arg_bool(const json_t *args, const char *key, bool dflt) {
    const json_t *v = json_object_get(args, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

long long tool_arg_int(const json_t *args, const char *key, long long dflt) {
    const json_t *v = json_object_get(args, key);
    if (json_is_integer(v))
        return json_integer_value(v);
    /* Some clients send 3.0 for an integer. */
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d == floor(d) && d >= -9.2e18 && d <= 9.2e18)
            return (long long)d;
    }
    return dflt;
}

/* -------------------------------------------------------------- policy */

static bool denied_field_matches(const char *pattern, const char *value, bool case_insensitive) {
    if (!pattern || !pattern[0])
        return true;
    if (!value)
        value = "";
    return case_insensitive ? strcasecmp(pattern, value) == 0 : strcmp(pattern, value) == 0;
}

int tool_check_denied(const kubemcp_config *cfg, const char *group, const char *version, const char *kind,
                      error_info *err) {
    if (!cfg)
        return 0;
    if (!group)
        group = "";
    for (size_t i = 0; i < cfg->denied_resources_count; i++) {
        const denied_resource *d = &cfg->denied_resources[i];
        /* An empty group names the core API group, not "any group". */
        const char *dgroup = d->group ? d->group : "";
        if (strcmp(dgroup, group) != 0)
            continue;
        if (!denied_field_matches(d->version, version, false) || !denied_field_matches(d->kind, kind, true))
            continue;
        return error_set(err, EPERM,
                         "access to %s%s%s %s is denied by this server's denied_resources policy; "
                         "ask the kubemcp administrator to change denied_resources if you need it",
                         group, group[0] ? "/" : "", version && version[0] ? version : "*",
                         kind && kind[0] ? kind : "*");
    }
    return 0;
}

/* --------------------------------------------------------- cluster/env */

int tool_cluster(const tool_context *ctx, const json_t *args, kube_cluster **ret, error_info *err) {
    const char *context = tool_arg_string(args, "context");
    if (context && !context[0])
        context = NULL;
    if (ctx && ctx->cluster_override) {
        if (context)
            return error_set(err, EINVAL, "this request names its API server with the kubernetes-server header, so "
                                          "the context argument cannot choose another; leave it out");
        *ret = ctx->cluster_override;
        return 0;
    }
    if (!ctx || !ctx->provider) {
        if (ctx && ctx->provider_error)
            return error_set(err, ENODEV, "Kubernetes is not available: %s", ctx->provider_error);
        return error_set(err, ENODEV,
                         "no Kubernetes cluster is configured; start kubemcp with a kubeconfig "
                         "(--kubeconfig or KUBECONFIG) or inside a cluster");
    }
    return kube_provider_cluster(ctx->provider, context, ret, err);
}

const char *tool_namespace(const json_t *args, const kube_cluster *cluster) {
    const char *ns = tool_arg_string(args, "namespace");
    if (ns && ns[0])
        return ns;
    ns = cluster ? kube_cluster_default_namespace(cluster) : NULL;
    return ns && ns[0] ? ns : "default";
}

bool tool_cancelled(const tool_context *ctx) {
    return ctx && ctx->cancelled && atomic_load(ctx->cancelled);
}

bool tool_wants_table(const tool_context *ctx, const json_t *args) {
    const char *output = tool_arg_string(args, "output");
    if (output && output[0])
        return strcasecmp(output, "table") == 0;
    return ctx && ctx->config && ctx->config->list_output && strcasecmp(ctx->config->list_output, "table") == 0;
}

void tool_resource_info(kube_resource_info *ret, const char *group, const char *version, const char *resource,
                        const char *kind, bool namespaced) {
    memset(ret, 0, sizeof *ret);
    snprintf(ret->group, sizeof ret->group, "%s", group ? group : "");
    snprintf(ret->version, sizeof ret->version, "%s", version);
    snprintf(ret->resource, sizeof ret->resource, "%s", resource);
    snprintf(ret->kind, sizeof ret->kind, "%s", kind);
    ret->namespaced = namespaced;
}

int tool_resolve_kind(const tool_context *ctx, kube_cluster *cluster, const char *api_version, const char *kind,
                      kube_resource_info *ret, error_info *err) {
    if (!api_version || !api_version[0] || !kind || !kind[0])
        return error_set(err, EINVAL, "apiVersion and kind are required (for example apiVersion \"apps/v1\", "
                                      "kind \"Deployment\")");
    /* Refuse before touching the cluster when the arguments already name a denied kind. */
    char group[256] = "";
    const char *version = api_version;
    const char *slash = strchr(api_version, '/');
    if (slash) {
        snprintf(group, sizeof group, "%.*s", (int)(slash - api_version), api_version);
        version = slash + 1;
    }
    int r = tool_check_denied(ctx ? ctx->config : NULL, group, version, kind, err);
    if (r < 0)
        return r;
    kube_resource_info info;
    r = kube_discovery_resolve(cluster, ctx ? ctx->credential : NULL, api_version, kind, &info, err);
    if (r < 0)
        return r;
    /* Discovery may have matched a plural or a different case: check the canonical kind too. */
    r = tool_check_denied(ctx ? ctx->config : NULL, info.group, info.version, info.kind, err);
    if (r < 0)
        return r;
    *ret = info;
    return 0;
}

/* ------------------------------------------------------------ requests */

/* The namespace an API path addresses (/api/V/namespaces/NS/… or /apis/G/V/namespaces/NS/…),
 * copied into out; false for cluster-scoped and all-namespaces paths. */
static bool path_namespace(const char *path, char *out, size_t out_len) {
    const char *p = NULL;
    if (strncmp(path, "/api/", 5) == 0)
        p = strchr(path + 5, '/');
    else if (strncmp(path, "/apis/", 6) == 0 && (p = strchr(path + 6, '/')))
        p = strchr(p + 1, '/');
    if (!p || strncmp(p, "/namespaces/", 12) != 0)
        return false;
    p += 12;
    size_t n = strcspn(p, "/");
    if (n == 0 || n >= out_len)
        return false;
    memcpy(out, p, n);
    out[n] = '\0';
    return true;
}

int tool_check_namespace(const tool_context *ctx, const char *namespace_name, error_info *err) {
    const string_list *allowed = ctx && ctx->config ? &ctx->config->allowed_namespaces : NULL;
    if (!allowed || allowed->count == 0)
        return 0;
    char list[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < allowed->count && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", allowed->items[i]);
    if (!namespace_name || !namespace_name[0])
        return error_set(err, EPERM,
                         "this server confines tools to the namespaces %s (allowed_namespaces): requests across all "
                         "namespaces or for cluster-scoped resources are refused; name one of those namespaces",
                         list);
    if (!string_list_contains(allowed, namespace_name))
        return error_set(err, EPERM, "namespace \"%s\" is outside this server's allowed_namespaces (%s)",
                         namespace_name, list);
    return 0;
}

int tool_kube_request(const tool_context *ctx, kube_cluster *cluster, const kube_request *req, kube_response *ret,
                      error_info *err) {
    if (tool_cancelled(ctx))
        return error_set(err, ECANCELED, "the call was cancelled by the client");
    /* allowed_namespaces is enforced here, where every tool's request passes, on the path itself. */
    if (ctx && ctx->config && ctx->config->allowed_namespaces.count > 0) {
        char ns[256];
        int r = tool_check_namespace(ctx, path_namespace(req->path, ns, sizeof ns) ? ns : NULL, err);
        if (r < 0)
            return r;
    }
    kube_request call = *req;
    if (!call.credential && ctx)
        call.credential = ctx->credential;
    if (!call.cancelled && ctx)
        call.cancelled = ctx->cancelled;
    kube_response response = {0};
    int r = kube_do(cluster, &call, &response, err);
    if (r < 0) {
        kube_response_clear(&response);
        return r;
    }
    r = kube_response_error(&response, err);
    if (r < 0) {
        kube_response_clear(&response);
        return r;
    }
    *ret = response;
    return 0;
}

/* The body of a 2xx answer as JSON, managedFields dropped and Secrets masked; NULL for an empty
 * body. */
static int response_json(const tool_context *ctx, const kube_response *response, json_t **ret, error_info *err) {
    json_t *json = NULL;
    if (response->body && response->body_len > 0) {
        json = kube_response_json(response, err);
        if (!json)
            return -EBADMSG;
        redact_drop_managed_fields(json);
        if (!ctx || !ctx->config || ctx->config->mask_secrets)
            redact_mask_secrets(json);
    }
    *ret = json;
    return 0;
}

int tool_kube_json(const tool_context *ctx, kube_cluster *cluster, const kube_request *req, json_t **ret,
                   error_info *err) {
    kube_response response = {0};
    int r = tool_kube_request(ctx, cluster, req, &response, err);
    if (r < 0)
        return r;
    json_t *json = NULL;
    r = response_json(ctx, &response, &json, err);
    kube_response_clear(&response);
    if (r < 0)
        return r;
    *ret = json;
    return 0;
}

int tool_kube_get_yaml(const tool_context *ctx, kube_cluster *cluster, const char *path, const char *query,
                       tool_result *ret, const char *hint, error_info *err) {
    kube_request req = {.method = "GET", .path = path, .query = query};
    kube_response response = {0};
    int r = tool_kube_request(ctx, cluster, &req, &response, err);
    if (r < 0)
        return r;
    /* Parse, print, drop: nothing created here outlives the scope. */
    json_arena_begin();
    json_t *json = NULL;
    r = response_json(ctx, &response, &json, err);
    if (r >= 0 && json)
        tool_result_yaml(ctx, ret, json, hint);
    json_arena_drop(json);
    json_arena_end();
    kube_response_clear(&response);
    return r;
}

int tool_kube_get(const tool_context *ctx, kube_cluster *cluster, const char *path, const char *query, json_t **ret,
                  error_info *err) {
    kube_request req = {.method = "GET", .path = path, .query = query};
    return tool_kube_json(ctx, cluster, &req, ret, err);
}

/* --------------------------------------------------------------- lists */

#define TABLE_ACCEPT "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

static int query_append_param(buf *query, const char *name, const char *value, error_info *err) {
    if (!value || !value[0])
        return 0;
    size_t escaped_len = strlen(value) * 3 + 1;
    char *escaped = malloc(escaped_len);
    if (!escaped)
        return error_set(err, ENOMEM, "out of memory");
    int r = kube_query_escape(value, escaped, escaped_len);
    if (r >= 0)
        r = buf_printf(query, "%s%s=%s", query->len ? "&" : "", name, escaped);
    free(escaped);
    if (r < 0)
        return error_set(err, -r == EMSGSIZE ? EMSGSIZE : -r, "the %s argument is too long", name);
    return 0;
}

/* Items of a list carry no apiVersion/kind; kubectl fills them in from the list, and so do we
 * so each printed item is a complete object. */
static void fill_item_kinds(json_t *list) {
    const char *api_version = json_string_value(json_object_get(list, "apiVersion"));
    const char *list_kind = json_string_value(json_object_get(list, "kind"));
    if (!api_version || !list_kind)
        return;
    size_t kind_len = strlen(list_kind);
    if (kind_len <= 4 || strcmp(list_kind + kind_len - 4, "List") != 0)
        return;
    char kind[256];
    snprintf(kind, sizeof kind, "%.*s", (int)(kind_len - 4), list_kind);
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(list, "items"), i, item) {
        if (!json_is_object(item))
            continue;
        /* Rebuild so apiVersion and kind come first, as kubectl prints them. */
        if (!json_object_get(item, "apiVersion") || !json_object_get(item, "kind")) {
            json_t *full = json_object();
            json_object_set_new(full, "apiVersion", json_string(api_version));
            json_object_set_new(full, "kind", json_string(kind));
            json_object_update_missing(full, item);
            json_array_set_new(json_object_get(list, "items"), i, full);
        }
    }
}

/* A rough size of a table's rendering, to stop paging once the output cap is reached. */
static size_t table_rows_estimate(const json_t *rows) {
    size_t total = 0, i, c;
    const json_t *row, *cell;
    json_array_foreach(rows, i, row) {
        json_array_foreach(json_object_get(row, "cells"), c, cell) {
            total += (json_is_string(cell) ? json_string_length(cell) : 8) + 3;
        }
        total += 1;
    }
    return total;
}

static const char *list_narrow_hint(const tool_list_options *opts) {
    return opts->with_namespace
               ? "more items exist; narrow the query with labelSelector or fieldSelector, or list one namespace"
               : "more items exist; narrow the query with labelSelector or fieldSelector";
}

/* What tool_list carries from page to page. */
typedef struct list_state {
    const tool_list_options *opts;
    size_t budget;
    json_t *table;        /* the Table so far (rows of every page), outside any arena */
    buf yaml;             /* the YAML so far */
    char *continue_token; /* malloc'd, NULL on the last page */
    size_t items_seen;
    json_int_t remaining; /* the last page's remainingItemCount */
    bool cut;
} list_state;

/* Takes one page (consumed): remembers its continue token, then keeps a Table's rows or prints the
 * items as YAML. *ret_counted tells whether the page's items were counted (progress is due).
 * Returns 1 when the listing must stop here (output full), 0 to go on, negative errno with err. */
static int list_take_page(list_state *st, json_t *page, bool *ret_counted, error_info *err) {
    const tool_list_options *opts = st->opts;
    *ret_counted = false;
    free(st->continue_token);
    st->continue_token = NULL;
    const char *next = json_string_value(json_object_get(json_object_get(page, "metadata"), "continue"));
    if (next && next[0])
        st->continue_token = strdup(next);

    bool is_table = json_is_array(json_object_get(page, "rows"));
    json_t *items = json_object_get(page, is_table ? "rows" : "items");
    if (!json_is_array(items)) {
        json_decref(page);
        return error_set(err, EBADMSG, "the Kubernetes API answered %s with something that is not a list", opts->path);
    }
    st->items_seen += json_array_size(items);
    st->remaining = json_integer_value(json_object_get(json_object_get(page, "metadata"), "remainingItemCount"));
    *ret_counted = true;

    if (is_table) {
        if (!st->table) {
            st->table = json_incref(page);
        } else {
            json_array_extend(json_object_get(st->table, "rows"), items);
        }
        json_decref(page);
        if (table_rows_estimate(json_object_get(st->table, "rows")) > st->budget) {
            st->cut = st->continue_token != NULL;
            return 1;
        }
        return 0;
    }
    /* Also the path when a Table was asked for but the server (some aggregated APIs) answered
     * with a plain list: YAML is still correct output. */
    fill_item_kinds(page);
    json_t *view = opts->view ? opts->view(items, opts->view_opaque) : json_incref(items);
    /* Inside the arena the page and its view go with the scope (freed like this outside it). */
    json_arena_drop(page);
    if (!view)
        return error_set(err, ENOMEM, "out of memory");
    int yr = json_array_size(view) ? output_yaml(view, &st->yaml) : 0;
    json_arena_drop(view);
    if (yr == -EMSGSIZE) {
        buf_trim_to_line(&st->yaml);
        st->cut = true;
        return 1;
    }
    if (yr < 0)
        return error_set(err, -yr, "could not format the list as YAML");
    return 0;
}

int tool_list(const tool_context *ctx, kube_cluster *cluster, const tool_list_options *opts, tool_result *ret,
              error_info *err) {
    result_ensure_buffer(ret);
    buf base_query;
    buf_init(&base_query, 64 * 1024);
    int r = query_append_param(&base_query, "labelSelector", opts->label_selector, err);
    if (r >= 0)
        r = query_append_param(&base_query, "fieldSelector", opts->field_selector, err);
    if (r < 0) {
        buf_free(&base_query);
        return r;
    }

    list_state st = {.opts = opts, .budget = result_budget(ctx, ret)};
    buf_init(&st.yaml, st.budget + 1);

    for (;;) {
        if (tool_cancelled(ctx)) {
            r = error_set(err, ECANCELED, "the call was cancelled by the client");
            break;
        }
        buf query;
        buf_init(&query, 128 * 1024);
        r = buf_printf(&query, "limit=%d", TOOL_LIST_PAGE_LIMIT);
        /* A one-namespace table prints only the cells: without the rows' objects (metadata with
         * managedFields and annotations by default) the answer is about a tenth of the size. */
        if (r >= 0 && opts->table && !opts->with_namespace)
            r = buf_append_str(&query, "&includeObject=None");
        if (r >= 0 && base_query.len)
            r = buf_printf(&query, "&%s", base_query.data);
        if (r >= 0)
            r = query_append_param(&query, "continue", st.continue_token, err);
        if (r < 0) {
            buf_free(&query);
            r = error_set(err, EMSGSIZE, "the list query is too long; shorten the selectors");
            break;
        }
        kube_request req = {
            .method = "GET",
            .path = opts->path,
            .query = query.data,
            .accept = opts->table ? TABLE_ACCEPT : NULL,
        };
        kube_response response = {0};
        r = tool_kube_request(ctx, cluster, &req, &response, err);
        buf_free(&query);
        if (r < 0)
            break;
        /* A YAML page is parsed, printed and dropped inside an arena. A Table is kept across pages,
         * so it is parsed outside one (again, when it came without being asked for). */
        bool in_arena = !opts->table;
        if (in_arena)
            json_arena_begin();
        json_t *page = NULL;
        r = response_json(ctx, &response, &page, err);
        if (r >= 0 && in_arena && json_is_array(json_object_get(page, "rows"))) {
            json_decref(page);
            page = NULL;
            json_arena_end();
            in_arena = false;
            r = response_json(ctx, &response, &page, err);
        }
        kube_response_clear(&response);
        bool counted = false;
        if (r >= 0)
            r = list_take_page(&st, page, &counted, err);
        if (in_arena)
            json_arena_end();
        /* Outside the arena: the notification builds JSON of its own. */
        if (counted && ctx && ctx->progress)
            ctx->progress(ctx->progress_opaque, (double)st.items_seen,
                          st.remaining > 0 ? (double)st.items_seen + (double)st.remaining : 0, "listing");
        if (r != 0) {
            if (r > 0)
                r = 0;
            break;
        }
        if (!st.continue_token)
            break;
    }
    free(st.continue_token);
    buf_free(&base_query);

    if (r >= 0) {
        const char *hint = list_narrow_hint(opts);
        if (st.table) {
            buf text;
            buf_init(&text, st.budget + 1);
            int tr = output_table(st.table, opts->with_namespace, &text);
            if (tr == -EMSGSIZE || st.cut) {
                if (tr == -EMSGSIZE)
                    buf_trim_to_line(&text);
                if (result_append_bounded(ctx, ret, text.data ? text.data : "", text.len, hint) == 0)
                    result_append_cut_note(ctx, ret, hint);
            } else if (tr < 0) {
                r = error_set(err, -tr, "could not format the table");
            } else {
                result_append_bounded(ctx, ret, text.data ? text.data : "", text.len, hint);
            }
            buf_free(&text);
        } else if (st.items_seen == 0) {
            tool_result_printf(ret, "%s\n", opts->empty_text ? opts->empty_text : "No resources found");
        } else {
            if (result_append_bounded(ctx, ret, st.yaml.data ? st.yaml.data : "", st.yaml.len, hint) == 0 && st.cut)
                result_append_cut_note(ctx, ret, hint);
        }
    }
    json_decref(st.table);
    buf_free(&st.yaml);
    return r < 0 ? r : 0;
}

/* ----------------------------------------------------------- manifests */

/* Bounds against alias bombs ("billion laughs") and stack exhaustion. */
#define MANIFEST_MAX_NODES 200000
#define MANIFEST_MAX_DEPTH 128
/* Text a manifest may expand to through aliases: a few times what it may be written as. */
#define MANIFEST_MAX_EXPANDED_BYTES (4u * TOOL_MANIFEST_MAX_BYTES)

typedef struct manifest_parse {
    const char *text; /* the input, for reading single-quoted scalars from source */
    size_t text_len;
    size_t nodes;
    size_t scalar_bytes; /* text produced so far: aliases repeat their anchor's text */
    error_info *err;
    int document; /* 1-based, for messages */
} manifest_parse;

static bool plain_is_null(const char *s, size_t len) {
    return len == 0 || (len == 1 && s[0] == '~') ||
           (len == 4 && (memcmp(s, "null", 4) == 0 || memcmp(s, "Null", 4) == 0 || memcmp(s, "NULL", 4) == 0));
}

static int plain_bool(const char *s, size_t len) {
    static const char *const t[] = {"true", "True", "TRUE", NULL};
    static const char *const f[] = {"false", "False", "FALSE", NULL};
    for (size_t i = 0; t[i]; i++) {
        if (strlen(t[i]) == len && memcmp(s, t[i], len) == 0)
            return 1;
        if (strlen(f[i]) == len && memcmp(s, f[i], len) == 0)
            return 0;
    }
    return -1;
}

static bool all_chars_in(const char *s, size_t len, const char *set) {
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (!strchr(set, s[i]) || s[i] == '\0')
            return false;
    }
    return true;
}

/* YAML 1.2 core schema numbers, plus the YAML 1.1 octal form (0644) that Kubernetes users write
 * for file modes and that kubectl (go-yaml) reads as octal. NULL = not a number. */
static json_t *plain_number(const char *s, size_t len) {
    char tmp[128];
    if (len == 0 || len >= sizeof tmp)
        return NULL;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    const char *digits = tmp;
    bool negative = false;
    if (*digits == '+' || *digits == '-') {
        negative = *digits == '-';
        digits++;
    }
    size_t dlen = strlen(digits);
    int base = 0;
    const char *body = digits;
    if (dlen > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X') &&
        all_chars_in(digits + 2, dlen - 2, "0123456789abcdefABCDEF")) {
        base = 16;
        body = digits + 2;
    } else if (dlen > 2 && digits[0] == '0' && digits[1] == 'o' && all_chars_in(digits + 2, dlen - 2, "01234567")) {
        base = 8;
        body = digits + 2;
    } else if (dlen > 1 && digits[0] == '0' && all_chars_in(digits, dlen, "01234567")) {
        base = 8;
        body = digits + 1;
    } else if (all_chars_in(digits, dlen, "0123456789")) {
        base = 10;
    }
    if (base) {
        errno = 0;
        unsigned long long u = strtoull(body, NULL, base);
        if (errno == 0 && u <= (negative ? (unsigned long long)INT64_MAX + 1 : (unsigned long long)INT64_MAX))
            return json_integer(negative ? (json_int_t)(0 - u) : (json_int_t)u);
        if (base != 10)
            return NULL;
        /* Too big for an integer: fall through to a real, as JSON parsers do. */
    }
    /* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
    const char *p = digits;
    size_t int_digits = 0, frac_digits = 0;
    while (*p >= '0' && *p <= '9') {
        p++;
        int_digits++;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            p++;
            frac_digits++;
        }
    }
    if (int_digits == 0 && frac_digits == 0)
        return NULL;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return NULL;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p != '\0')
        return NULL;
    double d = strtod(tmp, NULL);
    if (!isfinite(d))
        return NULL;
    return json_real(d);
}

static bool tag_is(const char *tag, size_t tag_len, const char *suffix) {
    char full[64], shorthand[64];
    snprintf(full, sizeof full, "tag:yaml.org,2002:%s", suffix);
    snprintf(shorthand, sizeof shorthand, "!!%s", suffix);
    return (tag_len == strlen(full) && memcmp(tag, full, tag_len) == 0) ||
           (tag_len == strlen(shorthand) && memcmp(tag, shorthand, tag_len) == 0);
}

/* libfyaml 0.7.12 leaks a buffer when it unescapes a single-quoted scalar containing '' (found
 * by fuzzing; repeated calls would grow the server). Single-quoted scalars are decoded here from
 * the source instead: fold line breaks as YAML does (one break = space, n breaks = n-1 newlines,
 * whitespace around breaks dropped), then '' is the only escape. Returns NULL to fall back. */
static json_t *single_quoted_from_source(const manifest_parse *mp, struct fy_node *node) {
    struct fy_token *token = fy_node_get_scalar_token(node);
    const struct fy_mark *start = token ? fy_token_start_mark(token) : NULL;
    const struct fy_mark *end = token ? fy_token_end_mark(token) : NULL;
    if (!start || !end || start->input_pos > end->input_pos || end->input_pos > mp->text_len)
        return NULL;
    /* Depending on where the scalar sits, libfyaml's marks span the quotes or only the content;
     * a quote can never sit right outside an opening or closing quote, which tells them apart. */
    size_t s = start->input_pos, e = end->input_pos;
    const char *content;
    size_t content_len;
    if (s > 0 && mp->text[s - 1] == '\'' && e < mp->text_len && mp->text[e] == '\'') {
        content = mp->text + s;
        content_len = e - s;
    } else if (e - s >= 2 && mp->text[s] == '\'' && mp->text[e - 1] == '\'') {
        content = mp->text + s + 1;
        content_len = e - s - 2;
    } else {
        return NULL;
    }
    char *folded = malloc(content_len + 1);
    if (!folded)
        return NULL;
    size_t n = 0, pos = 0, empty_lines = 0;
    bool first = true;
    while (pos <= content_len) {
        const char *nl = memchr(content + pos, '\n', content_len - pos);
        size_t line_end = nl ? (size_t)(nl - content) : content_len;
        size_t ls = pos, le = line_end;
        if (le > ls && content[le - 1] == '\r')
            le--;
        bool last = nl == NULL;
        if (!first)
            while (ls < le && (content[ls] == ' ' || content[ls] == '\t'))
                ls++;
        if (!last)
            while (le > ls && (content[le - 1] == ' ' || content[le - 1] == '\t'))
                le--;
        if (first) {
            memcpy(folded + n, content + ls, le - ls);
            n += le - ls;
            first = false;
        } else if (ls == le && !last) {
            empty_lines++;
        } else {
            if (empty_lines == 0)
                folded[n++] = ' ';
            for (; empty_lines > 0; empty_lines--)
                folded[n++] = '\n';
            memcpy(folded + n, content + ls, le - ls);
            n += le - ls;
        }
        if (last)
            break;
        pos = line_end + 1;
    }
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        folded[w++] = folded[i];
        if (folded[i] == '\'' && i + 1 < n && folded[i + 1] == '\'')
            i++;
    }
    json_t *v = json_stringn(folded, w);
    free(folded);
    return v;
}

static json_t *scalar_to_json(const manifest_parse *mp, struct fy_node *node) {
    /* Every single-quoted scalar is read from the source, whatever its tag: libfyaml's own
     * decoding of '' escapes leaks (a tag like "!" does not change that), and a quoted value is
     * text either way. */
    if (fy_node_get_style(node) == FYNS_SINGLE_QUOTED) {
        json_t *v = single_quoted_from_source(mp, node);
        if (v)
            return v;
    }
    size_t len = 0;
    const char *s = fy_node_get_scalar(node, &len);
    if (!s) {
        s = "";
        len = 0;
    }
    size_t tag_len = 0;
    const char *tag = fy_node_get_tag(node, &tag_len);
    if (tag && tag_is(tag, tag_len, "str"))
        return json_stringn(s, len);
    if (fy_node_get_style(node) == FYNS_PLAIN) {
        if (plain_is_null(s, len))
            return json_null();
        int b = plain_bool(s, len);
        if (b >= 0)
            return json_boolean(b);
        json_t *number = plain_number(s, len);
        if (number)
            return number;
    }
    /* jansson refuses invalid UTF-8 and NUL bytes: say so rather than dropping data. */
    return json_stringn(s, len);
}

static int node_error(manifest_parse *mp, struct fy_node *node, int code, const char *what) {
    (void)node;
    return error_set(mp->err, code, "document %d: %s", mp->document, what);
}

static int node_to_json(manifest_parse *mp, struct fy_node *node, int depth, json_t **ret) {
    if (!node) {
        *ret = json_null();
        return 0;
    }
    if (++mp->nodes > MANIFEST_MAX_NODES)
        return node_error(mp, node, E2BIG,
                          "the manifest expands to too many values (are anchors/aliases repeating a large block?); "
                          "write it out without aliases or split it");
    if (depth > MANIFEST_MAX_DEPTH)
        return node_error(mp, node, E2BIG, "the manifest is nested too deeply");
    if (fy_node_is_alias(node)) {
        struct fy_node *target = fy_node_resolve_alias(node);
        if (!target)
            return node_error(mp, node, EINVAL, "an alias (*name) refers to an unknown or recursive anchor");
        return node_to_json(mp, target, depth + 1, ret);
    }
    switch (fy_node_get_type(node)) {
    case FYNT_SCALAR: {
        json_t *v = scalar_to_json(mp, node);
        if (!v)
            return node_error(mp, node, EINVAL, "a value is not valid UTF-8 text or contains a NUL character");
        if (json_is_string(v))
            mp->scalar_bytes += json_string_length(v);
        if (mp->scalar_bytes > MANIFEST_MAX_EXPANDED_BYTES) {
            json_decref(v);
            return node_error(mp, node, E2BIG,
                              "the manifest expands to too much text (are aliases repeating a large value?); write it "
                              "out without aliases or split it");
        }
        *ret = v;
        return 0;
    }
    case FYNT_SEQUENCE: {
        json_t *array = json_array();
        if (!array)
            return error_set(mp->err, ENOMEM, "out of memory");
        void *iter = NULL;
        struct fy_node *child;
        while ((child = fy_node_sequence_iterate(node, &iter))) {
            json_t *v;
            int r = node_to_json(mp, child, depth + 1, &v);
            if (r < 0) {
                json_decref(array);
                return r;
            }
            json_array_append_new(array, v);
        }
        *ret = array;
        return 0;
    }
    case FYNT_MAPPING: {
        json_t *object = json_object();
        if (!object)
            return error_set(mp->err, ENOMEM, "out of memory");
        void *iter = NULL;
        struct fy_node_pair *pair;
        while ((pair = fy_node_mapping_iterate(node, &iter))) {
            struct fy_node *key_node = fy_node_pair_key(pair);
            if (key_node && fy_node_is_alias(key_node))
                key_node = fy_node_resolve_alias(key_node);
            if (key_node && !fy_node_is_scalar(key_node)) {
                json_decref(object);
                return node_error(mp, node, EINVAL, "a mapping key is a list or a map; keys must be plain text");
            }
            size_t key_len = 0;
            const char *key = "";
            /* Single-quoted keys avoid the same libfyaml leak as values (see above). */
            json_t *quoted_key = key_node && fy_node_get_style(key_node) == FYNS_SINGLE_QUOTED
                                     ? single_quoted_from_source(mp, key_node)
                                     : NULL;
            if (quoted_key) {
                key = json_string_value(quoted_key);
                key_len = json_string_length(quoted_key);
            } else if (key_node) {
                key = fy_node_get_scalar(key_node, &key_len);
                if (!key) {
                    key = "";
                    key_len = 0;
                }
            }
            mp->scalar_bytes += key_len;
            if (mp->scalar_bytes > MANIFEST_MAX_EXPANDED_BYTES) {
                json_decref(quoted_key);
                json_decref(object);
                return node_error(mp, node, E2BIG,
                                  "the manifest expands to too much text (are aliases repeating a large key?); write "
                                  "it out without aliases or split it");
            }
            char *key_copy = strndup(key, key_len);
            json_decref(quoted_key);
            if (!key_copy || strlen(key_copy) != key_len) {
                free(key_copy);
                json_decref(object);
                return node_error(mp, node, EINVAL, "a mapping key contains a NUL character");
            }
            json_t *v;
            int r = node_to_json(mp, fy_node_pair_value(pair), depth + 1, &v);
            if (r < 0) {
                free(key_copy);
                json_decref(object);
                return r;
            }
            if (json_object_set_new(object, key_copy, v) < 0) {
                free(key_copy);
                json_decref(object);
                return node_error(mp, node, EINVAL, "a mapping key is not valid UTF-8 text");
            }
            free(key_copy);
        }
        *ret = object;
        return 0;
    }
    }
    return node_error(mp, node, EINVAL, "unexpected YAML node");
}

/* Reports the first libfyaml error as "line L, column C: message" (1-based). */
static int yaml_diag_error(struct fy_diag *diag, int document, error_info *err) {
    void *iter = NULL;
    struct fy_diag_error *e;
    while ((e = fy_diag_errors_iterate(diag, &iter))) {
        if (e->type < FYET_ERROR)
            continue;
        return error_set(err, EINVAL,
                         "the resource is not valid YAML (document %d, line %d, column %d: %s); "
                         "check the indentation and quoting there",
                         document, e->line + 1, e->column + 1, e->msg ? e->msg : "syntax error");
    }
    return error_set(err, EINVAL, "the resource is not valid YAML (document %d); check its syntax", document);
}

static int manifest_add(json_t *documents, json_t *doc, int index, error_info *err, int depth);

static int manifest_check(const json_t *doc, int index, error_info *err) {
    const char *api_version = json_string_value(json_object_get(doc, "apiVersion"));
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    const json_t *metadata = json_object_get(doc, "metadata");
    const char *name = json_string_value(json_object_get(metadata, "name"));
    if (!api_version || !api_version[0])
        return error_set(err, EINVAL, "document %d has no apiVersion; every resource needs apiVersion, kind and "
                                      "metadata.name (for example apiVersion: v1, kind: ConfigMap)", index);
    if (!kind || !kind[0])
        return error_set(err, EINVAL, "document %d (apiVersion %s) has no kind; every resource needs apiVersion, "
                                      "kind and metadata.name", index, api_version);
    if (!name || !name[0])
        return error_set(err, EINVAL,
                         "document %d (%s %s) has no metadata.name; server-side apply needs a name "
                         "(generateName is not supported)", index, api_version, kind);
    return 0;
}

static int manifest_add(json_t *documents, json_t *doc, int index, error_info *err, int depth) {
    if (json_is_null(doc))
        return 0; /* an empty document, e.g. after a trailing "---" */
    if (!json_is_object(doc))
        return error_set(err, EINVAL, "document %d is not a map of fields; a resource starts with apiVersion: "
                                      "and kind:", index);
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    json_t *items = json_object_get(doc, "items");
    if (depth == 0 && kind && strlen(kind) >= 4 && strcmp(kind + strlen(kind) - 4, "List") == 0 &&
        json_is_array(items)) {
        size_t i;
        json_t *item;
        json_array_foreach(items, i, item) {
            int r = manifest_add(documents, item, index, err, depth + 1);
            if (r < 0)
                return r;
        }
        return 0;
    }
    int r = manifest_check(doc, index, err);
    if (r < 0)
        return r;
    json_array_append(documents, doc);
    return 0;
}

static int manifest_parse_json(const char *text, size_t len, json_t **ret, error_info *err, bool *ret_syntax_error) {
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    *ret_syntax_error = root == NULL;
    if (!root) {
        char reason[160];
        json_error_reason(&jerr, reason, sizeof reason);
        return error_set(err, EINVAL, "the resource is not valid JSON (line %d, column %d: %s); check the syntax",
                         jerr.line, jerr.column, reason);
    }
    json_t *documents = json_array();
    int r = 0;
    if (json_is_array(root)) {
        size_t i;
        json_t *doc;
        json_array_foreach(root, i, doc) {
            r = manifest_add(documents, doc, (int)i + 1, err, 0);
            if (r < 0)
                break;
        }
    } else {
        r = manifest_add(documents, root, 1, err, 0);
    }
    json_decref(root);
    if (r < 0) {
        json_decref(documents);
        return r;
    }
    *ret = documents;
    return 0;
}

static int manifest_parse_yaml(const char *text, size_t len, json_t **ret_documents, error_info *err);

int tool_parse_manifest(const char *text, size_t len, json_t **ret_documents, error_info *err) {
    if (!text || len == 0)
        return error_set(err, EINVAL, "the resource argument is empty; pass the object as YAML or JSON");
    if (len > TOOL_MANIFEST_MAX_BYTES)
        return error_set(err, E2BIG, "the resource is %zu bytes, more than the %u accepted; apply it in parts",
                         len, TOOL_MANIFEST_MAX_BYTES);
    if (memchr(text, '\0', len))
        return error_set(err, EINVAL, "the resource contains a NUL byte; pass YAML or JSON text");
    size_t bad = utf8_valid_prefix(text, len);
    if (bad < len)
        return error_set(err, EILSEQ, "the resource is not valid UTF-8 text (byte offset %zu); pass YAML or JSON text",
                         bad);

    size_t start = 0;
    while (start < len && (text[start] == ' ' || text[start] == '\t' || text[start] == '\n' || text[start] == '\r'))
        start++;
    if (start == len)
        return error_set(err, EINVAL, "the resource argument is empty; pass the object as YAML or JSON");
    /* JSON first when it looks like JSON: exact numbers and jansson's precise error positions. */
    if (text[start] == '{' || text[start] == '[') {
        error_info json_err = {0};
        bool syntax_error = false;
        int r = manifest_parse_json(text, len, ret_documents, &json_err, &syntax_error);
        if (r == 0)
            return 0;
        /* Could still be YAML flow style ({a: b}); if that fails too, the JSON message is the
         * useful one. */
        if (syntax_error && manifest_parse_yaml(text, len, ret_documents, NULL) == 0)
            return 0;
        if (err)
            *err = json_err;
        return r;
    }
    return manifest_parse_yaml(text, len, ret_documents, err);
}

static int manifest_parse_yaml_normalized(const char *text, size_t len, json_t **ret_documents, error_info *err);

static int manifest_parse_yaml(const char *text, size_t len, json_t **ret_documents, error_info *err) {
    size_t bad = yaml_input_unprintable(text, len);
    if (bad < len)
        return error_set(err, EINVAL, "the resource contains a control character (byte %zu) that YAML does not allow; "
                                      "pass plain YAML or JSON text", bad);
    size_t normalized_len;
    char *normalized = yaml_input_normalize_newlines(text, len, &normalized_len);
    if (!normalized && memchr(text, '\r', len))
        return error_set(err, ENOMEM, "out of memory");
    int r = normalized ? manifest_parse_yaml_normalized(normalized, normalized_len, ret_documents, err)
                       : manifest_parse_yaml_normalized(text, len, ret_documents, err);
    free(normalized);
    return r;
}

static int manifest_parse_yaml_normalized(const char *text, size_t len, json_t **ret_documents, error_info *err) {
    /* Errors are collected and reported through error_info; nothing goes to stderr. */
    struct fy_diag *diag = yaml_input_quiet_diag();
    if (!diag)
        return error_set(err, ENOMEM, "out of memory");
    struct fy_parse_cfg pcfg = {
        .flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG | FYPCF_JSON_NONE,
        .diag = diag,
    };
    struct fy_parser *parser = fy_parser_create(&pcfg);
    if (!parser) {
        fy_diag_unref(diag);
        return error_set(err, ENOMEM, "out of memory");
    }
    int r = fy_parser_set_string(parser, text, len);
    json_t *documents = json_array();
    manifest_parse mp = {.text = text, .text_len = len, .err = err, .document = 0};
    if (r != 0) {
        r = error_set(err, EINVAL, "the resource could not be read as YAML");
    } else {
        for (;;) {
            struct fy_document *doc = fy_parse_load_document(parser);
            if (!doc) {
                if (fy_parser_get_stream_error(parser) || fy_diag_got_error(diag))
                    r = yaml_diag_error(diag, mp.document + 1, err);
                break;
            }
            mp.document++;
            json_t *value = NULL;
            r = node_to_json(&mp, fy_document_root(doc), 0, &value);
            fy_parse_document_destroy(parser, doc);
            if (r < 0)
                break;
            r = manifest_add(documents, value, mp.document, err, 0);
            json_decref(value);
            if (r < 0)
                break;
        }
    }
    fy_parser_destroy(parser);
    /* Turning collection off releases the collected errors (destroy alone keeps them). */
    fy_diag_set_collect_errors(diag, false);
    fy_diag_unref(diag);
    if (r >= 0 && json_array_size(documents) == 0)
        r = error_set(err, EINVAL, "the resource contains no objects; pass at least one document with apiVersion, "
                                   "kind and metadata");
    if (r < 0) {
        json_decref(documents);
        return r;
    }
    *ret_documents = documents;
    return 0;
}
