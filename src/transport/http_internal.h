/* Shared between the HTTP transport's files; not for other modules. */
#ifndef KUBEMCP_TRANSPORT_HTTP_INTERNAL_H
#define KUBEMCP_TRANSPORT_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "core/buf.h"
#include "gate/authenticate.h"
#include "gate/cors.h"
#include "transport/http_server.h"
#include "transport/sse_replay.h"

#define HTTP_SESSION_ID_LEN 64 /* 32 random bytes, hex */
/* The `retry:` (milliseconds) sent with the priming event of a POST stream: how long a client
 * whose stream ended before the response waits before it resumes with GET + Last-Event-ID. */
#define HTTP_SSE_RETRY_MS 1000
/* Streams of a session whose request was answered while no connection carried them, kept so the
 * client can still resume them (the oldest goes first). */
#define HTTP_PARKED_STREAMS_MAX 8
/* Bound for buffers whose content is already bounded elsewhere (max_output_bytes, max_body_bytes). */
#define HTTP_BUF_MAX ((size_t)1 << 30)

typedef struct http_session http_session;
typedef struct http_stream http_stream;
typedef struct http_tls http_tls;

/* One pending answer on one connection: a JSON body awaited from a worker, or an SSE stream. */
typedef enum stream_kind {
    STREAM_JSON,       /* POST answered with one application/json body */
    STREAM_POST_SSE,   /* POST answered with text/event-stream, ends after the response; also the GET
                        * that resumes such a stream (Last-Event-ID) */
    STREAM_STANDALONE, /* GET /mcp: server messages not related to a request */
    STREAM_LEGACY,     /* GET /sse: every message of the session */
} stream_kind;

struct http_stream {
    pthread_mutex_t lock;
    int refs;
    stream_kind kind;
    http_server *server;
    struct MHD_Connection *conn; /* NULL once the connection is finished with the stream */
    bool suspended;              /* we suspended conn and owe it a resume */
    bool finished;               /* nothing more will be queued: end after `out` is sent */
    bool answered;               /* the response to related_id arrived */
    bool counted;                /* counted in kubemcp_open_sse_streams */
    json_t *related_id;          /* the request this stream answers (JSON, POST_SSE) */
    buf out;                     /* bytes not yet handed to MHD (SSE) or the JSON answer */
    /* Streamable HTTP SSE (POST_SSE, STANDALONE): event ids, and for POST_SSE the events kept for
     * a client that resumes (guarded by lock). */
    uint64_t number;             /* the stream's number in its session (ids "r<number>-<seq>") */
    uint64_t next_seq;           /* the next event's seq; 0 is the priming event */
    sse_replay replay;
    double last_write;           /* monotonic seconds */
    http_stream *session_next;   /* in the session's list (guarded by the session lock) */
    http_stream *server_next, *server_prev; /* in the server's list of SSE streams */
};

struct http_session {
    http_server *server;
    uint64_t handle;                  /* the send callback's opaque: looked up, never dereferenced */
    char id[HTTP_SESSION_ID_LEN + 1]; /* "" for a throwaway (stateless) session */
    pthread_mutex_t lock;
    int refs;
    bool legacy;
    bool closed;
    bool counted;                     /* counted in kubemcp_sessions / the session limit */
    int busy;                         /* requests being served: keeps the session from expiring */
    double last_used;
    char protocol_version[16];
    char *principal;                  /* who opened it (gate_decision.principal); NULL = no gate */
    mcp_session *mcp;
    http_stream *streams;    /* streams waiting for answers to requests */
    http_stream *parked;     /* answered POST streams no connection carried: kept for resumption */
    size_t parked_count;
    uint64_t next_stream_number; /* numbers SSE streams for their event ids */
    http_stream *standalone; /* GET /mcp or /sse stream */
    json_t *tool_calls;      /* {"<id json>": {"tool":…, "start":…}} for metrics */
    http_session *next_by_handle;
    http_session *next_by_id;
};

struct http_server {
    struct worker_pool *auth_pool; /* runs gate decisions that wait on the network (TokenReview) */
    gate *bound_gate;              /* made by opts.on_bound once the URL is known (owned) */
    char *protected_resource_metadata; /* JSON text served on the PRM route; NULL = 404 (owned) */
    http_server_options opts;
    const kubemcp_config *cfg;
    struct MHD_Daemon *daemon;
    int listen_fd;
    bool loopback;
    bool tls;
    unsigned port;
    char url[128];
    http_tls *tls_state;

