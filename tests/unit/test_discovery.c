/* API discovery: parsing recorded kube-apiserver answers, and resolution through a local server
 * that serves them (including a CRD that appears after the first look). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/discovery.h"
#include "kube/kube.h"
#include "kube/kube_internal.h"
#include "kube_test_server.h"

#define DISC KUBEMCP_TEST_DATA_DIR "/kube/discovery"

static json_t *load(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", DISC, name);
    json_error_t e;
    json_t *j = json_load_file(path, 0, &e);
    if (!j)
        fail_msg("%s: %s", path, e.text);
    return j;
}

static void test_parse_groups(void **state) {
    (void)state;
    kube_group_version *gvs = NULL;
    size_t n = 0;
    error_info err = {0};
    json_t *api = load("api.json"), *apis = load("apis.json");
    assert_int_equal(kube_discovery_parse_groups(api, &gvs, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(gvs[0].group, "");
    assert_string_equal(gvs[0].version, "v1");
    assert_int_equal(kube_discovery_parse_groups(apis, &gvs, &n, &err), 0);
    bool apps = false, autoscaling_v2_preferred = false;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(gvs[i].group, "apps") == 0 && strcmp(gvs[i].version, "v1") == 0)
            apps = gvs[i].preferred;
        if (strcmp(gvs[i].group, "autoscaling") == 0 && strcmp(gvs[i].version, "v2") == 0)
            autoscaling_v2_preferred = gvs[i].preferred;
    }
    assert_true(apps);
    assert_true(autoscaling_v2_preferred);
    free(gvs);
    json_decref(api);
    json_decref(apis);

    json_t *bogus = json_pack("{s:s}", "kind", "Pod");
    gvs = NULL;
    n = 0;
    assert_int_equal(kube_discovery_parse_groups(bogus, &gvs, &n, &err), -EBADMSG);
    json_decref(bogus);
}

static void test_parse_resources(void **state) {
    (void)state;
    error_info err = {0};
    kube_resource_info *res;
    size_t n;
    json_t *core = load("api-v1.json");
    assert_int_equal(kube_discovery_parse_resources(core, "", "v1", &res, &n, &err), 0);
    const kube_resource_info *pod = kube_discovery_match(res, n, "Pod");
    assert_non_null(pod);
    assert_string_equal(pod->resource, "pods");
    assert_true(pod->namespaced);
    assert_false(pod->has_scale);
    for (size_t i = 0; i < n; i++)
        assert_null(strchr(res[i].resource, '/')); /* pods/log, pods/exec... are not resources */
    const kube_resource_info *ns = kube_discovery_match(res, n, "Namespace");
    assert_false(ns->namespaced);
    assert_true(kube_discovery_match(res, n, "ReplicationController")->has_scale);
    free(res);
    json_decref(core);

    json_t *apps = load("apis-apps-v1.json");
    assert_int_equal(kube_discovery_parse_resources(apps, "apps", "v1", &res, &n, &err), 0);
    const kube_resource_info *d = kube_discovery_match(res, n, "Deployment");
    assert_string_equal(d->group, "apps");
    assert_string_equal(d->version, "v1");
    assert_string_equal(d->resource, "deployments");
    assert_true(d->has_scale);
    assert_false(kube_discovery_match(res, n, "DaemonSet")->has_scale);
    assert_ptr_equal(kube_discovery_match(res, n, "deployment"), d);  /* case-insensitive kind */
    assert_ptr_equal(kube_discovery_match(res, n, "deployments"), d); /* plural */
    assert_null(kube_discovery_match(res, n, "Pod"));
    free(res);
    json_decref(apps);
}

/* A server answering discovery from the recorded files; the forklift CRD appears on demand. */
static atomic_bool crd_installed;
static atomic_int apis_fetches;

