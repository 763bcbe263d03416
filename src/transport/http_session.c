/* HTTP-side MCP sessions and the streams that carry their answers.
 *
 * Ownership: a session is reference counted (the id table holds one reference while it is open,
 * every request serving it holds one). The MCP engine's send callback may run on a worker after
 * the session was closed, so its opaque is a number looked up in a global table, never a pointer
 * that could dangle. A stream is referenced by its session (while waiting), by the request that
 * created it and by an SSE response; the connection pointer inside is cleared when MHD is done
 * with the connection, so a late answer never resumes a dead connection. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/log.h"
#include "transport/http_internal.h"

#define HANDLE_BUCKETS 4096
#define SSE_CHUNK_MAX ((size_t)64 * 1024 * 1024) /* bound on bytes queued for one slow SSE reader */

/* ---- the global handle table ------------------------------------------------------------ */

static pthread_mutex_t handles_lock = PTHREAD_MUTEX_INITIALIZER;
static http_session *handles[HANDLE_BUCKETS];
static uint64_t next_handle = 1;

static void handle_add(http_session *hs) {
    pthread_mutex_lock(&handles_lock);
    hs->handle = next_handle++;
    size_t b = hs->handle % HANDLE_BUCKETS;
    hs->next_by_handle = handles[b];
    handles[b] = hs;
    pthread_mutex_unlock(&handles_lock);
}

static void handle_remove(http_session *hs) {
    pthread_mutex_lock(&handles_lock);
    for (http_session **p = &handles[hs->handle % HANDLE_BUCKETS]; *p; p = &(*p)->next_by_handle)
        if (*p == hs) {
            *p = hs->next_by_handle;
            break;
        }
    pthread_mutex_unlock(&handles_lock);
}

static http_session *handle_find_ref(uint64_t handle) {
    http_session *found = NULL;
    pthread_mutex_lock(&handles_lock);
    for (http_session *hs = handles[handle % HANDLE_BUCKETS]; hs; hs = hs->next_by_handle)
        if (hs->handle == handle) {
            http_session_ref(hs);
            found = hs;
            break;
        }
    pthread_mutex_unlock(&handles_lock);
    return found;
}

double http_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- streams ---------------------------------------------------------------------------- */

http_stream *http_stream_new(http_server *s, stream_kind kind, const json_t *related_id) {
    http_stream *st = calloc(1, sizeof *st);
    if (!st)
        return NULL;
    pthread_mutex_init(&st->lock, NULL);
    st->refs = 1;
    st->kind = kind;
    st->server = s;
    st->related_id = related_id ? json_deep_copy(related_id) : NULL;
    buf_init(&st->out, kind == STREAM_JSON ? HTTP_BUF_MAX : SSE_CHUNK_MAX);
    sse_replay_init(&st->replay);
    st->last_write = http_now();
    return st;
}

void http_stream_ref(http_stream *st) {
    pthread_mutex_lock(&st->lock);
    st->refs++;
    pthread_mutex_unlock(&st->lock);
}

