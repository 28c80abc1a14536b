// Scenario 1, the durable-step floor R: a bare workflow running N sequential no-op activities on the
// run's Temporal server, on a worker with Ordinal's own settings (bench/lib/worker-main.ts, floor).
// R = (last activity closed - first activity scheduled) / N, from the server's own event times: one
// activity round trip plus the workflow task that schedules the next. Its baseline is one plain
// unary gRPC round trip to the same server (GetSystemInfo), so R also reads as "so many RPCs".
import { performance } from 'node:perf_hooks';
import type { BenchContext } from '../lib/context.js';
import { fetchTimeline, type Timeline } from '../lib/history.js';
import { row, type ScenarioResult } from '../lib/report.js';
import { startStack } from '../lib/stack.js';
import { mean, median, summarize } from '../lib/stats.js';

export async function floorScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const { floorActivities: count, repeats } = ctx.options;
  const stack = await startStack(ctx, { name: 'floor', mode: 'floor' });
  try {
    const workerOptions = /worker options (\{.*\})/.exec(stack.worker.output.text())?.[1];
    const run = async (id: string, n: number): Promise<{ wallMs: number; timeline: Timeline }> => {
      const started = performance.now();
      await stack.client.workflow.execute('floor', { taskQueue: stack.taskQueue, workflowId: id, args: [n] });
      const wallMs = performance.now() - started;
      return { wallMs, timeline: await fetchTimeline(stack.client, id) };
    };
    // Warm-up: the first workflow task of a worker pays for loading the bundle.
    await run('floor-warmup', 5);

    const runs: Array<{ R: number; wallMs: number; queuedMs: number; executionMs: number; betweenMs: number; workflowTaskMs: number }> = [];
    // At least two runs even in a quick run: R is the unit of every other Temporal figure.
    for (let i = 0; i < Math.max(repeats, 2); i++) {
      const { wallMs, timeline } = await run(`floor-${i}`, count);
      const acts = timeline.activities.filter((a) => a.closed !== undefined).sort((a, b) => a.scheduled - b.scheduled);
      if (acts.length !== count) throw new Error(`floor workflow ran ${acts.length} activities, expected ${count}`);
      const R = (acts[acts.length - 1].closed! - acts[0].scheduled) / count;
      const between = acts.slice(1).map((a, j) => a.scheduled - acts[j].closed!);
      const tasks = timeline.workflowTasks.filter((t) => t.completed !== undefined).map((t) => t.completed! - t.scheduled);
      runs.push({
        R,
        wallMs,
        queuedMs: mean(acts.map((a) => (a.started ?? a.scheduled) - a.scheduled)),
        executionMs: mean(acts.map((a) => a.closed! - (a.started ?? a.scheduled))),
        betweenMs: mean(between),
        workflowTaskMs: mean(tasks),
      });
      ctx.log(`floor run ${i + 1}: R = ${R.toFixed(2)} ms (${count} activities in ${(wallMs / 1000).toFixed(2)} s)`);
    }
    const R = median(runs.map((r) => r.R));
    ctx.R = R;

    // Baseline: unary gRPC round trips to the same frontend.
    const rpcs: number[] = [];
    for (let i = 0; i < 200; i++) {
      const t = performance.now();
      await stack.client.connection.workflowService.getSystemInfo({});
      rpcs.push(performance.now() - t);
    }
    const rpc = median(rpcs);
    return {
      rows: [
        row({
          name: 'floor: durable step R',
          value: R,
          unit: 'ms',
          baseline: rpc,
          baselineLabel: 'gRPC round trip',
          target: null,
          met: null,
          inR: 1,
          note: `${count} sequential no-op activities, median of ${runs.length} runs`,
        }),
      ],
      details: {
        activities: count,
        R: summarize(runs.map((r) => r.R)),
        runs,
        perActivity: {
          queuedMs: median(runs.map((r) => r.queuedMs)),
          executionMs: median(runs.map((r) => r.executionMs)),
          closedToNextScheduledMs: median(runs.map((r) => r.betweenMs)),
          workflowTaskMs: median(runs.map((r) => r.workflowTaskMs)),
        },
        grpcRoundTripMs: summarize(rpcs),
        workerOptions: workerOptions ? JSON.parse(workerOptions) : undefined,
      },
    };
  } finally {
    await stack.stop();
  }
}
