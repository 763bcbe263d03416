#include "gate/token_exchange.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "core/base64.h"
#include "core/buf.h"
#include "gate/bearer.h"

/* The form carries the subject token, percent-encoded (at most three bytes per byte), and a few
 * short parameters. */
#define FORM_MAX (3 * BEARER_MAX_TOKEN_BYTES + 8192)
#define CREDENTIAL_MAX 4096 /* client id or secret */
#define DESCRIPTION_MAX 200
#define DESCRIPTION_WORD_MAX 32
#define ERROR_CODE_MAX 32

/* ---- the STS answer ---- */

void token_exchange_response_clear(token_exchange_response *r) {
    if (!r)
        return;
    r->access_token = bearer_free(r->access_token);
    free(r->issued_token_type);
    r->issued_token_type = NULL;
    r->expires_in = 0;
}

/* RFC 6750 §2.1 b64token: the token goes into an Authorization header as it is. */
static bool is_b64token(const char *s, size_t len) {
    if (len == 0)
        return false;
    size_t i = 0;
    for (; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                  c == '_' || c == '~' || c == '+' || c == '/';
        if (!ok)
            break;
    }
    if (i == 0)
        return false;
    while (i < len && s[i] == '=')
        i++;
    return i == len;
}

/* RFC 6749 §5.2 error codes are NQSCHAR; the ones in use are lower-case words with '_'. */
static bool is_error_code(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > ERROR_CODE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

/* An error_description fit for a message: RFC 6749's character set only (else nothing), words
 * longer than DESCRIPTION_WORD_MAX (a token an STS echoed back looks like one) elided, bounded. */
static void safe_description(const char *in, char *out, size_t out_size) {
    out[0] = '\0';
    if (!in || out_size < 8)
        return;
    for (const char *p = in; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
            return;
    }
    size_t used = 0, limit = out_size - 4 < DESCRIPTION_MAX ? out_size - 4 : DESCRIPTION_MAX;
    const char *p = in;
    while (*p && used < limit) {
        size_t spaces = strspn(p, " ");
        size_t word = strcspn(p + spaces, " ");
        const char *w = p + spaces;
        const char *text = word > DESCRIPTION_WORD_MAX ? "[...]" : w;
        size_t text_len = word > DESCRIPTION_WORD_MAX ? 5 : word;
        if (spaces && used > 0 && used < limit)
            out[used++] = ' ';
        if (used + text_len > limit) {
            memcpy(out + used, "...", 3);
            used += 3;
            break;
        }
        memcpy(out + used, text, text_len);
        used += text_len;
        p = w + word;
    }
    out[used] = '\0';
}

/* What an operator should look at for each error code kubemcp's own request can cause. */
static const char *error_advice(const char *code) {
    static const struct {
        const char *code, *advice;
    } table[] = {
        {"invalid_client", "check sts_client_id, sts_client_secret and sts_auth_style"},
        {"unauthorized_client", "the client sts_client_id is not allowed to exchange tokens at the token service"},
        {"invalid_target", "the token service does not issue tokens for sts_audience"},
        {"invalid_scope", "check sts_scopes"},
        {"unsupported_grant_type", "the token service does not support token exchange (RFC 8693)"},
        {"invalid_request", "check token_exchange_strategy and the sts_* settings"},
        {"access_denied", "the token service's policy does not allow this exchange"},
    };
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        if (strcmp(code, table[i].code) == 0)
            return table[i].advice;
    return "check the sts_* settings";
}

static int parse_error(long status, const json_t *doc, error_info *err) {
    const char *code = json_string_value(json_object_get(doc, "error"));
    if (!code) {
        if (status >= 500)
            return error_set(err, EAGAIN, "the token service answered HTTP %ld", status);
        return error_set(err, EBADMSG,
                         "the token service answered HTTP %ld without an OAuth error (is sts_token_url its token "
                         "endpoint?)",
                         status);
    }
    if (!is_error_code(code))
        code = "(unreadable error code)";
    char description[DESCRIPTION_MAX + 8];
    safe_description(json_string_value(json_object_get(doc, "error_description")), description, sizeof description);
    const char *open = description[0] ? " (" : "", *close = description[0] ? ")" : "";
    if (strcmp(code, "invalid_grant") == 0)
        return error_set(err, EACCES, "the token service refused to exchange the caller's token: invalid_grant%s%s%s",
                         open, description, close);
    return error_set(err, EPERM, "the token service refused kubemcp's exchange request: %s%s%s%s; %s", code, open,
                     description, close, error_advice(code));
}

static int bad_answer(error_info *err, const char *why) {
    return error_set(err, EBADMSG, "the token service's answer is not a usable token response: %s", why);
}

int token_exchange_parse_response(long status, const char *body, size_t len, bool require_issued_type,
                                  token_exchange_response *ret, error_info *err) {
    if (len > TOKEN_EXCHANGE_MAX_RESPONSE)
        return error_set(err, EMSGSIZE, "the token service's answer is larger than %d bytes",
                         TOKEN_EXCHANGE_MAX_RESPONSE);
    json_t *doc = body && len ? json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (status != 200) {
        int r = parse_error(status, json_is_object(doc) ? doc : NULL, err);
        json_decref(doc);
        return r;
    }
    int r = 0;
    const json_t *at = json_object_get(doc, "access_token");
    const json_t *tt = json_object_get(doc, "token_type");
    const json_t *it = json_object_get(doc, "issued_token_type");
    const json_t *ei = json_object_get(doc, "expires_in");
    const char *type = json_string_value(it);
    if (!json_is_object(doc))
        r = bad_answer(err, "not a JSON object (malformed, or a member given twice)");
    else if (!json_is_string(at) || !is_b64token(json_string_value(at), json_string_length(at)))
        r = bad_answer(err, "access_token is missing or not a bearer token");
    else if (json_string_length(at) > BEARER_MAX_TOKEN_BYTES)
        r = bad_answer(err, "access_token is too long");
    else if (!json_is_string(tt) || strcasecmp(json_string_value(tt), "Bearer") != 0)
        r = bad_answer(err, "token_type is not \"Bearer\" (kubemcp sends the token as a bearer token)");
    else if (it && !json_is_string(it))
        r = bad_answer(err, "issued_token_type is not a string");
    else if (!it && require_issued_type)
        r = bad_answer(err, "issued_token_type is missing (RFC 8693 section 2.2.1)");
    else if (type && strcmp(type, TOKEN_EXCHANGE_TYPE_ACCESS_TOKEN) != 0 && strcmp(type, TOKEN_EXCHANGE_TYPE_JWT) != 0)
        r = bad_answer(err, "issued_token_type is neither an access token nor a JWT");
    else if (ei && (!json_is_integer(ei) || json_integer_value(ei) <= 0 ||
                    json_integer_value(ei) > 10LL * 365 * 24 * 3600))
        r = bad_answer(err, "expires_in is not a positive number of seconds");
    token_exchange_response out = {0};
    if (r == 0) {
        out.access_token = strndup(json_string_value(at), json_string_length(at));
        out.issued_token_type = type ? strdup(type) : NULL;
        out.expires_in = ei ? json_integer_value(ei) : 0;
        if (!out.access_token || (type && !out.issued_token_type)) {
            token_exchange_response_clear(&out);
            r = error_set(err, ENOMEM, "out of memory");
        }
    }
    /* The document holds the token: wipe jansson's copy before it is freed. */
    if (json_is_string(at))
        OPENSSL_cleanse((char *)json_string_value(at), json_string_length(at));
    json_decref(doc);
    if (r == 0)
        *ret = out;
    return r;
}

/* ---- the exchanger and its cache ---- */

typedef struct exchanged {
    struct exchanged *next;          /* bucket chain */
    struct exchanged *newer, *older; /* insertion order: the oldest is evicted first */
    unsigned char key[SHA256_DIGEST_LENGTH];
    long long expires;
    char *token;  /* NULL: a remembered refusal */
    int refusal;  /* its negative errno */
    char message[512];
} exchanged;

/* An exchange in progress; misses for the same subject token wait for it. */
typedef struct flight {
    struct flight *next;
    unsigned char key[SHA256_DIGEST_LENGTH];
    int refs;
    bool done;
    int r;
    char *token;
    char message[ERROR_INFO_MESSAGE_MAX];
} flight;

struct token_exchange {
    token_exchange_strategy strategy;
    token_exchange_auth_style auth_style;
    int (*token_url_source)(void *opaque, char **ret_url, error_info *err);
    void *token_url_opaque;
    char *client_id, *client_secret, *audience, *scope, *ca_file;
    jwks_http_options http;
    size_t max_entries;
    long margin, default_ttl, negative_ttl;
    long long (*now)(void);

    pthread_mutex_t lock;
    pthread_cond_t landed;
    /* Under lock: */
    char *token_url;
    exchanged **buckets;
    size_t bucket_count; /* a power of two */
    exchanged *newest, *oldest;
    size_t count;
    flight *flights;
    long long retry_after;
    char last_error[ERROR_INFO_MESSAGE_MAX];
    token_exchange_stats stats;
};

static long long real_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec;
}

