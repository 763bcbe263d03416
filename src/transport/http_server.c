/* The HTTP server: listening socket, libmicrohttpd daemon (thread pool + epoll), routing, the
 * Origin/Host gate and common headers on every answer, health, readiness, metrics, and the
 * background threads (keepalives and session expiry; readiness probes). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "core/log.h"
#include "gate/security_headers.h"
#include "mcp/worker_pool.h"
#include "transport/http_internal.h"

#define READY_TIMEOUT_SECONDS 2.0
#define READY_CACHE_SECONDS 1.0
#define STOP_GRACE_SECONDS 5.0

struct ready_waiter {
    struct ready_waiter *next;
    struct MHD_Connection *conn;
    bool answered;
};

static const char *const route_names[] = {"/mcp", "/sse", "/message", "/api/mcp/tools", "/health",
                                          "/readyz", "/metrics", "/.well-known/oauth-protected-resource",
                                          "/.well-known/oauth-authorization-server",
                                          "/.well-known/openid-configuration", "other"};

/* ---- common response plumbing ----------------------------------------------------------- */

static void add_header(void *opaque, const char *name, const char *value) {
    MHD_add_response_header(opaque, name, value);
}

const char *http_header(http_request *req, const char *name) {
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

bool http_accepts_sse(http_request *req) {
    const char *accept = http_header(req, MHD_HTTP_HEADER_ACCEPT);
    return accept && strcasestr(accept, "text/event-stream");
}

static void common_headers(http_request *req, struct MHD_Response *resp) {
    http_server *s = req->server;
    security_headers_each(s->tls, s->cfg->enable_hsts, add_header, resp);
    const char *origin = http_header(req, "Origin");
    if (origin) {
        pthread_rwlock_rdlock(&s->cors_lock);
        cors_response_headers(s->cors, origin, req->preflight, add_header, resp);
        pthread_rwlock_unlock(&s->cors_lock);
    }
}

static enum MHD_Result queue(http_request *req, unsigned status, struct MHD_Response *resp) {
    if (!resp)
        return MHD_NO;
    common_headers(req, resp);
    if (atomic_load(&req->server->stopping))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    req->status = (int)status;
    req->done = true;
    enum MHD_Result r = MHD_queue_response(req->conn, status, resp);
    MHD_destroy_response(resp);
    return r;
}

enum MHD_Result http_respond(http_request *req, unsigned status, const char *content_type, char *body, size_t len,
                             const char *session_id) {
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, body ? body : (char *)"", body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (session_id && *session_id)
        MHD_add_response_header(resp, "Mcp-Session-Id", session_id);
    return queue(req, status, resp);
}

enum MHD_Result http_respond_text(http_request *req, unsigned status, const char *content_type, const char *text) {
    char *copy = strdup(text);
    if (!copy)
        return MHD_NO;
    return http_respond(req, status, content_type, copy, strlen(copy), NULL);
}

enum MHD_Result http_respond_jsonrpc_error(http_request *req, unsigned status, int code, const char *message) {
    json_t *j = json_pack("{s:s, s:n, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", "error", "code", code, "message", message);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text)
        return MHD_NO;
    return http_respond(req, status, "application/json", text, strlen(text), NULL);
}

/* Each open connection keeps a pool of this size for its whole life, and libmicrohttpd fills it
 * (request headers, then the buffer each chunk of a response is written into), so it is most of
 * what an idle SSE stream costs: 32 KiB instead of 64, with the smaller block below, took an open
 * session + stream from about 78 to 42 KiB of RSS. It still holds one request header of up to
 * ~30 KiB (a large OpenID token) or ~16 KiB of headers in all; bigger ones get 431 Request Header
 * Fields Too Large. */
#define HTTP_CONNECTION_MEMORY ((size_t)32 * 1024)
/* libmicrohttpd allocates and zeroes this per SSE response, but fills it only for HTTP/1.0
 * clients: HTTP/1.1 chunks are written into the connection's pool. */
#define HTTP_SSE_BLOCK ((size_t)4 * 1024)

enum MHD_Result http_respond_sse(http_request *req, http_stream *st, const char *session_id) {
    http_server *s = req->server;
    http_stream_ref(st); /* the response's */
    struct MHD_Response *resp =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, HTTP_SSE_BLOCK, http_stream_read, st, http_stream_response_free);
    if (!resp) {
        http_stream_unref(st);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
    if (session_id && *session_id)
        MHD_add_response_header(resp, "Mcp-Session-Id", session_id);
    http_stream_bind(st, req->conn);
    http_stream_ref(st); /* the server list's */
    pthread_mutex_lock(&s->streams_lock);
    st->server_next = s->sse_streams;
    if (s->sse_streams)
        s->sse_streams->server_prev = st;
    s->sse_streams = st;
    pthread_mutex_unlock(&s->streams_lock);
    if (s->opts.metrics) {
        st->counted = true;
        metrics_gauge_add(s->opts.metrics, "kubemcp_open_sse_streams", 1);
    }
    if (req->stream != st) {
        http_stream_ref(st);
        http_stream_unref(req->stream);
        req->stream = st;
    }
    /* Security headers include Cache-Control: no-store, which suits an event stream too. */
    return queue(req, MHD_HTTP_OK, resp);
}