static void handler(const ts_request *req, ts_reply *reply, void *ctx) {
    (void)ctx;
    if (strcmp(req->target, "/api") == 0) {
        ts_reply_file(reply, DISC "/api.json");
    } else if (strcmp(req->target, "/apis") == 0) {
        atomic_fetch_add(&apis_fetches, 1);
        ts_reply_file(reply, DISC "/apis.json");
        if (atomic_load(&crd_installed)) {
            json_t *j = json_loadb(reply->body, reply->body_len, 0, NULL);
            json_array_append_new(json_object_get(j, "groups"),
                                  json_pack("{s:s, s:[{s:s, s:s}], s:{s:s, s:s}}", "name", "forklift.konveyor.io",
                                            "versions", "groupVersion", "forklift.konveyor.io/v1beta1", "version",
                                            "v1beta1", "preferredVersion", "groupVersion",
                                            "forklift.konveyor.io/v1beta1", "version", "v1beta1"));
            free(reply->body);
            reply->body = json_dumps(j, 0);
            reply->body_len = strlen(reply->body);
            json_decref(j);
        }
    } else if (strcmp(req->target, "/api/v1") == 0) {
        ts_reply_file(reply, DISC "/api-v1.json");
    } else if (strcmp(req->target, "/apis/apps/v1") == 0) {
        ts_reply_file(reply, DISC "/apis-apps-v1.json");
    } else if (strcmp(req->target, "/apis/forklift.konveyor.io/v1beta1") == 0 && atomic_load(&crd_installed)) {
        ts_reply_text(reply, 200,
                      "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":\"forklift.konveyor.io/v1beta1\","
                      "\"resources\":[{\"name\":\"plans\",\"singularName\":\"plan\",\"namespaced\":true,\"kind\":\"Plan\","
                      "\"verbs\":[\"get\",\"list\"]},{\"name\":\"plans/status\",\"singularName\":\"\",\"namespaced\":true,"
                      "\"kind\":\"Plan\",\"verbs\":[\"get\"]}]}");
    } else {
        ts_reply_text(reply, 404, "404 page not found");
        reply->content_type = "text/plain";
    }
}

static void test_resolve_through_server(void **state) {
    (void)state;
    test_server *srv = test_server_start(handler, NULL);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", srv->port);
    kube_cluster_config cfg = {.name = "t", .server = url, .token = "cluster-token"};
    kube_cluster *c = NULL;
    error_info err = {0};
    assert_int_equal(kube_cluster_new(&cfg, &c, &err), 0);

    kube_resource_info ri;
    assert_int_equal(kube_discovery_resolve(c, NULL, "v1", "Pod", &ri, &err), 0);
    assert_string_equal(ri.resource, "pods");
    assert_string_equal(ri.group, "");
    assert_int_equal(kube_discovery_resolve(c, NULL, "apps/v1", "Deployment", &ri, &err), 0);
    assert_true(ri.has_scale);
    assert_int_equal(kube_discovery_resolve(c, NULL, "apps", "deployment", &ri, &err), 0); /* preferred version */
    assert_string_equal(ri.version, "v1");
    int fetched = test_server_count(srv);
    assert_int_equal(kube_discovery_resolve(c, NULL, "apps/v1", "StatefulSet", &ri, &err), 0);
    assert_int_equal(test_server_count(srv), fetched); /* cached */

    /* discovery runs as the caller */
    kube_credential alice = {.bearer_token = "alice-token"};
    assert_int_equal(kube_discovery_resolve(c, &alice, "v1", "NoSuchKind", &ri, &err), -ENOENT);
    assert_string_equal(err.message, "the server doesn't have a resource type \"NoSuchKind\" in group/version \"v1\" "
                                     "(check the kind and apiVersion, or whether the CRD is installed)");
    assert_non_null(strstr(test_server_request(srv, -1)->head, "Authorization: Bearer alice-token\r\n"));

    int before = atomic_load(&apis_fetches);
    assert_int_equal(kube_discovery_resolve(c, NULL, "forklift.konveyor.io/v1beta1", "Plan", &ri, &err), -ENOENT);
    assert_non_null(strstr(err.message, "\"Plan\" in group/version \"forklift.konveyor.io/v1beta1\""));
    assert_int_equal(atomic_load(&apis_fetches), before + 1); /* one refresh on the miss */

    atomic_store(&crd_installed, true); /* the CRD is created later */
    assert_int_equal(kube_discovery_resolve(c, NULL, "forklift.konveyor.io/v1beta1", "Plan", &ri, &err), 0);
    assert_string_equal(ri.group, "forklift.konveyor.io");
    assert_string_equal(ri.resource, "plans");
    assert_true(ri.namespaced);
    char path[256];
    assert_int_equal(kube_resource_path(&ri, "konveyor", "p1", NULL, path, sizeof path, NULL), 0);
    assert_string_equal(path, "/apis/forklift.konveyor.io/v1beta1/namespaces/konveyor/plans/p1");

    assert_int_equal(kube_discovery_resolve(c, NULL, "a/b/c", "X", &ri, &err), -EINVAL);
    assert_int_equal(kube_discovery_resolve(c, NULL, "v1", "", &ri, &err), -EINVAL);
    kube_cluster_free(c);
    test_server_stop(srv);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_groups),
        cmocka_unit_test(test_parse_resources),
        cmocka_unit_test(test_resolve_through_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
