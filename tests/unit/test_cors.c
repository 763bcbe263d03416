/* ALLOWED_ORIGINS rules (seed 003), the Origin/Host gate the MCP spec requires (403 for a foreign
 * Origin, DNS-rebinding protection on loopback) and the CORS headers an allowed browser client gets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gate/cors.h"

static cors_policy *policy_ok(const char *csv) {
    cors_policy *p = NULL;
    error_info err = {0};
    int r = cors_policy_new(csv, &p, &err);
    if (r < 0)
        fail_msg("cors_policy_new(\"%s\") failed: %s", csv ? csv : "(null)", err.message);
    assert_non_null(p);
    return p;
}

/* ---- ALLOWED_ORIGINS parsing ---- */

static void test_normalisation(void **state) {
    static const struct {
        const char *entry;
        const char *normalised;
    } cases[] = {
        {"https://app.example.com", "https://app.example.com:443"},
        {"http://app.example.com", "http://app.example.com:80"},
        {"http://localhost:3000", "http://localhost:3000"},
        {"HTTPS://App.Example.COM", "https://app.example.com:443"},
        {"HtTp://LOCALHOST:8080", "http://localhost:8080"},
        {"https://example.com/", "https://example.com:443"},  /* a lone "/" is stripped */
        {"https://example.com:8443/", "https://example.com:8443"},
        {"http://example.com:080", "http://example.com:80"},
        {"http://127.0.0.1:6274", "http://127.0.0.1:6274"},
        {"http://[::1]:8080", "http://[::1]:8080"},
        {"http://[0:0:0:0:0:0:0:1]", "http://[::1]:80"},
        {"https://[2001:DB8::1]:8443", "https://[2001:db8::1]:8443"},
        {"https://under_score.example.com", "https://under_score.example.com:443"},
        {"https://xn--bcher-kva.example", "https://xn--bcher-kva.example:443"},
        {"\t https://padded.example.com \t", "https://padded.example.com:443"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cors_policy *p = policy_ok(cases[i].entry);
        assert_int_equal(cors_policy_count(p), 1);
        assert_string_equal(cors_policy_origin(p, 0), cases[i].normalised);
        cors_policy_free(p);
    }
}

static void test_list_handling(void **state) {
    cors_policy *p = policy_ok(" https://a.example.com ,, , https://b.example.com:8443,https://A.example.com:443/ ,");
    assert_int_equal(cors_policy_count(p), 2); /* empty entries ignored, duplicate collapsed */
    assert_string_equal(cors_policy_origin(p, 0), "https://a.example.com:443");
    assert_string_equal(cors_policy_origin(p, 1), "https://b.example.com:8443");
    assert_null(cors_policy_origin(p, 2));
    cors_policy_free(p);

    const char *empty[] = {NULL, "", " ", ",", " , ,\t,"};
    for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
        p = policy_ok(empty[i]);
        assert_int_equal(cors_policy_count(p), 0);
        assert_false(cors_origin_allowed(p, "https://a.example.com"));
        cors_policy_free(p);
    }
    assert_null(cors_policy_free(NULL));
}