/* ---- health, readiness, metrics --------------------------------------------------------- */

static enum MHD_Result handle_health(http_request *req) {
    return http_respond_text(req, MHD_HTTP_OK, "application/json", "{\"status\":\"ok\"}");
}

static enum MHD_Result ready_answer(http_request *req) {
    http_server *s = req->server;
    pthread_mutex_lock(&s->ready_lock);
    bool ok = s->ready_ok;
    char reason[512];
    snprintf(reason, sizeof reason, "%s", s->ready_reason);
    pthread_mutex_unlock(&s->ready_lock);
    json_t *j = ok ? json_pack("{s:s}", "status", "ok") : json_pack("{s:s, s:s}", "status", "unavailable", "reason", reason);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text)
        return MHD_NO;
    return http_respond(req, ok ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, "application/json", text, strlen(text),
                        NULL);
}

static enum MHD_Result handle_ready(http_request *req) {
    http_server *s = req->server;
    if (req->ready) { /* resumed by the prober */
        free(req->ready);
        req->ready = NULL;
        return ready_answer(req);
    }
    pthread_mutex_lock(&s->ready_lock);
    bool fresh = s->ready_checked > 0 && http_now() - s->ready_checked < READY_CACHE_SECONDS && !s->probe_running;
    if (fresh) {
        pthread_mutex_unlock(&s->ready_lock);
        return ready_answer(req);
    }
    struct ready_waiter *w = calloc(1, sizeof *w);
    if (!w) {
        pthread_mutex_unlock(&s->ready_lock);
        return MHD_NO;
    }
    w->conn = req->conn;
    w->next = s->ready_waiters;
    s->ready_waiters = w;
    req->ready = w;
    s->probe_wanted = true;
    pthread_cond_signal(&s->ready_cond);
    /* Suspended under ready_lock, so the prober's resume cannot come first. */
    MHD_suspend_connection(req->conn);
    pthread_mutex_unlock(&s->ready_lock);
    return MHD_YES;
}

static void probe_once(http_server *s, bool *ret_ok, char *reason, size_t reason_len) {
    *ret_ok = false;
    if (!s->opts.provider) {
        snprintf(reason, reason_len, "no Kubernetes access: %s",
                 s->opts.provider_error ? s->opts.provider_error : "no cluster configured");
        return;
    }
    kube_cluster *cluster = NULL;
    error_info err = {0};
    if (kube_provider_cluster(s->opts.provider, NULL, &cluster, &err) < 0) {
        snprintf(reason, reason_len, "%s", err.message);
        return;
    }
    kube_request kr = {.method = "GET", .path = "/version", .cancelled = &s->probe_cancel, .max_response_bytes = 65536};
    kube_response resp = {0};
    int r = kube_do(cluster, &kr, &resp, &err);
    if (r == -ECANCELED)
        snprintf(reason, reason_len, "the API server %s did not answer GET /version within %.0f s",
                 kube_cluster_server(cluster), READY_TIMEOUT_SECONDS);
    else if (r < 0)
        snprintf(reason, reason_len, "%s", err.message);
    else if (resp.status >= 500)
        snprintf(reason, reason_len, "the API server %s answered GET /version with HTTP %ld",
                 kube_cluster_server(cluster), resp.status);
    else
        *ret_ok = true;
    kube_response_clear(&resp);
}

static void *prober_main(void *arg) {
    http_server *s = arg;
    pthread_mutex_lock(&s->ready_lock);
    for (;;) {
        while (!s->probe_wanted && !s->prober_stop)
            pthread_cond_wait(&s->ready_cond, &s->ready_lock);
        if (s->prober_stop && !s->ready_waiters)
            break;
        s->probe_wanted = false;
        s->probe_running = true;
        s->probe_started = http_now();
        atomic_store(&s->probe_cancel, false);
        pthread_mutex_unlock(&s->ready_lock);

        bool ok = false;
        char reason[512] = "";
        if (!s->prober_stop)
            probe_once(s, &ok, reason, sizeof reason);
        else
            snprintf(reason, sizeof reason, "the server is shutting down");

        pthread_mutex_lock(&s->ready_lock);
        s->probe_running = false;
        s->ready_ok = ok;
        snprintf(s->ready_reason, sizeof s->ready_reason, "%s", reason);
        s->ready_checked = http_now();
        /* Each resumed request frees its own waiter, so read next before resuming. */
        struct ready_waiter *w = s->ready_waiters;
        s->ready_waiters = NULL;
        while (w) {
            struct ready_waiter *next = w->next;
            MHD_resume_connection(w->conn);
            w = next;
        }
    }
    pthread_mutex_unlock(&s->ready_lock);
    return NULL;
}

