/* JWT access-token validation: a hostile-token matrix (every refusal with its specific, sanitised
 * reason), the accepted algorithms, claim mapping (username/groups with kube-apiserver's prefixes,
 * scopes), key rotation through a served JWKS with its refetch rate limit, and the verified-token
 * cache. Keys are generated here and tokens signed here, so nothing is a fixture that could rot. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kube_test_server.h"

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "core/base64.h"
#include "gate/jwks.h"
#include "gate/jwt.h"

#define ISS "https://idp.example.com"
#define AUD "https://mcp.example.com/mcp"
#define NOW 1700000000LL
#define SECRET "0123456789abcdef0123456789abcdef"

static long long test_time = NOW;
static long long test_now(void) {
    return test_time;
}

/* Keys shared by every test (RSA generation is slow). */
static cjose_jwk_t *rsa1, *rsa_enc, *rsa_ps_only, *rsa_new, *ec256, *ec384, *attacker;
static char *rsa1_pem; /* the public key as PEM: what an algorithm-confusion attacker HMACs with */
static char *static_jwks;

static const char *const audiences[] = {AUD, "kubemcp-client", NULL};

/* ---- helpers ---- */

/* header.payload.sig from raw JSON texts and a raw signature segment. */
static char *raw_token(const char *header, const char *payload, const char *sig) {
    char *h = base64url_encode(header, strlen(header));
    char *p = base64url_encode(payload, strlen(payload));
    size_t n = strlen(h) + strlen(p) + strlen(sig) + 3;
    char *t = malloc(n);
    snprintf(t, n, "%s.%s.%s", h, p, sig);
    free(h);
    free(p);
    return t;
}

static json_t *claims_default(void) {
    return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "iss", ISS, "aud", AUD, "sub", "alice", "exp", (json_int_t)(NOW + 600),
                     "iat", (json_int_t)NOW, "nbf", (json_int_t)NOW);
}

/* Signs claims (stolen) with key: header {alg, kid?, typ?} plus extra members (stolen, may be NULL). */
static char *sign_ex(const cjose_jwk_t *key, const char *alg, const char *kid, const char *typ, json_t *extra,
                     json_t *claims) {
    json_t *hdr = json_object();
    json_object_set_new(hdr, "alg", json_string(alg));
    if (kid)
        json_object_set_new(hdr, "kid", json_string(kid));
    if (typ)
        json_object_set_new(hdr, "typ", json_string(typ));
    if (extra)
        json_object_update(hdr, extra);
    json_decref(extra);
    char *payload = json_dumps(claims, JSON_COMPACT);
    json_decref(claims);
    cjose_err cerr;
    cjose_jws_t *jws = cjose_jws_sign(key, (cjose_header_t *)hdr, (const uint8_t *)payload, strlen(payload), &cerr);
    assert_non_null(jws);
    const char *ser = NULL;
    assert_true(cjose_jws_export(jws, &ser, &cerr));
    char *out = strdup(ser);
    cjose_jws_release(jws);
    json_decref(hdr);
    free(payload);
    return out;
}

static char *sign(const cjose_jwk_t *key, const char *alg, const char *kid, json_t *claims) {
    return sign_ex(key, alg, kid, NULL, NULL, claims);
}

/* The default claims with one member replaced (value stolen; NULL removes it). */
static json_t *claims_with(const char *name, json_t *value) {
    json_t *c = claims_default();
    if (value)
        json_object_set_new(c, name, value);
    else
        json_object_del(c, name);
    return c;
}

static char *public_jwk(const cjose_jwk_t *key, const char *kid, const char *use, const char *alg) {
    cjose_err cerr;
    char *text = cjose_jwk_to_json(key, false, &cerr);
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    json_object_set_new(j, "kid", json_string(kid));
    if (use)
        json_object_set_new(j, "use", json_string(use));
    if (alg)
        json_object_set_new(j, "alg", json_string(alg));
    char *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return out;
}

static char *jwks_of(int n, char **jwks) {
    size_t len = 16;
    for (int i = 0; i < n; i++)
        len += strlen(jwks[i]) + 1;
    char *out = malloc(len);
    strcpy(out, "{\"keys\":[");
    for (int i = 0; i < n; i++) {
        if (i)
            strcat(out, ",");
        strcat(out, jwks[i]);
        free(jwks[i]);
    }
    strcat(out, "]}");
    return out;
}

static cjose_jwk_t *rsa_new_key(void) {
    static const uint8_t e[] = {1, 0, 1};
    cjose_err cerr;
    cjose_jwk_t *k = cjose_jwk_create_RSA_random(2048, e, sizeof e, &cerr);
    assert_non_null(k);
    return k;
}

static char *rsa_public_pem(const cjose_jwk_t *key) {
    cjose_err cerr;
    RSA *rsa = cjose_jwk_get_keydata(key, &cerr);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    EVP_PKEY *pk = EVP_PKEY_new();
    EVP_PKEY_set1_RSA(pk, rsa);
#pragma GCC diagnostic pop
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, pk);
    char *data;
    long n = BIO_get_mem_data(bio, &data);
    char *out = strndup(data, (size_t)n);
    BIO_free(bio);
    EVP_PKEY_free(pk);
    return out;
}

static int group_setup(void **state) {
    (void)state;
    cjose_err cerr;
    rsa1 = rsa_new_key();
    rsa_enc = rsa_new_key();
    rsa_ps_only = rsa_new_key();
    rsa_new = rsa_new_key();
    attacker = rsa_new_key();
    ec256 = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &cerr);
    ec384 = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_384, &cerr);
    assert_non_null(ec256);
    assert_non_null(ec384);
    rsa1_pem = rsa_public_pem(rsa1);
    char *keys[] = {
        public_jwk(rsa1, "rsa1", "sig", NULL),
        public_jwk(ec256, "ec256", NULL, NULL),
        public_jwk(ec384, "ec384", "sig", "ES384"),
        public_jwk(rsa_enc, "enc1", "enc", NULL),
        public_jwk(rsa_ps_only, "rsa-ps", "sig", "PS256"),
        "{\"kty\":\"oct\",\"kid\":\"oct1\",\"k\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\"}",
        "{\"kty\":\"OKP\",\"kid\":\"ed1\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}",
    };
    keys[5] = strdup(keys[5]);
    keys[6] = strdup(keys[6]);
    static_jwks = jwks_of(7, keys);
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    cjose_jwk_release(rsa1);
    cjose_jwk_release(rsa_enc);
    cjose_jwk_release(rsa_ps_only);
    cjose_jwk_release(rsa_new);
    cjose_jwk_release(attacker);
    cjose_jwk_release(ec256);
    cjose_jwk_release(ec384);
    free(rsa1_pem);
    free(static_jwks);
    return 0;
}

