// GET /metrics: Prometheus text of the API (request latency, its process) and of every set
// (api/set-metrics.ts, from one listing). Authenticated as every read: with tokens on, Prometheus
// scrapes with a bearer token of the read scope (its scrape config's `authorization`).
import { Hono } from 'hono';
import type { AppEnv } from './auth.js';
import type { RequestMetrics } from './request-metrics.js';
import { setMetricsText } from './set-metrics.js';
import type { SetsPort } from './sets-port.js';
import type { SetWatchPort } from './watch-hub.js';
import { watchMetricsText } from './watch-metrics.js';

/** `watch`: the watch streams, when this API serves them (not on Lambda). */
export function createMetricsApp(sets: SetsPort, metrics: RequestMetrics, watch?: SetWatchPort): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/metrics', async (c) => {
    // The listing first: when Temporal does not answer, the scrape fails (the error shape, 503) rather
    // than reporting no sets.
    const views = await sets.list();
    const stats = watch?.streamOptions.stats;
    const text = (await metrics.text()) + (stats ? await watchMetricsText(stats) : '') + (await setMetricsText(views));
    return c.body(text, 200, { 'Content-Type': metrics.registry.contentType });
  });
  return app;
}
