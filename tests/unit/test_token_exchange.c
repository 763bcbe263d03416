/* RFC 8693 token exchange: the request kubemcp sends (form, both client authentication styles, both
 * strategies), the strict reading of the STS's answer and of RFC 6749 errors, the cache (expiry by
 * expires_in and by the subject token's exp, refusals remembered, bounded, one request for
 * concurrent misses), the pause after the STS could not be reached, no token or secret in any
 * message, the gate's refusal of exchange without an issuer, and the configuration keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kube_test_server.h"

#include <jansson.h>
#include <openssl/evp.h>

#include "core/config.h"
#include "gate/authenticate.h"
#include "gate/token_exchange.h"

#define SUBJECT "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjYXJvbCJ9.c3ViamVjdC1zaWduYXR1cmUtZm9yLXRlc3Rz"
#define ISSUED "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJrdWJlcm5ldGVzIn0.aXNzdWVkLXNpZ25hdHVyZS1mb3ItdGVzdHM"
#define SECRET "s3cr3t+/ with space&more"

/* ---- an STS double ---- */

typedef struct sts {
    pthread_mutex_t lock;
    int status;
    char *body;  /* the answer */
    int delay_ms;
    atomic_int calls;
} sts;

static void sts_handler(const ts_request *req, ts_reply *reply, void *ctx) {
    sts *s = ctx;
    atomic_fetch_add(&s->calls, 1);
    pthread_mutex_lock(&s->lock);
    if (strcmp(req->method, "POST") != 0 || strcmp(req->target, "/token") != 0)
        ts_reply_text(reply, 404, "not found");
    else
        ts_reply_text(reply, s->status, s->body);
    reply->delay_ms = s->delay_ms;
    pthread_mutex_unlock(&s->lock);
}

static void sts_answer(sts *s, int status, const char *body) {
    pthread_mutex_lock(&s->lock);
    s->status = status;
    free(s->body);
    s->body = strdup(body);
    pthread_mutex_unlock(&s->lock);
}

static char *issued_answer(const char *token, long expires_in) {
    char *out = malloc(strlen(token) + 256);
    sprintf(out,
            "{\"access_token\":\"%s\",\"issued_token_type\":\"" TOKEN_EXCHANGE_TYPE_ACCESS_TOKEN
            "\",\"token_type\":\"Bearer\",\"expires_in\":%ld}",
            token, expires_in);
    return out;
}

static long long fake_time = 1700000000;
static long long fake_now(void) {
    return fake_time;
}

