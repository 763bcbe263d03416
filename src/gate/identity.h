/* Who is calling, once the gate has decided: the subject, groups and uid a validated credential
 * stands for. Travels with the request to the tools and the audit log. */
#ifndef KUBEMCP_GATE_IDENTITY_H
#define KUBEMCP_GATE_IDENTITY_H

#include <stddef.h>

typedef struct caller_identity {
    char *username;
    char *uid;     /* may be NULL */
    char **groups; /* NULL-terminated, may be empty */
    size_t group_count;
    char *source;  /* how it was established: "tokenreview", "oidc", … */
} caller_identity;

/* All strings are copied. groups may be NULL. Returns NULL when out of memory. */
caller_identity *caller_identity_new(const char *username, const char *uid, const char *const *groups,
                                     size_t group_count, const char *source);
caller_identity *caller_identity_copy(const caller_identity *id);
caller_identity *caller_identity_free(caller_identity *id);

#endif