typedef struct fixture {
    jwks_cache *keys;
    jwt_policy policy;
    jwt_validator *v;
} fixture;

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    error_info err = {0};
    assert_int_equal(jwks_cache_new_static(static_jwks, strlen(static_jwks), &f->keys, &err), 0);
    f->policy = (jwt_policy){.issuer = ISS, .audiences = audiences, .clock_skew_seconds = 60};
    test_time = NOW;
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    jwt_validator_free(f->v);
    jwks_cache_free(f->keys);
    free(f);
    return 0;
}

static jwt_validator *validator(fixture *f) {
    jwt_validator_free(f->v);
    f->v = NULL;
    error_info err = {0};
    int r = jwt_validator_new(&f->policy, f->keys, &f->v, &err);
    if (r < 0)
        fail_msg("validator: %s", err.message);
    jwt_validator_set_clock(f->v, test_now);
    return f->v;
}

/* Asserts a refusal with exactly this reason (so the reason never carries token material), then
 * frees the token. */
static void refused(fixture *f, char *token, const char *reason) {
    jwt_validator *v = f->v ? f->v : validator(f);
    error_info err = {0};
    jwt_result *res = NULL;
    int r = jwt_validate(v, token, &res, &err);
    if (r == 0)
        fail_msg("accepted; expected \"%s\"", reason);
    assert_int_equal(r, -EACCES);
    assert_string_equal(err.message, reason);
    assert_null(res);
    free(token);
}

/* Asserts acceptance; returns the result (caller unrefs) and frees the token. */
static jwt_result *accepted(fixture *f, char *token) {
    jwt_validator *v = f->v ? f->v : validator(f);
    error_info err = {0};
    jwt_result *res = NULL;
    int r = jwt_validate(v, token, &res, &err);
    if (r != 0)
        fail_msg("refused: %s", err.message);
    assert_non_null(res);
    free(token);
    return res;
}

static void accepted_drop(fixture *f, char *token) {
    jwt_result_unref(accepted(f, token));
}

/* ---- the matrix: algorithms ---- */

static void test_alg_none(void **state) {
    refused(*state, raw_token("{\"alg\":\"none\"}", "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"x\",\"exp\":9999999999}", ""),
            "algorithm not allowed");
}

static void test_alg_none_variants(void **state) {
    refused(*state, raw_token("{\"alg\":\"None\",\"kid\":\"rsa1\"}", "{\"sub\":\"x\"}", "AAAA"), "algorithm not allowed");
    refused(*state, raw_token("{\"alg\":\"NONE\"}", "{\"sub\":\"x\"}", "AAAA"), "algorithm not allowed");
}

static void test_alg_missing(void **state) {
    refused(*state, raw_token("{\"kid\":\"rsa1\"}", "{\"sub\":\"x\"}", "AAAA"), "algorithm missing");
    refused(*state, raw_token("{\"alg\":256,\"kid\":\"rsa1\"}", "{\"sub\":\"x\"}", "AAAA"), "algorithm missing");
}

static void test_alg_not_on_allowlist(void **state) {
    fixture *f = *state;
    static const char *const only_rs256[] = {"RS256", NULL};
    f->policy.algorithms = only_rs256;
    refused(f, sign(ec256, "ES256", "ec256", claims_default()), "algorithm not allowed");
    refused(f, sign(rsa1, "PS256", "rsa1", claims_default()), "algorithm not allowed");
    accepted_drop(f, sign(rsa1, "RS256", "rsa1", claims_default()));
}

static void test_alg_unsupported(void **state) {
    refused(*state, raw_token("{\"alg\":\"HS512\",\"kid\":\"rsa1\"}", "{\"sub\":\"x\"}", "AAAA"), "algorithm not allowed");
    refused(*state, raw_token("{\"alg\":\"RSA-OAEP\",\"kid\":\"rsa1\"}", "{\"sub\":\"x\"}", "AAAA"), "algorithm not allowed");
}

/* Algorithm confusion: HMAC with the RSA public key (as PEM) as the secret. */
static void test_hs256_confusion_without_secret(void **state) {
    cjose_err cerr;
    cjose_jwk_t *k = cjose_jwk_create_oct_spec((const uint8_t *)rsa1_pem, strlen(rsa1_pem), &cerr);
    refused(*state, sign(k, "HS256", "rsa1", claims_default()), "algorithm not allowed");
    cjose_jwk_release(k);
}

static void test_hs256_confusion_with_secret(void **state) {
    fixture *f = *state;
    f->policy.hs256_secret = (const unsigned char *)SECRET;
    f->policy.hs256_secret_len = strlen(SECRET);
    cjose_err cerr;
    cjose_jwk_t *k = cjose_jwk_create_oct_spec((const uint8_t *)rsa1_pem, strlen(rsa1_pem), &cerr);
    refused(f, sign(k, "HS256", "rsa1", claims_default()), "signature invalid");
    cjose_jwk_release(k);
}

static void test_hs256_without_secret(void **state) {
    cjose_err cerr;
    cjose_jwk_t *k = cjose_jwk_create_oct_spec((const uint8_t *)SECRET, strlen(SECRET), &cerr);
    refused(*state, sign(k, "HS256", NULL, claims_default()), "algorithm not allowed");
    cjose_jwk_release(k);
}

