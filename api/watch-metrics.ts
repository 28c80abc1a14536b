// The watch streams as Prometheus metrics: how many clients are connected, the bytes held for them,
// and how many were cut off for not reading (each client's buffer is bounded: api/watch-buffer.ts).
import { Counter, Gauge, Registry } from 'prom-client';
import type { WatchStats } from './watch-buffer.js';

/** Prometheus text of the watch streams, read from their counters at scrape time. */
export async function watchMetricsText(stats: WatchStats): Promise<string> {
  const registry = new Registry();
  new Gauge({ name: 'ordinal_api_watch_clients', help: 'Open watch streams (GET /v1/sets/{name}/watch)', registers: [registry] }).set(stats.clients);
  new Gauge({ name: 'ordinal_api_watch_buffered_bytes', help: "Bytes held for watch clients that their connections have not taken yet", registers: [registry] }).set(
    stats.bufferedBytes,
  );
  new Counter({ name: 'ordinal_api_watch_slow_clients_cut_off_total', help: 'Watch clients cut off because they did not read fast enough (SlowClient)', registers: [registry] }).inc(
    stats.slowClientsCutOff,
  );
  return registry.metrics();
}
