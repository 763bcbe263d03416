#include "core/json_error.h"

#include <stdio.h>
#include <string.h>

void json_error_reason(const json_error_t *jerr, char *out, size_t out_len) {
    if (!out || out_len == 0)
        return;
    const char *text = jerr ? jerr->text : "";
    const char *near = strstr(text, " near ");
    size_t len = near ? (size_t)(near - text) : strlen(text);
    snprintf(out, out_len, "%.*s", (int)len, text);
}
