#include "gate/jwt.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjose/cjose.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "core/base64.h"
#include "core/strv.h"

/* Algorithms this module can verify, with the static names results point at. */
static const char *const supported_algs[] = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                             "PS512", "ES256", "ES384", "ES512", "HS256"};
static const char *const default_algs[] = {"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", NULL};
static const char *const default_algs_hs[] = {"RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "HS256", NULL};

/* A reference-counted result; the public struct comes first so a jwt_result * is one of these. */
typedef struct result_box {
    jwt_result pub;
    atomic_int refs;
} result_box;

typedef struct cache_entry {
    struct cache_entry *next;
    unsigned char key[SHA256_DIGEST_LENGTH];
    jwt_result *result;
    long long expires;
    unsigned long long generation; /* of the key set the token was verified against */
} cache_entry;

struct jwt_validator {
    jwt_policy policy; /* every pointer below is an owned copy */
    char **audiences;
    char **algorithms;
    unsigned char *secret;
    cjose_jwk_t *hs_key;
    jwks_cache *keys; /* borrowed */
    long long (*now)(void);

    pthread_mutex_t lock;
    cache_entry **buckets;
    size_t bucket_count; /* a power of two */
    size_t count;
    jwt_cache_stats stats;
};

static long long real_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec;
}

static int refuse(error_info *err, const char *reason) {
    return error_set(err, EACCES, "%s", reason);
}

static const char *supported_name(const char *alg) {
    for (size_t i = 0; i < sizeof supported_algs / sizeof *supported_algs; i++)
        if (strcmp(alg, supported_algs[i]) == 0)
            return supported_algs[i];
    return NULL;
}

/* ---- strict base64url (RFC 7515 §2), core/base64.h ---- */

static int b64url_check(const char *in, size_t len) {
    unsigned char *tmp = NULL;
    size_t n;
    int r = base64url_decode_strict(in, len, &tmp, &n);
    free(tmp);
    return r;
}

/* A JSON object from one segment, or NULL. Duplicate members are refused: two readers of the same
 * token must never see different claims. */
static json_t *segment_json(const char *seg, size_t len, int *ret_r) {
    unsigned char *raw = NULL;
    size_t n = 0;
    *ret_r = base64url_decode_strict(seg, len, &raw, &n);
    if (*ret_r < 0)
        return NULL;
    json_t *j = json_loadb((const char *)raw, n, JSON_REJECT_DUPLICATES, NULL);
    free(raw);
    if (!json_is_object(j)) {
        json_decref(j);
        *ret_r = -EBADMSG;
        return NULL;
    }
    return j;
}

/* ---- claims ---- */

/* A NumericDate (RFC 7519 §2): 0 and the value, -EINVAL when not a number. */
static int numeric_date(json_t *v, long long *ret) {
    if (json_is_integer(v)) {
        *ret = json_integer_value(v);
        return 0;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!isfinite(d))
            return -EINVAL;
        if (d > 9e18)
            d = 9e18;
        if (d < -9e18)
            d = -9e18;
        /* floor without libm (the one function kubemcp used from it): truncate, then step down
         * for negative fractions. d is within long long range here. */
        long long t = (long long)d;
        *ret = (double)t > d ? t - 1 : t;
        return 0;
    }
    return -EINVAL;
}

static bool audience_ok(json_t *aud, const char *const *audiences) {
    for (size_t i = 0; audiences[i]; i++) {
        if (json_is_string(aud) && strcmp(json_string_value(aud), audiences[i]) == 0)
            return true;
        if (json_is_array(aud)) {
            size_t k;
            json_t *a;
            json_array_foreach(aud, k, a) {
                if (json_is_string(a) && strcmp(json_string_value(a), audiences[i]) == 0)
                    return true;
            }
        }
    }
    return false;
}

static bool typ_is_at_jwt(const char *typ) {
    return typ && (strcasecmp(typ, "at+jwt") == 0 || strcasecmp(typ, "application/at+jwt") == 0);
}

/* A NULL-terminated string array being built. */
typedef struct strv {
    char **v;
    size_t n;
    size_t cap;
} strv;

