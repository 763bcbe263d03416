#include "gate/cors.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cors_policy {
    char **origins; /* normalised scheme://host:port, owned */
    size_t n;
    bool allow_credentials;
};

/* Why an origin string is not acceptable; the policy builder turns it into a user message. */
typedef enum origin_error {
    ORIGIN_OK,
    ORIGIN_TOO_LONG,
    ORIGIN_BAD_CHAR,
    ORIGIN_NON_ASCII,
    ORIGIN_NULL,
    ORIGIN_WILDCARD,
    ORIGIN_NO_SCHEME,
    ORIGIN_BAD_SCHEME,
    ORIGIN_NO_HOST,
    ORIGIN_USERINFO,
    ORIGIN_BAD_HOST,
    ORIGIN_BAD_IPV6,
    ORIGIN_BAD_PORT,
    ORIGIN_PATH,
    ORIGIN_QUERY,
    ORIGIN_FRAGMENT,
} origin_error;

typedef struct origin_parts {
    bool https;
    char host[CORS_ORIGIN_MAX + 1]; /* lower-case; IPv6 canonical and in brackets */
    unsigned port;                  /* always set: the default port when none was written */
} origin_parts;

static bool is_ows(char c) {
    return c == ' ' || c == '\t';
}

static char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool span_equal_nocase(const char *s, size_t len, const char *lit) {
    return strlen(lit) == len && strncasecmp(s, lit, len) == 0;
}

/* A decimal port 1..65535 with no sign or spaces. */
static bool parse_port(const char *s, size_t len, unsigned *ret) {
    if (len == 0 || len > 5)
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return false;
    *ret = v;
    return true;
}

/* "[...]" at s (len includes the brackets) into canonical "[...]" form. */
static bool parse_ipv6_literal(const char *s, size_t len, char *out, size_t out_size) {
    char text[INET6_ADDRSTRLEN + 1];
    if (len < 3 || s[0] != '[' || s[len - 1] != ']' || len - 2 >= sizeof text)
        return false;
    memcpy(text, s + 1, len - 2);
    text[len - 2] = '\0';
    struct in6_addr a;
    if (inet_pton(AF_INET6, text, &a) != 1)
        return false;
    char canon[INET6_ADDRSTRLEN];
    if (!inet_ntop(AF_INET6, &a, canon, sizeof canon))
        return false;
    int n = snprintf(out, out_size, "[%s]", canon);
    return n > 0 && (size_t)n < out_size;
}

