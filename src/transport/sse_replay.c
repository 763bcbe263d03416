/* SSE event ids and the bounded replay buffer behind stream resumption (SEP-1699). */
#include "transport/sse_replay.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sse_replay_init(sse_replay *r) {
    memset(r, 0, sizeof *r);
}

void sse_replay_clear(sse_replay *r) {
    sse_replay_event *e = r->head;
    while (e) {
        sse_replay_event *next = e->next;
        free(e);
        e = next;
    }
    sse_replay_init(r);
}

static void evict_oldest(sse_replay *r) {
    sse_replay_event *e = r->head;
    r->head = e->next;
    if (!r->head)
        r->tail = NULL;
    r->count--;
    r->bytes -= e->len;
    r->dropped_through = e->seq;
    free(e);
}

int sse_replay_add(sse_replay *r, uint64_t seq, const char *text, size_t len) {
    sse_replay_event *e = malloc(sizeof *e + len);
    if (!e)
        return -ENOMEM;
    e->next = NULL;
    e->seq = seq;
    e->len = len;
    memcpy(e->text, text, len);
    if (r->tail)
        r->tail->next = e;
    else
        r->head = e;
    r->tail = e;
    r->count++;
    r->bytes += len;
    while (r->count > 1 && (r->count > SSE_REPLAY_MAX_EVENTS || r->bytes > SSE_REPLAY_MAX_BYTES))
        evict_oldest(r);
    return 0;
}

int sse_replay_since(const sse_replay *r, uint64_t after, buf *out) {
    for (const sse_replay_event *e = r->head; e; e = e->next)
        if (e->seq > after && buf_append(out, e->text, e->len) < 0)
            return -EMSGSIZE;
    return r->dropped_through > after ? -ERANGE : 0;
}

void sse_replay_move(sse_replay *dst, sse_replay *src) {
    *dst = *src;
    sse_replay_init(src);
}

void sse_event_id_format(char *out, size_t out_len, char kind, uint64_t stream, uint64_t seq) {
    snprintf(out, out_len, "%c%" PRIu64 "-%" PRIu64, kind, stream, seq);
}

/* Digits only, no sign, no leading zeros, fits in 64 bits. */
static int parse_number(const char *s, size_t len, uint64_t *ret) {
    if (len == 0 || len > 20 || (len > 1 && s[0] == '0'))
        return -EINVAL;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -EINVAL;
        v = v * 10 + d;
    }
    *ret = v;
    return 0;
}

int sse_event_id_parse(const char *id, char *ret_kind, uint64_t *ret_stream, uint64_t *ret_seq) {
    if (!id || (id[0] != SSE_KIND_REQUEST && id[0] != SSE_KIND_GET))
        return -EINVAL;
    const char *dash = strchr(id + 1, '-');
    if (!dash)
        return -EINVAL;
    uint64_t stream, seq;
    if (parse_number(id + 1, (size_t)(dash - id - 1), &stream) < 0 || parse_number(dash + 1, strlen(dash + 1), &seq) < 0)
        return -EINVAL;
    *ret_kind = id[0];
    *ret_stream = stream;
    *ret_seq = seq;
    return 0;
}