static int strv_add(strv *s, const char *prefix, const char *value, size_t value_len) {
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        char **nv = realloc(s->v, cap * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        s->v = nv;
        s->cap = cap;
    }
    size_t pl = prefix ? strlen(prefix) : 0;
    char *e = malloc(pl + value_len + 1);
    if (!e)
        return -ENOMEM;
    if (pl)
        memcpy(e, prefix, pl);
    memcpy(e + pl, value, value_len);
    e[pl + value_len] = '\0';
    s->v[s->n++] = e;
    s->v[s->n] = NULL;
    return 0;
}

/* Ensures a non-NULL, NULL-terminated (possibly empty) array. */
static int strv_finish(strv *s) {
    if (!s->v) {
        s->v = calloc(1, sizeof *s->v);
        if (!s->v)
            return -ENOMEM;
    }
    return 0;
}

static int split_spaces(strv *s, const char *text) {
    const char *p = text;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *start = p;
        while (*p && *p != ' ')
            p++;
        if (p > start && strv_add(s, NULL, start, (size_t)(p - start)) < 0)
            return -ENOMEM;
    }
    return 0;
}

static void result_free(jwt_result *r) {
    if (!r)
        return;
    free(r->subject);
    free(r->username);
    strv_free(r->groups);
    strv_free(r->scopes);
    json_decref(r->claims);
    free(r);
}

jwt_result *jwt_result_ref(jwt_result *r) {
    if (r)
        atomic_fetch_add_explicit(&((result_box *)r)->refs, 1, memory_order_relaxed);
    return r;
}

jwt_result *jwt_result_unref(jwt_result *r) {
    if (r && atomic_fetch_sub_explicit(&((result_box *)r)->refs, 1, memory_order_acq_rel) == 1)
        result_free(r);
    return NULL;
}

bool jwt_result_has_scope(const jwt_result *r, const char *scope) {
    for (size_t i = 0; r && scope && i < r->scope_count; i++)
        if (strcmp(r->scopes[i], scope) == 0)
            return true;
    return false;
}

caller_identity *jwt_result_identity(const jwt_result *r) {
    if (!r)
        return NULL;
    return caller_identity_new(r->username, NULL, (const char *const *)r->groups, r->group_count, "oidc");
}

/* Maps the verified claims to the result. 0, -EACCES with a reason, or -ENOMEM. */
static int build_result(json_t *claims, const jwt_policy *p, const char *alg, long long exp, jwt_result **ret,
                        error_info *err) {
    const char *sub = json_string_value(json_object_get(claims, "sub"));
    if (!sub || !*sub)
        return refuse(err, "subject (sub) missing");

    const char *uclaim = p->username_claim && *p->username_claim ? p->username_claim : "sub";
    json_t *uval = json_object_get(claims, uclaim);
    if (!json_is_string(uval) || json_string_length(uval) == 0)
        return refuse(err, "username claim missing");
    bool is_email = strcmp(uclaim, "email") == 0;
    if (is_email) {
        /* kube-apiserver: an email claim counts only when email_verified is absent or true. */
        json_t *verified = json_object_get(claims, "email_verified");
        if (verified && !json_is_true(verified))
            return refuse(err, "email not verified");
    }

    result_box *box = calloc(1, sizeof *box);
    if (!box)
        return error_set(err, ENOMEM, "out of memory");
    atomic_init(&box->refs, 1);
    jwt_result *r = &box->pub;
    r->alg = alg;
    r->exp = exp;
    r->subject = strdup(sub);

    const char *prefix = p->username_prefix;
    char *default_prefix = NULL;
    if (!prefix) {
        if (is_email) {
            prefix = "";
        } else {
            size_t il = strlen(p->issuer);
            default_prefix = malloc(il + 2);
            if (default_prefix) {
                memcpy(default_prefix, p->issuer, il);
                memcpy(default_prefix + il, "#", 2);
            }
            prefix = default_prefix;
        }
    } else if (strcmp(prefix, "-") == 0) {
        prefix = "";
    }
    strv user = {0};
    if (prefix && strv_add(&user, prefix, json_string_value(uval), json_string_length(uval)) == 0) {
        r->username = user.v[0];
        free(user.v);
    }
    free(default_prefix);

    strv groups = {0};
    int rr = 0;
    if (p->groups_claim && *p->groups_claim) {
        json_t *g = json_object_get(claims, p->groups_claim);
        if (json_is_string(g)) {
            rr = strv_add(&groups, p->groups_prefix, json_string_value(g), json_string_length(g));
        } else if (json_is_array(g)) {
            size_t i;
            json_t *e;
            json_array_foreach(g, i, e) {
                if (!json_is_string(e)) {
                    rr = -EACCES;
                    break;
                }
                if ((rr = strv_add(&groups, p->groups_prefix, json_string_value(e), json_string_length(e))) < 0)
                    break;
            }
        } else if (g && !json_is_null(g)) {
            rr = -EACCES;
        }
    }
    if (rr == 0)
        rr = strv_finish(&groups);
    r->groups = groups.v;
    r->group_count = groups.n;

    strv scopes = {0};
    if (rr == 0) {
        json_t *scope = json_object_get(claims, "scope");
        json_t *scp = json_object_get(claims, "scp");
        if (json_is_string(scope)) {
            rr = split_spaces(&scopes, json_string_value(scope));
        } else if (json_is_string(scp)) {
            rr = split_spaces(&scopes, json_string_value(scp));
        } else if (json_is_array(scp)) {
            size_t i;
            json_t *e;
            json_array_foreach(scp, i, e) {
                if (json_is_string(e) && json_string_length(e) > 0 &&
                    (rr = strv_add(&scopes, NULL, json_string_value(e), json_string_length(e))) < 0)
                    break;
            }
        }
        if (rr == 0)
            rr = strv_finish(&scopes);
    }
    r->scopes = scopes.v;
    r->scope_count = scopes.n;
    r->claims = json_incref(claims);

    if (rr == -EACCES) {
        result_free(r);
        return refuse(err, "invalid groups claim");
    }
    if (rr < 0 || !r->subject || !r->username) {
        result_free(r);
        return error_set(err, ENOMEM, "out of memory");
    }
    *ret = r;
    return 0;
}

