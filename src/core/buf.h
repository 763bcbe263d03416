/* A growing byte buffer with a hard maximum size, so no input can grow memory without bound.
 * The content is always NUL-terminated. Appends past the maximum fail with -EMSGSIZE and leave the
 * buffer unchanged. */
#ifndef KUBEMCP_CORE_BUF_H
#define KUBEMCP_CORE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

typedef struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
} buf;

void buf_init(buf *b, size_t max);
void buf_free(buf *b);
void buf_reset(buf *b);
/* Makes room for extra more bytes (plus the NUL) without changing the content: -EMSGSIZE past the
 * maximum, -ENOMEM. Lets a writer fill b->data + b->len directly, then add to b->len. */
int buf_reserve(buf *b, size_t extra);
int buf_append(buf *b, const void *data, size_t len);
int buf_append_str(buf *b, const char *s);
/* buf_append for writers of many small pieces: an inline copy when the piece fits the capacity
 * (which never exceeds the maximum), buf_append otherwise. */
static inline int buf_put(buf *b, const void *data, size_t len) {
    if (b->cap - b->len > len) {
        memcpy(b->data + b->len, data, len);
        b->len += len;
        b->data[b->len] = '\0';
        return 0;
    }
    return buf_append(b, data, len);
}
int buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Hands the content to the caller (NULL when empty) and resets the buffer. */
char *buf_steal(buf *b);

#endif