typedef struct fixture {
    sts s;
    test_server *server;
    char url[96];
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    pthread_mutex_init(&f->s.lock, NULL);
    char *ok = issued_answer(ISSUED, 300);
    sts_answer(&f->s, 200, ok);
    free(ok);
    f->server = test_server_start(sts_handler, &f->s);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d/token", f->server->port);
    fake_time = 1700000000;
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

static token_exchange_options base_options(fixture *f) {
    static const char *const scopes[] = {"openid", "k8s:view", NULL};
    return (token_exchange_options){
        .strategy = TOKEN_EXCHANGE_RFC8693,
        .token_url = f->url,
        .client_id = "kubemcp",
        .client_secret = SECRET,
        .audience = "kubernetes",
        .scopes = scopes,
        .http = {.allow_http = true, .timeout_seconds = 5},
    };
}

static token_exchange *make(const token_exchange_options *o) {
    token_exchange *tx = NULL;
    error_info err = {0};
    if (token_exchange_new(o, &tx, &err) < 0)
        fail_msg("token_exchange_new: %s", err.message);
    token_exchange_set_clock(tx, fake_now);
    return tx;
}

/* The value of name in an x-www-form-urlencoded body, decoded; NULL when absent. */
static char *form_value(const char *body, const char *name) {
    size_t n = strlen(name);
    for (const char *p = body; p && *p; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL) {
        if (strncmp(p, name, n) != 0 || p[n] != '=')
            continue;
        const char *v = p + n + 1;
        size_t len = strcspn(v, "&");
        char *out = calloc(1, len + 1);
        size_t o = 0;
        for (size_t i = 0; i < len; i++) {
            if (v[i] == '%' && i + 2 < len + 1) {
                char hex[3] = {v[i + 1], v[i + 2], 0};
                out[o++] = (char)strtol(hex, NULL, 16);
                i += 2;
            } else {
                out[o++] = v[i] == '+' ? ' ' : v[i];
            }
        }
        return out;
    }
    return NULL;
}

static void assert_form(const char *body, const char *name, const char *expected) {
    char *v = form_value(body, name);
    if (!expected) {
        if (v)
            fail_msg("%s should be absent, is \"%s\"", name, v);
        return;
    }
    if (!v)
        fail_msg("%s is missing from %s", name, body);
    assert_string_equal(v, expected);
    free(v);
}

static void assert_clean(const char *message) {
    assert_true(message[0] != '\0');
    assert_null(strstr(message, SUBJECT));
    assert_null(strstr(message, ISSUED));
    assert_null(strstr(message, "s3cr3t"));
    assert_null(strstr(message, "c3ViamVjdC1zaWduYXR1cmU"));
}

/* ---- the request ---- */

static void test_rfc8693_request_params_style(void **state) {
    fixture *f = *state;
    token_exchange_options o = base_options(f);
    token_exchange *tx = make(&o);
    char *token = NULL;
    error_info err = {0};
    assert_int_equal(token_exchange_get(tx, SUBJECT, 0, &token, &err), 0);
    assert_string_equal(token, ISSUED);
    const ts_request *req = test_server_request(f->server, -1);
    assert_non_null(req);
    assert_non_null(strcasestr(req->head, "\r\nContent-Type: application/x-www-form-urlencoded"));
    assert_null(strcasestr(req->head, "\r\nAuthorization:"));
    assert_form(req->body, "grant_type", TOKEN_EXCHANGE_GRANT_TYPE);
    assert_form(req->body, "subject_token", SUBJECT);
    assert_form(req->body, "subject_token_type", TOKEN_EXCHANGE_TYPE_ACCESS_TOKEN);
    assert_form(req->body, "requested_token_type", TOKEN_EXCHANGE_TYPE_ACCESS_TOKEN);
    assert_form(req->body, "audience", "kubernetes");
    assert_form(req->body, "scope", "openid k8s:view");
    assert_form(req->body, "client_id", "kubemcp");
    assert_form(req->body, "client_secret", SECRET);
    bearer_free(token);
    token_exchange_free(tx);
}

static void test_header_style_is_http_basic(void **state) {
    fixture *f = *state;
    token_exchange_options o = base_options(f);
    o.auth_style = TOKEN_EXCHANGE_AUTH_HEADER;
    o.client_id = "kube mcp:1";
    o.scopes = NULL;
    o.audience = NULL;
    token_exchange *tx = make(&o);
    char *token = NULL;
    error_info err = {0};
    assert_int_equal(token_exchange_get(tx, SUBJECT, 0, &token, &err), 0);
    const ts_request *req = test_server_request(f->server, -1);
    assert_form(req->body, "client_id", NULL);
    assert_form(req->body, "client_secret", NULL);
    assert_form(req->body, "audience", NULL);
    assert_form(req->body, "scope", NULL);
    /* RFC 6749 §2.3.1: both parts form-urlencoded, then base64 of "id:secret". */
    const char *expected_pair = "kube%20mcp%3A1:s3cr3t%2B%2F%20with%20space%26more";
    unsigned char b64[256];
    EVP_EncodeBlock(b64, (const unsigned char *)expected_pair, (int)strlen(expected_pair));
    char header[320];
    snprintf(header, sizeof header, "\r\nAuthorization: Basic %s\r\n", b64);
    if (!strstr(req->head, header))
        fail_msg("no Basic credentials in %s", req->head);
    bearer_free(token);
    token_exchange_free(tx);
}

static void test_keycloak_v1_omits_requested_type_and_accepts_no_issued_type(void **state) {
    fixture *f = *state;
    sts_answer(&f->s, 200, "{\"access_token\":\"" ISSUED "\",\"token_type\":\"bearer\",\"expires_in\":300}");
    token_exchange_options o = base_options(f);
    o.strategy = TOKEN_EXCHANGE_KEYCLOAK_V1;
    o.client_secret = NULL;
    token_exchange *tx = make(&o);
    char *token = NULL;
    error_info err = {0};
    assert_int_equal(token_exchange_get(tx, SUBJECT, 0, &token, &err), 0);
    const ts_request *req = test_server_request(f->server, -1);
    assert_form(req->body, "requested_token_type", NULL);
    assert_form(req->body, "subject_token_type", TOKEN_EXCHANGE_TYPE_ACCESS_TOKEN);
    assert_form(req->body, "client_id", "kubemcp");
    assert_form(req->body, "client_secret", NULL);
    bearer_free(token);
    token_exchange_free(tx);

    /* The same answer is not an RFC 8693 one. */
    token_exchange_options strict = base_options(f);
    tx = make(&strict);
    assert_int_equal(token_exchange_get(tx, SUBJECT, 0, &token, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "issued_token_type is missing"));
    token_exchange_free(tx);
}

static int source_calls;
static char source_url[96];
static int url_source(void *opaque, char **ret_url, error_info *err) {
    (void)opaque;
    source_calls++;
    if (!source_url[0])
        return error_set(err, ENOENT, "the OpenID configuration of http://idp names no token_endpoint");
    *ret_url = strdup(source_url);
    return 0;
}

static void test_token_url_from_discovery_asked_once(void **state) {
    fixture *f = *state;
    token_exchange_options o = base_options(f);
    o.token_url = NULL;
    o.token_url_source = url_source;
    source_calls = 0;
    source_url[0] = '\0';
    token_exchange *tx = make(&o);
    char *token = NULL;
    error_info err = {0};
    int r = token_exchange_get(tx, SUBJECT, 0, &token, &err);
    assert_int_equal(r, -ENOENT);
    assert_non_null(strstr(err.message, "cannot find the token service (set sts_token_url)"));
    assert_int_equal(atomic_load(&f->s.calls), 0);
    token_exchange_free(tx);

    snprintf(source_url, sizeof source_url, "%s", f->url);
    source_calls = 0;
    tx = make(&o);
    assert_int_equal(token_exchange_get(tx, SUBJECT, 0, &token, &err), 0);
    bearer_free(token);
    assert_int_equal(token_exchange_get(tx, SUBJECT "x", 0, &token, &err), 0);
    bearer_free(token);
    assert_int_equal(source_calls, 1);
    assert_int_equal(atomic_load(&f->s.calls), 2);
    token_exchange_free(tx);
}

/* ---- the cache ---- */

static void test_cached_until_expires_in_less_margin(void **state) {
    fixture *f = *state;
    token_exchange_options o = base_options(f);
    token_exchange *tx = make(&o);
    char *token = NULL;
    error_info err = {0};
    assert_true(token_exchange_needs_network(tx, SUBJECT));
    for (int i = 0; i < 3; i++) {
        assert_int_equal(token_exchange_get(tx, SUBJECT, 0, &token, &err), 0);
        assert_string_equal(token, ISSUED);
        token = bearer_free(token);
    }
    assert_false(token_exchange_needs_network(tx, SUBJECT));
    assert_int_equal(atomic_load(&f->s.calls), 1);
    token_exchange_stats st = token_exchange_get_stats(tx);
    assert_int_equal(st.exchanges, 1);
    assert_int_equal(st.hits, 2);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.entries, 1);
    /* expires_in 300, margin 30: still cached at +269 s, renewed at +270 s. */
    fake_time += 269;
    assert_int_equal(token_exchange_get(tx, SUBJECT, 0, &token, &err), 0);
    token = bearer_free(token);
    assert_int_equal(atomic_load(&f->s.calls), 1);
    fake_time += 1;
    assert_true(token_exchange_needs_network(tx, SUBJECT));
    assert_int_equal(token_exchange_get(tx, SUBJECT, 0, &token, &err), 0);
    token = bearer_free(token);
    assert_int_equal(atomic_load(&f->s.calls), 2);
    /* Another subject token is another entry. */
    assert_int_equal(token_exchange_get(tx, SUBJECT "2", 0, &token, &err), 0);
    bearer_free(token);
    assert_int_equal(atomic_load(&f->s.calls), 3);
    token_exchange_free(tx);
}

