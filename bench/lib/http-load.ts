// HTTP load with autocannon for the API scenarios: one URL at C connections for S seconds, with the CPU
// seconds each named process spent per 1000 requests, and the medians of repeated runs.
import autocannon from 'autocannon';
import { cpuSecondsOf } from './procs.js';
import { median } from './stats.js';

export interface Load {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** CPU seconds per 1000 requests, by process. */
  cpuPerThousand: Record<string, number>;
}

export async function loadUrl(url: string, connections: number, seconds: number, pids: Record<string, number>): Promise<Load> {
  const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSecondsOf(pid)]));
  const result = await autocannon({ url, connections, duration: seconds });
  const total = result.requests.total || 1;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    cpuPerThousand: Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, ((cpuSecondsOf(pid) - cpu0[k]) / total) * 1000])),
  };
}

/**
 * Runs alternate between the measured URL and its baseline (`repeats` each, after a one-second warm-up
 * of both), so a change in the machine's load hits both alike.
 */
export async function alternateLoads(
  urls: { measured: string; baseline: string },
  options: { connections: number; seconds: number; repeats: number; pids: Record<string, number>; log: (line: string) => void; label: string },
): Promise<{ measured: Load[]; baseline: Load[] }> {
  const runs: { measured: Load[]; baseline: Load[] } = { measured: [], baseline: [] };
  await loadUrl(urls.measured, options.connections, 1, options.pids); // warm-up: connections, JIT, caches
  await loadUrl(urls.baseline, options.connections, 1, options.pids);
  for (let rep = 0; rep < options.repeats; rep++) {
    for (const key of ['measured', 'baseline'] as const) {
      const r = await loadUrl(urls[key], options.connections, options.seconds, options.pids);
      runs[key].push(r);
      options.log(
        `${options.label} ${key === 'measured' ? 'ordinal' : 'bare'} ${rep + 1}/${options.repeats}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms` +
          (r.non2xx || r.errors ? `, ${r.non2xx} non-2xx, ${r.errors} errors` : ''),
      );
    }
  }
  return runs;
}

export function medianOf(loads: Load[], field: 'rps' | 'p50' | 'p99'): number {
  return median(loads.map((r) => r[field]));
}

export function medianRecord(records: Array<Record<string, number>>): Record<string, number> {
  const keys = [...new Set(records.flatMap((r) => Object.keys(r)))];
  return Object.fromEntries(keys.map((k) => [k, median(records.map((r) => r[k] ?? Number.NaN))]));
}
