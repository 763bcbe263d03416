/* The issuer's authorization server metadata as kubemcp serves it: the RFC 8414 §3.1 URL, which
 * members survive and with which types, the required members and the issuer check, scopes
 * replaced by ours, and against a local IdP double the fallback to openid-configuration (404,
 * empty, {}, redirects), no fallback on a mismatch or a 5xx, the cache (TTL, stale while the IdP is
 * down, the back-off after a failure), the size cap, and one fetch for concurrent callers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kube_test_server.h"

#include <jansson.h>

#include "gate/as_metadata.h"

#define T0 1000000LL

static long long test_time = T0;
static long long test_now(void) {
    return test_time;
}

/* ---- parsing ---- */

static const as_metadata_policy policy = {.issuer = "https://idp.example.com/tenant1"};

/* A valid RFC 8414 document for issuer, with extra members spliced in (a JSON fragment or ""). */
static char *doc_text(const char *issuer, const char *extra) {
    char *text = NULL;
    int n = asprintf(&text,
                     "{\"issuer\":\"%s\",\"authorization_endpoint\":\"https://idp.example.com/authorize\","
                     "\"token_endpoint\":\"https://idp.example.com/token\",\"response_types_supported\":[\"code\"],"
                     "\"jwks_uri\":\"https://idp.example.com/jwks\",\"subject_types_supported\":[\"public\"],"
                     "\"id_token_signing_alg_values_supported\":[\"RS256\"],"
                     "\"code_challenge_methods_supported\":[\"S256\"],\"scopes_supported\":[\"openid\",\"offline_access\"]%s%s}",
                     issuer, *extra ? "," : "", extra);
    assert_true(n > 0);
    return text;
}

/* as_metadata_parse of doc_text(issuer, extra); 0 and the parsed result in *ret, or the error. */
static int parse(const char *issuer, const char *extra, as_metadata_kind kind, const as_metadata_policy *p,
                 json_t **ret, error_info *err) {
    char *text = doc_text(issuer, extra);
    char *json = NULL;
    int r = as_metadata_parse(text, strlen(text), kind, p, &json, err);
    free(text);
    if (r == 0) {
        *ret = json_loads(json, 0, NULL);
        assert_non_null(*ret);
        free(json);
    }
    return r;
}

static void test_oauth_url(void **state) {
    (void)state;
    static const struct {
        const char *issuer, *url;
    } cases[] = {
        {"https://idp.example.com", "https://idp.example.com/.well-known/oauth-authorization-server"},
        {"https://idp.example.com/", "https://idp.example.com/.well-known/oauth-authorization-server"},
        {"https://idp.example.com/tenant1", "https://idp.example.com/.well-known/oauth-authorization-server/tenant1"},
        {"https://idp.example.com:8443/realms/k8s/",
         "https://idp.example.com:8443/.well-known/oauth-authorization-server/realms/k8s"},
        {"http://127.0.0.1:5556", "http://127.0.0.1:5556/.well-known/oauth-authorization-server"},
        {"HTTPS://login.example/abc/v2.0", "HTTPS://login.example/.well-known/oauth-authorization-server/abc/v2.0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *u = as_metadata_oauth_url(cases[i].issuer);
        assert_non_null(u);
        assert_string_equal(u, cases[i].url);
        free(u);
    }
    static const char *const bad[] = {"idp.example.com", "ftp://idp.example.com", "https://", "https:///path",
                                      "https://idp?x=1", "https://idp/#f", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_null(as_metadata_oauth_url(bad[i]));
    assert_null(as_metadata_oauth_url(NULL));
}

static void test_parse_keeps_registered_members_only(void **state) {
    (void)state;
    json_t *doc = NULL;
    error_info err = {0};
    assert_int_equal(parse(policy.issuer,
                           "\"tenant_region_scope\":\"EU\",\"signed_metadata\":\"eyJ.x.y\","
                           "\"revocation_endpoint\":\"https://idp.example.com/revoke\","
                           "\"authorization_response_iss_parameter_supported\":true,"
                           "\"mtls_endpoint_aliases\":{\"token_endpoint\":\"https://mtls.example.com/token\"}",
                           AS_METADATA_OAUTH, &policy, &doc, &err),
                     0);
    assert_string_equal(json_string_value(json_object_get(doc, "issuer")), policy.issuer);
    assert_string_equal(json_string_value(json_object_get(doc, "token_endpoint")), "https://idp.example.com/token");
    assert_string_equal(json_string_value(json_object_get(doc, "revocation_endpoint")),
                        "https://idp.example.com/revoke");
    assert_true(json_is_true(json_object_get(doc, "authorization_response_iss_parameter_supported")));
    assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "code_challenge_methods_supported"), 0)),
                        "S256");
    assert_null(json_object_get(doc, "tenant_region_scope"));
    assert_null(json_object_get(doc, "signed_metadata"));
    assert_null(json_object_get(doc, "mtls_endpoint_aliases"));
    /* Without scopes of ours, the IdP's stay. */
    assert_int_equal(json_array_size(json_object_get(doc, "scopes_supported")), 2);
    json_decref(doc);
}

