/* Strict TOML 1.0 parser; see toml.h for the mapping onto jansson values.
 *
 * The tree is built directly as jansson objects. The redefinition rules of TOML need to know how each
 * table came to exist, which a json_t cannot record, so a side map keyed by the object's address
 * holds that for every table and array that may still grow. Anything not in the map (inline tables,
 * static arrays, scalars) is immutable once parsed. */
#include "core/toml.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

/* How a table or array came to exist (values in the side map). 0 / absent = immutable. */
enum {
    ORIGIN_IMPLICIT = 1u << 0, /* created as the parent in a [a.b] header; may be defined once later */
    ORIGIN_HEADER = 1u << 1,   /* defined by its own [header] or [[header]] element */
    ORIGIN_DOTTED = 1u << 2,   /* created by a dotted key a.b = 1 */
    ORIGIN_TABLE_ARRAY = 1u << 3, /* array created by [[header]]: more elements may be appended */
};

typedef struct origin_slot {
    const void *key;
    unsigned origin;
} origin_slot;

typedef struct origin_map {
    origin_slot *slots;
    size_t cap; /* power of two */
    size_t count;
} origin_map;

typedef struct key_part {
    char *name; /* decoded, NUL-terminated, may contain NUL */
    size_t len;
    size_t pos; /* byte offset of the part in the source, for errors */
} key_part;

typedef struct key_path {
    key_part *parts;
    size_t count;
    size_t cap;
} key_path;

typedef struct parser {
    const char *src;
    size_t len;
    size_t pos;
    const char *source_name;
    error_info *err;
    unsigned max_depth;
    size_t max_string_bytes;

    json_t *root;
    json_t *current;          /* table that key/value lines go into (borrowed) */
    unsigned current_depth;   /* number of header parts that led to it */
    origin_map origins;

    json_t *key_lines;        /* optional: path -> line */
    buf current_path;         /* path of the current table, for key_lines */

    /* Line lookup cache: positions are mostly asked in increasing order. */
    size_t line_cache_pos;
    size_t line_cache_line;
} parser;

/* ---- origin map ---- */

static size_t origin_hash(const void *key, size_t cap) {
    uint64_t h = (uint64_t)(uintptr_t)key;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (size_t)h & (cap - 1);
}

static unsigned origin_get(const origin_map *m, const void *key) {
    if (!m->cap)
        return 0;
    for (size_t i = origin_hash(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].key == key)
            return m->slots[i].origin;
        if (!m->slots[i].key)
            return 0;
    }
}

static int origin_set(origin_map *m, const void *key, unsigned origin) {
    if ((m->count + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        origin_slot *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return -ENOMEM;
        for (size_t j = 0; j < m->cap; j++) {
            if (!m->slots[j].key)
                continue;
            size_t i = origin_hash(m->slots[j].key, cap);
            while (slots[i].key)
                i = (i + 1) & (cap - 1);
            slots[i] = m->slots[j];
        }
        free(m->slots);
        m->slots = slots;
        m->cap = cap;
    }
    size_t i = origin_hash(key, m->cap);
    while (m->slots[i].key && m->slots[i].key != key)
        i = (i + 1) & (m->cap - 1);
    if (!m->slots[i].key)
        m->count++;
    m->slots[i].key = key;
    m->slots[i].origin = origin;
    return 0;
}

/* ---- positions and errors ---- */

static size_t line_of(parser *p, size_t pos, size_t *ret_line_start) {
    if (pos < p->line_cache_pos) {
        p->line_cache_pos = 0;
        p->line_cache_line = 1;
    }
    for (size_t i = p->line_cache_pos; i < pos && i < p->len; i++)
        if (p->src[i] == '\n')
            p->line_cache_line++;
    p->line_cache_pos = pos;
    if (ret_line_start) {
        size_t s = pos > p->len ? p->len : pos;
        while (s > 0 && p->src[s - 1] != '\n')
            s--;
        *ret_line_start = s;
    }
    return p->line_cache_line;
}

static int fail_code(parser *p, int code, size_t pos, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail_code(parser *p, int code, size_t pos, const char *fmt, ...) {
    if (pos > p->len)
        pos = p->len;
    size_t line_start = 0;
    size_t line = line_of(p, pos, &line_start);
    size_t column = 1;
    for (size_t i = line_start; i < pos; i++)
        if (((unsigned char)p->src[i] & 0xC0) != 0x80)
            column++;
    if (p->err) {
        char what[ERROR_INFO_MESSAGE_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        error_set(p->err, code, "%s:%zu:%zu: %s", p->source_name, line, column, what);
    }
    return -code;
}

#define fail(p, pos, ...) fail_code((p), EINVAL, (pos), __VA_ARGS__)

static int fail_oom(parser *p) {
    return fail_code(p, ENOMEM, p->pos, "out of memory while parsing");
}

/* Describes the character at pos for "found X" messages. */
static const char *describe_char(parser *p, size_t pos, char out[16]) {
    if (pos >= p->len)
        return "end of file";
    unsigned char c = (unsigned char)p->src[pos];
    if (c == '\n' || c == '\r')
        return "end of line";
    if (c < 0x20 || c == 0x7f)
        snprintf(out, 16, "U+%04X", c);
    else if (c >= 0x80)
        return "a non-ASCII character";
    else
        snprintf(out, 16, "'%c'", c);
    return out;
}

/* ---- character helpers ---- */

static int peek_at(const parser *p, size_t offset) {
    return p->pos + offset < p->len ? (unsigned char)p->src[p->pos + offset] : -1;
}

static int peek(const parser *p) {
    return peek_at(p, 0);
}

static bool is_ws(int c) {
    return c == ' ' || c == '\t';
}

static bool is_digit(int c) {
    return c >= '0' && c <= '9';
}

static bool is_bare_key_char(int c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '-';
}

static bool is_control(int c) {
    return (c >= 0 && c < 0x20 && c != '\t') || c == 0x7f;
}

static void skip_ws(parser *p) {
    while (is_ws(peek(p)))
        p->pos++;
}

/* Validates the whole document as UTF-8 up front, so later stages can copy non-ASCII bytes as they
 * are. Rejects overlong forms, surrogates and code points above U+10FFFF. */
static int check_utf8(parser *p) {
    const unsigned char *s = (const unsigned char *)p->src;
    size_t i = 0;
    while (i < p->len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t need;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            need = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return fail(p, i, "invalid UTF-8 byte 0x%02X; TOML files must be saved as UTF-8", c);
        }
        if (p->len - i <= need)
            return fail(p, i, "truncated UTF-8 sequence; TOML files must be saved as UTF-8");
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return fail(p, i, "invalid UTF-8 sequence; TOML files must be saved as UTF-8");
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000))
            return fail(p, i, "overlong UTF-8 sequence; TOML files must be saved as UTF-8");
        if (cp >= 0xD800 && cp <= 0xDFFF)
            return fail(p, i, "UTF-8 encoded surrogate U+%04X is not a valid character", (unsigned)cp);
        if (cp > 0x10FFFF)
            return fail(p, i, "code point above U+10FFFF is not a valid character");
        i += need + 1;
    }
    return 0;
}

