#include "core/utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

bool utf8_decode(const char *str, size_t len, uint32_t *ret_cp, size_t *ret_n) {
    const unsigned char *s = (const unsigned char *)str;
    if (len == 0)
        return false;
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80) {
        *ret_cp = c;
        *ret_n = 1;
        return true;
    } else if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07;
    } else {
        return false;
    }
    if (n > len)
        return false;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return false;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    /* Reject overlong forms, surrogates and code points past U+10FFFF. */
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return false;
    *ret_cp = cp;
    *ret_n = n;
    return true;
}

/* Length of the well-formed, non-NUL sequence at s, or 0. */
static size_t utf8_sequence_length(const char *s, size_t left) {
    uint32_t cp;
    size_t n;
    if (!utf8_decode(s, left, &cp, &n) || cp == 0)
        return 0;
    return n;
}

size_t utf8_valid_prefix(const char *s, size_t len) {
    size_t i = 0;
    uint32_t cp;
    size_t n;
    while (i < len && utf8_decode(s + i, len - i, &cp, &n))
        i += n;
    return i;
}

bool utf8_is_valid(const char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_sequence_length(s + i, len - i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

json_t *utf8_json_string(const char *s, size_t len) {
    if (utf8_is_valid(s, len))
        return json_stringn(s, len);
    /* Each bad byte becomes the 3-byte U+FFFD. */
    if (len > (SIZE_MAX - 1) / 3)
        return NULL;
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    size_t i = 0, o = 0;
    while (i < len) {
        size_t n = utf8_sequence_length(s + i, len - i);
        if (n == 0) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(out + o, s + i, n);
            o += n;
            i += n;
        }
    }
    json_t *str = json_stringn(out, o);
    free(out);
    return str;
}
