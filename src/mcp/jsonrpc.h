/* JSON-RPC 2.0 message shapes used by the MCP engine. */
#ifndef KUBEMCP_MCP_JSONRPC_H
#define KUBEMCP_MCP_JSONRPC_H

#include <stdbool.h>

#include <jansson.h>

#include "core/buf.h"

enum {
    JSONRPC_PARSE_ERROR = -32700,
    JSONRPC_INVALID_REQUEST = -32600,
    JSONRPC_METHOD_NOT_FOUND = -32601,
    JSONRPC_INVALID_PARAMS = -32602,
    JSONRPC_INTERNAL_ERROR = -32603,
    /* Implementation-defined server errors (-32000 to -32099). */
    JSONRPC_SERVER_BUSY = -32000,
    JSONRPC_MESSAGE_TOO_LARGE = -32001,
    /* resources/read of an unknown URI (MCP 2025-11-25). */
    JSONRPC_RESOURCE_NOT_FOUND = -32002,
};

typedef enum jsonrpc_kind {
    JSONRPC_KIND_INVALID,
    JSONRPC_KIND_REQUEST,
    JSONRPC_KIND_NOTIFICATION,
    JSONRPC_KIND_RESPONSE,
} jsonrpc_kind;

/* Classifies a decoded message. For INVALID, *ret_reason says why (static text). A request id must
 * be a string or an integer: null, fractional, boolean or structured ids are invalid. */
jsonrpc_kind jsonrpc_classify(const json_t *msg, const char **ret_reason);

/* New response objects; id is copied (NULL → null id). data may be NULL and is stolen. */
json_t *jsonrpc_result(const json_t *id, json_t *result_stolen);
json_t *jsonrpc_error(const json_t *id, int code, const char *message, json_t *data_stolen);
json_t *jsonrpc_notification(const char *method, json_t *params_stolen);

/* The same answers written as text into out, byte for byte what json_dumps(…, JSON_COMPACT) of
 * the json_t forms gives, without building them: for answers that carry a large text or a result
 * serialised once. Negative errno (-EMSGSIZE when out is full). */
/* jsonrpc_result(id, result) where result is already compact JSON text. */
int jsonrpc_write_result(buf *out, const json_t *id, const char *result_json, size_t result_len);
/* The answer to tools/call with one text block: result {content: [{type: "text", text}],
 * isError: true when is_error, structuredContent when structured is not NULL}. text need not be
 * valid UTF-8 (bad sequences become U+FFFD, as utf8_json_string does). */
int jsonrpc_write_text_result(buf *out, const json_t *id, const char *text, size_t text_len, bool is_error,
                              const json_t *structured);

#endif
