/* Who sent a message, as the transport established it: the credential to use toward Kubernetes
 * for the calls it starts, the validated identity (for the audit log and impersonation), and
 * where it came from. HTTP transports pass one per request, since each POST brings its own
 * Authorization header; stdio passes none. */
#ifndef KUBEMCP_MCP_CALLER_H
#define KUBEMCP_MCP_CALLER_H

#include "gate/identity.h"
#include "kube/kube.h"

/* A borrowed view, valid for the duration of one mcp_session_receive_as call. */
typedef struct mcp_caller {
    const kube_credential *credential; /* NULL = the server's own credentials */
    const caller_identity *identity;   /* NULL = not validated */
    const char *source_address;        /* NULL = stdio */
    kube_cluster *cluster;             /* the cluster the request named by header; NULL = by context */
    /* Which tools this caller may see in tools/list (e.g. by its token's scopes); NULL = all. */
    bool (*tool_visible)(const void *opaque, const char *tool, bool read_only);
    const void *tool_visible_opaque;
} mcp_caller;

/* An owned deep copy, kept by a tool call that outlives the request that started it. Secrets in
 * it are wiped when it is freed. */
typedef struct mcp_caller_copy mcp_caller_copy;

mcp_caller_copy *mcp_caller_copy_new(const mcp_caller *caller);
mcp_caller_copy *mcp_caller_copy_free(mcp_caller_copy *copy);
/* Borrowed views into the copy (NULL when absent). */
const kube_credential *mcp_caller_copy_credential(const mcp_caller_copy *copy);
const caller_identity *mcp_caller_copy_identity(const mcp_caller_copy *copy);
const char *mcp_caller_copy_source(const mcp_caller_copy *copy);
kube_cluster *mcp_caller_copy_cluster(const mcp_caller_copy *copy);

#endif