static void test_invalid_entries(void **state) {
    static const struct {
        const char *csv;
        const char *message_part; /* the rule */
    } cases[] = {
        {"example.com", "missing scheme"},
        {"example.com:8080", "missing scheme"},
        {"//example.com", "missing scheme"},
        {"javascript:alert(1)", "missing scheme"},
        {"ftp://example.com", "scheme must be http or https"},
        {"ws://example.com", "scheme must be http or https"},
        {"file:///etc/passwd", "scheme must be http or https"},
        {"https://", "missing host"},
        {"https:///", "missing host"},
        {"https://:8080", "missing host"},
        {"https://example.com/path", "paths are not allowed"},
        {"https://example.com//", "paths are not allowed"},
        {"https://example.com/app/", "paths are not allowed"},
        {"https://example.com?x=1", "query strings are not allowed"},
        {"https://example.com/?", "query strings are not allowed"},
        {"https://example.com#top", "fragments are not allowed"},
        {"https://example.com/#", "fragments are not allowed"},
        {"https://user@example.com", "user information"},
        {"https://user:secret@example.com", "user information"},
        {"https://example.com:0", "port must be a number from 1 to 65535"},
        {"https://example.com:65536", "port must be a number from 1 to 65535"},
        {"https://example.com:", "port must be a number from 1 to 65535"},
        {"https://example.com:http", "port must be a number from 1 to 65535"},
        {"https://example.com:-1", "port must be a number from 1 to 65535"},
        {"https://example.com:123456", "port must be a number from 1 to 65535"},
        {"*", "wildcards are not allowed"},
        {"https://*.example.com", "wildcards are not allowed"},
        {"https://example.com:*", "wildcards are not allowed"},
        {"null", "\"null\" origin is not allowed"},
        {"https://exa mple.com", "spaces and control characters"},
        {"https://ex%41mple.com", "host may contain only"},
        {"https://example.com\\@evil.com", "user information"},
        {"https://b\xc3\xbc" "cher.de", "xn-- (punycode)"},
        {"http://[::1", "IPv6"},
        {"http://[zz::1]", "IPv6"},
        {"http://[fe80::1%25eth0]", "IPv6"},
        {"http://[::1]x", "host may contain only"},
        {"http://::1", "missing host"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cors_policy *p = (cors_policy *)(uintptr_t)0x1; /* must stay untouched on failure */
        error_info err = {0};
        char csv[256];
        snprintf(csv, sizeof csv, "https://good.example.com, %s", cases[i].csv);
        int r = cors_policy_new(csv, &p, &err);
        if (r != -EINVAL)
            fail_msg("entry \"%s\" accepted (r=%d)", cases[i].csv, r);
        assert_ptr_equal(p, (cors_policy *)(uintptr_t)0x1);
        if (!strstr(err.message, cases[i].message_part))
            fail_msg("entry \"%s\": message \"%s\" lacks \"%s\"", cases[i].csv, err.message, cases[i].message_part);
        assert_non_null(strstr(err.message, "ALLOWED_ORIGINS entry \""));
    }
}

static void test_messages_name_the_entry(void **state) {
    cors_policy *p = NULL;
    error_info err = {0};
    assert_int_equal(cors_policy_new("https://ok.example.com,https://example.com/path", &p, &err), -EINVAL);
    assert_string_equal(err.message, "ALLOWED_ORIGINS entry \"https://example.com/path\" is invalid: paths are not "
                                     "allowed (an origin is scheme://host[:port])");
    assert_int_equal(cors_policy_new(" example.com ", &p, &err), -EINVAL);
    assert_string_equal(err.message, "ALLOWED_ORIGINS entry \"example.com\" is invalid: missing scheme: an origin "
                                     "must start with http:// or https://, e.g. \"https://app.example.com\"");
    /* Control characters and quotes in the entry cannot forge log lines. */
    assert_int_equal(cors_policy_new("https://a\nb\"c", &p, &err), -EINVAL);
    assert_non_null(strstr(err.message, "\"https://a\\x0ab\\x22c\""));
    assert_null(strchr(err.message, '\n'));
    /* A NULL err is allowed. */
    assert_int_equal(cors_policy_new("nope", &p, NULL), -EINVAL);
}

static void test_limits(void **state) {
    /* 100 entries are fine, 101 are refused. */
    char *csv = malloc(101 * 40);
    assert_non_null(csv);
    size_t o = 0;
    for (int i = 0; i < 100; i++)
        o += (size_t)sprintf(csv + o, "%shttps://h%d.example.com", i ? "," : "", i);
    cors_policy *p = policy_ok(csv);
    assert_int_equal(cors_policy_count(p), 100);
    cors_policy_free(p);
    sprintf(csv + o, ",https://h100.example.com");
    error_info err = {0};
    p = NULL;
    assert_int_equal(cors_policy_new(csv, &p, &err), -EINVAL);
    assert_null(p);
    assert_non_null(strstr(err.message, "more than 100 entries"));
    free(csv);

    /* An entry of exactly 2048 bytes is fine, 2049 is refused. */
    char *big = malloc(2100);
    assert_non_null(big);
    memcpy(big, "https://", 8);
    memset(big + 8, 'a', 2040);
    big[2048] = '\0';
    p = policy_ok(big);
    assert_true(cors_origin_allowed(p, big));
    cors_policy_free(p);
    big[2048] = 'a';
    big[2049] = '\0';
    p = NULL;
    assert_int_equal(cors_policy_new(big, &p, &err), -EINVAL);
    assert_null(p);
    assert_non_null(strstr(err.message, "is too long: 2049 bytes (entries are at most 2048 bytes)"));
    assert_true(strlen(err.message) < 400); /* the entry is shown shortened */
    free(big);
}

static void test_origin_allowed(void **state) {
    cors_policy *p = policy_ok("https://app.example.com, http://localhost:6274, http://[::1]:3000");
    assert_true(cors_origin_allowed(p, "https://app.example.com"));
    assert_true(cors_origin_allowed(p, "https://app.example.com:443"));
    assert_true(cors_origin_allowed(p, "HTTPS://APP.EXAMPLE.COM"));
    assert_true(cors_origin_allowed(p, "http://localhost:6274"));
    assert_true(cors_origin_allowed(p, "http://[::1]:3000"));
    assert_true(cors_origin_allowed(p, "http://[0::1]:3000"));
    assert_false(cors_origin_allowed(p, "http://app.example.com"));      /* other scheme */
    assert_false(cors_origin_allowed(p, "https://app.example.com:8443")); /* other port */
    assert_false(cors_origin_allowed(p, "https://app.example.com.evil.com"));
    assert_false(cors_origin_allowed(p, "https://evilapp.example.com"));
    assert_false(cors_origin_allowed(p, "https://app.example.co"));
    assert_false(cors_origin_allowed(p, "http://localhost:62740"));
    assert_false(cors_origin_allowed(p, "http://localhost"));
    assert_false(cors_origin_allowed(p, "https://app.example.com/")); /* browsers never send a path */
    assert_false(cors_origin_allowed(p, "https://app.example.com, https://evil.com"));
    assert_false(cors_origin_allowed(p, "https://user@app.example.com"));
    assert_false(cors_origin_allowed(p, "null"));
    assert_false(cors_origin_allowed(p, ""));
    assert_false(cors_origin_allowed(p, NULL));
    assert_false(cors_origin_allowed(NULL, "https://app.example.com"));
    cors_policy_free(p);
}

/* ---- access_check ---- */

typedef struct access_case {
    bool loopback;
    unsigned port;
    const char *host;
    const char *origin;
    access_decision want;
} access_case;

static const char *decision_name(access_decision d) {
    return d == ACCESS_ALLOW ? "allow" : d == ACCESS_FORBIDDEN_ORIGIN ? "forbidden-origin" : "forbidden-host";
}

static void run_access_cases(const cors_policy *p, const access_case *cases, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const access_case *c = &cases[i];
        access_decision got = access_check(p, c->loopback, c->port, c->host, c->origin);
        if (got != c->want)
            fail_msg("case %zu: loopback=%d port=%u host=%s origin=%s: got %s, want %s", i, c->loopback, c->port,
                     c->host ? c->host : "(absent)", c->origin ? c->origin : "(absent)", decision_name(got),
                     decision_name(c->want));
    }
}

