/* Resumable SSE streams of the Streamable HTTP transport (SEP-1699): event ids and the per-stream
 * replay buffer. Not thread-safe: the owner (an http_stream) guards it with its lock. */
#ifndef KUBEMCP_TRANSPORT_SSE_REPLAY_H
#define KUBEMCP_TRANSPORT_SSE_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* The replay buffer keeps at most this many events and bytes of one stream; the oldest go first.
 * The newest event is always kept whatever its size (it is often the request's response, the
 * one message a resuming client must get), so a stream holds at most
 * max(SSE_REPLAY_MAX_BYTES, one message) — and one message is bounded by max_output_bytes. */
#define SSE_REPLAY_MAX_EVENTS 64
#define SSE_REPLAY_MAX_BYTES ((size_t)1024 * 1024)

/* Event ids are "<kind><stream>-<seq>": kind 'r' for a stream answering a POSTed request, 'g' for
 * a GET stream; stream is unique in the session, seq counts the stream's events from 0 (the
 * priming event). So an id is unique across the session's streams and names its stream. */
#define SSE_EVENT_ID_MAX 48
#define SSE_KIND_REQUEST 'r'
#define SSE_KIND_GET 'g'

typedef struct sse_replay_event {
    struct sse_replay_event *next;
    uint64_t seq;
    size_t len;
    char text[]; /* the whole event as sent, "id: …\ndata: …\n\n" */
} sse_replay_event;

typedef struct sse_replay {
    sse_replay_event *head, *tail; /* oldest first */
    size_t count, bytes;
    uint64_t dropped_through; /* events with seq <= this were evicted (0 = none yet: seq 0 is never stored) */
} sse_replay;

void sse_replay_init(sse_replay *r);
void sse_replay_clear(sse_replay *r);
/* Keeps a copy of one event (seq greater than any kept before), evicting the oldest beyond the
 * bounds. -ENOMEM leaves the buffer as it was. */
int sse_replay_add(sse_replay *r, uint64_t seq, const char *text, size_t len);
/* Appends to out, in order, every kept event with seq > after. -ERANGE (after appending what it
 * has) when events after `after` were evicted already, -EMSGSIZE when out is full. */
int sse_replay_since(const sse_replay *r, uint64_t after, buf *out);
/* Moves everything from src to dst (dst must be empty); src is left empty. */
void sse_replay_move(sse_replay *dst, sse_replay *src);

/* Writes the id into out (at least SSE_EVENT_ID_MAX bytes). */
void sse_event_id_format(char *out, size_t out_len, char kind, uint64_t stream, uint64_t seq);
/* Parses an id written by sse_event_id_format; -EINVAL for anything else. */
int sse_event_id_parse(const char *id, char *ret_kind, uint64_t *ret_stream, uint64_t *ret_seq);

#endif