static enum MHD_Result handle_metrics(http_request *req) {
    buf out;
    buf_init(&out, (size_t)16 * 1024 * 1024);
    if (!req->server->opts.metrics || metrics_render(req->server->opts.metrics, &out) < 0) {
        buf_free(&out);
        return http_respond_text(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "metrics are not available\n");
    }
    size_t len = out.len;
    char *text = buf_steal(&out);
    return http_respond(req, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, text ? len : 0, NULL);
}

/* ---- housekeeping ----------------------------------------------------------------------- */

static void *housekeeper_main(void *arg) {
    http_server *s = arg;
    pthread_mutex_lock(&s->hk_lock);
    while (!s->hk_stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 250 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&s->hk_cond, &s->hk_lock, &until);
        if (s->hk_stop)
            break;
        pthread_mutex_unlock(&s->hk_lock);
        double now = http_now();
        http_streams_keepalive(s, now, (double)s->cfg->sse_keepalive_seconds);
        http_sessions_expire(s, now, (double)s->cfg->session_idle_timeout_seconds);
        pthread_mutex_lock(&s->ready_lock);
        if (s->probe_running && now - s->probe_started > READY_TIMEOUT_SECONDS)
            atomic_store(&s->probe_cancel, true);
        pthread_mutex_unlock(&s->ready_lock);
        pthread_mutex_lock(&s->hk_lock);
    }
    pthread_mutex_unlock(&s->hk_lock);
    return NULL;
}

/* ---- dispatch --------------------------------------------------------------------------- */

/* url is name, or name and a sub-path without ".." (".../oauth-authorization-server/mcp": clients
 * insert the well-known segment before the path of the URL they start from). */
static bool well_known_is(const char *url, const char *name) {
    size_t n = strlen(name);
    return strncmp(url, name, n) == 0 && (url[n] == '\0' || (url[n] == '/' && !strstr(url + n, "..")));
}

static http_route route_of(const char *url) {
    if (strcmp(url, "/mcp") == 0 || strcmp(url, "/mcp/") == 0)
        return ROUTE_MCP;
    if (well_known_is(url, "/.well-known/oauth-authorization-server"))
        return ROUTE_AUTHORIZATION_SERVER;
    if (well_known_is(url, "/.well-known/openid-configuration"))
        return ROUTE_OPENID_CONFIGURATION;
    if (strcmp(url, "/.well-known/oauth-protected-resource") == 0 ||
        strcmp(url, "/.well-known/oauth-protected-resource/mcp") == 0)
        return ROUTE_PROTECTED_RESOURCE;
    if (strcmp(url, "/sse") == 0)
        return ROUTE_SSE;
    if (strcmp(url, "/message") == 0 || strcmp(url, "/messages") == 0)
        return ROUTE_MESSAGE;
    if (strncmp(url, "/api/mcp/tools/", 15) == 0)
        return ROUTE_REST;
    if (strcmp(url, "/health") == 0 || strcmp(url, "/healthz") == 0)
        return ROUTE_HEALTH;
    if (strcmp(url, "/readyz") == 0)
        return ROUTE_READY;
    if (strcmp(url, "/metrics") == 0)
        return ROUTE_METRICS;
    return ROUTE_OTHER;
}

static bool method_is(const http_request *req, const char *m) {
    return strcmp(req->method, m) == 0;
}

enum MHD_Result http_method_not_allowed(http_request *req, const char *allow) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    return queue(req, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
}

/* Every header value named name (case-insensitive), at most max of them. */
typedef struct header_values {
    const char *name;
    const char *values[4];
    size_t count;
} header_values;

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind;
    header_values *h = cls;
    if (key && value && strcasecmp(key, h->name) == 0) {
        if (h->count < sizeof h->values / sizeof *h->values)
            h->values[h->count] = value;
        h->count++; /* counted past the array too: a flood of copies is still "more than once" */
    }
    return MHD_YES;
}

static void client_address(http_request *req, char *out, size_t out_len) {
    out[0] = '\0';
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!info || !info->client_addr)
        return;
    const struct sockaddr *sa = info->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out, (socklen_t)out_len);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out, (socklen_t)out_len);
}

/* The gate's view of a request; the header values point into the connection, which stays put
 * while the request is alive (also while suspended). */
typedef struct gate_headers {
    header_values authz, kauthz, server, ca;
    gate_request request;
} gate_headers;

static void read_gate_headers(http_request *req, gate_headers *h) {
    *h = (gate_headers){.authz = {.name = "Authorization"}, .kauthz = {.name = "kubernetes-authorization"},
                        .server = {.name = "kubernetes-server"},
                        .ca = {.name = "kubernetes-certificate-authority-data"}};
    header_values *wanted[] = {&h->authz, &h->kauthz, &h->server, &h->ca};
    for (size_t i = 0; i < sizeof wanted / sizeof *wanted; i++)
        MHD_get_connection_values(req->conn, MHD_HEADER_KIND, collect_header, wanted[i]);
    client_address(req, req->peer, sizeof req->peer);
    h->request = (gate_request){
        .bearer = {h->authz.values, h->authz.count, h->kauthz.values, h->kauthz.count},
        .server = h->server.values,
        .server_count = h->server.count,
        .ca_data = h->ca.values,
        .ca_data_count = h->ca.count,
        .source_address = req->peer[0] ? req->peer : NULL,
    };
}