/* ---- validation ---- */

static bool alg_allowed(const char *alg, const char *const *algorithms, bool have_secret) {
    if (strcmp(alg, "HS256") == 0 && !have_secret)
        return false;
    for (size_t i = 0; algorithms[i]; i++)
        if (strcmp(algorithms[i], alg) == 0)
            return supported_name(alg) != NULL;
    return false;
}

static int validate(const char *token, const jwt_policy *p, const char *const *algorithms, jwks_cache *keys,
                    const cjose_jwk_t *hs_key, long long now, jwt_result **ret, error_info *err) {
    if (!token || !*token)
        return refuse(err, "no token");
    size_t len = strnlen(token, JWT_MAX_TOKEN_BYTES + 1);
    if (len > JWT_MAX_TOKEN_BYTES)
        return refuse(err, "token too large");
    const char *dots[5];
    size_t ndots = 0;
    for (size_t i = 0; i < len; i++) {
        if (token[i] == '.') {
            if (ndots == 4)
                return refuse(err, "malformed token");
            dots[ndots++] = token + i;
        }
    }
    if (ndots == 4)
        return refuse(err, "encrypted tokens (JWE) are not accepted");
    if (ndots != 2)
        return refuse(err, "malformed token");
    if (memchr(token, '=', len))
        return refuse(err, "malformed token (base64url padding)");
    const char *h = token, *pl = dots[0] + 1, *sig = dots[1] + 1;
    size_t hl = (size_t)(dots[0] - h), pll = (size_t)(dots[1] - pl), sl = (size_t)(token + len - sig);
    if (hl == 0 || pll == 0)
        return refuse(err, "malformed token (empty segment)");

    int r;
    json_t *header = segment_json(h, hl, &r);
    if (!header)
        return r == -ENOMEM ? error_set(err, ENOMEM, "out of memory")
                            : refuse(err, r == -EINVAL ? "malformed token (bad base64url)"
                                                       : "malformed token (header is not a JSON object)");
    json_t *payload = NULL;
    jwks_key *key = NULL;
    cjose_jws_t *jws = NULL;
    const char *alg_name = NULL;

    json_t *alg = json_object_get(header, "alg");
    if (!alg || !json_is_string(alg)) {
        r = refuse(err, "algorithm missing");
        goto out;
    }
    if (!alg_allowed(json_string_value(alg), algorithms, hs_key != NULL)) {
        r = refuse(err, "algorithm not allowed");
        goto out;
    }
    alg_name = supported_name(json_string_value(alg));
    if (json_object_get(header, "crit")) {
        r = refuse(err, "unsupported critical header");
        goto out;
    }
    json_t *typ = json_object_get(header, "typ");
    if (typ && !json_is_string(typ)) {
        r = refuse(err, "token type not accepted");
        goto out;
    }
    if (p->require_at_jwt_typ && !typ_is_at_jwt(json_string_value(typ))) {
        r = refuse(err, typ ? "token type not at+jwt" : "token type (typ) missing");
        goto out;
    }
    json_t *kid = json_object_get(header, "kid");
    if (kid && !json_is_string(kid)) {
        r = refuse(err, "unknown signing key");
        goto out;
    }
    if (sl == 0) {
        r = refuse(err, "malformed token (empty segment)");
        goto out;
    }
    if (b64url_check(sig, sl) < 0) {
        r = refuse(err, "malformed token (bad base64url)");
        goto out;
    }
    payload = segment_json(pl, pll, &r);
    if (!payload) {
        r = r == -ENOMEM ? error_set(err, ENOMEM, "out of memory")
                         : refuse(err, r == -EINVAL ? "malformed token (bad base64url)"
                                                    : "malformed token (payload is not a JSON object)");
        goto out;
    }

    /* The key: the configured secret for HS256 (never a JWKS key, whatever kid says), else the
     * JWKS key named by kid, which must fit the algorithm (no RSA key for ES256, no key for HS*). */
    const cjose_jwk_t *jwk = NULL;
    if (strcmp(alg_name, "HS256") == 0) {
        jwk = hs_key;
    } else {
        if (!keys) {
            r = refuse(err, "unknown signing key");
            goto out;
        }
        error_info kerr = {0};
        r = jwks_cache_get_key(keys, json_string_value(kid), alg_name, &key, &kerr);
        if (r == -EAGAIN) {
            error_set(err, EAGAIN, "%s", kerr.message);
            goto out;
        }
        if (r < 0) {
            r = refuse(err, "unknown signing key");
            goto out;
        }
        if (!jwks_key_fits_alg(key, alg_name)) {
            r = refuse(err, "signing key does not fit the algorithm");
            goto out;
        }
        jwk = jwks_key_jwk(key);
    }
    cjose_err cerr = {0};
    jws = cjose_jws_import(token, len, &cerr);
    if (!jws) {
        r = refuse(err, "malformed token");
        goto out;
    }
    if (!cjose_jws_verify(jws, jwk, &cerr)) {
        r = refuse(err, "signature invalid");
        goto out;
    }

    /* Claims, only now that they are authentic. */
    json_t *iss = json_object_get(payload, "iss");
    if (!json_is_string(iss) || strcmp(json_string_value(iss), p->issuer) != 0) {
        r = refuse(err, "issuer mismatch");
        goto out;
    }
    if (!audience_ok(json_object_get(payload, "aud"), p->audiences)) {
        r = refuse(err, "audience mismatch");
        goto out;
    }
    long long skew = p->clock_skew_seconds > 0 ? p->clock_skew_seconds : 0;
    long long exp = 0, nbf = 0, iat = 0;
    json_t *v = json_object_get(payload, "exp");
    if (!v) {
        r = refuse(err, "expiry (exp) missing");
        goto out;
    }
    if (numeric_date(v, &exp) < 0) {
        r = refuse(err, "invalid exp claim");
        goto out;
    }
    if (exp <= now - skew) {
        r = refuse(err, "token expired");
        goto out;
    }
    if ((v = json_object_get(payload, "nbf"))) {
        if (numeric_date(v, &nbf) < 0) {
            r = refuse(err, "invalid nbf claim");
            goto out;
        }
        if (nbf > now + skew) {
            r = refuse(err, "token not yet valid");
            goto out;
        }
    }
    if ((v = json_object_get(payload, "iat"))) {
        if (numeric_date(v, &iat) < 0) {
            r = refuse(err, "invalid iat claim");
            goto out;
        }
        if (iat > now + skew) {
            r = refuse(err, "token issued in the future");
            goto out;
        }
    }
    r = build_result(payload, p, alg_name, exp, ret, err);

out:
    if (jws)
        cjose_jws_release(jws);
    jwks_key_unref(key);
    json_decref(payload);
    json_decref(header);
    return r;
}

