/* Preparing text for libfyaml 0.7, shared by every YAML reader (kubeconfig, manifests). */
#ifndef KUBEMCP_CORE_YAML_INPUT_H
#define KUBEMCP_CORE_YAML_INPUT_H

#include <stddef.h>

struct fy_diag;

/* YAML treats CR, CRLF and LF alike as line breaks, but libfyaml 0.7 leaks memory on some block
 * scalars whose lines end in CR (found by fuzzing). Returns a copy with every CR and CRLF turned
 * into LF (caller frees), or NULL when text holds no CR (use it as it is) or on allocation failure
 * (*ret_len is 0 then). */
char *yaml_input_normalize_newlines(const char *text, size_t len, size_t *ret_len);

/* Offset of the first byte YAML does not allow in a stream (C0 controls other than tab, LF and CR,
 * and DEL: YAML 1.2's c-printable), or len. libfyaml 0.7 leaks memory on some of them inside
 * quoted scalars (found by fuzzing), so such input is refused before parsing. */
size_t yaml_input_unprintable(const char *text, size_t len);

/* A diagnostics object that collects errors (fy_diag_errors_iterate) and prints nothing: libfyaml
 * would otherwise write to stderr, which is the MCP log. Release with fy_diag_unref. */
struct fy_diag *yaml_input_quiet_diag(void);

#endif
