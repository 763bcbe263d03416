#include "lazy/lazy_lib.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/log.h"

enum lazy_state { LAZY_UNLOADED, LAZY_LOADED, LAZY_FAILED };

/* One lock for all libraries: loading happens a handful of times per process. */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static int open_and_resolve(lazy_lib *lib) {
    size_t slots = LAZY_TABLE_BYTES / sizeof(lazy_fn);
    if (lib->count > slots) {
        snprintf(lib->error, sizeof lib->error, "%s: %zu functions do not fit the %zu-entry table", lib->soname,
                 lib->count, slots);
        return -ELIBACC;
    }
    void *handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        snprintf(lib->error, sizeof lib->error, "cannot load %s (%s): install the %s package", lib->soname, dlerror(),
                 lib->package);
        return -ELIBACC;
    }
    for (size_t i = 0; i < lib->count; i++) {
        void *sym = dlsym(handle, lib->names[i]);
        if (!sym) {
            snprintf(lib->error, sizeof lib->error, "%s has no function %s: kubemcp was built against another version",
                     lib->soname, lib->names[i]);
            /* Handles already given out by the library stay valid: it is never closed. */
            return -ELIBACC;
        }
        /* POSIX guarantees that an object pointer from dlsym converts to a function pointer. */
        memcpy(&lib->table[i], &sym, sizeof sym);
    }
    long page = sysconf(_SC_PAGESIZE);
    if (page > 0 && LAZY_TABLE_BYTES % page == 0 && mprotect(lib->table, LAZY_TABLE_BYTES, PROT_READ) < 0) {
        snprintf(lib->error, sizeof lib->error, "cannot protect the function table of %s: %s", lib->soname,
                 strerror(errno));
        return -ELIBACC;
    }
    return 0;
}

int lazy_lib_load(lazy_lib *lib) {
    int state = atomic_load_explicit(&lib->state, memory_order_acquire);
    if (state == LAZY_LOADED)
        return 0;
    if (state == LAZY_FAILED)
        return -ELIBACC;
    pthread_mutex_lock(&load_lock);
    state = atomic_load_explicit(&lib->state, memory_order_relaxed);
    if (state == LAZY_UNLOADED) {
        int r = open_and_resolve(lib);
        if (r < 0)
            log_error("%s", lib->error);
        state = r < 0 ? LAZY_FAILED : LAZY_LOADED;
        atomic_store_explicit(&lib->state, state, memory_order_release);
    }
    pthread_mutex_unlock(&load_lock);
    return state == LAZY_LOADED ? 0 : -ELIBACC;
}

bool lazy_lib_loaded(lazy_lib *lib) {
    return atomic_load_explicit(&lib->state, memory_order_acquire) == LAZY_LOADED;
}

_Noreturn void lazy_lib_die(const lazy_lib *lib) {
    fprintf(stderr, "kubemcp: %s\n", lib->error);
    abort();
}
