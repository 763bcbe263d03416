/* libFuzzer target for the manifest reader (resources_create_or_update input): YAML or JSON,
 * one or more documents. It must never crash, hang or leak, whatever the bytes; accepted
 * documents must be objects with apiVersion, kind and metadata.name, and must survive a trip
 * through output_yaml and back. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tools/output.h"
#include "tools/tool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_t *documents = NULL;
    error_info err = {0};
    if (tool_parse_manifest((const char *)data, size, &documents, &err) < 0) {
        if (documents || !err.message[0])
            abort();
        return 0;
    }
    size_t i;
    json_t *doc;
    json_array_foreach(documents, i, doc) {
        if (!json_is_string(json_object_get(doc, "apiVersion")) || !json_is_string(json_object_get(doc, "kind")) ||
            !json_is_string(json_object_get(json_object_get(doc, "metadata"), "name")))
            abort();
        /* A nested *List would be expanded on the second read: not a round-trip failure. */
        const char *kind = json_string_value(json_object_get(doc, "kind"));
        size_t kind_len = strlen(kind);
        bool is_list = kind_len >= 4 && strcmp(kind + kind_len - 4, "List") == 0;
        buf yaml;
        buf_init(&yaml, 64u << 20);
        if (!is_list && output_yaml(doc, &yaml) == 0) {
            json_t *back = NULL;
            error_info err2 = {0};
            if (tool_parse_manifest(yaml.data, yaml.len, &back, &err2) < 0)
                abort();
            if (!json_equal(doc, json_array_get(back, 0)))
                abort();
            json_decref(back);
        }
        buf_free(&yaml);
    }
    json_decref(documents);
    return 0;
}