static void record_auth_outcome(http_request *req) {
    http_server *s = req->server;
    /* The gate's reasons are fixed phrases ("signature invalid", "token expired", …) that never
     * quote the token; the logger masks anything token-shaped besides. (No "name: value" shape
     * before the reason: the logger would take "invalid_token: …" for a secret field.) */
    if (req->auth.http_status)
        log_info("refused %s %s from %s with HTTP %d (%s): %s", req->method, route_names[req->route],
                 req->peer[0] ? req->peer : "?", req->auth.http_status,
                 req->auth.error_code ? req->auth.error_code : "no token", req->auth.message);
    if (s->opts.metrics)
        metrics_counter_add(s->opts.metrics, "kubemcp_auth_decisions_total", "outcome",
                            req->auth.http_status == 0 ? "allowed"
                            : req->auth.http_status == 401 ? "refused" : "unavailable",
                            1);
}

/* A gate decision that waits on the network runs here, on the auth pool, while the connection is
 * suspended; resuming it brings the request back to dispatch(). */
static void authenticate_job(void *arg) {
    http_request *req = arg;
    gate_headers h;
    read_gate_headers(req, &h);
    gate_authenticate(req->server->opts.gate, &h.request, &req->auth);
    req->authenticated = true;
    record_auth_outcome(req);
    req->auth_pending = false;
    MHD_resume_connection(req->conn);
}

/* Starts the gate's decision for a request: true when it is known (req->auth), false when it was
 * handed to the auth pool (the connection is suspended; dispatch runs again when it is resumed). */
static bool authenticate_start(http_request *req) {
    http_server *s = req->server;
    if (req->authenticated)
        return true;
    gate_headers h;
    read_gate_headers(req, &h);
    if (s->auth_pool && gate_needs_network(s->opts.gate, &h.request)) {
        req->auth_pending = true;
        MHD_suspend_connection(req->conn);
        if (worker_pool_submit(s->auth_pool, authenticate_job, req) == 0)
            return false;
        MHD_resume_connection(req->conn); /* queue full or stopping: decide here instead */
        req->auth_pending = false;
    }
    gate_authenticate(s->opts.gate, &h.request, &req->auth);
    req->authenticated = true;
    record_auth_outcome(req);
    return true;
}

/* Runs the gate once per request; false when it refused (req->auth says why). */
static bool authenticate(http_request *req) {
    http_server *s = req->server;
    if (!s->opts.gate || req->authenticated)
        return !req->authenticated || req->auth.http_status == 0;
    gate_headers h;
    read_gate_headers(req, &h);
    gate_authenticate(s->opts.gate, &h.request, &req->auth);
    req->authenticated = true;
    record_auth_outcome(req);
    return req->auth.http_status == 0;
}

static bool tool_visible_for_request(const void *opaque, const char *tool, bool read_only) {
    const http_request *req = opaque;
    const char *needed = NULL;
    return gate_tool_allowed(req->server->opts.gate, &req->auth, tool, read_only, &needed) == 0;
}

bool http_tool_call_allowed(http_request *req, const char *tool_name) {
    http_server *s = req->server;
    const tool_def *tool = NULL;
    error_info err = {0};
    if (!s->opts.gate || !req->authenticated || !tool_name || !s->opts.registry ||
        tool_registry_find(s->opts.registry, tool_name, &tool, &err) < 0)
        return true; /* unknown tools are the engine's to refuse */
    const char *needed = NULL;
    if (gate_tool_allowed(s->opts.gate, &req->auth, tool->name, tool->read_only, &needed) == 0)
        return true;
    gate_insufficient_scope(s->opts.gate, &req->auth, needed);
    return false;
}

const mcp_caller *http_caller(http_request *req, mcp_caller *storage) {
    if (!req->authenticated || req->auth.http_status)
        return NULL;
    *storage = (mcp_caller){
        .credential = req->auth.has_credential ? &req->auth.credential : NULL,
        .identity = req->auth.identity,
        .source_address = req->peer[0] ? req->peer : NULL,
        .cluster = req->auth.cluster,
        .tool_visible = req->server->opts.gate ? tool_visible_for_request : NULL,
        .tool_visible_opaque = req,
    };
    return storage;
}

bool http_session_principal_matches(http_session *hs, const http_request *req) {
    /* A session opened without credentials holds none to misuse: each request's own header
     * decides what its calls may do. One opened with a token belongs to that principal. */
    if (!hs->principal || !hs->principal[0])
        return true;
    const char *p = req->authenticated && req->auth.principal ? req->auth.principal : "";
    size_t a = strlen(hs->principal), b = strlen(p);
    return a == b && CRYPTO_memcmp(hs->principal, p, a) == 0;
}

