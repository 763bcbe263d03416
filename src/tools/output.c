/* JSON → text for the model: block YAML written by hand (exact control over quoting, no
 * emitter round trip), and meta.k8s.io/v1 Tables as aligned columns. */
#include "tools/output.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/utf8.h"

/* ---------------------------------------------------------------- YAML */

static inline int buf_put_str(buf *out, const char *s) {
    return buf_put(out, s, strlen(s));
}

static int yaml_indent(buf *out, size_t indent) {
    static const char spaces[] = "                                                                ";
    while (indent > 0) {
        size_t n = indent < sizeof spaces - 1 ? indent : sizeof spaces - 1;
        int r = buf_put(out, spaces, n);
        if (r < 0)
            return r;
        indent -= n;
    }
    return 0;
}

/* Words a YAML 1.1 or 1.2 parser would read as null or a boolean (go-yaml v2, which kubectl
 * uses, still follows 1.1: yes/no/on/off are booleans there). */
static bool yaml_is_reserved_word(const char *s, size_t len) {
    static const char *const words[] = {"null", "~", "true", "false", "yes", "no", "on", "off", "y", "n",
                                        ".inf", "-.inf", "+.inf", ".nan", NULL};
    /* Every word is 1 to 5 characters and starts with one of these (in either case). */
    if (len == 0 || len > 5)
        return false;
    switch (s[0]) {
    case 'n': case 'N': case 't': case 'T': case 'f': case 'F': case 'y': case 'Y': case 'o': case 'O':
    case '~': case '.': case '-': case '+':
        break;
    default:
        return false;
    }
    for (size_t i = 0; words[i]; i++) {
        if (strlen(words[i]) == len && strncasecmp(words[i], s, len) == 0)
            return true;
    }
    return false;
}

static bool yaml_is_plain_safe_start(unsigned char c) {
    switch (c) {
    case '\0': case '?': case ':': case ',': case '[': case ']': case '{': case '}': case '#': case '&':
    case '*': case '!': case '|': case '>': case '\'': case '"': case '%': case '@': case '`': case '-':
        return false;
    default:
        return true;
    }
}

/* Characters YAML cannot carry raw in a scalar, or that a YAML 1.1 reader takes as a line break
 * (NEL, LS, PS): these force double quotes with an escape. */
static bool yaml_codepoint_needs_escape(uint32_t cp) {
    return (cp < 0x20 && cp != '\t' && cp != '\n') || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 ||
           cp == 0x2029 || cp == 0xfeff || cp == 0xfffe || cp == 0xffff;
}

typedef enum yaml_scalar_style {
    YAML_STYLE_PLAIN,
    YAML_STYLE_DOUBLE,
    YAML_STYLE_LITERAL,
} yaml_scalar_style;

static bool yaml_looks_numeric(const char *s, size_t len) {
    size_t i = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    if (i < len && s[i] == '.')
        i++;
    return i < len && s[i] >= '0' && s[i] <= '9';
}

/* What a byte of a scalar can change about its style. */
enum {
    YAML_BYTE_PLAIN,   /* nothing by itself */
    YAML_BYTE_NEWLINE, /* a literal block, or quotes */
    YAML_BYTE_ESCAPE,  /* quotes with an escape (control characters, DEL) */
    YAML_BYTE_COLON,   /* ": " ends a plain scalar early */
    YAML_BYTE_BLANK,   /* space or tab: " #" starts a comment */
    YAML_BYTE_HIGH,    /* starts a multi-byte UTF-8 sequence, to check */
};

#define P YAML_BYTE_PLAIN
#define N YAML_BYTE_NEWLINE
#define E YAML_BYTE_ESCAPE
#define C YAML_BYTE_COLON
#define B YAML_BYTE_BLANK
#define H YAML_BYTE_HIGH
static const unsigned char yaml_byte_class[256] = {
    E, E, E, E, E, E, E, E, E, B, N, E, E, E, E, E,
    E, E, E, E, E, E, E, E, E, E, E, E, E, E, E, E,
    B, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,
    P, P, P, P, P, P, P, P, P, P, C, P, P, P, P, P,
    P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,
    P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,
    P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,
    P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, E,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
    H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H,
};
#undef P
#undef N
#undef E
#undef C
#undef B
#undef H

