// `ordinal up --demo` as a newcomer runs it: the whole system in one command, the web example Ready
// and resolvable by name; Ctrl-C stops everything, instances included; started again on the same data
// directory, the set comes back as it was.
import { spawn, type ChildProcess } from 'node:child_process';
import dns from 'node:dns';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProcessDriver } from '../../activities/drivers/process.js';
import type { SetView } from '../../core/status.js';
import { uniqueAddressPool } from '../harness/ordinal.js';
import { resolveA } from '../harness/sets.js';
import { freePort, waitFor, workflowBundlePath } from '../harness/services.js';
import { REPO } from '../harness/system.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-up-'));
const pool = uniqueAddressPool();
let running: { child: ChildProcess; output: () => string } | undefined;

afterAll(async () => {
  if (running?.child.exitCode === null) running.child.kill('SIGKILL');
  const driver = new ProcessDriver({ dataDir, addressPool: pool });
  await driver.stopAll(1_000);
  driver.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

// Started from a directory of its own, not the repository: a newcomer's `npx ordinal up --demo` runs
// wherever they are, and the demo's example and its program are found all the same.
const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-up-cwd-'));

async function up(args: string[], ports: Record<string, number>) {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ORDINAL_DATA_DIR: dataDir,
    ORDINAL_ADDRESS_POOL: pool,
    ORDINAL_TEMPORAL_PORT: String(ports.temporal),
    ORDINAL_TEMPORAL_UI_PORT: String(ports.ui),
    ORDINAL_API_PORT: String(ports.api),
    ORDINAL_DNS_PORT: String(ports.dns),
    ORDINAL_WORKER_METRICS: `127.0.0.1:${ports.metrics}`,
    ORDINAL_WORKFLOW_BUNDLE: workflowBundlePath(),
  };
  delete env.TEMPORAL_ADDRESS; // `up` starts its own dev server
  const child = spawn(process.execPath, [path.join(REPO, 'bin/ordinal.js'), 'up', ...args], { env, cwd: elsewhere, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  running = { child, output: () => output };
  return running;
}

async function interrupt(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  return exited;
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe.sequential('ordinal up', () => {
  it('runs the demo, stops everything on Ctrl-C, and brings the set back on the next start', async () => {
    const ports = { temporal: await freePort(), ui: await freePort(), api: await freePort(), dns: await freePort(), metrics: await freePort() };
    const first = await up(['--demo'], ports);
    await waitFor(() => first.child.exitCode === null && first.output().includes('Try:'), {
      timeoutMs: 150_000,
      intervalMs: 200,
      message: `the demo to finish; output so far:\n${first.output()}`,
    });
    const output = first.output();
    expect(output).toContain(`API          http://127.0.0.1:${ports.api}`);
    expect(output).toContain(`DNS          127.0.0.1:${ports.dns}`);
    expect(output).toContain(`Temporal UI  http://127.0.0.1:${ports.ui}`);
    expect(output).toContain(`Metrics      http://127.0.0.1:${ports.metrics}/metrics (worker), http://127.0.0.1:${ports.api}/metrics (API)`);
    // One scrape of the worker has its own metrics and the Temporal SDK's.
    const scraped = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
    expect(scraped).toMatch(/^ordinal_instance_start_to_ready_seconds_count 3$/m);
    expect(scraped).toMatch(/^temporal_worker_start_total\{/m);
    expect(output).toContain('set web is Ready (3/3)');
    expect(output).toContain(`dig @127.0.0.1 -p ${ports.dns} +short web-0.web.ordinal.internal`);
    // The terminal is for people: component logs go to the log file.
    expect(output).not.toMatch(/^\{"level"/m);

    const resolver = new dns.promises.Resolver({ timeout: 1000, tries: 2 });
    resolver.setServers([`127.0.0.1:${ports.dns}`]);
    const [address] = await resolveA(resolver, 'web-1.web.ordinal.internal');
    const identity = (await (await fetch(`http://${address}:8080/`)).json()) as { name: string };
    expect(identity.name).toBe('web-1');
    const before = (await (await fetch(`http://127.0.0.1:${ports.api}/v1/sets/web`)).json()) as SetView;

    const driver = new ProcessDriver({ dataDir, addressPool: pool });
    try {
      expect(driver.running()).toHaveLength(3);
      expect(await interrupt(first.child)).toBe(0);
      expect(first.output()).toContain('stopped');
      expect(driver.running()).toEqual([]);
      expect(await portAnswers(ports.api)).toBe(false);
      expect(await portAnswers(ports.temporal)).toBe(false);

      // Started again: the set comes back from Temporal's database, at new addresses. Until the worker
      // has seen the old processes gone, GET shows the set as the workflow last saw it (Ready at the
      // old addresses), as a status does: wait for the new incarnations.
      const oldAddresses = new Set(before.status.instances.map((i) => i.address));
      const second = await up([], ports);
      const after = await waitFor(
        async () => {
          if (second.child.exitCode !== null) throw new Error(`ordinal up exited:\n${second.output()}`);
          const res = await fetch(`http://127.0.0.1:${ports.api}/v1/sets/web`).catch(() => undefined);
          if (res?.status !== 200) return undefined;
          const view = (await res.json()) as SetView;
          const renewed = view.status.instances.every((i) => i.ready && i.address !== null && !oldAddresses.has(i.address));
          return view.status.readyReplicas === 3 && renewed ? view : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 500, message: 'web back after a restart' },
      );
      expect(after.metadata.generation).toBe(before.metadata.generation);
      expect(after.status.instances.map((i) => i.name)).toEqual(['web-0', 'web-1', 'web-2']);
      await waitFor(async () => (await resolveA(resolver, 'web-0.web.ordinal.internal')).join() === after.status.instances[0].address, {
        message: 'web-0 resolves to its new address',
      });
      expect(driver.running()).toHaveLength(3);
      expect(await interrupt(second.child)).toBe(0);
      expect(driver.running()).toEqual([]);
    } finally {
      driver.close();
    }
  });
});