void http_stream_unref(http_stream *st) {
    if (!st)
        return;
    pthread_mutex_lock(&st->lock);
    bool last = --st->refs == 0;
    pthread_mutex_unlock(&st->lock);
    if (!last)
        return;
    json_decref(st->related_id);
    buf_free(&st->out);
    sse_replay_clear(&st->replay);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

/* Caller holds st->lock. */
static void stream_wake_locked(http_stream *st) {
    if (st->suspended && st->conn) {
        st->suspended = false;
        MHD_resume_connection(st->conn);
    }
}

void http_stream_push(http_stream *st, const char *data, size_t len, bool finish) {
    pthread_mutex_lock(&st->lock);
    if (!st->finished) {
        if (data && buf_append(&st->out, data, len) < 0) {
            /* The reader does not keep up: end its stream rather than grow without bound. */
            log_warn("an SSE client is not reading; ending its stream");
            finish = true;
        }
        if (finish)
            st->finished = true;
        stream_wake_locked(st);
    }
    pthread_mutex_unlock(&st->lock);
}

void http_stream_finish(http_stream *st) {
    http_stream_push(st, NULL, 0, true);
}

/* SEP-1699: the first event of a POST stream has an id and no data, so a client whose stream
 * ends before the response knows where to resume from; retry: tells it how long to wait. */
void http_stream_prime(http_stream *st) {
    pthread_mutex_lock(&st->lock);
    if (st->number && !st->finished) {
        char id[SSE_EVENT_ID_MAX];
        sse_event_id_format(id, sizeof id, SSE_KIND_REQUEST, st->number, 0);
        buf_printf(&st->out, "id: %s\nretry: %d\ndata: \n\n", id, HTTP_SSE_RETRY_MS);
        stream_wake_locked(st);
    }
    pthread_mutex_unlock(&st->lock);
}

void http_stream_bind(http_stream *st, struct MHD_Connection *conn) {
    pthread_mutex_lock(&st->lock);
    st->conn = conn;
    pthread_mutex_unlock(&st->lock);
}

void http_stream_unbind(http_stream *st) {
    pthread_mutex_lock(&st->lock);
    st->conn = NULL;
    st->suspended = false;
    st->finished = true;
    pthread_mutex_unlock(&st->lock);
}

static void server_list_remove(http_stream *st) {
    http_server *s = st->server;
    pthread_mutex_lock(&s->streams_lock);
    if (st->server_prev || s->sse_streams == st) {
        if (st->server_prev)
            st->server_prev->server_next = st->server_next;
        else
            s->sse_streams = st->server_next;
        if (st->server_next)
            st->server_next->server_prev = st->server_prev;
        st->server_next = st->server_prev = NULL;
        pthread_mutex_unlock(&s->streams_lock);
        http_stream_unref(st);
        return;
    }
    pthread_mutex_unlock(&s->streams_lock);
}

ssize_t http_stream_read(void *cls, uint64_t pos, char *out, size_t max) {
    (void)pos;
    http_stream *st = cls;
    pthread_mutex_lock(&st->lock);
    ssize_t n;
    if (st->out.len > 0) {
        size_t take = st->out.len < max ? st->out.len : max;
        memcpy(out, st->out.data, take);
        memmove(st->out.data, st->out.data + take, st->out.len - take);
        st->out.len -= take;
        st->out.data[st->out.len] = '\0';
        st->last_write = http_now();
        n = (ssize_t)take;
    } else if (st->finished || !st->conn) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else {
        /* Nothing to send: leave MHD's loop until a message or keepalive arrives. Returning 0
         * without suspending would make MHD call us again at once, forever. */
        st->suspended = true;
        MHD_suspend_connection(st->conn);
        n = 0;
    }
    pthread_mutex_unlock(&st->lock);
    return n;
}

void http_stream_response_free(void *cls) {
    http_stream *st = cls;
    server_list_remove(st);
    http_stream_unref(st);
}

void http_streams_keepalive(http_server *s, double now, double idle) {
    pthread_mutex_lock(&s->streams_lock);
    for (http_stream *st = s->sse_streams; st; st = st->server_next) {
        pthread_mutex_lock(&st->lock);
        if (!st->finished && st->conn && st->out.len == 0 && now - st->last_write >= idle) {
            static const char keepalive[] = ": keepalive\n\n";
            if (buf_append(&st->out, keepalive, sizeof keepalive - 1) == 0) {
                st->last_write = now;
                stream_wake_locked(st);
            }
        }
        pthread_mutex_unlock(&st->lock);
    }
    pthread_mutex_unlock(&s->streams_lock);
}

void http_streams_end_all(http_server *s) {
    pthread_mutex_lock(&s->streams_lock);
    for (http_stream *st = s->sse_streams; st; st = st->server_next) {
        pthread_mutex_lock(&st->lock);
        st->finished = true;
        stream_wake_locked(st);
        pthread_mutex_unlock(&st->lock);
    }
    pthread_mutex_unlock(&s->streams_lock);
}

/* ---- sessions --------------------------------------------------------------------------- */

static size_t id_bucket(const http_server *s, const char *id) {
    size_t h = 5381;
    for (const char *p = id; *p; p++)
        h = h * 33 + (unsigned char)*p;
    return h % s->by_id_buckets;
}

void http_sessions_init(http_server *s) {
    pthread_mutex_init(&s->sessions_lock, NULL);
    pthread_mutex_init(&s->streams_lock, NULL);
    s->by_id_buckets = 4096;
    s->by_id = calloc(s->by_id_buckets, sizeof *s->by_id);
}

void http_sessions_fini(http_server *s) {
    free(s->by_id);
    s->by_id = NULL;
    pthread_mutex_destroy(&s->sessions_lock);
    pthread_mutex_destroy(&s->streams_lock);
}

void http_session_ref(http_session *hs) {
    pthread_mutex_lock(&hs->lock);
    hs->refs++;
    pthread_mutex_unlock(&hs->lock);
}

void http_session_unref(http_session *hs) {
    if (!hs)
        return;
    pthread_mutex_lock(&hs->lock);
    bool last = --hs->refs == 0;
    pthread_mutex_unlock(&hs->lock);
    if (!last)
        return;
    json_decref(hs->tool_calls);
    free(hs->principal);
    pthread_mutex_destroy(&hs->lock);
    free(hs);
}

/* Is this JSON text an object with the key at its top level? A small scanner, so routing does not
 * parse every (up to megabytes long) answer. */
static bool top_level_key(const char *json, size_t len, const char *key) {
    size_t klen = strlen(key);
    int depth = 0;
    bool expect_key = false;
    for (size_t i = 0; i < len; i++) {
        char c = json[i];
        if (c == '"') {
            size_t start = i + 1;
            for (i++; i < len && json[i] != '"'; i++)
                if (json[i] == '\\')
                    i++;
            if (depth == 1 && expect_key && i - start == klen && memcmp(json + start, key, klen) == 0)
                return true;
            expect_key = false;
        } else if (c == '{' || c == '[') {
            depth++;
            expect_key = c == '{' && depth == 1;
        } else if (c == '}' || c == ']') {
            depth--;
        } else if (c == ',' && depth == 1) {
            expect_key = true;
        }
    }
    return false;
}

static void record_tool_call(http_session *hs, const char *json, size_t len, const json_t *id) {
    metrics *m = hs->server->opts.metrics;
    if (!m || !id)
        return;
    char *key = json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!key)
        return;
    pthread_mutex_lock(&hs->lock);
    json_t *entry = hs->tool_calls ? json_object_get(hs->tool_calls, key) : NULL;
    char tool[128] = "";
    double start = 0;
    if (entry) {
        snprintf(tool, sizeof tool, "%s", json_string_value(json_object_get(entry, "tool")));
        start = json_real_value(json_object_get(entry, "start"));
        json_object_del(hs->tool_calls, key);
    }
    pthread_mutex_unlock(&hs->lock);
    free(key);
    if (!entry)
        return;
    /* "isError":true appears in the result object of a failed call; JSON-RPC errors have "error". */
    bool failed = top_level_key(json, len, "error") || (strstr(json, "\"isError\":true") != NULL);
    metrics_tool_call(m, tool, failed ? "error" : "ok", http_now() - start);
}