static char *wipe_free(char *s) {
    return bearer_free(s);
}

static char *join_scopes(const char *const *scopes, bool *oom) {
    if (!scopes || !scopes[0])
        return NULL;
    buf b;
    buf_init(&b, 8192);
    for (size_t i = 0; scopes[i]; i++)
        if ((i && buf_append_str(&b, " ") < 0) || buf_append_str(&b, scopes[i]) < 0) {
            buf_free(&b);
            *oom = true;
            return NULL;
        }
    char *s = buf_steal(&b);
    if (!s)
        *oom = true;
    return s;
}

int token_exchange_new(const token_exchange_options *opts, token_exchange **ret, error_info *err) {
    if (!opts || (!opts->token_url && !opts->token_url_source))
        return error_set(err, EINVAL, "token exchange needs the token service's URL (sts_token_url, or an OpenID "
                                      "issuer whose discovery names a token_endpoint)");
    if (opts->client_id && (!*opts->client_id || strlen(opts->client_id) > CREDENTIAL_MAX))
        return error_set(err, EINVAL, "sts_client_id is empty or too long");
    if (!opts->client_id && opts->client_secret)
        return error_set(err, EINVAL, "a token exchange client secret needs sts_client_id");
    if (!opts->client_id && opts->auth_style == TOKEN_EXCHANGE_AUTH_HEADER)
        return error_set(err, EINVAL, "sts_auth_style \"header\" needs sts_client_id");
    if (opts->client_secret && strlen(opts->client_secret) > CREDENTIAL_MAX)
        return error_set(err, EINVAL, "the token exchange client secret is longer than %d bytes", CREDENTIAL_MAX);
    token_exchange *tx = calloc(1, sizeof *tx);
    if (!tx)
        return error_set(err, ENOMEM, "out of memory");
    bool oom = false;
    tx->strategy = opts->strategy;
    tx->auth_style = opts->auth_style;
    tx->token_url_source = opts->token_url_source;
    tx->token_url_opaque = opts->token_url_opaque;
    const char *from[] = {opts->token_url, opts->client_id, opts->client_secret, opts->audience, opts->http.ca_file};
    char **to[] = {&tx->token_url, &tx->client_id, &tx->client_secret, &tx->audience, &tx->ca_file};
    for (size_t i = 0; i < sizeof from / sizeof *from; i++)
        if (from[i] && !(*to[i] = strdup(from[i])))
            oom = true;
    tx->scope = join_scopes(opts->scopes, &oom);
    tx->http = opts->http;
    tx->http.ca_file = tx->ca_file;
    if (!tx->http.max_body_bytes || tx->http.max_body_bytes > TOKEN_EXCHANGE_MAX_RESPONSE)
        tx->http.max_body_bytes = TOKEN_EXCHANGE_MAX_RESPONSE;
    tx->max_entries = opts->max_entries ? opts->max_entries : TOKEN_EXCHANGE_DEFAULT_MAX_ENTRIES;
    tx->margin = opts->margin_seconds > 0 ? opts->margin_seconds : TOKEN_EXCHANGE_DEFAULT_MARGIN;
    tx->default_ttl = opts->default_ttl_seconds > 0 ? opts->default_ttl_seconds : TOKEN_EXCHANGE_DEFAULT_TTL;
    tx->negative_ttl = opts->negative_ttl_seconds > 0 ? opts->negative_ttl_seconds : TOKEN_EXCHANGE_DEFAULT_NEGATIVE_TTL;
    tx->now = real_now;
    tx->bucket_count = 64;
    while (tx->bucket_count < tx->max_entries)
        tx->bucket_count *= 2;
    tx->buckets = calloc(tx->bucket_count, sizeof *tx->buckets);
    if (oom || !tx->buckets) {
        pthread_mutex_init(&tx->lock, NULL);
        pthread_cond_init(&tx->landed, NULL);
        token_exchange_free(tx);
        return error_set(err, ENOMEM, "out of memory");
    }
    pthread_mutex_init(&tx->lock, NULL);
    pthread_cond_init(&tx->landed, NULL);
    *ret = tx;
    return 0;
}