static void test_subject_expiry_bounds_the_cache(void **state) {
    fixture *f = *state;
    token_exchange_options o = base_options(f);
    token_exchange *tx = make(&o);
    char *token = NULL;
    error_info err = {0};
    /* The subject token expires in 100 s, the exchanged one in 300 s: renewed 30 s before 100. */
    assert_int_equal(token_exchange_get(tx, SUBJECT, fake_time + 100, &token, &err), 0);
    token = bearer_free(token);
    fake_time += 69;
    assert_false(token_exchange_needs_network(tx, SUBJECT));
    fake_time += 1;
    assert_true(token_exchange_needs_network(tx, SUBJECT));
    /* A subject token about to expire: the exchanged token is used once, not kept. */
    assert_int_equal(token_exchange_get(tx, SUBJECT "b", fake_time + 10, &token, &err), 0);
    assert_string_equal(token, ISSUED);
    token = bearer_free(token);
    assert_true(token_exchange_needs_network(tx, SUBJECT "b"));
    token_exchange_free(tx);

    /* No expires_in: the default TTL (60 s). */
    sts_answer(&f->s, 200,
               "{\"access_token\":\"" ISSUED "\",\"issued_token_type\":\"" TOKEN_EXCHANGE_TYPE_JWT
               "\",\"token_type\":\"Bearer\"}");
    tx = make(&o);
    assert_int_equal(token_exchange_get(tx, SUBJECT, 0, &token, &err), 0);
    token = bearer_free(token);
    fake_time += 59;
    assert_false(token_exchange_needs_network(tx, SUBJECT));
    fake_time += 1;
    assert_true(token_exchange_needs_network(tx, SUBJECT));
    token_exchange_free(tx);
}

