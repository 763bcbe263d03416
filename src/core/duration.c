#include "core/duration.h"

#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DURATION_MAX_SECONDS (10LL * 365 * 24 * 3600)

int duration_parse_seconds(const char *text, long long *ret_seconds, error_info *err) {
    if (!text || !*text)
        return error_set(err, EINVAL, "empty duration; write it like 1h, 30m or 3600s");
    const char *p = text;
    double total = 0;
    bool any = false;
    while (*p) {
        if (!isdigit((unsigned char)*p) && *p != '.')
            goto bad;
        char *end;
        errno = 0;
        double value = strtod(p, &end);
        if (end == p || errno)
            goto bad;
        p = end;
        double unit;
        if (*p == '\0' && !any)
            unit = 1; /* a bare number is seconds */
        else if (p[0] == 'h')
            unit = 3600, p++;
        else if (p[0] == 'm' && p[1] == 's')
            unit = 0.001, p += 2;
        else if (p[0] == 'm')
            unit = 60, p++;
        else if (p[0] == 's')
            unit = 1, p++;
        else
            goto bad;
        total += value * unit;
        any = true;
        if (total > (double)DURATION_MAX_SECONDS)
            return error_set(err, EINVAL, "duration \"%s\" is longer than 10 years", text);
    }
    if (total < 1)
        return error_set(err, EINVAL, "duration \"%s\" must be at least one second", text);
    *ret_seconds = (long long)total;
    return 0;
bad:
    return error_set(err, EINVAL, "cannot read duration \"%s\"; write it like 1h, 30m, 1h30m or 3600s", text);
}