/* Consumes LF or CRLF. Returns 1 if a newline was consumed, 0 if none is here, <0 on a lone CR. */
static int eat_newline(parser *p) {
    int c = peek(p);
    if (c == '\n') {
        p->pos++;
        return 1;
    }
    if (c == '\r') {
        if (peek_at(p, 1) == '\n') {
            p->pos += 2;
            return 1;
        }
        return fail(p, p->pos, "carriage return (U+000D) not followed by a line feed; use LF or CRLF line endings");
    }
    return 0;
}

/* Skips a comment if one starts here (not the newline that ends it). */
static int skip_comment(parser *p) {
    if (peek(p) != '#')
        return 0;
    p->pos++;
    for (;;) {
        int c = peek(p);
        if (c < 0 || c == '\n')
            return 0;
        if (c == '\r') {
            if (peek_at(p, 1) == '\n')
                return 0;
            return fail(p, p->pos, "carriage return (U+000D) not followed by a line feed; use LF or CRLF line endings");
        }
        if (is_control(c))
            return fail(p, p->pos, "control character U+%04X is not allowed in a comment; remove it", (unsigned)c);
        p->pos++;
    }
}

/* After a value or header: optional whitespace and comment, then a newline or the end of input. */
static int expect_end_of_line(parser *p, const char *after) {
    skip_ws(p);
    int r = skip_comment(p);
    if (r < 0)
        return r;
    if (peek(p) < 0)
        return 0;
    r = eat_newline(p);
    if (r < 0)
        return r;
    if (r == 0) {
        char tmp[16];
        return fail(p, p->pos, "expected a newline after %s, found %s; put each key = value on its own line",
                    after, describe_char(p, p->pos, tmp));
    }
    return 0;
}

/* Whitespace, comments and newlines (inside arrays). */
static int skip_ws_comments_newlines(parser *p) {
    for (;;) {
        skip_ws(p);
        int r = skip_comment(p);
        if (r < 0)
            return r;
        r = eat_newline(p);
        if (r < 0)
            return r;
        if (r == 0)
            return 0;
    }
}

/* ---- strings ---- */

