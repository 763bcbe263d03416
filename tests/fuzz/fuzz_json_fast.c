/* libFuzzer target for the fast JSON reader (core/json_fast.c), which reads every Kubernetes
 * answer: whatever the bytes, it must never crash, hang or leak, and whenever it returns a tree,
 * jansson's json_loadb must accept the same bytes and build the same tree — same types (1 is not
 * 1.0), values, and key order, which the compact dump of both shows; with each set of flags
 * kubemcp reads with (the first byte picks one). The fast reader may give up
 * where jansson succeeds (the caller then asks jansson), never the other way round. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/json_fast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The flag sets kubemcp reads with: Kubernetes answers (none) and MCP messages (all three). */
static const size_t flag_sets[] = {
    0,
    JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY,
    JSON_DECODE_ANY,
    JSON_REJECT_DUPLICATES,
    JSON_ALLOW_NUL | JSON_DECODE_ANY,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0)
        return 0;
    /* The first byte picks the flags, the rest is the text. */
    size_t flags = flag_sets[data[0] % (sizeof flag_sets / sizeof flag_sets[0])];
    const char *text = (const char *)data + 1;
    size--;
    json_t *fast = json_fast_loadb(text, size, flags);
    json_t *slow = json_loadb(text, size, flags, NULL);
    if (fast) {
        if (!slow)
            abort();
        char *a = json_dumps(fast, JSON_COMPACT | JSON_ENCODE_ANY);
        char *b = json_dumps(slow, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!a || !b || strcmp(a, b) != 0)
            abort();
        free(a);
        free(b);
    }
    json_decref(fast);
    json_decref(slow);
    return 0;
}