/* Parses an origin "scheme://host[:port]" (plus a lone trailing "/" when allow_slash). */
static origin_error origin_parse(const char *s, size_t len, bool allow_slash, origin_parts *ret) {
    if (len > CORS_ORIGIN_MAX)
        return ORIGIN_TOO_LONG;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80)
            return ORIGIN_NON_ASCII;
        if (c <= 0x20 || c == 0x7f)
            return ORIGIN_BAD_CHAR;
    }
    if (span_equal_nocase(s, len, "null"))
        return ORIGIN_NULL;
    if (memchr(s, '*', len))
        return ORIGIN_WILDCARD;

    const char *sep = NULL;
    for (size_t i = 0; i + 3 <= len; i++) {
        if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/') {
            sep = s + i;
            break;
        }
        if (!is_alnum(s[i]) && s[i] != '+' && s[i] != '-' && s[i] != '.')
            break; /* not a scheme character: "example.com/x://y" has no scheme */
    }
    if (!sep || sep == s)
        return ORIGIN_NO_SCHEME;
    size_t scheme_len = (size_t)(sep - s);
    if (span_equal_nocase(s, scheme_len, "https"))
        ret->https = true;
    else if (span_equal_nocase(s, scheme_len, "http"))
        ret->https = false;
    else
        return ORIGIN_BAD_SCHEME;

    const char *auth = sep + 3;
    const char *end = s + len;
    const char *auth_end = auth;
    while (auth_end < end && *auth_end != '/' && *auth_end != '?' && *auth_end != '#')
        auth_end++;
    if (auth_end == auth)
        return ORIGIN_NO_HOST;
    if (memchr(auth, '@', (size_t)(auth_end - auth)))
        return ORIGIN_USERINFO;

    const char *host_end;
    if (*auth == '[') {
        const char *close = memchr(auth, ']', (size_t)(auth_end - auth));
        if (!close)
            return ORIGIN_BAD_IPV6;
        host_end = close + 1;
        if (!parse_ipv6_literal(auth, (size_t)(host_end - auth), ret->host, sizeof ret->host))
            return ORIGIN_BAD_IPV6;
        if (host_end < auth_end && *host_end != ':')
            return ORIGIN_BAD_HOST;
    } else {
        host_end = auth;
        while (host_end < auth_end && *host_end != ':')
            host_end++;
        if (host_end == auth)
            return ORIGIN_NO_HOST;
        size_t n = 0;
        for (const char *c = auth; c < host_end; c++) {
            /* Letters, digits, '-', '.', '_': what a browser can put in a serialised origin's host
             * (internationalised names arrive in their xn-- form). */
            if (!is_alnum(*c) && *c != '-' && *c != '.' && *c != '_')
                return ORIGIN_BAD_HOST;
            ret->host[n++] = ascii_lower(*c);
        }
        ret->host[n] = '\0';
    }

    ret->port = ret->https ? 443 : 80;
    if (host_end < auth_end) { /* *host_end == ':' */
        if (!parse_port(host_end + 1, (size_t)(auth_end - host_end - 1), &ret->port))
            return ORIGIN_BAD_PORT;
    }

    const char *rest = auth_end;
    if (rest < end && *rest == '/') {
        const char *path_end = rest;
        while (path_end < end && *path_end != '?' && *path_end != '#')
            path_end++;
        if (!allow_slash || path_end - rest != 1)
            return ORIGIN_PATH;
        rest = path_end;
    }
    if (rest < end && *rest == '?')
        return ORIGIN_QUERY;
    if (rest < end && *rest == '#')
        return ORIGIN_FRAGMENT;
    return ORIGIN_OK;
}

/* scheme://host:port, or as a browser serialises it (default port omitted). */
static void origin_format(const origin_parts *o, bool browser_form, char *out, size_t out_size) {
    const char *scheme = o->https ? "https" : "http";
    unsigned default_port = o->https ? 443 : 80;
    if (browser_form && o->port == default_port)
        snprintf(out, out_size, "%s://%s", scheme, o->host);
    else
        snprintf(out, out_size, "%s://%s:%u", scheme, o->host, o->port);
}

/* Room for "https://" + host + ":65535". */
#define ORIGIN_TEXT_MAX (sizeof "https://" + CORS_ORIGIN_MAX + sizeof ":65535")

