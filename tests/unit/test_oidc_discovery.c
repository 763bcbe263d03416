/* OpenID Connect Discovery against a local IdP double: the well-known URL (with and without a path,
 * with a trailing "/"), the exact issuer check, jwks_uri, and the operator-facing errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kube_test_server.h"

#include "gate/oidc_discovery.h"

typedef struct idp {
    pthread_mutex_t lock;
    char path[256];  /* where the document is served */
    char *body;
    int status;
    char last_target[1024];
} idp;

static void handler(const ts_request *req, ts_reply *reply, void *ctx) {
    idp *s = ctx;
    pthread_mutex_lock(&s->lock);
    snprintf(s->last_target, sizeof s->last_target, "%s", req->target);
    if (strcmp(req->target, s->path) == 0)
        ts_reply_text(reply, s->status, s->body);
    else
        ts_reply_text(reply, 404, "{\"error\":\"not found\"}");
    pthread_mutex_unlock(&s->lock);
}

typedef struct fixture {
    idp s;
    test_server *server;
    char base[64];
    jwks_http_options http;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->s.lock, NULL);
    f->server = test_server_start(handler, &f->s);
    snprintf(f->base, sizeof f->base, "http://127.0.0.1:%d", f->server->port);
    f->http = (jwks_http_options){.allow_http = true};
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    test_server_stop(f->server);
    free(f->s.body);
    pthread_mutex_destroy(&f->s.lock);
    free(f);
    return 0;
}

/* Serves at path a document whose issuer is doc_issuer and jwks_uri is jwks_uri (either NULL = absent). */
static void serve(fixture *f, const char *path, const char *doc_issuer, const char *jwks_uri) {
    json_t *doc = json_pack("{s:s, s:[s]}", "authorization_endpoint", "https://idp/authorize",
                            "response_types_supported", "code");
    if (doc_issuer)
        json_object_set_new(doc, "issuer", json_string(doc_issuer));
    if (jwks_uri)
        json_object_set_new(doc, "jwks_uri", json_string(jwks_uri));
    pthread_mutex_lock(&f->s.lock);
    snprintf(f->s.path, sizeof f->s.path, "%s", path);
    free(f->s.body);
    f->s.body = json_dumps(doc, JSON_COMPACT);
    f->s.status = 200;
    pthread_mutex_unlock(&f->s.lock);
    json_decref(doc);
}

static void serve_raw(fixture *f, const char *path, const char *body, int status) {
    pthread_mutex_lock(&f->s.lock);
    snprintf(f->s.path, sizeof f->s.path, "%s", path);
    free(f->s.body);
    f->s.body = strdup(body);
    f->s.status = status;
    pthread_mutex_unlock(&f->s.lock);
}

static void test_discovery_url(void **state) {
    (void)state;
    char *u = oidc_discovery_url("https://idp.example.com");
    assert_string_equal(u, "https://idp.example.com/.well-known/openid-configuration");
    free(u);
    u = oidc_discovery_url("https://idp.example.com/realms/k8s/");
    assert_string_equal(u, "https://idp.example.com/realms/k8s/.well-known/openid-configuration");
    free(u);
    assert_null(oidc_discovery_url(""));
    assert_null(oidc_discovery_url(NULL));
}

static void test_discover_ok(void **state) {
    fixture *f = *state;
    char issuer[128], jwks[160];
    snprintf(issuer, sizeof issuer, "%s/realms/k8s", f->base);
    snprintf(jwks, sizeof jwks, "%s/protocol/openid-connect/certs", issuer);
    serve(f, "/realms/k8s/.well-known/openid-configuration", issuer, jwks);
    oidc_provider_metadata *m = NULL;
    error_info err = {0};
    assert_int_equal(oidc_discover(issuer, &f->http, &m, &err), 0);
    assert_string_equal(m->issuer, issuer);
    assert_string_equal(m->jwks_uri, jwks);
    assert_string_equal(json_string_value(json_object_get(m->document, "authorization_endpoint")),
                        "https://idp/authorize");
    oidc_provider_metadata_free(m);
}

