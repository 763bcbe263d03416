/* Cleaning Kubernetes objects before a model reads them: managedFields are noise (and large),
 * Secret values must never reach a model that may repeat them. */
#include "tools/redact.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/json_arena.h"
#include "core/json_text.h"
#include "core/log.h"

#define REDACT_MASK "****"
#define LAST_APPLIED_ANNOTATION "kubectl.kubernetes.io/last-applied-configuration"
/* The masked annotation is never longer than the object it came with (16 MiB answers at most). */
#define REDACT_MAX_ANNOTATION_BYTES (64u * 1024 * 1024)

static void drop_managed_fields_one(json_t *object) {
    json_t *metadata = json_object_get(object, "metadata");
    json_t *fields = json_is_object(metadata) ? json_object_get(metadata, "managedFields") : NULL;
    if (!fields)
        return;
    /* A parsed answer lives in a jansson arena (core/json_arena.h): the removed fields go with it,
     * not walked node by node now. */
    json_incref(fields);
    json_object_del(metadata, "managedFields");
    json_arena_drop(fields);
}

void redact_drop_managed_fields(json_t *object) {
    if (!json_is_object(object))
        return;
    drop_managed_fields_one(object);
    size_t i;
    json_t *child;
    json_array_foreach(json_object_get(object, "items"), i, child) {
        redact_drop_managed_fields(child);
    }
    /* Table rows carry the object (or its metadata) too. */
    json_array_foreach(json_object_get(object, "rows"), i, child) {
        redact_drop_managed_fields(json_object_get(child, "object"));
    }
}

static size_t mask_values(json_t *map) {
    size_t masked = 0;
    const char *key;
    json_t *value;
    if (!json_is_object(map))
        return 0;
    json_object_foreach(map, key, value) {
        json_object_set_new(map, key, json_string(REDACT_MASK));
        masked++;
    }
    return masked;
}

static bool kind_is(const json_t *object, const char *kind) {
    const char *k = json_string_value(json_object_get(object, "kind"));
    return k && strcmp(k, kind) == 0;
}

/* The last-applied annotation holds the whole object as JSON as the user applied it, Secret
 * values included. Masking inside it keeps the rest readable; an annotation that does not parse
 * is replaced whole. Returns values masked (the annotation counts once when replaced whole). */
static size_t mask_last_applied(json_t *object, bool object_is_secret) {
    json_t *annotations = json_object_get(json_object_get(object, "metadata"), "annotations");
    json_t *value = json_object_get(annotations, LAST_APPLIED_ANNOTATION);
    if (!json_is_string(value))
        return 0;
    /* Outside a Secret only a Secret's own annotation is masked, and its kind can only read
     * "Secret" when the text says so, literally or through a \u escape: most objects need no parse. */
    const char *text = json_string_value(value);
    if (!object_is_secret && !strstr(text, "Secret") && !strstr(text, "\\u"))
        return 0;
    json_t *applied = json_loads(text, 0, NULL);
    if (!json_is_object(applied)) {
        json_decref(applied);
        if (!object_is_secret)
            return 0;
        json_object_set_new(annotations, LAST_APPLIED_ANNOTATION, json_string(REDACT_MASK));
        return 1;
    }
    if (!object_is_secret && !kind_is(applied, "Secret")) {
        json_decref(applied);
        return 0;
    }
    size_t masked = mask_values(json_object_get(applied, "data")) + mask_values(json_object_get(applied, "stringData"));
    /* Into a buffer of ours, not json_dumps: this may run inside a jansson arena scope, where a
     * string jansson returns must not go to free(). */
    buf dumped;
    buf_init(&dumped, REDACT_MAX_ANNOTATION_BYTES);
    int r = json_text_value(&dumped, applied);
    json_decref(applied);
    json_object_set_new(annotations, LAST_APPLIED_ANNOTATION,
                        json_string(r >= 0 && dumped.data ? dumped.data : REDACT_MASK));
    buf_free(&dumped);
    return masked ? masked : 1;
}

static size_t mask_secret(json_t *secret) {
    return mask_values(json_object_get(secret, "data")) + mask_values(json_object_get(secret, "stringData")) +
           mask_last_applied(secret, true);
}