void http_session_note_tool_call(http_session *hs, const json_t *id, const char *tool) {
    if (!hs->server->opts.metrics || !id || !tool)
        return;
    char *key = json_dumps(id, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!key)
        return;
    pthread_mutex_lock(&hs->lock);
    if (!hs->tool_calls)
        hs->tool_calls = json_object();
    if (json_object_size(hs->tool_calls) < 1024)
        json_object_set_new(hs->tool_calls, key, json_pack("{s:s, s:f}", "tool", tool, "start", http_now()));
    pthread_mutex_unlock(&hs->lock);
    free(key);
}

/* Formats one message as the next event of st, with its id when the stream is numbered; returns
 * the event's seq (0 = no id). Caller holds st->lock. */
static uint64_t sse_event_locked(http_stream *st, buf *b, const char *json, size_t len) {
    uint64_t seq = 0;
    buf_append_str(b, "event: message\n");
    if (st->number) {
        seq = st->next_seq++;
        char id[SSE_EVENT_ID_MAX];
        sse_event_id_format(id, sizeof id, st->kind == STREAM_STANDALONE ? SSE_KIND_GET : SSE_KIND_REQUEST, st->number,
                            seq);
        buf_printf(b, "id: %s\n", id);
    }
    buf_append_str(b, "data: ");
    buf_append(b, json, len);
    buf_append_str(b, "\n\n");
    return seq;
}

