/* Turning Kubernetes JSON into text for the model: YAML, or the apiserver's Table format as
 * aligned columns. */
#ifndef KUBEMCP_TOOLS_OUTPUT_H
#define KUBEMCP_TOOLS_OUTPUT_H

#include <stdbool.h>

#include <jansson.h>

#include "core/buf.h"

/* Appends value as block YAML (like `kubectl get -o yaml`): keys in the object's order, strings
 * quoted only where YAML needs it (booleans, numbers, null-ish words, leading/trailing spaces,
 * ": ", " #", special first characters, empty string), multi-line strings as literal blocks (|,
 * |-), empty maps/lists as {} / []. A list of objects is written as a YAML sequence.
 * Returns negative errno (-EMSGSIZE when out is full). */
int output_yaml(const json_t *value, buf *out);

/* Appends a meta.k8s.io/v1 Table as aligned text columns like kubectl: upper-case headers,
 * priority-0 columns only unless wide, NAMESPACE first when with_namespace (taken from each row's
 * object.metadata.namespace), a "No resources found" line for an empty table. */
int output_table(const json_t *table, bool with_namespace, buf *out);

/* Appends rows of cells (row-major, nrows × ncolumns, row 0 usually the headers) as columns
 * aligned like kubectl's tabwriter: three spaces between columns, no trailing padding. NULL cells
 * print as empty. */
int output_columns(const char *const *cells, size_t ncolumns, size_t nrows, buf *out);

#endif
