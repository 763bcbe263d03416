/* API discovery: parsing of APIVersions / APIGroupList / APIResourceList documents (exposed for
 * tests) behind kube_discovery_resolve in kube.h. */
#ifndef KUBEMCP_KUBE_DISCOVERY_H
#define KUBEMCP_KUBE_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "kube/kube.h"

/* Caps against a hostile or broken apiserver. */
#define KUBE_DISCOVERY_MAX_GROUP_VERSIONS 4096
#define KUBE_DISCOVERY_MAX_RESOURCES 4096

typedef struct kube_group_version {
    char group[256]; /* a DNS subdomain: up to 253 characters */
    char version[64];
    bool preferred;
    bool fetched;
    kube_resource_info *resources;
    size_t n_resources;
} kube_group_version;

/* Appends the group-versions of an APIVersions (/api, core group) or APIGroupList (/apis) document. */
int kube_discovery_parse_groups(json_t *doc, kube_group_version **gvs, size_t *n, error_info *err);

/* Parses an APIResourceList for group/version: top-level resources only, has_scale set from the
 * "<name>/scale" subresource. Caller frees *ret. */
int kube_discovery_parse_resources(json_t *doc, const char *group, const char *version, kube_resource_info **ret,
                                   size_t *ret_n, error_info *err);

/* Finds kind in a resource list: exact kind, then case-insensitive kind, then plural or singular
 * resource name (case-insensitive). */
const kube_resource_info *kube_discovery_match(const kube_resource_info *res, size_t n, const char *kind);

#endif
