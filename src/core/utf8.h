/* UTF-8 hygiene: JSON strings must be valid UTF-8, but pod logs and apiserver bodies may not be. */
#ifndef KUBEMCP_CORE_UTF8_H
#define KUBEMCP_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include <stdint.h>

/* Decodes one well-formed UTF-8 sequence at s (NUL included): false for a truncated, overlong,
 * surrogate or out-of-range sequence. */
bool utf8_decode(const char *s, size_t len, uint32_t *ret_cp, size_t *ret_n);

/* Offset of the first byte that does not start a well-formed sequence, or len. */
size_t utf8_valid_prefix(const char *s, size_t len);

/* Well-formed and free of NUL bytes. */
bool utf8_is_valid(const char *s, size_t len);

/* A JSON string of s, with every invalid byte sequence replaced by U+FFFD and NUL bytes by
 * U+FFFD, so arbitrary bytes can be shown to a client. Never NULL unless out of memory. */
json_t *utf8_json_string(const char *s, size_t len);

#endif
