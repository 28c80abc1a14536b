// A worker process for the bench, started by bench/lib/stack.ts with Ordinal's environment variables.
//   ordinal: exactly Ordinal's worker (createOrdinalWorker), as `ordinal worker` runs it.
//   floor:   the floor workflow and its no-op activity, on a worker built by the very same
//            createOrdinalWorker call, so every worker setting (concurrency, pollers, cache, grace
//            time, connection) is Ordinal's: only the task queue, the workflow bundle and the
//            activities differ. Worker.create is wrapped to swap those three in.
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { loadConfig } from '../../infra/config.js';
import { createOrdinalWorker } from '../../worker/worker.js';
import { floorActivities } from '../workflows/activities.js';

const mode = process.argv[2];
if (mode !== 'ordinal' && mode !== 'floor') {
  process.stderr.write('usage: worker-main.ts ordinal|floor\n');
  process.exit(2);
}

const config = loadConfig();
if (mode === 'floor') {
  const bundle = process.env.BENCH_FLOOR_BUNDLE;
  if (!bundle) throw new Error('BENCH_FLOOR_BUNDLE is not set');
  const create = Worker.create.bind(Worker);
  Worker.create = (options: WorkerOptions) => {
    const shown = Object.fromEntries(
      Object.entries(options).filter(([key, value]) => !['connection', 'activities', 'workflowBundle', 'sinks', 'interceptors'].includes(key) && typeof value !== 'function'),
    );
    process.stdout.write(`worker options ${JSON.stringify(shown)}\n`);
    return create({ ...options, workflowBundle: { codePath: bundle }, activities: floorActivities });
  };
}

const worker = await createOrdinalWorker(config);
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  void worker.shutdown().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
const running = worker.run();
process.stdout.write(`bench worker ready (${mode}, task queue ${config.temporal.taskQueue})\n`);
await running;
