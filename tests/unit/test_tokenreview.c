/* TokenReview validation and its cache: hits, expiry (TTL and the JWT's own exp), negative caching,
 * a refused review not cached, the token never stored or echoed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kube_test_server.h"

#include <openssl/sha.h>

#include "gate/tokenreview.h"
#include "kube/kube_internal.h"

static atomic_int reviews;
static atomic_int refuse; /* answer 403 like a server whose SA lacks system:auth-delegator */

static void apiserver(const ts_request *req, ts_reply *reply, void *ctx) {
    (void)ctx;
    reply->content_type = "application/json";
    if (strcmp(req->method, "POST") != 0 || strcmp(req->target, "/apis/authentication.k8s.io/v1/tokenreviews") != 0) {
        ts_reply_text(reply, 404, "404 page not found");
        return;
    }
    atomic_fetch_add(&reviews, 1);
    if (atomic_load(&refuse)) {
        ts_reply_text(reply, 403, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\","
                                  "\"message\":\"tokenreviews.authentication.k8s.io is forbidden: User \\\"mcp\\\" cannot "
                                  "create resource \\\"tokenreviews\\\" in API group \\\"authentication.k8s.io\\\" at the "
                                  "cluster scope\",\"reason\":\"Forbidden\",\"code\":403}");
        return;
    }
    json_t *body = json_loadb(req->body, req->body_len, 0, NULL);
    const char *token = json_string_value(json_object_get(json_object_get(body, "spec"), "token"));
    json_t *audiences = json_object_get(json_object_get(body, "spec"), "audiences");
    char answer[2048];
    if (token && (strcmp(token, "alice-token") == 0 || strncmp(token, "eyJ", 3) == 0) &&
        (!audiences || json_array_size(audiences) == 1)) {
        snprintf(answer, sizeof answer,
                 "{\"kind\":\"TokenReview\",\"apiVersion\":\"authentication.k8s.io/v1\",\"spec\":{\"token\":\"%s\"},"
                 "\"status\":{\"authenticated\":true,\"user\":{\"username\":\"alice\",\"uid\":\"uid-alice\","
                 "\"groups\":[\"k8slab:readers\",\"system:authenticated\"]}}}", token);
    } else {
        snprintf(answer, sizeof answer,
                 "{\"kind\":\"TokenReview\",\"apiVersion\":\"authentication.k8s.io/v1\",\"spec\":{\"token\":\"%s\"},"
                 "\"status\":{\"user\":{},\"error\":\"invalid bearer token\"}}", token ? token : "");
    }
    json_decref(body);
    ts_reply_text(reply, 201, answer);
}

static long long fake_time = 1000000;
static long long fake_now(void) {
    return fake_time;
}

typedef struct fixture {
    test_server *server;
    kube_cluster *cluster;
    tokenreview_cache *cache;
} fixture;

static int setup_with(void **state, const tokenreview_options *extra) {
    fixture *f = calloc(1, sizeof *f);
    f->server = test_server_start(apiserver, NULL);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", f->server->port);
    kube_cluster_config cfg = {.name = "t", .server = url, .token = "server-own-token"};
    error_info err = {0};
    if (kube_cluster_new(&cfg, &f->cluster, &err) < 0)
        fail_msg("%s", err.message);
    tokenreview_options o = extra ? *extra : (tokenreview_options){0};
    o.cluster = f->cluster;
    assert_int_equal(tokenreview_cache_new(&o, &f->cache), 0);
    tokenreview_cache_set_clock(f->cache, fake_now);
    atomic_store(&reviews, 0);
    atomic_store(&refuse, 0);
    *state = f;
    return 0;
}

static int setup(void **state) {
    return setup_with(state, NULL);
}

static int setup_small(void **state) {
    tokenreview_options o = {.max_entries = 4, .positive_ttl_seconds = 60, .negative_ttl_seconds = 5};
    return setup_with(state, &o);
}

static int teardown(void **state) {
    fixture *f = *state;
    tokenreview_cache_free(f->cache);
    kube_cluster_free(f->cluster);
    test_server_stop(f->server);
    free(f);
    return 0;
}

static void test_authenticated_identity_and_cache_hit(void **state) {
    fixture *f = *state;
    caller_identity *id = NULL;
    error_info err = {0};
    assert_int_equal(tokenreview_check(f->cache, "alice-token", &id, &err), 0);
    assert_string_equal(id->username, "alice");
    assert_string_equal(id->uid, "uid-alice");
    assert_int_equal(id->group_count, 2);
    assert_string_equal(id->groups[0], "k8slab:readers");
    assert_string_equal(id->source, "tokenreview");
    caller_identity_free(id);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(tokenreview_check(f->cache, "alice-token", &id, &err), 0);
        caller_identity_free(id);
    }
    assert_int_equal(atomic_load(&reviews), 1);
    /* The transport asks this before deciding whether the review must leave its thread. */
    assert_true(tokenreview_cached(f->cache, "alice-token"));
    assert_false(tokenreview_cached(f->cache, "never-seen"));
    tokenreview_stats s = tokenreview_cache_stats(f->cache);
    assert_int_equal(s.hits, 5);
    assert_int_equal(s.misses, 1);
    /* The review is sent with the server's own credentials, never the caller's. */
    const ts_request *r = test_server_request(f->server, 0);
    assert_non_null(strstr(r->head, "Bearer server-own-token"));
    assert_null(strstr(r->head, "alice-token"));
}

