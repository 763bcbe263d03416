/* libFuzzer target for the TOML parser: any input must yield a tree or an error with a
 * "source:line:column:" message, never a crash, hang or leak. Small limits are used half of the time
 * so the depth and size checks are exercised too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    error_info err = {0};
    json_t *root = NULL;
    json_t *key_lines = NULL;
    toml_limits small = {.max_document_bytes = 1 << 16, .max_depth = 8, .max_string_bytes = 64};
    const toml_limits *limits = (size & 1) ? &small : NULL;
    int r = toml_parse_ex((const char *)data, size, "fuzz.toml", limits, &root, (size & 2) ? &key_lines : NULL, &err);
    if (r == 0) {
        /* The tree must serialise: this walks every node jansson built. */
        char *text = json_dumps(root, JSON_COMPACT);
        if (!text)
            abort();
        free(text);
        json_decref(root);
        json_decref(key_lines);
    } else if (strncmp(err.message, "fuzz.toml:", 10) != 0) {
        abort(); /* every error must name the source */
    }
    return 0;
}