static void test_hs256_with_secret_accepted(void **state) {
    fixture *f = *state;
    f->policy.hs256_secret = (const unsigned char *)SECRET;
    f->policy.hs256_secret_len = strlen(SECRET);
    cjose_err cerr;
    cjose_jwk_t *k = cjose_jwk_create_oct_spec((const uint8_t *)SECRET, strlen(SECRET), &cerr);
    jwt_result *r = accepted(f, sign(k, "HS256", NULL, claims_default()));
    assert_string_equal(r->alg, "HS256");
    jwt_result_unref(r);
    /* A wrong secret is a bad signature, not an unknown key. */
    cjose_jwk_t *wrong = cjose_jwk_create_oct_spec((const uint8_t *)SECRET "x", strlen(SECRET) + 1, &cerr);
    refused(f, sign(wrong, "HS256", NULL, claims_default()), "signature invalid");
    cjose_jwk_release(wrong);
    cjose_jwk_release(k);
}

static void test_rs256_accepted(void **state) {
    jwt_result *r = accepted(*state, sign(rsa1, "RS256", "rsa1", claims_default()));
    assert_string_equal(r->subject, "alice");
    assert_string_equal(r->username, ISS "#alice");
    assert_int_equal(r->group_count, 0);
    assert_non_null(r->groups);
    assert_null(r->groups[0]);
    assert_int_equal(r->exp, NOW + 600);
    assert_string_equal(r->alg, "RS256");
    assert_string_equal(json_string_value(json_object_get(r->claims, "iss")), ISS);
    caller_identity *id = jwt_result_identity(r);
    assert_string_equal(id->username, ISS "#alice");
    assert_string_equal(id->source, "oidc");
    caller_identity_free(id);
    jwt_result_unref(r);
}

static void test_rs384_rs512_accepted(void **state) {
    accepted_drop(*state, sign(rsa1, "RS384", "rsa1", claims_default()));
    accepted_drop(*state, sign(rsa1, "RS512", "rsa1", claims_default()));
}

static void test_ps256_accepted(void **state) {
    accepted_drop(*state, sign(rsa1, "PS256", "rsa1", claims_default()));
    accepted_drop(*state, sign(rsa_ps_only, "PS256", "rsa-ps", claims_default()));
}

static void test_es256_accepted(void **state) {
    jwt_result *r = accepted(*state, sign(ec256, "ES256", "ec256", claims_default()));
    assert_string_equal(r->alg, "ES256");
    jwt_result_unref(r);
}

static void test_es384_accepted(void **state) {
    accepted_drop(*state, sign(ec384, "ES384", "ec384", claims_default()));
}

static void test_no_kid_single_fitting_key(void **state) {
    /* Only one P-384 key in the set: a token without kid still finds it; several RSA keys: ambiguous. */
    accepted_drop(*state, sign(ec384, "ES384", NULL, claims_default()));
    refused(*state, sign(rsa1, "PS256", NULL, claims_default()), "unknown signing key");
}

/* ---- keys ---- */

static void test_unknown_kid(void **state) {
    refused(*state, sign(rsa1, "RS256", "nope", claims_default()), "unknown signing key");
}

static void test_kid_not_a_string(void **state) {
    json_t *extra = json_pack("{s:i}", "kid", 7);
    refused(*state, sign_ex(rsa1, "RS256", NULL, NULL, extra, claims_default()), "unknown signing key");
}

static void test_kid_of_wrong_kty(void **state) {
    refused(*state, sign(ec256, "ES256", "rsa1", claims_default()), "signing key does not fit the algorithm");
    refused(*state, sign(rsa1, "RS256", "ec256", claims_default()), "signing key does not fit the algorithm");
}

static void test_kid_of_wrong_curve(void **state) {
    refused(*state, sign(ec384, "ES256", "ec384", claims_default()), "signing key does not fit the algorithm");
}

static void test_jwk_alg_mismatch(void **state) {
    /* The JWK says PS256; an RS256 token naming it is refused even though the kty fits. */
    refused(*state, sign(rsa_ps_only, "RS256", "rsa-ps", claims_default()), "signing key does not fit the algorithm");
}

static void test_jwks_key_use_enc(void **state) {
    refused(*state, sign(rsa_enc, "RS256", "enc1", claims_default()), "unknown signing key");
}

static void test_jwks_oct_and_okp_keys_ignored(void **state) {
    cjose_err cerr;
    cjose_jwk_t *k = cjose_jwk_create_oct_spec((const uint8_t *)SECRET, strlen(SECRET), &cerr);
    refused(*state, sign(k, "HS256", "oct1", claims_default()), "algorithm not allowed");
    cjose_jwk_release(k);
    refused(*state, raw_token("{\"alg\":\"EdDSA\",\"kid\":\"ed1\"}", "{\"sub\":\"x\"}", "AAAA"), "algorithm not allowed");
}

static void test_embedded_jwk_ignored(void **state) {
    /* The attacker ships its own key in the header and signs with it: never trusted. */
    char *pub = public_jwk(attacker, "rsa1", NULL, NULL);
    json_t *extra = json_pack("{s:o, s:s}", "jwk", json_loads(pub, 0, NULL), "jku", "https://evil.example/jwks");
    free(pub);
    refused(*state, sign_ex(attacker, "RS256", "rsa1", NULL, extra, claims_default()), "signature invalid");
}

/* ---- tampering ---- */

static void test_tampered_payload(void **state) {
    char *good = sign(rsa1, "RS256", "rsa1", claims_default());
    char *dot1 = strchr(good, '.');
    char *dot2 = strchr(dot1 + 1, '.');
    char *evil = base64url_encode("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"admin\",\"exp\":9999999999}",
                        strlen("{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"admin\",\"exp\":9999999999}"));
    size_t n = strlen(good) + strlen(evil) + 2;
    char *t = malloc(n);
    snprintf(t, n, "%.*s.%s%s", (int)(dot1 - good), good, evil, dot2);
    free(evil);
    free(good);
    refused(*state, t, "signature invalid");
}

static void test_tampered_signature(void **state) {
    char *t = sign(rsa1, "RS256", "rsa1", claims_default());
    char *sig = strrchr(t, '.') + 1;
    sig[10] = sig[10] == 'A' ? 'B' : 'A';
    refused(*state, t, "signature invalid");
    t = sign(ec256, "ES256", "ec256", claims_default());
    sig = strrchr(t, '.') + 1;
    sig[5] = sig[5] == 'A' ? 'B' : 'A';
    refused(*state, t, "signature invalid");
}

