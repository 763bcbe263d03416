/* libcurl, opened on the first request to a cluster or an OpenID provider (see lazy_lib.h). */
#define CURL_DISABLE_TYPECHECK /* the typecheck macros would rename curl_easy_setopt/getinfo here */
#include <stdarg.h>

#include <curl/curl.h>

#include "lazy/lazy_lib.h"

#define CURL_FUNCTIONS(X)                                                                                      \
    X(curl_global_init)                                                                                        \
    X(curl_easy_init)                                                                                          \
    X(curl_easy_cleanup)                                                                                       \
    X(curl_easy_reset)                                                                                         \
    X(curl_easy_setopt)                                                                                        \
    X(curl_easy_getinfo)                                                                                       \
    X(curl_easy_perform)                                                                                       \
    X(curl_easy_strerror)                                                                                      \
    X(curl_free)                                                                                               \
    X(curl_slist_append)                                                                                       \
    X(curl_slist_free_all)                                                                                     \
    X(curl_url)                                                                                                \
    X(curl_url_cleanup)                                                                                        \
    X(curl_url_get)                                                                                            \
    X(curl_url_set)

LAZY_LIBRARY(KUBEMCP_SONAME_CURL, "libcurl4", CURL_FUNCTIONS);

CURLcode curl_global_init(long flags) {
    return lazy_lib_load(&lib) < 0 ? CURLE_FAILED_INIT : LAZY_REAL(curl_global_init)(flags);
}

CURL *curl_easy_init(void) {
    return lazy_lib_load(&lib) < 0 ? NULL : LAZY_REAL(curl_easy_init)();
}

void curl_easy_cleanup(CURL *curl) {
    if (lazy_lib_loaded(&lib))
        LAZY_REAL(curl_easy_cleanup)(curl);
}

void curl_easy_reset(CURL *curl) {
    if (lazy_lib_loaded(&lib))
        LAZY_REAL(curl_easy_reset)(curl);
}

/* The one argument is a long, a pointer, a function pointer or a curl_off_t; libcurl tells which
 * by the option's number range, and reads it the same way. */
CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...) {
    if (lazy_lib_load(&lib) < 0)
        return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, option);
    CURLcode r;
    if (option < CURLOPTTYPE_OBJECTPOINT)
        r = LAZY_REAL(curl_easy_setopt)(curl, option, va_arg(ap, long));
    else if (option < CURLOPTTYPE_FUNCTIONPOINT)
        r = LAZY_REAL(curl_easy_setopt)(curl, option, va_arg(ap, void *));
    else if (option < CURLOPTTYPE_OFF_T)
        r = LAZY_REAL(curl_easy_setopt)(curl, option, va_arg(ap, lazy_fn));
    else if (option < CURLOPTTYPE_BLOB)
        r = LAZY_REAL(curl_easy_setopt)(curl, option, va_arg(ap, curl_off_t));
    else
        r = LAZY_REAL(curl_easy_setopt)(curl, option, va_arg(ap, void *));
    va_end(ap);
    return r;
}

/* Every CURLINFO takes one pointer to where the answer goes. */
CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...) {
    if (lazy_lib_load(&lib) < 0)
        return CURLE_FAILED_INIT;
    va_list ap;
    va_start(ap, info);
    CURLcode r = LAZY_REAL(curl_easy_getinfo)(curl, info, va_arg(ap, void *));
    va_end(ap);
    return r;
}

CURLcode curl_easy_perform(CURL *curl) {
    return lazy_lib_load(&lib) < 0 ? CURLE_FAILED_INIT : LAZY_REAL(curl_easy_perform)(curl);
}

/* When libcurl cannot be loaded, every call above fails with CURLE_FAILED_INIT and this says why. */
const char *curl_easy_strerror(CURLcode code) {
    return lazy_lib_load(&lib) < 0 ? lib.error : LAZY_REAL(curl_easy_strerror)(code);
}

void curl_free(void *p) {
    if (lazy_lib_loaded(&lib))
        LAZY_REAL(curl_free)(p);
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *data) {
    return lazy_lib_load(&lib) < 0 ? NULL : LAZY_REAL(curl_slist_append)(list, data);
}

void curl_slist_free_all(struct curl_slist *list) {
    if (lazy_lib_loaded(&lib))
        LAZY_REAL(curl_slist_free_all)(list);
}

CURLU *curl_url(void) {
    return lazy_lib_load(&lib) < 0 ? NULL : LAZY_REAL(curl_url)();
}

void curl_url_cleanup(CURLU *handle) {
    if (lazy_lib_loaded(&lib))
        LAZY_REAL(curl_url_cleanup)(handle);
}

CURLUcode curl_url_get(CURLU *handle, CURLUPart what, char **part, unsigned int flags) {
    return lazy_lib_load(&lib) < 0 ? CURLUE_BAD_HANDLE : LAZY_REAL(curl_url_get)(handle, what, part, flags);
}

CURLUcode curl_url_set(CURLU *handle, CURLUPart what, const char *part, unsigned int flags) {
    return lazy_lib_load(&lib) < 0 ? CURLUE_BAD_HANDLE : LAZY_REAL(curl_url_set)(handle, what, part, flags);
}