static void entry_free(exchanged *e) {
    wipe_free(e->token);
    free(e);
}

token_exchange *token_exchange_free(token_exchange *tx) {
    if (!tx)
        return NULL;
    /* No exchange may be running: the owner stops the threads that call in first. */
    for (exchanged *e = tx->newest; e;) {
        exchanged *older = e->older;
        entry_free(e);
        e = older;
    }
    free(tx->buckets);
    free(tx->token_url);
    free(tx->client_id);
    wipe_free(tx->client_secret);
    free(tx->audience);
    free(tx->scope);
    free(tx->ca_file);
    pthread_cond_destroy(&tx->landed);
    pthread_mutex_destroy(&tx->lock);
    free(tx);
    return NULL;
}

void token_exchange_set_clock(token_exchange *tx, long long (*now)(void)) {
    tx->now = now ? now : real_now;
}

token_exchange_stats token_exchange_get_stats(token_exchange *tx) {
    pthread_mutex_lock(&tx->lock);
    token_exchange_stats s = tx->stats;
    s.entries = tx->count;
    pthread_mutex_unlock(&tx->lock);
    return s;
}

static exchanged **slot_of(token_exchange *tx, const unsigned char *key) {
    size_t h;
    memcpy(&h, key, sizeof h);
    return &tx->buckets[h & (tx->bucket_count - 1)];
}

