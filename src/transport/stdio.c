#include "transport/stdio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

#define STDIO_READ_CHUNK 65536

struct stdio_transport {
    stdio_transport_options opts;
    mcp_session *session;
    pthread_t reader;
    int wake_pipe[2]; /* written by stop() to interrupt the reader's poll */
    pthread_mutex_t write_lock;
    bool output_broken;
};

static int write_all(int fd, const char *data, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                struct pollfd p = {.fd = fd, .events = POLLOUT};
                poll(&p, 1, 1000);
                continue;
            }
            return -errno;
        }
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static void stdio_send(void *opaque, const char *json, size_t len, const json_t *related_id) {
    stdio_transport *t = opaque;
    pthread_mutex_lock(&t->write_lock);
    if (!t->output_broken) {
        /* One message, one line: the JSON is compact, so it holds no raw newline. */
        int r = write_all(t->opts.out_fd, json, len);
        if (r == 0)
            r = write_all(t->opts.out_fd, "\n", 1);
        if (r < 0) {
            t->output_broken = true;
            log_warn("stdout closed (%s); dropping further MCP output", strerror(-r));
        }
    }
    pthread_mutex_unlock(&t->write_lock);
}

static bool is_blank(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return false;
    return true;
}

static void deliver_line(stdio_transport *t, const char *line, size_t len) {
    if (len > 0 && line[len - 1] == '\r')
        len--;
    if (!is_blank(line, len))
        mcp_session_receive(t->session, line, len);
}

static void *reader_main(void *arg) {
    stdio_transport *t = arg;
    size_t max = t->opts.max_line_bytes;
    char *chunk = malloc(STDIO_READ_CHUNK);
    char *line = malloc(max + 1);
    size_t line_len = 0;
    bool skipping = false; /* inside an over-long line: drop bytes until its newline */
    size_t skipped = 0;
    if (!chunk || !line) {
        log_error("out of memory starting the stdio reader");
        goto out;
    }
    for (;;) {
        struct pollfd fds[2] = {{.fd = t->opts.in_fd, .events = POLLIN}, {.fd = t->wake_pipe[0], .events = POLLIN}};
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_error("poll on stdin failed: %s", strerror(errno));
            break;
        }
        if (fds[1].revents)
            goto out; /* stop() asked us to finish; not an end of input */
        ssize_t n = read(t->opts.in_fd, chunk, STDIO_READ_CHUNK);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            log_error("reading stdin failed: %s", strerror(errno));
            break;
        }
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            char c = chunk[i];
            if (c == '\n') {
                if (skipping) {
                    char message[200];
                    snprintf(message, sizeof message,
                             "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32001,\"message\":\"message of "
                             "%zu bytes exceeds the limit of %zu bytes (max_message_bytes)\"}}",
                             skipped, max);
                    stdio_send(t, message, strlen(message), NULL);
                    skipping = false;
                } else {
                    deliver_line(t, line, line_len);
                }
                line_len = 0;
                continue;
            }
            if (skipping) {
                skipped++;
                continue;
            }
            if (line_len == max) {
                skipping = true;
                skipped = line_len + 1;
                line_len = 0;
                continue;
            }
            line[line_len++] = c;
        }
    }
    /* Input ended: a last message without a trailing newline still counts. */
    if (!skipping && line_len > 0)
        deliver_line(t, line, line_len);
    if (t->opts.on_eof)
        t->opts.on_eof(t->opts.on_eof_opaque);
out:
    free(chunk);
    free(line);
    return NULL;
}

int stdio_transport_start(mcp_server *server, const stdio_transport_options *opts, stdio_transport **ret) {
    if (!opts || opts->max_line_bytes == 0)
        return -EINVAL;
    stdio_transport *t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->opts = *opts;
    pthread_mutex_init(&t->write_lock, NULL);
    if (pipe2(t->wake_pipe, O_CLOEXEC) < 0) {
        int r = -errno;
        free(t);
        return r;
    }
    mcp_session_options so = {.send = stdio_send, .send_opaque = t};
    int r = mcp_session_new(server, &so, &t->session);
    if (r < 0)
        goto fail;
    if (pthread_create(&t->reader, NULL, reader_main, t) != 0) {
        mcp_session_close(t->session);
        r = -EAGAIN;
        goto fail;
    }
    *ret = t;
    return 0;
fail:
    close(t->wake_pipe[0]);
    close(t->wake_pipe[1]);
    pthread_mutex_destroy(&t->write_lock);
    free(t);
    return r;
}

stdio_transport *stdio_transport_stop(stdio_transport *t) {
    if (!t)
        return NULL;
    ssize_t ignored = write(t->wake_pipe[1], "x", 1);
    (void)ignored;
    pthread_join(t->reader, NULL);
    mcp_session_close(t->session);
    t->session = NULL;
    return t;
}

stdio_transport *stdio_transport_free(stdio_transport *t) {
    if (!t)
        return NULL;
    close(t->wake_pipe[0]);
    close(t->wake_pipe[1]);
    pthread_mutex_destroy(&t->write_lock);
    free(t);
    return NULL;
}
