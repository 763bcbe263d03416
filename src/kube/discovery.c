#include "kube/discovery.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kube/kube_internal.h"

#define DISCOVERY_MAX_BODY (8u * 1024u * 1024u)

struct kube_discovery {
    pthread_mutex_t lock;
    bool loaded;
    kube_group_version *gvs;
    size_t n;
};

static void gvs_free(kube_group_version *gvs, size_t n) {
    for (size_t i = 0; i < n; i++)
        free(gvs[i].resources);
    free(gvs);
}

kube_discovery *kube_discovery_new(void) {
    kube_discovery *d = calloc(1, sizeof *d);
    if (d)
        pthread_mutex_init(&d->lock, NULL);
    return d;
}

kube_discovery *kube_discovery_free(kube_discovery *d) {
    if (!d)
        return NULL;
    gvs_free(d->gvs, d->n);
    pthread_mutex_destroy(&d->lock);
    free(d);
    return NULL;
}

static int copy_field(char *dst, size_t dst_len, const char *src) {
    if (!src || strlen(src) >= dst_len)
        return -EINVAL;
    memcpy(dst, src, strlen(src) + 1);
    return 0;
}

static int add_gv(kube_group_version **gvs, size_t *n, const char *group, const char *version, bool preferred) {
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*gvs)[i].group, group) == 0 && strcmp((*gvs)[i].version, version) == 0)
            return 0;
    if (*n >= KUBE_DISCOVERY_MAX_GROUP_VERSIONS)
        return -E2BIG;
    kube_group_version *arr = realloc(*gvs, (*n + 1) * sizeof *arr);
    if (!arr)
        return -ENOMEM;
    *gvs = arr;
    kube_group_version *gv = &arr[*n];
    memset(gv, 0, sizeof *gv);
    /* A name no real group or version can have is skipped, not fatal: one odd aggregated API
     * must not break discovery of every other kind. */
    if (copy_field(gv->group, sizeof gv->group, group) < 0 || copy_field(gv->version, sizeof gv->version, version) < 0)
        return 0;
    gv->preferred = preferred;
    (*n)++;
    return 0;
}

int kube_discovery_parse_groups(json_t *doc, kube_group_version **gvs, size_t *n, error_info *err) {
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    int r;
    if (kind && strcmp(kind, "APIVersions") == 0) {
        json_t *versions = json_object_get(doc, "versions");
        size_t i;
        json_t *v;
        json_array_foreach(versions, i, v) {
            if (json_is_string(v) && (r = add_gv(gvs, n, "", json_string_value(v), i == 0)) < 0)
                goto bad;
        }
        return 0;
    }
    if (kind && strcmp(kind, "APIGroupList") == 0) {
        json_t *groups = json_object_get(doc, "groups");
        size_t i, j;
        json_t *g, *v;
        json_array_foreach(groups, i, g) {
            const char *name = json_string_value(json_object_get(g, "name"));
            const char *pref = json_string_value(json_object_get(json_object_get(g, "preferredVersion"), "version"));
            if (!name)
                continue;
            json_array_foreach(json_object_get(g, "versions"), j, v) {
                const char *ver = json_string_value(json_object_get(v, "version"));
                if (ver && (r = add_gv(gvs, n, name, ver, pref && strcmp(pref, ver) == 0)) < 0)
                    goto bad;
            }
        }
        return 0;
    }
    return error_set(err, EBADMSG, "the API server's discovery answer is neither APIVersions nor APIGroupList (kind \"%s\")",
                     kind ? kind : "");
bad:
    if (r == -ENOMEM)
        return r;
    return error_set(err, EBADMSG, "the API server's discovery answer is malformed or too large");
}