/* Takes st off the session's list of streams waiting for answers; true when it was there (the
 * list's reference now belongs to the caller). Caller holds hs->lock. */
static bool unlink_stream_locked(http_session *hs, http_stream *st) {
    for (http_stream **p = &hs->streams; *p; p = &(*p)->session_next)
        if (*p == st) {
            *p = st->session_next;
            st->session_next = NULL;
            return true;
        }
    return false;
}

/* Keeps an answered stream no connection carried, for a client that resumes it; returns the
 * oldest parked stream when there are too many (the caller drops its reference). Caller holds
 * hs->lock and hands over the list reference of st. */
static http_stream *park_locked(http_session *hs, http_stream *st) {
    st->session_next = hs->parked;
    hs->parked = st;
    if (++hs->parked_count <= HTTP_PARKED_STREAMS_MAX)
        return NULL;
    http_stream **p = &hs->parked;
    while ((*p)->session_next)
        p = &(*p)->session_next;
    http_stream *oldest = *p;
    *p = NULL;
    hs->parked_count--;
    return oldest;
}

/* Remembers the version an initialize answer settled on. */
static void note_version(http_session *hs, const char *json, size_t len) {
    const char *p = strstr(json, "\"protocolVersion\":\"");
    if (!p || (size_t)(p - json) >= len)
        return;
    p += strlen("\"protocolVersion\":\"");
    const char *end = strchr(p, '"');
    if (!end || end - p >= (long)sizeof hs->protocol_version)
        return;
    pthread_mutex_lock(&hs->lock);
    memcpy(hs->protocol_version, p, (size_t)(end - p));
    hs->protocol_version[end - p] = '\0';
    pthread_mutex_unlock(&hs->lock);
}

/* The MCP engine's send callback: route one message to the stream waiting for it. */
static void session_send(void *opaque, const char *json, size_t len, const json_t *related_id) {
    http_session *hs = handle_find_ref((uint64_t)(uintptr_t)opaque);
    if (!hs)
        return; /* closed: nobody is listening any more */
    bool is_response = !top_level_key(json, len, "method");
    if (is_response && top_level_key(json, len, "result") && strstr(json, "\"protocolVersion\""))
        note_version(hs, json, len);
    if (is_response)
        record_tool_call(hs, json, len, related_id);

    /* Routing and delivery happen under the session lock, so the events of one stream keep their
     * order and a resuming GET (http_session_resume) never misses one. */
    http_stream *target = NULL, *release = NULL;
    pthread_mutex_lock(&hs->lock);
    if (!hs->legacy && related_id) {
        for (http_stream *st = hs->streams; st; st = st->session_next)
            if (st->related_id && json_equal(st->related_id, related_id)) {
                target = st;
                break;
            }
        /* A JSON answer carries only the response; notifications go to the GET stream. */
        if (target && target->kind == STREAM_JSON && !is_response)
            target = NULL;
    }
    if (!target)
        target = hs->standalone;

    if (!target) {
        log_debug("no stream is open for a server message; dropped");
    } else if (target->kind == STREAM_JSON) {
        pthread_mutex_lock(&target->lock);
        if (!target->answered) {
            buf_reset(&target->out);
            buf_append(&target->out, json, len);
            target->answered = true;
            target->finished = true;
            stream_wake_locked(target);
        }
        pthread_mutex_unlock(&target->lock);
        if (is_response && unlink_stream_locked(hs, target))
            release = target;
    } else {
        buf ev;
        buf_init(&ev, HTTP_BUF_MAX);
        bool ends = target->kind == STREAM_POST_SSE && is_response;
        pthread_mutex_lock(&target->lock);
        uint64_t seq = sse_event_locked(target, &ev, json, len);
        /* Kept for a client that resumes; a response no connection carries is still delivered so. */
        if (target->kind == STREAM_POST_SSE && seq && sse_replay_add(&target->replay, seq, ev.data, ev.len) < 0)
            log_warn("out of memory keeping an SSE event for resumption");
        bool live = !target->finished && target->conn;
        if (ends)
            target->answered = true;
        pthread_mutex_unlock(&target->lock);
        http_stream_push(target, ev.data, ev.len, ends);
        buf_free(&ev);
        if (ends && unlink_stream_locked(hs, target))
            release = live || !target->number ? target : park_locked(hs, target);
    }
    pthread_mutex_unlock(&hs->lock);
    http_stream_unref(release);
    http_session_unref(hs);
}

