/* The worker pool runs every accepted job, refuses work when full or draining. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "mcp/worker_pool.h"

static atomic_int ran;
static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;

static void count_job(void *job) {
    (void)job;
    atomic_fetch_add(&ran, 1);
}

static void gated_job(void *job) {
    pthread_mutex_lock(&gate);
    pthread_mutex_unlock(&gate);
    atomic_fetch_add(&ran, 1);
}

static void test_runs_everything_before_drain_returns(void **state) {
    worker_pool *pool = NULL;
    atomic_store(&ran, 0);
    assert_int_equal(worker_pool_new(3, 1000, &pool), 0);
    for (int i = 0; i < 500; i++)
        assert_int_equal(worker_pool_submit(pool, count_job, NULL), 0);
    worker_pool_drain(pool);
    assert_int_equal(atomic_load(&ran), 500);
    assert_int_equal(worker_pool_submit(pool, count_job, NULL), -ESHUTDOWN);
    worker_pool_free(pool);
}

static void test_full_queue_refuses(void **state) {
    worker_pool *pool = NULL;
    atomic_store(&ran, 0);
    assert_int_equal(worker_pool_new(1, 2, &pool), 0);
    pthread_mutex_lock(&gate);
    int accepted = 0, busy = 0;
    for (int i = 0; i < 10; i++) {
        int r = worker_pool_submit(pool, gated_job, NULL);
        if (r == 0)
            accepted++;
        else if (r == -EBUSY)
            busy++;
    }
    pthread_mutex_unlock(&gate);
    /* One job may be running while two wait; the rest are refused. */
    assert_true(accepted >= 2 && accepted <= 3);
    assert_int_equal(accepted + busy, 10);
    worker_pool_free(pool);
    assert_int_equal(atomic_load(&ran), accepted);
}

static int thread_count(void) {
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n;
}

/* pthread_join returns when a thread has exited, but its /proc/self/task entry can outlive that
 * for a moment (longer under ASan or load). Counts taken right after a join therefore wait, up to
 * 2 s, for the number they expect and return what they last saw. */
static int thread_count_settled(int want) {
    int n = thread_count();
    for (int i = 0; i < 200 && n != want; i++) {
        usleep(10 * 1000);
        n = thread_count();
    }
    return n;
}

/* An idle pool costs no threads; work starts them, never more than asked for. */
static void test_threads_start_with_work(void **state) {
    /* The earlier tests joined their threads: only this one should be left. */
    int before = thread_count_settled(1);
    worker_pool *pool = NULL;
    atomic_store(&ran, 0);
    assert_int_equal(worker_pool_new(4, 100, &pool), 0);
    assert_int_equal(thread_count(), before);
    pthread_mutex_lock(&gate);
    assert_int_equal(worker_pool_submit(pool, gated_job, NULL), 0);
    assert_int_equal(thread_count(), before + 1);
    for (int i = 0; i < 20; i++)
        assert_int_equal(worker_pool_submit(pool, gated_job, NULL), 0);
    assert_int_equal(thread_count(), before + 4);
    pthread_mutex_unlock(&gate);
    worker_pool_drain(pool);
    assert_int_equal(atomic_load(&ran), 21);
    assert_int_equal(thread_count_settled(before), before);
    worker_pool_free(pool);
}

static void test_bad_arguments(void **state) {
    worker_pool *pool = NULL;
    assert_int_equal(worker_pool_new(0, 1, &pool), -EINVAL);
    assert_int_equal(worker_pool_new(1, 0, &pool), -EINVAL);
    assert_null(worker_pool_free(NULL));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_everything_before_drain_returns),
        cmocka_unit_test(test_full_queue_refuses),
        cmocka_unit_test(test_threads_start_with_work),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