static void test_access_loopback(void **state) {
    cors_policy *p = policy_ok("https://app.example.com");
    const access_case cases[] = {
        /* No headers at all (HTTP/1.0 curl): fine. */
        {true, 8080, NULL, NULL, ACCESS_ALLOW},
        /* Host variants of our loopback names, any case, with or without a port. */
        {true, 8080, "localhost:8080", NULL, ACCESS_ALLOW},
        {true, 8080, "localhost", NULL, ACCESS_ALLOW},
        {true, 8080, "LocalHost:8080", NULL, ACCESS_ALLOW},
        {true, 8080, "127.0.0.1:8080", NULL, ACCESS_ALLOW},
        {true, 8080, "127.0.0.1", NULL, ACCESS_ALLOW},
        {true, 8080, "[::1]:8080", NULL, ACCESS_ALLOW},
        {true, 8080, "[::1]", NULL, ACCESS_ALLOW},
        {true, 8080, "[0:0:0:0:0:0:0:1]:8080", NULL, ACCESS_ALLOW},
        {true, 8080, "localhost:9000", NULL, ACCESS_ALLOW}, /* ssh -L 9000:localhost:8080 */
        /* DNS rebinding: a name that resolves to 127.0.0.1 is not one of ours. */
        {true, 8080, "evil.example:8080", NULL, ACCESS_FORBIDDEN_HOST},
        {true, 8080, "localhost.evil.example", NULL, ACCESS_FORBIDDEN_HOST},
        {true, 8080, "127.0.0.1.nip.io:8080", NULL, ACCESS_FORBIDDEN_HOST},
        {true, 8080, "localhost.", NULL, ACCESS_FORBIDDEN_HOST},
        {true, 8080, "127.0.0.2", NULL, ACCESS_FORBIDDEN_HOST},
        {true, 8080, "[::2]:8080", NULL, ACCESS_FORBIDDEN_HOST},
        {true, 8080, "::1", NULL, ACCESS_FORBIDDEN_HOST},
        {true, 8080, "localhost:", NULL, ACCESS_FORBIDDEN_HOST},
        {true, 8080, "localhost:80a", NULL, ACCESS_FORBIDDEN_HOST},
        {true, 8080, "localhost:99999", NULL, ACCESS_FORBIDDEN_HOST},
        {true, 8080, "localhost@evil.example", NULL, ACCESS_FORBIDDEN_HOST},
        {true, 8080, "", NULL, ACCESS_FORBIDDEN_HOST},
        {true, 8080, "localhost:8080                                                                                  "
                     "                                                                                                "
                     "                                                                                                "
                     "evil.example", NULL, ACCESS_FORBIDDEN_HOST},
        /* Origin-only foreign request: Host is fine, Origin is not -> 403. */
        {true, 8080, "localhost:8080", "https://evil.example", ACCESS_FORBIDDEN_ORIGIN},
        {true, 8080, NULL, "https://evil.example", ACCESS_FORBIDDEN_ORIGIN},
        /* Evil Host and evil Origin: the Host check answers first. */
        {true, 8080, "evil.example:8080", "http://evil.example:8080", ACCESS_FORBIDDEN_HOST},
        /* Our own loopback origin, under each name and scheme. */
        {true, 8080, "localhost:8080", "http://localhost:8080", ACCESS_ALLOW},
        {true, 8080, "127.0.0.1:8080", "http://127.0.0.1:8080", ACCESS_ALLOW},
        {true, 8080, "[::1]:8080", "http://[::1]:8080", ACCESS_ALLOW},
        {true, 8080, "localhost:8080", "https://localhost:8080", ACCESS_ALLOW},
        {true, 8080, "localhost:8080", "HTTP://LOCALHOST:8080", ACCESS_ALLOW},
        /* ...but not another local port: that is another (possibly hostile) local web app. */
        {true, 8080, "localhost:8080", "http://localhost:9999", ACCESS_FORBIDDEN_ORIGIN},
        {true, 8080, "localhost:8080", "http://localhost", ACCESS_FORBIDDEN_ORIGIN},
        {true, 80, "localhost", "http://localhost", ACCESS_ALLOW},
        {true, 0, "localhost", "http://localhost:1234", ACCESS_ALLOW}, /* port unknown */
        /* Allowed origins still work on loopback. */
        {true, 8080, "localhost:8080", "https://app.example.com", ACCESS_ALLOW},
        /* The null origin and malformed origins. */
        {true, 8080, "localhost:8080", "null", ACCESS_FORBIDDEN_ORIGIN},
        {true, 8080, "localhost:8080", "NULL", ACCESS_FORBIDDEN_ORIGIN},
        {true, 8080, "localhost:8080", "", ACCESS_FORBIDDEN_ORIGIN},
        {true, 8080, "localhost:8080", "localhost:8080", ACCESS_FORBIDDEN_ORIGIN},
        {true, 8080, "localhost:8080", "http://localhost:8080/", ACCESS_FORBIDDEN_ORIGIN},
        {true, 8080, "localhost:8080", "http://user@localhost:8080", ACCESS_FORBIDDEN_ORIGIN},
        {true, 8080, "localhost:8080", "http://localhost:8080\r\nX-Evil: 1", ACCESS_FORBIDDEN_ORIGIN},
        {true, 8080, "localhost:8080", "file://", ACCESS_FORBIDDEN_ORIGIN},
        {true, 8080, "localhost:8080", "chrome-extension://abcdef", ACCESS_FORBIDDEN_ORIGIN},
    };
    run_access_cases(p, cases, sizeof cases / sizeof cases[0]);
    cors_policy_free(p);
}

