/* jwt_validate — the cost of kubemcp's OIDC access-token check, measured inside one process so that
 * nothing else (HTTP, JSON-RPC, tools) is in the number.
 *
 *   kubemcp-bench-jwt [TOKENS [ROUNDS]]     (defaults: 1000 tokens, 200 rounds)
 *
 * It makes an RSA-2048 key and a JWKS holding its public half, then signs TOKENS distinct RS256
 * access tokens shaped like the ones the e2e IdP issues (iss, aud, sub, groups, scope, exp, iat, jti,
 * typ at+jwt). Three figures, each as CPU time of this thread (CLOCK_THREAD_CPUTIME_ID) per token:
 *   fresh    — jwt_validate on a validator that has never seen the token: parse, RS256 verify,
 *              claim checks, identity mapping, cache insert (what a request with a new token pays);
 *   seen     — jwt_validate of tokens already in the cache, ROUNDS passes over all TOKENS
 *              (SHA-256 of the token and a lookup: what every further request with it pays);
 *   uncached — jwt_validate_once (the same checks with no cache, for reference).
 * Prints one JSON object on stdout. Exit status 1 if any token is refused (the numbers would be
 * meaningless) or on a setup error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjose/cjose.h>
#include <jansson.h>

#include "gate/jwks.h"
#include "gate/jwt.h"

#define ISSUER "https://idp.bench.test"
#define AUDIENCE "https://kubemcp.bench.test/mcp"
#define KEY_ID "bench-key-1"

static double thread_cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *detail) {
    fprintf(stderr, "kubemcp-bench-jwt: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

/* A public JWKS document {"keys":[<public JWK with kid, alg, use>]} for key. */
static char *public_jwks(cjose_jwk_t *key) {
    cjose_err cerr;
    char *jwk_text = cjose_jwk_to_json(key, false, &cerr);
    if (!jwk_text)
        die("cannot export the public key", cerr.message);
    json_error_t jerr;
    json_t *jwk = json_loads(jwk_text, 0, &jerr);
    free(jwk_text);
    if (!jwk || json_object_set_new(jwk, "kid", json_string(KEY_ID)) < 0 ||
        json_object_set_new(jwk, "alg", json_string("RS256")) < 0 || json_object_set_new(jwk, "use", json_string("sig")) < 0)
        die("cannot build the JWK", NULL);
    json_t *set = json_pack("{s:[o]}", "keys", jwk);
    char *text = set ? json_dumps(set, JSON_COMPACT) : NULL;
    json_decref(set);
    if (!text)
        die("cannot build the JWKS", NULL);
    return text;
}

static char *sign_token(cjose_jwk_t *key, long long now, size_t serial) {
    char jti[32];
    snprintf(jti, sizeof jti, "bench-%zu", serial);
    json_t *claims = json_pack("{s:s, s:s, s:s, s:[s,s], s:s, s:I, s:I, s:s, s:s}", "iss", ISSUER, "aud", AUDIENCE,
                               "sub", "carol", "groups", "viewers", "developers", "scope", "openid mcp:read mcp:write",
                               "exp", (json_int_t)(now + 3600), "iat", (json_int_t)now, "client_id", "kubemcp-bench",
                               "jti", jti);
    if (!claims)
        die("cannot build the claims", NULL);
    char *payload = json_dumps(claims, JSON_COMPACT);
    json_decref(claims);
    cjose_err cerr;
    cjose_header_t *hdr = cjose_header_new(&cerr);
    if (!payload || !hdr || !cjose_header_set(hdr, CJOSE_HDR_ALG, "RS256", &cerr) ||
        !cjose_header_set(hdr, CJOSE_HDR_KID, KEY_ID, &cerr) || !cjose_header_set(hdr, "typ", "at+jwt", &cerr))
        die("cannot build the JWS header", cerr.message);
    cjose_jws_t *jws = cjose_jws_sign(key, hdr, (const uint8_t *)payload, strlen(payload), &cerr);
    const char *compact = NULL;
    if (!jws || !cjose_jws_export(jws, &compact, &cerr))
        die("cannot sign a token", cerr.message);
    char *out = strdup(compact);
    cjose_jws_release(jws);
    cjose_header_release(hdr);
    free(payload);
    if (!out)
        die("out of memory", NULL);
    return out;
}

