/* Per-thread bump arena behind jansson's allocator (see json_arena.h for the rules). */
#include "core/json_arena.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include <jansson.h>

#if defined(__SANITIZE_ADDRESS__)
#define JSON_ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JSON_ARENA_ASAN 1
#endif
#endif

#ifdef JSON_ARENA_ASAN
#include <sanitizer/asan_interface.h>
/* Poisoned bytes after every block, so reading or writing past one is reported. */
#define JSON_ARENA_REDZONE 16
#else
#define ASAN_POISON_MEMORY_REGION(addr, size) ((void)(addr), (void)(size))
#define ASAN_UNPOISON_MEMORY_REGION(addr, size) ((void)(addr), (void)(size))
#define JSON_ARENA_REDZONE 0
#endif

/* Blocks are aligned for any type (jansson stores doubles and pointers). */
#define JSON_ARENA_ALIGN 16
/* The first chunk fits one object (a Pod's tree is ~30 KiB); chunks then double up to the cap,
 * so a large list needs a handful of chunks and the ownership check stays short. */
#define JSON_ARENA_FIRST_CHUNK (64u * 1024)
#define JSON_ARENA_MAX_CHUNK (8u * 1024 * 1024)
/* The largest chunk up to this size stays with the thread between scopes: returning big chunks to
 * malloc made it give the pages back to the kernel and fault them in again on every list call. It
 * is freed when the thread exits. */
#define JSON_ARENA_KEEP_MAX (4u * 1024 * 1024)

typedef struct arena_chunk {
    struct arena_chunk *next;
    uintptr_t start, end; /* the usable bytes */
} arena_chunk;

typedef struct arena_state {
    unsigned depth;       /* open scopes on this thread */
    arena_chunk *chunks;  /* newest first */
    char *pos, *limit;    /* free space of the newest chunk */
    size_t next_size;
    size_t held;
} arena_state;

static _Thread_local arena_state arena;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
/* Holds the chunk a thread keeps between scopes, so it is freed when the thread exits. */
static pthread_key_t kept_chunk_key;

static size_t chunk_header_size(void) {
    return (sizeof(arena_chunk) + JSON_ARENA_ALIGN - 1) & ~(size_t)(JSON_ARENA_ALIGN - 1);
}

static int arena_grow(arena_state *a, size_t need) {
    size_t size = a->next_size ? a->next_size : JSON_ARENA_FIRST_CHUNK;
    if (size < need)
        size = need;
    if (size > SIZE_MAX - chunk_header_size())
        return -1;
    arena_chunk *c = malloc(chunk_header_size() + size);
    if (!c)
        return -1;
    c->start = (uintptr_t)c + chunk_header_size();
    c->end = c->start + size;
    c->next = a->chunks;
    a->chunks = c;
    a->pos = (char *)c->start;
    a->limit = (char *)c->end;
    a->held += size;
    ASAN_POISON_MEMORY_REGION(a->pos, size);
    if (size * 2 > a->next_size)
        a->next_size = size * 2 > JSON_ARENA_MAX_CHUNK ? JSON_ARENA_MAX_CHUNK : size * 2;
    return 0;
}

static void *arena_malloc(size_t size) {
    arena_state *a = &arena;
    if (a->depth == 0)
        return malloc(size);
    if (size > SIZE_MAX / 2)
        return NULL;
    size_t need = ((size ? size : 1) + JSON_ARENA_ALIGN - 1) & ~(size_t)(JSON_ARENA_ALIGN - 1);
    need += JSON_ARENA_REDZONE;
    if ((size_t)(a->limit - a->pos) < need && arena_grow(a, need) < 0)
        return NULL;
    char *p = a->pos;
    a->pos += need;
    ASAN_UNPOISON_MEMORY_REGION(p, size);
    return p;
}

static bool arena_owns(const arena_state *a, const void *p) {
    uintptr_t u = (uintptr_t)p;
    for (const arena_chunk *c = a->chunks; c; c = c->next)
        if (u >= c->start && u < c->end)
            return true;
    return false;
}

static void arena_free(void *p) {
    if (!p)
        return;
    const arena_state *a = &arena;
    /* Arena blocks go away with the scope; everything else was malloc'd. */
    if (a->depth > 0 && arena_owns(a, p))
        return;
    free(p);
}

static void free_kept_chunk(void *chunk) {
    free(chunk);
}

static void install(void) {
    if (pthread_key_create(&kept_chunk_key, free_kept_chunk) != 0)
        abort(); /* only fails when the process is out of keys or memory at start-up */
    json_set_alloc_funcs(arena_malloc, arena_free);
}

void json_arena_install(void) {
    pthread_once(&install_once, install);
}

void json_arena_begin(void) {
    json_arena_install();
    arena_state *a = &arena;
    if (a->depth++ == 0 && a->chunks) {
        /* The chunk kept from the last scope, empty again. */
        a->pos = (char *)a->chunks->start;
        a->limit = (char *)a->chunks->end;
    }
}

void json_arena_end(void) {
    arena_state *a = &arena;
    if (a->depth == 0 || --a->depth > 0)
        return;
    arena_chunk *keep = NULL;
    for (arena_chunk *c = a->chunks; c; c = c->next)
        if (c->end - c->start <= JSON_ARENA_KEEP_MAX && (!keep || c->end - c->start > keep->end - keep->start))
            keep = c;
    arena_chunk *c = a->chunks;
    while (c) {
        arena_chunk *next = c->next;
        /* Whatever the scope left behind must not be used again: poisoned until handed out anew. */
        ASAN_POISON_MEMORY_REGION((void *)c->start, c->end - c->start);
        if (c != keep)
            free(c);
        c = next;
    }
    a->chunks = keep;
    a->pos = a->limit = NULL;
    a->held = 0;
    a->next_size = 0;
    if (keep) {
        keep->next = NULL;
        a->held = keep->end - keep->start;
        /* The next scope starts in this chunk; more room comes in chunks twice its size. */
        a->next_size = a->held * 2 > JSON_ARENA_MAX_CHUNK ? JSON_ARENA_MAX_CHUNK : a->held * 2;
    }
    pthread_setspecific(kept_chunk_key, keep);
}

void json_arena_drop(json_t *v) {
    /* A value from outside the scope is ordinary heap memory: released the ordinary way. */
    if (v && !(arena.depth > 0 && arena_owns(&arena, v)))
        json_decref(v);
}

bool json_arena_active(void) {
    return arena.depth > 0;
}

size_t json_arena_held(void) {
    return arena.held;
}
