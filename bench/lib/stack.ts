// One Ordinal installation for one scenario, in the production shape (docs/operations.md, "Production shape"):
// the worker, and when asked the embedded DNS server and the API, each its own process against the
// run's Temporal server, with their own data folder, task queue and loopback pool. stop() leaves
// nothing behind: set workflows terminated, instance processes killed, components stopped.
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { SetsService } from '../../api/sets.js';
import { ProcessDriver } from '../../activities/drivers/process.js';
import { freePort, sleep, type ManagedProcess } from '../../infra/child-processes.js';
import type { BenchContext } from './context.js';
import { BENCH_DIR, REPO_ROOT, killGroup, startNodeScript } from './procs.js';

export interface StackOptions {
  /** Short name: folder, logs, task queue. */
  name: string;
  /** 'floor' runs the floor workflow on a worker with Ordinal's settings instead of Ordinal's worker. */
  mode?: 'ordinal' | 'floor';
  dns?: boolean;
  api?: boolean;
  /** More environment for every component (e.g. the AWS endpoint and credentials of the Route 53 scenario). */
  env?: NodeJS.ProcessEnv;
}

export interface Stack {
  name: string;
  dataDir: string;
  taskQueue: string;
  addressPool: string;
  worker: ManagedProcess;
  dns?: { port: number; process: ManagedProcess };
  api?: { url: string; process: ManagedProcess };
  client: Client;
  sets: SetsService;
  stop(): Promise<void>;
}

export async function startStack(ctx: BenchContext, options: StackOptions): Promise<Stack> {
  const mode = options.mode ?? 'ordinal';
  const dataDir = path.join(ctx.tmp, options.name);
  const logs = path.join(ctx.tmp, 'logs');
  fs.mkdirSync(dataDir, { recursive: true });
  const taskQueue = ctx.taskQueue(options.name);
  const addressPool = ctx.nextPool();
  const dnsPort = await freePort();
  const apiPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ORDINAL_DATA_DIR: dataDir,
    TEMPORAL_ADDRESS: ctx.temporalAddress,
    TEMPORAL_NAMESPACE: ctx.namespace,
    ORDINAL_TASK_QUEUE: taskQueue,
    ORDINAL_ADDRESS_POOL: addressPool,
    ORDINAL_DNS_HOST: '127.0.0.1',
    ORDINAL_DNS_PORT: String(dnsPort),
    ORDINAL_API_HOST: '127.0.0.1',
    ORDINAL_API_PORT: String(apiPort),
    ORDINAL_WORKFLOW_BUNDLE: ctx.ordinalBundle,
    BENCH_FLOOR_BUNDLE: ctx.floorBundle,
    ORDINAL_LOG_LEVEL: process.env.ORDINAL_LOG_LEVEL || 'info',
    TEMPORAL_CLI: ctx.temporalCli,
    ...options.env,
  };
  const connection = await Connection.connect({ address: ctx.temporalAddress });
  const client = new Client({ connection, namespace: ctx.namespace });
  const sets = new SetsService(client, { taskQueue });

  const processes: ManagedProcess[] = [];
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      // The worker goes first, so nothing recreates the instances killed next; the workflows are
      // terminated last (thousands take a while, and nothing runs them any more).
      await Promise.allSettled(processes.reverse().map((p) => p.stop(10_000)));
      await killInstances(dataDir, addressPool);
      await terminateWorkflows(client, taskQueue);
      await connection.close().catch(() => undefined);
      if (!ctx.options.keep) fs.rmSync(dataDir, { recursive: true, force: true });
    })());
  const unregister = ctx.cleanup.add(`stack ${options.name}`, stop);

  try {
    const profile = (what: string) =>
      // One folder per process: its main thread and each worker thread (workflows run in threads) write their own file.
      ctx.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.join(ctx.profileDir, `${options.name}-${what}`)}`] : [];
    const worker = await startNodeScript(`${options.name} worker`, path.join(BENCH_DIR, 'lib/worker-main.ts'), [mode], {
      env,
      logFile: path.join(logs, `${options.name}-worker.log`),
      ready: /bench worker ready/,
      nodeArgs: profile(`${mode}-worker`),
    });
    processes.push(worker);
    let dns: Stack['dns'];
    if (options.dns) {
      const proc = await startNodeScript(`${options.name} dns`, path.join(REPO_ROOT, 'bin/ordinal.js'), ['dns'], {
        env,
        logFile: path.join(logs, `${options.name}-dns.log`),
        ready: /DNS server on/,
      });
      processes.push(proc);
      dns = { port: dnsPort, process: proc };
    }
    let api: Stack['api'];
    if (options.api) {
      const proc = await startNodeScript(`${options.name} api`, path.join(BENCH_DIR, 'lib/api-main.ts'), [], {
        env,
        logFile: path.join(logs, `${options.name}-api.log`),
        ready: /bench api listening on \S+/,
        nodeArgs: profile('api'),
      });
      processes.push(proc);
      api = { url: /bench api listening on (\S+)/.exec(proc.output.text())![1], process: proc };
    }
    return {
      name: options.name,
      dataDir,
      taskQueue,
      addressPool,
      worker,
      dns,
      api,
      client,
      sets,
      stop: async () => {
        await unregister();
      },
    };
  } catch (err) {
    await unregister();
    throw err;
  }
}

/** Terminates every running workflow of the task queue (so no set is left waiting for its worker). */
export async function terminateWorkflows(client: Client, taskQueue: string): Promise<number> {
  const ids: Array<{ workflowId: string; runId: string }> = [];
  for await (const execution of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
    ids.push({ workflowId: execution.workflowId, runId: execution.runId });
  }
  await inBatches(ids, 50, ({ workflowId, runId }) =>
    client.workflow.getHandle(workflowId, runId).terminate('bench finished').catch(() => undefined),
  );
  return ids.length;
}

/** Kills every instance process of a data folder at once (one /proc scan, SIGKILL to each group). */
export async function killInstances(dataDir: string, addressPool: string): Promise<void> {
  if (!fs.existsSync(dataDir)) return;
  const driver = new ProcessDriver({ dataDir, addressPool, logger: pino({ level: 'silent' }) });
  try {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const running = driver.running();
      if (running.length === 0 || Date.now() > deadline) return;
      for (const p of running) killGroup(p.pid, 'SIGKILL');
      await sleep(100);
    }
  } finally {
    driver.close();
  }
}

export async function inBatches<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]);
      }
    }),
  );
  return results;
}