static int append_utf8(buf *b, uint32_t cp) {
    char out[4];
    size_t n;
    if (cp < 0x80) {
        out[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_append(b, out, n);
}

static int string_append(parser *p, buf *b, const void *data, size_t n, size_t start) {
    int r = buf_append(b, data, n);
    if (r == -EMSGSIZE)
        return fail_code(p, E2BIG, start, "string is longer than the limit of %zu bytes; shorten it",
                         p->max_string_bytes);
    if (r < 0)
        return fail_oom(p);
    return 0;
}

/* Parses the escape at p->pos (which is the backslash). */
static int parse_escape(parser *p, buf *b, size_t start) {
    size_t esc_pos = p->pos;
    int c = peek_at(p, 1);
    char simple = 0;
    switch (c) {
    case 'b': simple = '\b'; break;
    case 't': simple = '\t'; break;
    case 'n': simple = '\n'; break;
    case 'f': simple = '\f'; break;
    case 'r': simple = '\r'; break;
    case '"': simple = '"'; break;
    case '\\': simple = '\\'; break;
    case 'u':
    case 'U': {
        size_t digits = c == 'u' ? 4 : 8;
        uint32_t cp = 0;
        for (size_t i = 0; i < digits; i++) {
            int h = peek_at(p, 2 + i);
            uint32_t v;
            if (h >= '0' && h <= '9')
                v = (uint32_t)(h - '0');
            else if (h >= 'a' && h <= 'f')
                v = (uint32_t)(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F')
                v = (uint32_t)(h - 'A' + 10);
            else
                return fail(p, esc_pos, "\\%c escape needs exactly %zu hexadecimal digits", c, digits);
            cp = (cp << 4) | v;
        }
        if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
            return fail(p, esc_pos, "escape \\%c%0*X is not a Unicode scalar value (surrogates and values above 10FFFF are not allowed)",
                        c, (int)digits, (unsigned)cp);
        p->pos += 2 + digits;
        int r = append_utf8(b, cp);
        if (r == -EMSGSIZE)
            return fail_code(p, E2BIG, start, "string is longer than the limit of %zu bytes; shorten it",
                             p->max_string_bytes);
        return r < 0 ? fail_oom(p) : 0;
    }
    default: {
        char tmp[16];
        return fail(p, esc_pos, "invalid escape sequence \\%s; valid escapes are \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX",
                    c < 0 ? "" : describe_char(p, esc_pos + 1, tmp));
    }
    }
    p->pos += 2;
    return string_append(p, b, &simple, 1, start);
}

static int control_char_error(parser *p, int c, const char *where) {
    if (c == '\n' || c == '\r')
        return fail(p, p->pos, "%s cannot span lines; close it with the quote or use a multi-line string", where);
    return fail(p, p->pos, "control character U+%04X is not allowed in %s; write it as an escape (\\u%04X)",
                (unsigned)c, where, (unsigned)c);
}

/* "basic" or 'literal' single-line string starting at p->pos (the quote). */
static int parse_single_line_string(parser *p, buf *b) {
    size_t start = p->pos;
    char quote = p->src[p->pos];
    bool basic = quote == '"';
    p->pos++;
    for (;;) {
        int c = peek(p);
        if (c < 0)
            return fail(p, start, "unterminated string; add the closing %c", quote);
        if (c == quote) {
            p->pos++;
            return 0;
        }
        if (basic && c == '\\') {
            int r = parse_escape(p, b, start);
            if (r < 0)
                return r;
            continue;
        }
        if (is_control(c))
            return control_char_error(p, c, "a string");
        char ch = (char)c;
        int r = string_append(p, b, &ch, 1, start);
        if (r < 0)
            return r;
        p->pos++;
    }
}

/* """basic""" or '''literal''' multi-line string starting at p->pos (the first quote). */
static int parse_multi_line_string(parser *p, buf *b) {
    size_t start = p->pos;
    char quote = p->src[p->pos];
    bool basic = quote == '"';
    p->pos += 3;
    /* A newline right after the opening delimiter is not part of the string. */
    int r = eat_newline(p);
    if (r < 0)
        return r;
    for (;;) {
        int c = peek(p);
        if (c < 0)
            return fail(p, start, "unterminated multi-line string; add the closing %c%c%c", quote, quote, quote);
        if (c == quote) {
            size_t run = 0;
            while (peek_at(p, run) == quote && run < 6)
                run++;
            if (run >= 3) {
                if (run == 6)
                    return fail(p, p->pos, "too many quotes: a multi-line string may end with at most two quotes before its closing delimiter");
                r = string_append(p, b, p->src + p->pos, run - 3, start);
                if (r < 0)
                    return r;
                p->pos += run;
                return 0;
            }
            r = string_append(p, b, p->src + p->pos, run, start);
            if (r < 0)
                return r;
            p->pos += run;
            continue;
        }
        if (basic && c == '\\') {
            /* A backslash that ends a line swallows the newline and the whitespace after it. */
            size_t look = 1;
            while (is_ws(peek_at(p, look)))
                look++;
            int next = peek_at(p, look);
            if (next == '\n' || (next == '\r' && peek_at(p, look + 1) == '\n')) {
                p->pos += look;
                for (;;) {
                    skip_ws(p);
                    r = eat_newline(p);
                    if (r < 0)
                        return r;
                    if (r == 0)
                        break;
                }
                continue;
            }
            r = parse_escape(p, b, start);
            if (r < 0)
                return r;
            continue;
        }
        if (c == '\n' || c == '\r') {
            size_t nl_start = p->pos;
            r = eat_newline(p);
            if (r < 0)
                return r;
            r = string_append(p, b, p->src + nl_start, p->pos - nl_start, start);
            if (r < 0)
                return r;
            continue;
        }
        if (is_control(c))
            return control_char_error(p, c, "a string");
        char ch = (char)c;
        r = string_append(p, b, &ch, 1, start);
        if (r < 0)
            return r;
        p->pos++;
    }
}

static bool at_triple_quote(const parser *p) {
    int q = peek(p);
    return (q == '"' || q == '\'') && peek_at(p, 1) == q && peek_at(p, 2) == q;
}

static int parse_string_value(parser *p, json_t **ret) {
    buf b;
    buf_init(&b, p->max_string_bytes);
    int r = at_triple_quote(p) ? parse_multi_line_string(p, &b) : parse_single_line_string(p, &b);
    if (r < 0) {
        buf_free(&b);
        return r;
    }
    json_t *s = json_stringn(b.data ? b.data : "", b.len);
    buf_free(&b);
    if (!s)
        return fail_oom(p);
    *ret = s;
    return 0;
}

/* ---- keys ---- */

static void key_path_clear(key_path *k) {
    for (size_t i = 0; i < k->count; i++)
        free(k->parts[i].name);
    free(k->parts);
    k->parts = NULL;
    k->count = k->cap = 0;
}

/* Parses a bare, quoted or dotted key; stops at the first character after it (and its whitespace). */
static int parse_key(parser *p, key_path *k, unsigned depth_budget) {
    for (;;) {
        skip_ws(p);
        size_t start = p->pos;
        int c = peek(p);
        buf b;
        buf_init(&b, p->max_string_bytes);
        int r = 0;
        if (c == '"' || c == '\'') {
            if (at_triple_quote(p))
                r = fail(p, start, "a multi-line string cannot be used as a key; use a \"quoted\" key");
            else
                r = parse_single_line_string(p, &b);
        } else if (is_bare_key_char(c)) {
            while (is_bare_key_char(peek(p)))
                p->pos++;
            r = string_append(p, &b, p->src + start, p->pos - start, start);
        } else {
            char tmp[16];
            r = fail(p, start, "expected a key, found %s; keys are bare (A-Za-z0-9_-) or quoted",
                     describe_char(p, start, tmp));
        }
        if (r < 0) {
            buf_free(&b);
            return r;
        }
        if (k->count >= depth_budget) {
            buf_free(&b);
            return fail_code(p, E2BIG, start, "key nests deeper than the limit of %u levels", depth_budget);
        }
        if (k->count == k->cap) {
            size_t cap = k->cap ? k->cap * 2 : 4;
            key_part *parts = realloc(k->parts, cap * sizeof *parts);
            if (!parts) {
                buf_free(&b);
                return fail_oom(p);
            }
            k->parts = parts;
            k->cap = cap;
        }
        size_t len = b.len;
        char *name = buf_steal(&b);
        if (!name) {
            name = strdup("");
            if (!name)
                return fail_oom(p);
        }
        k->parts[k->count++] = (key_part){.name = name, .len = len, .pos = start};
        skip_ws(p);
        if (peek(p) != '.')
            return 0;
        p->pos++;
    }
}

/* Appends a readable form of key parts to a path buffer (for key_lines and messages). */
static int path_append_parts(buf *path, const key_path *k, size_t count) {
    for (size_t i = 0; i < count; i++) {
        int r = buf_printf(path, "%s%.*s", path->len ? "." : "", (int)k->parts[i].len, k->parts[i].name);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Key parts 0..upto as "a.b.c" for error messages. */
static const char *key_text(const key_path *k, size_t upto, char *out, size_t out_size) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i <= upto && i < k->count; i++) {
        int n = snprintf(out + used, out_size - used, "%s%.*s", i ? "." : "", (int)k->parts[i].len,
                         k->parts[i].name);
        if (n < 0 || (size_t)n >= out_size - used)
            break;
        used += (size_t)n;
    }
    return out;
}

static int record_key_line(parser *p, const buf *prefix, const key_path *k, size_t key_pos) {
    if (!p->key_lines)
        return 0;
    buf path;
    buf_init(&path, 64 * 1024);
    int r = prefix->len ? buf_append(&path, prefix->data, prefix->len) : 0;
    if (r == 0)
        r = path_append_parts(&path, k, k->count);
    if (r == 0) {
        json_t *line = json_integer((json_int_t)line_of(p, key_pos, NULL));
        r = line ? json_object_set_new(p->key_lines, path.data ? path.data : "", line) : -ENOMEM;
    }
    buf_free(&path);
    /* A path too long to record is not a parse error: it only loses a line number. */
    return r == -ENOMEM ? fail_oom(p) : 0;
}

/* ---- tables ---- */

static const char *value_kind_for_message(const json_t *v, unsigned origin) {
    if (json_is_object(v)) {
        if (toml_is_datetime(v) || toml_is_special_float(v))
            return "a value";
        return origin ? "a table" : "an inline table (inline tables cannot be extended)";
    }
    if (json_is_array(v))
        return origin & ORIGIN_TABLE_ARRAY ? "an array of tables" : "an array (static arrays cannot be extended)";
    return "a value";
}

static int new_table(parser *p, unsigned origin, json_t **ret) {
    json_t *t = json_object();
    if (!t || origin_set(&p->origins, t, origin) < 0) {
        json_decref(t);
        return fail_oom(p);
    }
    *ret = t;
    return 0;
}

static int attach(parser *p, json_t *table, const key_part *part, json_t *value) {
    if (json_object_setn_new(table, part->name, part->len, value) < 0)
        return fail_oom(p);
    return 0;
}

/* [a.b.c] or [[a.b.c]]: finds or creates the table that following key/value lines fill. */
static int open_table(parser *p, const key_path *k, bool array_of_tables, size_t header_pos) {
    char name[256];
    json_t *t = p->root;
    buf_reset(&p->current_path);
    int r;
    for (size_t i = 0; i < k->count; i++) {
        const key_part *part = &k->parts[i];
        bool last = i + 1 == k->count;
        json_t *child = json_object_getn(t, part->name, part->len);
        unsigned origin = child ? origin_get(&p->origins, child) : 0;
        r = buf_printf(&p->current_path, "%s%.*s", i ? "." : "", (int)part->len, part->name);
        if (r == -ENOMEM)
            return fail_oom(p);

        if (!child) {
            if (last && array_of_tables) {
                json_t *array = json_array();
                if (!array || origin_set(&p->origins, array, ORIGIN_TABLE_ARRAY) < 0) {
                    json_decref(array);
                    return fail_oom(p);
                }
                if ((r = attach(p, t, part, array)) < 0)
                    return r;
                json_t *element = NULL;
                if ((r = new_table(p, ORIGIN_HEADER, &element)) < 0)
                    return r;
                if (json_array_append_new(array, element) < 0)
                    return fail_oom(p);
                buf_append_str(&p->current_path, "[0]");
                t = element;
            } else {
                if ((r = new_table(p, last ? ORIGIN_HEADER : ORIGIN_IMPLICIT, &child)) < 0)
                    return r;
                if ((r = attach(p, t, part, child)) < 0)
                    return r;
                t = child;
            }
            continue;
        }

        if (!last) {
            if (json_is_object(child) && origin) {
                t = child;
            } else if (json_is_array(child) && (origin & ORIGIN_TABLE_ARRAY)) {
                size_t n = json_array_size(child);
                buf_printf(&p->current_path, "[%zu]", n - 1);
                t = json_array_get(child, n - 1);
            } else {
                return fail(p, part->pos, "cannot define table [%s]: key \"%s\" is already %s",
                            key_text(k, k->count - 1, name, sizeof name), key_text(k, i, (char[256]){0}, 256),
                            value_kind_for_message(child, origin));
            }
            continue;
        }

        const char *header = key_text(k, k->count - 1, name, sizeof name);
        if (array_of_tables) {
            if (!json_is_array(child) || !(origin & ORIGIN_TABLE_ARRAY))
                return fail(p, header_pos, "cannot define array of tables [[%s]]: \"%s\" is already %s",
                            header, header, value_kind_for_message(child, origin));
            json_t *element = NULL;
            if ((r = new_table(p, ORIGIN_HEADER, &element)) < 0)
                return r;
            if (json_array_append_new(child, element) < 0)
                return fail_oom(p);
            buf_printf(&p->current_path, "[%zu]", json_array_size(child) - 1);
            t = element;
        } else if (json_is_object(child) && origin == ORIGIN_IMPLICIT) {
            /* Created as a parent of an earlier [a.b.c]; this is its one definition. */
            if ((r = origin_set(&p->origins, child, ORIGIN_HEADER)) < 0)
                return fail_oom(p);
            t = child;
        } else if (json_is_object(child) && (origin & ORIGIN_HEADER)) {
            return fail(p, header_pos, "table [%s] is defined more than once; merge the two sections", header);
        } else if (json_is_object(child) && (origin & ORIGIN_DOTTED)) {
            return fail(p, header_pos, "table [%s] was already defined with dotted keys; a table is defined only once", header);
        } else {
            return fail(p, header_pos, "cannot define table [%s]: \"%s\" is already %s", header, header,
                        value_kind_for_message(child, origin));
        }
    }
    p->current = t;
    p->current_depth = (unsigned)k->count;
    return 0;
}

/* key = value into table: creates the tables named by dotted key parts. Takes ownership of value. */
static int assign(parser *p, json_t *table, const key_path *k, json_t *value) {
    char name[256];
    json_t *t = table;
    for (size_t i = 0; i + 1 < k->count; i++) {
        const key_part *part = &k->parts[i];
        json_t *child = json_object_getn(t, part->name, part->len);
        if (!child) {
            int r = new_table(p, ORIGIN_DOTTED, &child);
            if (r == 0)
                r = attach(p, t, part, child);
            if (r < 0) {
                json_decref(value);
                return r;
            }
        } else {
            unsigned origin = origin_get(&p->origins, child);
            if (!json_is_object(child) || !(origin & ORIGIN_DOTTED)) {
                json_decref(value);
                if (json_is_object(child) && origin)
                    return fail(p, part->pos, "dotted key \"%s\" cannot add to table \"%s\", which is defined by a [header]; "
                                "put the key in that table's section",
                                key_text(k, k->count - 1, name, sizeof name), key_text(k, i, (char[256]){0}, 256));
                return fail(p, part->pos, "cannot set \"%s\": \"%s\" is already %s",
                            key_text(k, k->count - 1, name, sizeof name), key_text(k, i, (char[256]){0}, 256),
                            value_kind_for_message(child, origin));
            }
        }
        t = child;
    }
    const key_part *last = &k->parts[k->count - 1];
    if (json_object_getn(t, last->name, last->len)) {
        json_decref(value);
        return fail(p, k->parts[0].pos, "key \"%s\" is defined more than once; remove one of the definitions",
                    key_text(k, k->count - 1, name, sizeof name));
    }
    return attach(p, t, last, value);
}

/* ---- scalars ---- */

static bool is_token_char(int c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '-' ||
           c == '+' || c == '.' || c == ':';
}

static bool all_digits(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!is_digit((unsigned char)s[i]))
            return false;
    return true;
}

static unsigned two_digits(const char *s) {
    return (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
}

static bool is_leap_year(unsigned y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Checks "HH:MM:SS[.frac]" at s; returns its length or 0. */
static size_t scan_time(const char *s, size_t n) {
    if (n < 8 || !all_digits(s, 2) || s[2] != ':' || !all_digits(s + 3, 2) || s[5] != ':' || !all_digits(s + 6, 2))
        return 0;
    if (two_digits(s) > 23 || two_digits(s + 3) > 59 || two_digits(s + 6) > 59)
        return 0;
    size_t i = 8;
    if (i < n && s[i] == '.') {
        i++;
        size_t digits = 0;
        while (i < n && is_digit((unsigned char)s[i])) {
            i++;
            digits++;
        }
        if (!digits)
            return 0;
    }
    return i;
}

static bool valid_date(const char *s) {
    if (!all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) || s[7] != '-' || !all_digits(s + 8, 2))
        return false;
    unsigned year = (unsigned)(s[0] - '0') * 1000 + (unsigned)(s[1] - '0') * 100 + two_digits(s + 2);
    unsigned month = two_digits(s + 5), day = two_digits(s + 8);
    static const unsigned days_in_month[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12 || day < 1)
        return false;
    unsigned max = days_in_month[month - 1] + (month == 2 && is_leap_year(year) ? 1 : 0);
    return day <= max;
}

static int make_marker(parser *p, const char *key, const char *text, const char *kind, json_t **ret) {
    json_t *o = json_object();
    if (!o || json_object_set_new(o, key, json_string(text)) < 0 ||
        (kind && json_object_set_new(o, TOML_DATETIME_KIND_KEY, json_string(kind)) < 0)) {
        json_decref(o);
        return fail_oom(p);
    }
    *ret = o;
    return 0;
}

static int parse_datetime(parser *p, const char *s, size_t n, size_t start, json_t **ret) {
    char canon[96];
    const char *kind;
    if (n > 64)
        return fail(p, start, "invalid date-time value; use RFC 3339, e.g. 1979-05-27T07:32:00Z");
    if (n >= 3 && is_digit((unsigned char)s[0]) && is_digit((unsigned char)s[1]) && s[2] == ':') {
        size_t t = scan_time(s, n);
        if (t != n)
            return fail(p, start, "invalid local time; use HH:MM:SS with hours 00-23, minutes and seconds 00-59");
        memcpy(canon, s, n);
        canon[n] = '\0';
        return make_marker(p, TOML_DATETIME_KEY, canon, "local-time", ret);
    }
    if (n < 10 || !valid_date(s))
        return fail(p, start, "invalid date; use YYYY-MM-DD with a real month and day");
    memcpy(canon, s, 10);
    if (n == 10) {
        canon[10] = '\0';
        return make_marker(p, TOML_DATETIME_KEY, canon, "local-date", ret);
    }
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        return fail(p, start, "invalid date-time; separate date and time with 'T' or a space");
    canon[10] = 'T';
    size_t t = scan_time(s + 11, n - 11);
    if (!t)
        return fail(p, start, "invalid time in date-time; use HH:MM:SS with hours 00-23, minutes and seconds 00-59");
    memcpy(canon + 11, s + 11, t);
    size_t i = 11 + t;
    if (i == n) {
        canon[i] = '\0';
        kind = "local-datetime";
    } else if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
        canon[i] = 'Z';
        canon[i + 1] = '\0';
        kind = "offset-datetime";
    } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && all_digits(s + i + 1, 2) && s[i + 3] == ':' &&
               all_digits(s + i + 4, 2) && two_digits(s + i + 1) <= 23 && two_digits(s + i + 4) <= 59) {
        memcpy(canon + i, s + i, 6);
        canon[i + 6] = '\0';
        kind = "offset-datetime";
    } else {
        return fail(p, start, "invalid time offset in date-time; use Z or +HH:MM / -HH:MM");
    }
    return make_marker(p, TOML_DATETIME_KEY, canon, kind, ret);
}

/* Digits with single underscores strictly between digits. Copies the digits to out. */
static bool copy_digits(const char *s, size_t n, bool (*digit_ok)(int), char *out, size_t *out_len) {
    if (n == 0 || !digit_ok((unsigned char)s[0]) || !digit_ok((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '_') {
            if (!digit_ok((unsigned char)s[i + 1]))
                return false; /* "__": s[n-1] is a digit so i + 1 < n */
            continue;
        }
        if (!digit_ok((unsigned char)s[i]))
            return false;
        out[(*out_len)++] = s[i];
    }
    return true;
}

static bool dec_digit(int c) { return is_digit(c); }
static bool hex_digit(int c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static bool oct_digit(int c) { return c >= '0' && c <= '7'; }
static bool bin_digit(int c) { return c == '0' || c == '1'; }

static int parse_radix_integer(parser *p, const char *s, size_t n, size_t start, json_t **ret) {
    char digits[128];
    size_t count = 0;
    unsigned base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
    bool (*ok)(int) = base == 16 ? hex_digit : base == 8 ? oct_digit : bin_digit;
    if (n - 2 > sizeof digits || !copy_digits(s + 2, n - 2, ok, digits, &count))
        return fail(p, start, "invalid %s integer; use digits%s with single underscores between them",
                    base == 16 ? "hexadecimal" : base == 8 ? "octal" : "binary",
                    base == 16 ? " 0-9a-f" : base == 8 ? " 0-7" : " 0-1");
    uint64_t v = 0;
    for (size_t i = 0; i < count; i++) {
        int c = (unsigned char)digits[i];
        unsigned d = is_digit(c) ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
        if (v > ((uint64_t)INT64_MAX - d) / base)
            return fail(p, start, "integer is too large; TOML integers must fit in 64 bits (at most 9223372036854775807)");
        v = v * base + d;
    }
    json_t *j = json_integer((json_int_t)v);
    if (!j)
        return fail_oom(p);
    *ret = j;
    return 0;
}

static int parse_decimal_integer(parser *p, const char *s, size_t n, size_t start, json_t **ret) {
    char digits[128];
    size_t count = 0;
    bool negative = false;
    size_t i = 0;
    if (s[0] == '+' || s[0] == '-') {
        negative = s[0] == '-';
        i = 1;
    }
    if (n - i > sizeof digits || !copy_digits(s + i, n - i, dec_digit, digits, &count))
        return fail(p, start, "invalid value; expected a string, number, boolean, date, array or inline table "
                    "(strings need quotes)");
    if (count > 1 && digits[0] == '0')
        return fail(p, start, "integers cannot have leading zeros; write the number without them");
    /* Accumulate towards the negative so INT64_MIN is representable. */
    int64_t v = 0;
    for (size_t k = 0; k < count; k++) {
        int d = digits[k] - '0';
        if (v < (INT64_MIN + d) / 10)
            goto overflow;
        v = v * 10 - d;
    }
    if (!negative) {
        if (v == INT64_MIN)
            goto overflow;
        v = -v;
    }
    json_t *j = json_integer((json_int_t)v);
    if (!j)
        return fail_oom(p);
    *ret = j;
    return 0;
overflow:
    return fail(p, start, "integer is out of range; TOML integers must fit in 64 bits (-9223372036854775808 to 9223372036854775807)");
}

static int parse_float(parser *p, const char *s, size_t n, size_t start, json_t **ret) {
    char clean[160];
    size_t len = 0;
    size_t i = 0;
    static const char bad[] = "invalid float; use forms such as 1.5, -0.25, 6.02e23 (digits on both sides of '.')";
    if (n >= sizeof clean - 1)
        return fail(p, start, "%s", bad);
    if (s[0] == '+' || s[0] == '-')
        clean[len++] = s[i++];
    /* integer part */
    size_t int_start = i;
    while (i < n && (is_digit((unsigned char)s[i]) || s[i] == '_'))
        i++;
    size_t int_len = len;
    if (!copy_digits(s + int_start, i - int_start, dec_digit, clean, &len))
        return fail(p, start, "%s", bad);
    if (len - int_len > 1 && clean[int_len] == '0')
        return fail(p, start, "floats cannot have leading zeros in the integer part");
    bool has_frac = false, has_exp = false;
    if (i < n && s[i] == '.') {
        has_frac = true;
        clean[len++] = s[i++];
        size_t frac_start = i;
        while (i < n && (is_digit((unsigned char)s[i]) || s[i] == '_'))
            i++;
        if (!copy_digits(s + frac_start, i - frac_start, dec_digit, clean, &len))
            return fail(p, start, "%s", bad);
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        has_exp = true;
        clean[len++] = s[i++];
        if (i < n && (s[i] == '+' || s[i] == '-'))
            clean[len++] = s[i++];
        size_t exp_start = i;
        while (i < n && (is_digit((unsigned char)s[i]) || s[i] == '_'))
            i++;
        if (!copy_digits(s + exp_start, i - exp_start, dec_digit, clean, &len))
            return fail(p, start, "%s", bad);
    }
    if (i != n || (!has_frac && !has_exp))
        return fail(p, start, "%s", bad);
    clean[len] = '\0';
    /* The program never calls setlocale, so strtod reads '.' as the decimal point. */
    errno = 0;
    double d = strtod(clean, NULL);
    if (errno == ERANGE && isinf(d))
        return fail(p, start, "float is out of range for a 64-bit IEEE 754 number");
    json_t *j = json_real(d);
    if (!j)
        return fail_oom(p);
    *ret = j;
    return 0;
}

/* Numbers, dates, booleans, inf/nan: a run of token characters at p->pos. */
static int parse_bare_value(parser *p, json_t **ret) {
    size_t start = p->pos;
    size_t end = start;
    while (end < p->len && is_token_char((unsigned char)p->src[end]))
        end++;
    /* "1979-05-27 07:32:00": a date followed by a space and a time is one value. */
    if (end - start == 10 && end + 3 < p->len && p->src[end] == ' ' && is_digit((unsigned char)p->src[end + 1]) &&
        is_digit((unsigned char)p->src[end + 2]) && p->src[end + 3] == ':' && valid_date(p->src + start)) {
        end++;
        while (end < p->len && is_token_char((unsigned char)p->src[end]))
            end++;
    }
    const char *s = p->src + start;
    size_t n = end - start;
    if (n == 0) {
        char tmp[16];
        return fail(p, start, "expected a value, found %s", describe_char(p, start, tmp));
    }
    p->pos = end;
    int r;
    if ((n == 4 && !memcmp(s, "true", 4)) || (n == 5 && !memcmp(s, "false", 5))) {
        *ret = json_boolean(n == 4);
        return 0;
    }
    const char *body = (s[0] == '+' || s[0] == '-') ? s + 1 : s;
    size_t body_len = n - (size_t)(body - s);
    if (body_len == 3 && (!memcmp(body, "inf", 3) || !memcmp(body, "nan", 3))) {
        const char *text = body[0] == 'n' ? "nan" : s[0] == '-' ? "-inf" : "inf";
        return make_marker(p, TOML_SPECIAL_FLOAT_KEY, text, NULL, ret);
    }
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b'))
        return parse_radix_integer(p, s, n, start, ret);
    if (n >= 3 && is_digit((unsigned char)s[0]) && is_digit((unsigned char)s[1]) &&
        (s[2] == ':' || (n >= 5 && all_digits(s, 4) && s[4] == '-')))
        return parse_datetime(p, s, n, start, ret);
    if (body_len == 0 || !is_digit((unsigned char)body[0]))
        return fail(p, start, "invalid value; expected a string, number, boolean, date, array or inline table "
                    "(strings need quotes)");
    bool looks_float = false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.' || s[i] == 'e' || s[i] == 'E')
            looks_float = true;
        else if (!is_digit((unsigned char)s[i]) && s[i] != '_' && s[i] != '+' && s[i] != '-')
            return fail(p, start, "invalid value; expected a string, number, boolean, date, array or inline table "
                        "(strings need quotes)");
    }
    if (looks_float)
        r = parse_float(p, s, n, start, ret);
    else
        r = parse_decimal_integer(p, s, n, start, ret);
    return r;
}

/* ---- containers ---- */

static int parse_value(parser *p, unsigned depth, json_t **ret);

static int parse_array(parser *p, unsigned depth, json_t **ret) {
    size_t start = p->pos;
    p->pos++; /* [ */
    json_t *array = json_array();
    if (!array)
        return fail_oom(p);
    int r;
    for (;;) {
        if ((r = skip_ws_comments_newlines(p)) < 0)
            goto fail;
        if (peek(p) == ']') {
            p->pos++;
            break;
        }
        json_t *value;
        if ((r = parse_value(p, depth + 1, &value)) < 0)
            goto fail;
        if (json_array_append_new(array, value) < 0) {
            r = fail_oom(p);
            goto fail;
        }
        if ((r = skip_ws_comments_newlines(p)) < 0)
            goto fail;
        int c = peek(p);
        if (c == ',') {
            p->pos++;
            continue;
        }
        if (c == ']') {
            p->pos++;
            break;
        }
        char tmp[16];
        r = c < 0 ? fail(p, start, "unterminated array; add the closing ']'")
                  : fail(p, p->pos, "expected ',' or ']' in array, found %s", describe_char(p, p->pos, tmp));
        goto fail;
    }
    *ret = array;
    return 0;
fail:
    json_decref(array);
    return r;
}

static int parse_inline_table(parser *p, unsigned depth, json_t **ret) {
    size_t start = p->pos;
    p->pos++; /* { */
    /* The table is deliberately absent from the origin map: nothing may add to it once it closes,
     * and every path into its sub-tables passes through it. */
    json_t *table = json_object();
    if (!table)
        return fail_oom(p);
    key_path k = {0};
    int r;
    char tmp[16];
    skip_ws(p);
    if (peek(p) == '}') {
        p->pos++;
        *ret = table;
        return 0;
    }
    for (;;) {
        skip_ws(p);
        if (peek(p) == '\n' || peek(p) == '\r') {
            r = fail(p, p->pos, "newlines are not allowed inside an inline table; keep it on one line or use a [table]");
            goto fail;
        }
        if ((r = parse_key(p, &k, p->max_depth - depth)) < 0)
            goto fail;
        if (peek(p) != '=') {
            r = fail(p, p->pos, "expected '=' after key in inline table, found %s", describe_char(p, p->pos, tmp));
            goto fail;
        }
        p->pos++;
        skip_ws(p);
        json_t *value;
        if ((r = parse_value(p, depth + (unsigned)k.count, &value)) < 0)
            goto fail;
        if ((r = assign(p, table, &k, value)) < 0)
            goto fail;
        key_path_clear(&k);
        skip_ws(p);
        int c = peek(p);
        if (c == ',') {
            p->pos++;
            skip_ws(p);
            if (peek(p) == '}') {
                r = fail(p, p->pos, "trailing comma is not allowed in an inline table; remove it");
                goto fail;
            }
            continue;
        }
        if (c == '}') {
            p->pos++;
            break;
        }
        if (c < 0)
            r = fail(p, start, "unterminated inline table; add the closing '}'");
        else if (c == '\n' || c == '\r')
            r = fail(p, p->pos, "newlines are not allowed inside an inline table; keep it on one line or use a [table]");
        else
            r = fail(p, p->pos, "expected ',' or '}' in inline table, found %s", describe_char(p, p->pos, tmp));
        goto fail;
    }
    *ret = table;
    return 0;
fail:
    key_path_clear(&k);
    json_decref(table);
    return r;
}

static int parse_value(parser *p, unsigned depth, json_t **ret) {
    if (depth > p->max_depth)
        return fail_code(p, E2BIG, p->pos, "value nests deeper than the limit of %u levels", p->max_depth);
    int c = peek(p);
    switch (c) {
    case '"':
    case '\'':
        return parse_string_value(p, ret);
    case '[':
        return parse_array(p, depth, ret);
    case '{':
        return parse_inline_table(p, depth, ret);
    default:
        if (c < 0 || c == '\n' || c == '\r' || c == '#') {
            return fail(p, p->pos, "missing value after '='; write a value such as \"text\", 42 or true");
        }
        return parse_bare_value(p, ret);
    }
}

/* ---- document ---- */

static int parse_header(parser *p) {
    size_t header_pos = p->pos;
    bool array_of_tables = peek_at(p, 1) == '[';
    p->pos += array_of_tables ? 2 : 1;
    key_path k = {0};
    int r = parse_key(p, &k, p->max_depth);
    if (r < 0)
        goto out;
    if (peek(p) != ']' || (array_of_tables && peek_at(p, 1) != ']')) {
        r = fail(p, p->pos, "expected '%s' to close the table header", array_of_tables ? "]]" : "]");
        goto out;
    }
    p->pos += array_of_tables ? 2 : 1;
    if ((r = open_table(p, &k, array_of_tables, header_pos)) < 0)
        goto out;
    if (p->key_lines) {
        json_t *line = json_integer((json_int_t)line_of(p, header_pos, NULL));
        if (!line || json_object_set_new(p->key_lines, p->current_path.data ? p->current_path.data : "", line) < 0) {
            r = fail_oom(p);
            goto out;
        }
    }
    r = expect_end_of_line(p, "a table header");
out:
    key_path_clear(&k);
    return r;
}

static int parse_key_value_line(parser *p) {
    key_path k = {0};
    size_t key_pos = p->pos;
    char tmp[16];
    unsigned budget = p->max_depth > p->current_depth ? p->max_depth - p->current_depth : 0;
    int r = parse_key(p, &k, budget);
    if (r < 0)
        goto out;
    if (peek(p) != '=') {
        r = fail(p, p->pos, "expected '=' after key, found %s; write key = value", describe_char(p, p->pos, tmp));
        goto out;
    }
    p->pos++;
    skip_ws(p);
    json_t *value;
    if ((r = parse_value(p, p->current_depth + (unsigned)k.count, &value)) < 0)
        goto out;
    if ((r = assign(p, p->current, &k, value)) < 0)
        goto out;
    if ((r = record_key_line(p, &p->current_path, &k, key_pos)) < 0)
        goto out;
    r = expect_end_of_line(p, "a value");
out:
    key_path_clear(&k);
    return r;
}

static int parse_document(parser *p) {
    if (p->len >= 3 && !memcmp(p->src, "\xEF\xBB\xBF", 3))
        p->pos = 3; /* UTF-8 byte order mark */
    for (;;) {
        skip_ws(p);
        int c = peek(p);
        if (c < 0)
            return 0;
        int r;
        if (c == '#' || c == '\n' || c == '\r')
            r = expect_end_of_line(p, "a comment");
        else if (c == '[')
            r = parse_header(p);
        else
            r = parse_key_value_line(p);
        if (r < 0)
            return r;
    }
}

int toml_parse_ex(const char *text, size_t len, const char *source_name, const toml_limits *limits,
                  json_t **ret, json_t **ret_key_lines, error_info *err) {
    parser p = {
        .src = text,
        .len = len,
        .source_name = source_name ? source_name : "<input>",
        .err = err,
        .max_depth = TOML_DEFAULT_MAX_DEPTH,
        .max_string_bytes = TOML_DEFAULT_MAX_STRING_BYTES,
        .line_cache_line = 1,
    };
    size_t max_document = TOML_DEFAULT_MAX_DOCUMENT_BYTES;
    if (limits) {
        if (limits->max_document_bytes)
            max_document = limits->max_document_bytes;
        if (limits->max_depth)
            p.max_depth = limits->max_depth < TOML_HARD_MAX_DEPTH ? limits->max_depth : TOML_HARD_MAX_DEPTH;
        if (limits->max_string_bytes)
            p.max_string_bytes = limits->max_string_bytes;
    }
    if (!text && len)
        return error_set(err, EINVAL, "%s: no text to parse", p.source_name);
    if (len > max_document)
        return error_set(err, E2BIG, "%s: file is %zu bytes, larger than the limit of %zu bytes; split it into conf.d drop-ins",
                         p.source_name, len, max_document);
    buf_init(&p.current_path, 64 * 1024);
    int r = check_utf8(&p);
    if (r < 0)
        goto out;
    p.root = json_object();
    if (!p.root || origin_set(&p.origins, p.root, ORIGIN_HEADER) < 0) {
        r = fail_oom(&p);
        goto out;
    }
    p.current = p.root;
    if (ret_key_lines && !(p.key_lines = json_object())) {
        r = fail_oom(&p);
        goto out;
    }
    r = parse_document(&p);
out:
    free(p.origins.slots);
    buf_free(&p.current_path);
    if (r < 0) {
        json_decref(p.root);
        json_decref(p.key_lines);
        return r;
    }
    *ret = p.root;
    if (ret_key_lines)
        *ret_key_lines = p.key_lines;
    return 0;
}

int toml_parse(const char *text, size_t len, const char *source_name, json_t **ret, error_info *err) {
    return toml_parse_ex(text, len, source_name, NULL, ret, NULL, err);
}

bool toml_is_datetime(const json_t *value) {
    return json_is_object(value) && json_object_size(value) == 2 &&
           json_is_string(json_object_get(value, TOML_DATETIME_KEY)) &&
           json_is_string(json_object_get(value, TOML_DATETIME_KIND_KEY));
}

bool toml_is_special_float(const json_t *value) {
    return json_is_object(value) && json_object_size(value) == 1 &&
           json_is_string(json_object_get(value, TOML_SPECIAL_FLOAT_KEY));
}

const char *toml_type_name(const json_t *value) {
    if (toml_is_datetime(value)) {
        const char *kind = json_string_value(json_object_get(value, TOML_DATETIME_KIND_KEY));
        return kind ? kind : "date-time";
    }
    if (toml_is_special_float(value) || json_is_real(value))
        return "float";
    switch (json_typeof(value)) {
    case JSON_OBJECT: return "table";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    default: return "value";
    }
}