static void test_parse_drops_members_of_the_wrong_type(void **state) {
    (void)state;
    static const char *const dropped[][2] = {
        {"registration_endpoint", "42"},
        {"registration_endpoint", "\"http://idp.example.com/reg\""}, /* http without allow_http */
        {"registration_endpoint", "\"javascript:alert(1)\""},
        {"registration_endpoint", "\"https://idp.example.com/reg#frag\""},
        {"registration_endpoint", "\"https://user@idp.example.com/reg\""},
        {"registration_endpoint", "\"https:///reg\""},
        {"registration_endpoint", "\"https://idp.example.com/r eg\""},
        {"userinfo_endpoint", "[\"https://idp.example.com/me\"]"},
        {"grant_types_supported", "\"authorization_code\""},
        {"grant_types_supported", "[\"authorization_code\", 1]"},
        {"grant_types_supported", "[\"\"]"},
        {"grant_types_supported", "[\"a\\nb\"]"},
        {"claims_supported", "{}"},
        {"claims_parameter_supported", "\"true\""},
        {"request_uri_parameter_supported", "1"},
        {"client_id_metadata_document_supported", "null"},
    };
    for (size_t i = 0; i < sizeof dropped / sizeof *dropped; i++) {
        char extra[256];
        snprintf(extra, sizeof extra, "\"%s\":%s", dropped[i][0], dropped[i][1]);
        json_t *doc = NULL;
        error_info err = {0};
        assert_int_equal(parse(policy.issuer, extra, AS_METADATA_OAUTH, &policy, &doc, &err), 0);
        if (json_object_get(doc, dropped[i][0]))
            fail_msg("%s was kept", extra);
        json_decref(doc);
    }
    /* A NUL anywhere (jansson refuses \u0000) makes the whole document unusable. */
    json_t *nul = NULL;
    error_info nul_err = {0};
    assert_int_equal(parse(policy.issuer, "\"registration_endpoint\":\"https://idp.example.com/\\u0000x\"",
                           AS_METADATA_OAUTH, &policy, &nul, &nul_err),
                     -EBADMSG);
    /* http endpoints pass when the operator allowed a plain-http issuer. */
    as_metadata_policy dev = {.issuer = policy.issuer, .allow_http = true};
    json_t *doc = NULL;
    error_info err = {0};
    assert_int_equal(parse(policy.issuer, "\"registration_endpoint\":\"http://idp.example.com/reg\"", AS_METADATA_OAUTH,
                           &dev, &doc, &err),
                     0);
    assert_string_equal(json_string_value(json_object_get(doc, "registration_endpoint")), "http://idp.example.com/reg");
    json_decref(doc);
}

