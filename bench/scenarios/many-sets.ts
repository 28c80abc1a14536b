// Scenario 4, many sets (and 4b, many-small: many more sets of one instance each, where the per-set
// cost of the worker dominates): N sets of M instances created at once (N apply requests in flight together),
// on a fresh worker: time until every set is Ready (the OrdinalPhase search attribute, one count query
// per poll), sets per second, and the worker's peak RSS. Linearity: the same with a smaller N first,
// extrapolated linearly, is the baseline of the time. The rate's baseline is bare Temporal: N floor
// workflows, each running as many no-op activities as one set ran to become Ready, on a worker with
// Ordinal's settings. Instances are `sleep` (about 1 MB each, no readiness probe): a thousand Node
// programs would not fit in memory, and what is measured here is the orchestration.
import os from 'node:os';
import { workflowIdForSet } from '../../core/names.js';
import { sleep } from '../../infra/child-processes.js';
import type { BenchContext } from '../lib/context.js';
import { fetchTimeline, stepTotals } from '../lib/history.js';
import { cpuSecondsOf, machineBusySeconds, memoryOf, resetPeak, sampleRss } from '../lib/procs.js';
import { row, type Row, type ScenarioResult } from '../lib/report.js';
import { sleepManifest } from '../lib/sets.js';
import { startStack, type Stack } from '../lib/stack.js';

const MiB = 2 ** 20;

interface SizeRun {
  sets: number;
  instances: number;
  /** False when not every set was Ready by the deadline: the times are then up to the deadline. */
  complete: boolean;
  readySets: number;
  timeToReadyMs: number;
  applyMs: number;
  applyRetries: number;
  /** Why applies were sent again: error message (numbers stripped) -> count. */
  applyErrors: Record<string, number>;
  setsPerSecond: number;
  workerIdleRssMiB: number;
  workerPeakRssMiB: number;
  workerCpuSeconds: number;
  /** Worker CPU (fraction of one core) while all sets sit Ready. */
  workerIdleCpu: number;
  activitiesPerSet: number;
  stepsOfOneSet: Record<string, number>;
  /**
   * Every 5 s: seconds since the first apply, sets Ready, worker RSS (MiB), and CPU used since the last
   * sample, in cores: the worker, the Temporal server, the whole machine (of os.cpus().length).
   */
  progress: Array<[number, number, number, number, number, number]>;
}

export function manySetsScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const { manySets, manySmallSets, manyReplicas } = ctx.options;
  return measureManySets(ctx, { title: 'many sets', sets: manySets, baseSets: manySmallSets, replicas: manyReplicas, rate: true });
}

/** Scenario 4b: 2,000 sets of one instance; no rate row (its bare-workflow baseline would double the run). */
export function manySmallSetsScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const { smallSets, smallSetsBase } = ctx.options;
  return measureManySets(ctx, { title: 'many small sets', sets: smallSets, baseSets: smallSetsBase, replicas: 1, rate: false });
}

interface ManySetsPlan {
  /** Row names start with it. */
  title: string;
  sets: number;
  /** The smaller run the time is extrapolated from (0: none). */
  baseSets: number;
  replicas: number;
  /** Also measure sets per second against bare workflows. */
  rate: boolean;
}