/* Lock held: unlinks e from its bucket and from the insertion order, and frees it. */
static void entry_remove(token_exchange *tx, exchanged *e) {
    for (exchanged **p = slot_of(tx, e->key); *p; p = &(*p)->next)
        if (*p == e) {
            *p = e->next;
            break;
        }
    if (e->newer)
        e->newer->older = e->older;
    else
        tx->newest = e->older;
    if (e->older)
        e->older->newer = e->newer;
    else
        tx->oldest = e->newer;
    tx->count--;
    entry_free(e);
}

/* Lock held: the live entry for key, or NULL (an expired one is dropped on the way). */
static exchanged *entry_find(token_exchange *tx, const unsigned char *key, long long now) {
    for (exchanged *e = *slot_of(tx, key); e; e = e->next) {
        if (CRYPTO_memcmp(e->key, key, sizeof e->key) != 0)
            continue;
        if (e->expires > now)
            return e;
        entry_remove(tx, e);
        return NULL;
    }
    return NULL;
}

/* Lock held: adds e (replacing any entry for its key), evicting the oldest entries when full. */
static void entry_insert(token_exchange *tx, exchanged *e, long long now) {
    exchanged *old = entry_find(tx, e->key, now);
    if (old)
        entry_remove(tx, old);
    while (tx->count >= tx->max_entries && tx->oldest)
        entry_remove(tx, tx->oldest);
    exchanged **slot = slot_of(tx, e->key);
    e->next = *slot;
    *slot = e;
    e->older = tx->newest;
    e->newer = NULL;
    if (tx->newest)
        tx->newest->newer = e;
    else
        tx->oldest = e;
    tx->newest = e;
    tx->count++;
}

