/* A strict TOML 1.0 parser that produces a jansson tree.
 *
 * Mapping:
 *   table, inline table       -> JSON object
 *   array, array of tables    -> JSON array
 *   string                    -> JSON string (may contain U+0000 from a \u0000 escape; use json_string_length)
 *   integer                   -> JSON integer (64-bit; out-of-range values are errors)
 *   finite float              -> JSON real
 *   inf, +inf, -inf, nan      -> {"$toml_float": "inf" | "-inf" | "nan"}  (JSON has no such numbers)
 *   boolean                   -> JSON true/false
 *   date/time values          -> {"$toml_datetime": "<canonical text>", "$kind": "<kind>"}
 *        kind is "offset-datetime", "local-datetime", "local-date" or "local-time"; the canonical text
 *        uses an upper-case 'T' and 'Z' and keeps the fraction of seconds as written,
 *        e.g. "1979-05-27T07:32:00.5-07:00".
 * The marker objects let a consumer that expects a string or a table reject these values with a
 * clear message (see toml_is_datetime / toml_is_special_float).
 *
 * Errors are reported as "SOURCE:LINE:COLUMN: what is wrong" with 1-based line and column
 * (the column counts characters, not bytes). Any input, however malformed, produces either a tree
 * or an error: the parser never crashes, loops forever, or grows memory past its limits. */
#ifndef KUBEMCP_CORE_TOML_H
#define KUBEMCP_CORE_TOML_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core/error_info.h"

#define TOML_DATETIME_KEY "$toml_datetime"
#define TOML_DATETIME_KIND_KEY "$kind"
#define TOML_SPECIAL_FLOAT_KEY "$toml_float"

#define TOML_DEFAULT_MAX_DOCUMENT_BYTES ((size_t)4 * 1024 * 1024)
#define TOML_DEFAULT_MAX_DEPTH 64u
#define TOML_HARD_MAX_DEPTH 256u
#define TOML_DEFAULT_MAX_STRING_BYTES ((size_t)1024 * 1024)

typedef struct toml_limits {
    size_t max_document_bytes; /* 0 = TOML_DEFAULT_MAX_DOCUMENT_BYTES */
    unsigned max_depth;        /* nesting of tables, arrays and dotted keys; 0 = default, capped at TOML_HARD_MAX_DEPTH */
    size_t max_string_bytes;   /* longest decoded string or key; 0 = default */
} toml_limits;

/* Parses text[0..len) (need not be NUL-terminated) with the default limits. source_name is used in
 * error messages (NULL = "<input>"). On success *ret receives a new reference to the root object.
 * Returns 0, -EINVAL (syntax or TOML rule violated), -E2BIG (a limit was hit) or -ENOMEM. */
int toml_parse(const char *text, size_t len, const char *source_name, json_t **ret, error_info *err);

/* As toml_parse, with explicit limits (NULL = defaults). When ret_key_lines is not NULL it receives an
 * object mapping each key's path to the 1-based line where it was defined, so callers can point at
 * the offending line of a semantically wrong value. Paths join key parts with '.' and index arrays
 * of tables as "name[0]": e.g. "port", "denied_resources[1].kind". Table headers are included. */
int toml_parse_ex(const char *text, size_t len, const char *source_name, const toml_limits *limits,
                  json_t **ret, json_t **ret_key_lines, error_info *err);

/* True for the {"$toml_datetime": ...} marker objects described above. */
bool toml_is_datetime(const json_t *value);
/* True for the {"$toml_float": ...} marker objects described above. */
bool toml_is_special_float(const json_t *value);

/* A short English name for the TOML type of a parsed value, for error messages:
 * "string", "integer", "float", "boolean", "array", "table", "date-time" (kinds spelled out). */
const char *toml_type_name(const json_t *value);

#endif
