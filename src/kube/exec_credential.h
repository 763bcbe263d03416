/* client-go credential plugins (users[].user.exec): runs the plugin, parses its ExecCredential,
 * caches the credential until shortly before it expires. Thread-safe. */
#ifndef KUBEMCP_KUBE_EXEC_CREDENTIAL_H
#define KUBEMCP_KUBE_EXEC_CREDENTIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "core/error_info.h"
#include "kube/kubeconfig.h"

#define EXEC_CREDENTIAL_MAX_OUTPUT (1024u * 1024u)
#define EXEC_CREDENTIAL_TIMEOUT_MS 30000
/* A cached credential is refreshed this long before its expirationTimestamp. */
#define EXEC_CREDENTIAL_REFRESH_SKEW_S 30

typedef struct exec_credential exec_credential;

/* What a plugin answered; owned copies. */
typedef struct exec_credential_result {
    char *token;     /* NULL when the plugin returned a client certificate */
    char *cert_pem;  /* clientCertificateData */
    char *key_pem;   /* clientKeyData */
    time_t expiry;   /* 0 = no expirationTimestamp */
} exec_credential_result;

/* cfg is copied. */
int exec_credential_new(const kc_exec *cfg, exec_credential **ret, error_info *err);
exec_credential *exec_credential_free(exec_credential *ec);

/* For tests: a shorter timeout. */
void exec_credential_set_timeout_ms(exec_credential *ec, int timeout_ms);

/* The current credential (cached or freshly fetched); the caller owns the copies and clears them
 * with exec_credential_result_clear. */
int exec_credential_get(exec_credential *ec, exec_credential_result *ret, error_info *err);

/* Drops the cached credential, e.g. after the apiserver answered 401. */
void exec_credential_invalidate(exec_credential *ec);

void exec_credential_result_clear(exec_credential_result *r);

/* Parses plugin output. Exposed for tests. expected_api_version may be NULL. */
int exec_credential_parse(const char *json, size_t len, const char *expected_api_version, exec_credential_result *ret,
                          error_info *err);

/* RFC 3339 ("2024-05-01T12:00:00Z", fractions and offsets allowed) → time_t. */
int kube_parse_rfc3339(const char *s, time_t *ret);

#endif
