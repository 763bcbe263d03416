/* Up to a fixed number of threads running queued jobs, so a tool call that waits on Kubernetes
 * never holds a transport thread. Threads start when queued work outnumbers the idle ones, so an
 * idle server has none. The queue is bounded: a full queue refuses work instead of growing. */
#ifndef KUBEMCP_MCP_WORKER_POOL_H
#define KUBEMCP_MCP_WORKER_POOL_H

#include <stddef.h>

typedef struct worker_pool worker_pool;
typedef void (*worker_job_fn)(void *job);

int worker_pool_new(unsigned threads, size_t max_queued, worker_pool **ret);
/* Queues job; -EBUSY when the queue is full, -ESHUTDOWN after worker_pool_drain began, -EAGAIN
 * when no thread runs and none can be started. */
int worker_pool_submit(worker_pool *pool, worker_job_fn fn, void *job);
/* Stops taking work, runs what is queued, waits for every thread. */
void worker_pool_drain(worker_pool *pool);
worker_pool *worker_pool_free(worker_pool *pool);

#endif
