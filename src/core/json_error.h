/* jansson's parse errors quote the text near the error ("invalid token near 'abc'"). That text
 * can be part of a token or a Secret value, so messages we show keep only the reason. */
#ifndef KUBEMCP_CORE_JSON_ERROR_H
#define KUBEMCP_CORE_JSON_ERROR_H

#include <stddef.h>

#include <jansson.h>

/* Copies jerr->text into out without any " near '…'" quotation. */
void json_error_reason(const json_error_t *jerr, char *out, size_t out_len);

#endif