/* mcp_session_options.close_stream: ends the HTTP response carrying the request's POST stream
 * now; the request goes on, and its later events wait in the stream's replay buffer for the
 * client's GET with Last-Event-ID. */
static int session_close_stream(void *opaque, const json_t *related_id) {
    http_session *hs = handle_find_ref((uint64_t)(uintptr_t)opaque);
    if (!hs)
        return -ENOTSUP;
    int r = -ENOTSUP;
    pthread_mutex_lock(&hs->lock);
    for (http_stream *st = related_id ? hs->streams : NULL; st; st = st->session_next) {
        if (st->kind != STREAM_POST_SSE || !st->number || !st->related_id || !json_equal(st->related_id, related_id))
            continue;
        pthread_mutex_lock(&st->lock);
        if (!st->answered) {
            st->finished = true;
            stream_wake_locked(st);
            r = 0;
        }
        pthread_mutex_unlock(&st->lock);
        break;
    }
    pthread_mutex_unlock(&hs->lock);
    http_session_unref(hs);
    return r;
}

int http_session_resume(http_session *hs, uint64_t number, uint64_t last_seq, http_stream **ret) {
    pthread_mutex_lock(&hs->lock);
    http_stream *old = NULL, **link = NULL;
    bool parked = false;
    for (http_stream **p = &hs->streams; *p && !old; p = &(*p)->session_next)
        if ((*p)->kind == STREAM_POST_SSE && (*p)->number == number) {
            old = *p;
            link = p;
        }
    for (http_stream **p = &hs->parked; *p && !old; p = &(*p)->session_next)
        if ((*p)->number == number) {
            old = *p;
            link = p;
            parked = true;
        }
    if (!old || hs->closed) {
        pthread_mutex_unlock(&hs->lock);
        return -ENOENT;
    }
    http_stream *st = http_stream_new(hs->server, STREAM_POST_SSE, old->related_id);
    if (!st) {
        pthread_mutex_unlock(&hs->lock);
        return -ENOMEM;
    }
    pthread_mutex_lock(&old->lock);
    if (last_seq >= old->next_seq) {
        /* An id this stream never sent. */
        pthread_mutex_unlock(&old->lock);
        pthread_mutex_unlock(&hs->lock);
        http_stream_unref(st);
        return -ENOENT;
    }
    st->number = old->number;
    st->next_seq = old->next_seq;
    st->answered = old->answered;
    sse_replay_move(&st->replay, &old->replay);
    /* The old connection, if the client still has it, ends: the new one carries the stream. */
    old->finished = true;
    stream_wake_locked(old);
    pthread_mutex_unlock(&old->lock);
    int r = sse_replay_since(&st->replay, last_seq, &st->out);
    if (st->answered)
        st->finished = true; /* everything is in out: the stream ends after it */
    /* The list's reference to old passes to st (taken below); a parked stream is consumed. */
    *link = old->session_next;
    old->session_next = NULL;
    if (parked) {
        hs->parked_count--;
    } else {
        st->session_next = *link;
        *link = st;
        http_stream_ref(st);
    }
    pthread_mutex_unlock(&hs->lock);
    http_stream_unref(old);
    *ret = st;
    return r == -ERANGE ? -ERANGE : 0;
}

void http_session_release_stream(http_session *hs, http_stream *st) {
    pthread_mutex_lock(&st->lock);
    bool keep = st->kind == STREAM_POST_SSE && st->number && !st->answered;
    pthread_mutex_unlock(&st->lock);
    /* A POST stream whose response has not come yet stays with the session: the client may
     * resume it (SEP-1699), and its events wait in the replay buffer until then. */
    if (!keep)
        http_session_detach(hs, st);
}

