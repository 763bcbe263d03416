/* kube_do against a local HTTP server: per-request credentials, no credential bleed across a
 * pooled handle, limits, errors, cancellation; plus the path/query helpers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kube/kube.h"
#include "kube/kube_internal.h"
#include "kube_test_server.h"

#define DATA KUBEMCP_TEST_DATA_DIR "/kube"

static atomic_int unauthorized_left;

static void handler(const ts_request *req, ts_reply *reply, void *ctx) {
    (void)ctx;
    if (strcmp(req->target, "/ok") == 0 || strncmp(req->target, "/ok?", 4) == 0) {
        ts_reply_text(reply, 200, "{\"kind\":\"Pod\"}");
    } else if (strcmp(req->target, "/forbidden") == 0) {
        ts_reply_file(reply, DATA "/discovery/forbidden-status.json");
        reply->status = 403;
    } else if (strcmp(req->target, "/notstatus") == 0) {
        ts_reply_text(reply, 404, "404 page not found\n");
        reply->content_type = "text/plain; charset=utf-8";
    } else if (strcmp(req->target, "/big") == 0) {
        reply->body_len = 100000;
        reply->body = malloc(reply->body_len);
        memset(reply->body, 'x', reply->body_len);
    } else if (strcmp(req->target, "/slow") == 0) {
        reply->delay_ms = 3000;
        ts_reply_text(reply, 200, "{}");
    } else if (strcmp(req->target, "/echo") == 0) {
        char *b;
        if (asprintf(&b, "%s %s", req->method, req->body) < 0)
            abort();
        reply->body = b;
        reply->body_len = strlen(b);
    } else if (strcmp(req->target, "/flaky-auth") == 0) {
        if (atomic_fetch_sub(&unauthorized_left, 1) > 0)
            ts_reply_text(reply, 401, "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"status\":\"Failure\","
                                      "\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\",\"code\":401}");
        else
            ts_reply_text(reply, 200, "{}");
    } else {
        ts_reply_text(reply, 404, "{\"kind\":\"Status\",\"message\":\"nope\"}");
    }
}

static test_server *srv;
static char server_url[64];

static int setup(void **state) {
    (void)state;
    srv = test_server_start(handler, NULL);
    snprintf(server_url, sizeof server_url, "http://127.0.0.1:%d", srv->port);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    test_server_stop(srv);
    return 0;
}

static kube_cluster *cluster_with(kube_cluster_config cfg) {
    if (!cfg.server)
        cfg.server = server_url;
    cfg.name = "test";
    kube_cluster *c = NULL;
    error_info err = {0};
    if (kube_cluster_new(&cfg, &c, &err) < 0)
        fail_msg("kube_cluster_new: %s", err.message);
    return c;
}

/* The value of a header in a recorded request, or NULL; count says how many times it occurs. */
static const char *header(const ts_request *r, const char *name, int *count) {
    static char value[1024];
    const char *found = NULL;
    int n = 0;
    size_t nl = strlen(name);
    for (const char *p = strstr(r->head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            if (!found) {
                snprintf(value, sizeof value, "%.*s", (int)(e - v), v);
                found = value;
            }
            n++;
        }
    }
    if (count)
        *count = n;
    return found;
}

static void get(kube_cluster *c, const char *path, const kube_credential *cred, kube_response *resp) {
    kube_request req = {.method = "GET", .path = path, .credential = cred};
    error_info err = {0};
    if (kube_do(c, &req, resp, &err) < 0)
        fail_msg("kube_do %s: %s", path, err.message);
}

