/* Base64 decoding (RFC 4648), in the two forms kubemcp reads:
 *   - standard base64 as Kubernetes writes it (kubeconfig *-data fields, the
 *     kubernetes-certificate-authority-data header): '+' '/', padding optional, whitespace ignored;
 *   - base64url as JWS writes it (RFC 7515 §2): '-' '_', no padding, no whitespace, and canonical
 *     (unused trailing bits zero), so that one token has exactly one spelling.
 * Both refuse anything else with -EINVAL and return a new buffer with a NUL after the data, so a
 * decoded text can be handed to string functions. The encoders write the same two forms. */
#ifndef KUBEMCP_CORE_BASE64_H
#define KUBEMCP_CORE_BASE64_H

#include <stddef.h>

/* 0, or -EINVAL (a byte outside the alphabet, a symbol after padding, a length no encoding has),
 * or -ENOMEM. */
int base64_decode(const char *in, size_t in_len, unsigned char **ret_data, size_t *ret_len);

/* 0, or -EINVAL (a byte outside the base64url alphabet, padding, a length no encoding has, non-zero
 * unused bits), or -ENOMEM. */
int base64url_decode_strict(const char *in, size_t in_len, unsigned char **ret_data, size_t *ret_len);

/* New NUL-terminated text: standard base64 with padding (an HTTP Basic credential), or base64url
 * without padding (a JWS segment). NULL when out of memory. */
char *base64_encode(const void *data, size_t len);
char *base64url_encode(const void *data, size_t len);

/* The decoded size of in_len symbols, as an upper bound for either form. */
static inline size_t base64_decoded_max(size_t in_len) {
    return in_len / 4 * 3 + 3;
}

#endif