/* From the kernel's CSPRNG: opening a session does not load libcrypto (src/lazy/). */
static int random_id(char out[HTTP_SESSION_ID_LEN + 1]) {
    unsigned char bytes[HTTP_SESSION_ID_LEN / 2];
    if (getrandom(bytes, sizeof bytes, 0) != (ssize_t)sizeof bytes)
        return -EIO;
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof bytes; i++) {
        out[2 * i] = hex[bytes[i] >> 4];
        out[2 * i + 1] = hex[bytes[i] & 15];
    }
    out[HTTP_SESSION_ID_LEN] = '\0';
    return 0;
}

int http_session_new(http_server *s, bool with_id, bool legacy, http_session **ret) {
    http_session *hs = calloc(1, sizeof *hs);
    if (!hs)
        return -ENOMEM;
    pthread_mutex_init(&hs->lock, NULL);
    hs->server = s;
    hs->refs = 1; /* the caller's */
    hs->legacy = legacy;
    hs->last_used = http_now();
    snprintf(hs->protocol_version, sizeof hs->protocol_version, "%s", legacy ? "2024-11-05" : "2025-03-26");
    if (with_id && random_id(hs->id) < 0) {
        pthread_mutex_destroy(&hs->lock);
        free(hs);
        return -EIO;
    }
    if (with_id) {
        pthread_mutex_lock(&s->sessions_lock);
        if (s->session_count >= s->cfg->max_sessions) {
            pthread_mutex_unlock(&s->sessions_lock);
            pthread_mutex_destroy(&hs->lock);
            free(hs);
            return -EBUSY;
        }
        s->session_count++;
        hs->counted = true;
        size_t b = id_bucket(s, hs->id);
        hs->next_by_id = s->by_id[b];
        s->by_id[b] = hs;
        hs->refs++; /* the table's */
        pthread_mutex_unlock(&s->sessions_lock);
        if (s->opts.metrics)
            metrics_gauge_add(s->opts.metrics, "kubemcp_sessions", 1);
    }
    handle_add(hs);
    mcp_session_options so = {
        .send = session_send,
        .send_opaque = (void *)(uintptr_t)hs->handle,
        .close_stream = session_close_stream,
    };
    int r = mcp_session_new(s->opts.mcp, &so, &hs->mcp);
    if (r < 0) {
        http_session_close(hs);
        http_session_unref(hs);
        return r;
    }
    *ret = hs;
    return 0;
}

http_session *http_session_find(http_server *s, const char *id) {
    if (!id || strlen(id) != HTTP_SESSION_ID_LEN)
        return NULL;
    http_session *found = NULL;
    pthread_mutex_lock(&s->sessions_lock);
    for (http_session *hs = s->by_id[id_bucket(s, id)]; hs; hs = hs->next_by_id)
        if (strcmp(hs->id, id) == 0) {
            http_session_ref(hs);
            found = hs;
            break;
        }
    pthread_mutex_unlock(&s->sessions_lock);
    return found;
}

void http_session_touch(http_session *hs, int busy_delta) {
    pthread_mutex_lock(&hs->lock);
    hs->busy += busy_delta;
    hs->last_used = http_now();
    pthread_mutex_unlock(&hs->lock);
}