static void test_truncated_signature(void **state) {
    char *t = sign(rsa1, "RS256", "rsa1", claims_default());
    t[strlen(t) - 2] = '\0'; /* 255 bytes: still canonical base64url */
    refused(*state, t, "signature invalid");
    t = sign(ec256, "ES256", "ec256", claims_default());
    t[strlen(t) - 2] = '\0';
    refused(*state, t, "signature invalid");
}

static void test_signature_of_other_key(void **state) {
    refused(*state, sign(attacker, "RS256", "rsa1", claims_default()), "signature invalid");
}

/* ---- issuer and audience ---- */

static void test_wrong_iss(void **state) {
    refused(*state, sign(rsa1, "RS256", "rsa1", claims_with("iss", json_string("https://evil.example.com"))),
            "issuer mismatch");
    refused(*state, sign(rsa1, "RS256", "rsa1", claims_with("iss", NULL)), "issuer mismatch");
    refused(*state, sign(rsa1, "RS256", "rsa1", claims_with("iss", json_integer(1))), "issuer mismatch");
}

static void test_iss_trailing_slash(void **state) {
    refused(*state, sign(rsa1, "RS256", "rsa1", claims_with("iss", json_string(ISS "/"))), "issuer mismatch");
    refused(*state, sign(rsa1, "RS256", "rsa1", claims_with("iss", json_string("HTTPS://idp.example.com"))),
            "issuer mismatch");
}

static void test_wrong_aud(void **state) {
    refused(*state, sign(rsa1, "RS256", "rsa1", claims_with("aud", json_string("https://other.example.com/mcp"))),
            "audience mismatch");
    refused(*state, sign(rsa1, "RS256", "rsa1", claims_with("aud", json_string(AUD "/"))), "audience mismatch");
    refused(*state, sign(rsa1, "RS256", "rsa1", claims_with("aud", NULL)), "audience mismatch");
}

static void test_aud_array_without_ours(void **state) {
    refused(*state, sign(rsa1, "RS256", "rsa1", claims_with("aud", json_pack("[s,s,i]", "a", "b", 3))),
            "audience mismatch");
    refused(*state, sign(rsa1, "RS256", "rsa1", claims_with("aud", json_array())), "audience mismatch");
}

static void test_aud_array_with_ours(void **state) {
    accepted_drop(*state, sign(rsa1, "RS256", "rsa1", claims_with("aud", json_pack("[s,s]", "account", AUD))));
    /* The second configured audience (the client id) counts too. */
    accepted_drop(*state, sign(rsa1, "RS256", "rsa1", claims_with("aud", json_string("kubemcp-client"))));
}

/* ---- time ---- */

static void test_expired(void **state) {
    refused(*state, sign(rsa1, "RS256", "rsa1", claims_with("exp", json_integer(NOW - 61))), "token expired");
    refused(*state, sign(rsa1, "RS256", "rsa1", claims_with("exp", json_integer(NOW - 60))), "token expired");
}

static void test_expired_within_skew(void **state) {
    accepted_drop(*state, sign(rsa1, "RS256", "rsa1", claims_with("exp", json_integer(NOW - 30))));
}

static void test_exp_missing(void **state) {
    refused(*state, sign(rsa1, "RS256", "rsa1", claims_with("exp", NULL)), "expiry (exp) missing");
}

static void test_exp_as_string(void **state) {
    refused(*state, sign(rsa1, "RS256", "rsa1", claims_with("exp", json_string("9999999999"))), "invalid exp claim");
    refused(*state, sign(rsa1, "RS256", "rsa1", claims_with("exp", json_null())), "invalid exp claim");
}

static void test_exp_real_accepted(void **state) {
    jwt_result *r = accepted(*state, sign(rsa1, "RS256", "rsa1", claims_with("exp", json_real((double)NOW + 100.5))));
    assert_int_equal(r->exp, NOW + 100);
    jwt_result_unref(r);
}

static void test_nbf_in_future(void **state) {
    refused(*state, sign(rsa1, "RS256", "rsa1", claims_with("nbf", json_integer(NOW + 61))), "token not yet valid");
    refused(*state, sign(rsa1, "RS256", "rsa1", claims_with("nbf", json_string("0"))), "invalid nbf claim");
}

static void test_nbf_within_skew(void **state) {
    accepted_drop(*state, sign(rsa1, "RS256", "rsa1", claims_with("nbf", json_integer(NOW + 60))));
}

static void test_iat_in_future(void **state) {
    refused(*state, sign(rsa1, "RS256", "rsa1", claims_with("iat", json_integer(NOW + 3600))), "token issued in the future");
    refused(*state, sign(rsa1, "RS256", "rsa1", claims_with("iat", json_true())), "invalid iat claim");
}

static void test_no_skew_configured(void **state) {
    fixture *f = *state;
    f->policy.clock_skew_seconds = 0;
    refused(f, sign(rsa1, "RS256", "rsa1", claims_with("exp", json_integer(NOW))), "token expired");
    refused(f, sign(rsa1, "RS256", "rsa1", claims_with("nbf", json_integer(NOW + 1))), "token not yet valid");
    accepted_drop(f, sign(rsa1, "RS256", "rsa1", claims_with("exp", json_integer(NOW + 1))));
}

/* ---- other claims ---- */

static void test_missing_sub(void **state) {
    refused(*state, sign(rsa1, "RS256", "rsa1", claims_with("sub", NULL)), "subject (sub) missing");
    refused(*state, sign(rsa1, "RS256", "rsa1", claims_with("sub", json_string(""))), "subject (sub) missing");
    refused(*state, sign(rsa1, "RS256", "rsa1", claims_with("sub", json_integer(42))), "subject (sub) missing");
}

