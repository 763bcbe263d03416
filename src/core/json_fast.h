/* A faster reader for the JSON the Kubernetes API sends. jansson's own reader handles one byte at
 * a time through a stream with a saved-text buffer, which makes parsing most of the cost of a
 * tool call; this one scans the buffer in place and builds the same jansson tree. */
#ifndef KUBEMCP_CORE_JSON_FAST_H
#define KUBEMCP_CORE_JSON_FAST_H

#include <stddef.h>

#include <jansson.h>

/* The tree json_loadb(text, len, flags, NULL) would build (same types, values, key order, later
 * duplicate keys replacing earlier values unless refused), or NULL when this reader is not sure:
 * invalid JSON, numbers out of range, nesting deeper than JSON_FAST_MAX_DEPTH, out of memory,
 * flags other than JSON_REJECT_DUPLICATES, JSON_ALLOW_NUL and JSON_DECODE_ANY. On NULL, call
 * json_loadb, which decides and words any error. Caller owns the result. */
json_t *json_fast_loadb(const char *text, size_t len, size_t flags);

/* Containers nested deeper than this are left to jansson (its limit is 2048). */
#define JSON_FAST_MAX_DEPTH 512

#endif