static void test_parse_bounds(void **state) {
    (void)state;
    /* An array longer than the cap, a string longer than the cap, a URL longer than the cap. */
    size_t cap = 16 * AS_METADATA_MAX_ARRAY + AS_METADATA_MAX_URL + 1024;
    char *extra = calloc(1, cap);
    strcat(extra, "\"claims_supported\":[");
    for (int i = 0; i <= AS_METADATA_MAX_ARRAY; i++)
        strcat(extra, i ? ",\"c\"" : "\"c\"");
    strcat(extra, "],\"acr_values_supported\":[\"");
    memset(extra + strlen(extra), 'a', AS_METADATA_MAX_STRING + 1);
    strcat(extra, "\"],\"service_documentation\":\"https://idp.example.com/");
    memset(extra + strlen(extra), 'd', AS_METADATA_MAX_URL);
    strcat(extra, "\",\"ui_locales_supported\":[\"en\",\"de\"]");
    json_t *doc = NULL;
    error_info err = {0};
    assert_int_equal(parse(policy.issuer, extra, AS_METADATA_OAUTH, &policy, &doc, &err), 0);
    assert_null(json_object_get(doc, "claims_supported"));
    assert_null(json_object_get(doc, "acr_values_supported"));
    assert_null(json_object_get(doc, "service_documentation"));
    assert_int_equal(json_array_size(json_object_get(doc, "ui_locales_supported")), 2);
    json_decref(doc);
    free(extra);
}

static void test_parse_required_members(void **state) {
    (void)state;
    static const char *const docs[][2] = {
        {"{\"issuer\":\"https://idp.example.com/tenant1\",\"token_endpoint\":\"https://t\",\"response_types_supported\":[\"code\"]}",
         "authorization_endpoint"},
        {"{\"issuer\":\"https://idp.example.com/tenant1\",\"authorization_endpoint\":\"https://a\",\"response_types_supported\":[\"code\"]}",
         "token_endpoint"},
        {"{\"issuer\":\"https://idp.example.com/tenant1\",\"authorization_endpoint\":\"http://a\",\"token_endpoint\":\"https://t\","
         "\"response_types_supported\":[\"code\"]}",
         "authorization_endpoint"},
        {"{\"issuer\":\"https://idp.example.com/tenant1\",\"authorization_endpoint\":\"https://a\",\"token_endpoint\":\"https://t\","
         "\"response_types_supported\":\"code\"}",
         "response_types_supported"},
    };
    for (size_t i = 0; i < sizeof docs / sizeof *docs; i++) {
        char *json = NULL;
        error_info err = {0};
        assert_int_equal(as_metadata_parse(docs[i][0], strlen(docs[i][0]), AS_METADATA_OAUTH, &policy, &json, &err),
                         -EBADMSG);
        assert_null(json);
        assert_non_null(strstr(err.message, docs[i][1]));
    }
    /* An RFC 8414 document needs no OpenID members; an OpenID configuration does. */
    const char *oauth_only = "{\"issuer\":\"https://idp.example.com/tenant1\",\"authorization_endpoint\":\"https://a\","
                             "\"token_endpoint\":\"https://t\",\"response_types_supported\":[\"code\"]}";
    char *json = NULL;
    error_info err = {0};
    assert_int_equal(as_metadata_parse(oauth_only, strlen(oauth_only), AS_METADATA_OAUTH, &policy, &json, &err), 0);
    free(json);
    json = NULL;
    assert_int_equal(as_metadata_parse(oauth_only, strlen(oauth_only), AS_METADATA_OPENID, &policy, &json, &err),
                     -EBADMSG);
    assert_non_null(strstr(err.message, "\"jwks_uri\""));
    json_t *doc = NULL;
    assert_int_equal(parse(policy.issuer, "", AS_METADATA_OPENID, &policy, &doc, &err), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "subject_types_supported"), 0)),
                        "public");
    json_decref(doc);
}

