/* The JWKS cache against a local IdP double: first fetch, TTL, refetch on an unknown kid under the
 * rate limit, stale keys served while the IdP is down, bad and oversized documents, key filtering
 * (use=enc, oct, short RSA), the static constructor, and concurrent lookups sharing one fetch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kube_test_server.h"

#include <cjose/cjose.h>
#include <jansson.h>

#include "gate/jwks.h"

#define T0 1700000000LL

static long long test_time = T0;
static long long test_now(void) {
    return test_time;
}

static cjose_jwk_t *ec_a, *ec_b;

typedef struct idp {
    pthread_mutex_t lock;
    char *body;   /* served at /jwks */
    int status;
    int delay_ms;
    int fetches;
} idp;

static void handler(const ts_request *req, ts_reply *reply, void *ctx) {
    idp *s = ctx;
    pthread_mutex_lock(&s->lock);
    s->fetches++;
    if (strcmp(req->target, "/jwks") == 0)
        ts_reply_text(reply, s->status, s->body);
    else
        ts_reply_text(reply, 404, "{}");
    reply->delay_ms = s->delay_ms;
    pthread_mutex_unlock(&s->lock);
}

static void idp_serve(idp *s, char *body, int status) {
    pthread_mutex_lock(&s->lock);
    free(s->body);
    s->body = body;
    s->status = status;
    pthread_mutex_unlock(&s->lock);
}

static int idp_fetches(idp *s) {
    pthread_mutex_lock(&s->lock);
    int n = s->fetches;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static char *jwk_json(const cjose_jwk_t *k, const char *kid, const char *use) {
    cjose_err cerr;
    char *text = cjose_jwk_to_json(k, false, &cerr);
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    json_object_set_new(j, "kid", json_string(kid));
    if (use)
        json_object_set_new(j, "use", json_string(use));
    char *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return out;
}

/* {"keys":[…]} of the given (kid, key) pairs; NULL-terminated varargs of const char *kid, key. */
static char *jwks(const char *kid_a, const char *kid_b) {
    char *a = kid_a ? jwk_json(ec_a, kid_a, "sig") : NULL;
    char *b = kid_b ? jwk_json(ec_b, kid_b, "sig") : NULL;
    size_t n = 32 + (a ? strlen(a) : 0) + (b ? strlen(b) : 0);
    char *out = malloc(n);
    snprintf(out, n, "{\"keys\":[%s%s%s]}", a ? a : "", a && b ? "," : "", b ? b : "");
    free(a);
    free(b);
    return out;
}

static int group_setup(void **state) {
    (void)state;
    cjose_err cerr;
    ec_a = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &cerr);
    ec_b = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &cerr);
    return ec_a && ec_b ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    cjose_jwk_release(ec_a);
    cjose_jwk_release(ec_b);
    return 0;
}

typedef struct fixture {
    idp s;
    test_server *server;
    char uri[128];
    jwks_cache *c;
} fixture;

static jwks_cache *cache_with(fixture *f, jwks_options o) {
    jwks_cache_free(f->c);
    o.jwks_uri = f->uri;
    o.http.allow_http = true;
    error_info err = {0};
    if (jwks_cache_new(&o, &f->c, &err) < 0)
        fail_msg("%s", err.message);
    jwks_cache_set_clock(f->c, test_now);
    return f->c;
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->s.lock, NULL);
    f->s.status = 200;
    f->s.body = jwks("a", NULL);
    f->server = test_server_start(handler, &f->s);
    snprintf(f->uri, sizeof f->uri, "http://127.0.0.1:%d/jwks", f->server->port);
    test_time = T0;
    cache_with(f, (jwks_options){0});
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    jwks_cache_free(f->c);
    test_server_stop(f->server);
    free(f->s.body);
    pthread_mutex_destroy(&f->s.lock);
    free(f);
    return 0;
}

/* 0 when kid resolves (the key is released again), else the error. */
static int lookup(fixture *f, const char *kid, error_info *err) {
    jwks_key *k = NULL;
    int r = jwks_cache_get_key(f->c, kid, "ES256", &k, err);
    if (r == 0) {
        if (kid)
            assert_string_equal(jwks_key_kid(k), kid);
        jwks_key_unref(k);
    }
    return r;
}