static void test_duplicate_claims(void **state) {
    /* Two "sub" members: parsers disagree on which wins, so the token is refused outright. */
    char *payload = "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"alice\",\"sub\":\"admin\",\"exp\":9999999999}";
    cjose_err cerr;
    json_t *hdr = json_pack("{s:s, s:s}", "alg", "RS256", "kid", "rsa1");
    cjose_jws_t *jws = cjose_jws_sign(rsa1, (cjose_header_t *)hdr, (const uint8_t *)payload, strlen(payload), &cerr);
    const char *ser = NULL;
    cjose_jws_export(jws, &ser, &cerr);
    char *t = strdup(ser);
    cjose_jws_release(jws);
    json_decref(hdr);
    refused(*state, t, "malformed token (payload is not a JSON object)");
}

static void test_crit_header(void **state) {
    json_t *extra = json_pack("{s:[s], s:b}", "crit", "b64", "b64", 0);
    refused(*state, sign_ex(rsa1, "RS256", "rsa1", NULL, extra, claims_default()), "unsupported critical header");
}

/* ---- shape ---- */

static void test_no_token(void **state) {
    refused(*state, strdup(""), "no token");
}

static void test_five_segments(void **state) {
    refused(*state, strdup("eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.AAAA.AAAA.AAAA.AAAA"),
            "encrypted tokens (JWE) are not accepted");
}

static void test_two_segments(void **state) {
    char *t = sign(rsa1, "RS256", "rsa1", claims_default());
    *strrchr(t, '.') = '\0';
    refused(*state, t, "malformed token");
    refused(*state, strdup("a.b.c.d"), "malformed token");
    refused(*state, strdup("a.b.c.d.e.f"), "malformed token");
    refused(*state, strdup("justonesegment"), "malformed token");
}

static void test_empty_segment(void **state) {
    char *t = sign(rsa1, "RS256", "rsa1", claims_default());
    char *dot1 = strchr(t, '.');
    char *dot2 = strchr(dot1 + 1, '.');
    memmove(dot1 + 1, dot2, strlen(dot2) + 1);
    refused(*state, t, "malformed token (empty segment)");
    t = sign(rsa1, "RS256", "rsa1", claims_default());
    strrchr(t, '.')[1] = '\0';
    refused(*state, t, "malformed token (empty segment)");
    refused(*state, strdup(".a.b"), "malformed token (empty segment)");
}

static void test_bad_base64(void **state) {
    char *t = sign(rsa1, "RS256", "rsa1", claims_default());
    t[3] = '*';
    refused(*state, t, "malformed token (bad base64url)");
    /* Standard-alphabet characters are not base64url. */
    t = sign(rsa1, "RS256", "rsa1", claims_default());
    strrchr(t, '.')[2] = '+';
    refused(*state, t, "malformed token (bad base64url)");
    t = sign(rsa1, "RS256", "rsa1", claims_default());
    char *dot1 = strchr(t, '.');
    dot1[1] = '/';
    refused(*state, t, "malformed token (bad base64url)");
    /* A length no encoder produces. */
    refused(*state, raw_token("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", "{}", "AAAAA"), "malformed token (bad base64url)");
}

static void test_noncanonical_base64(void **state) {
    /* "e30" is "{}"; "e31" decodes to the same bytes with non-zero spare bits. */
    char *hdr = base64url_encode("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", strlen("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}"));
    size_t n = strlen(hdr) + 16;
    char *t = malloc(n);
    snprintf(t, n, "%s.e31.AAAA", hdr);
    free(hdr);
    refused(*state, t, "malformed token (bad base64url)");
}

static void test_padding(void **state) {
    char *t = sign(rsa1, "RS256", "rsa1", claims_with("sub", json_string("al")));
    size_t n = strlen(t);
    t = realloc(t, n + 3);
    memcpy(t + n, "==", 3);
    refused(*state, t, "malformed token (base64url padding)");
}

static void test_oversized(void **state) {
    char *big = malloc(20000);
    memset(big, 'a', 19999);
    big[19999] = '\0';
    refused(*state, sign(rsa1, "RS256", "rsa1", claims_with("pad", json_string(big))), "token too large");
    free(big);
    /* Just under the limit is parsed (and here accepted). */
    big = malloc(11000);
    memset(big, 'a', 10999);
    big[10999] = '\0';
    accepted_drop(*state, sign(rsa1, "RS256", "rsa1", claims_with("pad", json_string(big))));
    free(big);
}

static void test_non_json_header(void **state) {
    refused(*state, raw_token("not json", "{}", "AAAA"), "malformed token (header is not a JSON object)");
    refused(*state, raw_token("{\"alg\":\"RS256\",", "{}", "AAAA"), "malformed token (header is not a JSON object)");
}

static void test_header_not_object(void **state) {
    refused(*state, raw_token("[\"RS256\"]", "{}", "AAAA"), "malformed token (header is not a JSON object)");
    refused(*state, raw_token("\"RS256\"", "{}", "AAAA"), "malformed token (header is not a JSON object)");
}

static void test_payload_not_object(void **state) {
    refused(*state, raw_token("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", "[1,2]", "AAAA"),
            "malformed token (payload is not a JSON object)");
}

/* ---- typ ---- */

static void test_typ_required_missing(void **state) {
    fixture *f = *state;
    f->policy.require_at_jwt_typ = true;
    refused(f, sign(rsa1, "RS256", "rsa1", claims_default()), "token type (typ) missing");
}

static void test_typ_wrong(void **state) {
    fixture *f = *state;
    f->policy.require_at_jwt_typ = true;
    refused(f, sign_ex(rsa1, "RS256", "rsa1", "JWT", NULL, claims_default()), "token type not at+jwt");
    refused(f, sign_ex(rsa1, "RS256", "rsa1", "at+jwt-ish", NULL, claims_default()), "token type not at+jwt");
}

static void test_typ_at_jwt_accepted(void **state) {
    fixture *f = *state;
    f->policy.require_at_jwt_typ = true;
    accepted_drop(f, sign_ex(rsa1, "RS256", "rsa1", "at+jwt", NULL, claims_default()));
    accepted_drop(f, sign_ex(rsa1, "RS256", "rsa1", "application/at+JWT", NULL, claims_default()));
}

/* ---- mapping ---- */