static void test_parse_issuer_must_match(void **state) {
    (void)state;
    json_t *doc = NULL;
    error_info err = {0};
    static const char *const others[] = {"https://evil.example.com/tenant1", "https://idp.example.com/tenant1/",
                                         "https://idp.example.com/tenant", "HTTPS://idp.example.com/tenant1"};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        assert_int_equal(parse(others[i], "", AS_METADATA_OAUTH, &policy, &doc, &err), -EPERM);
        assert_non_null(strstr(err.message, "issuer mismatch"));
        assert_null(strstr(err.message, "evil")); /* the upstream value is not repeated */
    }
    const char *no_issuer = "{\"authorization_endpoint\":\"https://a\",\"token_endpoint\":\"https://t\","
                            "\"response_types_supported\":[\"code\"]}";
    char *json = NULL;
    assert_int_equal(as_metadata_parse(no_issuer, strlen(no_issuer), AS_METADATA_OAUTH, &policy, &json, &err),
                     -EBADMSG);
    assert_int_equal(parse("https://idp.example.com/tenant1\\u0000x", "", AS_METADATA_OAUTH, &policy, &doc, &err),
                     -EBADMSG);
    const char *number = "{\"issuer\":7}";
    assert_int_equal(as_metadata_parse(number, strlen(number), AS_METADATA_OAUTH, &policy, &json, &err), -EBADMSG);
    assert_null(json);
}

static void test_parse_empty_and_garbage(void **state) {
    (void)state;
    static const char *const empty[] = {"", "  \r\n\t", "{}", " { } "};
    for (size_t i = 0; i < sizeof empty / sizeof *empty; i++) {
        char *json = NULL;
        error_info err = {0};
        assert_int_equal(as_metadata_parse(empty[i], strlen(empty[i]), AS_METADATA_OAUTH, &policy, &json, &err),
                         -ENODATA);
        assert_null(json);
    }
    static const char *const garbage[] = {"[]", "null", "\"x\"", "<html>not found</html>", "{\"issuer\":",
                                          "{\"issuer\":\"a\",\"issuer\":\"b\"}", "\xff\xfe{}"};
    for (size_t i = 0; i < sizeof garbage / sizeof *garbage; i++) {
        char *json = NULL;
        error_info err = {0};
        assert_int_equal(as_metadata_parse(garbage[i], strlen(garbage[i]), AS_METADATA_OAUTH, &policy, &json, &err),
                         -EBADMSG);
        assert_null(json);
    }
    /* A NUL inside the body is not "whitespace only". */
    char *json = NULL;
    error_info err = {0};
    assert_int_equal(as_metadata_parse(" \0 ", 3, AS_METADATA_OAUTH, &policy, &json, &err), -EBADMSG);
}

static void test_parse_scopes_are_ours(void **state) {
    (void)state;
    static const char *const ours[] = {"mcp:read", "mcp:write", NULL};
    as_metadata_policy p = {.issuer = policy.issuer, .scopes = ours};
    json_t *doc = NULL;
    error_info err = {0};
    assert_int_equal(parse(policy.issuer, "", AS_METADATA_OAUTH, &p, &doc, &err), 0);
    json_t *scopes = json_object_get(doc, "scopes_supported");
    assert_int_equal(json_array_size(scopes), 2);
    assert_string_equal(json_string_value(json_array_get(scopes, 0)), "mcp:read");
    assert_string_equal(json_string_value(json_array_get(scopes, 1)), "mcp:write");
    json_decref(doc);
    /* An empty list of ours keeps the IdP's. */
    static const char *const none[] = {NULL};
    p.scopes = none;
    assert_int_equal(parse(policy.issuer, "", AS_METADATA_OAUTH, &p, &doc, &err), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "scopes_supported"), 1)), "offline_access");
    json_decref(doc);
}

