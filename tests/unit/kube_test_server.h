/* A tiny HTTP/1.1 server for the kube client and discovery tests: 127.0.0.1, port 0, one thread
 * per connection, keep-alive. It records every request (method, path, headers, which connection)
 * and answers through a handler the test supplies. Header-only on purpose: each test binary gets
 * its own copy. */
#ifndef KUBEMCP_TESTS_KUBE_TEST_SERVER_H
#define KUBEMCP_TESTS_KUBE_TEST_SERVER_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TS_MAX_REQUESTS 1024
#define TS_MAX_HEAD 16384

typedef struct ts_request {
    char method[16];
    char target[1024]; /* path?query */
    char head[TS_MAX_HEAD];
    char *body;
    size_t body_len;
    int connection; /* 1-based accept counter: equal values mean a reused connection */
} ts_request;

typedef struct ts_reply {
    int status;
    const char *content_type;
    char *body; /* owned by the server after the handler returns (freed) */
    size_t body_len;
    int delay_ms;
} ts_reply;

typedef void (*ts_handler)(const ts_request *req, ts_reply *reply, void *ctx);

typedef struct test_server {
    int fd;
    int port;
    pthread_t thread;
    ts_handler handler;
    void *ctx;
    pthread_mutex_t lock;
    ts_request *requests[TS_MAX_REQUESTS];
    int n_requests;
    atomic_int connections;
    atomic_bool stop;
} test_server;

typedef struct ts_conn {
    test_server *s;
    int fd;
    int id;
} ts_conn;


static inline void *ts_conn_main(void *arg) {
    ts_conn *c = arg;
    test_server *s = c->s;
    char *in = malloc(TS_MAX_HEAD + 1);
    size_t have = 0;
    for (;;) {
        char *end = NULL;
        while (!(end = (have ? strstr(in, "\r\n\r\n") : NULL))) {
            if (have >= TS_MAX_HEAD)
                goto done;
            ssize_t n = read(c->fd, in + have, TS_MAX_HEAD - have);
            if (n <= 0)
                goto done;
            have += (size_t)n;
            in[have] = '\0';
        }
        ts_request *req = calloc(1, sizeof *req);
        size_t head_len = (size_t)(end - in) + 4;
        memcpy(req->head, in, head_len < TS_MAX_HEAD ? head_len : TS_MAX_HEAD - 1);
        sscanf(in, "%15s %1023s", req->method, req->target);
        req->connection = c->id;
        size_t clen = 0;
        const char *cl = strcasestr(req->head, "\r\nContent-Length:");
        if (cl)
            clen = (size_t)strtoul(cl + 17, NULL, 10);
        req->body = malloc(clen + 1);
        size_t got = have - head_len < clen ? have - head_len : clen;
        memcpy(req->body, in + head_len, got);
        while (got < clen) {
            ssize_t n = read(c->fd, req->body + got, clen - got);
            if (n <= 0)
                break;
            got += (size_t)n;
        }
        req->body[got] = '\0';
        req->body_len = got;
        size_t consumed = head_len + (have - head_len < clen ? have - head_len : clen);
        memmove(in, in + consumed, have - consumed);
        have -= consumed;
        in[have] = '\0';

        ts_reply reply = {.status = 200, .content_type = "application/json"};
        s->handler(req, &reply, s->ctx);
        pthread_mutex_lock(&s->lock);
        if (s->n_requests < TS_MAX_REQUESTS)
            s->requests[s->n_requests++] = req;
        else
            free(req->body), free(req);
        pthread_mutex_unlock(&s->lock);
        if (reply.delay_ms)
            usleep((useconds_t)reply.delay_ms * 1000);
        char head[512];
        int hl = snprintf(head, sizeof head,
                          "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: keep-alive\r\n\r\n",
                          reply.status, reply.content_type, reply.body_len);
        ssize_t w = send(c->fd, head, (size_t)hl, MSG_NOSIGNAL);
        size_t off = 0;
        while (w >= 0 && off < reply.body_len) {
            w = send(c->fd, reply.body + off, reply.body_len - off, MSG_NOSIGNAL);
            if (w > 0)
                off += (size_t)w;
        }
        free(reply.body);
        if (w < 0)
            goto done;
    }
done:
    free(in);
    close(c->fd);
    free(c);
    return NULL;
}

static inline void *ts_accept_main(void *arg) {
    test_server *s = arg;
    while (!atomic_load(&s->stop)) {
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (atomic_load(&s->stop)) {
            close(fd);
            break;
        }
        ts_conn *c = malloc(sizeof *c);
        c->s = s;
        c->fd = fd;
        c->id = atomic_fetch_add(&s->connections, 1) + 1;
        pthread_t t;
        pthread_create(&t, NULL, ts_conn_main, c);
        pthread_detach(t);
    }
    return NULL;
}

static inline test_server *test_server_start(ts_handler handler, void *ctx) {
    test_server *s = calloc(1, sizeof *s);
    s->handler = handler;
    s->ctx = ctx;
    pthread_mutex_init(&s->lock, NULL);
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(s->fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(s->fd, 64) < 0)
        abort();
    socklen_t len = sizeof a;
    getsockname(s->fd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    pthread_create(&s->thread, NULL, ts_accept_main, s);
    return s;
}

static inline void test_server_stop(test_server *s) {
    atomic_store(&s->stop, true);
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(s->thread, NULL);
    for (int i = 0; i < s->n_requests; i++) {
        free(s->requests[i]->body);
        free(s->requests[i]);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* The i-th recorded request (negative: from the end). */
static inline const ts_request *test_server_request(test_server *s, int i) {
    pthread_mutex_lock(&s->lock);
    const ts_request *r = NULL;
    if (i < 0)
        i += s->n_requests;
    if (i >= 0 && i < s->n_requests)
        r = s->requests[i];
    pthread_mutex_unlock(&s->lock);
    return r;
}

static inline int test_server_count(test_server *s) {
    pthread_mutex_lock(&s->lock);
    int n = s->n_requests;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static inline void ts_reply_text(ts_reply *r, int status, const char *body) {
    r->status = status;
    r->body = strdup(body);
    r->body_len = strlen(body);
}

/* Reads a file into a reply body. */
static inline void ts_reply_file(ts_reply *r, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        ts_reply_text(r, 500, "missing fixture");
        return;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    r->body = malloc((size_t)n + 1);
    r->body_len = fread(r->body, 1, (size_t)n, f);
    fclose(f);
}

#endif
