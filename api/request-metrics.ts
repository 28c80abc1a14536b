// The API's own metrics: its request latency by route pattern (never the path itself, which names sets
// and instances), method and status class, and the API process's metrics (prom-client's defaults).
import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Seconds: a read from the memo (ms) to an Update that waits for the worker (up to 30 s). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export class RequestMetrics {
  readonly registry = new Registry();
  private readonly latency = new Histogram({
    name: 'ordinal_api_request_duration_seconds',
    help: 'API request latency, by route pattern (e.g. /v1/sets/:name), method and status class (2xx, 4xx, 5xx)',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  /** The latency histogram, then the process's metrics: Prometheus text. */
  async text(): Promise<string> {
    return (await this.registry.metrics()) + (await processRegistry().metrics());
  }

  /** Times every request, refused ones (401, 403, 404) included. */
  middleware(): MiddlewareHandler {
    return async (c, next) => {
      const started = performance.now();
      try {
        await next();
      } finally {
        this.latency.observe(
          { route: routePattern(matchedRoutes(c)), method: METHODS.has(c.req.method) ? c.req.method : 'OTHER', status: `${Math.floor(c.res.status / 100)}xx` },
          (performance.now() - started) / 1000,
        );
      }
    };
  }
}

let processMetrics: Registry | undefined;

/** The process's metrics (CPU, memory, event loop, GC): one registry per process, however many apps. */
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

/** The pattern of the handler that matched (middleware is registered for every method, 'ALL'); 'unmatched' for none. */
export function routePattern(routes: ReadonlyArray<{ method: string; path: string }>): string {
  const handler = routes.filter((r) => r.method !== 'ALL').at(-1);
  return handler?.path ?? 'unmatched';
}