static void test_access_not_loopback(void **state) {
    cors_policy *p = policy_ok("https://app.example.com,http://localhost:3000");
    const access_case cases[] = {
        /* Behind a reverse proxy the Host is not ours to restrict. */
        {false, 8080, "mcp.example.com", NULL, ACCESS_ALLOW},
        {false, 8080, "evil.example", NULL, ACCESS_ALLOW},
        {false, 8080, NULL, NULL, ACCESS_ALLOW},
        {false, 8080, "mcp.example.com", "https://app.example.com", ACCESS_ALLOW},
        {false, 8080, "mcp.example.com", "http://localhost:3000", ACCESS_ALLOW},
        {false, 8080, "mcp.example.com", "https://evil.example", ACCESS_FORBIDDEN_ORIGIN},
        /* Our "own loopback origin" means nothing when we are not on loopback. */
        {false, 8080, "localhost:8080", "http://localhost:8080", ACCESS_FORBIDDEN_ORIGIN},
        {false, 8080, "mcp.example.com", "null", ACCESS_FORBIDDEN_ORIGIN},
        {false, 8080, "mcp.example.com", "https://app.example.com/x", ACCESS_FORBIDDEN_ORIGIN},
    };
    run_access_cases(p, cases, sizeof cases / sizeof cases[0]);

    /* No policy at all: only absent or our own loopback Origin passes. */
    assert_int_equal(access_check(NULL, true, 8080, "localhost", "http://localhost:8080"), ACCESS_ALLOW);
    assert_int_equal(access_check(NULL, true, 8080, "localhost", "https://app.example.com"), ACCESS_FORBIDDEN_ORIGIN);
    assert_int_equal(access_check(NULL, false, 8080, "x", NULL), ACCESS_ALLOW);
    cors_policy_free(p);
}