async function measureManySets(ctx: BenchContext, plan: ManySetsPlan): Promise<ScenarioResult> {
  const { title, sets, baseSets, replicas: manyReplicas } = plan;
  const sizes = baseSets > 0 && baseSets < sets ? [baseSets, sets] : [sets];
  const runs: SizeRun[] = [];
  for (const size of sizes) runs.push(await runSize(ctx, size, manyReplicas));
  const big = runs[runs.length - 1];
  const small = runs.length > 1 ? runs[0] : undefined;

  // How many activities a set runs to become Ready, from a run where every set got there.
  const perSet = Math.max(...runs.filter((r) => r.complete).map((r) => r.activitiesPerSet), big.activitiesPerSet, 1);
  const floor = plan.rate ? await floorBaseline(ctx, big.sets, perSet) : undefined;
  const linear = small?.complete ? (small.timeToReadyMs * big.sets) / small.sets : null;
  const unfinished = `only ${big.readySets} of ${big.sets} sets Ready when the bench gave up after ${(big.timeToReadyMs / 1000).toFixed(0)} s`;
  const rows: Row[] = [
    row({
      name: `${title}: ${big.sets} x ${manyReplicas} ${manyReplicas === 1 ? 'instance' : 'instances'} to all Ready`,
      value: big.complete ? big.timeToReadyMs / 1000 : null,
      unit: 's',
      baseline: linear === null ? null : linear / 1000,
      baselineLabel: small ? `${small.sets} sets, x ${(big.sets / small.sets).toFixed(0)}` : undefined,
      ratio: big.complete && linear !== null ? big.timeToReadyMs / linear : null,
      target: '<= 1.25 (linear)',
      met: !big.complete ? false : linear === null ? null : big.timeToReadyMs / linear <= 1.25,
      inR: ctx.R && big.complete ? big.timeToReadyMs / big.sets / ctx.R : null,
      note: big.complete ? 'x R is per set' : unfinished,
    }),
    ...(floor
      ? [
          row({
            name: `${title}: sets per second`,
            value: big.setsPerSecond,
            unit: 'sets/s',
            baseline: floor.workflowsPerSecond,
            baselineLabel: `bare workflows of ${floor.activities} no-op activities`,
            target: null,
            met: null,
            note: big.complete ? undefined : `sets Ready per second until the bench gave up; ${unfinished}`,
          }),
        ]
      : []),
    row({
      name: `${title}: worker peak RSS`,
      value: big.workerPeakRssMiB,
      unit: 'MiB',
      baseline: big.workerIdleRssMiB,
      baselineLabel: 'idle worker',
      target: '< 1024 MiB',
      met: big.workerPeakRssMiB < 1024,
    }),
  ];
  return { rows, details: { runs, floorBaseline: floor } };
}

async function runSize(ctx: BenchContext, sets: number, replicas: number): Promise<SizeRun> {
  const stack = await startStack(ctx, { name: `many-${sets}x${replicas}` });
  try {
    const pid = stack.worker.pid;
    await sleep(2_000); // let the fresh worker settle
    const idle = memoryOf(pid)!;
    const peakReset = resetPeak(pid);
    const sampler = sampleRss(pid);
    const cpu0 = cpuSecondsOf(pid);
    const names = Array.from({ length: sets }, (_, i) => `m${i}`);

    const t0 = Date.now();
    // Time allowed for all sets to be Ready: generous, but bounded so a run that cannot make it ends.
    const deadline = t0 + Math.max(120_000, sets * 800);
    let retries = 0;
    let applied = 0;
    const applyErrors: Record<string, number> = {};
    // Every apply at once. One that times out (the worker did not take it within the API's 30 s) is
    // sent again, as a pipeline would: applying the same manifest twice is harmless.
    const applying = Promise.all(
      names.map(async (name) => {
        for (;;) {
          try {
            await stack.sets.apply(name, sleepManifest(name, replicas));
            applied++;
            return;
          } catch (err) {
            if (Date.now() > deadline) throw err;
            retries++;
            const message = (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).replace(/\d+/g, 'N').slice(0, 160);
            applyErrors[message] = (applyErrors[message] ?? 0) + 1;
            await sleep(1_000);
          }
        }
      }),
    ).then(() => Date.now() - t0);
    applying.catch(() => undefined);
    const query = `TaskQueue = '${stack.taskQueue}' AND OrdinalPhase = 'Ready'`;
    let ready = 0;
    const progress: SizeRun['progress'] = [];
    const temporalCpu = () => cpuSecondsOf(ctx.temporalPid);
    let lastSample = { at: t0, cpu: cpu0, temporal: temporalCpu(), machine: machineBusySeconds() };
    while (ready < sets && Date.now() <= deadline && !ctx.cleanup.stopping) {
      ready = (await stack.client.workflow.count(query)).count;
      if (ready >= sets) break;
      if (Date.now() - lastSample.at >= 5_000) {
        const now = { at: Date.now(), cpu: cpuSecondsOf(pid), temporal: temporalCpu(), machine: machineBusySeconds() };
        const rss = (memoryOf(pid)?.rss ?? 0) / MiB;
        const seconds = (now.at - lastSample.at) / 1000;
        const cores = (now.cpu - lastSample.cpu) / seconds;
        const temporalCores = (now.temporal - lastSample.temporal) / seconds;
        const machineCores = (now.machine - lastSample.machine) / seconds;
        progress.push([(now.at - t0) / 1000, ready, rss, cores, temporalCores, machineCores]);
        if (progress.length % 3 === 0) {
          ctx.log(
            `many sets (${sets}): ${ready} Ready, ${applied} applied after ${((now.at - t0) / 1000).toFixed(0)} s; worker RSS ${rss.toFixed(0)} MiB; ` +
              `CPU (cores): worker ${cores.toFixed(2)}, temporal ${temporalCores.toFixed(2)}, machine ${machineCores.toFixed(2)} of ${os.cpus().length}`,
          );
        }
        lastSample = now;
      }
      await sleep(250);
    }
    const complete = ready >= sets;
    const timeToReadyMs = Date.now() - t0;
    const applyMs = complete ? await applying : timeToReadyMs;
    if (!complete) ctx.log(`many sets (${sets}): giving up with ${ready} of ${sets} Ready and ${applied} applied after ${(timeToReadyMs / 1000).toFixed(0)} s`);
    const sampled = sampler.stop();
    const peak = Math.max(peakReset ? (memoryOf(pid)?.peak ?? 0) : 0, sampled);
    const cpuSeconds = cpuSecondsOf(pid) - cpu0;
    // The worker's cost of watching every instance while nothing happens.
    const c1 = cpuSecondsOf(pid);
    await sleep(5_000);
    const workerIdleCpu = (cpuSecondsOf(pid) - c1) / 5;
    const steps = await activitiesOfOneSet(stack, 'm0').catch(() => ({}) as Record<string, number>);
    const run: SizeRun = {
      sets,
      instances: sets * replicas,
      complete,
      readySets: ready,
      timeToReadyMs,
      applyMs,
      applyRetries: retries,
      applyErrors,
      setsPerSecond: ready / (timeToReadyMs / 1000),
      workerIdleRssMiB: idle.rss / MiB,
      workerPeakRssMiB: peak / MiB,
      workerCpuSeconds: cpuSeconds,
      workerIdleCpu,
      activitiesPerSet: Object.entries(steps).reduce((n, [type, count]) => (type === 'workflow task' ? n : n + count), 0),
      stepsOfOneSet: steps,
      progress,
    };
    ctx.log(
      `many sets (${sets} x ${replicas}): ${complete ? 'all' : `${ready} of ${sets}`} Ready in ${(timeToReadyMs / 1000).toFixed(1)} s (applies ${(applyMs / 1000).toFixed(1)} s), ` +
        `${run.setsPerSecond.toFixed(1)} sets/s, worker RSS ${run.workerIdleRssMiB.toFixed(0)} -> peak ${run.workerPeakRssMiB.toFixed(0)} MiB, ` +
        `${cpuSeconds.toFixed(1)} CPU s, idle ${(workerIdleCpu * 100).toFixed(0)}% of a core`,
    );
    return run;
  } finally {
    await stack.stop();
  }
}

