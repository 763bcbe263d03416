/* What every libcurl user in kubemcp shares: the Kubernetes client here, and the fetches from an
 * OpenID provider and a token service in gate/. */
#ifndef KUBEMCP_KUBE_CURL_COMMON_H
#define KUBEMCP_KUBE_CURL_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/error_info.h"

/* curl_global_init, once per process, on whichever thread needs libcurl first (not at start-up:
 * libcurl and its TLS library are opened on first use). 0, or -EIO with the reason. */
int kube_curl_init(error_info *err);

/* A response body bounded by its buf's limit. */
typedef struct curl_body {
    buf body;
    bool too_big; /* the answer passed the limit: the transfer was aborted (CURLE_WRITE_ERROR) */
} curl_body;

/* CURLOPT_WRITEFUNCTION for a curl_body passed as CURLOPT_WRITEDATA. */
size_t curl_body_write(char *data, size_t size, size_t nmemb, void *userdata);

#endif
