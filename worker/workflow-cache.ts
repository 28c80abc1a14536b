// How many workflows the worker keeps in memory (Temporal's maxCachedWorkflows), sized from measurement.
// Every set wakes at least every few minutes (its watch returns), and a set out of the cache then
// replays its whole history: about 1 ms per event on a loaded 2-core machine, some 5 s at the 5,000
// events where it continues as new, against some 60 ms for a cached set's step (docs/benchmarks.md). So the cache should hold every set the worker runs; the
// bound is there so that more sets than memory allows slow down instead of running out of memory.
import v8 from 'node:v8';

/** Worker memory per cached set workflow with its watch (bench: many-small), with headroom. */
export const CACHED_SET_MIB = 0.5;
/** The worker's own memory beside the cache: the SDK, the activities, the drivers. */
const WORKER_BASE_MIB = 400;
/** Never fewer than this: a small heap still runs a few hundred sets, replaying some. */
const MIN_CACHED = 200;

/** The cache size for a heap limit (default: this process's); ORDINAL_WORKFLOW_CACHE overrides it. */
export function defaultWorkflowCache(heapLimitMiB: number = v8.getHeapStatistics().heap_size_limit / 2 ** 20): number {
  return Math.max(MIN_CACHED, Math.floor((heapLimitMiB - WORKER_BASE_MIB) / CACHED_SET_MIB));
}