/* Lock held. */
static flight *flight_find(token_exchange *tx, const unsigned char *key) {
    for (flight *f = tx->flights; f; f = f->next)
        if (CRYPTO_memcmp(f->key, key, sizeof f->key) == 0)
            return f;
    return NULL;
}

/* Lock held: drops one reference; the last one frees the flight (already off the list). */
static void flight_release(flight *f) {
    if (--f->refs > 0)
        return;
    wipe_free(f->token);
    free(f);
}

/* Lock held: what a finished flight says, as this caller's result. */
static int flight_result(const flight *f, char **ret_token, error_info *err) {
    if (f->r < 0)
        return error_set(err, -f->r, "%s", f->message);
    char *token = strdup(f->token);
    if (!token)
        return error_set(err, ENOMEM, "out of memory");
    *ret_token = token;
    return 0;
}

/* Percent-encodes value onto b, all but the unreserved characters (valid form-urlencoding). */
static int percent_encode(buf *b, const char *value) {
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        bool plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                     *p == '.' || *p == '_' || *p == '~';
        char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
        if (buf_append(b, plain ? (const char *)p : enc, plain ? 1 : 3) < 0)
            return -EMSGSIZE;
    }
    return 0;
}

/* application/x-www-form-urlencoded: "&name=value". */
static int form_add(buf *b, const char *name, const char *value) {
    if ((b->len && buf_append_str(b, "&") < 0) || buf_append_str(b, name) < 0 || buf_append_str(b, "=") < 0)
        return -EMSGSIZE;
    return percent_encode(b, value);
}

static int build_form(const token_exchange *tx, const char *subject_token, buf *form) {
    int r = form_add(form, "grant_type", TOKEN_EXCHANGE_GRANT_TYPE);
    if (r == 0)
        r = form_add(form, "subject_token", subject_token);
    if (r == 0)
        r = form_add(form, "subject_token_type", TOKEN_EXCHANGE_TYPE_ACCESS_TOKEN);
    if (r == 0 && tx->strategy == TOKEN_EXCHANGE_RFC8693)
        r = form_add(form, "requested_token_type", TOKEN_EXCHANGE_TYPE_ACCESS_TOKEN);
    if (r == 0 && tx->audience)
        r = form_add(form, "audience", tx->audience);
    if (r == 0 && tx->scope)
        r = form_add(form, "scope", tx->scope);
    if (r == 0 && tx->client_id && tx->auth_style == TOKEN_EXCHANGE_AUTH_PARAMS) {
        r = form_add(form, "client_id", tx->client_id);
        if (r == 0 && tx->client_secret)
            r = form_add(form, "client_secret", tx->client_secret);
    }
    return r;
}