static void test_error_status(void **state) {
    (void)state;
    static const int unreachable[] = {ECONNREFUSED, EHOSTUNREACH, ETIMEDOUT, EPROTO, EIO, EAGAIN};
    for (size_t i = 0; i < sizeof unreachable / sizeof *unreachable; i++)
        assert_int_equal(as_metadata_error_status(-unreachable[i]), 503);
    static const int bad[] = {EBADMSG, EPERM, EMSGSIZE, ENODATA, EINVAL};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(as_metadata_error_status(-bad[i]), 502);
}

/* ---- against an IdP double ---- */

#define ROUTES 3

typedef struct idp {
    pthread_mutex_t lock;
    struct {
        char path[256];
        int status;
        char *body;
    } routes[ROUTES];
    int delay_ms;
} idp;

static void handler(const ts_request *req, ts_reply *reply, void *ctx) {
    idp *s = ctx;
    pthread_mutex_lock(&s->lock);
    ts_reply_text(reply, 404, "{\"error\":\"not found\"}");
    for (int i = 0; i < ROUTES; i++)
        if (s->routes[i].body && strcmp(req->target, s->routes[i].path) == 0) {
            free(reply->body);
            ts_reply_text(reply, s->routes[i].status, s->routes[i].body);
        }
    reply->delay_ms = s->delay_ms;
    pthread_mutex_unlock(&s->lock);
}

typedef struct fixture {
    idp s;
    test_server *server;
    char issuer[128];
    as_metadata *m;
} fixture;

static void route(fixture *f, int i, const char *path, int status, char *body) {
    pthread_mutex_lock(&f->s.lock);
    snprintf(f->s.routes[i].path, sizeof f->s.routes[i].path, "%s", path);
    f->s.routes[i].status = status;
    free(f->s.routes[i].body);
    f->s.routes[i].body = body;
    pthread_mutex_unlock(&f->s.lock);
}

/* The RFC 8414 document of the double's issuer (marked so a test can tell it from the other). */
static char *oauth_doc(fixture *f) {
    return doc_text(f->issuer, "\"service_documentation\":\"https://idp.example.com/rfc8414\"");
}

static char *openid_doc(fixture *f) {
    return doc_text(f->issuer, "\"service_documentation\":\"https://idp.example.com/openid\"");
}

#define OAUTH_PATH "/.well-known/oauth-authorization-server/tenant1"
#define OPENID_PATH "/tenant1/.well-known/openid-configuration"

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->s.lock, NULL);
    f->server = test_server_start(handler, &f->s);
    snprintf(f->issuer, sizeof f->issuer, "http://127.0.0.1:%d/tenant1", f->server->port);
    static const char *const ours[] = {"mcp:read", NULL};
    as_metadata_options o = {
        .policy = {.issuer = f->issuer, .allow_http = true, .scopes = ours},
        .http = {.allow_http = true},
    };
    error_info err = {0};
    assert_int_equal(as_metadata_new(&o, &f->m, &err), 0);
    test_time = T0;
    as_metadata_set_clock(f->m, test_now);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    as_metadata_free(f->m);
    test_server_stop(f->server);
    for (int i = 0; i < ROUTES; i++)
        free(f->s.routes[i].body);
    pthread_mutex_destroy(&f->s.lock);
    free(f);
    return 0;
}

/* as_metadata_get, parsed; NULL on failure (r and err say why). */
static json_t *get(fixture *f, as_metadata_kind kind, int *ret_r, error_info *err) {
    char *json = NULL;
    *ret_r = as_metadata_get(f->m, kind, &json, err);
    json_t *doc = json ? json_loads(json, 0, NULL) : NULL;
    free(json);
    return doc;
}

static const char *marker(json_t *doc) {
    return json_string_value(json_object_get(doc, "service_documentation"));
}

