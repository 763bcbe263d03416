#include "tools/registry.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Arguments nested deeper than this are refused: no tool schema goes past three levels. */
#define SCHEMA_MAX_DEPTH 16

typedef struct registry_entry {
    const tool_def *def;
    json_t *description; /* owned: name, title, description, inputSchema, annotations */
    json_t *schema;      /* borrowed from description */
    bool enabled;
    const char *disabled_by; /* the setting that hides it, for the refusal message */
} registry_entry;

struct tool_registry {
    registry_entry *entries;
    size_t count;
    size_t *enabled_index; /* positions of enabled entries, in catalog order */
    size_t enabled_count;
};

static const char *policy_hides(const tool_def *def, const kubemcp_config *cfg) {
    if (!cfg)
        return NULL;
    if (cfg->enabled_tools.count > 0) {
        if (!string_list_contains(&cfg->enabled_tools, def->name))
            return "enabled_tools";
    } else if (!string_list_contains(&cfg->toolsets, def->toolset)) {
        return "toolsets";
    }
    if (string_list_contains(&cfg->disabled_tools, def->name))
        return "disabled_tools";
    if (cfg->read_only && !def->read_only)
        return "read_only";
    if (cfg->disable_destructive && !def->read_only && def->destructive)
        return "disable_destructive";
    return NULL;
}

static json_t *describe_tool(const tool_def *def, const tool_registry_options *opts, error_info *err) {
    json_error_t jerr;
    json_t *schema = json_loads(def->input_schema, 0, &jerr);
    if (!schema || !json_is_object(schema)) {
        json_decref(schema);
        error_set(err, EINVAL, "built-in tool %s has an invalid input schema: %s", def->name, jerr.text);
        return NULL;
    }
    size_t n_contexts = 0;
    while (opts->contexts && opts->contexts[n_contexts])
        n_contexts++;
    if (n_contexts > 1) {
        json_t *props = json_object_get(schema, "properties");
        if (!props) {
            props = json_object();
            json_object_set_new(schema, "properties", props);
        }
        json_t *names = json_array();
        for (size_t i = 0; i < n_contexts; i++)
            json_array_append_new(names, json_string(opts->contexts[i]));
        char text[512];
        snprintf(text, sizeof text,
                 "Kubeconfig context to run against; defaults to %s when omitted.",
                 opts->default_context ? opts->default_context : "the current context");
        json_object_set_new(props, "context",
                            json_pack("{s:s, s:s, s:o}", "type", "string", "description", text, "enum", names));
    }
    json_t *annotations = json_pack("{s:s, s:b, s:b, s:b, s:b}", "title", def->title ? def->title : def->name,
                                    "readOnlyHint", def->read_only, "destructiveHint", def->destructive,
                                    "idempotentHint", def->idempotent, "openWorldHint", def->open_world);
    json_t *d = json_pack("{s:s, s:s, s:s, s:o, s:o}", "name", def->name, "title",
                          def->title ? def->title : def->name, "description", def->description, "inputSchema",
                          schema, "annotations", annotations);
    return d;
}