static cjose_jwk_t *hs_key_new(const jwt_policy *p) {
    if (!p->hs256_secret || p->hs256_secret_len < JWT_MIN_HS256_SECRET)
        return NULL;
    cjose_err cerr;
    return cjose_jwk_create_oct_spec(p->hs256_secret, p->hs256_secret_len, &cerr);
}

int jwt_validate_once(const char *token, const jwt_policy *policy, jwks_cache *keys, long long now, jwt_result **ret,
                      error_info *err) {
    if (!policy || !policy->issuer || !policy->audiences || !ret)
        return error_set(err, EINVAL, "no issuer or audience configured");
    cjose_jwk_t *hs = hs_key_new(policy);
    const char *const *algs = policy->algorithms ? policy->algorithms : hs ? default_algs_hs : default_algs;
    int r = validate(token, policy, algs, keys, hs, now, ret, err);
    if (hs)
        cjose_jwk_release(hs);
    return r;
}

/* ---- validator ---- */

int jwt_validator_new(const jwt_policy *policy, jwks_cache *keys, jwt_validator **ret, error_info *err) {
    if (!policy || !policy->issuer || !*policy->issuer)
        return error_set(err, EINVAL, "no OIDC issuer configured (set oidc_issuer_url)");
    size_t naud = 0;
    for (size_t i = 0; policy->audiences && policy->audiences[i]; i++)
        naud += policy->audiences[i][0] != '\0';
    if (naud == 0)
        return error_set(err, EINVAL, "no audience configured (set oauth_audience or oidc_client_id)");
    bool secret = policy->hs256_secret && policy->hs256_secret_len > 0;
    if (secret && policy->hs256_secret_len < JWT_MIN_HS256_SECRET)
        return error_set(err, EINVAL, "the HS256 shared secret is %zu bytes; it must be at least %d bytes",
                         policy->hs256_secret_len, JWT_MIN_HS256_SECRET);
    const char *const *algs = policy->algorithms ? policy->algorithms : secret ? default_algs_hs : default_algs;
    bool only_hs = true;
    if (!algs[0])
        return error_set(err, EINVAL, "the algorithm allowlist is empty");
    for (size_t i = 0; algs[i]; i++) {
        if (strcasecmp(algs[i], "none") == 0)
            return error_set(err, EINVAL, "the algorithm \"none\" can never be allowed");
        if (!supported_name(algs[i]))
            return error_set(err, EINVAL,
                             "unsupported token algorithm \"%s\" (supported: RS256 RS384 RS512 PS256 PS384 PS512 ES256 "
                             "ES384 ES512 HS256)",
                             algs[i]);
        if (strcmp(algs[i], "HS256") == 0) {
            if (!secret)
                return error_set(err, EINVAL, "HS256 is allowed but no shared secret is configured");
        } else {
            only_hs = false;
        }
    }
    if (!keys && !only_hs)
        return error_set(err, EINVAL, "no JWKS for the issuer's signing keys");

    jwt_validator *v = calloc(1, sizeof *v);
    if (!v)
        return error_set(err, ENOMEM, "out of memory");
    bool oom = false;
    v->policy = *policy;
    v->policy.issuer = strdup_tracked(policy->issuer, &oom);
    v->audiences = strv_copy(policy->audiences, &oom);
    v->policy.audiences = (const char *const *)v->audiences;
    v->algorithms = strv_copy(algs, &oom);
    v->policy.algorithms = (const char *const *)v->algorithms;
    v->policy.username_claim = strdup_tracked(policy->username_claim, &oom);
    v->policy.username_prefix = strdup_tracked(policy->username_prefix, &oom);
    v->policy.groups_claim = strdup_tracked(policy->groups_claim, &oom);
    v->policy.groups_prefix = strdup_tracked(policy->groups_prefix, &oom);
    v->policy.hs256_secret = NULL;
    v->policy.hs256_secret_len = 0;
    if (secret) {
        /* Kept only inside the cjose key. */
        v->hs_key = hs_key_new(policy);
        if (!v->hs_key)
            oom = true;
    }
    v->policy.cache_max_entries = policy->cache_max_entries ? policy->cache_max_entries : JWT_DEFAULT_CACHE_ENTRIES;
    v->policy.cache_max_ttl_seconds =
        policy->cache_max_ttl_seconds > 0 ? policy->cache_max_ttl_seconds : JWT_DEFAULT_CACHE_TTL;
    v->keys = keys;
    v->now = real_now;
    v->bucket_count = 64;
    while (v->bucket_count < v->policy.cache_max_entries)
        v->bucket_count *= 2;
    v->buckets = calloc(v->bucket_count, sizeof *v->buckets);
    pthread_mutex_init(&v->lock, NULL);
    if (oom || !v->buckets) {
        jwt_validator_free(v);
        return error_set(err, ENOMEM, "out of memory");
    }
    *ret = v;
    return 0;
}