/* 401 with a challenge (RFC 6750), 403 (insufficient_scope, a cluster not allowed), or 503 when
 * the TokenReview could not be done. */
enum MHD_Result http_respond_unauthorized(http_request *req) {
    const gate_decision *d = &req->auth;
    json_t *body = json_pack("{s:s, s:n, s:{s:i, s:s}}", "jsonrpc", "2.0", "id", "error", "code", -32001, "message",
                             d->message);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return MHD_NO;
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (d->challenge[0])
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, d->challenge);
    return queue(req, (unsigned)d->http_status, resp);
}

/* ---- the issuer's authorization server metadata (never authenticated) ---------------------- */

static as_metadata_kind metadata_kind(const http_request *req) {
    return req->route == ROUTE_OPENID_CONFIGURATION ? AS_METADATA_OPENID : AS_METADATA_OAUTH;
}

/* The answer for a metadata request: the document (json, taken), or a JSON error saying why not. */
static void metadata_answer(http_request *req, int r, char *json, const error_info *err) {
    if (r == 0) {
        req->metadata_status = MHD_HTTP_OK;
        req->metadata_body = json;
        return;
    }
    req->metadata_status = as_metadata_error_status(r);
    json_t *j = json_pack("{s:s, s:s}", "error", req->metadata_status == 503 ? "temporarily_unavailable" : "server_error",
                          "error_description", err->message);
    req->metadata_body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
}

/* On the auth pool: the fetch (or the wait for another request's fetch). */
static void metadata_job(void *arg) {
    http_request *req = arg;
    char *json = NULL;
    error_info err = {0};
    int r = as_metadata_get(req->server->opts.as_metadata, metadata_kind(req), &json, &err);
    if (r < 0)
        log_warn("%s answered %u (%s)", route_names[req->route], as_metadata_error_status(r), err.message);
    metadata_answer(req, r, json, &err);
    req->metadata_pending = false;
    MHD_resume_connection(req->conn);
}

static enum MHD_Result handle_metadata(http_request *req) {
    http_server *s = req->server;
    if (!req->metadata_body) {
        char *json = NULL;
        error_info err = {0};
        int r = as_metadata_peek(s->opts.as_metadata, metadata_kind(req), &json, &err);
        if (r == -EWOULDBLOCK) {
            /* Only a fetch can answer: it runs on the auth pool, so no HTTP thread waits on the IdP. */
            req->metadata_pending = true;
            MHD_suspend_connection(req->conn);
            if (s->auth_pool && worker_pool_submit(s->auth_pool, metadata_job, req) == 0)
                return MHD_YES;
            MHD_resume_connection(req->conn);
            req->metadata_pending = false;
            r = error_set(&err, EAGAIN, "too many requests wait for the OpenID issuer; try again in a moment");
        }
        metadata_answer(req, r, json, &err);
        if (!req->metadata_body)
            return MHD_NO;
    }
    char *body = req->metadata_body;
    req->metadata_body = NULL;
    return http_respond(req, req->metadata_status, "application/json", body, strlen(body), NULL);
}