void http_session_close(http_session *hs) {
    http_server *s = hs->server;
    pthread_mutex_lock(&hs->lock);
    if (hs->closed) {
        pthread_mutex_unlock(&hs->lock);
        return;
    }
    hs->closed = true;
    http_stream *streams = hs->streams, *standalone = hs->standalone, *parked = hs->parked;
    hs->streams = NULL;
    hs->standalone = NULL;
    hs->parked = NULL;
    hs->parked_count = 0;
    mcp_session *mcp = hs->mcp;
    hs->mcp = NULL;
    pthread_mutex_unlock(&hs->lock);

    handle_remove(hs);
    bool table_ref = false;
    if (hs->id[0]) {
        pthread_mutex_lock(&s->sessions_lock);
        for (http_session **p = &s->by_id[id_bucket(s, hs->id)]; *p; p = &(*p)->next_by_id)
            if (*p == hs) {
                *p = hs->next_by_id;
                table_ref = true;
                break;
            }
        if (hs->counted)
            s->session_count--;
        pthread_mutex_unlock(&s->sessions_lock);
        if (hs->counted && s->opts.metrics)
            metrics_gauge_add(s->opts.metrics, "kubemcp_sessions", -1);
    }
    while (streams) {
        http_stream *next = streams->session_next;
        streams->session_next = NULL;
        http_stream_finish(streams);
        http_stream_unref(streams);
        streams = next;
    }
    if (standalone) {
        http_stream_finish(standalone);
        http_stream_unref(standalone);
    }
    while (parked) {
        http_stream *next = parked->session_next;
        parked->session_next = NULL;
        http_stream_unref(parked);
        parked = next;
    }
    if (mcp)
        mcp_session_close(mcp);
    if (table_ref)
        http_session_unref(hs);
}

void http_session_attach(http_session *hs, http_stream *st) {
    http_stream *old = NULL;
    pthread_mutex_lock(&hs->lock);
    if (hs->closed) {
        pthread_mutex_unlock(&hs->lock);
        http_stream_finish(st);
        return;
    }
    http_stream_ref(st);
    if (hs->id[0] && (st->kind == STREAM_POST_SSE || st->kind == STREAM_STANDALONE)) {
        /* Event ids (and so resumption) only where a client can come back: a session with an id. */
        pthread_mutex_lock(&st->lock);
        st->number = ++hs->next_stream_number;
        st->next_seq = 1;
        pthread_mutex_unlock(&st->lock);
    }
    if (st->kind == STREAM_STANDALONE || st->kind == STREAM_LEGACY) {
        old = hs->standalone;
        hs->standalone = st;
    } else {
        st->session_next = hs->streams;
        hs->streams = st;
    }
    pthread_mutex_unlock(&hs->lock);
    if (old) {
        http_stream_finish(old);
        http_stream_unref(old);
    }
}

void http_session_detach(http_session *hs, http_stream *st) {
    bool found = false;
    pthread_mutex_lock(&hs->lock);
    if (hs->standalone == st) {
        hs->standalone = NULL;
        found = true;
    } else {
        for (http_stream **p = &hs->streams; *p; p = &(*p)->session_next)
            if (*p == st) {
                *p = st->session_next;
                st->session_next = NULL;
                found = true;
                break;
            }
    }
    pthread_mutex_unlock(&hs->lock);
    if (found)
        http_stream_unref(st);
}

void http_sessions_expire(http_server *s, double now, double idle_timeout) {
    for (;;) {
        http_session *victim = NULL;
        pthread_mutex_lock(&s->sessions_lock);
        for (size_t b = 0; b < s->by_id_buckets && !victim; b++)
            for (http_session *hs = s->by_id[b]; hs; hs = hs->next_by_id) {
                pthread_mutex_lock(&hs->lock);
                bool idle = hs->busy == 0 && !hs->standalone && !hs->streams && now - hs->last_used > idle_timeout;
                pthread_mutex_unlock(&hs->lock);
                if (idle) {
                    http_session_ref(hs);
                    victim = hs;
                    break;
                }
            }
        pthread_mutex_unlock(&s->sessions_lock);
        if (!victim)
            return;
        log_info("closing MCP session %.8s… after %.0f s without use", victim->id, idle_timeout);
        http_session_close(victim);
        http_session_unref(victim);
    }
}

void http_sessions_close_all(http_server *s) {
    for (;;) {
        http_session *victim = NULL;
        pthread_mutex_lock(&s->sessions_lock);
        for (size_t b = 0; b < s->by_id_buckets && !victim; b++)
            if (s->by_id[b]) {
                victim = s->by_id[b];
                http_session_ref(victim);
            }
        pthread_mutex_unlock(&s->sessions_lock);
        if (!victim)
            return;
        http_session_close(victim);
        http_session_unref(victim);
    }
}