static void test_credentials_per_request_no_bleed(void **state) {
    (void)state;
    kube_cluster *c = cluster_with((kube_cluster_config){.token = "cluster-own-token"});
    kube_response resp = {0};
    const char *groups[] = {"system:masters", "devs", NULL};
    kube_credential alice = {.bearer_token = "alice-token", .impersonate_user = "bob", .impersonate_groups = groups,
                             .impersonate_uid = "uid-1"};
    int before = test_server_count(srv);
    get(c, "/ok", &alice, &resp);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.body, "{\"kind\":\"Pod\"}");
    assert_string_equal(resp.content_type, "application/json");
    kube_response_clear(&resp);
    get(c, "/ok", NULL, &resp);
    kube_response_clear(&resp);
    kube_credential carol = {.bearer_token = "carol-token"};
    get(c, "/ok", &carol, &resp);
    kube_response_clear(&resp);
    assert_int_equal(test_server_count(srv), before + 3);

    const ts_request *r1 = test_server_request(srv, before), *r2 = test_server_request(srv, before + 1),
                     *r3 = test_server_request(srv, before + 2);
    int n;
    assert_string_equal(header(r1, "Authorization", &n), "Bearer alice-token");
    assert_int_equal(n, 1);
    assert_string_equal(header(r1, "Impersonate-User", NULL), "bob");
    header(r1, "Impersonate-Group", &n);
    assert_int_equal(n, 2);
    assert_non_null(strstr(r1->head, "Impersonate-Group: system:masters\r\nImpersonate-Group: devs\r\n"));
    assert_string_equal(header(r1, "Impersonate-Uid", NULL), "uid-1");
    assert_string_equal(header(r1, "User-Agent", NULL), "kubemcp/" KUBEMCP_VERSION);
    assert_string_equal(header(r1, "Accept", NULL), "application/json");

    /* same pooled handle and connection, none of alice's headers */
    assert_int_equal(r2->connection, r1->connection);
    assert_string_equal(header(r2, "Authorization", &n), "Bearer cluster-own-token");
    assert_int_equal(n, 1);
    assert_null(header(r2, "Impersonate-User", NULL));
    assert_null(header(r2, "Impersonate-Group", NULL));
    assert_null(header(r2, "Impersonate-Uid", NULL));
    assert_int_equal(r3->connection, r1->connection);
    assert_string_equal(header(r3, "Authorization", NULL), "Bearer carol-token");
    assert_null(header(r3, "Impersonate-User", NULL));
    assert_true(kube_cluster_pooled_handles(c) >= 1);
    kube_cluster_free(c);
}

static void test_basic_and_no_credentials(void **state) {
    (void)state;
    kube_cluster *c = cluster_with((kube_cluster_config){.username = "admin", .password = "hunter2"});
    kube_response resp = {0};
    get(c, "/ok", NULL, &resp);
    kube_response_clear(&resp);
    assert_string_equal(header(test_server_request(srv, -1), "Authorization", NULL), "Basic YWRtaW46aHVudGVyMg==");
    kube_credential bearer = {.bearer_token = "t"};
    get(c, "/ok", &bearer, &resp);
    kube_response_clear(&resp);
    assert_string_equal(header(test_server_request(srv, -1), "Authorization", NULL), "Bearer t");
    kube_cluster_free(c);

    c = cluster_with((kube_cluster_config){0});
    get(c, "/ok", NULL, &resp);
    kube_response_clear(&resp);
    assert_null(header(test_server_request(srv, -1), "Authorization", NULL));
    /* a token that would smuggle a header is refused */
    kube_credential evil = {.bearer_token = "x\r\nImpersonate-User: admin"};
    kube_request req = {.method = "GET", .path = "/ok", .credential = &evil};
    error_info err = {0};
    assert_int_equal(kube_do(c, &req, &resp, &err), -EACCES);
    kube_credential evil2 = {.bearer_token = "ok", .impersonate_user = "a\nb"};
    req.credential = &evil2;
    assert_int_equal(kube_do(c, &req, &resp, &err), -EINVAL);
    kube_cluster_free(c);
}

