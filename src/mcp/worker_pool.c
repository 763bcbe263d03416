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
    unsigned thread_count;
};

static void *worker_main(void *arg) {
    worker_pool *pool = arg;
    for (;;) {
        pthread_mutex_lock(&pool->lock);
        while (pool->count == 0 && !pool->draining)
            pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->count == 0) {
            pthread_mutex_unlock(&pool->lock);
            return NULL;
        }
        worker_job job = pool->ring[pool->head];
        pool->head = (pool->head + 1) % pool->capacity;
        pool->count--;
        pthread_mutex_unlock(&pool->lock);
        job.fn(job.job);
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
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&pool->threads[i], NULL, worker_main, pool) != 0) {
            pool->thread_count = i;
            worker_pool_free(pool);
            return -EAGAIN;
        }
        pool->thread_count = i + 1;
    }
    *ret = pool;
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
        pthread_cond_signal(&pool->wake);
    }
    pthread_mutex_unlock(&pool->lock);
    return r;
}

void worker_pool_drain(worker_pool *pool) {
    pthread_mutex_lock(&pool->lock);
    bool already = pool->draining;
    pool->draining = true;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    if (already)
        return;
    for (unsigned i = 0; i < pool->thread_count; i++)
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
