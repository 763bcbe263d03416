/* In-place JSON reader building jansson values; mirrors jansson 2.14's load.c with flags 0 for
 * every input it accepts, and gives up (NULL) on everything else. */
#include "core/json_fast.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_bytes.h"
#include "core/utf8.h"

typedef struct json_reader {
    const char *p, *end;
    size_t flags;
    char *scratch; /* decoded text of strings with escapes */
    size_t scratch_cap;
    unsigned depth;
} json_reader;

static json_t *read_value(json_reader *r);

static void skip_space(json_reader *r) {
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\t' || *r->p == '\r'))
        r->p++;
}

static bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

/* Length of the well-formed UTF-8 sequence at p (jansson's check: no overlong forms, surrogates or
 * code points past U+10FFFF), 0 when there is none. */
static size_t utf8_sequence(const char *p, const char *end) {
    uint32_t cp;
    size_t n;
    return utf8_decode(p, (size_t)(end - p), &cp, &n) ? n : 0;
}

static int hex4(const char *p, const char *end, uint32_t *ret) {
    if (end - p < 4)
        return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *ret = v;
    return 0;
}

static size_t utf8_put(uint32_t cp, char *out) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Room in r->scratch for extra more bytes after the first used. */
static int scratch_room(json_reader *r, size_t used, size_t extra) {
    if (r->scratch_cap - used >= extra)
        return 0;
    size_t cap = r->scratch_cap ? r->scratch_cap : 256;
    while (cap - used < extra) {
        if (cap > SIZE_MAX / 2)
            return -1;
        cap *= 2;
    }
    char *s = realloc(r->scratch, cap);
    if (!s)
        return -1;
    r->scratch = s;
    r->scratch_cap = cap;
    return 0;
}

/* Decodes the escape at *p (a backslash) into out (room for 4 bytes), moving *p past it; the
 * number of bytes written, or -1 for an escape jansson refuses. */
static int decode_escape(const char **p, const char *end, bool allow_nul, char *out) {
    const char *q = *p;
    if (end - q < 2)
        return -1;
    char e = q[1];
    q += 2;
    char simple = 0;
    switch (e) {
    case '"': simple = '"'; break;
    case '\\': simple = '\\'; break;
    case '/': simple = '/'; break;
    case 'b': simple = '\b'; break;
    case 'f': simple = '\f'; break;
    case 'n': simple = '\n'; break;
    case 'r': simple = '\r'; break;
    case 't': simple = '\t'; break;
    case 'u': break;
    default: return -1;
    }
    if (simple) {
        *out = simple;
        *p = q;
        return 1;
    }
    uint32_t cp;
    if (hex4(q, end, &cp) < 0)
        return -1;
    q += 4;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        uint32_t low;
        if (end - q < 6 || q[0] != '\\' || q[1] != 'u' || hex4(q + 2, end, &low) < 0 || low < 0xDC00 || low > 0xDFFF)
            return -1;
        q += 6;
        cp = ((cp - 0xD800) << 10) + (low - 0xDC00) + 0x10000;
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        return -1;
    }
    /* jansson refuses NUL without JSON_ALLOW_NUL, and always in keys. */
    if (cp == 0 && !allow_nul)
        return -1;
    *p = q;
    return (int)utf8_put(cp, out);
}

/* Reads the string at r->p (the opening quote). *ret points into the input when the string has no
 * escapes, else into r->scratch (valid until the next string). */
static int read_string(json_reader *r, bool allow_nul, const char **ret, size_t *ret_len) {
    const char *start = r->p + 1, *p = start, *end = r->end;
    bool escaped = false;  /* once true, the text so far is decoded in r->scratch */
    const char *copied = start; /* input before this is in r->scratch */
    size_t used = 0;
    for (;;) {
        p += json_bytes_plain_prefix(p, (size_t)(end - p));
        if (p >= end)
            return -1;
        unsigned char c = (unsigned char)*p;
        if (c >= 0x80) {
            size_t n = utf8_sequence(p, end);
            if (!n)
                return -1;
            p += n;
            continue;
        }
        if (c != '"' && c != '\\')
            return -1; /* a raw control character */
        if (c == '"' && !escaped) {
            *ret = start;
            *ret_len = (size_t)(p - start);
            r->p = p + 1;
            return 0;
        }
        /* Decoded text: the input since the last escape, then this escape (or the end). */
        size_t n = (size_t)(p - copied);
        if (scratch_room(r, used, n + 4) < 0)
            return -1;
        memcpy(r->scratch + used, copied, n);
        used += n;
        if (c == '"') {
            *ret = r->scratch;
            *ret_len = used;
            r->p = p + 1;
            return 0;
        }
        int written = decode_escape(&p, end, allow_nul, r->scratch + used);
        if (written < 0)
            return -1;
        used += (size_t)written;
        copied = p;
        escaped = true;
    }
}