int kube_discovery_parse_resources(json_t *doc, const char *group, const char *version, kube_resource_info **ret,
                                   size_t *ret_n, error_info *err) {
    json_t *resources = json_object_get(doc, "resources");
    if (!json_is_array(resources))
        return error_set(err, EBADMSG, "the API server's APIResourceList for %s%s%s has no resources", group,
                         *group ? "/" : "", version);
    size_t count = json_array_size(resources);
    if (count > KUBE_DISCOVERY_MAX_RESOURCES)
        return error_set(err, E2BIG, "the API server lists too many resources for %s%s%s", group, *group ? "/" : "",
                         version);
    kube_resource_info *res = calloc(count ? count : 1, sizeof *res);
    if (!res)
        return -ENOMEM;
    size_t n = 0, i;
    json_t *item;
    json_array_foreach(resources, i, item) {
        const char *name = json_string_value(json_object_get(item, "name"));
        const char *kind = json_string_value(json_object_get(item, "kind"));
        if (!name || !kind || strchr(name, '/'))
            continue;
        kube_resource_info *ri = &res[n];
        memset(ri, 0, sizeof *ri);
        /* a resource may live in another group/version (e.g. scale subresources); top-level ones don't */
        const char *g = json_string_value(json_object_get(item, "group"));
        const char *v = json_string_value(json_object_get(item, "version"));
        if (copy_field(ri->group, sizeof ri->group, g && *g ? g : group) < 0 ||
            copy_field(ri->version, sizeof ri->version, v && *v ? v : version) < 0 ||
            copy_field(ri->resource, sizeof ri->resource, name) < 0 || copy_field(ri->kind, sizeof ri->kind, kind) < 0)
            continue;
        ri->namespaced = json_is_true(json_object_get(item, "namespaced"));
        n++;
    }
    /* second pass: subresources only mark their parent */
    json_array_foreach(resources, i, item) {
        const char *name = json_string_value(json_object_get(item, "name"));
        const char *slash = name ? strchr(name, '/') : NULL;
        if (!slash || strcmp(slash, "/scale") != 0)
            continue;
        for (size_t k = 0; k < n; k++)
            if (strlen(res[k].resource) == (size_t)(slash - name) && strncmp(res[k].resource, name, (size_t)(slash - name)) == 0)
                res[k].has_scale = true;
    }
    *ret = res;
    *ret_n = n;
    return 0;
}

const kube_resource_info *kube_discovery_match(const kube_resource_info *res, size_t n, const char *kind) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(res[i].kind, kind) == 0)
            return &res[i];
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(res[i].kind, kind) == 0)
            return &res[i];
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(res[i].resource, kind) == 0)
            return &res[i];
    return NULL;
}

/* GET path as the request's caller and parse it as JSON. */
static int fetch_json(kube_cluster *c, const kube_credential *cred, const char *path, json_t **ret, long *ret_status,
                      error_info *err) {
    kube_request req = {.method = "GET", .path = path, .credential = cred, .max_response_bytes = DISCOVERY_MAX_BODY};
    kube_response resp = {0};
    int r = kube_do(c, &req, &resp, err);
    if (r < 0)
        return r;
    *ret_status = resp.status;
    if ((r = kube_response_error(&resp, err)) < 0) {
        kube_response_clear(&resp);
        return r;
    }
    json_t *j = kube_response_json(&resp, err);
    kube_response_clear(&resp);
    if (!j)
        return -EBADMSG;
    *ret = j;
    return 0;
}

static int load_groups(kube_cluster *c, kube_discovery *d, const kube_credential *cred, error_info *err) {
    kube_group_version *gvs = NULL;
    size_t n = 0;
    const char *paths[] = {"/api", "/apis"};
    for (size_t i = 0; i < 2; i++) {
        json_t *doc;
        long status;
        int r = fetch_json(c, cred, paths[i], &doc, &status, err);
        if (r == 0) {
            r = kube_discovery_parse_groups(doc, &gvs, &n, err);
            json_decref(doc);
        }
        if (r < 0) {
            error_prefix(err, "API discovery (GET %s)", paths[i]);
            gvs_free(gvs, n);
            return r;
        }
    }
    /* keep the resource lists already fetched for group-versions that still exist */
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < d->n; k++)
            if (d->gvs[k].fetched && strcmp(d->gvs[k].group, gvs[i].group) == 0 &&
                strcmp(d->gvs[k].version, gvs[i].version) == 0) {
                gvs[i].resources = d->gvs[k].resources;
                gvs[i].n_resources = d->gvs[k].n_resources;
                gvs[i].fetched = true;
                d->gvs[k].resources = NULL;
                d->gvs[k].fetched = false;
            }
    gvs_free(d->gvs, d->n);
    d->gvs = gvs;
    d->n = n;
    d->loaded = true;
    return 0;
}