/* ---- CORS response headers ---- */

typedef struct header_list {
    size_t n;
    char name[16][64];
    char value[16][256];
} header_list;

static void collect(void *opaque, const char *name, const char *value) {
    header_list *h = opaque;
    assert_true(h->n < 16);
    snprintf(h->name[h->n], sizeof h->name[0], "%s", name);
    snprintf(h->value[h->n], sizeof h->value[0], "%s", value);
    h->n++;
}

static const char *header_get(const header_list *h, const char *name) {
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->name[i], name) == 0)
            return h->value[i];
    return NULL;
}

static void test_cors_headers(void **state) {
    cors_policy *p = policy_ok("https://app.example.com,http://localhost:6274");
    header_list h = {0};

    cors_response_headers(p, "https://app.example.com", false, collect, &h);
    assert_int_equal(h.n, 3);
    assert_string_equal(header_get(&h, "Access-Control-Allow-Origin"), "https://app.example.com");
    assert_string_equal(header_get(&h, "Vary"), "Origin");
    assert_string_equal(header_get(&h, "Access-Control-Expose-Headers"),
                        "Mcp-Session-Id, WWW-Authenticate, MCP-Protocol-Version");
    assert_null(header_get(&h, "Access-Control-Allow-Credentials")); /* off by default */
    assert_null(header_get(&h, "Access-Control-Allow-Methods"));       /* not a preflight */

    memset(&h, 0, sizeof h);
    cors_response_headers(p, "http://localhost:6274", true, collect, &h);
    assert_int_equal(h.n, 6);
    assert_string_equal(header_get(&h, "Access-Control-Allow-Origin"), "http://localhost:6274");
    assert_string_equal(header_get(&h, "Access-Control-Allow-Methods"), "GET, POST, DELETE, OPTIONS");
    assert_string_equal(header_get(&h, "Access-Control-Allow-Headers"),
                        "Authorization, Content-Type, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, "
                        "kubernetes-authorization");
    assert_string_equal(header_get(&h, "Access-Control-Max-Age"), "3600");

    /* The origin echoed is the browser's serialisation (default port omitted), never the raw header. */
    memset(&h, 0, sizeof h);
    cors_response_headers(p, "https://app.example.com:443", false, collect, &h);
    assert_string_equal(header_get(&h, "Access-Control-Allow-Origin"), "https://app.example.com");

    /* Credentials only when switched on. */
    cors_policy_set_allow_credentials(p, true);
    memset(&h, 0, sizeof h);
    cors_response_headers(p, "https://app.example.com", true, collect, &h);
    assert_int_equal(h.n, 7);
    assert_string_equal(header_get(&h, "Access-Control-Allow-Credentials"), "true");

    /* Nothing for a foreign, null, malformed or absent origin. */
    const char *refused[] = {"https://evil.example", "null", "", "https://app.example.com/", "http://app.example.com",
                             NULL};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        memset(&h, 0, sizeof h);
        cors_response_headers(p, refused[i], true, collect, &h);
        assert_int_equal(h.n, 0);
    }
    memset(&h, 0, sizeof h);
    cors_response_headers(NULL, "https://app.example.com", true, collect, &h);
    assert_int_equal(h.n, 0);
    cors_policy_free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalisation),   cmocka_unit_test(test_list_handling),
        cmocka_unit_test(test_invalid_entries), cmocka_unit_test(test_messages_name_the_entry),
        cmocka_unit_test(test_limits),          cmocka_unit_test(test_origin_allowed),
        cmocka_unit_test(test_access_loopback), cmocka_unit_test(test_access_not_loopback),
        cmocka_unit_test(test_cors_headers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