/** Steps one set ran until it was Ready (the watch that keeps running afterwards is not counted). */
async function activitiesOfOneSet(stack: Stack, name: string): Promise<Record<string, number>> {
  const timeline = await fetchTimeline(stack.client, workflowIdForSet(name));
  return Object.fromEntries(Object.entries(stepTotals(timeline)).map(([type, t]) => [type, t.count]));
}

async function floorBaseline(ctx: BenchContext, workflows: number, activities: number) {
  const stack = await startStack(ctx, { name: 'many-floor', mode: 'floor' });
  try {
    await stack.client.workflow.execute('floor', { taskQueue: stack.taskQueue, workflowId: 'many-floor-warmup', args: [2] });
    const pid = stack.worker.pid;
    const idle = memoryOf(pid)!;
    const peakReset = resetPeak(pid);
    const sampler = sampleRss(pid);
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: workflows }, (_, i) =>
        stack.client.workflow.execute('floor', { taskQueue: stack.taskQueue, workflowId: `many-floor-${i}`, args: [activities] }),
      ),
    );
    const ms = Date.now() - t0;
    const peak = Math.max(peakReset ? (memoryOf(pid)?.peak ?? 0) : 0, sampler.stop());
    const result = {
      workflows,
      activities,
      ms,
      workflowsPerSecond: workflows / (ms / 1000),
      workerIdleRssMiB: idle.rss / MiB,
      workerPeakRssMiB: peak / MiB,
    };
    ctx.log(
      `many sets baseline: ${workflows} bare workflows of ${activities} no-op activities in ${(ms / 1000).toFixed(1)} s, ` +
        `worker RSS ${result.workerIdleRssMiB.toFixed(0)} -> peak ${result.workerPeakRssMiB.toFixed(0)} MiB`,
    );
    return result;
  } finally {
    await stack.stop();
  }
}