static yaml_scalar_style yaml_choose_style(const char *s, size_t len, bool allow_literal) {
    if (len == 0)
        return YAML_STYLE_DOUBLE;
    if (yaml_is_reserved_word(s, len) || yaml_looks_numeric(s, len))
        return YAML_STYLE_DOUBLE;
    if (len >= 3 && (strncmp(s, "---", 3) == 0 || strncmp(s, "...", 3) == 0))
        return YAML_STYLE_DOUBLE;

    bool has_newline = false, needs_escape = false;
    /* ": " and " #" (or with tabs) would end a plain scalar early; checked here, used below. */
    bool plain_breaker = false;
    for (size_t i = 0; i < len;) {
        switch (yaml_byte_class[(unsigned char)s[i]]) {
        case YAML_BYTE_PLAIN:
            i++;
            continue;
        case YAML_BYTE_NEWLINE:
            has_newline = true;
            i++;
            continue;
        case YAML_BYTE_ESCAPE:
            needs_escape = true;
            i++;
            continue;
        case YAML_BYTE_COLON:
            if (i + 1 < len && (s[i + 1] == ' ' || s[i + 1] == '\t'))
                plain_breaker = true;
            i++;
            continue;
        case YAML_BYTE_BLANK:
            if (i + 1 < len && s[i + 1] == '#')
                plain_breaker = true;
            i++;
            continue;
        default: {
            uint32_t cp;
            size_t n;
            if (!utf8_decode(s + i, len - i, &cp, &n)) {
                needs_escape = true;
                n = 1;
            } else if (yaml_codepoint_needs_escape(cp)) {
                needs_escape = true;
            }
            i += n;
            continue;
        }
        }
    }
    if (needs_escape)
        return YAML_STYLE_DOUBLE;
    if (has_newline) {
        /* A literal block keeps text readable; its first line must not start with a space (that
         * would need an indentation indicator) and it must contain more than line breaks. */
        if (!allow_literal || s[0] == ' ' || s[0] == '\n' || s[0] == '\t')
            return YAML_STYLE_DOUBLE;
        size_t trailing = 0;
        while (trailing < len && s[len - 1 - trailing] == '\n')
            trailing++;
        if (trailing == len)
            return YAML_STYLE_DOUBLE;
        /* Whitespace on the last content line before the final line breaks confuses chomping in
         * some parsers; quoting is safer there. */
        char last = s[len - 1 - trailing];
        if (last == ' ' || last == '\t')
            return YAML_STYLE_DOUBLE;
        return YAML_STYLE_LITERAL;
    }

    if (!yaml_is_plain_safe_start((unsigned char)s[0])) {
        /* "-", "?" and ":" may start a plain scalar when a safe character follows ("--port=80"). */
        bool indicator_ok = (s[0] == '-' || s[0] == '?' || s[0] == ':') && len > 1 && s[1] != ' ' &&
                            s[1] != '\t' && !strchr(",[]{}#", s[1]);
        if (!indicator_ok)
            return YAML_STYLE_DOUBLE;
    }
    if (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == ':')
        return YAML_STYLE_DOUBLE;
    return plain_breaker ? YAML_STYLE_DOUBLE : YAML_STYLE_PLAIN;
}

static int yaml_write_double_quoted(const char *s, size_t len, buf *out) {
    int r = buf_put(out, "\"", 1);
    size_t run_start = 0;
    for (size_t i = 0; r >= 0 && i < len;) {
        unsigned char c = (unsigned char)s[i];
        const char *escape = NULL;
        char hex[11];
        size_t n = 1;
        switch (c) {
        case '"': escape = "\\\""; break;
        case '\\': escape = "\\\\"; break;
        case '\n': escape = "\\n"; break;
        case '\t': escape = "\\t"; break;
        case '\r': escape = "\\r"; break;
        default:
            if (c < 0x20 || c >= 0x7f) {
                uint32_t cp;
                if (!utf8_decode(s + i, len - i, &cp, &n)) {
                    snprintf(hex, sizeof hex, "\\x%02x", c);
                    n = 1;
                    escape = hex;
                } else if (yaml_codepoint_needs_escape(cp)) {
                    snprintf(hex, sizeof hex, "\\u%04x", (unsigned)cp);
                    escape = hex;
                }
            }
            break;
        }
        if (escape) {
            if (i > run_start)
                r = buf_put(out, s + run_start, i - run_start);
            if (r >= 0)
                r = buf_put_str(out, escape);
            i += n;
            run_start = i;
        } else {
            i += n;
        }
    }
    if (r >= 0 && len > run_start)
        r = buf_put(out, s + run_start, len - run_start);
    if (r >= 0)
        r = buf_put(out, "\"", 1);
    return r;
}