static void test_status_message(void **state) {
    (void)state;
    kube_cluster *c = cluster_with((kube_cluster_config){0});
    kube_response resp = {0};
    get(c, "/forbidden", NULL, &resp);
    assert_int_equal(resp.status, 403);
    error_info err = {0};
    assert_int_equal(kube_response_error(&resp, &err), -EACCES);
    assert_string_equal(err.message, "pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" "
                                     "in the namespace \"kube-system\"");
    assert_int_equal(err.http_status, 403);
    kube_response_clear(&resp);

    get(c, "/notstatus", NULL, &resp);
    assert_int_equal(kube_response_error(&resp, &err), -ENOENT);
    assert_string_equal(err.message, "the Kubernetes API server answered HTTP 404: 404 page not found");
    assert_null(kube_response_json(&resp, &err));
    kube_response_clear(&resp);

    get(c, "/ok", NULL, &resp);
    assert_int_equal(kube_response_error(&resp, &err), 0);
    json_t *j = kube_response_json(&resp, &err);
    assert_string_equal(json_string_value(json_object_get(j, "kind")), "Pod");
    json_decref(j);
    kube_response_clear(&resp);

    char conflict_body[] = "{\"kind\":\"Status\",\"message\":\"configmaps \\\"x\\\" already exists\"}";
    kube_response conflict = {.status = 409, .body = conflict_body, .body_len = strlen(conflict_body)};
    assert_int_equal(kube_response_error(&conflict, &err), -EEXIST);
    assert_string_equal(err.message, "configmaps \"x\" already exists");
    kube_cluster_free(c);
}

static void test_body_and_query(void **state) {
    (void)state;
    kube_cluster *c = cluster_with((kube_cluster_config){0});
    const char *body = "{\"a\":1}";
    kube_request req = {.method = "PATCH", .path = "/echo", .body = body, .body_len = strlen(body),
                        .content_type = "application/apply-patch+yaml", .accept = "application/yaml"};
    kube_response resp = {0};
    error_info err = {0};
    assert_int_equal(kube_do(c, &req, &resp, &err), 0);
    assert_string_equal(resp.body, "PATCH {\"a\":1}");
    const ts_request *r = test_server_request(srv, -1);
    assert_string_equal(header(r, "Content-Type", NULL), "application/apply-patch+yaml");
    assert_string_equal(header(r, "Accept", NULL), "application/yaml");
    kube_response_clear(&resp);

    kube_request q = {.method = "GET", .path = "/ok", .query = "labelSelector=app%3Dweb&limit=5"};
    assert_int_equal(kube_do(c, &q, &resp, &err), 0);
    assert_string_equal(test_server_request(srv, -1)->target, "/ok?labelSelector=app%3Dweb&limit=5");
    kube_response_clear(&resp);
    kube_cluster_free(c);
}

static void test_response_limit(void **state) {
    (void)state;
    kube_cluster *c = cluster_with((kube_cluster_config){0});
    kube_request req = {.method = "GET", .path = "/big", .max_response_bytes = 1000};
    kube_response resp = {0};
    error_info err = {0};
    assert_int_equal(kube_do(c, &req, &resp, &err), -EMSGSIZE);
    assert_non_null(strstr(err.message, "larger than 1000 bytes"));
    assert_null(resp.body);
    req.max_response_bytes = 0;
    assert_int_equal(kube_do(c, &req, &resp, &err), 0);
    assert_int_equal(resp.body_len, 100000);
    kube_response_clear(&resp);
    kube_cluster_free(c);
}

static void test_connection_refused(void **state) {
    (void)state;
    /* bind and close a port so nothing listens there */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(a.sin_port));
    kube_cluster *c = cluster_with((kube_cluster_config){.server = url});
    kube_request req = {.method = "GET", .path = "/ok"};
    kube_response resp = {0};
    error_info err = {0};
    assert_int_equal(kube_do(c, &req, &resp, &err), -ECONNREFUSED);
    char want[256];
    snprintf(want, sizeof want,
             "cannot reach the Kubernetes API server at %s: Connection refused (check the server URL in your kubeconfig "
             "and that the cluster is running)",
             url);
    assert_string_equal(err.message, want);
    kube_cluster_free(c);
}

typedef struct canceller {
    atomic_bool *flag;
} canceller;

static void *cancel_soon(void *arg) {
    canceller *k = arg;
    usleep(200 * 1000);
    atomic_store(k->flag, true);
    return NULL;
}

