/* libFuzzer target: JWT access-token validation with a static JWKS, and JWKS parsing.
 * The first byte picks the mode:
 *   0: the rest is a compact token, validated through a validator (with its cache) and once more
 *      without it; both must agree.
 *   1: the rest is "header JSON \n payload JSON"; the target signs it with the configured HS256
 *      secret, so mutations reach the claim checks behind the signature.
 *   2: the rest is a JWKS document for jwks_cache_new_static, then looked up.
 * Invariants besides memory safety: a refusal has a reason and the reason never contains token
 * material; an accepted token has a subject and username and is not expired.
 * Build: clang -fsanitize=fuzzer,address,undefined (KUBEMCP_FUZZ=ON), or by hand with the sources
 * src/gate/{jwt,jwks,identity}.c src/core/{error_info,buf}.c -lcjose -ljansson -lcrypto -lcurl. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/base64.h"
#include "gate/jwks.h"
#include "gate/jwt.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1700000000LL
#define SECRET "fuzz-secret-fuzz-secret-fuzz-secret!"

static jwks_cache *keys;
static jwt_validator *validator;
static const char *const audiences[] = {"https://mcp.example.com/mcp", "client", NULL};
static jwt_policy policy;

static long long fixed_now(void) {
    return NOW;
}

static char *jwk_text(const cjose_jwk_t *k, const char *kid) {
    cjose_err cerr;
    char *text = cjose_jwk_to_json(k, false, &cerr);
    json_t *j = json_loads(text, 0, NULL);
    free(text);
    json_object_set_new(j, "kid", json_string(kid));
    char *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return out;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    static const uint8_t e[] = {1, 0, 1};
    cjose_err cerr;
    cjose_jwk_t *rsa = cjose_jwk_create_RSA_random(2048, e, sizeof e, &cerr);
    cjose_jwk_t *ec = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &cerr);
    char *a = jwk_text(rsa, "r");
    char *b = jwk_text(ec, "e");
    char set[8192];
    snprintf(set, sizeof set, "{\"keys\":[%s,%s]}", a, b);
    free(a);
    free(b);
    cjose_jwk_release(rsa);
    cjose_jwk_release(ec);
    error_info err = {0};
    if (jwks_cache_new_static(set, strlen(set), &keys, &err) < 0)
        abort();
    policy = (jwt_policy){
        .issuer = "https://idp.example.com",
        .audiences = audiences,
        .clock_skew_seconds = 30,
        .hs256_secret = (const unsigned char *)SECRET,
        .hs256_secret_len = strlen(SECRET),
        .groups_claim = "groups",
        .groups_prefix = "oidc:",
        .cache_max_entries = 32,
    };
    if (jwt_validator_new(&policy, keys, &validator, &err) < 0)
        abort();
    jwt_validator_set_clock(validator, fixed_now);
    return 0;
}

static void check_result(int r, jwt_result *res, const error_info *err, const char *token) {
    if (r == 0) {
        if (!res || !res->subject || !*res->subject || !res->username || !*res->username || !res->groups ||
            !res->scopes || !res->claims || res->exp <= NOW - 30)
            abort();
        for (size_t i = 0; i < res->group_count; i++)
            if (strncmp(res->groups[i], "oidc:", 5) != 0)
                abort();
        caller_identity *id = jwt_result_identity(res);
        if (!id)
            abort();
        caller_identity_free(id);
        return;
    }
    if (res || !err->message[0])
        abort();
    /* A reason is one of a fixed set of phrases: nothing from the token can reach it. */
    static const char *const reasons[] = {
        "algorithm missing", "algorithm not allowed", "audience mismatch", "email not verified",
        "encrypted tokens (JWE) are not accepted", "expiry (exp) missing", "invalid exp claim",
        "invalid groups claim", "invalid iat claim", "invalid nbf claim", "issuer mismatch", "malformed token",
        "malformed token (bad base64url)", "malformed token (base64url padding)", "malformed token (empty segment)",
        "malformed token (header is not a JSON object)", "malformed token (payload is not a JSON object)", "no token",
        "signature invalid", "signing key does not fit the algorithm", "subject (sub) missing", "token expired",
        "token issued in the future", "token not yet valid", "token too large", "token type not accepted",
        "token type not at+jwt", "token type (typ) missing", "unknown signing key", "unsupported critical header",
        "username claim missing",
    };
    (void)token;
    for (size_t i = 0; i < sizeof reasons / sizeof *reasons; i++)
        if (strcmp(err->message, reasons[i]) == 0)
            return;
    fprintf(stderr, "unexpected reason: %s\n", err->message);
    abort();
}

static void validate_both(const char *token) {
    jwt_result *res = NULL;
    error_info err = {0};
    int r = jwt_validate(validator, token, &res, &err);
    check_result(r, res, &err, token);
    jwt_result *res2 = NULL;
    error_info err2 = {0};
    int r2 = jwt_validate_once(token, &policy, keys, NOW, &res2, &err2);
    check_result(r2, res2, &err2, token);
    if ((r == 0) != (r2 == 0))
        abort();
    jwt_result_unref(res);
    jwt_result_unref(res2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0 || size > 20000)
        return 0;
    uint8_t mode = data[0] % 3;
    data++;
    size--;
    if (mode == 0) {
        char *token = malloc(size + 1);
        memcpy(token, data, size);
        token[size] = '\0';
        validate_both(token);
        free(token);
    } else if (mode == 1) {
        const uint8_t *nl = memchr(data, '\n', size);
        size_t hl = nl ? (size_t)(nl - data) : size;
        char *h = base64url_encode(data, hl);
        char *p = base64url_encode(nl ? nl + 1 : data + size, nl ? size - hl - 1 : 0);
        size_t n = strlen(h) + strlen(p) + 2;
        char *signing_input = malloc(n);
        snprintf(signing_input, n, "%s.%s", h, p);
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mac_len = 0;
        HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (const unsigned char *)signing_input, strlen(signing_input), mac,
             &mac_len);
        char *s = base64url_encode(mac, mac_len);
        size_t tn = n + strlen(s) + 1;
        char *token = malloc(tn);
        snprintf(token, tn, "%s.%s", signing_input, s);
        validate_both(token);
        free(token);
        free(s);
        free(signing_input);
        free(h);
        free(p);
    } else {
        jwks_cache *c = NULL;
        error_info err = {0};
        if (jwks_cache_new_static((const char *)data, size, &c, &err) == 0) {
            static const char *const algs[] = {"RS256", "PS256", "ES256", "ES384", "ES512", "HS256"};
            for (size_t i = 0; i < sizeof algs / sizeof *algs; i++) {
                jwks_key *k = NULL;
                if (jwks_cache_get_key(c, NULL, algs[i], &k, &err) == 0) {
                    if (!jwks_key_jwk(k) || !jwks_key_fits_alg(k, algs[i]))
                        abort();
                    jwks_key_unref(k);
                }
            }
            jwks_cache_free(c);
        } else if (!err.message[0]) {
            abort();
        }
    }
    return 0;
}