static void test_first_lookup_fetches_then_cached(void **state) {
    fixture *f = *state;
    error_info err = {0};
    assert_true(jwks_cache_needs_fetch(f->c, "a"));
    assert_int_equal(lookup(f, "a", &err), 0);
    assert_int_equal(idp_fetches(&f->s), 1);
    assert_false(jwks_cache_needs_fetch(f->c, "a"));
    for (int i = 0; i < 5; i++)
        assert_int_equal(lookup(f, "a", &err), 0);
    assert_int_equal(idp_fetches(&f->s), 1);
    jwks_stats st = jwks_cache_stats(f->c);
    assert_int_equal(st.fetches, 1);
    assert_int_equal(st.keys, 1);
    assert_int_equal(st.fetched_at, T0);
    jwks_key *k = NULL;
    assert_int_equal(jwks_cache_get_key(f->c, "a", "ES256", &k, &err), 0);
    assert_int_equal(jwks_key_kty(k), JWKS_KTY_EC);
    assert_string_equal(jwks_key_crv(k), "P-256");
    assert_true(jwks_key_fits_alg(k, "ES256"));
    assert_false(jwks_key_fits_alg(k, "ES384"));
    assert_false(jwks_key_fits_alg(k, "RS256"));
    assert_false(jwks_key_fits_alg(k, "HS256"));
    jwks_key_unref(k);
}

static void test_ttl_expiry_refetches(void **state) {
    fixture *f = *state;
    cache_with(f, (jwks_options){.ttl_seconds = 100});
    error_info err = {0};
    assert_int_equal(lookup(f, "a", &err), 0);
    test_time = T0 + 99;
    assert_int_equal(lookup(f, "a", &err), 0);
    assert_int_equal(idp_fetches(&f->s), 1);
    /* The IdP dropped key a: after the TTL the new set replaces the old one. */
    idp_serve(&f->s, jwks(NULL, "b"), 200);
    test_time = T0 + 100;
    assert_true(jwks_cache_needs_fetch(f->c, "a"));
    assert_int_equal(lookup(f, "b", &err), 0);
    assert_int_equal(idp_fetches(&f->s), 2);
    assert_int_equal(lookup(f, "a", &err), -ENOENT);
    assert_string_equal(err.message, "unknown signing key");
}

static void test_unknown_kid_refetch_rate_limited(void **state) {
    fixture *f = *state;
    error_info err = {0};
    assert_int_equal(lookup(f, "a", &err), 0);
    idp_serve(&f->s, jwks("a", "b"), 200);
    /* Within the 30 s interval of the first fetch: no refetch, b is unknown. */
    test_time = T0 + 10;
    assert_false(jwks_cache_needs_fetch(f->c, "b"));
    assert_int_equal(lookup(f, "b", &err), -ENOENT);
    assert_int_equal(idp_fetches(&f->s), 1);
    test_time = T0 + 30;
    assert_true(jwks_cache_needs_fetch(f->c, "b"));
    assert_int_equal(lookup(f, "b", &err), 0);
    assert_int_equal(idp_fetches(&f->s), 2);
    /* A flood of unknown kids costs at most one fetch per interval. */
    for (long long t = T0 + 30; t < T0 + 90; t++) {
        test_time = t;
        assert_int_equal(lookup(f, "made-up", &err), -ENOENT);
    }
    assert_int_equal(idp_fetches(&f->s), 3); /* one more, at T0+60 */
}

static void test_min_refetch_interval_option(void **state) {
    fixture *f = *state;
    cache_with(f, (jwks_options){.min_refetch_interval_seconds = 5});
    error_info err = {0};
    assert_int_equal(lookup(f, "a", &err), 0);
    test_time = T0 + 4;
    assert_int_equal(lookup(f, "x", &err), -ENOENT);
    assert_int_equal(idp_fetches(&f->s), 1);
    test_time = T0 + 5;
    assert_int_equal(lookup(f, "x", &err), -ENOENT);
    assert_int_equal(idp_fetches(&f->s), 2);
}

