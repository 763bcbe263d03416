/* serviceaccount_token_create: mint a short-lived service-account token through the TokenRequest
 * API, with the caller's own permission to do so (RBAC: create serviceaccounts/token). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/duration.h"
#include "kube/tokenrequest.h"
#include "tools/tool.h"

#define TOKEN_AUDIENCES_MAX 16

static int serviceaccount_token_create_handler(const tool_context *ctx, const json_t *args, tool_result *ret) {
    error_info err = {0};
    kube_cluster *cluster;
    if (tool_cluster(ctx, args, &cluster, &err) < 0)
        return tool_result_from_error(ret, &err);
    long long seconds = 3600;
    const char *duration = tool_arg_string(args, "duration");
    if (duration && duration_parse_seconds(duration, &seconds, &err) < 0)
        return tool_result_from_error(ret, &err);
    const char *audiences[TOKEN_AUDIENCES_MAX + 1] = {0};
    const json_t *list = json_object_get(args, "audiences");
    if (json_array_size(list) > TOKEN_AUDIENCES_MAX)
        return tool_result_error(ret, "at most %d audiences", TOKEN_AUDIENCES_MAX);
    for (size_t i = 0; i < json_array_size(list); i++)
        audiences[i] = json_string_value(json_array_get(list, i));
    token_request req = {
        .namespace_name = tool_namespace(args, cluster),
        .service_account = tool_arg_string(args, "serviceAccount"),
        .expiration_seconds = seconds,
        .audiences = audiences,
        .credential = ctx->credential,
    };
    if (tool_check_namespace(ctx, req.namespace_name, &err) < 0)
        return tool_result_from_error(ret, &err);
    token_grant grant = {0};
    if (token_request_create(cluster, &req, &grant, &err) < 0)
        return tool_result_from_error(ret, &err);
    /* Minting a token is this tool's whole purpose, so the token is the one credential kubemcp
     * ever puts in a result; it is never logged. */
    tool_result_printf(ret, "token: %s\nexpirationTimestamp: %s\nserviceAccount: %s/%s\n", grant.token,
                       grant.expiration_timestamp, req.namespace_name, req.service_account);
    token_grant_clear(&grant);
    return 0;
}

static const char *const token_kinds[] = {"/v1/ServiceAccount", NULL};

const tool_def tool_serviceaccount_token_create = {
    .name = "serviceaccount_token_create",
    .title = "Service accounts: Create token",
    .description = "Mint a short-lived token for a Kubernetes service account through the TokenRequest API (like "
                   "`kubectl create token`). The token is returned in the result: hand it only to what needs it.",
    .input_schema = "{\"type\":\"object\",\"properties\":{"
                    "\"serviceAccount\":{\"type\":\"string\",\"minLength\":1,\"description\":\"Name of the service account\"},"
                    "\"namespace\":{\"type\":\"string\",\"description\":\"Namespace of the service account "
                    "(default: the context's namespace)\"},"
                    "\"duration\":{\"type\":\"string\",\"description\":\"Lifetime, e.g. 10m, 1h (default 1h; the "
                    "API server enforces at least 10m)\"},"
                    "\"audiences\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},\"description\":"
                    "\"Intended audiences (default: the API server's)\"}"
                    "},\"required\":[\"serviceAccount\"],\"additionalProperties\":false}",
    .toolset = "core",
    .destructive = true,
    .idempotent = false,
    .open_world = true,
    .handler = serviceaccount_token_create_handler,
    .fixed_kinds = token_kinds,
};
