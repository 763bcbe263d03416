#include "mcp/caller.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

struct mcp_caller_copy {
    bool has_credential;
    kube_credential credential; /* points into the fields below */
    char *bearer_token;
    char *impersonate_user;
    char **impersonate_groups; /* NULL-terminated */
    char *impersonate_uid;
    caller_identity *identity;
    char *source_address;
    kube_cluster *cluster; /* borrowed: provider-owned, lives as long as the server */
};

static char *dup_or_null(const char *s, bool *failed) {
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *failed = true;
    return d;
}

mcp_caller_copy *mcp_caller_copy_new(const mcp_caller *caller) {
    mcp_caller_copy *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (!caller)
        return c;
    bool failed = false;
    const kube_credential *cred = caller->credential;
    if (cred) {
        c->has_credential = true;
        c->bearer_token = dup_or_null(cred->bearer_token, &failed);
        c->impersonate_user = dup_or_null(cred->impersonate_user, &failed);
        c->impersonate_uid = dup_or_null(cred->impersonate_uid, &failed);
        if (cred->impersonate_groups) {
            size_t n = 0;
            while (cred->impersonate_groups[n])
                n++;
            c->impersonate_groups = calloc(n + 1, sizeof *c->impersonate_groups);
            if (!c->impersonate_groups)
                failed = true;
            for (size_t i = 0; !failed && i < n; i++)
                c->impersonate_groups[i] = dup_or_null(cred->impersonate_groups[i], &failed);
        }
        c->credential = (kube_credential){
            .bearer_token = c->bearer_token,
            .impersonate_user = c->impersonate_user,
            .impersonate_groups = (const char *const *)c->impersonate_groups,
            .impersonate_uid = c->impersonate_uid,
        };
    }
    if (caller->identity && !(c->identity = caller_identity_copy(caller->identity)))
        failed = true;
    c->source_address = dup_or_null(caller->source_address, &failed);
    c->cluster = caller->cluster;
    if (failed)
        return mcp_caller_copy_free(c);
    return c;
}

mcp_caller_copy *mcp_caller_copy_free(mcp_caller_copy *c) {
    if (!c)
        return NULL;
    if (c->bearer_token) {
        OPENSSL_cleanse(c->bearer_token, strlen(c->bearer_token));
        free(c->bearer_token);
    }
    free(c->impersonate_user);
    free(c->impersonate_uid);
    for (size_t i = 0; c->impersonate_groups && c->impersonate_groups[i]; i++)
        free(c->impersonate_groups[i]);
    free(c->impersonate_groups);
    caller_identity_free(c->identity);
    free(c->source_address);
    free(c);
    return NULL;
}

const kube_credential *mcp_caller_copy_credential(const mcp_caller_copy *c) {
    return c && c->has_credential ? &c->credential : NULL;
}

const caller_identity *mcp_caller_copy_identity(const mcp_caller_copy *c) {
    return c ? c->identity : NULL;
}

const char *mcp_caller_copy_source(const mcp_caller_copy *c) {
    return c ? c->source_address : NULL;
}

kube_cluster *mcp_caller_copy_cluster(const mcp_caller_copy *c) {
    return c ? c->cluster : NULL;
}