static void test_idp_down_serves_stale_keys(void **state) {
    fixture *f = *state;
    cache_with(f, (jwks_options){.ttl_seconds = 60});
    error_info err = {0};
    assert_int_equal(lookup(f, "a", &err), 0);
    idp_serve(&f->s, strdup("{\"error\":\"down\"}"), 503);
    test_time = T0 + 600;
    assert_int_equal(lookup(f, "a", &err), 0); /* stale, but served */
    assert_int_equal(idp_fetches(&f->s), 2);
    jwks_stats st = jwks_cache_stats(f->c);
    assert_int_equal(st.fetch_failures, 1);
    assert_int_equal(st.fetched_at, T0);
    /* Still down: retried at most once per interval, not on every request. */
    for (int i = 0; i < 10; i++)
        assert_int_equal(lookup(f, "a", &err), 0);
    assert_int_equal(idp_fetches(&f->s), 2);
    /* Back: the next attempt after the interval refreshes. */
    idp_serve(&f->s, jwks("a", "b"), 200);
    test_time = T0 + 630;
    assert_int_equal(lookup(f, "b", &err), 0);
    assert_int_equal(jwks_cache_stats(f->c).fetched_at, T0 + 630);
}

/* The generation moves only when a fetch drops a key: the JWT cache then re-verifies its tokens. */
static void test_generation_counts_removed_keys(void **state) {
    fixture *f = *state;
    cache_with(f, (jwks_options){.ttl_seconds = 10, .min_refetch_interval_seconds = 1});
    error_info err = {0};
    assert_int_equal(lookup(f, "a", &err), 0);
    unsigned long long g0 = jwks_cache_generation(f->c);
    /* The same set again (TTL refresh): unchanged. */
    test_time = T0 + 10;
    assert_int_equal(lookup(f, "a", &err), 0);
    assert_int_equal(idp_fetches(&f->s), 2);
    assert_int_equal(jwks_cache_generation(f->c), g0);
    /* A key added (rotation starts): unchanged. */
    idp_serve(&f->s, jwks("a", "b"), 200);
    test_time = T0 + 20;
    assert_int_equal(lookup(f, "b", &err), 0);
    assert_int_equal(jwks_cache_generation(f->c), g0);
    /* The old key removed: changed. */
    idp_serve(&f->s, jwks(NULL, "b"), 200);
    test_time = T0 + 30;
    assert_int_equal(lookup(f, "b", &err), 0);
    assert_int_equal(idp_fetches(&f->s), 4);
    assert_true(jwks_cache_generation(f->c) > g0);
    unsigned long long g1 = jwks_cache_generation(f->c);
    /* The same kid with another key behind it is a removal too: ec_a now under kid "b". */
    idp_serve(&f->s, jwks("b", NULL), 200);
    test_time = T0 + 40;
    assert_int_equal(lookup(f, "b", &err), 0);
    assert_true(jwks_cache_generation(f->c) > g1);
    /* A failed fetch keeps the keys and the generation. */
    unsigned long long g2 = jwks_cache_generation(f->c);
    idp_serve(&f->s, strdup("{}"), 200);
    test_time = T0 + 50;
    assert_int_equal(lookup(f, "b", &err), 0);
    assert_int_equal(jwks_cache_generation(f->c), g2);
}

static void test_idp_unreachable_no_keys(void **state) {
    fixture *f = *state;
    jwks_cache_free(f->c);
    f->c = NULL;
    jwks_options o = {.jwks_uri = "http://127.0.0.1:1/jwks", .http = {.allow_http = true}};
    error_info err = {0};
    assert_int_equal(jwks_cache_new(&o, &f->c, &err), 0);
    jwks_key *k = NULL;
    assert_int_equal(jwks_cache_get_key(f->c, "a", "ES256", &k, &err), -EAGAIN);
    assert_non_null(strstr(err.message, "signing keys unavailable: the IdP at http://127.0.0.1:1 is unreachable"));
    assert_int_equal(jwks_cache_refresh(f->c, &err), -EAGAIN);
}

static void test_bad_json(void **state) {
    fixture *f = *state;
    error_info err = {0};
    idp_serve(&f->s, strdup("{\"keys\": [ nope"), 200);
    assert_int_equal(lookup(f, "a", &err), -EAGAIN);
    assert_non_null(strstr(err.message, "is not a JSON Web Key Set"));
    test_time += 30;
    idp_serve(&f->s, strdup("{\"keys\":{}}"), 200);
    assert_int_equal(jwks_cache_refresh(f->c, &err), -EAGAIN);
    assert_non_null(strstr(err.message, "is not a JSON Web Key Set"));
    /* A bad document after a good one keeps the good keys. */
    idp_serve(&f->s, jwks("a", NULL), 200);
    assert_int_equal(jwks_cache_refresh(f->c, &err), 0);
    idp_serve(&f->s, strdup("[]"), 200);
    assert_int_equal(jwks_cache_refresh(f->c, &err), -EAGAIN);
    assert_int_equal(lookup(f, "a", &err), 0);
}

