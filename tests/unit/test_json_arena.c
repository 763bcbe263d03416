/* The jansson arena: values made inside a scope come from it and go with it; everything else is
 * malloc/free as before, on every thread. Run under the sanitizer build too, where a use after
 * the scope or past a block is reported and a value freed the wrong way leaks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/json_arena.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifdef TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif

/* A Pod-like object with n containers, as compact JSON (malloc'd). */
static char *pod_text(int n) {
    json_t *containers = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(containers, json_pack("{s:s, s:s, s:[{s:i}]}", "name", "web", "image",
                                                     "registry.example/web:1.0", "ports", "containerPort", 8080 + i));
    json_t *pod = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:o}}", "apiVersion", "v1", "kind", "Pod", "metadata",
                            "name", "p", "labels", "app", "web", "spec", "containers", containers);
    char *text = json_dumps(pod, JSON_COMPACT);
    json_decref(pod);
    return text;
}

static void test_scope_nests_and_ends(void **state) {
    assert_false(json_arena_active());
    json_arena_begin();
    json_arena_begin();
    assert_true(json_arena_active());
    json_arena_end();
    assert_true(json_arena_active()); /* the outer scope is still open */
    json_arena_end();
    assert_false(json_arena_active());
    json_arena_end(); /* one end too many does nothing */
    assert_false(json_arena_active());
}

static void test_values_inside_a_scope(void **state) {
    char *text = pod_text(50);
    json_arena_begin();
    json_t *pod = json_loads(text, 0, NULL);
    assert_non_null(pod);
    assert_true(json_arena_held() > 0);
    /* Everything jansson does works on arena values: change, copy, dump, delete. */
    json_object_set_new(json_object_get(pod, "metadata"), "namespace", json_string("default"));
    json_t *copy = json_deep_copy(pod);
    assert_true(json_equal(pod, copy));
    json_object_del(copy, "spec");
    assert_int_equal(json_object_size(copy), 3);
    json_decref(copy);
    json_arena_drop(pod);
    json_arena_end();
    /* What a thread keeps for its next scope is bounded. */
    assert_true(json_arena_held() <= 4u * 1024 * 1024);
    free(text);
}

static void test_outside_values_are_freed_normally(void **state) {
    /* Made before the scope, released inside it: that is a real free (LeakSanitizer would see
     * a leak otherwise), and a value made inside and dropped with json_arena_drop is walked only
     * when it came from outside. */
    json_t *outside = json_pack("{s:s, s:[i, i]}", "a", "b", "c", 1, 2);
    json_t *outside_too = json_string("dropped the ordinary way");
    json_arena_begin();
    json_t *inside = json_pack("{s:o}", "kept", json_string("inside"));
    json_decref(outside);
    json_arena_drop(outside_too);
    json_arena_drop(inside);
    json_arena_end();
    /* After the scope, values are ordinary heap values again. */
    json_t *after = json_pack("{s:s}", "x", "y");
    char *dumped = json_dumps(after, JSON_COMPACT);
    assert_string_equal(dumped, "{\"x\":\"y\"}");
    free(dumped);
    json_decref(after);
}

static void test_large_answers_and_reuse(void **state) {
    char *text = pod_text(20000); /* about a megabyte of JSON */
    for (int round = 0; round < 3; round++) {
        json_arena_begin();
        json_t *pod = json_loads(text, 0, NULL);
        assert_non_null(pod);
        assert_int_equal(json_array_size(json_object_get(json_object_get(pod, "spec"), "containers")), 20000);
        json_arena_drop(pod);
        json_arena_end();
        assert_true(json_arena_held() > 0);
        assert_true(json_arena_held() <= 4u * 1024 * 1024);
    }
    free(text);
}

static void *scope_worker(void *arg) {
    const char *text = arg;
    for (int i = 0; i < 200; i++) {
        json_arena_begin();
        json_t *pod = json_loads(text, 0, NULL);
        char *again = json_dumps(pod, JSON_COMPACT);
        /* Inside a scope, what jansson hands out is released with jansson's free function. */
        json_malloc_t malloc_fn;
        json_free_t free_fn;
        json_get_alloc_funcs(&malloc_fn, &free_fn);
        int same = again && strcmp(again, text) == 0;
        free_fn(again);
        json_decref(pod);
        json_arena_end();
        if (!same)
            return (void *)1;
        /* Between scopes the thread allocates from the heap like any other. */
        json_t *heap = json_string("heap");
        json_decref(heap);
    }
    return NULL;
}

static void test_threads_keep_their_own_arenas(void **state) {
    char *text = pod_text(30);
    pthread_t threads[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, scope_worker, text), 0);
    /* Meanwhile this thread, outside any scope, makes and frees values of its own. */
    for (int i = 0; i < 2000; i++)
        json_decref(json_pack("{s:i}", "n", i));
    for (int i = 0; i < 4; i++) {
        void *failed = NULL;
        pthread_join(threads[i], &failed);
        assert_null(failed);
    }
    free(text);
}

#ifdef TEST_ASAN
static void test_sanitizer_sees_use_after_scope_and_overflow(void **state) {
    json_malloc_t malloc_fn;
    json_free_t free_fn;
    json_arena_begin();
    json_get_alloc_funcs(&malloc_fn, &free_fn);
    char *block = malloc_fn(10);
    assert_non_null(block);
    assert_false(__asan_address_is_poisoned(block));
    assert_false(__asan_address_is_poisoned(block + 9));
    assert_true(__asan_address_is_poisoned(block + 10)); /* the red zone after it */
    json_t *s = json_string("inside");
    json_arena_end();
    assert_true(__asan_address_is_poisoned(block));
    assert_true(__asan_address_is_poisoned(s));
}
#endif

int main(void) {
    json_arena_install();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scope_nests_and_ends),
        cmocka_unit_test(test_values_inside_a_scope),
        cmocka_unit_test(test_outside_values_are_freed_normally),
        cmocka_unit_test(test_large_answers_and_reuse),
        cmocka_unit_test(test_threads_keep_their_own_arenas),
#ifdef TEST_ASAN
        cmocka_unit_test(test_sanitizer_sees_use_after_scope_and_overflow),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
