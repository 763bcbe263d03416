/* Cleaning Kubernetes objects before a model reads them. */
#ifndef KUBEMCP_TOOLS_REDACT_H
#define KUBEMCP_TOOLS_REDACT_H

#include <stdbool.h>

#include <jansson.h>

/* Removes metadata.managedFields from an object, and from every item of a *List. In place. */
void redact_drop_managed_fields(json_t *object);

/* Masks Secret values in place: for any object with kind "Secret" (or items of a SecretList, or a
 * List whose items are Secrets), every value of data and stringData becomes "****", and the
 * kubectl.kubernetes.io/last-applied-configuration annotation (which repeats them) is masked.
 * Also masks Table rows whose object is a Secret. Returns the number of values masked. */
size_t redact_mask_secrets(json_t *object);

/* Masks secrets inside free text (an apiserver error message may quote an object): uses
 * log_sanitize plus masking of "data": {...} values in embedded JSON. In place; returns new length. */
size_t redact_text(char *text, size_t len);

#endif
