/* Every HTTP answer carries the hardening headers; HSTS only over TLS or when forced behind a proxy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "gate/security_headers.h"

typedef struct header_list {
    size_t n;
    const char *name[16];
    const char *value[16];
} header_list;

static void collect(void *opaque, const char *name, const char *value) {
    header_list *h = opaque;
    assert_true(h->n < 16);
    h->name[h->n] = name;
    h->value[h->n] = value;
    h->n++;
}

static const char *header_get(const header_list *h, const char *name) {
    const char *found = NULL;
    for (size_t i = 0; i < h->n; i++) {
        if (strcasecmp(h->name[i], name) == 0) {
            assert_null(found); /* each header exactly once */
            found = h->value[i];
        }
    }
    return found;
}

static void check_common(const header_list *h) {
    assert_string_equal(header_get(h, "Content-Security-Policy"), "default-src 'none'; frame-ancestors 'none'");
    assert_string_equal(header_get(h, "X-Frame-Options"), "DENY");
    assert_string_equal(header_get(h, "X-Content-Type-Options"), "nosniff");
    assert_string_equal(header_get(h, "Referrer-Policy"), "no-referrer");
    assert_string_equal(header_get(h, "Cross-Origin-Opener-Policy"), "same-origin");
    assert_string_equal(header_get(h, "Cross-Origin-Resource-Policy"), "same-origin");
    assert_string_equal(header_get(h, "Cache-Control"), "no-store");
    const char *pp = header_get(h, "Permissions-Policy");
    assert_non_null(pp);
    const char *denied[] = {"camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"};
    for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++)
        assert_non_null(strstr(pp, denied[i]));
    for (size_t i = 0; i < h->n; i++) /* header values must be safe to put on the wire as-is */
        assert_null(strpbrk(h->value[i], "\r\n"));
}

static void test_plain_http(void **state) {
    header_list h = {0};
    security_headers_each(false, false, collect, &h);
    assert_int_equal(h.n, 8);
    check_common(&h);
    assert_null(header_get(&h, "Strict-Transport-Security"));
}

static void test_tls(void **state) {
    header_list h = {0};
    security_headers_each(true, false, collect, &h);
    assert_int_equal(h.n, 9);
    check_common(&h);
    assert_string_equal(header_get(&h, "Strict-Transport-Security"), "max-age=31536000; includeSubDomains");
}

static void test_hsts_forced(void **state) {
    /* ENABLE_HSTS=true: TLS ends at the ingress, the browser still saw https. */
    header_list h = {0};
    security_headers_each(false, true, collect, &h);
    assert_int_equal(h.n, 9);
    check_common(&h);
    assert_string_equal(header_get(&h, "Strict-Transport-Security"), "max-age=31536000; includeSubDomains");
    memset(&h, 0, sizeof h);
    security_headers_each(true, true, collect, &h);
    assert_int_equal(h.n, 9);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_plain_http), cmocka_unit_test(test_tls),
                                       cmocka_unit_test(test_hsts_forced)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