/* `|`, `|-` or `|+` then each line indented by content_indent. */
static int yaml_write_literal(const char *s, size_t len, size_t content_indent, buf *out) {
    size_t trailing = 0;
    while (trailing < len && s[len - 1 - trailing] == '\n')
        trailing++;
    const char *header = trailing == 0 ? "|-\n" : trailing == 1 ? "|\n" : "|+\n";
    int r = buf_put_str(out, header);
    size_t body_len = len - trailing;
    size_t pos = 0;
    while (r >= 0 && pos <= body_len) {
        const char *nl = memchr(s + pos, '\n', body_len - pos);
        size_t line_end = nl ? (size_t)(nl - s) : body_len;
        if (line_end > pos) {
            r = yaml_indent(out, content_indent);
            if (r >= 0)
                r = buf_put(out, s + pos, line_end - pos);
        }
        if (r >= 0)
            r = buf_put(out, "\n", 1);
        pos = line_end + 1;
    }
    /* Extra trailing line breaks are kept by `|+` as empty lines. */
    for (size_t i = 1; r >= 0 && i < trailing; i++)
        r = buf_put(out, "\n", 1);
    return r;
}

/* Writes a string scalar. Literal blocks end their own lines; for other styles the caller writes
 * the newline. ret_ended_line tells which happened. */
static int yaml_write_string(const char *s, size_t len, size_t content_indent, bool allow_literal, buf *out,
                             bool *ret_ended_line) {
    *ret_ended_line = false;
    switch (yaml_choose_style(s, len, allow_literal)) {
    case YAML_STYLE_PLAIN:
        return buf_put(out, s, len);
    case YAML_STYLE_LITERAL:
        *ret_ended_line = true;
        return yaml_write_literal(s, len, content_indent, out);
    case YAML_STYLE_DOUBLE:
    default:
        return yaml_write_double_quoted(s, len, out);
    }
}

static int yaml_write_real(double v, buf *out) {
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.17g", v);
    /* Shortest form that reads back to the same double keeps the output tidy (0.1, not
     * 0.10000000000000001). */
    for (int precision = 1; precision <= 17; precision++) {
        char shorter[64];
        snprintf(shorter, sizeof shorter, "%.*g", precision, v);
        if (strtod(shorter, NULL) == v) {
            memcpy(tmp, shorter, sizeof tmp);
            break;
        }
    }
    int r = buf_put_str(out, tmp);
    /* A real must stay a real when read back ("1" would become an integer). */
    if (r >= 0 && !strpbrk(tmp, ".eEn"))
        r = buf_put_str(out, ".0");
    return r;
}