static void test_scope_string(void **state) {
    jwt_result *r = accepted(*state, sign(rsa1, "RS256", "rsa1", claims_with("scope", json_string("openid  mcp:read mcp:write "))));
    assert_int_equal(r->scope_count, 3);
    assert_string_equal(r->scopes[0], "openid");
    assert_string_equal(r->scopes[1], "mcp:read");
    assert_string_equal(r->scopes[2], "mcp:write");
    assert_null(r->scopes[3]);
    assert_true(jwt_result_has_scope(r, "mcp:write"));
    assert_false(jwt_result_has_scope(r, "mcp"));
    jwt_result_unref(r);
}

static void test_scp_array(void **state) {
    jwt_result *r = accepted(*state, sign(rsa1, "RS256", "rsa1", claims_with("scp", json_pack("[s,i,s]", "mcp:read", 5, "profile"))));
    assert_int_equal(r->scope_count, 2);
    assert_string_equal(r->scopes[0], "mcp:read");
    assert_string_equal(r->scopes[1], "profile");
    jwt_result_unref(r);
    r = accepted(*state, sign(rsa1, "RS256", "rsa1", claims_with("scp", json_string("a b"))));
    assert_int_equal(r->scope_count, 2);
    jwt_result_unref(r);
    r = accepted(*state, sign(rsa1, "RS256", "rsa1", claims_default()));
    assert_int_equal(r->scope_count, 0);
    assert_non_null(r->scopes);
    jwt_result_unref(r);
}

static void test_username_and_groups_mapping(void **state) {
    fixture *f = *state;
    json_t *c = claims_default();
    json_object_set_new(c, "email", json_string("alice@example.com"));
    json_object_set_new(c, "preferred_username", json_string("alice"));
    json_object_set_new(c, "groups", json_pack("[s,s]", "dev", "ops"));
    json_object_set_new(c, "roles", json_string("admin"));
    char *t = sign(rsa1, "RS256", "rsa1", json_deep_copy(c));

    /* email: no prefix by default (kube-apiserver --oidc-username-claim=email). */
    f->policy.username_claim = "email";
    f->policy.groups_claim = "groups";
    f->policy.groups_prefix = "oidc:";
    jwt_result *r = accepted(f, strdup(t));
    assert_string_equal(r->username, "alice@example.com");
    assert_int_equal(r->group_count, 2);
    assert_string_equal(r->groups[0], "oidc:dev");
    assert_string_equal(r->groups[1], "oidc:ops");
    caller_identity *id = jwt_result_identity(r);
    assert_int_equal(id->group_count, 2);
    assert_string_equal(id->groups[1], "oidc:ops");
    caller_identity_free(id);
    jwt_result_unref(r);

    /* Another claim: "<issuer>#" by default; an explicit prefix; "-" for none. */
    f->policy.username_claim = "preferred_username";
    f->policy.groups_claim = "roles";
    f->policy.groups_prefix = NULL;
    validator(f);
    r = accepted(f, strdup(t));
    assert_string_equal(r->username, ISS "#alice");
    assert_int_equal(r->group_count, 1);
    assert_string_equal(r->groups[0], "admin");
    jwt_result_unref(r);
    f->policy.username_prefix = "oidc:";
    validator(f);
    r = accepted(f, strdup(t));
    assert_string_equal(r->username, "oidc:alice");
    jwt_result_unref(r);
    f->policy.username_prefix = "-";
    validator(f);
    r = accepted(f, strdup(t));
    assert_string_equal(r->username, "alice");
    jwt_result_unref(r);

    /* The claim missing from the token. */
    f->policy.username_claim = "upn";
    validator(f);
    refused(f, strdup(t), "username claim missing");
    free(t);

    /* An unverified email is not a username; groups of the wrong type refuse the token. */
    f->policy.username_claim = "email";
    f->policy.username_prefix = NULL;
    validator(f);
    json_object_set_new(c, "email_verified", json_false());
    refused(f, sign(rsa1, "RS256", "rsa1", json_deep_copy(c)), "email not verified");
    json_object_set_new(c, "email_verified", json_true());
    json_object_set_new(c, "groups", json_pack("[s,i]", "dev", 1));
    f->policy.groups_claim = "groups";
    validator(f);
    refused(f, sign(rsa1, "RS256", "rsa1", json_deep_copy(c)), "invalid groups claim");
    json_decref(c);
}

/* ---- policy ---- */

static void test_policy_refusals(void **state) {
    fixture *f = *state;
    jwt_validator *v = NULL;
    error_info err = {0};
    jwt_policy p = f->policy;
    static const char *const with_none[] = {"RS256", "none", NULL};
    static const char *const with_hs[] = {"HS256", NULL};
    static const char *const with_bogus[] = {"RS1", NULL};
    static const char *const empty[] = {NULL};
    p.algorithms = with_none;
    assert_int_equal(jwt_validator_new(&p, f->keys, &v, &err), -EINVAL);
    assert_non_null(strstr(err.message, "none"));
    p.algorithms = with_hs;
    assert_int_equal(jwt_validator_new(&p, f->keys, &v, &err), -EINVAL);
    assert_non_null(strstr(err.message, "no shared secret"));
    p.hs256_secret = (const unsigned char *)"short";
    p.hs256_secret_len = 5;
    assert_int_equal(jwt_validator_new(&p, f->keys, &v, &err), -EINVAL);
    assert_non_null(strstr(err.message, "at least 32"));
    p.hs256_secret = (const unsigned char *)SECRET;
    p.hs256_secret_len = strlen(SECRET);
    assert_int_equal(jwt_validator_new(&p, NULL, &v, &err), 0); /* HS256 only: no JWKS needed */
    v = jwt_validator_free(v);
    p.algorithms = with_bogus;
    assert_int_equal(jwt_validator_new(&p, f->keys, &v, &err), -EINVAL);
    p.algorithms = NULL;
    p.audiences = empty;
    assert_int_equal(jwt_validator_new(&p, f->keys, &v, &err), -EINVAL);
    assert_non_null(strstr(err.message, "audience"));
    p.audiences = audiences;
    p.issuer = "";
    assert_int_equal(jwt_validator_new(&p, f->keys, &v, &err), -EINVAL);
    p.issuer = ISS;
    p.hs256_secret = NULL;
    p.hs256_secret_len = 0;
    assert_int_equal(jwt_validator_new(&p, NULL, &v, &err), -EINVAL);
    assert_null(v);
}