/* The entry as it appears in an error message: bounded, control characters escaped. */
static void quote_entry(const char *s, size_t len, char *out, size_t out_size) {
    size_t o = 0;
    const size_t shown_max = 120;
    for (size_t i = 0; i < len && i < shown_max && o + 5 < out_size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            o += (size_t)snprintf(out + o, out_size - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    if (len > shown_max && o + 4 < out_size) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

static const char *origin_error_rule(origin_error e) {
    switch (e) {
    case ORIGIN_OK:
        return "valid";
    case ORIGIN_TOO_LONG:
        return "entries are at most 2048 bytes";
    case ORIGIN_BAD_CHAR:
        return "spaces and control characters are not allowed inside an origin";
    case ORIGIN_NON_ASCII:
        return "non-ASCII characters are not allowed; write an internationalised host name in its xn-- "
               "(punycode) form";
    case ORIGIN_NULL:
        return "the \"null\" origin is not allowed (sandboxed pages and local files all send it)";
    case ORIGIN_WILDCARD:
        return "wildcards are not allowed; list each origin explicitly, e.g. \"https://app.example.com\"";
    case ORIGIN_NO_SCHEME:
        return "missing scheme: an origin must start with http:// or https://, e.g. \"https://app.example.com\"";
    case ORIGIN_BAD_SCHEME:
        return "the scheme must be http or https";
    case ORIGIN_NO_HOST:
        return "missing host: an origin is scheme://host[:port]";
    case ORIGIN_USERINFO:
        return "user information (\"user@\") is not allowed";
    case ORIGIN_BAD_HOST:
        return "the host may contain only letters, digits, '-', '.' and '_' (IPv6 addresses go in brackets)";
    case ORIGIN_BAD_IPV6:
        return "not a valid IPv6 address in brackets, e.g. \"http://[::1]:8080\"";
    case ORIGIN_BAD_PORT:
        return "the port must be a number from 1 to 65535";
    case ORIGIN_PATH:
        return "paths are not allowed (an origin is scheme://host[:port])";
    case ORIGIN_QUERY:
        return "query strings are not allowed (an origin is scheme://host[:port])";
    case ORIGIN_FRAGMENT:
        return "fragments are not allowed (an origin is scheme://host[:port])";
    }
    return "invalid origin";
}

static void free_origins(char **origins, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(origins[i]);
    free(origins);
}

int cors_policy_new(const char *csv, cors_policy **ret, error_info *err) {
    char **origins = NULL;
    size_t n = 0;
    size_t entries = 0;
    origin_parts *parts = malloc(sizeof *parts); /* 2 KiB host buffer: keep it off small stacks */
    if (!parts)
        return error_set(err, ENOMEM, "out of memory");

    const char *s = csv ? csv : "";
    for (;;) {
        const char *comma = strchr(s, ',');
        const char *end = comma ? comma : s + strlen(s);
        const char *b = s, *e = end;
        while (b < e && is_ows(*b))
            b++;
        while (e > b && is_ows(e[-1]))
            e--;
        size_t len = (size_t)(e - b);
        if (len > 0) {
            if (++entries > CORS_MAX_ORIGINS) {
                free(parts);
                free_origins(origins, n);
                return error_set(err, EINVAL,
                                 "ALLOWED_ORIGINS has more than %d entries; list only the origins of the web "
                                 "clients that call this server",
                                 CORS_MAX_ORIGINS);
            }
            origin_error oe = origin_parse(b, len, true, parts);
            if (oe != ORIGIN_OK) {
                char shown[512];
                quote_entry(b, len, shown, sizeof shown);
                free(parts);
                free_origins(origins, n);
                if (oe == ORIGIN_TOO_LONG)
                    return error_set(err, EINVAL, "ALLOWED_ORIGINS entry \"%s\" is too long: %zu bytes (%s)", shown,
                                     len, origin_error_rule(oe));
                return error_set(err, EINVAL, "ALLOWED_ORIGINS entry \"%s\" is invalid: %s", shown,
                                 origin_error_rule(oe));
            }
            char text[ORIGIN_TEXT_MAX];
            origin_format(parts, false, text, sizeof text);
            bool dup = false;
            for (size_t i = 0; i < n && !dup; i++)
                dup = strcmp(origins[i], text) == 0;
            if (!dup) {
                char **grown = realloc(origins, (n + 1) * sizeof *grown);
                char *copy = grown ? strdup(text) : NULL;
                if (grown)
                    origins = grown;
                if (!copy) {
                    free(parts);
                    free_origins(origins, n);
                    return error_set(err, ENOMEM, "out of memory");
                }
                origins[n++] = copy;
            }
        }
        if (!comma)
            break;
        s = comma + 1;
    }
    free(parts);

    cors_policy *p = calloc(1, sizeof *p);
    if (!p) {
        free_origins(origins, n);
        return error_set(err, ENOMEM, "out of memory");
    }
    p->origins = origins;
    p->n = n;
    *ret = p;
    return 0;
}

cors_policy *cors_policy_free(cors_policy *p) {
    if (p) {
        free_origins(p->origins, p->n);
        free(p);
    }
    return NULL;
}

void cors_policy_set_allow_credentials(cors_policy *p, bool allow) {
    if (p)
        p->allow_credentials = allow;
}

size_t cors_policy_count(const cors_policy *p) {
    return p ? p->n : 0;
}

const char *cors_policy_origin(const cors_policy *p, size_t i) {
    return p && i < p->n ? p->origins[i] : NULL;
}

/* Parses a request's Origin header (surrounding whitespace tolerated, no trailing "/": browsers
 * never send one). */
static bool request_origin_parse(const char *origin, origin_parts *ret) {
    if (!origin)
        return false;
    const char *b = origin, *e = origin + strnlen(origin, CORS_ORIGIN_MAX + 64);
    while (b < e && is_ows(*b))
        b++;
    while (e > b && is_ows(e[-1]))
        e--;
    return origin_parse(b, (size_t)(e - b), false, ret) == ORIGIN_OK;
}

static bool policy_contains(const cors_policy *p, const origin_parts *o) {
    if (!p || p->n == 0)
        return false;
    char text[ORIGIN_TEXT_MAX];
    origin_format(o, false, text, sizeof text);
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->origins[i], text) == 0)
            return true;
    return false;
}

bool cors_origin_allowed(const cors_policy *p, const char *origin) {
    origin_parts o;
    return request_origin_parse(origin, &o) && policy_contains(p, &o);
}

static bool is_loopback_name(const char *host_lower) {
    return strcmp(host_lower, "localhost") == 0 || strcmp(host_lower, "127.0.0.1") == 0 ||
           strcmp(host_lower, "[::1]") == 0;
}

/* Host header: 127.0.0.1, localhost or [::1] (any spelling of ::1), optionally with a valid port. */
static bool host_is_loopback(const char *host) {
    size_t len = strnlen(host, 300);
    if (len == 300) /* far longer than any loopback spelling; do not judge a truncated copy */
        return false;
    const char *b = host, *e = host + len;
    while (b < e && is_ows(*b))
        b++;
    while (e > b && is_ows(e[-1]))
        e--;
    const char *name_end;
    char name[INET6_ADDRSTRLEN + 3];
    if (b < e && *b == '[') {
        const char *close = memchr(b, ']', (size_t)(e - b));
        if (!close)
            return false;
        name_end = close + 1;
        if (!parse_ipv6_literal(b, (size_t)(name_end - b), name, sizeof name))
            return false;
    } else {
        name_end = b;
        while (name_end < e && *name_end != ':')
            name_end++;
        size_t n = (size_t)(name_end - b);
        if (n == 0 || n >= sizeof name)
            return false;
        for (size_t i = 0; i < n; i++)
            name[i] = ascii_lower(b[i]);
        name[n] = '\0';
    }
    if (name_end < e) {
        unsigned port;
        if (*name_end != ':' || !parse_port(name_end + 1, (size_t)(e - name_end - 1), &port))
            return false;
    }
    return is_loopback_name(name);
}

access_decision access_check(const cors_policy *p, bool bound_to_loopback, unsigned server_port, const char *host,
                             const char *origin) {
    if (bound_to_loopback && host && !host_is_loopback(host))
        return ACCESS_FORBIDDEN_HOST;
    if (!origin)
        return ACCESS_ALLOW;
    origin_parts *o = malloc(sizeof *o);
    if (!o)
        return ACCESS_FORBIDDEN_ORIGIN; /* fail closed */
    access_decision d = ACCESS_FORBIDDEN_ORIGIN;
    if (request_origin_parse(origin, o)) {
        if (policy_contains(p, o))
            d = ACCESS_ALLOW;
        else if (bound_to_loopback && is_loopback_name(o->host) && (server_port == 0 || o->port == server_port))
            d = ACCESS_ALLOW;
    }
    free(o);
    return d;
}

void cors_response_headers(const cors_policy *p, const char *origin, bool preflight,
                           void (*add)(void *opaque, const char *name, const char *value), void *opaque) {
    origin_parts *o = malloc(sizeof *o);
    if (!o)
        return;
    if (request_origin_parse(origin, o) && policy_contains(p, o)) {
        char text[ORIGIN_TEXT_MAX];
        origin_format(o, true, text, sizeof text);
        add(opaque, "Access-Control-Allow-Origin", text);
        add(opaque, "Vary", "Origin");
        if (p->allow_credentials)
            add(opaque, "Access-Control-Allow-Credentials", "true");
        add(opaque, "Access-Control-Expose-Headers", "Mcp-Session-Id, WWW-Authenticate, MCP-Protocol-Version");
        if (preflight) {
            add(opaque, "Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
            add(opaque, "Access-Control-Allow-Headers",
                "Authorization, Content-Type, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID, "
                "kubernetes-authorization");
            add(opaque, "Access-Control-Max-Age", CORS_PREFLIGHT_MAX_AGE);
        }
    }
    free(o);
}
