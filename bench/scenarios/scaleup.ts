// Scenario 2, ordered scale-up overhead: a set of N instances of bench/programs/instant.mjs, which is
// ready the moment it listens. Time to all Ready T runs from the apply request to the last instance's
// readySince (Ordinal's status). Each instance's own start-to-ready time is what it reports itself:
// from its process start (performance.timeOrigin) to its socket bound. Then
//   per-ordinal overhead = (T - sum of own start-to-ready times) / N,
// also as a multiple of R. Two variants: with an HTTP readiness probe (period --probe-period, 1 s by
// default, the manifest's minimum) and without one (Ready once running: own time 0 by definition).
// The set's history gives where the time per ordinal goes, by step.
import path from 'node:path';
import { workflowIdForSet } from '../../core/names.js';
import type { BenchContext } from '../lib/context.js';
import { fetchTimeline, stepTotals } from '../lib/history.js';
import { row, type Row, type ScenarioResult } from '../lib/report.js';
import { instantManifest, readEvents, waitFor, waitForReady } from '../lib/sets.js';
import { killInstances, startStack, terminateWorkflows } from '../lib/stack.js';
import { median, sum, summarize } from '../lib/stats.js';

interface Variant {
  key: 'probe' | 'noProbe';
  label: string;
  probePeriodSeconds?: number;
}

interface Run {
  totalMs: number;
  ownSumMs: number;
  overheadMs: number;
  /** Median time from one instance's socket bound to the next one's process start (instance clocks). */
  listenToNextStartMs: number | null;
  /** Per ordinal, by step: count and ms (scheduled -> closed), from the set's history. */
  perOrdinal: Record<string, { steps: number; ms: number; queuedMs: number }>;
}

export async function scaleupScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const { scaleupReplicas: n, repeats, probePeriodSeconds } = ctx.options;
  const variants: Variant[] = [
    { key: 'probe', label: `httpGet readiness probe, period ${probePeriodSeconds} s`, probePeriodSeconds },
    { key: 'noProbe', label: 'no readiness probe (Ready once running)' },
  ];
  const stack = await startStack(ctx, { name: 'scaleup' });
  const runs: Record<Variant['key'], Run[]> = { probe: [], noProbe: [] };
  try {
    for (let rep = 0; rep < repeats; rep++) {
      for (const variant of variants) {
        const name = `up-${variant.key.toLowerCase()}-${rep}`;
        const eventsFile = path.join(stack.dataDir, `${name}.events`);
        const manifest = instantManifest(name, { replicas: n, probePeriodSeconds: variant.probePeriodSeconds, eventsFile });
        const t0 = Date.now();
        await stack.sets.apply(name, manifest);
        const view = await waitForReady(stack.sets, name, n * 15_000 + 60_000, 100);
        const readyAt = Math.max(...view.status.instances.map((i) => Date.parse(i.readySince!)));
        const totalMs = readyAt - t0;
        // Without a probe the set is Ready before the last program has even listened: wait for its report.
        const events = await waitFor(
          async () => {
            const all = readEvents(eventsFile).filter((e) => e.incarnation === 1);
            return all.length >= n ? all : undefined;
          },
          { timeoutMs: 30_000, intervalMs: 50, message: `${name}: every instance to report its start` },
        );
        const ownSumMs = variant.probePeriodSeconds === undefined ? 0 : sum(events.map((e) => e.listening - e.start));
        const byOrdinal = [...events].sort((a, b) => ordinalOf(a.name) - ordinalOf(b.name));
        const gaps = byOrdinal.slice(1).map((e, i) => e.start - byOrdinal[i].listening);
        const timeline = await fetchTimeline(stack.client, workflowIdForSet(name));
        const perOrdinal = Object.fromEntries(
          Object.entries(stepTotals(timeline, t0 - 1, readyAt + 1)).map(([type, t]) => [type, { steps: t.count / n, ms: t.totalMs / n, queuedMs: t.queuedMs / n }]),
        );
        const run: Run = { totalMs, ownSumMs, overheadMs: (totalMs - ownSumMs) / n, listenToNextStartMs: gaps.length ? median(gaps) : null, perOrdinal };
        runs[variant.key].push(run);
        ctx.log(
          `scale-up ${variant.key} ${rep + 1}/${repeats}: ${n} instances Ready in ${(totalMs / 1000).toFixed(1)} s, own start-to-ready sum ` +
            `${(ownSumMs / 1000).toFixed(2)} s, overhead ${run.overheadMs.toFixed(0)} ms/ordinal; per ordinal: ` +
            Object.entries(perOrdinal)
              .map(([type, t]) => `${type} ${t.steps.toFixed(1)}x ${t.ms.toFixed(0)} ms`)
              .join(', '),
        );
        await terminateWorkflows(stack.client, stack.taskQueue);
        await killInstances(stack.dataDir, stack.addressPool);
      }
    }
  } finally {
    await stack.stop();
  }

  const R = ctx.R;
  const rows: Row[] = variants.map((variant) => {
    const overhead = median(runs[variant.key].map((r) => r.overheadMs));
    const inR = R ? overhead / R : null;
    return row({
      name: `scale-up: overhead per ordinal (${variant.key === 'probe' ? 'readiness probe' : 'no probe'})`,
      value: overhead,
      unit: 'ms',
      baseline: R ?? null,
      baselineLabel: 'R',
      target: '<= 1.5 R',
      met: inR === null ? null : inR <= 1.5,
      inR,
      note: `${n} instances, ${variant.label}, median of ${runs[variant.key].length} runs`,
    });
  });
  const detail = (key: Variant['key']) => {
    const rs = runs[key];
    const types = [...new Set(rs.flatMap((r) => Object.keys(r.perOrdinal)))];
    return {
      variant: variants.find((v) => v.key === key)!.label,
      overheadMs: summarize(rs.map((r) => r.overheadMs)),
      totalMs: summarize(rs.map((r) => r.totalMs)),
      ownStartToReadyMeanMs: median(rs.map((r) => r.ownSumMs / n)),
      listenToNextStartMs: median(rs.map((r) => r.listenToNextStartMs ?? Number.NaN)),
      perOrdinalByStep: Object.fromEntries(
        types.map((type) => [
          type,
          {
            steps: median(rs.map((r) => r.perOrdinal[type]?.steps ?? 0)),
            ms: median(rs.map((r) => r.perOrdinal[type]?.ms ?? 0)),
            queuedMs: median(rs.map((r) => r.perOrdinal[type]?.queuedMs ?? 0)),
            inR: R ? median(rs.map((r) => r.perOrdinal[type]?.ms ?? 0)) / R : null,
          },
        ]),
      ),
      runs: rs,
    };
  };
  return { rows, details: { replicas: n, R: R ?? null, probe: detail('probe'), noProbe: detail('noProbe') } };
}

function ordinalOf(name: string): number {
  return Number(name.slice(name.lastIndexOf('-') + 1));
}
