/* MCP over stdio: newline-delimited JSON-RPC on a pair of file descriptors. A reader thread feeds
 * whole lines to one MCP session; answers (possibly from worker threads) are written as whole
 * lines under a lock, so concurrent tool calls never interleave on stdout. */
#ifndef KUBEMCP_TRANSPORT_STDIO_H
#define KUBEMCP_TRANSPORT_STDIO_H

#include <stddef.h>

#include "mcp/server.h"

typedef struct stdio_transport stdio_transport;

typedef struct stdio_transport_options {
    int in_fd;
    int out_fd;
    size_t max_line_bytes;             /* a longer line is answered with an error and skipped */
    void (*on_eof)(void *opaque);      /* called from the reader thread when input ends */
    void *on_eof_opaque;
} stdio_transport_options;

int stdio_transport_start(mcp_server *server, const stdio_transport_options *opts, stdio_transport **ret);
/* Stops reading, closes the session (calls still running are cancelled, their answers dropped)
 * and joins the reader. Returns t, which stays valid for the send callback until
 * stdio_transport_free — call that only after the server's workers are drained. */
stdio_transport *stdio_transport_stop(stdio_transport *t);
stdio_transport *stdio_transport_free(stdio_transport *t);

#endif