static void entry_free(cache_entry *e) {
    jwt_result_unref(e->result);
    free(e);
}

jwt_validator *jwt_validator_free(jwt_validator *v) {
    if (!v)
        return NULL;
    for (size_t i = 0; v->buckets && i < v->bucket_count; i++) {
        cache_entry *e = v->buckets[i];
        while (e) {
            cache_entry *next = e->next;
            entry_free(e);
            e = next;
        }
    }
    free(v->buckets);
    free((char *)v->policy.issuer);
    strv_free(v->audiences);
    strv_free(v->algorithms);
    free((char *)v->policy.username_claim);
    free((char *)v->policy.username_prefix);
    free((char *)v->policy.groups_claim);
    free((char *)v->policy.groups_prefix);
    if (v->hs_key)
        cjose_jwk_release(v->hs_key);
    pthread_mutex_destroy(&v->lock);
    free(v);
    return NULL;
}

void jwt_validator_set_clock(jwt_validator *v, long long (*now)(void)) {
    v->now = now ? now : real_now;
}

jwt_cache_stats jwt_validator_stats(jwt_validator *v) {
    pthread_mutex_lock(&v->lock);
    jwt_cache_stats s = v->stats;
    s.entries = v->count;
    pthread_mutex_unlock(&v->lock);
    return s;
}

