/* libFuzzer target: the kubeconfig parser and everything run on what it returns (context checks,
 * the redacted view). Build: clang -fsanitize=fuzzer,address,undefined (KUBEMCP_FUZZ=ON). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "kube/kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    kubeconfig *kc = NULL;
    error_info err = {0};
    if (kubeconfig_parse((const char *)data, size, "/fuzz/dir/config", &kc, &err) < 0)
        return 0;
    for (size_t i = 0; i < kc->n_contexts; i++)
        kubeconfig_check_context(kc, kc->contexts[i].name, &err);
    json_t *v = kubeconfig_view(kc, NULL, false, &err);
    json_decref(v);
    if (kc->current_context) {
        v = kubeconfig_view(kc, NULL, true, &err);
        json_decref(v);
    }
    kubeconfig_free(kc);
    return 0;
}