static int load_resources(kube_cluster *c, kube_group_version *gv, const kube_credential *cred, error_info *err) {
    char path[512];
    if (gv->group[0])
        snprintf(path, sizeof path, "/apis/%s/%s", gv->group, gv->version);
    else
        snprintf(path, sizeof path, "/api/%s", gv->version);
    json_t *doc;
    long status;
    int r = fetch_json(c, cred, path, &doc, &status, err);
    if (r < 0) {
        error_prefix(err, "API discovery (GET %s)", path);
        return r;
    }
    kube_resource_info *res;
    size_t n;
    r = kube_discovery_parse_resources(doc, gv->group, gv->version, &res, &n, err);
    json_decref(doc);
    if (r < 0)
        return r;
    free(gv->resources);
    gv->resources = res;
    gv->n_resources = n;
    gv->fetched = true;
    return 0;
}

static kube_group_version *find_gv(kube_discovery *d, const char *group, const char *version) {
    for (size_t i = 0; i < d->n; i++)
        if (strcmp(d->gvs[i].group, group) == 0) {
            if (version ? strcmp(d->gvs[i].version, version) == 0 : d->gvs[i].preferred)
                return &d->gvs[i];
        }
    return NULL;
}

int kube_discovery_resolve(kube_cluster *c, const kube_credential *cred, const char *api_version, const char *kind,
                           kube_resource_info *ret, error_info *err) {
    if (!kind || !*kind)
        return error_set(err, EINVAL, "a kind is required (e.g. Pod, Deployment)");
    char group[128] = "", version[64] = "";
    if (api_version && *api_version) {
        const char *slash = strchr(api_version, '/');
        if (slash) {
            size_t gl = (size_t)(slash - api_version);
            if (gl == 0 || gl >= sizeof group || strlen(slash + 1) >= sizeof version || !slash[1] || strchr(slash + 1, '/'))
                return error_set(err, EINVAL, "apiVersion \"%s\" is not of the form GROUP/VERSION or VERSION", api_version);
            memcpy(group, api_version, gl);
            group[gl] = '\0';
            strcpy(version, slash + 1);
        } else if (strlen(api_version) < sizeof version) {
            strcpy(version, api_version);
        } else {
            return error_set(err, EINVAL, "apiVersion \"%s\" is not of the form GROUP/VERSION or VERSION", api_version);
        }
    } else {
        strcpy(version, "v1");
    }
    kube_discovery *d = kube_cluster_discovery(c);
    /* Held across the fetches: discovery is rare and one fetch serves everyone waiting. */
    pthread_mutex_lock(&d->lock);
    int r = 0;
    bool refreshed = false;
    if (!d->loaded) {
        if ((r = load_groups(c, d, cred, err)) < 0)
            goto out;
        refreshed = true;
    }
    for (;;) {
        kube_group_version *gv = find_gv(d, group, version);
        if (!gv && !group[0]) {
            /* "apps" alone: a group name without version means its preferred version */
            gv = find_gv(d, version, NULL);
        }
        if (gv && !gv->fetched && (r = load_resources(c, gv, cred, err)) < 0)
            goto out;
        const kube_resource_info *hit = gv ? kube_discovery_match(gv->resources, gv->n_resources, kind) : NULL;
        if (hit) {
            *ret = *hit;
            r = 0;
            goto out;
        }
        if (refreshed)
            break;
        /* a miss may be a CRD installed after we looked: look again, once */
        refreshed = true;
        if (gv)
            gv->fetched = false;
        if ((r = load_groups(c, d, cred, err)) < 0)
            goto out;
        gv = find_gv(d, group, version);
        if (gv)
            gv->fetched = false;
    }
    r = error_set(err, ENOENT,
                  "the server doesn't have a resource type \"%s\" in group/version \"%s%s%s\" (check the kind and "
                  "apiVersion, or whether the CRD is installed)",
                  kind, group, group[0] ? "/" : "", version);
out:
    pthread_mutex_unlock(&d->lock);
    return r;
}