/* Past one or more digits at p; NULL when there is none. */
static const char *skip_digits(const char *p, const char *end) {
    if (p >= end || !is_digit(*p))
        return NULL;
    while (p < end && is_digit(*p))
        p++;
    return p;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? — an integer unless it has a fraction or an
 * exponent, as in jansson. */
static json_t *read_number(json_reader *r) {
    const char *start = r->p, *p = start, *end = r->end;
    bool negative = p < end && *p == '-';
    if (negative)
        p++;
    if (p >= end)
        return NULL;
    if (*p == '0') {
        p++;
        if (p < end && is_digit(*p))
            return NULL;
    } else if (!(p = skip_digits(p, end))) {
        return NULL;
    }
    bool real = false;
    if (p < end && *p == '.') {
        if (!(p = skip_digits(p + 1, end)))
            return NULL;
        real = true;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (!(p = skip_digits(p, end)))
            return NULL;
        real = true;
    }
    size_t len = (size_t)(p - start);
    r->p = p;
    size_t digits = len - (negative ? 1 : 0);
    if (!real && digits <= 18) {
        /* No overflow below 10^18: the value is exact without strtoll. */
        long long v = 0;
        for (const char *d = start + (negative ? 1 : 0); d < p; d++)
            v = v * 10 + (*d - '0');
        return json_integer(negative ? -v : v);
    }
    char text[64];
    if (len >= sizeof text)
        return NULL;
    memcpy(text, start, len);
    text[len] = '\0';
    char *stop;
    errno = 0;
    if (!real) {
        long long v = strtoll(text, &stop, 10);
        if (errno == ERANGE || stop != text + len)
            return NULL;
        return json_integer(v);
    }
    double d = strtod(text, &stop);
    /* Overflow is an error in jansson; a different decimal point means another locale. */
    if (stop != text + len || ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE))
        return NULL;
    return json_real(d);
}

static bool read_word(json_reader *r, const char *word, size_t len) {
    if ((size_t)(r->end - r->p) < len || memcmp(r->p, word, len) != 0)
        return false;
    r->p += len;
    /* jansson reads a whole run of letters as one word: "truex" is no literal. */
    return r->p == r->end || !((*r->p >= 'a' && *r->p <= 'z') || (*r->p >= 'A' && *r->p <= 'Z'));
}

/* Just past '[' or '{': true when the container closes at once. */
static bool container_empty(json_reader *r, char close) {
    r->p++;
    skip_space(r);
    if (r->p < r->end && *r->p == close) {
        r->p++;
        return true;
    }
    return false;
}

/* After a member: 1 when the container closes, 0 after a comma (a member follows), -1 else. */
static int container_next(json_reader *r, char close) {
    skip_space(r);
    if (r->p >= r->end)
        return -1;
    if (*r->p == close) {
        r->p++;
        return 1;
    }
    if (*r->p != ',')
        return -1;
    r->p++;
    skip_space(r);
    return 0;
}

static json_t *read_array(json_reader *r) {
    json_t *array = json_array();
    if (!array)
        return NULL;
    if (container_empty(r, ']'))
        return array;
    for (;;) {
        json_t *v = read_value(r);
        if (!v || json_array_append_new(array, v) < 0)
            break;
        int next = container_next(r, ']');
        if (next > 0)
            return array;
        if (next < 0)
            break;
    }
    json_decref(array);
    return NULL;
}

static json_t *read_object(json_reader *r) {
    json_t *object = json_object();
    if (!object)
        return NULL;
    if (container_empty(r, '}'))
        return object;
    /* A key with escapes is decoded into the scratch buffer, which the value may reuse: keep it. */
    char *key_copy = NULL;
    for (;;) {
        const char *key;
        size_t key_len;
        if (r->p >= r->end || *r->p != '"' || read_string(r, false, &key, &key_len) < 0)
            break;
        if (key == r->scratch) {
            free(key_copy);
            if (!(key_copy = malloc(key_len ? key_len : 1)))
                break;
            memcpy(key_copy, key, key_len);
            key = key_copy;
        }
        skip_space(r);
        if (r->p >= r->end || *r->p != ':')
            break;
        r->p++;
        skip_space(r);
        /* A duplicate that must be refused is left to jansson, which words the error. */
        if ((r->flags & JSON_REJECT_DUPLICATES) && json_object_getn(object, key, key_len))
            break;
        json_t *v = read_value(r);
        if (!v)
            break;
        if (json_object_setn_new_nocheck(object, key, key_len, v) < 0)
            break;
        int next = container_next(r, '}');
        if (next > 0) {
            free(key_copy);
            return object;
        }
        if (next < 0)
            break;
    }
    free(key_copy);
    json_decref(object);
    return NULL;
}

static json_t *read_value(json_reader *r) {
    if (r->p >= r->end)
        return NULL;
    switch (*r->p) {
    case '{':
    case '[': {
        if (++r->depth > JSON_FAST_MAX_DEPTH)
            return NULL;
        json_t *v = *r->p == '{' ? read_object(r) : read_array(r);
        r->depth--;
        return v;
    }
    case '"': {
        const char *s;
        size_t len;
        if (read_string(r, (r->flags & JSON_ALLOW_NUL) != 0, &s, &len) < 0)
            return NULL;
        return json_stringn_nocheck(s, len);
    }
    case 't':
        return read_word(r, "true", 4) ? json_true() : NULL;
    case 'f':
        return read_word(r, "false", 5) ? json_false() : NULL;
    case 'n':
        return read_word(r, "null", 4) ? json_null() : NULL;
    default:
        return read_number(r);
    }
}

json_t *json_fast_loadb(const char *text, size_t len, size_t flags) {
    if (!text || (flags & ~(size_t)(JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL | JSON_DECODE_ANY)))
        return NULL;
    json_reader r = {.p = text, .end = text + len, .flags = flags};
    skip_space(&r);
    /* Without JSON_DECODE_ANY, jansson takes only an object or an array at the top. */
    json_t *root = NULL;
    if (r.p < r.end && ((flags & JSON_DECODE_ANY) || *r.p == '{' || *r.p == '['))
        root = read_value(&r);
    free(r.scratch);
    if (!root)
        return NULL;
    skip_space(&r);
    if (r.p != r.end) {
        json_decref(root);
        return NULL;
    }
    return root;
}