static void test_bounded_oldest_evicted(void **state) {
    fixture *f = *state;
    token_exchange_options o = base_options(f);
    o.max_entries = 2;
    token_exchange *tx = make(&o);
    char *token = NULL;
    error_info err = {0};
    const char *subjects[] = {SUBJECT "a", SUBJECT "b", SUBJECT "c"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(token_exchange_get(tx, subjects[i], 0, &token, &err), 0);
        token = bearer_free(token);
    }
    assert_int_equal(token_exchange_get_stats(tx).entries, 2);
    assert_true(token_exchange_needs_network(tx, subjects[0]));
    assert_false(token_exchange_needs_network(tx, subjects[1]));
    assert_false(token_exchange_needs_network(tx, subjects[2]));
    token_exchange_free(tx);
}

typedef struct racer {
    token_exchange *tx;
    int r;
    char *token;
} racer;

static void *race(void *arg) {
    racer *x = arg;
    error_info err = {0};
    x->r = token_exchange_get(x->tx, SUBJECT, 0, &x->token, &err);
    return NULL;
}

static void test_concurrent_misses_share_one_request(void **state) {
    fixture *f = *state;
    f->s.delay_ms = 300;
    token_exchange_options o = base_options(f);
    token_exchange *tx = make(&o);
    enum { N = 8 };
    racer r[N];
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        r[i] = (racer){.tx = tx};
        pthread_create(&t[i], NULL, race, &r[i]);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(r[i].r, 0);
        assert_string_equal(r[i].token, ISSUED);
        bearer_free(r[i].token);
    }
    assert_int_equal(atomic_load(&f->s.calls), 1);
    token_exchange_stats st = token_exchange_get_stats(tx);
    assert_int_equal(st.exchanges, 1);
    assert_int_equal(st.coalesced + st.hits, N - 1);
    token_exchange_free(tx);
}

/* ---- refusals and failures ---- */

static void test_invalid_grant_is_401_and_remembered(void **state) {
    fixture *f = *state;
    sts_answer(&f->s, 400, "{\"error\":\"invalid_grant\",\"error_description\":\"subject token expired\"}");
    token_exchange_options o = base_options(f);
    token_exchange *tx = make(&o);
    char *token = NULL;
    error_info err = {0};
    assert_int_equal(token_exchange_get(tx, SUBJECT, 0, &token, &err), -EACCES);
    assert_null(token);
    assert_string_equal(err.message, "token exchange failed: the token service refused to exchange the caller's token: "
                                     "invalid_grant (subject token expired)");
    error_info again = {0};
    assert_int_equal(token_exchange_get(tx, SUBJECT, 0, &token, &again), -EACCES);
    assert_string_equal(again.message, err.message);
    assert_int_equal(atomic_load(&f->s.calls), 1);
    assert_false(token_exchange_needs_network(tx, SUBJECT));
    /* Remembered for 10 s only; another subject token is asked about at once. */
    assert_true(token_exchange_needs_network(tx, SUBJECT "other"));
    fake_time += 10;
    assert_true(token_exchange_needs_network(tx, SUBJECT));
    token_exchange_free(tx);
}