/* RFC 6749 §2.3.1: "Basic " + base64(urlencode(id) ":" urlencode(secret)). */
static char *basic_credentials(const token_exchange *tx) {
    buf pair;
    buf_init(&pair, 3 * 2 * CREDENTIAL_MAX + 16);
    char *out = NULL;
    if (percent_encode(&pair, tx->client_id) == 0 && buf_append_str(&pair, ":") == 0 &&
        percent_encode(&pair, tx->client_secret ? tx->client_secret : "") == 0) {
        char *encoded = base64_encode(pair.data, pair.len);
        if (encoded) {
            if (asprintf(&out, "Basic %s", encoded) < 0)
                out = NULL;
            OPENSSL_cleanse(encoded, strlen(encoded));
            free(encoded);
        }
    }
    if (pair.data)
        OPENSSL_cleanse(pair.data, pair.cap ? pair.cap : pair.len);
    buf_free(&pair);
    return out;
}

static int resolve_token_url(token_exchange *tx, char **ret, error_info *err) {
    pthread_mutex_lock(&tx->lock);
    char *url = tx->token_url ? strdup(tx->token_url) : NULL;
    bool known = tx->token_url != NULL;
    pthread_mutex_unlock(&tx->lock);
    if (known) {
        if (!url)
            return error_set(err, ENOMEM, "out of memory");
        *ret = url;
        return 0;
    }
    int r = tx->token_url_source(tx->token_url_opaque, &url, err);
    if (r < 0) {
        error_prefix(err, "cannot find the token service (set sts_token_url)");
        return r;
    }
    pthread_mutex_lock(&tx->lock);
    if (!tx->token_url)
        tx->token_url = strdup(url);
    pthread_mutex_unlock(&tx->lock);
    *ret = url;
    return 0;
}

/* One request to the STS. */
static int exchange(token_exchange *tx, const char *subject_token, token_exchange_response *ret, error_info *err) {
    char *url = NULL;
    int r = resolve_token_url(tx, &url, err);
    if (r < 0)
        return r;
    buf form;
    buf_init(&form, FORM_MAX);
    char *authorization = NULL;
    if (build_form(tx, subject_token, &form) < 0) {
        r = error_set(err, EMSGSIZE, "the token exchange request is too large");
    } else if (tx->client_id && tx->auth_style == TOKEN_EXCHANGE_AUTH_HEADER && !(authorization = basic_credentials(tx))) {
        r = error_set(err, ENOMEM, "out of memory");
    } else {
        long status = 0;
        char *body = NULL;
        size_t len = 0;
        r = jwks_http_post_form(url, &tx->http, "token service", form.data, form.len, authorization, &status, &body,
                                &len, err);
        if (r == 0) {
            r = token_exchange_parse_response(status, body, len, tx->strategy == TOKEN_EXCHANGE_RFC8693, ret, err);
            OPENSSL_cleanse(body, len);
        }
        free(body);
    }
    if (form.data)
        OPENSSL_cleanse(form.data, form.len);
    buf_free(&form);
    wipe_free(authorization);
    free(url);
    return r;
}

/* A message an STS could have filled with a credential it was sent loses its description. */
static void scrub(const token_exchange *tx, const char *subject_token, error_info *err) {
    if (!err)
        return;
    const char *secret = tx->client_secret;
    bool leak = (secret && strlen(secret) >= 4 && strstr(err->message, secret)) ||
                (strlen(subject_token) >= 8 && strstr(err->message, subject_token));
    if (leak) {
        char *paren = strstr(err->message, " (");
        if (paren)
            snprintf(paren, sizeof err->message - (size_t)(paren - err->message), " (description withheld)");
        else
            snprintf(err->message, sizeof err->message, "the token service's answer was withheld");
    }
}

