/* core/base64: the standard form Kubernetes writes (padding optional, whitespace ignored) and the
 * strict base64url of JWS (no padding, canonical), against RFC 4648 §10's vectors and the inputs
 * each must refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base64.h"

static void decodes_to(int (*decode)(const char *, size_t, unsigned char **, size_t *), const char *in,
                       const char *want) {
    unsigned char *d = NULL;
    size_t n = 99;
    assert_int_equal(decode(in, strlen(in), &d, &n), 0);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(d, want, n);
    assert_int_equal(d[n], '\0');
    free(d);
}

static void refuses(int (*decode)(const char *, size_t, unsigned char **, size_t *), const char *in) {
    unsigned char *d = (unsigned char *)"untouched";
    size_t n = 99;
    assert_int_equal(decode(in, strlen(in), &d, &n), -EINVAL);
    assert_string_equal((const char *)d, "untouched");
    assert_int_equal(n, 99);
}

static void test_rfc4648_vectors(void **state) {
    (void)state;
    static const char *const vectors[][2] = {{"", ""},         {"Zg==", "f"},         {"Zm8=", "fo"},
                                             {"Zm9v", "foo"},  {"Zm9vYg==", "foob"}, {"Zm9vYmE=", "fooba"},
                                             {"Zm9vYmFy", "foobar"}};
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        decodes_to(base64_decode, vectors[i][0], vectors[i][1]);
        /* base64url has the same symbols here, without the padding */
        char unpadded[16];
        snprintf(unpadded, sizeof unpadded, "%s", vectors[i][0]);
        char *eq = strchr(unpadded, '=');
        if (eq)
            *eq = '\0';
        decodes_to(base64url_decode_strict, unpadded, vectors[i][1]);
    }
}

static void test_standard_is_lenient_where_kubernetes_is(void **state) {
    (void)state;
    decodes_to(base64_decode, "aGVsbG8", "hello");             /* padding optional */
    decodes_to(base64_decode, "aGVs\nbG8=\r\n", "hello");      /* line breaks, as `base64` writes */
    decodes_to(base64_decode, " aGVs bG8= ", "hello");
    decodes_to(base64_decode, "+/+/", "\xfb\xff\xbf");
    refuses(base64_decode, "a");          /* one symbol cannot hold a byte */
    refuses(base64_decode, "aGVs=bG8");   /* a symbol after padding */
    refuses(base64_decode, "aGV*");
    refuses(base64_decode, "aGVsbG8===");
    refuses(base64_decode, "aGVsbA=");    /* padding that does not complete a quantum */
    refuses(base64_decode, "-_-_");       /* the url alphabet is not the standard one */
}

static void test_base64url_is_strict(void **state) {
    (void)state;
    decodes_to(base64url_decode_strict, "-_-_", "\xfb\xff\xbf");
    refuses(base64url_decode_strict, "+/+/");   /* the standard alphabet */
    refuses(base64url_decode_strict, "Zg==");   /* padding */
    refuses(base64url_decode_strict, "Zm9 v");  /* whitespace */
    refuses(base64url_decode_strict, "Zm9vY");  /* a length no encoding has */
    refuses(base64url_decode_strict, "Zh");     /* unused bits set: a second spelling of "f" */
    refuses(base64url_decode_strict, "Zm9=");
}

static void test_embedded_nul_is_data(void **state) {
    (void)state;
    unsigned char *d = NULL;
    size_t n = 0;
    assert_int_equal(base64url_decode_strict("AGEA", 4, &d, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(d, "\0a\0", 3);
    free(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),
        cmocka_unit_test(test_standard_is_lenient_where_kubernetes_is),
        cmocka_unit_test(test_base64url_is_strict),
        cmocka_unit_test(test_embedded_nul_is_data),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