int tool_registry_new(const tool_registry_options *opts, tool_registry **ret, error_info *err) {
    const kubemcp_config *cfg = opts->config;
    size_t n = 0;
    while (opts->catalog[n])
        n++;

    /* A typo in enabled_tools/disabled_tools would otherwise silently expose or hide tools. */
    const string_list *lists[] = {cfg ? &cfg->enabled_tools : NULL, cfg ? &cfg->disabled_tools : NULL};
    const char *list_names[] = {"enabled_tools", "disabled_tools"};
    for (size_t l = 0; l < 2; l++) {
        if (!lists[l])
            continue;
        for (size_t i = 0; i < lists[l]->count; i++) {
            bool found = false;
            for (size_t t = 0; t < n && !found; t++)
                found = strcmp(opts->catalog[t]->name, lists[l]->items[i]) == 0;
            if (!found)
                return error_set(err, EINVAL, "%s names an unknown tool \"%s\"; run `kubemcp tools` to list them",
                                 list_names[l], lists[l]->items[i]);
        }
    }

    tool_registry *reg = calloc(1, sizeof *reg);
    if (!reg)
        return -ENOMEM;
    reg->entries = calloc(n ? n : 1, sizeof *reg->entries);
    reg->enabled_index = calloc(n ? n : 1, sizeof *reg->enabled_index);
    if (!reg->entries || !reg->enabled_index) {
        tool_registry_free(reg);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        registry_entry *e = &reg->entries[i];
        e->def = opts->catalog[i];
        e->description = describe_tool(e->def, opts, err);
        if (!e->description) {
            reg->count = i;
            tool_registry_free(reg);
            return -EINVAL;
        }
        e->schema = json_object_get(e->description, "inputSchema");
        e->disabled_by = policy_hides(e->def, cfg);
        e->enabled = e->disabled_by == NULL;
        if (e->enabled)
            reg->enabled_index[reg->enabled_count++] = i;
    }
    reg->count = n;
    *ret = reg;
    return 0;
}

tool_registry *tool_registry_free(tool_registry *reg) {
    if (!reg)
        return NULL;
    for (size_t i = 0; i < reg->count; i++)
        json_decref(reg->entries[i].description);
    free(reg->entries);
    free(reg->enabled_index);
    free(reg);
    return NULL;
}

size_t tool_registry_count(const tool_registry *reg) {
    return reg->enabled_count;
}

const json_t *tool_registry_describe(const tool_registry *reg, size_t i) {
    return i < reg->enabled_count ? reg->entries[reg->enabled_index[i]].description : NULL;
}

const tool_def *tool_registry_tool(const tool_registry *reg, size_t i) {
    return i < reg->enabled_count ? reg->entries[reg->enabled_index[i]].def : NULL;
}

static const registry_entry *find_entry(const tool_registry *reg, const char *name) {
    for (size_t i = 0; i < reg->count; i++)
        if (strcmp(reg->entries[i].def->name, name) == 0)
            return &reg->entries[i];
    return NULL;
}

int tool_registry_find(const tool_registry *reg, const char *name, const tool_def **ret, error_info *err) {
    const registry_entry *e = find_entry(reg, name);
    if (!e)
        return error_set(err, ENOENT, "unknown tool \"%s\"; call tools/list to see the available tools", name);
    if (!e->enabled)
        return error_set(err, EPERM, "tool \"%s\" is disabled by this server's %s setting", name, e->disabled_by);
    *ret = e->def;
    return 0;
}

static const char *json_type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

static bool matches_type(const json_t *v, const char *type) {
    if (strcmp(type, "string") == 0)
        return json_is_string(v);
    if (strcmp(type, "integer") == 0)
        return json_is_integer(v) || (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
                                      fabs(json_real_value(v)) < 9.007199254740992e15);
    if (strcmp(type, "number") == 0)
        return json_is_number(v);
    if (strcmp(type, "boolean") == 0)
        return json_is_boolean(v);
    if (strcmp(type, "object") == 0)
        return json_is_object(v);
    if (strcmp(type, "array") == 0)
        return json_is_array(v);
    if (strcmp(type, "null") == 0)
        return json_is_null(v);
    return true; /* a keyword we do not know constrains nothing */
}

static int validate_value(const json_t *schema, const json_t *v, const char *where, int depth, error_info *err);