    pthread_rwlock_t cors_lock;
    cors_policy *cors;

    /* sessions by id */
    pthread_mutex_t sessions_lock;
    http_session **by_id;
    size_t by_id_buckets;
    long session_count;

    /* SSE streams, for keepalives and shutdown */
    pthread_mutex_t streams_lock;
    http_stream *sse_streams;

    atomic_int active_requests; /* requests with a context, finished in the completed callback */
    atomic_bool stopping;

    pthread_t housekeeper;
    pthread_mutex_t hk_lock;
    pthread_cond_t hk_cond;
    bool hk_stop;

    /* readiness prober */
    pthread_t prober;
    pthread_mutex_t ready_lock;
    pthread_cond_t ready_cond;
    bool probe_wanted, probe_running, prober_stop;
    double probe_started, ready_checked;
    atomic_bool probe_cancel;
    bool ready_ok;
    char ready_reason[512];
    struct ready_waiter *ready_waiters;
};

/* Routes, also the metrics label. */
typedef enum http_route {
    ROUTE_MCP,
    ROUTE_SSE,
    ROUTE_MESSAGE,
    ROUTE_REST,
    ROUTE_HEALTH,
    ROUTE_READY,
    ROUTE_METRICS,
    ROUTE_PROTECTED_RESOURCE, /* /.well-known/oauth-protected-resource[/mcp] (RFC 9728), never authenticated */
    ROUTE_AUTHORIZATION_SERVER,  /* /.well-known/oauth-authorization-server[/…] (RFC 8414), never authenticated */
    ROUTE_OPENID_CONFIGURATION,  /* /.well-known/openid-configuration[/…], never authenticated */
    ROUTE_OTHER,
} http_route;

/* Per-request context (MHD's con_cls). */
typedef struct http_request {
    http_server *server;
    struct MHD_Connection *conn;
    http_route route;
    const char *method;
    const char *url;
    double start;
    int status;
    bool preflight;
    bool body_too_large;
    bool waiting;       /* suspended until stream answers */
    bool done;          /* a response has been queued */
    bool one_shot;      /* session is throwaway: close it when the request completes */
    bool new_session;   /* send Mcp-Session-Id */
    bool is_initialize;
    bool counted_busy;
    buf body;
    http_session *session; /* reference */
    http_stream *stream;   /* reference */
    struct ready_waiter *ready;
    char rest_tool[160];
    bool authenticated;    /* auth holds the gate's decision for this request */
    bool auth_pending;     /* suspended while a worker asks the gate (TokenReview) */
    bool metadata_pending; /* suspended while a worker fetches the issuer's metadata */
    unsigned metadata_status; /* its answer, once metadata_body is set */
    char *metadata_body;   /* owned */
    char peer[64];         /* the client's address, for the audit log */
    gate_decision auth;    /* who is calling, and the credential their tool calls use */
} http_request;

/* The caller view of an authenticated request, for mcp_session_receive_as (storage is filled and
 * returned; NULL when the request was not authenticated). */
const mcp_caller *http_caller(http_request *req, mcp_caller *storage);
/* Whether an authenticated caller may call this tool (its token's scopes); when not, req->auth
 * holds the 403 insufficient_scope answer for http_respond_unauthorized. */
bool http_tool_call_allowed(http_request *req, const char *tool_name);
enum MHD_Result http_respond_unauthorized(http_request *req);
/* Whether a request may use a session: the session was opened by the same principal. */
bool http_session_principal_matches(http_session *hs, const http_request *req);

double http_now(void);

/* ---- responses (http_server.c) ---- */
/* Queues a response with the common headers (security, CORS); takes ownership of body (malloc'd). */
enum MHD_Result http_respond(http_request *req, unsigned status, const char *content_type, char *body, size_t len,
                             const char *session_id);
enum MHD_Result http_respond_text(http_request *req, unsigned status, const char *content_type, const char *text);
/* 4xx/5xx with a JSON-RPC error body (id null) — what MCP clients expect on /mcp. */
enum MHD_Result http_respond_jsonrpc_error(http_request *req, unsigned status, int code, const char *message);
/* Starts an SSE response reading from stream (takes a stream reference for the response). */
enum MHD_Result http_respond_sse(http_request *req, http_stream *stream, const char *session_id);
enum MHD_Result http_method_not_allowed(http_request *req, const char *allow);
const char *http_header(http_request *req, const char *name);
bool http_accepts_sse(http_request *req);

