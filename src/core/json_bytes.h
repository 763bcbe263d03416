/* Finding the bytes of a JSON string that need attention (a quote, a backslash, a control
 * character, the start of a multi-byte UTF-8 sequence) eight at a time: plain text, which is
 * most of what kubemcp reads and writes, is skipped a word at a time instead of byte by byte. */
#ifndef KUBEMCP_CORE_JSON_BYTES_H
#define KUBEMCP_CORE_JSON_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Bytes from s (at most len) before the first one below 0x20, '"', '\\' or from 0x80 up. */
static inline size_t json_bytes_plain_prefix(const char *s, size_t len) {
    size_t i = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && (defined(__GNUC__) || defined(__clang__))
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    while (len - i >= 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        uint64_t quote = w ^ (ones * '"'), backslash = w ^ (ones * '\\');
        /* The classic "has a zero byte" / "has a byte below n" tests: exact for the lowest
         * flagged byte, which is the first in memory on a little-endian machine. */
        uint64_t flagged =
            (((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) | ((backslash - ones) & ~backslash) | w) & highs;
        if (flagged)
            return i + ((size_t)__builtin_ctzll(flagged) >> 3);
        i += 8;
    }
#endif
    for (; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80)
            break;
    }
    return i;
}

#endif
