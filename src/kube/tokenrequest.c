#include "kube/tokenrequest.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

int token_request_create(kube_cluster *cluster, const token_request *req, token_grant *ret, error_info *err) {
    if (!req->service_account || !*req->service_account)
        return error_set(err, EINVAL, "name the service account to mint a token for");
    const char *ns = req->namespace_name && *req->namespace_name ? req->namespace_name
                                                                  : kube_cluster_default_namespace(cluster);
    kube_resource_info sa = {.version = "v1", .resource = "serviceaccounts", .kind = "ServiceAccount",
                             .namespaced = true};
    char path[1024];
    int r = kube_resource_path(&sa, ns, req->service_account, "token", path, sizeof path, err);
    if (r < 0)
        return r;

    json_t *spec = json_object();
    if (req->expiration_seconds > 0)
        json_object_set_new(spec, "expirationSeconds", json_integer(req->expiration_seconds));
    if (req->audiences && req->audiences[0]) {
        json_t *aud = json_array();
        for (size_t i = 0; req->audiences[i]; i++)
            json_array_append_new(aud, json_string(req->audiences[i]));
        json_object_set_new(spec, "audiences", aud);
    }
    json_t *body = json_pack("{s:s, s:s, s:o}", "apiVersion", "authentication.k8s.io/v1", "kind", "TokenRequest",
                             "spec", spec);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return error_set(err, ENOMEM, "out of memory");
    kube_request kr = {.method = "POST", .path = path, .content_type = "application/json", .body = text,
                       .body_len = strlen(text), .credential = req->credential, .max_response_bytes = 1024 * 1024};
    kube_response resp = {0};
    r = kube_do(cluster, &kr, &resp, err);
    free(text);
    if (r < 0)
        return r;
    r = kube_response_error(&resp, err);
    json_t *answer = r < 0 ? NULL : kube_response_json(&resp, err);
    if (resp.body)
        OPENSSL_cleanse(resp.body, resp.body_len);
    kube_response_clear(&resp);
    if (r < 0)
        return r;
    if (!answer)
        return -EIO;
    json_t *status = json_object_get(answer, "status");
    const char *token = json_string_value(json_object_get(status, "token"));
    const char *expires = json_string_value(json_object_get(status, "expirationTimestamp"));
    if (!token || !*token) {
        json_decref(answer);
        return error_set(err, EIO, "the API server answered the TokenRequest without a token");
    }
    ret->token = strdup(token);
    ret->expiration_timestamp = strdup(expires ? expires : "");
    /* jansson keeps its own copy of the token: overwrite it before release. */
    OPENSSL_cleanse((char *)token, strlen(token));
    json_decref(answer);
    if (!ret->token || !ret->expiration_timestamp) {
        token_grant_clear(ret);
        return error_set(err, ENOMEM, "out of memory");
    }
    return 0;
}

void token_grant_clear(token_grant *grant) {
    if (grant->token) {
        OPENSSL_cleanse(grant->token, strlen(grant->token));
        free(grant->token);
    }
    free(grant->expiration_timestamp);
    grant->token = grant->expiration_timestamp = NULL;
}
