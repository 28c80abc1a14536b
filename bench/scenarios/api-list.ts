// Scenario `api-list`: GET /v1/sets with N sets (100 at full size) at C connections with autocannon,
// beside the baseline GET /bench/bare-list: a bare hono route on the same app and Node server answering
// the same list from memory. The sets are `sleep` sets of one instance, all Ready before measuring.
// Runs alternate between the two; medians of the runs.
import { sleep } from '../../infra/child-processes.js';
import type { BenchContext } from '../lib/context.js';
import { alternateLoads, medianOf, medianRecord } from '../lib/http-load.js';
import { row, type ScenarioResult } from '../lib/report.js';
import { isReady, sleepManifest, waitFor } from '../lib/sets.js';
import { inBatches, startStack } from '../lib/stack.js';

/** The target: throughput at least this share of the bare route's. */
export const API_LIST_MIN_THROUGHPUT_RATIO = 0.1;

export async function apiListScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const { apiSeconds, apiConnections, apiListSets, repeats } = ctx.options;
  const stack = await startStack(ctx, { name: 'api-list', api: true });
  try {
    const names = Array.from({ length: apiListSets }, (_, i) => `list-${String(i).padStart(3, '0')}`);
    // An apply the worker did not take in time (a loaded machine) is sent again: the same manifest twice is harmless.
    const deadline = Date.now() + 120_000 + apiListSets * 1_000;
    await inBatches(names, 10, async (name) => {
      for (;;) {
        try {
          return await stack.sets.apply(name, sleepManifest(name, 1));
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await sleep(1_000);
        }
      }
    });
    const urls = { measured: `${stack.api!.url}/v1/sets`, baseline: `${stack.api!.url}/bench/bare-list` };
    // Every set Ready in the list the API answers (the listing may lag a set's own status a little).
    await waitFor(
      async () => {
        const res = await fetch(urls.measured);
        const body = (await res.json()) as { items: Parameters<typeof isReady>[0][] };
        return body.items.length === apiListSets && body.items.every((s) => isReady(s, 1)) ? true : undefined;
      },
      { timeoutMs: 120_000 + apiListSets * 1_000, intervalMs: 500, message: `${apiListSets} sets Ready in GET /v1/sets` },
    );
    const [a, b] = await Promise.all([fetch(urls.measured), fetch(urls.baseline)]);
    const [bodyA, bodyB] = await Promise.all([a.text(), b.text()]);
    if (a.status !== 200 || b.status !== 200) throw new Error(`GET answered ${a.status} and ${b.status}`);
    const pids: Record<string, number> = { api: stack.api!.process.pid, worker: stack.worker.pid };
    if (ctx.temporalPid) pids.temporal = ctx.temporalPid;

    const runs = await alternateLoads(urls, { connections: apiConnections, seconds: apiSeconds, repeats, pids, log: ctx.log, label: 'api-list' });
    const pick = (key: 'measured' | 'baseline', field: 'rps' | 'p50' | 'p99') => medianOf(runs[key], field);
    const failed = runs.measured.reduce((n, r) => n + r.non2xx + r.errors, 0);
    const ratio = pick('measured', 'rps') / pick('baseline', 'rps');
    return {
      rows: [
        row({
          name: `api-list: GET /v1/sets with ${apiListSets} sets, throughput (${apiConnections} connections)`,
          value: pick('measured', 'rps'),
          unit: 'req/s',
          baseline: pick('baseline', 'rps'),
          baselineLabel: 'bare hono route, same list from memory',
          target: `>= ${API_LIST_MIN_THROUGHPUT_RATIO} x bare route`,
          met: failed === 0 && ratio >= API_LIST_MIN_THROUGHPUT_RATIO,
          note: failed ? `${failed} failed requests` : undefined,
        }),
        row({
          name: `api-list: GET /v1/sets with ${apiListSets} sets, latency p99`,
          value: pick('measured', 'p99'),
          unit: 'ms',
          baseline: pick('baseline', 'p99'),
          baselineLabel: 'bare hono route',
          target: null,
          met: null,
          note: `p50 ${pick('measured', 'p50')} ms (bare ${pick('baseline', 'p50')} ms)`,
        }),
      ],
      details: {
        sets: apiListSets,
        connections: apiConnections,
        seconds: apiSeconds,
        bodyBytes: { list: bodyA.length, bare: bodyB.length },
        cpuSecondsPerThousandRequests: {
          list: medianRecord(runs.measured.map((r) => r.cpuPerThousand)),
          bare: medianRecord(runs.baseline.map((r) => r.cpuPerThousand)),
        },
        runs: { list: runs.measured, bare: runs.baseline },
      },
    };
  } finally {
    await stack.stop();
  }
}
