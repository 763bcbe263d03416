#include "mcp/worker_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

typedef struct worker_job {
    worker_job_fn fn;
    void *job;
} worker_job;

struct worker_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    worker_job *ring;
    size_t capacity;
    size_t head;
    size_t count;
    bool draining;
    pthread_t *threads;
    unsigned max_threads;
    unsigned thread_count; /* started so far: threads start with the work, not with the pool */
    unsigned idle;         /* started threads waiting for a job */
};

static void *worker_main(void *arg) {
    worker_pool *pool = arg;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        pool->idle++;
        while (pool->count == 0 && !pool->draining)
            pthread_cond_wait(&pool->wake, &pool->lock);
        pool->idle--;
        if (pool->count == 0) {
            pthread_mutex_unlock(&pool->lock);
            return NULL;
        }
        worker_job job = pool->ring[pool->head];
        pool->head = (pool->head + 1) % pool->capacity;
        pool->count--;
        pthread_mutex_unlock(&pool->lock);
        job.fn(job.job);
        pthread_mutex_lock(&pool->lock);
    }
}

int worker_pool_new(unsigned threads, size_t max_queued, worker_pool **ret) {
    if (threads == 0 || max_queued == 0)
        return -EINVAL;
    worker_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return -ENOMEM;
    pool->ring = calloc(max_queued, sizeof *pool->ring);
    pool->threads = calloc(threads, sizeof *pool->threads);
    if (!pool->ring || !pool->threads) {
        free(pool->ring);
        free(pool->threads);
        free(pool);
        return -ENOMEM;
    }
    pool->capacity = max_queued;
    pool->max_threads = threads;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    *ret = pool;
    return 0;
}

/* Called with the lock held, after queueing: one more thread when the queued jobs outnumber the
 * threads waiting for one. An idle server keeps no worker threads (each costs a stack and, once it
 * allocates, a malloc arena); under load the pool grows to max_threads and stays there. */
static int grow_if_needed(worker_pool *pool) {
    if (pool->count <= pool->idle || pool->thread_count == pool->max_threads)
        return 0;
    if (pthread_create(&pool->threads[pool->thread_count], NULL, worker_main, pool) != 0)
        return -EAGAIN;
    pool->thread_count++;
    return 0;
}

int worker_pool_submit(worker_pool *pool, worker_job_fn fn, void *job) {
    int r = 0;
    pthread_mutex_lock(&pool->lock);
    if (pool->draining)
        r = -ESHUTDOWN;
    else if (pool->count == pool->capacity)
        r = -EBUSY;
    else {
        pool->ring[(pool->head + pool->count) % pool->capacity] = (worker_job){fn, job};
        pool->count++;
        if (grow_if_needed(pool) < 0 && pool->thread_count == 0) {
            /* No thread would ever run it: take it back. With threads running, it just waits. */
            pool->count--;
            r = -EAGAIN;
        } else {
            pthread_cond_signal(&pool->wake);
        }
    }
    pthread_mutex_unlock(&pool->lock);
    return r;
}

void worker_pool_drain(worker_pool *pool) {
    pthread_mutex_lock(&pool->lock);
    bool already = pool->draining;
    pool->draining = true;
    unsigned started = pool->thread_count;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    if (already)
        return;
    for (unsigned i = 0; i < started; i++)
        pthread_join(pool->threads[i], NULL);
    pool->thread_count = 0;
}

worker_pool *worker_pool_free(worker_pool *pool) {
    if (!pool)
        return NULL;
    worker_pool_drain(pool);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->wake);
    free(pool->ring);
    free(pool->threads);
    free(pool);
    return NULL;
}