int token_exchange_get(token_exchange *tx, const char *subject_token, long long subject_exp, char **ret_token,
                       error_info *err) {
    if (!subject_token || !*subject_token)
        return error_set(err, EINVAL, "no token to exchange");
    unsigned char key[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)subject_token, strlen(subject_token), key);

    pthread_mutex_lock(&tx->lock);
    long long now = tx->now();
    exchanged *e = entry_find(tx, key, now);
    if (e) {
        tx->stats.hits++;
        int r;
        char *token = e->token ? strdup(e->token) : NULL;
        if (!e->token)
            r = error_set(err, -e->refusal, "%s", e->message);
        else
            r = token ? 0 : error_set(err, ENOMEM, "out of memory");
        pthread_mutex_unlock(&tx->lock);
        if (r == 0)
            *ret_token = token;
        return r;
    }
    tx->stats.misses++;
    if (tx->retry_after > now) {
        int r = error_set(err, EAGAIN, "%s", tx->last_error);
        pthread_mutex_unlock(&tx->lock);
        return r;
    }
    flight *f = flight_find(tx, key);
    if (f) {
        tx->stats.coalesced++;
        f->refs++;
        while (!f->done)
            pthread_cond_wait(&tx->landed, &tx->lock);
        int r = flight_result(f, ret_token, err);
        flight_release(f);
        pthread_mutex_unlock(&tx->lock);
        return r;
    }
    f = calloc(1, sizeof *f);
    if (!f) {
        pthread_mutex_unlock(&tx->lock);
        return error_set(err, ENOMEM, "out of memory");
    }
    memcpy(f->key, key, sizeof key);
    f->refs = 1;
    f->next = tx->flights;
    tx->flights = f;
    pthread_mutex_unlock(&tx->lock);

    token_exchange_response resp = {0};
    error_info local = {0};
    int r = exchange(tx, subject_token, &resp, &local);
    if (r < 0) {
        error_prefix(&local, "token exchange failed");
        scrub(tx, subject_token, &local);
    }

    pthread_mutex_lock(&tx->lock);
    now = tx->now();
    tx->stats.exchanges++;
    exchanged *entry = calloc(1, sizeof *entry);
    if (entry) {
        memcpy(entry->key, key, sizeof key);
        if (r == 0) {
            long long end = resp.expires_in > 0 ? now + resp.expires_in - tx->margin : now + tx->default_ttl;
            if (subject_exp > 0 && subject_exp - tx->margin < end)
                end = subject_exp - tx->margin;
            entry->expires = end;
            entry->token = strdup(resp.access_token);
        } else {
            entry->refusal = r;
            entry->expires = now + tx->negative_ttl;
            snprintf(entry->message, sizeof entry->message, "%s", local.message);
        }
        bool keep = entry->expires > now && (r == 0 ? entry->token != NULL : r == -EACCES || r == -EPERM);
        if (keep)
            entry_insert(tx, entry, now);
        else
            entry_free(entry);
    }
    if (r < 0 && r != -EACCES && r != -EPERM) {
        /* The STS is down or answers nonsense: spare it (and the callers) for a moment. */
        tx->retry_after = now + TOKEN_EXCHANGE_RETRY_SECONDS;
        snprintf(tx->last_error, sizeof tx->last_error, "%s", local.message);
    }
    for (flight **p = &tx->flights; *p; p = &(*p)->next)
        if (*p == f) {
            *p = f->next;
            break;
        }
    f->done = true;
    f->r = r;
    snprintf(f->message, sizeof f->message, "%s", local.message);
    if (r == 0 && !(f->token = strdup(resp.access_token))) {
        f->r = -ENOMEM;
        snprintf(f->message, sizeof f->message, "out of memory");
    }
    pthread_cond_broadcast(&tx->landed);
    int result = flight_result(f, ret_token, err);
    flight_release(f);
    pthread_mutex_unlock(&tx->lock);
    token_exchange_response_clear(&resp);
    return result;
}

bool token_exchange_needs_network(token_exchange *tx, const char *subject_token) {
    if (!subject_token || !*subject_token)
        return false;
    unsigned char key[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)subject_token, strlen(subject_token), key);
    pthread_mutex_lock(&tx->lock);
    long long now = tx->now();
    bool answered = tx->retry_after > now || entry_find(tx, key, now) != NULL;
    pthread_mutex_unlock(&tx->lock);
    return !answered;
}