/* SHA-256 of the token with a digest fetched once: OpenSSL 3's one-shot SHA256() looks the
 * algorithm up on every call, which is most of the cost of a cache hit. */
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_md;

static void sha256_fetch(void) {
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static void token_hash(const char *token, size_t len, unsigned char key[SHA256_DIGEST_LENGTH]) {
    pthread_once(&sha256_once, sha256_fetch);
    if (!sha256_md || !EVP_Digest(token, len, key, NULL, sha256_md, NULL))
        SHA256((const unsigned char *)token, len, key);
}

static size_t bucket_of(const jwt_validator *v, const unsigned char *key) {
    size_t h;
    memcpy(&h, key, sizeof h);
    return h & (v->bucket_count - 1);
}

/* The key set's generation: a verified token is trusted from the cache only while no key has been
 * removed since, so a token whose key the IdP rotated out is checked (and refused) again. */
static unsigned long long keys_generation(const jwt_validator *v) {
    return v->keys ? jwks_cache_generation(v->keys) : 0;
}

/* Lock held: a new reference to the live entry for key, or NULL (an expired entry, or one verified
 * before a key was removed, is dropped). */
static jwt_result *cache_lookup(jwt_validator *v, const unsigned char *key, long long now,
                                unsigned long long generation) {
    cache_entry **pp = &v->buckets[bucket_of(v, key)];
    while (*pp) {
        cache_entry *e = *pp;
        if (CRYPTO_memcmp(e->key, key, sizeof e->key) == 0) {
            if (e->expires <= now || e->generation != generation) {
                *pp = e->next;
                entry_free(e);
                v->count--;
                return NULL;
            }
            return jwt_result_ref(e->result);
        }
        pp = &e->next;
    }
    return NULL;
}

/* Lock held: frees room for one entry in bucket b: expired entries first, then the bucket's own
 * chain, then any entry. */
static void cache_make_room(jwt_validator *v, size_t b, long long now) {
    if (v->count < v->policy.cache_max_entries)
        return;
    for (size_t i = 0; i < v->bucket_count; i++) {
        cache_entry **pp = &v->buckets[i];
        while (*pp) {
            if ((*pp)->expires <= now) {
                cache_entry *dead = *pp;
                *pp = dead->next;
                entry_free(dead);
                v->count--;
            } else {
                pp = &(*pp)->next;
            }
        }
    }
    for (size_t i = 0; v->count >= v->policy.cache_max_entries && i <= v->bucket_count; i++) {
        size_t at = i == 0 ? b : i - 1;
        while (v->count >= v->policy.cache_max_entries && v->buckets[at]) {
            cache_entry *dead = v->buckets[at];
            v->buckets[at] = dead->next;
            entry_free(dead);
            v->count--;
        }
    }
}

int jwt_validate(jwt_validator *v, const char *token, jwt_result **ret, error_info *err) {
    if (!token || !*token)
        return refuse(err, "no token");
    size_t len = strnlen(token, JWT_MAX_TOKEN_BYTES + 1);
    if (len > JWT_MAX_TOKEN_BYTES)
        return refuse(err, "token too large");
    unsigned char key[SHA256_DIGEST_LENGTH];
    token_hash(token, len, key);
    long long now = v->now();

    unsigned long long generation = keys_generation(v); /* read before verifying: a removal meanwhile
                                                          * leaves the new entry stale */
    pthread_mutex_lock(&v->lock);
    jwt_result *hit = cache_lookup(v, key, now, generation);
    if (hit)
        v->stats.hits++;
    else
        v->stats.misses++;
    pthread_mutex_unlock(&v->lock);
    if (hit) {
        *ret = hit;
        return 0;
    }

    jwt_result *res = NULL;
    int r = validate(token, &v->policy, v->policy.algorithms, v->keys, v->hs_key, now, &res, err);
    if (r < 0)
        return r;
    long long expires = now + v->policy.cache_max_ttl_seconds;
    if (res->exp < expires)
        expires = res->exp;
    if (expires > now) {
        cache_entry *e = calloc(1, sizeof *e);
        if (e) {
            memcpy(e->key, key, sizeof key);
            e->result = jwt_result_ref(res);
            e->expires = expires;
            e->generation = generation;
            pthread_mutex_lock(&v->lock);
            size_t b = bucket_of(v, key);
            /* A concurrent miss for the same token may have inserted it already. */
            bool present = false;
            for (cache_entry *x = v->buckets[b]; x && !present; x = x->next)
                present = CRYPTO_memcmp(x->key, key, sizeof key) == 0;
            if (present) {
                entry_free(e);
            } else {
                cache_make_room(v, b, now);
                e->next = v->buckets[b];
                v->buckets[b] = e;
                v->count++;
            }
            pthread_mutex_unlock(&v->lock);
        }
    }
    *ret = res;
    return 0;
}

bool jwt_validator_cached(jwt_validator *v, const char *token) {
    if (!token || !*token)
        return false;
    size_t len = strnlen(token, JWT_MAX_TOKEN_BYTES + 1);
    if (len > JWT_MAX_TOKEN_BYTES)
        return false;
    unsigned char key[SHA256_DIGEST_LENGTH];
    token_hash(token, len, key);
    long long now = v->now();
    unsigned long long generation = keys_generation(v);
    bool found = false;
    pthread_mutex_lock(&v->lock);
    for (const cache_entry *e = v->buckets[bucket_of(v, key)]; e && !found; e = e->next)
        found = CRYPTO_memcmp(e->key, key, sizeof e->key) == 0 && e->expires > now && e->generation == generation;
    pthread_mutex_unlock(&v->lock);
    return found;
}

bool jwt_validator_needs_network(jwt_validator *v, const char *token) {
    if (!token || !*token || !v->keys || jwt_validator_cached(v, token))
        return false;
    const char *dot = strchr(token, '.');
    if (!dot || (size_t)(dot - token) > JWT_MAX_TOKEN_BYTES)
        return false;
    int r;
    json_t *header = segment_json(token, (size_t)(dot - token), &r);
    if (!header)
        return false; /* refused without a lookup */
    const char *alg = json_string_value(json_object_get(header, "alg"));
    bool needs = alg && strcmp(alg, "HS256") != 0 && alg_allowed(alg, v->policy.algorithms, v->hs_key != NULL) &&
                 jwks_cache_needs_fetch(v->keys, json_string_value(json_object_get(header, "kid")));
    json_decref(header);
    return needs;
}