static unsigned long parse_count(const char *arg, const char *what, unsigned long max) {
    char *end;
    errno = 0;
    unsigned long n = strtoul(arg, &end, 10);
    if (errno || *end || n == 0 || n > max) {
        fprintf(stderr, "kubemcp-bench-jwt: %s must be a whole number from 1 to %lu\n", what, max);
        exit(2);
    }
    return n;
}

static void validate_or_die(jwt_validator *v, const char *token) {
    error_info err = {0};
    jwt_result *r = NULL;
    if (jwt_validate(v, token, &r, &err) < 0)
        die("a token was refused", err.message);
    jwt_result_unref(r);
}

int main(int argc, char **argv) {
    if (argc > 3 || (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))) {
        fprintf(stderr, "usage: kubemcp-bench-jwt [TOKENS [ROUNDS]]\n");
        return 2;
    }
    size_t tokens = argc > 1 ? parse_count(argv[1], "TOKENS", 100000) : 1000;
    size_t rounds = argc > 2 ? parse_count(argv[2], "ROUNDS", 100000) : 200;

    static const uint8_t exponent[] = {0x01, 0x00, 0x01};
    cjose_err cerr;
    cjose_jwk_t *key = cjose_jwk_create_RSA_random(2048, exponent, sizeof exponent, &cerr);
    if (!key)
        die("cannot generate an RSA key", cerr.message);
    char *jwks_text = public_jwks(key);
    jwks_cache *keys = NULL;
    error_info err = {0};
    if (jwks_cache_new_static(jwks_text, strlen(jwks_text), &keys, &err) < 0)
        die("the JWKS was refused", err.message);

    long long now = (long long)time(NULL);
    char **token = calloc(tokens, sizeof *token);
    if (!token)
        die("out of memory", NULL);
    for (size_t i = 0; i < tokens; i++)
        token[i] = sign_token(key, now, i);

    static const char *const audiences[] = {AUDIENCE, NULL};
    static const char *const algorithms[] = {"RS256", NULL};
    jwt_policy policy = {.issuer = ISSUER, .audiences = audiences, .algorithms = algorithms,
                         .clock_skew_seconds = 60, .require_at_jwt_typ = true, .groups_claim = "groups",
                         .groups_prefix = "oidc:", .cache_max_entries = tokens};
    jwt_validator *v = NULL;
    if (jwt_validator_new(&policy, keys, &v, &err) < 0)
        die("the policy was refused", err.message);

    double t0 = thread_cpu_seconds();
    for (size_t i = 0; i < tokens; i++)
        validate_or_die(v, token[i]);
    double fresh = thread_cpu_seconds() - t0;

    t0 = thread_cpu_seconds();
    for (size_t r = 0; r < rounds; r++)
        for (size_t i = 0; i < tokens; i++)
            validate_or_die(v, token[i]);
    double seen = thread_cpu_seconds() - t0;
    jwt_cache_stats stats = jwt_validator_stats(v);

    t0 = thread_cpu_seconds();
    for (size_t i = 0; i < tokens; i++) {
        jwt_result *r = NULL;
        if (jwt_validate_once(token[i], &policy, keys, now, &r, &err) < 0)
            die("a token was refused (uncached)", err.message);
        jwt_result_unref(r);
    }
    double uncached = thread_cpu_seconds() - t0;

    printf("{\"tokens\":%zu,\"rounds\":%zu,\"token_bytes\":%zu,\"alg\":\"RS256\",\"key_bits\":2048,"
           "\"fresh_us\":%.3f,\"seen_us\":%.4f,\"uncached_us\":%.3f,\"cache_hits\":%llu,\"cache_misses\":%llu}\n",
           tokens, rounds, strlen(token[0]), fresh / (double)tokens * 1e6,
           seen / (double)(tokens * rounds) * 1e6, uncached / (double)tokens * 1e6, stats.hits, stats.misses);

    for (size_t i = 0; i < tokens; i++)
        free(token[i]);
    free(token);
    jwt_validator_free(v);
    jwks_cache_free(keys);
    free(jwks_text);
    cjose_jwk_release(key);
    return 0;
}