static void test_oversized_body(void **state) {
    fixture *f = *state;
    cache_with(f, (jwks_options){.http = {.max_body_bytes = 4096}});
    char *big = malloc(10000);
    memset(big, ' ', 9999);
    big[9999] = '\0';
    memcpy(big, "{\"keys\":[]", 10);
    big[9998] = '}';
    idp_serve(&f->s, big, 200);
    error_info err = {0};
    assert_int_equal(lookup(f, "a", &err), -EAGAIN);
    assert_non_null(strstr(err.message, "larger than 4096 bytes"));
}

static void test_non_200(void **state) {
    fixture *f = *state;
    idp_serve(&f->s, strdup("not found"), 404);
    error_info err = {0};
    assert_int_equal(lookup(f, "a", &err), -EAGAIN);
    assert_non_null(strstr(err.message, "answered HTTP 404"));
}

static void test_slow_idp_times_out(void **state) {
    fixture *f = *state;
    cache_with(f, (jwks_options){.http = {.timeout_seconds = 1}});
    pthread_mutex_lock(&f->s.lock);
    f->s.delay_ms = 2500;
    pthread_mutex_unlock(&f->s.lock);
    error_info err = {0};
    assert_int_equal(lookup(f, "a", &err), -EAGAIN);
    assert_non_null(strstr(err.message, "unreachable: no answer within 1 s"));
}

static void test_key_filtering(void **state) {
    fixture *f = *state;
    char *a = jwk_json(ec_a, "enc", "enc");
    char *b = jwk_json(ec_b, "sig", "sig");
    char body[8192];
    snprintf(body, sizeof body,
             "{\"keys\":[%s,%s,"
             "{\"kty\":\"oct\",\"kid\":\"oct\",\"k\":\"AAAA\"},"
             "{\"kty\":\"RSA\",\"kid\":\"short\",\"n\":\"AQAB\",\"e\":\"AQAB\"},"
             "{\"kty\":\"EC\",\"kid\":\"badcurve\",\"crv\":\"P-192\",\"x\":\"AA\",\"y\":\"AA\"},"
             "{\"kty\":\"EC\",\"kid\":\"garbage\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"},"
             "{\"kty\":\"EC\",\"kid\":\"pad\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub=tLe1gHMzV76e8Tus9uPHvRVEU\","
             "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"},"
             "{\"kty\":\"EC\",\"kid\":\"len\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEUAA\","
             "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0AA\"},"
             "{\"kid\":\"nokty\"}, 17, \"x\"]}",
             a, b);
    free(a);
    free(b);
    idp_serve(&f->s, strdup(body), 200);
    error_info err = {0};
    assert_int_equal(lookup(f, "sig", &err), 0);
    assert_int_equal(jwks_cache_stats(f->c).keys, 1);
    test_time += 30;
    /* "pad" and "len" carry members cjose's decoder would abort on: they must be skipped before it. */
    const char *skipped[] = {"enc", "oct", "short", "badcurve", "garbage", "pad", "len", "nokty"};
    for (size_t i = 0; i < sizeof skipped / sizeof *skipped; i++) {
        test_time += 30;
        assert_int_equal(lookup(f, skipped[i], &err), -ENOENT);
    }
    /* Only unusable keys: the document is refused. */
    idp_serve(&f->s, strdup("{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\"}]}"), 200);
    assert_int_equal(jwks_cache_refresh(f->c, &err), -EAGAIN);
    assert_non_null(strstr(err.message, "no usable signing key"));
}

static void test_no_kid_lookup(void **state) {
    fixture *f = *state;
    error_info err = {0};
    assert_int_equal(lookup(f, NULL, &err), 0); /* one P-256 key: unambiguous */
    idp_serve(&f->s, jwks("a", "b"), 200);
    assert_int_equal(jwks_cache_refresh(f->c, &err), 0);
    assert_int_equal(lookup(f, NULL, &err), -ENOENT); /* two: ambiguous */
}

