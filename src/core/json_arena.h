/* A scoped, per-thread bump allocator for jansson, so that parsing a Kubernetes answer, rendering
 * it and dropping it costs no per-node malloc/free.
 *
 * jansson's allocator is process-global, so json_arena_install() replaces it once with functions
 * that allocate from this thread's arena while a scope is open on it, and from malloc otherwise.
 * A free of a block that is not in this thread's open arena goes to free() (blocks from before the
 * install, from other threads, or from outside any scope); a free of an arena block does nothing,
 * and the whole arena is released when the outermost scope ends (a thread keeps one chunk of at
 * most 4 MiB for its next scope, freed when the thread exits).
 *
 * The rule that makes this safe: every json_t created inside a scope is dropped before the scope
 * ends, and no json_t that outlives the scope is changed inside it (an array or object that grows
 * would move its storage into the arena). So a scope goes around parse → render → delete of one
 * answer, never around code that may fill a cache (discovery, JWKS, sessions, config) or that
 * keeps a result. Strings jansson hands out inside a scope (json_dumps) must be released with
 * jansson's free function, never free(). In sanitizer builds the arena is poisoned when the scope
 * ends and between blocks, so a use after the scope or past a block is reported. */
#ifndef KUBEMCP_CORE_JSON_ARENA_H
#define KUBEMCP_CORE_JSON_ARENA_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Installs the allocator (once; later calls do nothing). Call before threads that use jansson
 * start; json_arena_begin() calls it too. */
void json_arena_install(void);

/* Opens a scope on this thread; scopes nest, and only the outermost one releases the arena. */
void json_arena_begin(void);
/* Closes the scope opened last: the outermost one releases every block allocated inside it. */
void json_arena_end(void);

/* Lets go of v. When v was built inside the open scope, the scope's end releases its memory
 * with everything else, so it is not walked to be freed node by node; it must then hold no
 * reference to a value from outside the scope (a parsed answer and values made from it are fine),
 * or that value leaks. Any other v is simply json_decref'd. */
void json_arena_drop(json_t *v);

/* Whether a scope is open on this thread. */
bool json_arena_active(void);
/* Bytes held by this thread's arena (chunks, not what is in use); between scopes, the one chunk
 * (at most 4 MiB) a thread keeps for the next scope. */
size_t json_arena_held(void);

#endif
