/* libFuzzer target: arbitrary bytes as one MCP message into a session (JSON-RPC classification,
 * batches, initialize, tools/list cursors, prompts, tool argument validation). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/config.h"
#include "mcp/server.h"
#include "tools/registry.h"

static int echo(const tool_context *ctx, const json_t *args, tool_result *ret) {
    return tool_result_printf(ret, "%s", tool_arg_string(args, "text") ? tool_arg_string(args, "text") : "");
}

static const tool_def echo_tool = {
    .name = "echo", .description = "echo", .toolset = "core", .read_only = true,
    .input_schema = "{\"type\":\"object\",\"properties\":{\"text\":{\"type\":\"string\"},"
                    "\"n\":{\"type\":\"integer\",\"minimum\":0},\"list\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},"
                    "\"required\":[\"text\"],\"additionalProperties\":false}",
    .handler = echo,
};
static const tool_def *const catalog[] = {&echo_tool, NULL};

static void discard(void *opaque, const char *json, size_t len, const json_t *related_id) {
    (void)related_id;
    (void)opaque;
    (void)json;
    (void)len;
}

static mcp_server *server;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!server) {
        static kubemcp_config *cfg;
        static tool_registry *reg;
        cfg = config_new_defaults();
        cfg->max_message_bytes = 65536;
        error_info err;
        tool_registry_options ro = {.catalog = catalog, .config = cfg};
        if (tool_registry_new(&ro, &reg, &err) < 0)
            abort();
        mcp_server_options so = {.name = "fuzz", .version = "0", .config = cfg, .registry = reg,
                                 .prompts = kube_prompts, .worker_threads = 1, .tools_page_size = 1};
        if (mcp_server_new(&so, &server) < 0)
            abort();
    }
    mcp_session *s = NULL;
    mcp_session_options o = {.send = discard};
    if (mcp_session_new(server, &o, &s) < 0)
        return 0;
    mcp_session_receive(s, (const char *)data, size);
    mcp_session_close(s);
    return 0;
}