static void test_validate_once(void **state) {
    fixture *f = *state;
    jwt_result *r = NULL;
    error_info err = {0};
    char *t = sign(ec256, "ES256", "ec256", claims_default());
    assert_int_equal(jwt_validate_once(t, &f->policy, f->keys, NOW, &r, &err), 0);
    jwt_result_unref(r);
    assert_int_equal(jwt_validate_once(t, &f->policy, f->keys, NOW + 3600, &r, &err), -EACCES);
    assert_string_equal(err.message, "token expired");
    free(t);
}

/* ---- the verified-token cache ---- */

static void test_cache_hit_and_expiry(void **state) {
    fixture *f = *state;
    jwt_validator *v = validator(f);
    char *t = sign(rsa1, "RS256", "rsa1", claims_with("exp", json_integer(NOW + 100)));
    assert_false(jwt_validator_cached(v, t));
    assert_false(jwt_validator_needs_network(v, t)); /* static keys */
    jwt_result *a = accepted(f, strdup(t));
    assert_true(jwt_validator_cached(v, t));
    jwt_result *b = accepted(f, strdup(t));
    assert_ptr_equal(a, b); /* the same shared result */
    jwt_cache_stats s = jwt_validator_stats(v);
    assert_int_equal(s.hits, 1);
    assert_int_equal(s.misses, 1);
    assert_int_equal(s.entries, 1);
    jwt_result_unref(a);
    jwt_result_unref(b);
    /* The entry lives no longer than the token: past exp the token is validated again (and, past the
     * skew, refused). */
    test_time = NOW + 100;
    assert_false(jwt_validator_cached(v, t));
    accepted_drop(f, strdup(t)); /* within the 60 s skew */
    test_time = NOW + 161;
    refused(f, t, "token expired");
}

static void test_cache_max_ttl(void **state) {
    fixture *f = *state;
    f->policy.cache_max_ttl_seconds = 10;
    jwt_validator *v = validator(f);
    char *t = sign(rsa1, "RS256", "rsa1", claims_default());
    accepted_drop(f, strdup(t));
    test_time = NOW + 9;
    assert_true(jwt_validator_cached(v, t));
    test_time = NOW + 10;
    assert_false(jwt_validator_cached(v, t));
    accepted_drop(f, t);
    assert_int_equal(jwt_validator_stats(v).misses, 2);
}

static void test_cache_bounded(void **state) {
    fixture *f = *state;
    f->policy.cache_max_entries = 4;
    jwt_validator *v = validator(f);
    for (int i = 0; i < 10; i++) {
        char sub[16];
        snprintf(sub, sizeof sub, "user%d", i);
        accepted_drop(f, sign(ec256, "ES256", "ec256", claims_with("sub", json_string(sub))));
        assert_true(jwt_validator_stats(v).entries <= 4);
    }
    assert_int_equal(jwt_validator_stats(v).entries, 4);
}

static void test_refusal_not_cached(void **state) {
    fixture *f = *state;
    jwt_validator *v = validator(f);
    char *t = sign(rsa1, "RS256", "rsa1", claims_with("aud", json_string("other")));
    refused(f, strdup(t), "audience mismatch");
    assert_false(jwt_validator_cached(v, t));
    refused(f, t, "audience mismatch");
    assert_int_equal(jwt_validator_stats(v).entries, 0);
}

/* ---- key rotation through a served JWKS ---- */

typedef struct idp {
    pthread_mutex_t lock;
    char *jwks;
    int fetches;
} idp;

static void idp_handler(const ts_request *req, ts_reply *reply, void *ctx) {
    idp *s = ctx;
    pthread_mutex_lock(&s->lock);
    if (strcmp(req->target, "/jwks") == 0) {
        s->fetches++;
        ts_reply_text(reply, 200, s->jwks);
    } else {
        ts_reply_text(reply, 404, "{}");
    }
    pthread_mutex_unlock(&s->lock);
}

/* Serves a JWKS holding rsa1 as kid "2024-01" from a local IdP and makes f use it (fetched). */
static test_server *serve_rsa1(fixture *f, idp *s) {
    char *one[] = {public_jwk(rsa1, "2024-01", "sig", NULL)};
    s->jwks = jwks_of(1, one);
    test_server *server = test_server_start(idp_handler, s);
    char uri[128];
    snprintf(uri, sizeof uri, "http://127.0.0.1:%d/jwks", server->port);
    jwks_options o = {.jwks_uri = uri, .http = {.allow_http = true}};
    jwks_cache *keys = NULL;
    error_info err = {0};
    assert_int_equal(jwks_cache_new(&o, &keys, &err), 0);
    jwks_cache_set_clock(keys, test_now);
    jwks_cache_free(f->keys);
    f->keys = keys;
    return server;
}

static void test_key_rotation(void **state) {
    fixture *f = *state;
    idp s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    test_server *server = serve_rsa1(f, &s);
    jwt_validator *v = validator(f);

    char *old_token = sign(rsa1, "RS256", "2024-01", claims_default());
    assert_true(jwt_validator_needs_network(v, old_token)); /* nothing fetched yet */
    accepted_drop(f, strdup(old_token));
    assert_int_equal(s.fetches, 1);

    /* The IdP rotates: a token with the new kid arrives. One refetch finds it. */
    pthread_mutex_lock(&s.lock);
    free(s.jwks);
    char *two[] = {public_jwk(rsa1, "2024-01", "sig", NULL), public_jwk(rsa_new, "2024-02", "sig", NULL)};
    s.jwks = jwks_of(2, two);
    pthread_mutex_unlock(&s.lock);
    test_time = NOW + 31;
    char *new_token = sign(rsa_new, "RS256", "2024-02", claims_default());
    assert_true(jwt_validator_needs_network(v, new_token));
    accepted_drop(f, new_token);
    assert_int_equal(s.fetches, 2);

    /* Made-up kids right after: refused from the cache, no request reaches the IdP. */
    for (int i = 0; i < 20; i++) {
        char kid[16];
        snprintf(kid, sizeof kid, "bogus-%d", i);
        refused(f, sign(rsa1, "RS256", kid, claims_default()), "unknown signing key");
    }
    assert_int_equal(s.fetches, 2);
    /* After the interval, one more refetch is allowed. */
    test_time = NOW + 62;
    refused(f, sign(rsa1, "RS256", "bogus-again", claims_default()), "unknown signing key");
    assert_int_equal(s.fetches, 3);
    /* The old key is still served: its token stays valid (from the cache, too). */
    accepted_drop(f, old_token);

    jwt_validator_free(f->v);
    f->v = NULL;
    test_server_stop(server);
    free(s.jwks);
}