static enum MHD_Result dispatch(http_request *req) {
    if (req->preflight) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, (char *)"", MHD_RESPMEM_PERSISTENT);
        return queue(req, MHD_HTTP_NO_CONTENT, resp);
    }
    if (atomic_load(&req->server->stopping) && (req->route == ROUTE_MCP || req->route == ROUTE_SSE ||
                                                req->route == ROUTE_MESSAGE || req->route == ROUTE_REST))
        return http_respond_jsonrpc_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, -32000,
                                          "the server is shutting down; reconnect in a moment");
    if (req->route == ROUTE_MCP || req->route == ROUTE_SSE || req->route == ROUTE_MESSAGE || req->route == ROUTE_REST) {
        if (req->server->opts.gate && !authenticate_start(req))
            return MHD_YES; /* suspended until the gate has decided */
        if (!authenticate(req))
            return http_respond_unauthorized(req);
    }
    switch (req->route) {
    case ROUTE_MCP:
        return streamable_http_handle(req);
    case ROUTE_SSE:
        if (!method_is(req, "GET"))
            return http_method_not_allowed(req, "GET, OPTIONS");
        return sse_legacy_handle_get(req);
    case ROUTE_MESSAGE:
        if (!method_is(req, "POST"))
            return http_method_not_allowed(req, "POST, OPTIONS");
        return sse_legacy_handle_post(req);
    case ROUTE_REST:
        if (!method_is(req, "POST"))
            return http_method_not_allowed(req, "POST, OPTIONS");
        return rest_shim_handle(req);
    case ROUTE_HEALTH:
    case ROUTE_READY:
    case ROUTE_METRICS:
        if (!method_is(req, "GET") && !method_is(req, "HEAD"))
            return http_method_not_allowed(req, "GET, HEAD, OPTIONS");
        return req->route == ROUTE_HEALTH ? handle_health(req)
               : req->route == ROUTE_READY ? handle_ready(req)
                                           : handle_metrics(req);
    case ROUTE_PROTECTED_RESOURCE:
        if (!method_is(req, "GET") && !method_is(req, "HEAD"))
            return http_method_not_allowed(req, "GET, HEAD, OPTIONS");
        if (!req->server->protected_resource_metadata)
            break;
        return http_respond_text(req, MHD_HTTP_OK, "application/json", req->server->protected_resource_metadata);
    case ROUTE_AUTHORIZATION_SERVER:
    case ROUTE_OPENID_CONFIGURATION:
        if (!method_is(req, "GET") && !method_is(req, "HEAD"))
            return http_method_not_allowed(req, "GET, HEAD, OPTIONS");
        if (!req->server->opts.as_metadata)
            break;
        return handle_metadata(req);
    case ROUTE_OTHER:
        break;
    }
    return http_respond_text(req, MHD_HTTP_NOT_FOUND, "application/json",
                             "{\"error\":\"not found\",\"endpoints\":[\"/mcp\",\"/sse\",\"/message\","
                             "\"/api/mcp/tools/{name}\",\"/health\",\"/healthz\",\"/readyz\",\"/metrics\"]}");
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                      const char *version, const char *upload_data, size_t *upload_data_size,
                                      void **con_cls) {
    (void)version;
    http_server *s = cls;
    http_request *req = *con_cls;
    if (!req) {
        req = calloc(1, sizeof *req);
        if (!req)
            return MHD_NO;
        *con_cls = req;
        atomic_fetch_add(&s->active_requests, 1);
        req->server = s;
        req->conn = conn;
        req->method = method;
        req->url = url;
        req->start = http_now();
        req->route = route_of(url);
        buf_init(&req->body, s->cfg->max_body_bytes);
        req->preflight = strcmp(method, "OPTIONS") == 0;

        /* The MCP spec: a present, foreign Origin is refused with 403 on every request (and the
         * Host check defeats DNS rebinding when we listen on loopback). */
        pthread_rwlock_rdlock(&s->cors_lock);
        access_decision d = access_check(s->cors, s->loopback, s->port, http_header(req, MHD_HTTP_HEADER_HOST),
                                         http_header(req, "Origin"));
        pthread_rwlock_unlock(&s->cors_lock);
        if (d != ACCESS_ALLOW)
            return http_respond_jsonrpc_error(req, MHD_HTTP_FORBIDDEN, -32600,
                                              d == ACCESS_FORBIDDEN_ORIGIN
                                                  ? "Forbidden: the Origin header names a site that may not use this "
                                                    "server (add it to allowed_origins)"
                                                  : "Forbidden: the Host header does not name this server");
        const char *cl = http_header(req, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > s->cfg->max_body_bytes) {
            char msg[160];
            snprintf(msg, sizeof msg, "request body of %s bytes exceeds the limit of %zu bytes (max_body_bytes)", cl,
                     s->cfg->max_body_bytes);
            return http_respond_jsonrpc_error(req, MHD_HTTP_CONTENT_TOO_LARGE, -32001, msg);
        }
        return MHD_YES;
    }
    if (req->done || req->auth_pending || req->metadata_pending)
        return MHD_YES; /* answered early (403/413; the rest of the body is discarded), or suspended */
    if (*upload_data_size > 0) {
        if (!req->body_too_large && buf_append(&req->body, upload_data, *upload_data_size) < 0)
            req->body_too_large = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->waiting)
        return http_answer_waiting(req);
    if (req->ready)
        return handle_ready(req);
    if (req->body_too_large) {
        char msg[160];
        snprintf(msg, sizeof msg, "request body exceeds the limit of %zu bytes (max_body_bytes)", s->cfg->max_body_bytes);
        return http_respond_jsonrpc_error(req, MHD_HTTP_CONTENT_TOO_LARGE, -32001, msg);
    }
    return dispatch(req);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)conn;
    (void)toe;
    http_server *s = cls;
    http_request *req = *con_cls;
    if (!req)
        return;
    *con_cls = NULL;
    if (req->stream) {
        http_stream *st = req->stream;
        pthread_mutex_lock(&st->lock);
        bool counted = st->counted;
        st->counted = false;
        pthread_mutex_unlock(&st->lock);
        if (counted && s->opts.metrics)
            metrics_gauge_add(s->opts.metrics, "kubemcp_open_sse_streams", -1);
        http_stream_unbind(st);
        if (req->session)
            http_session_release_stream(req->session, st);
        /* A legacy client that leaves ends its session: nobody could read the answers. */
        if (req->session && st->kind == STREAM_LEGACY)
            http_session_close(req->session);
        http_stream_unref(st);
    }
    if (req->session) {
        if (req->counted_busy)
            http_session_touch(req->session, -1);
        if (req->one_shot)
            http_session_close(req->session);
        http_session_unref(req->session);
    }
    if (req->ready) {
        /* Still listed with the prober: it will resume a connection that no longer waits, so
         * take it off the list first. */
        pthread_mutex_lock(&s->ready_lock);
        for (struct ready_waiter **p = &s->ready_waiters; *p; p = &(*p)->next)
            if (*p == req->ready) {
                *p = req->ready->next;
                break;
            }
        pthread_mutex_unlock(&s->ready_lock);
        free(req->ready);
    }
    if (s->opts.metrics)
        metrics_http_request(s->opts.metrics, route_names[req->route], req->status ? req->status : 499,
                             http_now() - req->start);
    if (req->authenticated)
        gate_decision_clear(&req->auth);
    free(req->metadata_body);
    buf_free(&req->body);
    free(req);
    atomic_fetch_sub(&s->active_requests, 1);
}

