#include "gate/as_metadata.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "core/strv.h"
#include "gate/oidc_discovery.h"

#define OAUTH_WELL_KNOWN "/.well-known/oauth-authorization-server"

/* ---- the document ---- */

typedef enum member_type { MEMBER_URL, MEMBER_STRINGS, MEMBER_BOOL } member_type;

/* The members kubemcp passes on, in the order it writes them. "issuer" is handled on its own;
 * signed_metadata (RFC 8414 §2.1) is left out on purpose: it would vouch for values kubemcp may
 * have replaced, and kubemcp does not verify it. */
static const struct member {
    const char *name;
    member_type type;
} members[] = {
    /* RFC 8414 §2 */
    {"authorization_endpoint", MEMBER_URL},
    {"token_endpoint", MEMBER_URL},
    {"jwks_uri", MEMBER_URL},
    {"registration_endpoint", MEMBER_URL},
    {"scopes_supported", MEMBER_STRINGS},
    {"response_types_supported", MEMBER_STRINGS},
    {"response_modes_supported", MEMBER_STRINGS},
    {"grant_types_supported", MEMBER_STRINGS},
    {"token_endpoint_auth_methods_supported", MEMBER_STRINGS},
    {"token_endpoint_auth_signing_alg_values_supported", MEMBER_STRINGS},
    {"service_documentation", MEMBER_URL},
    {"ui_locales_supported", MEMBER_STRINGS},
    {"op_policy_uri", MEMBER_URL},
    {"op_tos_uri", MEMBER_URL},
    {"revocation_endpoint", MEMBER_URL},
    {"revocation_endpoint_auth_methods_supported", MEMBER_STRINGS},
    {"revocation_endpoint_auth_signing_alg_values_supported", MEMBER_STRINGS},
    {"introspection_endpoint", MEMBER_URL},
    {"introspection_endpoint_auth_methods_supported", MEMBER_STRINGS},
    {"introspection_endpoint_auth_signing_alg_values_supported", MEMBER_STRINGS},
    {"code_challenge_methods_supported", MEMBER_STRINGS},
    /* OpenID Connect Discovery 1.0 §3, registered by RFC 8414 §7.1.2 */
    {"userinfo_endpoint", MEMBER_URL},
    {"acr_values_supported", MEMBER_STRINGS},
    {"subject_types_supported", MEMBER_STRINGS},
    {"id_token_signing_alg_values_supported", MEMBER_STRINGS},
    {"id_token_encryption_alg_values_supported", MEMBER_STRINGS},
    {"id_token_encryption_enc_values_supported", MEMBER_STRINGS},
    {"userinfo_signing_alg_values_supported", MEMBER_STRINGS},
    {"userinfo_encryption_alg_values_supported", MEMBER_STRINGS},
    {"userinfo_encryption_enc_values_supported", MEMBER_STRINGS},
    {"request_object_signing_alg_values_supported", MEMBER_STRINGS},
    {"request_object_encryption_alg_values_supported", MEMBER_STRINGS},
    {"request_object_encryption_enc_values_supported", MEMBER_STRINGS},
    {"display_values_supported", MEMBER_STRINGS},
    {"claim_types_supported", MEMBER_STRINGS},
    {"claims_supported", MEMBER_STRINGS},
    {"claims_locales_supported", MEMBER_STRINGS},
    {"claims_parameter_supported", MEMBER_BOOL},
    {"request_parameter_supported", MEMBER_BOOL},
    {"request_uri_parameter_supported", MEMBER_BOOL},
    {"require_request_uri_registration", MEMBER_BOOL},
    /* RFC 9207; the MCP authorization spec's client ID metadata documents */
    {"authorization_response_iss_parameter_supported", MEMBER_BOOL},
    {"client_id_metadata_document_supported", MEMBER_BOOL},
};

static const char *const required_oauth[] = {"authorization_endpoint", "token_endpoint", "response_types_supported",
                                             NULL};
static const char *const required_openid[] = {"authorization_endpoint", "token_endpoint", "response_types_supported",
                                              "jwks_uri", "subject_types_supported",
                                              "id_token_signing_alg_values_supported", NULL};

static bool printable_ascii(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
            return false;
    return true;
}

/* An absolute https:// URL (http:// when allowed) with a host, no fragment, no userinfo, and no
 * character that would need escaping in a URL. */
static bool valid_url(json_t *v, bool allow_http) {
    if (!json_is_string(v))
        return false;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    if (len > AS_METADATA_MAX_URL || strlen(s) != len || !printable_ascii(s, len) || strpbrk(s, " \"#<>\\^`{|}"))
        return false;
    size_t scheme;
    if (strncasecmp(s, "https://", 8) == 0)
        scheme = 8;
    else if (allow_http && strncasecmp(s, "http://", 7) == 0)
        scheme = 7;
    else
        return false;
    size_t authority = strcspn(s + scheme, "/?");
    return authority > 0 && !memchr(s + scheme, '@', authority);
}