static void test_fetch_rfc8414_document(void **state) {
    fixture *f = *state;
    route(f, 0, OAUTH_PATH, 200, oauth_doc(f));
    route(f, 1, OPENID_PATH, 200, openid_doc(f));
    char *json = NULL;
    error_info err = {0};
    assert_int_equal(as_metadata_peek(f->m, AS_METADATA_OAUTH, &json, &err), -EWOULDBLOCK);
    int r;
    json_t *doc = get(f, AS_METADATA_OAUTH, &r, &err);
    assert_int_equal(r, 0);
    assert_string_equal(marker(doc), "https://idp.example.com/rfc8414");
    assert_string_equal(json_string_value(json_array_get(json_object_get(doc, "scopes_supported"), 0)), "mcp:read");
    assert_int_equal(json_array_size(json_object_get(doc, "scopes_supported")), 1);
    json_decref(doc);
    assert_int_equal(test_server_count(f->server), 1);
    assert_string_equal(test_server_request(f->server, 0)->target, OAUTH_PATH);
    /* The OpenID route serves the OpenID configuration, fetched on its own. */
    doc = get(f, AS_METADATA_OPENID, &r, &err);
    assert_int_equal(r, 0);
    assert_string_equal(marker(doc), "https://idp.example.com/openid");
    json_decref(doc);
    assert_string_equal(test_server_request(f->server, 1)->target, OPENID_PATH);
}

static void test_fallback_to_openid_configuration(void **state) {
    fixture *f = *state;
    static const struct {
        int status;
        const char *body;
    } absent[] = {{404, "{\"error\":\"not found\"}"}, {200, ""}, {200, "{}"}, {200, " \n"}, {302, ""}, {403, "no"}};
    route(f, 1, OPENID_PATH, 200, openid_doc(f));
    for (size_t i = 0; i < sizeof absent / sizeof *absent; i++) {
        route(f, 0, OAUTH_PATH, absent[i].status, strdup(absent[i].body));
        test_time += AS_METADATA_TTL; /* the previous round's document is stale */
        int before = test_server_count(f->server);
        int r;
        error_info err = {0};
        json_t *doc = get(f, AS_METADATA_OAUTH, &r, &err);
        if (r != 0)
            fail_msg("case %zu: %s", i, err.message);
        assert_string_equal(marker(doc), "https://idp.example.com/openid");
        /* Built as an RFC 8414 document: OpenID members that are registered come along. */
        assert_string_equal(json_string_value(json_object_get(doc, "jwks_uri")), "https://idp.example.com/jwks");
        json_decref(doc);
        assert_int_equal(test_server_count(f->server), before + 2);
        assert_string_equal(test_server_request(f->server, -1)->target, OPENID_PATH);
    }
}

static void test_no_fallback_on_mismatch_or_server_error(void **state) {
    fixture *f = *state;
    route(f, 1, OPENID_PATH, 200, openid_doc(f));
    route(f, 0, OAUTH_PATH, 200, doc_text("https://evil.example.com", ""));
    int r;
    error_info err = {0};
    assert_null(get(f, AS_METADATA_OAUTH, &r, &err));
    assert_int_equal(r, -EPERM);
    assert_int_equal(as_metadata_error_status(r), 502);
    assert_non_null(strstr(err.message, "issuer mismatch"));
    assert_non_null(strstr(err.message, OAUTH_PATH));
    assert_int_equal(test_server_count(f->server), 1);

    test_time += AS_METADATA_RETRY_SECONDS;
    route(f, 0, OAUTH_PATH, 503, strdup("busy"));
    assert_null(get(f, AS_METADATA_OAUTH, &r, &err));
    assert_int_equal(r, -EBADMSG);
    assert_non_null(strstr(err.message, "answered HTTP 503"));
    assert_int_equal(test_server_count(f->server), 2);

    /* A document that is not metadata is not mistaken for "none published". */
    test_time += AS_METADATA_RETRY_SECONDS;
    route(f, 0, OAUTH_PATH, 200, strdup("<html>login</html>"));
    assert_null(get(f, AS_METADATA_OAUTH, &r, &err));
    assert_int_equal(r, -EBADMSG);
    assert_int_equal(test_server_count(f->server), 3);

    /* Neither document: the OpenID configuration's failure is the answer. */
    test_time += AS_METADATA_RETRY_SECONDS;
    route(f, 0, OAUTH_PATH, 404, strdup(""));
    route(f, 1, OPENID_PATH, 200, strdup("{}"));
    assert_null(get(f, AS_METADATA_OAUTH, &r, &err));
    assert_int_equal(r, -ENODATA);
    assert_non_null(strstr(err.message, OPENID_PATH));
}

