/* Durations as kubectl and Go write them: "1h", "90m", "3600s", "1h30m", "1.5h". */
#ifndef KUBEMCP_CORE_DURATION_H
#define KUBEMCP_CORE_DURATION_H

#include "core/error_info.h"

/* Whole seconds (fractions rounded down); a bare number means seconds. -EINVAL with a message for
 * anything else, negative or zero durations, or more than 10 years. */
int duration_parse_seconds(const char *text, long long *ret_seconds, error_info *err);

#endif
