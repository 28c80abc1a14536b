// Records workflow histories for the replay tests (test/replay/replay.test.ts): starts its own Temporal
// dev server (and moto_server for Route 53), an in-process Ordinal worker with the process driver, runs
// short scenarios through SetsService with the fixture program, and writes every run of every workflow
// they started as JSON (the form `temporal workflow show --output json` prints) to
// <out>/<label>-<scenario>[-runN].json.
//
//   npx tsx test/replay/record.ts --label 2-current [--out test/fixtures/histories] [--only heal,delete]
//
// To record on a released commit, run it from a worktree of that commit (docs/testing.md, "Recording a history when a workflow changes"). It only
// uses product modules that exist since 6cdff7a and no vitest harness, so it can be copied there.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflows } from '../../worker/workflow-bundle.js';
import { SetsService } from '../../api/sets.js';
import type { SetView } from '../../core/status.js';
import { workflowIdForSet } from '../../core/names.js';
import { freePort } from '../../infra/child-processes.js';
import { startDevServer } from '../../infra/dev-server.js';
import { loadConfig } from '../../infra/config.js';
import { createOrdinalWorker } from '../../worker/worker.js';
import { MotoAdmin, useDummyAwsConfiguration } from '../harness/route53.js';
import { startMotoServer, type MotoServer } from '../tools/moto.js';
import { historyToJsonText } from './history-json.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const FIXTURE = path.join(REPO, 'test/fixtures/instance.mjs');

const { values } = parseArgs({
  options: {
    label: { type: 'string' },
    out: { type: 'string', default: path.join(REPO, 'test/fixtures/histories') },
    only: { type: 'string' },
    pool: { type: 'string', default: '127.181.0.0/16' },
  },
});
if (!values.label || !/^[a-z0-9][a-z0-9.-]*$/.test(values.label)) {
  process.stderr.write('usage: npx tsx test/replay/record.ts --label NAME [--out DIR] [--only a,b] [--pool 127.181.0.0/16]\n');
  process.exit(2);
}
const label = values.label;
const outDir = path.resolve(values.out!);
const only = values.only ? new Set(values.only.split(',')) : undefined;

// ---------- helpers (self-contained: the vitest harness cannot be imported outside vitest) ----------

async function waitFor<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function manifest(name: string, replicas: number, options: { args?: string[]; env?: Record<string, string>; spec?: Record<string, unknown>; dns?: Record<string, unknown> } = {}) {
  return {
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: {
      replicas,
      template: {
        process: { command: [process.execPath, FIXTURE, '--port', '8080', ...(options.args ?? [])], env: options.env ?? {} },
        ports: [{ name: 'http', port: 8080 }],
        readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
        terminationGracePeriodSeconds: 5,
      },
      dns: { ttl: 1, ...options.dns },
      ...options.spec,
    },
  };
}