static void test_size_cap(void **state) {
    fixture *f = *state;
    size_t n = AS_METADATA_MAX_BYTES + 10;
    char *big = malloc(n + 1);
    memset(big, ' ', n);
    big[n] = '\0';
    big[0] = '{';
    big[n - 1] = '}';
    route(f, 0, OAUTH_PATH, 200, big);
    int r;
    error_info err = {0};
    assert_null(get(f, AS_METADATA_OAUTH, &r, &err));
    assert_int_equal(r, -EMSGSIZE);
    assert_int_equal(as_metadata_error_status(r), 502);
}

static void test_cache_ttl_stale_and_backoff(void **state) {
    fixture *f = *state;
    route(f, 0, OAUTH_PATH, 200, oauth_doc(f));
    int r;
    error_info err = {0};
    json_decref(get(f, AS_METADATA_OAUTH, &r, &err));
    assert_int_equal(r, 0);
    /* Within the TTL: from the cache, also without blocking. */
    test_time += AS_METADATA_TTL - 1;
    json_decref(get(f, AS_METADATA_OAUTH, &r, &err));
    char *json = NULL;
    assert_int_equal(as_metadata_peek(f->m, AS_METADATA_OAUTH, &json, &err), 0);
    free(json);
    json = NULL;
    assert_int_equal(test_server_count(f->server), 1);
    /* Expired: peek wants a fetch; get refetches. */
    test_time += 1;
    assert_int_equal(as_metadata_peek(f->m, AS_METADATA_OAUTH, &json, &err), -EWOULDBLOCK);
    json_decref(get(f, AS_METADATA_OAUTH, &r, &err));
    assert_int_equal(test_server_count(f->server), 2);
    /* The IdP goes down: the stale document is served, and the next attempt waits for the back-off. */
    test_time += AS_METADATA_TTL;
    route(f, 0, OAUTH_PATH, 500, strdup("down"));
    json_t *doc = get(f, AS_METADATA_OAUTH, &r, &err);
    assert_int_equal(r, 0);
    assert_string_equal(marker(doc), "https://idp.example.com/rfc8414");
    json_decref(doc);
    assert_int_equal(test_server_count(f->server), 3);
    assert_int_equal(as_metadata_peek(f->m, AS_METADATA_OAUTH, &json, &err), 0);
    free(json);
    json = NULL;
    json_decref(get(f, AS_METADATA_OAUTH, &r, &err));
    assert_int_equal(test_server_count(f->server), 3);
    test_time += AS_METADATA_RETRY_SECONDS;
    assert_int_equal(as_metadata_peek(f->m, AS_METADATA_OAUTH, &json, &err), -EWOULDBLOCK);
    /* Past AS_METADATA_MAX_STALE the stale document is no longer an answer. */
    test_time += AS_METADATA_MAX_STALE;
    assert_null(get(f, AS_METADATA_OAUTH, &r, &err));
    assert_int_equal(r, -EBADMSG);
    assert_int_equal(as_metadata_peek(f->m, AS_METADATA_OAUTH, &json, &err), -EBADMSG);
    assert_null(json);
    /* Back up after the back-off. */
    route(f, 0, OAUTH_PATH, 200, oauth_doc(f));
    test_time += AS_METADATA_RETRY_SECONDS;
    json_decref(get(f, AS_METADATA_OAUTH, &r, &err));
    assert_int_equal(r, 0);
}