/* ---- sessions and streams (http_session.c) ---- */
void http_sessions_init(http_server *s);
void http_sessions_fini(http_server *s);
/* New session (throwaway when !with_id). -EBUSY at max_sessions. */
int http_session_new(http_server *s, bool with_id, bool legacy, http_session **ret);
/* Reference to the live session with this id, or NULL. */
http_session *http_session_find(http_server *s, const char *id);
void http_session_ref(http_session *hs);
void http_session_unref(http_session *hs);
/* Ends the session: unlisted, its streams finished, the MCP session closed. Idempotent. */
void http_session_close(http_session *hs);
void http_session_touch(http_session *hs, int busy_delta);
/* Closes sessions idle longer than the timeout; sends keepalives. Called by the housekeeper. */
void http_sessions_expire(http_server *s, double now, double idle_timeout);
void http_sessions_close_all(http_server *s);

http_stream *http_stream_new(http_server *s, stream_kind kind, const json_t *related_id);
void http_stream_ref(http_stream *st);
void http_stream_unref(http_stream *st);
/* Attaches a stream to a session: JSON/POST_SSE wait for related_id; STANDALONE/LEGACY replace the
 * session's standalone stream (an older one ends). */
void http_session_attach(http_session *hs, http_stream *st);
void http_session_detach(http_session *hs, http_stream *st);
/* The connection carrying st ended (completed callback): detaches it, except a numbered POST
 * stream still waiting for its response, which stays for the client to resume. */
void http_session_release_stream(http_session *hs, http_stream *st);
/* Resumes a POST stream for a GET carrying Last-Event-ID: a new stream (reference returned in
 * *ret) takes over the request's stream (its number, related_id and replay buffer), holding the
 * events after last_seq; the old stream ends. -ENOENT when the session has no such stream
 * (answered and delivered, never opened, or dropped), -ERANGE when events after last_seq were
 * evicted already (the stream is resumed with what is left). */
int http_session_resume(http_session *hs, uint64_t number, uint64_t last_seq, http_stream **ret);
/* Writes the priming event of a POST stream (its id and retry:, empty data). */
void http_stream_prime(http_stream *st);
/* Appends bytes and wakes the connection (from any thread). */
void http_stream_push(http_stream *st, const char *data, size_t len, bool finish);
/* Ends the stream after what it holds. */
void http_stream_finish(http_stream *st);
/* Registers the stream's connection (called on the MHD thread before suspending or responding). */
void http_stream_bind(http_stream *st, struct MHD_Connection *conn);
/* The connection is done with the stream (completed callback). */
void http_stream_unbind(http_stream *st);
/* MHD content reader for SSE responses. */
ssize_t http_stream_read(void *cls, uint64_t pos, char *out, size_t max);
void http_stream_response_free(void *cls);
/* Keepalive on idle SSE streams; ending every stream at shutdown. */
void http_streams_keepalive(http_server *s, double now, double idle);
void http_streams_end_all(http_server *s);
/* Remembers a tools/call for metrics. */
void http_session_note_tool_call(http_session *hs, const json_t *id, const char *tool);

/* ---- endpoints ---- */
enum MHD_Result streamable_http_handle(http_request *req);
enum MHD_Result sse_legacy_handle_get(http_request *req);
enum MHD_Result sse_legacy_handle_post(http_request *req);
enum MHD_Result rest_shim_handle(http_request *req);
/* The REST shim's answer once the tool call's JSON-RPC response (body, owned) arrived. */
enum MHD_Result rest_shim_answer(http_request *req, char *body, size_t len);
/* Called again when a suspended request is resumed: answers from req->stream. */
enum MHD_Result http_answer_waiting(http_request *req);

/* ---- TLS (tls.c) ---- */
int http_tls_new(const char *cert_file, const char *key_file, http_tls **ret, error_info *err);
int http_tls_reload(http_tls *t, const char *cert_file, const char *key_file, error_info *err);
http_tls *http_tls_free(http_tls *t);
/* The gnutls_certificate_retrieve_function2 to give MHD_OPTION_HTTPS_CERT_CALLBACK. */
void *http_tls_callback(void);
void http_tls_set_current(http_tls *t);

#endif