static void test_client_errors_are_configuration_problems(void **state) {
    fixture *f = *state;
    token_exchange_options o = base_options(f);
    token_exchange *tx = make(&o);
    char *token = NULL;
    error_info err = {0};
    sts_answer(&f->s, 401, "{\"error\":\"invalid_client\",\"error_description\":\"client authentication failed\"}");
    assert_int_equal(token_exchange_get(tx, SUBJECT "1", 0, &token, &err), -EPERM);
    assert_non_null(strstr(err.message, "refused kubemcp's exchange request: invalid_client (client authentication "
                                        "failed); check sts_client_id, sts_client_secret and sts_auth_style"));
    sts_answer(&f->s, 400, "{\"error\":\"invalid_target\"}");
    assert_int_equal(token_exchange_get(tx, SUBJECT "2", 0, &token, &err), -EPERM);
    assert_non_null(strstr(err.message, "invalid_target; the token service does not issue tokens for sts_audience"));
    /* An STS that echoes what it was sent: the description is withheld. */
    sts_answer(&f->s, 400, "{\"error\":\"invalid_request\",\"error_description\":\"bad secret " SECRET " here\"}");
    assert_int_equal(token_exchange_get(tx, SUBJECT "3", 0, &token, &err), -EPERM);
    assert_non_null(strstr(err.message, "(description withheld)"));
    assert_clean(err.message);
    sts_answer(&f->s, 400, "{\"error\":\"invalid_request\",\"error_description\":\"token " SUBJECT " is bad\"}");
    assert_int_equal(token_exchange_get(tx, SUBJECT, 0, &token, &err), -EPERM);
    assert_clean(err.message);
    assert_non_null(strstr(err.message, "(token [...] is bad)"));
    token_exchange_free(tx);
}

static void test_sts_down_pauses_and_fails_fast(void **state) {
    fixture *f = *state;
    sts_answer(&f->s, 503, "<html>unavailable</html>");
    token_exchange_options o = base_options(f);
    token_exchange *tx = make(&o);
    char *token = NULL;
    error_info err = {0};
    assert_int_equal(token_exchange_get(tx, SUBJECT, 0, &token, &err), -EAGAIN);
    assert_string_equal(err.message, "token exchange failed: the token service answered HTTP 503");
    /* For the next 5 s every miss gets the same answer without a request (and without blocking). */
    assert_false(token_exchange_needs_network(tx, SUBJECT "other"));
    error_info again = {0};
    assert_int_equal(token_exchange_get(tx, SUBJECT "other", 0, &token, &again), -EAGAIN);
    assert_string_equal(again.message, err.message);
    assert_int_equal(atomic_load(&f->s.calls), 1);
    fake_time += 5;
    char *ok = issued_answer(ISSUED, 300);
    sts_answer(&f->s, 200, ok);
    free(ok);
    assert_int_equal(token_exchange_get(tx, SUBJECT, 0, &token, &err), 0);
    bearer_free(token);
    token_exchange_free(tx);

    /* Nobody listening. */
    o.token_url = "http://127.0.0.1:1/token";
    tx = make(&o);
    assert_int_equal(token_exchange_get(tx, SUBJECT, 0, &token, &err), -ECONNREFUSED);
    assert_non_null(strstr(err.message, "token exchange failed: the IdP at http://127.0.0.1:1 is unreachable"));
    token_exchange_free(tx);

    /* https only unless allowed. */
    o.token_url = f->url;
    o.http.allow_http = false;
    tx = make(&o);
    assert_int_equal(token_exchange_get(tx, SUBJECT, 0, &token, &err), -EINVAL);
    assert_non_null(strstr(err.message, "must use https://"));
    token_exchange_free(tx);
}

static void test_options_refused(void **state) {
    fixture *f = *state;
    token_exchange *tx = NULL;
    error_info err = {0};
    token_exchange_options o = base_options(f);
    o.token_url = NULL;
    assert_int_equal(token_exchange_new(&o, &tx, &err), -EINVAL);
    o = base_options(f);
    o.client_id = NULL;
    assert_int_equal(token_exchange_new(&o, &tx, &err), -EINVAL);
    assert_non_null(strstr(err.message, "needs sts_client_id"));
    o.client_secret = NULL;
    o.auth_style = TOKEN_EXCHANGE_AUTH_HEADER;
    assert_int_equal(token_exchange_new(&o, &tx, &err), -EINVAL);
    assert_null(tx);
}

