#include "core/strv.h"

#include <stdlib.h>
#include <string.h>

char *strdup_tracked(const char *s, bool *oom) {
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

char **strv_copy(const char *const *v, bool *oom) {
    if (!v)
        return NULL;
    size_t n = 0;
    while (v[n])
        n++;
    char **out = calloc(n + 1, sizeof *out);
    if (!out) {
        *oom = true;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        /* Stop at the first failure: the array stays NULL-terminated after what was copied. */
        if (!(out[i] = strdup(v[i]))) {
            *oom = true;
            break;
        }
    }
    return out;
}

void strv_free(char **v) {
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}