static int validate_object(const json_t *schema, const json_t *v, const char *where, int depth, error_info *err) {
    const json_t *props = json_object_get(schema, "properties");
    const json_t *required = json_object_get(schema, "required");
    size_t i;
    const json_t *name;
    json_array_foreach(required, i, name) {
        if (json_is_string(name) && !json_object_get(v, json_string_value(name)))
            return error_set(err, EINVAL, "missing required argument \"%s\"%s%s", json_string_value(name),
                             *where ? " in " : "", where);
    }
    const char *key;
    const json_t *child;
    json_object_foreach((json_t *)v, key, child) {
        const json_t *sub = props ? json_object_get(props, key) : NULL;
        if (!sub) {
            if (json_is_false(json_object_get(schema, "additionalProperties")))
                return error_set(err, EINVAL, "unknown argument \"%s\"%s%s", key, *where ? " in " : "", where);
            continue;
        }
        char path[256];
        snprintf(path, sizeof path, "%s%s%s", where, *where ? "." : "", key);
        int r = validate_value(sub, child, path, depth + 1, err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int validate_value(const json_t *schema, const json_t *v, const char *where, int depth, error_info *err) {
    if (depth > SCHEMA_MAX_DEPTH)
        return error_set(err, EINVAL, "arguments are nested too deeply");
    const char *label = *where ? where : "arguments";
    const json_t *type = json_object_get(schema, "type");
    if (json_is_string(type) && !matches_type(v, json_string_value(type)))
        return error_set(err, EINVAL, "argument \"%s\" must be %s %s, not %s", label,
                         strchr("aeiou", json_string_value(type)[0]) ? "an" : "a", json_string_value(type),
                         json_type_name(v));
    const json_t *allowed = json_object_get(schema, "enum");
    if (json_is_array(allowed)) {
        bool ok = false;
        size_t i;
        const json_t *item;
        json_array_foreach(allowed, i, item) ok = ok || json_equal(item, v);
        if (!ok) {
            char choices[512] = "";
            size_t used = 0;
            json_array_foreach(allowed, i, item) {
                if (json_is_string(item) && used < sizeof choices)
                    used += (size_t)snprintf(choices + used, sizeof choices - used, "%s%s", i ? ", " : "",
                                             json_string_value(item));
            }
            return error_set(err, EINVAL, "argument \"%s\" must be one of: %s", label, choices);
        }
    }
    if (json_is_string(v)) {
        const json_t *min_len = json_object_get(schema, "minLength");
        const json_t *max_len = json_object_get(schema, "maxLength");
        size_t chars = 0; /* JSON Schema counts characters, not bytes */
        for (const unsigned char *p = (const unsigned char *)json_string_value(v); *p; p++)
            chars += (*p & 0xC0) != 0x80;
        if (json_is_integer(min_len) && (json_int_t)chars < json_integer_value(min_len))
            return error_set(err, EINVAL, "argument \"%s\" must not be empty%s", label,
                             json_integer_value(min_len) > 1 ? " or that short" : "");
        if (json_is_integer(max_len) && (json_int_t)chars > json_integer_value(max_len))
            return error_set(err, EINVAL, "argument \"%s\" is longer than %lld characters", label,
                             (long long)json_integer_value(max_len));
    }
    if (json_is_number(v)) {
        const json_t *min = json_object_get(schema, "minimum");
        const json_t *max = json_object_get(schema, "maximum");
        if (json_is_number(min) && json_number_value(v) < json_number_value(min))
            return error_set(err, EINVAL, "argument \"%s\" must be at least %g", label, json_number_value(min));
        if (json_is_number(max) && json_number_value(v) > json_number_value(max))
            return error_set(err, EINVAL, "argument \"%s\" must be at most %g", label, json_number_value(max));
    }
    if (json_is_object(v))
        return validate_object(schema, v, where, depth, err);
    if (json_is_array(v)) {
        const json_t *items = json_object_get(schema, "items");
        if (json_is_object(items)) {
            size_t i;
            const json_t *item;
            json_array_foreach(v, i, item) {
                char path[256];
                snprintf(path, sizeof path, "%s[%zu]", label, i);
                int r = validate_value(items, item, path, depth + 1, err);
                if (r < 0)
                    return r;
            }
        }
    }
    return 0;
}

int tool_registry_validate(const tool_registry *reg, const tool_def *tool, const json_t *args, error_info *err) {
    const registry_entry *e = find_entry(reg, tool->name);
    if (!e)
        return error_set(err, ENOENT, "unknown tool \"%s\"", tool->name);
    if (!json_is_object(args))
        return error_set(err, EINVAL, "tool arguments must be a JSON object, not %s", json_type_name(args));
    return validate_value(e->schema, args, "", 0, err);
}
