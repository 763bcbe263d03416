/* cjose (and through it libcrypto), opened when the first OpenID token or JWKS is checked (see
 * lazy_lib.h). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjose/cjose.h>

#include "lazy/lazy_lib.h"

#define CJOSE_FUNCTIONS(X)                                                                                     \
    X(cjose_jwk_create_oct_spec)                                                                               \
    X(cjose_jwk_import)                                                                                        \
    X(cjose_jwk_get_keysize)                                                                                   \
    X(cjose_jwk_release)                                                                                       \
    X(cjose_jws_import)                                                                                        \
    X(cjose_jws_verify)                                                                                        \
    X(cjose_jws_release)

LAZY_LIBRARY(KUBEMCP_SONAME_CJOSE, "libcjose0", CJOSE_FUNCTIONS);

/* Loads cjose; when it cannot, fills err as cjose would, with the reason as the message. */
static bool load(cjose_err *err) {
    if (lazy_lib_load(&lib) == 0)
        return true;
    if (err)
        *err = (cjose_err){.code = CJOSE_ERR_INVALID_STATE, .message = lib.error, .function = __func__,
                           .file = __FILE__, .line = __LINE__};
    return false;
}

cjose_jwk_t *cjose_jwk_create_oct_spec(const uint8_t *data, size_t len, cjose_err *err) {
    return load(err) ? LAZY_REAL(cjose_jwk_create_oct_spec)(data, len, err) : NULL;
}

cjose_jwk_t *cjose_jwk_import(const char *json, size_t len, cjose_err *err) {
    return load(err) ? LAZY_REAL(cjose_jwk_import)(json, len, err) : NULL;
}

size_t cjose_jwk_get_keysize(const cjose_jwk_t *jwk, cjose_err *err) {
    return load(err) ? LAZY_REAL(cjose_jwk_get_keysize)(jwk, err) : 0;
}

bool cjose_jwk_release(cjose_jwk_t *jwk) {
    return lazy_lib_loaded(&lib) && LAZY_REAL(cjose_jwk_release)(jwk);
}

cjose_jws_t *cjose_jws_import(const char *compact, size_t compact_len, cjose_err *err) {
    return load(err) ? LAZY_REAL(cjose_jws_import)(compact, compact_len, err) : NULL;
}

bool cjose_jws_verify(cjose_jws_t *jws, const cjose_jwk_t *jwk, cjose_err *err) {
    return load(err) && LAZY_REAL(cjose_jws_verify)(jws, jwk, err);
}

void cjose_jws_release(cjose_jws_t *jws) {
    if (lazy_lib_loaded(&lib))
        LAZY_REAL(cjose_jws_release)(jws);
}
