/* libFuzzer target: core/base64. Both decoders run on every input. Invariants besides memory
 * safety: a success returns at most base64_decoded_max bytes followed by a NUL; a strict base64url
 * success re-encodes to exactly the input (one spelling per byte string), the standard decoder
 * accepts the same bytes in its own alphabet, and both encoders round-trip through their decoders. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *in = (const char *)data;
    unsigned char *out = NULL;
    size_t n = 0;
    if (base64_decode(in, size, &out, &n) == 0) {
        if (n > base64_decoded_max(size) || out[n] != '\0')
            abort();
        free(out);
    }
    out = NULL;
    if (base64url_decode_strict(in, size, &out, &n) == 0) {
        if (n > base64_decoded_max(size) || out[n] != '\0')
            abort();
        char *again = base64url_encode(out, n);
        if (!again || strlen(again) != size || memcmp(again, in, size) != 0)
            abort();
        for (size_t i = 0; i < size; i++)
            again[i] = again[i] == '-' ? '+' : again[i] == '_' ? '/' : again[i];
        unsigned char *std = NULL;
        size_t std_n = 0;
        if (base64_decode(again, size, &std, &std_n) != 0 || std_n != n || memcmp(std, out, n) != 0)
            abort();
        free(std);
        /* and the standard encoder writes what the standard decoder reads back */
        char *padded = base64_encode(out, n);
        if (!padded || strlen(padded) % 4 || base64_decode(padded, strlen(padded), &std, &std_n) != 0 ||
            std_n != n || memcmp(std, out, n) != 0)
            abort();
        free(std);
        free(padded);
        free(again);
        free(out);
    }
    return 0;
}
