/* NULL-terminated arrays of owned strings: how the gate keeps the lists it is configured with
 * (audiences, algorithms, scopes) and the scopes a token granted. */
#ifndef KUBEMCP_CORE_STRV_H
#define KUBEMCP_CORE_STRV_H

#include <stdbool.h>

/* A copy of s, or NULL for NULL; a failed copy sets *oom (and returns NULL), so that a constructor
 * copying many fields checks once at the end. */
char *strdup_tracked(const char *s, bool *oom);

/* A copy of the NULL-terminated array v (strings included), or NULL for NULL. On a failed
 * allocation *oom is set; the array returned then may hold fewer strings, and strv_free frees it. */
char **strv_copy(const char *const *v, bool *oom);

/* Frees every string and the array; NULL is fine. */
void strv_free(char **v);

#endif
