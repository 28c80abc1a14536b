// Scenario 5, the API: GET /v1/sets/{name} at C concurrent connections with autocannon, beside the
// baseline GET /bench/bare/{name}: a bare hono route on the same app and the same Node server returning
// the same body from memory. Runs alternate between the two; medians of the runs. CPU seconds of the
// API, the worker and the Temporal server during each run show where a request's time goes.
import type { BenchContext } from '../lib/context.js';
import { alternateLoads, medianOf, medianRecord } from '../lib/http-load.js';
import { row, type ScenarioResult } from '../lib/report.js';
import { instantManifest, waitForReady } from '../lib/sets.js';
import { startStack } from '../lib/stack.js';

/** The targets: throughput at least this share of the bare route's ... */
export const API_MIN_THROUGHPUT_RATIO = 0.25;
/** ... and p99 at most this multiple of the bare route's. */
export const API_MAX_P99_RATIO = 10;

export async function apiScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const { apiSeconds, apiConnections, repeats, probePeriodSeconds } = ctx.options;
  const stack = await startStack(ctx, { name: 'api', api: true });
  try {
    const name = 'api';
    await stack.sets.apply(name, instantManifest(name, { replicas: 3, probePeriodSeconds }));
    await waitForReady(stack.sets, name, 120_000);
    const urls = { measured: `${stack.api!.url}/v1/sets/${name}`, baseline: `${stack.api!.url}/bench/bare/${name}` };
    const [a, b] = await Promise.all([fetch(urls.measured), fetch(urls.baseline)]);
    const [bodyA, bodyB] = await Promise.all([a.text(), b.text()]);
    if (a.status !== 200 || b.status !== 200) throw new Error(`GET answered ${a.status} and ${b.status}`);
    const pids: Record<string, number> = { api: stack.api!.process.pid, worker: stack.worker.pid };
    if (ctx.temporalPid) pids.temporal = ctx.temporalPid;

    const runs = await alternateLoads(urls, { connections: apiConnections, seconds: apiSeconds, repeats, pids, log: ctx.log, label: 'api' });
    const pick = (key: 'measured' | 'baseline', field: 'rps' | 'p50' | 'p99') => medianOf(runs[key], field);
    const R = ctx.R;
    const failed = runs.measured.reduce((n, r) => n + r.non2xx + r.errors, 0);
    const throughputRatio = pick('measured', 'rps') / pick('baseline', 'rps');
    const p99Ratio = pick('measured', 'p99') / pick('baseline', 'p99');
    return {
      rows: [
        row({
          name: `api: GET /v1/sets/{name} throughput (${apiConnections} connections)`,
          value: pick('measured', 'rps'),
          unit: 'req/s',
          baseline: pick('baseline', 'rps'),
          baselineLabel: 'bare hono route',
          target: `>= ${API_MIN_THROUGHPUT_RATIO} x bare route`,
          met: failed === 0 && throughputRatio >= API_MIN_THROUGHPUT_RATIO,
          note: failed ? `${failed} failed requests` : undefined,
        }),
        row({
          name: 'api: GET /v1/sets/{name} latency p50',
          value: pick('measured', 'p50'),
          unit: 'ms',
          baseline: pick('baseline', 'p50'),
          baselineLabel: 'bare hono route',
          target: null,
          met: null,
          inR: R ? pick('measured', 'p50') / R : null,
        }),
        row({
          name: 'api: GET /v1/sets/{name} latency p99',
          value: pick('measured', 'p99'),
          unit: 'ms',
          baseline: pick('baseline', 'p99'),
          baselineLabel: 'bare hono route',
          target: `p99 <= ${API_MAX_P99_RATIO} x bare route's`,
          met: p99Ratio <= API_MAX_P99_RATIO,
          inR: R ? pick('measured', 'p99') / R : null,
        }),
      ],
      details: {
        connections: apiConnections,
        seconds: apiSeconds,
        bodyBytes: { set: bodyA.length, bare: bodyB.length },
        cpuSecondsPerThousandRequests: {
          set: medianRecord(runs.measured.map((r) => r.cpuPerThousand)),
          bare: medianRecord(runs.baseline.map((r) => r.cpuPerThousand)),
        },
        runs: { set: runs.measured, bare: runs.baseline },
      },
    };
  } finally {
    await stack.stop();
  }
}