static void test_cancel_and_timeout(void **state) {
    (void)state;
    /* libcurl polls the progress callback about once a second while waiting: a long overall timeout
     * shows that cancellation, not the timeout, ended the call */
    kube_cluster *c = cluster_with((kube_cluster_config){.timeout_seconds = 20});
    atomic_bool cancelled = false;
    kube_request req = {.method = "GET", .path = "/slow", .cancelled = &cancelled};
    kube_response resp = {0};
    error_info err = {0};
    canceller k = {&cancelled};
    pthread_t t;
    pthread_create(&t, NULL, cancel_soon, &k);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(kube_do(c, &req, &resp, &err), -ECANCELED);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_join(t, NULL);
    assert_non_null(strstr(err.message, "cancelled"));

    assert_true(t1.tv_sec - t0.tv_sec < 3);
    kube_cluster_free(c);

    c = cluster_with((kube_cluster_config){.timeout_seconds = 1});
    req.cancelled = NULL;
    assert_int_equal(kube_do(c, &req, &resp, &err), -ETIMEDOUT);
    assert_non_null(strstr(err.message, "did not answer within 1 s"));
    kube_cluster_free(c);
}

static void test_token_file_retry_on_401(void **state) {
    (void)state;
    char dir[] = "/tmp/kubemcp-client-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/token", dir);
    FILE *f = fopen(path, "w");
    fputs("file-token\n", f);
    fclose(f);
    kube_cluster *c = cluster_with((kube_cluster_config){.token_file = path});
    atomic_store(&unauthorized_left, 1);
    int before = test_server_count(srv);
    kube_response resp = {0};
    get(c, "/flaky-auth", NULL, &resp);
    assert_int_equal(resp.status, 200); /* re-read and retried once */
    kube_response_clear(&resp);
    assert_int_equal(test_server_count(srv), before + 2);
    assert_string_equal(header(test_server_request(srv, -1), "Authorization", NULL), "Bearer file-token");

    /* a caller's own bearer is never retried: its 401 is the answer */
    atomic_store(&unauthorized_left, 5);
    kube_credential bearer = {.bearer_token = "bad"};
    get(c, "/flaky-auth", &bearer, &resp);
    assert_int_equal(resp.status, 401);
    kube_response_clear(&resp);
    kube_cluster_free(c);
    unlink(path);
    rmdir(dir);
}

static void test_bad_server_url(void **state) {
    (void)state;
    kube_cluster *c = NULL;
    error_info err = {0};
    kube_cluster_config cfg = {.name = "x", .server = "ftp://host"};
    assert_int_equal(kube_cluster_new(&cfg, &c, &err), -EINVAL);
    assert_non_null(strstr(err.message, "must start with https://"));
    cfg.server = "https://[::1]:6443/";
    cfg.tls_server_name = "kubernetes.default.svc";
    assert_int_equal(kube_cluster_new(&cfg, &c, &err), 0);
    assert_string_equal(kube_cluster_server(c), "https://[::1]:6443");
    kube_cluster_free(c);
}

