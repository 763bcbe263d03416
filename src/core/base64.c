#include "core/base64.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

static const char standard_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *encode(const void *data, size_t len, const char *alphabet, bool pad) {
    const unsigned char *in = data;
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[n++] = alphabet[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        out[n++] = alphabet[(acc << (6 - bits)) & 63];
    while (pad && n % 4)
        out[n++] = '=';
    out[n] = '\0';
    return out;
}

char *base64_encode(const void *data, size_t len) {
    return encode(data, len, standard_alphabet, true);
}

char *base64url_encode(const void *data, size_t len) {
    return encode(data, len, url_alphabet, false);
}

/* The 6-bit value of ch in the chosen alphabet, or -1. */
static int symbol_value(unsigned char ch, bool url) {
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == (url ? '-' : '+'))
        return 62;
    if (ch == (url ? '_' : '/'))
        return 63;
    return -1;
}

static bool is_space(unsigned char ch) {
    return ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t';
}

int base64_decode(const char *in, size_t in_len, unsigned char **ret_data, size_t *ret_len) {
    unsigned char *out = malloc(base64_decoded_max(in_len) + 1);
    if (!out)
        return -ENOMEM;
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0, pad = 0, symbols = 0;
    for (size_t i = 0; i < in_len; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (is_space(ch))
            continue;
        if (ch == '=') {
            pad++;
            continue;
        }
        int v = symbol_value(ch, false);
        if (v < 0 || pad) { /* a symbol after padding is as broken as a foreign byte */
            free(out);
            return -EINVAL;
        }
        symbols++;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
        }
    }
    /* One leftover symbol (6 bits) can never encode a byte; too much padding is broken too. */
    if (symbols % 4 == 1 || pad > 2 || (pad && (symbols + pad) % 4 != 0)) {
        free(out);
        return -EINVAL;
    }
    out[n] = '\0';
    *ret_data = out;
    *ret_len = n;
    return 0;
}

int base64url_decode_strict(const char *in, size_t in_len, unsigned char **ret_data, size_t *ret_len) {
    if (in_len % 4 == 1)
        return -EINVAL;
    unsigned char *out = malloc(base64_decoded_max(in_len) + 1);
    if (!out)
        return -ENOMEM;
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (size_t i = 0; i < in_len; i++) {
        int v = symbol_value((unsigned char)in[i], true);
        if (v < 0) {
            free(out);
            return -EINVAL;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* Bits left over that are not zero: a second spelling of the same bytes. */
    if (acc != 0) {
        free(out);
        return -EINVAL;
    }
    out[n] = '\0';
    *ret_data = out;
    *ret_len = n;
    return 0;
}