static void test_unreachable(void **state) {
    fixture *f = *state;
    /* A port nobody listens on (ours, once closed). */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    char issuer[64];
    snprintf(issuer, sizeof issuer, "http://127.0.0.1:%d", ntohs(a.sin_port));
    as_metadata_options o = {.policy = {.issuer = issuer, .allow_http = true}, .http = {.allow_http = true}};
    as_metadata *m = NULL;
    error_info err = {0};
    assert_int_equal(as_metadata_new(&o, &m, &err), 0);
    as_metadata_set_clock(m, test_now);
    char *json = NULL;
    int r = as_metadata_get(m, AS_METADATA_OAUTH, &json, &err);
    assert_int_equal(r, -ECONNREFUSED);
    assert_int_equal(as_metadata_error_status(r), 503);
    assert_non_null(strstr(err.message, "unreachable"));
    /* Remembered during the back-off: answered at once, without blocking. */
    error_info again = {0};
    assert_int_equal(as_metadata_peek(m, AS_METADATA_OAUTH, &json, &again), -ECONNREFUSED);
    assert_string_equal(again.message, err.message);
    as_metadata_free(m);
    (void)f;
}

static void test_https_only_without_allow_http(void **state) {
    fixture *f = *state;
    as_metadata_options o = {.policy = {.issuer = f->issuer}};
    as_metadata *m = NULL;
    error_info err = {0};
    assert_int_equal(as_metadata_new(&o, &m, &err), 0);
    char *json = NULL;
    int r = as_metadata_get(m, AS_METADATA_OAUTH, &json, &err);
    assert_int_equal(r, -EINVAL);
    assert_non_null(strstr(err.message, "https://"));
    assert_int_equal(test_server_count(f->server), 0);
    as_metadata_free(m);
    o.policy.issuer = "not a url";
    assert_int_equal(as_metadata_new(&o, &m, &err), -EINVAL);
    o.policy.issuer = NULL;
    assert_int_equal(as_metadata_new(&o, &m, &err), -EINVAL);
}

typedef struct racer {
    fixture *f;
    int r;
} racer;

static void *race(void *arg) {
    racer *x = arg;
    char *json = NULL;
    error_info err = {0};
    x->r = as_metadata_get(x->f->m, AS_METADATA_OAUTH, &json, &err);
    free(json);
    return NULL;
}

static void test_one_fetch_for_concurrent_callers(void **state) {
    fixture *f = *state;
    route(f, 0, OAUTH_PATH, 200, oauth_doc(f));
    f->s.delay_ms = 300;
    racer x[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        x[i] = (racer){.f = f, .r = 1};
        pthread_create(&t[i], NULL, race, &x[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(x[i].r, 0);
    }
    assert_int_equal(test_server_count(f->server), 1);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oauth_url),
        cmocka_unit_test(test_parse_keeps_registered_members_only),
        cmocka_unit_test(test_parse_drops_members_of_the_wrong_type),
        cmocka_unit_test(test_parse_bounds),
        cmocka_unit_test(test_parse_required_members),
        cmocka_unit_test(test_parse_issuer_must_match),
        cmocka_unit_test(test_parse_empty_and_garbage),
        cmocka_unit_test(test_parse_scopes_are_ours),
        cmocka_unit_test(test_error_status),
        T(test_fetch_rfc8414_document),
        T(test_fallback_to_openid_configuration),
        T(test_no_fallback_on_mismatch_or_server_error),
        T(test_size_cap),
        T(test_cache_ttl_stale_and_backoff),
        T(test_unreachable),
        T(test_https_only_without_allow_http),
        T(test_one_fetch_for_concurrent_callers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