static void test_resource_path(void **state) {
    (void)state;
    char out[256];
    kube_resource_info pod = {.group = "", .version = "v1", .resource = "pods", .kind = "Pod", .namespaced = true};
    assert_int_equal(kube_resource_path(&pod, "default", NULL, NULL, out, sizeof out, NULL), 0);
    assert_string_equal(out, "/api/v1/namespaces/default/pods");
    assert_int_equal(kube_resource_path(&pod, "default", "web-0", "log", out, sizeof out, NULL), 0);
    assert_string_equal(out, "/api/v1/namespaces/default/pods/web-0/log");
    assert_int_equal(kube_resource_path(&pod, NULL, NULL, NULL, out, sizeof out, NULL), 0);
    assert_string_equal(out, "/api/v1/pods");
    assert_int_equal(kube_resource_path(&pod, "a/b", "../x y", NULL, out, sizeof out, NULL), 0);
    assert_string_equal(out, "/api/v1/namespaces/a%2Fb/pods/..%2Fx%20y");
    kube_resource_info node = {.group = "", .version = "v1", .resource = "nodes", .namespaced = false};
    assert_int_equal(kube_resource_path(&node, "ignored", "n1", NULL, out, sizeof out, NULL), 0);
    assert_string_equal(out, "/api/v1/nodes/n1");
    kube_resource_info deploy = {.group = "apps", .version = "v1", .resource = "deployments", .namespaced = true};
    assert_int_equal(kube_resource_path(&deploy, "prod", "api", "scale", out, sizeof out, NULL), 0);
    assert_string_equal(out, "/apis/apps/v1/namespaces/prod/deployments/api/scale");
    assert_int_equal(kube_resource_path(&deploy, "prod", "api", "scale", out, 20, NULL), -ENAMETOOLONG);
    kube_resource_info empty = {0};
    assert_int_equal(kube_resource_path(&empty, NULL, NULL, NULL, out, sizeof out, NULL), -EINVAL);
    /* An empty name would address the whole collection; dot segments would address another object. */
    error_info err = {0};
    assert_int_equal(kube_resource_path(&pod, "default", "", NULL, out, sizeof out, &err), -EINVAL);
    assert_non_null(strstr(err.message, "Pod name is empty"));
    assert_int_equal(kube_resource_path(&pod, "default", "..", NULL, out, sizeof out, &err), -EINVAL);
    assert_int_equal(kube_resource_path(&pod, "default", ".", NULL, out, sizeof out, &err), -EINVAL);
    assert_int_equal(kube_resource_path(&pod, "..", "web-0", NULL, out, sizeof out, &err), -EINVAL);
    assert_int_equal(kube_resource_path(&pod, ".", NULL, NULL, out, sizeof out, &err), -EINVAL);
    assert_int_equal(kube_resource_path(&pod, "default", "web-0", "..", out, sizeof out, &err), -EINVAL);
    assert_int_equal(kube_resource_path(&pod, "default", "..x", NULL, out, sizeof out, &err), 0);
}

static void test_query_escape(void **state) {
    (void)state;
    char out[64];
    assert_int_equal(kube_query_escape("app=web,tier in (a, b)", out, sizeof out), 0);
    assert_string_equal(out, "app%3Dweb%2Ctier%20in%20%28a%2C%20b%29");
    assert_int_equal(kube_query_escape("eyJ2Ijoi+/=", out, sizeof out), 0);
    assert_string_equal(out, "eyJ2Ijoi%2B%2F%3D");
    assert_int_equal(kube_query_escape("a-b_c.d~", out, sizeof out), 0);
    assert_string_equal(out, "a-b_c.d~");
    assert_int_equal(kube_query_escape("===", out, 5), -ENAMETOOLONG);
    assert_int_equal(kube_query_escape("", out, sizeof out), 0);
    assert_string_equal(out, "");
}

/* ---- TLS, against `openssl s_server -www`, which reports the client certificate it saw ---- */

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *d = malloc((size_t)n + 1);
    *len = fread(d, 1, (size_t)n, f);
    d[*len] = '\0';
    fclose(f);
    return d;
}

