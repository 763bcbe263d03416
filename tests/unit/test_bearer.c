/* Bearer extraction: Authorization first, kubernetes-authorization as fallback, malformed → refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gate/bearer.h"

static int extract(const char *authz, const char *kauthz, char **token, error_info *err) {
    const char *a[] = {authz};
    const char *k[] = {kauthz};
    bearer_headers h = {a, authz ? 1 : 0, k, kauthz ? 1 : 0};
    return bearer_from_headers(&h, token, err);
}

static void test_authorization_header(void **state) {
    char *token = NULL;
    error_info err = {0};
    assert_int_equal(extract("Bearer abc.def-ghi_jkl", NULL, &token, &err), 0);
    assert_string_equal(token, "abc.def-ghi_jkl");
    token = bearer_free(token);
    assert_int_equal(extract("bearer   sha256~OpenShiftToken  ", NULL, &token, &err), 0);
    assert_string_equal(token, "sha256~OpenShiftToken");
    token = bearer_free(token);
}

static void test_fallback_and_precedence(void **state) {
    char *token = NULL;
    error_info err = {0};
    assert_int_equal(extract(NULL, "Bearer from-legacy", &token, &err), 0);
    assert_string_equal(token, "from-legacy");
    token = bearer_free(token);
    assert_int_equal(extract("Bearer primary", "Bearer legacy", &token, &err), 0);
    assert_string_equal(token, "primary");
    token = bearer_free(token);
    assert_int_equal(extract(NULL, NULL, &token, &err), 0);
    assert_null(token);
}

static void expect_refused(const char *authz, int code, const char *message_part) {
    char *token = NULL;
    error_info err = {0};
    assert_int_equal(extract(authz, NULL, &token, &err), -code);
    assert_null(token);
    if (!strstr(err.message, message_part))
        fail_msg("expected \"%s\" in \"%s\"", message_part, err.message);
}

static void test_malformed(void **state) {
    /* A malformed header (invalid_request)... */
    expect_refused("Basic dXNlcjpwYXNz", EINVAL, "must be \"Bearer <token>\"");
    expect_refused("Bearer", EINVAL, "must be \"Bearer <token>\"");
    expect_refused("Bearer    ", EINVAL, "empty bearer token");
    expect_refused("Bearerabc", EINVAL, "must be \"Bearer <token>\"");
    /* ...or a malformed token (invalid_token). */
    expect_refused("Bearer two tokens", EBADMSG, "characters a token cannot have");
    expect_refused("Bearer tok\x01en", EBADMSG, "characters a token cannot have");
    expect_refused("Bearer a,b", EBADMSG, "characters a token cannot have");
    expect_refused("Bearer a.b\xff\xfe.c", EBADMSG, "characters a token cannot have");
    char *big = malloc(BEARER_MAX_TOKEN_BYTES + 20);
    strcpy(big, "Bearer ");
    memset(big + 7, 'a', BEARER_MAX_TOKEN_BYTES + 1);
    big[7 + BEARER_MAX_TOKEN_BYTES + 1] = '\0';
    expect_refused(big, EBADMSG, "longer than");
    free(big);
    /* The message never repeats the token. */
    char *token = NULL;
    error_info err = {0};
    extract("Bearer super secret", NULL, &token, &err);
    assert_null(strstr(err.message, "super"));
}

static void test_duplicates_refused(void **state) {
    const char *two[] = {"Bearer a", "Bearer b"};
    bearer_headers h = {two, 2, NULL, 0};
    char *token = NULL;
    error_info err = {0};
    assert_int_equal(bearer_from_headers(&h, &token, &err), -EINVAL);
    assert_non_null(strstr(err.message, "more than once"));
    bearer_headers k = {NULL, 0, two, 2};
    assert_int_equal(bearer_from_headers(&k, &token, &err), -EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authorization_header),
        cmocka_unit_test(test_fallback_and_precedence),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_duplicates_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
