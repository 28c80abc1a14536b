// The soak: a set whose instances exit at random every few hundred milliseconds, recreated again and
// again (10,000 times by default) by a worker running as its own process, against a Temporal dev server
// of its own. It reports whether the history of each workflow run stays bounded (continue-as-new), the
// worker's memory over time, and whether every recreation was correct (one incarnation at a time, in
// order). Not part of `npm test`: `npm run soak [-- --recreations N --replicas N]`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { SetsService } from '../../api/sets.js';
import { ProcessDriver } from '../../activities/drivers/process.js';
import { workflowIdForSet } from '../../core/names.js';
import { freePort } from '../../infra/child-processes.js';
import { startDevServer } from '../../infra/dev-server.js';
import { fixtureManifest, readEvents, type FixtureEvent } from '../harness/sets.js';
import { ComponentProcess } from '../harness/system.js';

const { values } = parseArgs({
  options: {
    recreations: { type: 'string', default: '10000' },
    replicas: { type: 'string', default: '5' },
    'exit-after': { type: 'string', default: '200-600' },
  },
});
const target = Number(values.recreations);
const replicas = Number(values.replicas);

interface Sample {
  at: number;
  restarts: number;
  rssMiB: number;
  historyLength: number;
  runs: number;
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-soak-'));
  const dataDir = path.join(tmp, 'data');
  const events = path.join(tmp, 'events.jsonl');
  const temporal = await startDevServer({ dbFile: path.join(tmp, 'temporal.db'), uiPort: 'headless', logFile: path.join(tmp, 'temporal.log') });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: temporal.address,
    ORDINAL_DATA_DIR: dataDir,
    ORDINAL_DNS_PORT: String(await freePort()),
    ORDINAL_ADDRESS_POOL: '127.210.0.0/16',
    ORDINAL_LOG_LEVEL: 'warn',
  };
  const dns = new ComponentProcess('dns', env, /DNS server on/);
  const worker = new ComponentProcess('worker', env, /worker polling/);
  await Promise.all([dns.start(), worker.start()]);
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  const sets = new SetsService(client, { taskQueue: 'ordinal' });
  const name = 'soak';

  const manifest = fixtureManifest(name, {
    replicas,
    eventsFile: events,
    ttl: 0,
    args: ['--exit-random', values['exit-after']!],
    spec: { podManagementPolicy: 'Parallel', crashLoopBackOff: { maxSeconds: 0 } },
  }) as { spec: { template: Record<string, unknown> } };
  // Ready as soon as it runs: the soak is about recreation, not readiness.
  delete manifest.spec.template.readinessProbe;
  await sets.apply(name, manifest);

  const started = Date.now();
  const samples: Sample[] = [];
  console.log(`soak: ${replicas} instances exiting after ${values['exit-after']} ms, until ${target} recreations`);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const view = await sets.get(name);
    const restarts = view?.status.instances.reduce((sum, i) => sum + i.restarts, 0) ?? 0;
    const description = await client.workflow.getHandle(workflowIdForSet(name)).describe();
    let runs = 0;
    for await (const _ of client.workflow.list({ query: `WorkflowId = '${workflowIdForSet(name)}'` })) runs++;
    const sample = { at: Date.now() - started, restarts, rssMiB: rss(worker.pid!), historyLength: description.historyLength, runs };
    samples.push(sample);
    console.log(
      `${(sample.at / 1000).toFixed(0).padStart(6)} s  recreations ${String(restarts).padStart(6)}  ` +
        `worker RSS ${sample.rssMiB.toFixed(0)} MiB  history ${sample.historyLength} events (run ${runs})`,
    );
    if (restarts >= target) break;
  }

  await sets.delete(name);
  for (let i = 0; i < 600 && (await sets.get(name)) !== undefined; i++) await new Promise((resolve) => setTimeout(resolve, 500));
  const driver = new ProcessDriver({ dataDir, addressPool: env.ORDINAL_ADDRESS_POOL });
  const leftovers = driver.running().length;
  driver.close();

  const violations = checkTimeline(readEvents(events));
  const seconds = (Date.now() - started) / 1000;
  const last = samples[samples.length - 1];
  const warm = samples.slice(Math.floor(samples.length * 0.1));
  const firstTenth = warm.slice(0, Math.max(1, Math.floor(warm.length / 10)));
  const lastTenth = warm.slice(-Math.max(1, Math.floor(warm.length / 10)));
  const report = {
    recreations: last.restarts,
    seconds: Math.round(seconds),
    recreationsPerSecond: Number((last.restarts / seconds).toFixed(1)),
    workflowRuns: last.runs,
    maxHistoryEventsPerRun: Math.max(...samples.map((s) => s.historyLength)),
    workerRssMiB: {
      first: Math.round(samples[0].rssMiB),
      max: Math.round(Math.max(...samples.map((s) => s.rssMiB))),
      last: Math.round(last.rssMiB),
      earlyMedian: Math.round(median(firstTenth.map((s) => s.rssMiB))),
      lateMedian: Math.round(median(lastTenth.map((s) => s.rssMiB))),
    },
    incarnationsChecked: readEvents(events).filter((e) => e.event === 'start').length,
    timelineViolations: violations.length,
    processesLeftAfterDelete: leftovers,
  };
  console.log(JSON.stringify(report, null, 2));
  if (violations.length > 0) console.log(violations.slice(0, 20).join('\n'));
  fs.mkdirSync(path.join(import.meta.dirname, 'results'), { recursive: true });
  fs.writeFileSync(path.join(import.meta.dirname, 'results', 'latest.json'), `${JSON.stringify({ ...report, samples }, null, 2)}\n`);

  await Promise.all([worker.stop(), dns.stop()]);
  await connection.close();
  await temporal.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
  process.exitCode = violations.length > 0 || leftovers > 0 ? 1 : 0;
}

/** One incarnation at a time per identity, each started after its predecessor exited, numbers rising. */
function checkTimeline(events: FixtureEvent[]): string[] {
  const violations: string[] = [];
  const byName = new Map<string, FixtureEvent[]>();
  for (const e of events) byName.set(e.name, [...(byName.get(e.name) ?? []), e]);
  for (const [name, list] of byName) {
    const starts = list.filter((e) => e.event === 'start').sort((a, b) => a.incarnation - b.incarnation);
    const exits = new Map(list.filter((e) => e.event === 'exit').map((e) => [e.incarnation, e]));
    for (let i = 1; i < starts.length; i++) {
      const previous = starts[i - 1];
      const current = starts[i];
      if (current.incarnation === previous.incarnation) violations.push(`${name}: incarnation ${current.incarnation} started twice`);
      const exit = exits.get(previous.incarnation);
      if (exit && current.t < exit.t) violations.push(`${name}: incarnation ${current.incarnation} started before ${previous.incarnation} exited`);
      if (current.t < previous.t) violations.push(`${name}: incarnation ${current.incarnation} started before ${previous.incarnation}`);
    }
  }
  return violations;
}

function rss(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kib / 1024;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

await main();