/* A token verified (and cached) before its key was rotated out of the JWKS is not accepted from the
 * cache afterwards (found by the e2e hostile-token matrix: it was, until the cache's own TTL). */
static void test_removed_key_drops_cached_tokens(void **state) {
    fixture *f = *state;
    idp s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    test_server *server = serve_rsa1(f, &s);
    jwt_validator *v = validator(f);

    char *old_token = sign(rsa1, "RS256", "2024-01", claims_default());
    accepted_drop(f, strdup(old_token));
    assert_true(jwt_validator_cached(v, old_token));

    /* The IdP replaces the key; a token of the new key makes kubemcp refetch. */
    pthread_mutex_lock(&s.lock);
    free(s.jwks);
    char *two[] = {public_jwk(rsa_new, "2024-02", "sig", NULL)};
    s.jwks = jwks_of(1, two);
    pthread_mutex_unlock(&s.lock);
    test_time = NOW + 31;
    char *new_token = sign(rsa_new, "RS256", "2024-02", claims_default());
    accepted_drop(f, strdup(new_token));
    assert_int_equal(s.fetches, 2);

    /* The old token was cached, but its key is gone: refused, and not counted as a hit. */
    assert_false(jwt_validator_cached(v, old_token));
    unsigned long long hits = jwt_validator_stats(v).hits;
    refused(f, old_token, "unknown signing key");
    assert_int_equal(jwt_validator_stats(v).hits, hits);
    /* The new key's token was verified by the very lookup that removed the old key, so it is
     * verified once more (the cache errs on the side of checking), then served from the cache. */
    assert_false(jwt_validator_cached(v, new_token));
    accepted_drop(f, strdup(new_token));
    assert_true(jwt_validator_cached(v, new_token));
    accepted_drop(f, new_token);
    assert_int_equal(jwt_validator_stats(v).hits, hits + 1);

    jwt_validator_free(f->v);
    f->v = NULL;
    test_server_stop(server);
    free(s.jwks);
}

static void test_keys_unavailable_is_not_a_refusal(void **state) {
    fixture *f = *state;
    jwks_options o = {.jwks_uri = "http://127.0.0.1:1/jwks", .http = {.allow_http = true, .timeout_seconds = 2}};
    jwks_cache *keys = NULL;
    error_info err = {0};
    assert_int_equal(jwks_cache_new(&o, &keys, &err), 0);
    jwks_cache_free(f->keys);
    f->keys = keys;
    jwt_validator *v = validator(f);
    jwt_result *r = NULL;
    char *t = sign(rsa1, "RS256", "rsa1", claims_default());
    assert_int_equal(jwt_validate(v, t, &r, &err), -EAGAIN);
    assert_non_null(strstr(err.message, "unreachable"));
    assert_null(strstr(err.message, t));
    free(t);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(test_alg_none),
        T(test_alg_none_variants),
        T(test_alg_missing),
        T(test_alg_not_on_allowlist),
        T(test_alg_unsupported),
        T(test_hs256_confusion_without_secret),
        T(test_hs256_confusion_with_secret),
        T(test_hs256_without_secret),
        T(test_hs256_with_secret_accepted),
        T(test_rs256_accepted),
        T(test_rs384_rs512_accepted),
        T(test_ps256_accepted),
        T(test_es256_accepted),
        T(test_es384_accepted),
        T(test_no_kid_single_fitting_key),
        T(test_unknown_kid),
        T(test_kid_not_a_string),
        T(test_kid_of_wrong_kty),
        T(test_kid_of_wrong_curve),
        T(test_jwk_alg_mismatch),
        T(test_jwks_key_use_enc),
        T(test_jwks_oct_and_okp_keys_ignored),
        T(test_embedded_jwk_ignored),
        T(test_tampered_payload),
        T(test_tampered_signature),
        T(test_truncated_signature),
        T(test_signature_of_other_key),
        T(test_wrong_iss),
        T(test_iss_trailing_slash),
        T(test_wrong_aud),
        T(test_aud_array_without_ours),
        T(test_aud_array_with_ours),
        T(test_expired),
        T(test_expired_within_skew),
        T(test_exp_missing),
        T(test_exp_as_string),
        T(test_exp_real_accepted),
        T(test_nbf_in_future),
        T(test_nbf_within_skew),
        T(test_iat_in_future),
        T(test_no_skew_configured),
        T(test_missing_sub),
        T(test_duplicate_claims),
        T(test_crit_header),
        T(test_no_token),
        T(test_five_segments),
        T(test_two_segments),
        T(test_empty_segment),
        T(test_bad_base64),
        T(test_noncanonical_base64),
        T(test_padding),
        T(test_oversized),
        T(test_non_json_header),
        T(test_header_not_object),
        T(test_payload_not_object),
        T(test_typ_required_missing),
        T(test_typ_wrong),
        T(test_typ_at_jwt_accepted),
        T(test_scope_string),
        T(test_scp_array),
        T(test_username_and_groups_mapping),
        T(test_policy_refusals),
        T(test_validate_once),
        T(test_cache_hit_and_expiry),
        T(test_cache_max_ttl),
        T(test_cache_bounded),
        T(test_refusal_not_cached),
        T(test_key_rotation),
        T(test_removed_key_drops_cached_tokens),
        T(test_keys_unavailable_is_not_a_refusal),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
