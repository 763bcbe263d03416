#include "kube/curl_common.h"

#include <errno.h>
#include <pthread.h>

#include <curl/curl.h>

/* libcurl >= 7.84 built with CURL_VERSION_THREADSAFE (Debian 12's 7.88 is) makes curl_global_init
 * safe against any other libcurl call; the once keeps kubemcp to one call on older versions. */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init_once(void) {
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int kube_curl_init(error_info *err) {
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_result != CURLE_OK)
        return error_set(err, EIO, "cannot initialise libcurl: %s", curl_easy_strerror(curl_init_result));
    return 0;
}

size_t curl_body_write(char *data, size_t size, size_t nmemb, void *userdata) {
    curl_body *b = userdata;
    size_t n = size * nmemb;
    if (buf_append(&b->body, data, n) < 0) {
        b->too_big = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    return n;
}