/* ---- the answer ---- */

static int parse(long status, const char *body, bool strict, token_exchange_response *out, error_info *err) {
    return token_exchange_parse_response(status, body, strlen(body), strict, out, err);
}

static void test_parse_accepts_a_token_response(void **state) {
    (void)state;
    token_exchange_response out = {0};
    error_info err = {0};
    assert_int_equal(parse(200,
                           "{\"access_token\":\"abc.DEF-_~+/==\",\"issued_token_type\":\"" TOKEN_EXCHANGE_TYPE_JWT
                           "\",\"token_type\":\"BEARER\",\"expires_in\":60,\"refresh_token\":\"r\",\"scope\":\"a\","
                           "\"extra\":{\"x\":[1]}}",
                           true, &out, &err),
                     0);
    assert_string_equal(out.access_token, "abc.DEF-_~+/==");
    assert_string_equal(out.issued_token_type, TOKEN_EXCHANGE_TYPE_JWT);
    assert_int_equal(out.expires_in, 60);
    token_exchange_response_clear(&out);
    assert_null(out.access_token);
}

static void test_parse_refuses_what_is_not_a_usable_token(void **state) {
    (void)state;
    static const struct {
        const char *body, *why;
    } cases[] = {
        {"[]", "not a JSON object"},
        {"not json", "not a JSON object"},
        {"{\"token_type\":\"Bearer\",\"issued_token_type\":\"" TOKEN_EXCHANGE_TYPE_ACCESS_TOKEN "\"}", "access_token is missing"},
        {"{\"access_token\":\"\",\"token_type\":\"Bearer\"}", "access_token is missing"},
        {"{\"access_token\":\"a b\",\"token_type\":\"Bearer\"}", "not a bearer token"},
        {"{\"access_token\":\"ab\\r\\nX-Evil: 1\",\"token_type\":\"Bearer\"}", "not a bearer token"},
        {"{\"access_token\":\"a=b\",\"token_type\":\"Bearer\"}", "not a bearer token"},
        {"{\"access_token\":42,\"token_type\":\"Bearer\"}", "not a bearer token"},
        {"{\"access_token\":\"abc\",\"issued_token_type\":\"" TOKEN_EXCHANGE_TYPE_ACCESS_TOKEN "\"}", "token_type"},
        {"{\"access_token\":\"abc\",\"token_type\":\"N_A\",\"issued_token_type\":\"" TOKEN_EXCHANGE_TYPE_ACCESS_TOKEN "\"}",
         "token_type is not \"Bearer\""},
        {"{\"access_token\":\"abc\",\"token_type\":\"Bearer\"}", "issued_token_type is missing"},
        {"{\"access_token\":\"abc\",\"token_type\":\"Bearer\",\"issued_token_type\":\"urn:ietf:params:oauth:token-type:"
         "refresh_token\"}",
         "neither an access token nor a JWT"},
        {"{\"access_token\":\"abc\",\"token_type\":\"Bearer\",\"issued_token_type\":7}", "not a string"},
        {"{\"access_token\":\"abc\",\"token_type\":\"Bearer\",\"issued_token_type\":\"" TOKEN_EXCHANGE_TYPE_JWT
         "\",\"expires_in\":\"3600\"}",
         "expires_in"},
        {"{\"access_token\":\"abc\",\"token_type\":\"Bearer\",\"issued_token_type\":\"" TOKEN_EXCHANGE_TYPE_JWT
         "\",\"expires_in\":0}",
         "expires_in"},
        {"{\"access_token\":\"abc\",\"token_type\":\"Bearer\",\"issued_token_type\":\"" TOKEN_EXCHANGE_TYPE_JWT
         "\",\"expires_in\":1.5}",
         "expires_in"},
        {"{\"access_token\":\"abc\",\"access_token\":\"def\",\"token_type\":\"Bearer\"}", "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        token_exchange_response out = {0};
        error_info err = {0};
        int r = parse(200, cases[i].body, true, &out, &err);
        if (r != -EBADMSG || !strstr(err.message, cases[i].why))
            fail_msg("case %zu (%s): %d \"%s\"", i, cases[i].body, r, err.message);
        assert_null(out.access_token);
    }
    /* A token longer than any bearer kubemcp accepts, and an answer over the cap. */
    size_t n = BEARER_MAX_TOKEN_BYTES + 1;
    char *big = malloc(n + 128);
    strcpy(big, "{\"access_token\":\"");
    memset(big + strlen(big), 'a', n);
    strcpy(big + 17 + n, "\",\"token_type\":\"Bearer\"}");
    token_exchange_response out = {0};
    error_info err = {0};
    assert_int_equal(parse(200, big, false, &out, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "too long"));
    free(big);
    assert_int_equal(token_exchange_parse_response(200, "{}", TOKEN_EXCHANGE_MAX_RESPONSE + 1, true, &out, &err),
                     -EMSGSIZE);
}

static void test_parse_errors(void **state) {
    (void)state;
    token_exchange_response out = {0};
    error_info err = {0};
    assert_int_equal(parse(400, "{\"error\":\"invalid_grant\"}", true, &out, &err), -EACCES);
    assert_string_equal(err.message, "the token service refused to exchange the caller's token: invalid_grant");
    assert_int_equal(parse(400, "{\"error\":\"unsupported_grant_type\",\"error_description\":\"nope\"}", true, &out, &err),
                     -EPERM);
    assert_non_null(strstr(err.message, "does not support token exchange (RFC 8693)"));
    /* A description outside RFC 6749's characters is dropped; an odd error code is not repeated. */
    assert_int_equal(parse(400, "{\"error\":\"invalid_grant\",\"error_description\":\"bad\\n\\\"x\\\"\"}", true, &out,
                           &err),
                     -EACCES);
    assert_string_equal(err.message, "the token service refused to exchange the caller's token: invalid_grant");
    assert_int_equal(parse(400, "{\"error\":\"Evil\\r\\nHeader\"}", true, &out, &err), -EPERM);
    assert_null(strchr(err.message, '\n'));
    assert_non_null(strstr(err.message, "(unreadable error code)"));
    /* A long description is bounded. */
    char body[2048];
    snprintf(body, sizeof body, "{\"error\":\"invalid_grant\",\"error_description\":\"%s\"}",
             "word word word word word word word word word word word word word word word word word word word word "
             "word word word word word word word word word word word word word word word word word word word word "
             "word word word word word word word word word word word word word word word word word word word word");
    assert_int_equal(parse(400, body, true, &out, &err), -EACCES);
    assert_true(strlen(err.message) < 300);
    assert_non_null(strstr(err.message, "...)"));
    assert_int_equal(parse(502, "Bad Gateway", true, &out, &err), -EAGAIN);
    assert_int_equal(parse(404, "<html>404</html>", true, &out, &err), -EBADMSG);
    assert_non_null(strstr(err.message, "is sts_token_url its token endpoint?"));
    assert_int_equal(parse(200, "", true, &out, &err), -EBADMSG);
}

/* ---- the gate and the configuration ---- */

static void test_gate_needs_issuer_for_exchange(void **state) {
    (void)state;
    gate_options go = {.cluster_mode = GATE_CLUSTER_EXCHANGE};
    gate *g = NULL;
    error_info err = {0};
    assert_int_equal(gate_new(&go, &g, &err), -EINVAL);
    assert_non_null(strstr(err.message, "token exchange needs an OpenID issuer"));
}

static int load(kubemcp_config **cfg, error_info *err, const char *const *args, const char *const *env) {
    char *argv[32] = {"kubemcp"};
    int argc = 1;
    for (; args && args[argc - 1]; argc++)
        argv[argc] = (char *)args[argc - 1];
    static const char *const no_env[] = {NULL};
    return config_load(argc, argv, (char **)(env ? env : no_env), cfg, err);
}

static void test_config_keys(void **state) {
    (void)state;
    kubemcp_config *cfg = NULL;
    error_info err = {0};
    const char *ok[] = {"--oidc-issuer-url", "https://idp.example", "--token-exchange-strategy", "rfc8693",
                        "--sts-client-id", "kubemcp", "--sts-audience", "kubernetes", "--sts-scopes", "a,b",
                        "--sts-auth-style", "header", "--sts-token-url", "https://sts.example/token", NULL};
    const char *env[] = {"KUBEMCP_STS_CLIENT_SECRET=from-env", NULL};
    assert_int_equal(load(&cfg, &err, ok, env), 0);
    assert_string_equal(cfg->cluster_auth_mode, "exchange");
    assert_string_equal(cfg->sts_client_secret, "from-env");
    assert_int_equal(cfg->sts_scopes.count, 2);
    assert_string_equal(cfg->sts_auth_style, "header");
    config_free(cfg);

    /* cluster_auth_mode "exchange" alone means rfc8693; the peer's passthrough spelling is accepted. */
    const char *mode[] = {"--oidc-issuer-url", "https://idp.example", "--cluster-auth-mode", "exchange", NULL};
    assert_int_equal(load(&cfg, &err, mode, NULL), 0);
    assert_string_equal(cfg->token_exchange_strategy, "rfc8693");
    config_free(cfg);
    const char *peer[] = {"--oidc-issuer-url", "https://idp.example", "--cluster-auth-mode", "passthrough",
                          "--token-exchange-strategy", "keycloak-v1", NULL};
    assert_int_equal(load(&cfg, &err, peer, NULL), 0);
    assert_string_equal(cfg->cluster_auth_mode, "exchange");
    config_free(cfg);

    static const struct {
        const char *args[12];
        const char *message;
    } bad[] = {
        {{"--oidc-issuer-url", "https://i", "--token-exchange-strategy", "entra-obo"}, "\"entra-obo\" (Microsoft Entra On-Behalf-Of) is not supported"},
        {{"--oidc-issuer-url", "https://i", "--token-exchange-strategy", "rfc9999"}, "use \"rfc8693\" or \"keycloak-v1\""},
        {{"--oidc-issuer-url", "https://i", "--token-exchange-strategy", "rfc8693", "--sts-auth-style", "assertion"},
         "sts_auth_style \"assertion\" (an RFC 7523 client assertion) is not supported"},
        {{"--oidc-issuer-url", "https://i", "--token-exchange-strategy", "rfc8693", "--sts-auth-style", "federated"},
         "\"federated\" (a federated token file) is not supported"},
        {{"--token-exchange-strategy", "rfc8693"}, "needs an OpenID issuer"},
        {{"--sts-audience", "kubernetes"}, "sts_audience is set but token exchange is off"},
        {{"--oidc-issuer-url", "https://i", "--token-exchange-strategy", "rfc8693", "--cluster-auth-mode", "impersonate"},
         "cluster_auth_mode is \"impersonate\""},
        {{"--oidc-issuer-url", "https://i", "--token-exchange-strategy", "rfc8693", "--sts-client-secret-file", "/x"},
         "needs sts_client_id"},
        {{"--oidc-issuer-url", "https://i", "--token-exchange-strategy", "rfc8693", "--sts-token-url", "http://sts/t"},
         "must be an https:// URL"},
        {{"--oidc-issuer-url", "https://i", "--token-exchange-strategy", "rfc8693", "--sts-client-secret", "x"},
         "--sts-client-secret"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cfg = NULL;
        int r = load(&cfg, &err, bad[i].args, NULL);
        if (r >= 0 || !strstr(err.message, bad[i].message))
            fail_msg("case %zu: %d \"%s\"", i, r, err.message);
        assert_null(cfg);
    }
    const char *both[] = {"--oidc-issuer-url", "https://i", "--token-exchange-strategy", "rfc8693", "--sts-client-id",
                          "c", "--sts-client-secret-file", "/x", NULL};
    const char *both_env[] = {"KUBEMCP_STS_CLIENT_SECRET=very-secret-value", NULL};
    assert_true(load(&cfg, &err, both, both_env) < 0);
    assert_non_null(strstr(err.message, "not both"));
    assert_null(strstr(err.message, "very-secret-value"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rfc8693_request_params_style, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header_style_is_http_basic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keycloak_v1_omits_requested_type_and_accepts_no_issued_type, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_token_url_from_discovery_asked_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cached_until_expires_in_less_margin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subject_expiry_bounds_the_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounded_oldest_evicted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_misses_share_one_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_grant_is_401_and_remembered, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_errors_are_configuration_problems, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sts_down_pauses_and_fails_fast, setup, teardown),
        cmocka_unit_test_setup_teardown(test_options_refused, setup, teardown),
        cmocka_unit_test(test_parse_accepts_a_token_response),
        cmocka_unit_test(test_parse_refuses_what_is_not_a_usable_token),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_gate_needs_issuer_for_exchange),
        cmocka_unit_test(test_config_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
