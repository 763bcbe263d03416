#include "core/yaml_input.h"

#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

char *yaml_input_normalize_newlines(const char *text, size_t len, size_t *ret_len) {
    *ret_len = 0;
    if (!memchr(text, '\r', len))
        return NULL;
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\r') {
            out[o++] = '\n';
            if (i + 1 < len && text[i + 1] == '\n')
                i++;
        } else {
            out[o++] = text[i];
        }
    }
    out[o] = '\0';
    *ret_len = o;
    return out;
}

size_t yaml_input_unprintable(const char *text, size_t len) {
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
            return i;
    }
    return len;
}

static void discard_output(struct fy_diag *diag, void *user, const char *buf, size_t len) {
    (void)diag;
    (void)user;
    (void)buf;
    (void)len;
}

struct fy_diag *yaml_input_quiet_diag(void) {
    struct fy_diag_cfg cfg;
    fy_diag_cfg_default(&cfg);
    cfg.fp = NULL;
    cfg.output_fn = discard_output;
    cfg.colorize = false;
    struct fy_diag *diag = fy_diag_create(&cfg);
    if (diag)
        fy_diag_set_collect_errors(diag, true);
    return diag;
}
