/* The set of tools a server exposes, after policy: toolsets, enabled_tools / disabled_tools,
 * read_only and disable_destructive. The same policy that hides a tool from tools/list refuses a
 * call to it, and arguments are validated against the tool's schema before its handler runs. */
#ifndef KUBEMCP_TOOLS_REGISTRY_H
#define KUBEMCP_TOOLS_REGISTRY_H

#include <stdbool.h>

#include <jansson.h>

#include "core/config.h"
#include "core/error_info.h"
#include "tools/tool.h"

typedef struct tool_registry tool_registry;

typedef struct tool_registry_options {
    const tool_def *const *catalog; /* NULL-terminated, borrowed for the registry's life */
    const kubemcp_config *config;   /* borrowed; NULL = no policy (every tool enabled) */
    /* When non-NULL and holding more than one name, every tool gains an optional `context`
     * argument whose enum is these names (borrowed, NULL-terminated). */
    const char *const *contexts;
    const char *default_context;
} tool_registry_options;

/* Fails when enabled_tools or disabled_tools name a tool that does not exist, naming it. */
int tool_registry_new(const tool_registry_options *opts, tool_registry **ret, error_info *err);
tool_registry *tool_registry_free(tool_registry *reg);

size_t tool_registry_count(const tool_registry *reg);
/* The i-th enabled tool's description for tools/list (borrowed JSON object), and its definition. */
const json_t *tool_registry_describe(const tool_registry *reg, size_t i);
const tool_def *tool_registry_tool(const tool_registry *reg, size_t i);

/* Looks a tool up for a call. -ENOENT: no such tool; -EPERM: it exists but policy disables it
 * (err says which setting). */
int tool_registry_find(const tool_registry *reg, const char *name, const tool_def **ret, error_info *err);

/* Checks args against the tool's input schema (types, required, enum, additionalProperties,
 * minimum/maximum, array item types). -EINVAL with a message naming the argument. */
int tool_registry_validate(const tool_registry *reg, const tool_def *tool, const json_t *args, error_info *err);

#endif
