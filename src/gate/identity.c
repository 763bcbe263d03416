#include "gate/identity.h"

#include <stdlib.h>
#include <string.h>

static char *dup_or_null(const char *s) {
    return s ? strdup(s) : NULL;
}

caller_identity *caller_identity_new(const char *username, const char *uid, const char *const *groups,
                                     size_t group_count, const char *source) {
    caller_identity *id = calloc(1, sizeof *id);
    if (!id)
        return NULL;
    id->username = dup_or_null(username ? username : "");
    id->uid = dup_or_null(uid);
    id->source = dup_or_null(source ? source : "");
    id->groups = calloc(group_count + 1, sizeof *id->groups);
    if (!id->username || !id->source || !id->groups || (uid && !id->uid))
        return caller_identity_free(id);
    for (size_t i = 0; i < group_count; i++) {
        id->groups[i] = strdup(groups[i]);
        if (!id->groups[i])
            return caller_identity_free(id);
        id->group_count++;
    }
    return id;
}

caller_identity *caller_identity_copy(const caller_identity *id) {
    if (!id)
        return NULL;
    return caller_identity_new(id->username, id->uid, (const char *const *)id->groups, id->group_count, id->source);
}

caller_identity *caller_identity_free(caller_identity *id) {
    if (!id)
        return NULL;
    free(id->username);
    free(id->uid);
    free(id->source);
    for (size_t i = 0; id->groups && i < id->group_count; i++)
        free(id->groups[i]);
    free(id->groups);
    free(id);
    return NULL;
}
