/* GnuTLS, for the HTTPS server's certificate (see lazy_lib.h). libmicrohttpd loads it as well. */
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>

#include "lazy/lazy_lib.h"

#define GNUTLS_FUNCTIONS(X)                                                                                    \
    X(gnutls_strerror)                                                                                         \
    X(gnutls_pcert_list_import_x509_raw)                                                                       \
    X(gnutls_pcert_deinit)                                                                                     \
    X(gnutls_privkey_init)                                                                                     \
    X(gnutls_privkey_import_x509_raw)                                                                          \
    X(gnutls_privkey_deinit)

LAZY_LIBRARY(KUBEMCP_SONAME_GNUTLS, "libgnutls30", GNUTLS_FUNCTIONS);

/* When GnuTLS cannot be loaded, the calls below fail with GNUTLS_E_LIB_IN_ERROR_STATE and this
 * says why. */
const char *gnutls_strerror(int error) {
    return lazy_lib_load(&lib) < 0 ? lib.error : LAZY_REAL(gnutls_strerror)(error);
}

int gnutls_pcert_list_import_x509_raw(gnutls_pcert_st *pcerts, unsigned int *pcert_max, const gnutls_datum_t *data,
                                      gnutls_x509_crt_fmt_t format, unsigned int flags) {
    return lazy_lib_load(&lib) < 0 ? GNUTLS_E_LIB_IN_ERROR_STATE
                                   : LAZY_REAL(gnutls_pcert_list_import_x509_raw)(pcerts, pcert_max, data, format, flags);
}

void gnutls_pcert_deinit(gnutls_pcert_st *pcert) {
    if (lazy_lib_loaded(&lib))
        LAZY_REAL(gnutls_pcert_deinit)(pcert);
}

int gnutls_privkey_init(gnutls_privkey_t *key) {
    return lazy_lib_load(&lib) < 0 ? GNUTLS_E_LIB_IN_ERROR_STATE : LAZY_REAL(gnutls_privkey_init)(key);
}

int gnutls_privkey_import_x509_raw(gnutls_privkey_t pkey, const gnutls_datum_t *data, gnutls_x509_crt_fmt_t format,
                                   const char *password, unsigned int flags) {
    return lazy_lib_load(&lib) < 0 ? GNUTLS_E_LIB_IN_ERROR_STATE
                                   : LAZY_REAL(gnutls_privkey_import_x509_raw)(pkey, data, format, password, flags);
}

void gnutls_privkey_deinit(gnutls_privkey_t key) {
    if (lazy_lib_loaded(&lib))
        LAZY_REAL(gnutls_privkey_deinit)(key);
}