/* The format comes from libmicrohttpd itself; the attribute lets clang check the call below. */
__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap) {
    (void)cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    log_debug("http: %s", line);
}

/* ---- start and stop --------------------------------------------------------------------- */

static int listen_socket(const char *host, const char *port, int *ret_fd, unsigned *ret_port, bool *ret_loopback,
                         char *url_host, size_t url_host_len, error_info *err) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0)
        return error_set(err, EINVAL, "cannot use bind address \"%s\": %s; give an IP address or host name", host,
                         gai_strerror(g));
    int fd = -1, last_errno = 0;
    for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (ai->ai_family == AF_INET6) {
            int v6only = 0; /* "::" also takes IPv4 */
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
        }
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 1024) == 0)
            break;
        last_errno = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return error_set(err, last_errno, "cannot listen on %s port %s: %s%s", host, port, strerror(last_errno),
                         last_errno == EADDRINUSE ? "; another program uses the port — choose another with --port "
                                                    "(0 picks a free one)"
                                                  : "");
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    char addr[INET6_ADDRSTRLEN] = "";
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        *ret_port = ntohs(in->sin_port);
        inet_ntop(AF_INET, &in->sin_addr, addr, sizeof addr);
        *ret_loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
        snprintf(url_host, url_host_len, "%s", addr);
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        *ret_port = ntohs(in6->sin6_port);
        inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof addr);
        *ret_loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
        snprintf(url_host, url_host_len, "[%s]", addr);
    }
    *ret_fd = fd;
    return 0;
}

static int cors_from_list(const string_list *origins, cors_policy **ret, error_info *err) {
    buf csv;
    buf_init(&csv, HTTP_BUF_MAX);
    for (size_t i = 0; i < origins->count; i++) {
        if (i)
            buf_append_str(&csv, ",");
        buf_append_str(&csv, origins->items[i]);
    }
    int r = cors_policy_new(csv.data ? csv.data : "", ret, err);
    buf_free(&csv);
    return r;
}

int http_server_set_allowed_origins(http_server *s, const string_list *origins, error_info *err) {
    cors_policy *p = NULL;
    int r = cors_from_list(origins, &p, err);
    if (r < 0)
        return r;
    pthread_rwlock_wrlock(&s->cors_lock);
    cors_policy *old = s->cors;
    s->cors = p;
    pthread_rwlock_unlock(&s->cors_lock);
    cors_policy_free(old);
    return 0;
}

static void free_server(http_server *s) {
    worker_pool_free(s->auth_pool);
    gate_free(s->bound_gate);
    free(s->protected_resource_metadata);
    cors_policy_free(s->cors);
    http_tls_free(s->tls_state);
    http_sessions_fini(s);
    pthread_rwlock_destroy(&s->cors_lock);
    pthread_mutex_destroy(&s->hk_lock);
    pthread_cond_destroy(&s->hk_cond);
    pthread_mutex_destroy(&s->ready_lock);
    pthread_cond_destroy(&s->ready_cond);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    free(s);
}