static pid_t start_s_server(const char *dir, int *ret_port) {
    int pfd[2];
    assert_int_equal(pipe(pfd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        if (chdir(dir) < 0)
            _exit(127);
        execlp("openssl", "openssl", "s_server", "-accept", "0", "-cert", "srv.crt", "-key", "srv.key", "-CAfile",
               "ca.crt", "-verify", "1", "-www", (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    FILE *f = fdopen(pfd[0], "r");
    char line[256];
    *ret_port = 0;
    while (fgets(line, sizeof line, f)) {
        char *acc = strstr(line, "ACCEPT");
        if (acc) {
            *ret_port = atoi(strrchr(line, ':') + 1);
            break;
        }
    }
    /* keep the pipe open in a detached reader would be nicer; s_server only logs, so closing is fine */
    fclose(f);
    return pid;
}

static void test_tls_material_and_bearer_drops_cert(void **state) {
    (void)state;
    if (system("command -v openssl >/dev/null 2>&1") != 0)
        skip();
    char dir[] = "/tmp/kubemcp-tls-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd %s && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt "
             "-subj /CN=testca -days 2 && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout srv.key -out srv.csr "
             "-subj /CN=kubernetes && printf 'subjectAltName=DNS:kubernetes.default.svc\\n' > ext && "
             "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out srv.crt -days 2 -extfile ext && "
             "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout cli.key -out cli.csr "
             "-subj /CN=alice && "
             "openssl x509 -req -in cli.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out cli.crt -days 2",
             dir);
    snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " >/dev/null 2>&1");
    assert_int_equal(system(cmd), 0);
    int port;
    pid_t pid = start_s_server(dir, &port);
    assert_true(port > 0);

    char path[256], url[64];
    size_t ca_len, cert_len, key_len;
    snprintf(path, sizeof path, "%s/ca.crt", dir);
    char *ca = slurp(path, &ca_len);
    snprintf(path, sizeof path, "%s/cli.crt", dir);
    char *cert = slurp(path, &cert_len);
    snprintf(path, sizeof path, "%s/cli.key", dir);
    char *key = slurp(path, &key_len);
    snprintf(url, sizeof url, "https://127.0.0.1:%d", port);

    /* the server certificate names kubernetes.default.svc only: tls-server-name makes it verify */
    kube_cluster *c = cluster_with((kube_cluster_config){.server = url, .ca_pem = ca, .ca_len = ca_len,
                                                         .tls_server_name = "kubernetes.default.svc",
                                                         .cert_pem = cert, .cert_len = cert_len, .key_pem = key,
                                                         .key_len = key_len});
    kube_response resp = {0};
    get(c, "/", NULL, &resp);
    assert_non_null(strstr(resp.body, "Client certificate"));
    kube_response_clear(&resp);
    kube_credential bearer = {.bearer_token = "caller-token"};
    get(c, "/", &bearer, &resp);
    assert_non_null(strstr(resp.body, "no client certificate available"));
    kube_response_clear(&resp);
    get(c, "/", NULL, &resp);
    assert_non_null(strstr(resp.body, "Client certificate"));
    kube_response_clear(&resp);
    kube_cluster_free(c);

    /* without tls-server-name the name check fails, with a message saying what to look at */
    c = cluster_with((kube_cluster_config){.server = url, .ca_pem = ca, .ca_len = ca_len});
    kube_request req = {.method = "GET", .path = "/"};
    error_info err = {0};
    assert_int_equal(kube_do(c, &req, &resp, &err), -EPROTO);
    assert_non_null(strstr(err.message, "TLS with the Kubernetes API server at https://127.0.0.1:"));
    assert_non_null(strstr(err.message, "tls-server-name"));
    kube_cluster_free(c);

    /* unknown CA */
    c = cluster_with((kube_cluster_config){.server = url, .tls_server_name = "kubernetes.default.svc"});
    assert_int_equal(kube_do(c, &req, &resp, &err), -EPROTO);
    kube_cluster_free(c);

    c = cluster_with((kube_cluster_config){.server = url, .insecure_skip_tls_verify = true});
    get(c, "/", NULL, &resp);
    assert_int_equal(resp.status, 200);
    kube_response_clear(&resp);
    kube_cluster_free(c);

    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    free(ca);
    free(cert);
    free(key);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_exec_plugin_credential(void **state) {
    (void)state;
    char dir[] = "/tmp/kubemcp-execc-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char plugin[128], cmd[1024];
    snprintf(plugin, sizeof plugin, "%s/plugin", dir);
    FILE *f = fopen(plugin, "w");
    /* records what the child saw: its environment and arguments */
    fprintf(f, "#!/bin/sh\n{ env; echo \"$@\"; } >> '%s/seen'\n"
               "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
               "\"status\":{\"token\":\"plugin-token\"}}'\n",
            dir);
    fclose(f);
    chmod(plugin, 0700);
    char *args[] = {"get-token", NULL};
    kc_exec_env env[] = {{.name = "PLUGIN_MODE", .value = "test"}};
    kc_exec exec = {.api_version = "client.authentication.k8s.io/v1", .command = plugin, .args = args, .n_args = 1,
                    .env = env, .n_env = 1};
    kube_cluster *c = cluster_with((kube_cluster_config){.exec = &exec});
    kube_response resp = {0};
    kube_credential caller = {.bearer_token = "caller-secret-xyz"};
    get(c, "/ok", &caller, &resp); /* the caller's bearer: the plugin is not needed */
    kube_response_clear(&resp);
    assert_string_equal(header(test_server_request(srv, -1), "Authorization", NULL), "Bearer caller-secret-xyz");
    get(c, "/ok", NULL, &resp);
    kube_response_clear(&resp);
    assert_string_equal(header(test_server_request(srv, -1), "Authorization", NULL), "Bearer plugin-token");
    get(c, "/ok", &caller, &resp);
    kube_response_clear(&resp);
    get(c, "/ok", NULL, &resp); /* cached: no expiry given */
    kube_response_clear(&resp);
    kube_cluster_free(c);

    char path[160];
    snprintf(path, sizeof path, "%s/seen", dir);
    size_t len;
    char *seen = slurp(path, &len);
    assert_null(strstr(seen, "caller-secret-xyz"));
    assert_null(strstr(seen, "plugin-token"));
    assert_non_null(strstr(seen, "PLUGIN_MODE=test"));
    assert_non_null(strstr(seen, "KUBERNETES_EXEC_INFO="));
    assert_non_null(strstr(seen, "get-token"));
    const char *first = strstr(seen, "KUBERNETES_EXEC_INFO=");
    assert_null(strstr(first + 1, "KUBERNETES_EXEC_INFO=")); /* ran once */
    free(seen);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

typedef struct worker {
    kube_cluster *c;
    int id;
    int failures;
} worker;

static void *worker_main(void *arg) {
    worker *w = arg;
    char token[32], query[32];
    snprintf(token, sizeof token, "tok-%d", w->id);
    snprintf(query, sizeof query, "t=%d", w->id);
    /* odd workers use the cluster's own credential, even ones their own bearer */
    kube_credential cred = {.bearer_token = token, .impersonate_user = token};
    for (int i = 0; i < 16; i++) {
        kube_request req = {.method = "GET", .path = "/ok", .query = query, .credential = w->id % 2 ? NULL : &cred};
        kube_response resp = {0};
        error_info err = {0};
        if (kube_do(w->c, &req, &resp, &err) < 0 || resp.status != 200)
            w->failures++;
        kube_response_clear(&resp);
    }
    return NULL;
}

static void test_concurrent_requests_keep_their_credentials(void **state) {
    (void)state;
    kube_cluster *c = cluster_with((kube_cluster_config){.token = "cluster-own-token"});
    int before = test_server_count(srv);
    pthread_t threads[8];
    worker workers[8];
    for (int i = 0; i < 8; i++) {
        workers[i] = (worker){.c = c, .id = i};
        pthread_create(&threads[i], NULL, worker_main, &workers[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(workers[i].failures, 0);
    }
    assert_int_equal(test_server_count(srv), before + 8 * 16);
    for (int i = before; i < before + 8 * 16; i++) {
        const ts_request *r = test_server_request(srv, i);
        int id = atoi(strstr(r->target, "t=") + 2);
        char want[64];
        if (id % 2)
            snprintf(want, sizeof want, "Bearer cluster-own-token");
        else
            snprintf(want, sizeof want, "Bearer tok-%d", id);
        int n;
        assert_string_equal(header(r, "Authorization", &n), want);
        assert_int_equal(n, 1);
        if (id % 2) {
            assert_null(header(r, "Impersonate-User", NULL));
        } else {
            snprintf(want, sizeof want, "tok-%d", id);
            assert_string_equal(header(r, "Impersonate-User", NULL), want);
        }
    }
    assert_true(kube_cluster_pooled_handles(c) <= 8);
    kube_cluster_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_credentials_per_request_no_bleed),
        cmocka_unit_test(test_basic_and_no_credentials),
        cmocka_unit_test(test_status_message),
        cmocka_unit_test(test_body_and_query),
        cmocka_unit_test(test_response_limit),
        cmocka_unit_test(test_connection_refused),
        cmocka_unit_test(test_cancel_and_timeout),
        cmocka_unit_test(test_token_file_retry_on_401),
        cmocka_unit_test(test_bad_server_url),
        cmocka_unit_test(test_tls_material_and_bearer_drops_cert),
        cmocka_unit_test(test_exec_plugin_credential),
        cmocka_unit_test(test_concurrent_requests_keep_their_credentials),
        cmocka_unit_test(test_resource_path),
        cmocka_unit_test(test_query_escape),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
