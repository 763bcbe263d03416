/* libcrypto (OpenSSL), opened on first use (see lazy_lib.h): a stdio server that has not talked to
 * a cluster does not map it; libcurl opens it too when it is loaded. */
#include <stddef.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "lazy/lazy_lib.h"

#define CRYPTO_FUNCTIONS(X)                                                                                    \
    X(CRYPTO_memcmp)                                                                                           \
    X(OPENSSL_cleanse)                                                                                         \
    X(RAND_bytes)                                                                                              \
    X(SHA256)                                                                                                  \
    X(EVP_MD_fetch)                                                                                            \
    X(EVP_Digest)

LAZY_LIBRARY(KUBEMCP_SONAME_CRYPTO, "libssl3", CRYPTO_FUNCTIONS);

/* Failing means "not equal", which refuses whatever was being compared. */
int CRYPTO_memcmp(const void *in_a, const void *in_b, size_t len) {
    return lazy_lib_load(&lib) < 0 ? 1 : LAZY_REAL(CRYPTO_memcmp)(in_a, in_b, len);
}

/* The secret must be wiped whether or not libcrypto can be loaded. */
void OPENSSL_cleanse(void *ptr, size_t len) {
    if (lazy_lib_load(&lib) < 0)
        explicit_bzero(ptr, len);
    else
        LAZY_REAL(OPENSSL_cleanse)(ptr, len);
}

int RAND_bytes(unsigned char *buf, int num) {
    return lazy_lib_load(&lib) < 0 ? 0 : LAZY_REAL(RAND_bytes)(buf, num);
}

/* Callers use the digest without checking for NULL (OpenSSL fails here only without memory). */
unsigned char *SHA256(const unsigned char *d, size_t n, unsigned char *md) {
    if (lazy_lib_load(&lib) < 0)
        lazy_lib_die(&lib);
    return LAZY_REAL(SHA256)(d, n, md);
}

EVP_MD *EVP_MD_fetch(OSSL_LIB_CTX *ctx, const char *algorithm, const char *properties) {
    return lazy_lib_load(&lib) < 0 ? NULL : LAZY_REAL(EVP_MD_fetch)(ctx, algorithm, properties);
}

int EVP_Digest(const void *data, size_t count, unsigned char *md, unsigned int *size, const EVP_MD *type,
               ENGINE *impl) {
    return lazy_lib_load(&lib) < 0 ? 0 : LAZY_REAL(EVP_Digest)(data, count, md, size, type, impl);
}