static void test_issuer_with_trailing_slash(void **state) {
    fixture *f = *state;
    char issuer[128], jwks[160];
    snprintf(issuer, sizeof issuer, "%s/", f->base);
    snprintf(jwks, sizeof jwks, "%s/jwks", f->base);
    serve(f, "/.well-known/openid-configuration", issuer, jwks);
    oidc_provider_metadata *m = NULL;
    error_info err = {0};
    assert_int_equal(oidc_discover(issuer, &f->http, &m, &err), 0);
    assert_string_equal(m->issuer, issuer);
    oidc_provider_metadata_free(m);
    /* The same document for the issuer without the slash is a mismatch: they must be identical. */
    assert_int_equal(oidc_discover(f->base, &f->http, &m, &err), -EPERM);
    assert_non_null(strstr(err.message, "issuer mismatch: discovery says"));
}

static void test_issuer_mismatch(void **state) {
    fixture *f = *state;
    char jwks[160];
    snprintf(jwks, sizeof jwks, "%s/jwks", f->base);
    serve(f, "/.well-known/openid-configuration", "https://evil.example.com", jwks);
    oidc_provider_metadata *m = NULL;
    error_info err = {0};
    assert_int_equal(oidc_discover(f->base, &f->http, &m, &err), -EPERM);
    assert_non_null(strstr(err.message, "issuer mismatch: discovery says \"https://evil.example.com\""));
    assert_null(m);
    serve(f, "/.well-known/openid-configuration", NULL, jwks);
    assert_int_equal(oidc_discover(f->base, &f->http, &m, &err), -EPERM);
    assert_non_null(strstr(err.message, "discovery says nothing"));
}

static void test_jwks_uri_missing_or_insecure(void **state) {
    fixture *f = *state;
    oidc_provider_metadata *m = NULL;
    error_info err = {0};
    serve(f, "/.well-known/openid-configuration", f->base, NULL);
    assert_int_equal(oidc_discover(f->base, &f->http, &m, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "has no jwks_uri"));
    serve(f, "/.well-known/openid-configuration", f->base, "ftp://idp/jwks");
    assert_int_equal(oidc_discover(f->base, &f->http, &m, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "not https://"));
}

static void test_unreachable(void **state) {
    (void)state;
    jwks_http_options http = {.allow_http = true};
    oidc_provider_metadata *m = NULL;
    error_info err = {0};
    int r = oidc_discover("http://127.0.0.1:1/realms/x", &http, &m, &err);
    assert_int_equal(r, -ECONNREFUSED);
    assert_non_null(strstr(err.message, "the IdP at http://127.0.0.1:1 is unreachable: "));
}

static void test_https_required(void **state) {
    (void)state;
    oidc_provider_metadata *m = NULL;
    error_info err = {0};
    assert_int_equal(oidc_discover("http://idp.example.com", NULL, &m, &err), -EINVAL);
    assert_non_null(strstr(err.message, "must use https://"));
    assert_int_equal(oidc_discover("", NULL, &m, &err), -EINVAL);
}

static void test_not_json_and_not_found(void **state) {
    fixture *f = *state;
    oidc_provider_metadata *m = NULL;
    error_info err = {0};
    serve_raw(f, "/.well-known/openid-configuration", "<html>login</html>", 200);
    assert_int_equal(oidc_discover(f->base, &f->http, &m, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "is not a JSON object"));
    serve_raw(f, "/elsewhere", "{}", 200);
    assert_int_equal(oidc_discover(f->base, &f->http, &m, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "answered HTTP 404"));
}

static void test_oversized(void **state) {
    fixture *f = *state;
    char *big = malloc(3000);
    memset(big, ' ', 2999);
    big[2999] = '\0';
    big[0] = '{';
    big[2998] = '}';
    serve_raw(f, "/.well-known/openid-configuration", big, 200);
    free(big);
    jwks_http_options http = {.allow_http = true, .max_body_bytes = 1024};
    oidc_provider_metadata *m = NULL;
    error_info err = {0};
    assert_int_equal(oidc_discover(f->base, &http, &m, &err), -EMSGSIZE);
    assert_non_null(strstr(err.message, "larger than 1024 bytes"));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_discovery_url),
        T(test_discover_ok),
        T(test_issuer_with_trailing_slash),
        T(test_issuer_mismatch),
        T(test_jwks_uri_missing_or_insecure),
        T(test_unreachable),
        T(test_https_required),
        T(test_not_json_and_not_found),
        T(test_oversized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