function isReady(view: SetView | undefined, replicas: number): boolean {
  return (
    !!view &&
    view.status.observedGeneration === view.metadata.generation &&
    view.status.readyReplicas === replicas &&
    view.status.replicas === replicas &&
    view.status.updatedReplicas === replicas &&
    view.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

// ---------- services ----------

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-record-'));
const log = (message: string) => process.stderr.write(`[record ${label}] ${message}\n`);
const stops: Array<() => Promise<unknown>> = [];

async function main(): Promise<void> {
  log(`temp dir ${tmp}`);
  const [temporal, moto, bundle] = await Promise.all([
    startDevServer({ dbFile: path.join(tmp, 'temporal.db'), uiPort: 'headless', logFile: path.join(tmp, 'temporal.log') }),
    startMotoServer({ logFile: path.join(tmp, 'moto.log') }).catch((error: unknown): undefined => {
      log(`no moto_server, skipping the Route 53 scenario: ${String(error)}`);
      return undefined;
    }),
    bundleWorkflows({
      logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (m) => process.stderr.write(`${m}\n`) },
    }),
  ]);
  stops.push(() => temporal.stop());
  if (moto) stops.push(() => (moto as MotoServer).stop());
  const bundleFile = path.join(tmp, 'workflow-bundle.js');
  fs.writeFileSync(bundleFile, bundle);
  process.env.ORDINAL_WORKFLOW_BUNDLE = bundleFile;
  useDummyAwsConfiguration();
  if (moto) process.env.AWS_ENDPOINT_URL_ROUTE_53 = moto.endpoint;

  const taskQueue = `ordinal-record-${randomBytes(3).toString('hex')}`;
  const config = loadConfig({
    ORDINAL_DATA_DIR: path.join(tmp, 'data'),
    TEMPORAL_ADDRESS: temporal.address,
    TEMPORAL_NAMESPACE: 'default',
    ORDINAL_TASK_QUEUE: taskQueue,
    ORDINAL_DNS_PORT: String(await freePort()),
    ORDINAL_ADDRESS_POOL: values.pool!,
    ORDINAL_DNS_UPSTREAM: 'none',
    ORDINAL_LOG_LEVEL: process.env.ORDINAL_LOG_LEVEL ?? 'warn',
  });
  const worker = await createOrdinalWorker(config);
  const running = worker.run();
  stops.unshift(async () => {
    await worker.shutdown();
    await running.catch(() => undefined);
    await worker.driver.stopAll(2_000);
    worker.driver.close();
  });
  const connection = await Connection.connect({ address: temporal.address });
  stops.unshift(() => connection.close());
  const client = new Client({ connection, namespace: 'default' });
  const sets = new SetsService(client, { taskQueue });
  // A low history limit: a handful of changes make the workflow continue-as-new.
  const shortSets = new SetsService(client, { taskQueue, workflowLimits: { maxHistoryEvents: 40 } });

  const ready = (name: string, replicas: number, service = sets) =>
    waitFor(async () => {
      const view = await service.get(name);
      return isReady(view, replicas) ? view : undefined;
    }, `${name} Ready with ${replicas}`);

  /** kill -9 of ordinal 0 of a 2-instance set, until it is Ready again as a new incarnation. */
  async function killFirstAndAwaitRecreated(name: string): Promise<void> {
    const [handle] = (await worker.driver.describe(name)).filter((h) => h.ordinal === 0);
    if (!handle?.pid) throw new Error(`no pid for ${name}-0`);
    process.kill(handle.pid, 'SIGKILL');
    await waitFor(async () => {
      const view = await sets.get(name);
      return isReady(view, 2) && view!.status.instances.find((i) => i.ordinal === 0)!.incarnation > 1;
    }, `${name}-0 recreated`);
  }

  /** Scenario name -> what it does; returns the workflow ids whose histories to keep (default: its set's). */
  const scenarios: Record<string, (name: string) => Promise<string[] | void>> = {
    async create(name) {
      await sets.apply(name, manifest(name, 2));
      await ready(name, 2);
    },
    async heal(name) {
      await sets.apply(name, manifest(name, 2));
      await ready(name, 2);
      await killFirstAndAwaitRecreated(name);
    },
    // Without a readiness probe: Ready once running, so a create has nothing to wait for; then healed.
    async 'no-probe'(name) {
      const spec = manifest(name, 2);
      delete (spec.spec.template as { readinessProbe?: unknown }).readinessProbe;
      await sets.apply(name, spec);
      await ready(name, 2);
      await killFirstAndAwaitRecreated(name);
    },
    async scale(name) {
      await sets.apply(name, manifest(name, 1));
      await ready(name, 1);
      await sets.apply(name, manifest(name, 3));
      await ready(name, 3);
      await sets.apply(name, manifest(name, 1));
      await ready(name, 1);
    },
    async rollout(name) {
      await sets.apply(name, manifest(name, 2, { env: { VERSION: '1' } }));
      await ready(name, 2);
      await sets.apply(name, manifest(name, 2, { env: { VERSION: '2' } }));
      await ready(name, 2);
    },
    // Rollback by hand: the old template applied again (it keeps its revision name).
    async rollback(name) {
      await sets.apply(name, manifest(name, 2, { env: { VERSION: '1' } }));
      await ready(name, 2);
      await sets.apply(name, manifest(name, 2, { env: { VERSION: '2' } }));
      await ready(name, 2);
      await sets.apply(name, manifest(name, 2, { env: { VERSION: '1' } }));
      await ready(name, 2);
    },
    // The workflow's own rollback action: a rollout that never gets Ready, past its progress deadline.
    async 'auto-rollback'(name) {
      const spec = { autoRollback: true, progressDeadlineSeconds: 2 };
      await sets.apply(name, manifest(name, 1, { env: { VERSION: '1' }, spec }));
      const good = (await ready(name, 1)).status.updateRevision;
      await sets.apply(name, manifest(name, 1, { env: { VERSION: '2' }, args: ['--never-ready'], spec }));
      await waitFor(async () => {
        const view = await sets.get(name);
        return view && view.metadata.generation >= 2 && view.status.updateRevision === good && isReady(view, 1);
      }, `${name} rolled back to ${good}`);
    },
    // Parallel: deletions run together on new code, in doubling batches before (patch parallel-deletions-together).
    async 'parallel-scale-to-zero'(name) {
      await sets.apply(name, manifest(name, 3, { spec: { podManagementPolicy: 'Parallel' } }));
      await ready(name, 3);
      await sets.apply(name, manifest(name, 0, { spec: { podManagementPolicy: 'Parallel' } }));
      await waitFor(async () => {
        const view = await sets.get(name);
        return view && view.status.observedGeneration === 2 && view.status.replicas === 0 && view.status.instances.length === 0;
      }, `${name} scaled to 0`);
    },
    // The workflow ends (patch release-embedded-zone on new code).
    async delete(name) {
      await sets.apply(name, manifest(name, 2));
      await ready(name, 2);
      await sets.delete(name);
      await client.workflow.getHandle(workflowIdForSet(name)).result();
    },
    async 'continue-as-new'(name) {
      let generation = (await shortSets.apply(name, manifest(name, 1))).set.metadata.generation;
      await ready(name, 1, shortSets);
      for (let i = 0; i < 8 && (await runsOf(workflowIdForSet(name))).length < 2; i++) {
        const replicas = i % 2 === 0 ? 2 : 1;
        generation = (await shortSets.apply(name, manifest(name, replicas), { expectedGeneration: generation })).set.metadata.generation;
        await ready(name, replicas, shortSets);
      }
      await waitFor(async () => (await runsOf(workflowIdForSet(name))).length >= 2 || undefined, `${name} to continue as new`);
      await ready(name, (await shortSets.get(name))!.spec.replicas, shortSets);
    },
    // A set publishing to Route 53 (moto): the set's history with remote publishes, and the zone's publisher workflow.
    async route53(name) {
      if (!moto) return [];
      const admin = new MotoAdmin(moto.endpoint);
      const zone = `${name}.internal`;
      await admin.createZone(zone);
      admin.sdk.destroy();
      const dns = { provider: 'route53', zone };
      await sets.apply(name, manifest(name, 1, { dns }));
      await ready(name, 1);
      await sets.apply(name, manifest(name, 2, { dns }));
      await ready(name, 2);
      await sets.delete(name);
      await client.workflow.getHandle(workflowIdForSet(name)).result();
      const zones: string[] = [];
      for await (const execution of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND WorkflowType = 'route53Zone'` })) {
        zones.push(execution.workflowId);
      }
      return [workflowIdForSet(name), ...new Set(zones)];
    },
  };

  async function runsOf(workflowId: string): Promise<Array<{ runId: string; start: number }>> {
    const runs: Array<{ runId: string; start: number }> = [];
    for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
      runs.push({ runId: execution.runId, start: execution.startTime.getTime() });
    }
    return runs.sort((a, b) => a.start - b.start);
  }

  fs.mkdirSync(outDir, { recursive: true });
  const failed: string[] = [];
  for (const [scenario, run] of Object.entries(scenarios)) {
    if (only && !only.has(scenario)) continue;
    const name = `${scenario.replace(/[^a-z0-9]+/g, '')}-${randomBytes(2).toString('hex')}`.slice(0, 30);
    const started = Date.now();
    try {
      const ids = (await run(name)) ?? [workflowIdForSet(name)];
      for (const workflowId of ids) {
        // Visibility may lag a moment behind a continue-as-new.
        const runs = await waitFor(async () => {
          const found = await runsOf(workflowId);
          return found.length > 0 ? found : undefined;
        }, `runs of ${workflowId}`);
        const kind = workflowId === workflowIdForSet(name) ? '' : '-zone';
        for (const [i, { runId }] of runs.entries()) {
          const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
          const file = path.join(outDir, `${label}-${scenario}${kind}${runs.length > 1 ? `-run${i + 1}` : ''}.json`);
          fs.writeFileSync(file, `${historyToJsonText(history)}\n`);
          log(`${scenario}: wrote ${path.relative(process.cwd(), file)} (${history.events?.length ?? 0} events)`);
        }
      }
      log(`${scenario}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } catch (error) {
      failed.push(scenario);
      log(`${scenario}: FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  }
  if (failed.length > 0) throw new Error(`scenarios failed: ${failed.join(', ')}`);
}

main()
  .then(
    () => 0,
    (error: unknown) => {
      log(error instanceof Error ? error.message : String(error));
      return 1;
    },
  )
  .then(async (code) => {
    for (const stop of stops) await stop().catch((error: unknown) => log(`stop: ${String(error)}`));
    fs.rmSync(tmp, { recursive: true, force: true });
    process.exit(code);
  });