int http_server_start(const http_server_options *opts, http_server **ret, error_info *err) {
    const kubemcp_config *cfg = opts->config;
    http_server *s = calloc(1, sizeof *s);
    if (!s)
        return error_set(err, ENOMEM, "out of memory");
    s->opts = *opts;
    s->cfg = cfg;
    s->listen_fd = -1;
    pthread_rwlock_init(&s->cors_lock, NULL);
    pthread_mutex_init(&s->hk_lock, NULL);
    pthread_cond_init(&s->hk_cond, NULL);
    pthread_mutex_init(&s->ready_lock, NULL);
    pthread_cond_init(&s->ready_cond, NULL);
    http_sessions_init(s);
    snprintf(s->ready_reason, sizeof s->ready_reason, "not checked yet");
    int r;
    if (!s->by_id) {
        r = error_set(err, ENOMEM, "out of memory");
        goto fail;
    }
    if ((r = cors_from_list(&cfg->allowed_origins, &s->cors, err)) < 0) {
        error_prefix(err, "allowed_origins");
        goto fail;
    }
    /* Two threads for TokenReviews of tokens the cache has not seen (and the issuer's discovery,
     * keys and metadata); a burst of gate decisions beyond the queue is decided on the HTTP thread
     * rather than refused. */
    if ((opts->gate || opts->on_bound || opts->as_metadata) && (r = worker_pool_new(2, 256, &s->auth_pool)) < 0) {
        r = error_set(err, -r, "cannot start the authentication workers");
        goto fail;
    }
    if (cfg->tls_cert) {
        if ((r = http_tls_new(cfg->tls_cert, cfg->tls_key, &s->tls_state, err)) < 0)
            goto fail;
        s->tls = true;
    }
    const char *host = cfg->bind_address ? cfg->bind_address : "127.0.0.1";
    char url_host[INET6_ADDRSTRLEN + 2];
    if ((r = listen_socket(host, cfg->port ? cfg->port : "0", &s->listen_fd, &s->port, &s->loopback, url_host,
                           sizeof url_host, err)) < 0)
        goto fail;
    snprintf(s->url, sizeof s->url, "%s://%s:%u", s->tls ? "https" : "http", url_host, s->port);
    /* Identity settings that name our own URL (the OAuth resource) are made now, before the
     * daemon accepts a single request. */
    if (opts->on_bound) {
        if ((r = opts->on_bound(opts->on_bound_opaque, s->url, &s->bound_gate, &s->protected_resource_metadata,
                                err)) < 0)
            goto fail;
        if (s->bound_gate)
            s->opts.gate = s->bound_gate;
    }

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (s->tls)
        flags |= MHD_USE_TLS;
    struct MHD_OptionItem tls_opts[] = {
        {MHD_OPTION_HTTPS_CERT_CALLBACK, 0, http_tls_callback()},
        {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"},
        {MHD_OPTION_END, 0, NULL},
    };
    if (s->tls)
        http_tls_set_current(s->tls_state);
    s->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, access_handler, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_LISTEN_SOCKET, s->listen_fd, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned)(cfg->http_threads > 0 ? cfg->http_threads : 4), MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)cfg->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->max_connections_per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->connection_timeout_seconds, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        HTTP_CONNECTION_MEMORY, MHD_OPTION_NOTIFY_COMPLETED, completed, s,
        MHD_OPTION_ARRAY, s->tls ? tls_opts : &tls_opts[2], MHD_OPTION_END);
    if (!s->daemon) {
        r = error_set(err, EIO, "cannot start the HTTP server on %s%s", s->url,
                      s->tls ? " (check that the TLS certificate and key match)" : "");
        goto fail;
    }
    if (pthread_create(&s->housekeeper, NULL, housekeeper_main, s) != 0) {
        MHD_stop_daemon(s->daemon);
        r = error_set(err, EAGAIN, "cannot start a thread");
        goto fail;
    }
    if (pthread_create(&s->prober, NULL, prober_main, s) != 0) {
        pthread_mutex_lock(&s->hk_lock);
        s->hk_stop = true;
        pthread_cond_signal(&s->hk_cond);
        pthread_mutex_unlock(&s->hk_lock);
        pthread_join(s->housekeeper, NULL);
        MHD_stop_daemon(s->daemon);
        r = error_set(err, EAGAIN, "cannot start a thread");
        goto fail;
    }
    *ret = s;
    return 0;
fail:
    free_server(s);
    return r < 0 ? r : -EIO;
}

const char *http_server_url(const http_server *s) {
    return s->url;
}

unsigned http_server_port(const http_server *s) {
    return s->port;
}

int http_server_reload_tls(http_server *s, const char *cert_file, const char *key_file, error_info *err) {
    if (!s->tls)
        return error_set(err, EINVAL, "the server was started without TLS; restart it with tls_cert and tls_key");
    return http_tls_reload(s->tls_state, cert_file, key_file, err);
}

void http_server_quiesce(http_server *s) {
    if (!s || atomic_exchange(&s->stopping, true))
        return;
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET) {
        close(fd);
        s->listen_fd = -1;
    }
}

http_server *http_server_stop(http_server *s) {
    if (!s)
        return NULL;
    http_server_quiesce(s);
    /* Pending gate decisions finish and resume their connections before anything is torn down. */
    if (s->auth_pool)
        worker_pool_drain(s->auth_pool);
    /* Readiness waiters get an answer, streams end after what they hold, the sessions go. */
    pthread_mutex_lock(&s->ready_lock);
    s->prober_stop = true;
    pthread_cond_signal(&s->ready_cond);
    pthread_mutex_unlock(&s->ready_lock);
    pthread_join(s->prober, NULL);
    http_streams_end_all(s);
    http_sessions_close_all(s);
    double deadline = http_now() + STOP_GRACE_SECONDS;
    while (atomic_load(&s->active_requests) > 0 && http_now() < deadline) {
        http_streams_end_all(s);
        usleep(20 * 1000);
    }
    pthread_mutex_lock(&s->hk_lock);
    s->hk_stop = true;
    pthread_cond_signal(&s->hk_cond);
    pthread_mutex_unlock(&s->hk_lock);
    pthread_join(s->housekeeper, NULL);
    MHD_stop_daemon(s->daemon);
    s->daemon = NULL;
    free_server(s);
    return NULL;
}