static void test_key_outlives_replacement(void **state) {
    fixture *f = *state;
    error_info err = {0};
    jwks_key *k = NULL;
    assert_int_equal(jwks_cache_get_key(f->c, "a", "ES256", &k, &err), 0);
    idp_serve(&f->s, jwks(NULL, "b"), 200);
    assert_int_equal(jwks_cache_refresh(f->c, &err), 0);
    assert_int_equal(lookup(f, "a", &err), -ENOENT);
    /* The request holding a still has a usable key. */
    assert_string_equal(jwks_key_kid(k), "a");
    assert_non_null(jwks_key_jwk(k));
    jwks_key_unref(k);
}

static void test_https_required(void **state) {
    (void)state;
    jwks_cache *c = NULL;
    error_info err = {0};
    jwks_options o = {.jwks_uri = "http://idp.example.com/jwks"};
    assert_int_equal(jwks_cache_new(&o, &c, &err), -EINVAL);
    assert_non_null(strstr(err.message, "must use https://"));
    o.jwks_uri = "file:///etc/passwd";
    o.http.allow_http = true;
    assert_int_equal(jwks_cache_new(&o, &c, &err), -EINVAL);
    o.jwks_uri = NULL;
    assert_int_equal(jwks_cache_new(&o, &c, &err), -EINVAL);
    o.jwks_uri = "https://idp.example.com/jwks";
    assert_int_equal(jwks_cache_new(&o, &c, &err), 0);
    jwks_cache_free(c);
}

static void test_static_set(void **state) {
    (void)state;
    char *text = jwks("a", "b");
    jwks_cache *c = NULL;
    error_info err = {0};
    assert_int_equal(jwks_cache_new_static(text, strlen(text), &c, &err), 0);
    free(text);
    jwks_key *k = NULL;
    assert_int_equal(jwks_cache_get_key(c, "b", "ES256", &k, &err), 0);
    jwks_key_unref(k);
    assert_int_equal(jwks_cache_get_key(c, "zzz", "ES256", &k, &err), -ENOENT);
    assert_false(jwks_cache_needs_fetch(c, "zzz"));
    assert_int_equal(jwks_cache_refresh(c, &err), 0);
    jwks_cache_free(c);
    assert_int_equal(jwks_cache_new_static("{}", 2, &c, &err), -EBADMSG);
    assert_int_equal(jwks_cache_new_static("{\"keys\":[]}", 11, &c, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "no usable signing key"));
    assert_int_equal(jwks_cache_new_static("nope", 4, &c, &err), -EBADMSG);
}

typedef struct racer {
    fixture *f;
    int result;
} racer;

static void *race(void *arg) {
    racer *r = arg;
    error_info err = {0};
    jwks_key *k = NULL;
    r->result = jwks_cache_get_key(r->f->c, "a", "ES256", &k, &err);
    jwks_key_unref(k);
    return NULL;
}

static void test_concurrent_first_lookups_share_one_fetch(void **state) {
    fixture *f = *state;
    pthread_mutex_lock(&f->s.lock);
    f->s.delay_ms = 200;
    pthread_mutex_unlock(&f->s.lock);
    pthread_t t[8];
    racer r[8];
    for (int i = 0; i < 8; i++) {
        r[i] = (racer){.f = f, .result = -1};
        pthread_create(&t[i], NULL, race, &r[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(r[i].result, 0);
    }
    assert_int_equal(idp_fetches(&f->s), 1);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_first_lookup_fetches_then_cached),
        T(test_ttl_expiry_refetches),
        T(test_unknown_kid_refetch_rate_limited),
        T(test_min_refetch_interval_option),
        T(test_idp_down_serves_stale_keys),
        T(test_generation_counts_removed_keys),
        T(test_idp_unreachable_no_keys),
        T(test_bad_json),
        T(test_oversized_body),
        T(test_non_200),
        T(test_slow_idp_times_out),
        T(test_key_filtering),
        T(test_no_kid_lookup),
        T(test_key_outlives_replacement),
        T(test_https_required),
        T(test_static_set),
        T(test_concurrent_first_lookups_share_one_fetch),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