static void test_positive_entry_expires_after_ttl(void **state) {
    fixture *f = *state;
    caller_identity *id = NULL;
    error_info err = {0};
    assert_int_equal(tokenreview_check(f->cache, "alice-token", &id, &err), 0);
    caller_identity_free(id);
    fake_time += 299;
    assert_int_equal(tokenreview_check(f->cache, "alice-token", &id, &err), 0);
    caller_identity_free(id);
    assert_int_equal(atomic_load(&reviews), 1);
    fake_time += 2;
    assert_int_equal(tokenreview_check(f->cache, "alice-token", &id, &err), 0);
    caller_identity_free(id);
    assert_int_equal(atomic_load(&reviews), 2);
}

static void test_jwt_exp_caps_the_cache(void **state) {
    fixture *f = *state;
    /* {"alg":"none"}.{"exp":<now+30>} — only the exp is read, never trusted for anything else. */
    char payload[64], token[256];
    snprintf(payload, sizeof payload, "{\"exp\":%lld}", fake_time + 30);
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char enc[128];
    size_t o = 0, len = strlen(payload);
    for (size_t i = 0; i < len; i += 3) {
        unsigned v = (unsigned char)payload[i] << 16;
        if (i + 1 < len) v |= (unsigned char)payload[i + 1] << 8;
        if (i + 2 < len) v |= (unsigned char)payload[i + 2];
        enc[o++] = b64[(v >> 18) & 63];
        enc[o++] = b64[(v >> 12) & 63];
        if (i + 1 < len) enc[o++] = b64[(v >> 6) & 63];
        if (i + 2 < len) enc[o++] = b64[v & 63];
    }
    enc[o] = '\0';
    snprintf(token, sizeof token, "eyJhbGciOiJub25lIn0.%s.sig", enc);
    caller_identity *id = NULL;
    error_info err = {0};
    assert_int_equal(tokenreview_check(f->cache, token, &id, &err), 0);
    caller_identity_free(id);
    fake_time += 29;
    assert_int_equal(tokenreview_check(f->cache, token, &id, &err), 0);
    caller_identity_free(id);
    assert_int_equal(atomic_load(&reviews), 1);
    fake_time += 2; /* past the token's exp: asked again although the TTL has not run out */
    assert_int_equal(tokenreview_check(f->cache, token, &id, &err), 0);
    caller_identity_free(id);
    assert_int_equal(atomic_load(&reviews), 2);
}

static void test_negative_caching(void **state) {
    fixture *f = *state;
    caller_identity *id = NULL;
    error_info err = {0};
    assert_int_equal(tokenreview_check(f->cache, "bogus", &id, &err), -EACCES);
    assert_null(id);
    assert_non_null(strstr(err.message, "invalid bearer token"));
    assert_null(strstr(err.message, "bogus"));
    assert_int_equal(tokenreview_check(f->cache, "bogus", &id, &err), -EACCES);
    assert_int_equal(atomic_load(&reviews), 1);
    fake_time += 11;
    assert_int_equal(tokenreview_check(f->cache, "bogus", &id, &err), -EACCES);
    assert_int_equal(atomic_load(&reviews), 2);
}

static void test_refused_review_is_not_cached(void **state) {
    fixture *f = *state;
    atomic_store(&refuse, 1);
    caller_identity *id = NULL;
    error_info err = {0};
    int r = tokenreview_check(f->cache, "alice-token", &id, &err);
    assert_true(r < 0 && r != -EACCES);
    assert_non_null(strstr(err.message, "system:auth-delegator"));
    assert_non_null(strstr(err.message, "cannot create resource \"tokenreviews\""));
    atomic_store(&refuse, 0);
    assert_int_equal(tokenreview_check(f->cache, "alice-token", &id, &err), 0);
    caller_identity_free(id);
    assert_int_equal(atomic_load(&reviews), 2);
}

static void test_cache_is_bounded(void **state) {
    fixture *f = *state;
    caller_identity *id = NULL;
    error_info err = {0};
    char token[32];
    for (int i = 0; i < 50; i++) {
        snprintf(token, sizeof token, "bogus-%d", i);
        tokenreview_check(f->cache, token, &id, &err);
    }
    assert_true(tokenreview_cache_stats(f->cache).entries <= 4);
    assert_int_equal(tokenreview_check(f->cache, "alice-token", &id, &err), 0);
    caller_identity_free(id);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_authenticated_identity_and_cache_hit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_positive_entry_expires_after_ttl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jwt_exp_caps_the_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_negative_caching, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_review_is_not_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cache_is_bounded, setup_small, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
