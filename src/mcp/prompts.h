/* MCP prompts: reusable instructions a user picks in the client, filled with arguments. */
#ifndef KUBEMCP_MCP_PROMPTS_H
#define KUBEMCP_MCP_PROMPTS_H

#include <stdbool.h>

#include <jansson.h>

#include "core/error_info.h"

typedef struct prompt_argument {
    const char *name;
    const char *description;
    bool required;
} prompt_argument;

typedef struct prompt_def {
    const char *name;
    const char *title;
    const char *description;
    const prompt_argument *arguments; /* terminated by an entry with name NULL */
    /* Builds the prompts/get result ({description, messages}); args is an object of strings. */
    json_t *(*render)(const struct prompt_def *def, const json_t *args, error_info *err);
} prompt_def;

/* The prompts kubemcp ships, NULL-terminated. */
extern const prompt_def *const kube_prompts[];

/* The prompts/list entry for a prompt (caller owns). */
json_t *prompt_describe(const prompt_def *def);

#endif
