// Scenario 5, the API: GET /v1/sets/{name} (a Temporal describe plus a Query answered by the worker)
// at C concurrent connections with autocannon, beside the baseline GET /bench/bare/{name}: a bare hono
// route on the same app and the same Node server returning the same body from memory. Runs alternate
// between the two; medians of the runs. CPU seconds of the API, the worker and the Temporal server
// during each run show where a request's time goes.
import autocannon from 'autocannon';
import type { BenchContext } from '../lib/context.js';
import { cpuSecondsOf } from '../lib/procs.js';
import { row, type ScenarioResult } from '../lib/report.js';
import { instantManifest, waitForReady } from '../lib/sets.js';
import { startStack } from '../lib/stack.js';
import { median } from '../lib/stats.js';

interface Load {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** CPU seconds per 1000 requests, by process. */
  cpuPerThousand: Record<string, number>;
}

export async function apiScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const { apiSeconds, apiConnections, repeats, probePeriodSeconds } = ctx.options;
  const stack = await startStack(ctx, { name: 'api', api: true });
  const runs: { set: Load[]; bare: Load[] } = { set: [], bare: [] };
  try {
    const name = 'api';
    await stack.sets.apply(name, instantManifest(name, { replicas: 3, probePeriodSeconds }));
    await waitForReady(stack.sets, name, 120_000);
    const urls = { set: `${stack.api!.url}/v1/sets/${name}`, bare: `${stack.api!.url}/bench/bare/${name}` };
    const [a, b] = await Promise.all([fetch(urls.set), fetch(urls.bare)]);
    const [bodyA, bodyB] = await Promise.all([a.text(), b.text()]);
    if (a.status !== 200 || b.status !== 200) throw new Error(`GET answered ${a.status} and ${b.status}`);
    const pids: Record<string, number> = { api: stack.api!.process.pid, worker: stack.worker.pid };
    if (ctx.temporalPid) pids.temporal = ctx.temporalPid;

    const load = async (url: string, seconds: number): Promise<Load> => {
      const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuSecondsOf(pid)]));
      const result = await autocannon({ url, connections: apiConnections, duration: seconds });
      const total = result.requests.total || 1;
      return {
        rps: result.requests.average,
        p50: result.latency.p50,
        p99: result.latency.p99,
        non2xx: result.non2xx,
        errors: result.errors + result.timeouts,
        cpuPerThousand: Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, ((cpuSecondsOf(pid) - cpu0[k]) / total) * 1000])),
      };
    };
    await load(urls.set, 1); // warm-up: connections, JIT, the worker's cached workflow
    await load(urls.bare, 1);
    for (let rep = 0; rep < repeats; rep++) {
      for (const key of ['set', 'bare'] as const) {
        const r = await load(urls[key], apiSeconds);
        runs[key].push(r);
        ctx.log(
          `api ${key} ${rep + 1}/${repeats}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms` +
            (r.non2xx || r.errors ? `, ${r.non2xx} non-2xx, ${r.errors} errors` : ''),
        );
      }
    }
    const pick = (key: 'set' | 'bare', field: 'rps' | 'p50' | 'p99') => median(runs[key].map((r) => r[field]));
    const R = ctx.R;
    const failed = runs.set.reduce((n, r) => n + r.non2xx + r.errors, 0);
    return {
      rows: [
        row({
          name: `api: GET /v1/sets/{name} throughput (${apiConnections} connections)`,
          value: pick('set', 'rps'),
          unit: 'req/s',
          baseline: pick('bare', 'rps'),
          baselineLabel: 'bare hono route',
          target: null,
          met: null,
          note: failed ? `${failed} failed requests` : undefined,
        }),
        row({
          name: 'api: GET /v1/sets/{name} latency p50',
          value: pick('set', 'p50'),
          unit: 'ms',
          baseline: pick('bare', 'p50'),
          baselineLabel: 'bare hono route',
          target: null,
          met: null,
          inR: R ? pick('set', 'p50') / R : null,
        }),
        row({
          name: 'api: GET /v1/sets/{name} latency p99',
          value: pick('set', 'p99'),
          unit: 'ms',
          baseline: pick('bare', 'p99'),
          baselineLabel: 'bare hono route',
          target: null,
          met: null,
          inR: R ? pick('set', 'p99') / R : null,
        }),
      ],
      details: {
        connections: apiConnections,
        seconds: apiSeconds,
        bodyBytes: { set: bodyA.length, bare: bodyB.length },
        cpuSecondsPerThousandRequests: {
          set: medianRecord(runs.set.map((r) => r.cpuPerThousand)),
          bare: medianRecord(runs.bare.map((r) => r.cpuPerThousand)),
        },
        runs,
      },
    };
  } finally {
    await stack.stop();
  }
}

function medianRecord(records: Array<Record<string, number>>): Record<string, number> {
  const keys = [...new Set(records.flatMap((r) => Object.keys(r)))];
  return Object.fromEntries(keys.map((k) => [k, median(records.map((r) => r[k] ?? Number.NaN))]));
}
