/* JSON text by hand, matching jansson's dump.c: '"' and '\\' and control characters are escaped
 * (\b \f \n \r \t, else \u00XX in upper-case hex), '/' and DEL and non-ASCII text are not. */
#include "core/json_text.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "core/json_bytes.h"
#include "core/utf8.h"

int json_text_string(buf *out, const char *s, size_t len) {
    static const char hex[] = "0123456789ABCDEF";
    /* Most text needs no escape: room for it and the quotes up front. */
    int r = buf_reserve(out, len + 2);
    if (r < 0)
        return r;
    r = buf_put(out, "\"", 1);
    size_t run = 0, i = 0;
    while (r >= 0) {
        i += json_bytes_plain_prefix(s + i, len - i);
        if (i >= len)
            break;
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) {
            uint32_t cp;
            size_t n;
            if (utf8_decode(s + i, len - i, &cp, &n)) {
                i += n; /* well-formed: stays in the run */
                continue;
            }
        }
        if (i > run)
            r = buf_put(out, s + run, i - run);
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t esc_len = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            if (c == 0 || c >= 0x80) {
                /* NUL, or a byte that starts no well-formed sequence: U+FFFD, sent as is. */
                memcpy(esc, "\xEF\xBF\xBD", 3);
                esc_len = 3;
            } else {
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 15];
                esc_len = 6;
            }
            break;
        }
        if (r >= 0)
            r = buf_put(out, esc, esc_len);
        i++;
        run = i;
    }
    if (r >= 0 && len > run)
        r = buf_put(out, s + run, len - run);
    if (r >= 0)
        r = buf_put(out, "\"", 1);
    return r;
}

typedef struct dump_target {
    buf *out;
    int r;
} dump_target;

static int dump_into_buf(const char *data, size_t size, void *opaque) {
    dump_target *t = opaque;
    t->r = buf_append(t->out, data, size);
    return t->r < 0 ? -1 : 0;
}

int json_text_value(buf *out, const json_t *value) {
    if (json_is_integer(value))
        return buf_printf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(value));
    dump_target t = {.out = out};
    if (json_dump_callback(value, dump_into_buf, &t, JSON_COMPACT | JSON_ENCODE_ANY) < 0)
        return t.r < 0 ? t.r : -EINVAL;
    return 0;
}