static size_t mask_any(json_t *object, bool known_secret) {
    if (!json_is_object(object))
        return 0;
    if (known_secret || kind_is(object, "Secret"))
        return mask_secret(object);

    size_t masked = 0;
    size_t i;
    json_t *child;
    json_t *items = json_object_get(object, "items");
    if (json_is_array(items)) {
        /* Items of a typed list carry no kind of their own. */
        bool secret_list = kind_is(object, "SecretList");
        json_array_foreach(items, i, child) {
            masked += mask_any(child, secret_list);
        }
    }
    if (kind_is(object, "Table")) {
        json_array_foreach(json_object_get(object, "rows"), i, child) {
            masked += mask_any(json_object_get(child, "object"), false);
        }
    }
    /* Metadata-only views (PartialObjectMetadata in Tables) still carry the annotation; it
     * tells by its own kind whether it is a Secret. */
    masked += mask_last_applied(object, false);
    return masked;
}

size_t redact_mask_secrets(json_t *object) {
    return mask_any(object, false);
}

/* ------------------------------------------------------------- free text */

/* Matches `"data"` or `\"data\"` (and stringData) at p, followed by `:` and `{`; returns the
 * offset just past `{` and the quote style used inside, or 0. */
static size_t match_data_field(const char *text, size_t len, size_t p, bool *ret_escaped) {
    static const char *const names[] = {"data", "stringData", NULL};
    for (int escaped = 0; escaped <= 1; escaped++) {
        const char *quote = escaped ? "\\\"" : "\"";
        size_t qlen = escaped ? 2 : 1;
        for (size_t n = 0; names[n]; n++) {
            size_t nlen = strlen(names[n]);
            size_t q = p;
            if (q + qlen + nlen + qlen > len || memcmp(text + q, quote, qlen) != 0)
                continue;
            q += qlen;
            if (memcmp(text + q, names[n], nlen) != 0)
                continue;
            q += nlen;
            if (memcmp(text + q, quote, qlen) != 0)
                continue;
            q += qlen;
            while (q < len && text[q] == ' ')
                q++;
            if (q >= len || text[q] != ':')
                continue;
            q++;
            while (q < len && text[q] == ' ')
                q++;
            if (q >= len || text[q] != '{')
                continue;
            *ret_escaped = escaped;
            return q + 1;
        }
    }
    return 0;
}

/* Copies text[*r..] to text[*w..] for one quoted string starting at *r (which points at the
 * opening quote). When mask, the content is replaced by at most four '*'. Never grows. */
static void copy_quoted(char *text, size_t len, size_t *r, size_t *w, bool escaped, bool mask) {
    size_t qlen = escaped ? 2 : 1;
    for (size_t i = 0; i < qlen && *r < len; i++)
        text[(*w)++] = text[(*r)++];
    size_t content_written = 0;
    while (*r < len) {
        if (escaped ? (text[*r] == '\\' && *r + 1 < len && text[*r + 1] == '"')
                    : (text[*r] == '"')) {
            for (size_t i = 0; i < qlen; i++)
                text[(*w)++] = text[(*r)++];
            return;
        }
        /* Skip over escape sequences as one unit so an escaped quote does not end the string. */
        size_t unit = 1;
        if (text[*r] == '\\' && *r + 1 < len) {
            if (escaped && text[*r + 1] == '\\' && *r + 2 < len)
                unit = (*r + 3 < len && text[*r + 2] == '\\') ? 4 : 3;
            else
                unit = 2;
        }
        if (*r + unit > len)
            unit = len - *r;
        if (mask) {
            if (content_written < 4)
                text[(*w)++] = '*';
            content_written++;
            *r += unit;
        } else {
            for (size_t i = 0; i < unit; i++)
                text[(*w)++] = text[(*r)++];
        }
    }
}

static size_t mask_embedded_data(char *text, size_t len) {
    size_t r = 0, w = 0;
    while (r < len) {
        bool escaped;
        size_t body = match_data_field(text, len, r, &escaped);
        if (!body) {
            text[w++] = text[r++];
            continue;
        }
        while (r < body)
            text[w++] = text[r++];
        /* Inside {...}: every string after a ':' is a value and gets masked. */
        const char *quote = escaped ? "\\\"" : "\"";
        size_t qlen = escaped ? 2 : 1;
        bool after_colon = false;
        while (r < len && text[r] != '}') {
            if (r + qlen <= len && memcmp(text + r, quote, qlen) == 0) {
                copy_quoted(text, len, &r, &w, escaped, after_colon);
                after_colon = false;
            } else {
                if (text[r] == ':')
                    after_colon = true;
                else if (text[r] == ',')
                    after_colon = false;
                text[w++] = text[r++];
            }
        }
    }
    if (w < len)
        text[w] = '\0';
    return w;
}

size_t redact_text(char *text, size_t len) {
    if (!text)
        return 0;
    len = log_sanitize(text, len);
    return mask_embedded_data(text, len);
}
