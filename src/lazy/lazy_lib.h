/* Shared libraries opened on first use. The kubemcp binary does not list libcurl, libmicrohttpd,
 * cjose, libcrypto and GnuTLS as NEEDED: each src/lazy/<library>.c defines the functions kubemcp
 * calls under their own names (so the callers do not change) and opens the library with dlopen
 * the first time one of them runs. A stdio server that has not talked to a cluster yet therefore
 * maps none of them, nor the 30-odd libraries they pull in (Kerberos, LDAP, SSH, p11-kit...),
 * whose loading and constructors were most of its idle RSS and start-up time.
 *
 * Only the kubemcp executable links these definitions (the CMake object library kubemcp_lazy);
 * the unit tests call the real libraries. A function kubemcp starts to call that has no
 * definition here makes the link fall back to the real library, and the ctest
 * lazy_libraries_not_needed then names the library: add the function to its src/lazy file. */
#ifndef KUBEMCP_LAZY_LAZY_LIB_H
#define KUBEMCP_LAZY_LAZY_LIB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

typedef void (*lazy_fn)(void);

/* The resolved addresses live in one page of their own, made read-only once filled, so that a
 * memory-corruption bug cannot redirect them (what full RELRO does for the addresses the dynamic
 * loader fills in at start). */
#define LAZY_TABLE_BYTES 4096
#define LAZY_TABLE(name) static lazy_fn name[LAZY_TABLE_BYTES / sizeof(lazy_fn)] __attribute__((aligned(LAZY_TABLE_BYTES)))

typedef struct lazy_lib {
    const char *soname;        /* as the loader knows it, e.g. "libcurl.so.4" */
    const char *package;       /* the Debian package that ships it, for the error message */
    const char *const *names;  /* the functions to resolve, in table order */
    size_t count;
    lazy_fn *table;            /* LAZY_TABLE storage: table[i] is names[i] once loaded */
    atomic_int state;          /* enum lazy_state in lazy_lib.c */
    char error[512];           /* why loading failed, when it did */
} lazy_lib;

#define LAZY_LIB_INIT(soname_, package_, names_, table_)                                                       \
    {                                                                                                          \
        .soname = (soname_), .package = (package_), .names = (names_),                                         \
        .count = sizeof(names_) / sizeof((names_)[0]), .table = (table_),                                      \
    }

/* The address at table[index] of `lib`, typed as the library's header declares `name`. Only valid
 * after lazy_lib_load returned 0 (or lazy_lib_loaded returned true). */
#define LAZY_FN(lib, index, name) ((__typeof__(&name))(lib).table[index])

/* What each src/lazy file declares: FUNCTIONS(X) lists the functions it forwards, X(name) each;
 * this makes the file's `lib` and LAZY_REAL(name), the library's own function. */
#define LAZY_AS_INDEX(name) LAZY_I_##name,
#define LAZY_AS_NAME(name) #name,
#define LAZY_LIBRARY(soname, package, FUNCTIONS)                                                               \
    enum { FUNCTIONS(LAZY_AS_INDEX) LAZY_FUNCTION_COUNT };                                                     \
    static const char *const lazy_names[] = {FUNCTIONS(LAZY_AS_NAME)};                                         \
    LAZY_TABLE(lazy_table);                                                                                    \
    static lazy_lib lib = LAZY_LIB_INIT(soname, package, lazy_names, lazy_table)
#define LAZY_REAL(name) LAZY_FN(lib, LAZY_I_##name, name)

/* Opens the library and resolves every name, once: 0 when loaded, -ELIBACC when it cannot be
 * (lib->error says why, and it was logged once). A failure is final. Thread-safe; once loaded a
 * call costs one atomic load. */
int lazy_lib_load(lazy_lib *lib);

/* Whether the library is loaded. Functions that release something the library made skip the
 * call when it is not: nothing it made can exist, and a cleanup path must not load a library. */
bool lazy_lib_loaded(lazy_lib *lib);

/* For a function that has no way to report failure: kubemcp cannot go on without the library
 * (before lazy loading, it would not have started). Writes lib->error to stderr and aborts. */
_Noreturn void lazy_lib_die(const lazy_lib *lib);

#endif