static bool valid_strings(json_t *v) {
    if (!json_is_array(v) || json_array_size(v) > AS_METADATA_MAX_ARRAY)
        return false;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        size_t len = json_string_length(e);
        if (!json_is_string(e) || len == 0 || len > AS_METADATA_MAX_STRING ||
            !printable_ascii(json_string_value(e), len))
            return false;
    }
    return true;
}

static bool valid_member(const struct member *m, json_t *v, bool allow_http) {
    switch (m->type) {
    case MEMBER_URL:
        return valid_url(v, allow_http);
    case MEMBER_STRINGS:
        return valid_strings(v);
    case MEMBER_BOOL:
        return json_is_boolean(v);
    }
    return false;
}

static bool only_whitespace(const char *text, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (!strchr(" \t\r\n", text[i]) || text[i] == '\0')
            return false;
    return true;
}

static json_t *string_array(const char *const *items) {
    json_t *a = json_array();
    for (size_t i = 0; a && items[i]; i++)
        if (json_array_append_new(a, json_string(items[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

int as_metadata_parse(const char *text, size_t len, as_metadata_kind kind, const as_metadata_policy *policy,
                      char **ret_json, error_info *err) {
    if (!policy || !policy->issuer)
        return error_set(err, EINVAL, "no issuer configured");
    if (!text || only_whitespace(text, len))
        return error_set(err, ENODATA, "the document is empty");
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return error_set(err, EBADMSG, "the document is not a JSON object");
    }
    if (json_object_size(doc) == 0) {
        json_decref(doc);
        return error_set(err, ENODATA, "the document is an empty object");
    }
    json_t *iss = json_object_get(doc, "issuer");
    size_t issuer_len = strlen(policy->issuer);
    int r = 0;
    if (!json_is_string(iss)) {
        r = error_set(err, EBADMSG, "the document has no \"issuer\"");
    } else if (json_string_length(iss) != issuer_len || memcmp(json_string_value(iss), policy->issuer, issuer_len) != 0) {
        /* The mix-up defence of RFC 8414 §3.3: another issuer's metadata is never served as ours. */
        r = error_set(err, EPERM,
                      "issuer mismatch: the document names another issuer than the configured %s (they must be "
                      "identical, including any trailing \"/\")",
                      policy->issuer);
    }
    json_t *out = r == 0 ? json_pack("{s:s}", "issuer", policy->issuer) : NULL;
    if (r == 0 && !out)
        r = error_set(err, ENOMEM, "out of memory");
    /* What a client should ask for to call kubemcp: the scopes of its Protected Resource Metadata,
     * not every scope the IdP knows (the peer does the same). */
    json_t *ours = r == 0 && policy->scopes && policy->scopes[0] ? string_array(policy->scopes) : NULL;
    if (r == 0 && policy->scopes && policy->scopes[0] && !ours)
        r = error_set(err, ENOMEM, "out of memory");
    for (size_t i = 0; r == 0 && i < sizeof members / sizeof *members; i++) {
        json_t *v = json_object_get(doc, members[i].name);
        if (ours && strcmp(members[i].name, "scopes_supported") == 0)
            v = ours;
        else if (v && !valid_member(&members[i], v, policy->allow_http))
            v = NULL;
        if (v && json_object_set(out, members[i].name, v) < 0)
            r = error_set(err, ENOMEM, "out of memory");
    }
    json_decref(ours);
    const char *const *required = kind == AS_METADATA_OPENID ? required_openid : required_oauth;
    for (size_t i = 0; r == 0 && required[i]; i++)
        if (!json_object_get(out, required[i]))
            r = error_set(err, EBADMSG, "the document has no valid \"%s\"", required[i]);
    char *json = r == 0 ? json_dumps(out, JSON_COMPACT) : NULL;
    if (r == 0 && !json)
        r = error_set(err, ENOMEM, "out of memory");
    json_decref(out);
    json_decref(doc);
    if (r == 0)
        *ret_json = json;
    return r;
}

char *as_metadata_oauth_url(const char *issuer) {
    if (!issuer)
        return NULL;
    const char *sep = strstr(issuer, "://");
    if (!sep || strpbrk(issuer, "?#"))
        return NULL;
    size_t scheme = (size_t)(sep - issuer);
    if (!(scheme == 5 && strncasecmp(issuer, "https", 5) == 0) && !(scheme == 4 && strncasecmp(issuer, "http", 4) == 0))
        return NULL;
    const char *authority = sep + 3;
    size_t authority_len = strcspn(authority, "/");
    if (authority_len == 0)
        return NULL;
    const char *path = authority + authority_len;
    size_t path_len = strlen(path);
    while (path_len > 0 && path[path_len - 1] == '/')
        path_len--;
    size_t head = (size_t)(path - issuer);
    char *url = malloc(head + sizeof OAUTH_WELL_KNOWN + path_len);
    if (!url)
        return NULL;
    memcpy(url, issuer, head);
    memcpy(url + head, OAUTH_WELL_KNOWN, sizeof OAUTH_WELL_KNOWN - 1);
    memcpy(url + head + sizeof OAUTH_WELL_KNOWN - 1, path, path_len);
    url[head + sizeof OAUTH_WELL_KNOWN - 1 + path_len] = '\0';
    return url;
}

/* ---- fetching and the cache ---- */

typedef struct slot {
    char *json;            /* the last good document; NULL = none yet */
    long long fetched_at;  /* when json was fetched */
    bool fetching;
    bool failed;           /* the last attempt failed: last_r, last_error, retry_after */
    int last_r;
    long long retry_after;
    char last_error[ERROR_INFO_MESSAGE_MAX];
} slot;

struct as_metadata {
    as_metadata_policy policy; /* strings point at the copies below */
    char *issuer;
    char **scopes;
    char *ca_file;
    char *oauth_url, *openid_url;
    jwks_http_options http;
    long ttl;
    long long (*now)(void);

    pthread_mutex_t lock;
    pthread_cond_t fetched;
    slot slots[2]; /* by as_metadata_kind */
};

static long long monotonic_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec;
}

int as_metadata_new(const as_metadata_options *opts, as_metadata **ret, error_info *err) {
    const char *issuer = opts ? opts->policy.issuer : NULL;
    if (!issuer || !*issuer)
        return error_set(err, EINVAL, "no OIDC issuer configured (set oidc_issuer_url)");
    as_metadata *m = calloc(1, sizeof *m);
    if (!m)
        return error_set(err, ENOMEM, "out of memory");
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->fetched, NULL);
    m->now = monotonic_now;
    m->ttl = opts->ttl_seconds > 0 ? opts->ttl_seconds : AS_METADATA_TTL;
    m->http = opts->http;
    if (!m->http.timeout_seconds)
        m->http.timeout_seconds = AS_METADATA_TIMEOUT;
    if (!m->http.max_body_bytes)
        m->http.max_body_bytes = AS_METADATA_MAX_BYTES;
    size_t n = 0;
    while (opts->policy.scopes && opts->policy.scopes[n])
        n++;
    bool oom = !(m->issuer = strdup(issuer)) || !(m->scopes = calloc(n + 1, sizeof *m->scopes)) ||
               (opts->http.ca_file && !(m->ca_file = strdup(opts->http.ca_file)));
    for (size_t i = 0; !oom && i < n; i++)
        oom = !(m->scopes[i] = strdup(opts->policy.scopes[i]));
    if (oom) {
        as_metadata_free(m);
        return error_set(err, ENOMEM, "out of memory");
    }
    m->http.ca_file = m->ca_file;
    m->policy = (as_metadata_policy){
        .issuer = m->issuer, .allow_http = opts->policy.allow_http, .scopes = (const char *const *)m->scopes};
    m->oauth_url = as_metadata_oauth_url(issuer);
    m->openid_url = oidc_discovery_url(issuer);
    if (!m->oauth_url || !m->openid_url) {
        as_metadata_free(m);
        return error_set(err, EINVAL,
                         "the OpenID issuer %s is not an absolute http(s) URL without query or fragment", issuer);
    }
    *ret = m;
    return 0;
}

as_metadata *as_metadata_free(as_metadata *m) {
    if (!m)
        return NULL;
    for (size_t i = 0; i < sizeof m->slots / sizeof *m->slots; i++)
        free(m->slots[i].json);
    strv_free(m->scopes);
    free(m->issuer);
    free(m->ca_file);
    free(m->oauth_url);
    free(m->openid_url);
    pthread_cond_destroy(&m->fetched);
    pthread_mutex_destroy(&m->lock);
    free(m);
    return NULL;
}

void as_metadata_set_clock(as_metadata *m, long long (*now)(void)) {
    pthread_mutex_lock(&m->lock);
    m->now = now ? now : monotonic_now;
    pthread_mutex_unlock(&m->lock);
}

/* One document from url, which must answer 200. */
static int fetch_document(const as_metadata *m, const char *url, as_metadata_kind kind, char **ret_json,
                          error_info *err) {
    char *body = NULL;
    size_t len = 0;
    const char *what = kind == AS_METADATA_OPENID ? "OpenID configuration" : "authorization server metadata";
    int r = jwks_http_get(url, &m->http, what, &body, &len, err);
    if (r < 0)
        return r;
    r = as_metadata_parse(body, len, kind, &m->policy, ret_json, err);
    free(body);
    if (r < 0)
        error_prefix(err, "the OpenID configuration at %s is unusable", url);
    return r;
}

/* The RFC 8414 document: the issuer's own, or built from its OpenID configuration when it has none
 * (a 204, 3xx or 4xx answer, or an empty one: redirects are never followed). */
static int fetch_oauth(const as_metadata *m, char **ret_json, error_info *err) {
    long status = 0;
    char *body = NULL;
    size_t len = 0;
    int r = jwks_http_get_status(m->oauth_url, &m->http, "authorization server metadata", &status, &body, &len, err);
    if (r < 0)
        return r;
    if (status == 200) {
        r = as_metadata_parse(body, len, AS_METADATA_OAUTH, &m->policy, ret_json, err);
        if (r < 0 && r != -ENODATA)
            error_prefix(err, "the authorization server metadata at %s is unusable", m->oauth_url);
    } else if (status == 204 || (status >= 300 && status < 500)) {
        r = -ENODATA;
    } else {
        r = error_set(err, EBADMSG, "the authorization server metadata at %s answered HTTP %ld", m->oauth_url, status);
    }
    free(body);
    if (r != -ENODATA)
        return r;
    return fetch_document(m, m->openid_url, AS_METADATA_OAUTH, ret_json, err);
}

static int copy_out(const char *json, char **ret_json, error_info *err) {
    char *copy = strdup(json);
    if (!copy)
        return error_set(err, ENOMEM, "out of memory");
    *ret_json = copy;
    return 0;
}

/* Lock held: what the cache can answer without a fetch. A fresh document; a stale one while a
 * fetch is under way or during the back-off after a failure (for at most AS_METADATA_MAX_STALE);
 * the stored failure during the back-off; else -EWOULDBLOCK. */
static int cached_answer(const as_metadata *m, const slot *s, long long now, char **ret_json, error_info *err) {
    bool fresh = s->json && now - s->fetched_at < m->ttl;
    bool stale_ok = s->json && now - s->fetched_at < AS_METADATA_MAX_STALE;
    bool backing_off = s->failed && now < s->retry_after;
    if (fresh || (stale_ok && (s->fetching || backing_off)))
        return copy_out(s->json, ret_json, err);
    if (backing_off && !s->fetching)
        return error_set(err, -s->last_r, "%s", s->last_error);
    return -EWOULDBLOCK;
}

int as_metadata_peek(as_metadata *m, as_metadata_kind kind, char **ret_json, error_info *err) {
    pthread_mutex_lock(&m->lock);
    int r = cached_answer(m, &m->slots[kind], m->now(), ret_json, err);
    pthread_mutex_unlock(&m->lock);
    return r;
}

int as_metadata_get(as_metadata *m, as_metadata_kind kind, char **ret_json, error_info *err) {
    slot *s = &m->slots[kind];
    pthread_mutex_lock(&m->lock);
    for (;;) {
        int r = cached_answer(m, s, m->now(), ret_json, err);
        if (r != -EWOULDBLOCK) {
            pthread_mutex_unlock(&m->lock);
            return r;
        }
        if (!s->fetching)
            break;
        pthread_cond_wait(&m->fetched, &m->lock); /* someone else's fetch answers us too */
    }
    s->fetching = true;
    pthread_mutex_unlock(&m->lock);

    char *json = NULL;
    error_info ferr = {0};
    int r = kind == AS_METADATA_OAUTH ? fetch_oauth(m, &json, &ferr)
                                      : fetch_document(m, m->openid_url, AS_METADATA_OPENID, &json, &ferr);

    pthread_mutex_lock(&m->lock);
    long long now = m->now();
    if (r == 0) {
        free(s->json);
        s->json = json;
        s->fetched_at = now;
        s->failed = false;
    } else {
        s->failed = true;
        s->last_r = r;
        s->retry_after = now + AS_METADATA_RETRY_SECONDS;
        snprintf(s->last_error, sizeof s->last_error, "%s", ferr.message);
    }
    s->fetching = false;
    pthread_cond_broadcast(&m->fetched);
    r = cached_answer(m, s, now, ret_json, err);
    pthread_mutex_unlock(&m->lock);
    return r;
}

unsigned as_metadata_error_status(int r) {
    switch (-r) {
    case ECONNREFUSED:
    case EHOSTUNREACH:
    case ETIMEDOUT:
    case EPROTO:
    case EIO:
    case ENOMEM:
    case EAGAIN:
    case EBUSY:
        return 503;
    default:
        return 502;
    }
}