/* The decimal digits, as printf's %lld would write them. */
static int yaml_write_integer(json_int_t v, buf *out) {
    char digits[24];
    size_t n = sizeof digits;
    unsigned long long u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;
    do {
        digits[--n] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        digits[--n] = '-';
    return buf_put(out, digits + n, sizeof digits - n);
}

/* A scalar or empty collection written on the current line; ended_line as above. */
static int yaml_write_inline(const json_t *value, size_t content_indent, buf *out, bool *ret_ended_line) {
    *ret_ended_line = false;
    switch (json_typeof(value)) {
    case JSON_STRING:
        return yaml_write_string(json_string_value(value), json_string_length(value), content_indent, true, out,
                                 ret_ended_line);
    case JSON_INTEGER:
        return yaml_write_integer(json_integer_value(value), out);
    case JSON_REAL:
        return yaml_write_real(json_real_value(value), out);
    case JSON_TRUE:
        return buf_put_str(out, "true");
    case JSON_FALSE:
        return buf_put_str(out, "false");
    case JSON_NULL:
        return buf_put_str(out, "null");
    case JSON_OBJECT:
        return buf_put_str(out, "{}");
    case JSON_ARRAY:
        return buf_put_str(out, "[]");
    }
    return -EINVAL;
}

static bool yaml_is_block(const json_t *value) {
    return (json_is_object(value) && json_object_size(value) > 0) ||
           (json_is_array(value) && json_array_size(value) > 0);
}

static int yaml_write_block(const json_t *value, size_t indent, bool first_line_started, buf *out);

static int yaml_write_mapping(const json_t *object, size_t indent, bool first_line_started, buf *out) {
    bool first = true;
    int r = 0;
    for (void *iter = json_object_iter((json_t *)object); iter;
         iter = json_object_iter_next((json_t *)object, iter)) {
        const char *key = json_object_iter_key(iter);
        const json_t *child = json_object_iter_value(iter);
        if (!(first && first_line_started))
            r = yaml_indent(out, indent);
        first = false;
        bool ended;
        if (r >= 0)
            r = yaml_write_string(key, strlen(key), indent + 2, false, out, &ended);
        if (r >= 0)
            r = buf_put(out, ":", 1);
        if (r < 0)
            return r;
        if (json_is_object(child) && json_object_size(child) > 0) {
            r = buf_put(out, "\n", 1);
            if (r >= 0)
                r = yaml_write_mapping(child, indent + 2, false, out);
        } else if (json_is_array(child) && json_array_size(child) > 0) {
            /* kubectl style: a list under a key is not indented further. */
            r = buf_put(out, "\n", 1);
            if (r >= 0)
                r = yaml_write_block(child, indent, false, out);
        } else {
            r = buf_put(out, " ", 1);
            if (r >= 0)
                r = yaml_write_inline(child, indent + 2, out, &ended);
            if (r >= 0 && !ended)
                r = buf_put(out, "\n", 1);
        }
        if (r < 0)
            return r;
    }
    return r;
}

static int yaml_write_sequence(const json_t *array, size_t indent, bool first_line_started, buf *out) {
    size_t i;
    const json_t *item;
    int r = 0;
    json_array_foreach((json_t *)array, i, item) {
        if (!(i == 0 && first_line_started))
            r = yaml_indent(out, indent);
        if (r >= 0)
            r = buf_put(out, "- ", 2);
        if (r < 0)
            return r;
        if (yaml_is_block(item)) {
            r = yaml_write_block(item, indent + 2, true, out);
        } else {
            bool ended;
            r = yaml_write_inline(item, indent + 2, out, &ended);
            if (r >= 0 && !ended)
                r = buf_put(out, "\n", 1);
        }
        if (r < 0)
            return r;
    }
    return r;
}

static int yaml_write_block(const json_t *value, size_t indent, bool first_line_started, buf *out) {
    if (json_is_object(value))
        return yaml_write_mapping(value, indent, first_line_started, out);
    return yaml_write_sequence(value, indent, first_line_started, out);
}

int output_yaml(const json_t *value, buf *out) {
    if (!value || !out)
        return -EINVAL;
    if (yaml_is_block(value))
        return yaml_write_block(value, 0, false, out);
    bool ended;
    int r = yaml_write_inline(value, 2, out, &ended);
    if (r >= 0 && !ended)
        r = buf_put(out, "\n", 1);
    return r;
}

/* --------------------------------------------------------------- Table */

/* Display width in characters (UTF-8 continuation bytes do not count). */
static size_t text_width(const char *s) {
    size_t w = 0;
    for (; *s; s++) {
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
    }
    return w;
}

/* A cell as one line of text: line breaks and tabs would break the columns. */
static char *table_cell_text(const json_t *cell) {
    char *text = NULL;
    switch (json_typeof(cell)) {
    case JSON_STRING:
        text = strdup(json_string_value(cell));
        break;
    case JSON_INTEGER:
        if (asprintf(&text, "%" JSON_INTEGER_FORMAT, json_integer_value(cell)) < 0)
            text = NULL;
        break;
    case JSON_REAL:
        if (asprintf(&text, "%g", json_real_value(cell)) < 0)
            text = NULL;
        break;
    case JSON_TRUE:
        text = strdup("true");
        break;
    case JSON_FALSE:
        text = strdup("false");
        break;
    case JSON_NULL:
        text = strdup("<none>");
        break;
    default:
        text = json_dumps(cell, JSON_COMPACT);
        break;
    }
    if (!text)
        return NULL;
    for (char *p = text; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    }
    return text;
}

int output_columns(const char *const *cells, size_t ncolumns, size_t nrows, buf *out) {
    if (!cells || !out || ncolumns == 0)
        return -EINVAL;
    size_t *widths = calloc(ncolumns, sizeof *widths);
    if (!widths)
        return -ENOMEM;
    for (size_t i = 0; i < nrows; i++) {
        for (size_t c = 0; c < ncolumns; c++) {
            const char *text = cells[i * ncolumns + c] ? cells[i * ncolumns + c] : "";
            size_t w = text_width(text);
            if (w > widths[c])
                widths[c] = w;
        }
    }
    /* kubectl's tabwriter: three spaces between columns, nothing after the last one. */
    int r = 0;
    for (size_t i = 0; i < nrows && r >= 0; i++) {
        for (size_t c = 0; c < ncolumns && r >= 0; c++) {
            const char *text = cells[i * ncolumns + c] ? cells[i * ncolumns + c] : "";
            r = buf_append_str(out, text);
            if (r >= 0 && c + 1 < ncolumns)
                r = yaml_indent(out, widths[c] - text_width(text) + 3);
        }
        if (r >= 0)
            r = buf_append(out, "\n", 1);
    }
    free(widths);
    return r < 0 ? r : 0;
}

static const char *table_row_namespace(const json_t *row) {
    const json_t *ns = json_object_get(json_object_get(json_object_get(row, "object"), "metadata"), "namespace");
    return json_is_string(ns) ? json_string_value(ns) : "";
}

int output_table(const json_t *table, bool with_namespace, buf *out) {
    if (!json_is_object(table) || !out)
        return -EINVAL;
    const json_t *columns = json_object_get(table, "columnDefinitions");
    const json_t *rows = json_object_get(table, "rows");
    if (!json_is_array(columns))
        return -EINVAL;
    if (!json_is_array(rows) || json_array_size(rows) == 0)
        return buf_append_str(out, "No resources found\n");

    /* Which cells to show: priority 0 only, like kubectl without -o wide. */
    size_t ncolumns = json_array_size(columns);
    size_t *shown = calloc(ncolumns + 1, sizeof *shown);
    if (!shown)
        return -ENOMEM;
    size_t nshown = 0;
    for (size_t c = 0; c < ncolumns; c++) {
        const json_t *def = json_array_get(columns, c);
        if (json_integer_value(json_object_get(def, "priority")) == 0)
            shown[nshown++] = c;
    }
    size_t nout = nshown + (with_namespace ? 1 : 0);
    size_t nrows = json_array_size(rows);
    char **cells = calloc((nrows + 1) * nout, sizeof *cells);
    int r = 0;
    if (!cells) {
        r = -ENOMEM;
        goto done;
    }

    /* Row 0 holds the headers. */
    for (size_t o = 0; o < nout && r == 0; o++) {
        const char *name = "NAMESPACE";
        if (!(with_namespace && o == 0)) {
            const json_t *def = json_array_get(columns, shown[o - (with_namespace ? 1 : 0)]);
            name = json_string_value(json_object_get(def, "name"));
            if (!name)
                name = "";
        }
        char *header = strdup(name);
        if (!header) {
            r = -ENOMEM;
            break;
        }
        for (char *p = header; *p; p++) {
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
            else if ((unsigned char)*p < 0x20)
                *p = ' ';
        }
        cells[o] = header;
    }
    for (size_t row = 0; row < nrows && r == 0; row++) {
        const json_t *row_json = json_array_get(rows, row);
        const json_t *row_cells = json_object_get(row_json, "cells");
        for (size_t o = 0; o < nout; o++) {
            char *text;
            if (with_namespace && o == 0) {
                text = strdup(table_row_namespace(row_json));
            } else {
                const json_t *cell = json_array_get(row_cells, shown[o - (with_namespace ? 1 : 0)]);
                text = cell ? table_cell_text(cell) : strdup("");
            }
            if (!text) {
                r = -ENOMEM;
                break;
            }
            cells[(row + 1) * nout + o] = text;
        }
    }
    if (r < 0)
        goto done;

    r = output_columns((const char *const *)cells, nout, nrows + 1, out);

done:
    if (cells) {
        for (size_t i = 0; i < (nrows + 1) * nout; i++)
            free(cells[i]);
    }
    free(cells);
    free(shown);
    return r < 0 ? r : 0;
}
