/* Writing JSON text straight into a buffer, byte for byte what jansson's compact dump would write,
 * for answers whose payload is one large string (a tool's text): escaping it once here saves
 * copying it into a json_t and dumping that. */
#ifndef KUBEMCP_CORE_JSON_TEXT_H
#define KUBEMCP_CORE_JSON_TEXT_H

#include <stddef.h>

#include <jansson.h>

#include "core/buf.h"

/* Appends s as a quoted JSON string, with every invalid UTF-8 sequence and NUL byte replaced by
 * U+FFFD: the same bytes as json_dumps of utf8_json_string(s, len) inside a compact document.
 * Negative errno (-EMSGSIZE when out is full; out may then hold part of it). */
int json_text_string(buf *out, const char *s, size_t len);

/* Appends any JSON value as json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY) would. */
int json_text_value(buf *out, const json_t *value);

#endif
