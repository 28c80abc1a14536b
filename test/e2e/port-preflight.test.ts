// A port `ordinal up`, `api` or `dns` needs is already taken (held here, by a child process or by this
// test's own sockets): the command says which port, who holds it and which variable moves it, in one
// block, exits 1 without a stack trace, and leaves nothing running (no Temporal dev server, no process
// on its data directory, every other port free again). `ordinal worker` with Temporal out of reach
// says so in one line.
import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { probePort, type Protocol } from '../../cli/port-preflight.js';
import { defaultPodDnsAddress } from '../../infra/config.js';
import { uniqueAddressPool } from '../harness/ordinal.js';
import { freePort, waitFor } from '../harness/services.js';
import { REPO } from '../harness/system.js';

const BIN = path.join(REPO, 'bin/ordinal.js');
const DEADLINE_MS = 90_000;

let dataDir: string;
let pool: string;
let podAddress: string;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-preflight-'));
  pool = uniqueAddressPool();
  podAddress = defaultPodDnsAddress(pool);
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

afterAll(() => {
  // Should a command have started something after all, stop it: only processes on this test's data dir.
  for (const pid of processesMentioning(dataDir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

interface Ports {
  api: number;
  dns: number;
  pod: number;
  temporal: number;
  ui: number;
}

async function freePorts(): Promise<Ports> {
  const ports: number[] = [];
  while (ports.length < 5) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  const [api, dns, pod, temporal, ui] = ports;
  return { api, dns, pod, temporal, ui };
}

/** `node bin/ordinal.js <command>` on this test's data dir, pool and ports; resolves when it exits (within the deadline). */
async function ordinal(command: string, ports: Ports, extraEnv: Record<string, string> = {}) {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ORDINAL_DATA_DIR: dataDir,
    ORDINAL_ADDRESS_POOL: pool,
    ORDINAL_API_PORT: String(ports.api),
    ORDINAL_DNS_PORT: String(ports.dns),
    // The pod listener on a high port: the check is the same, and it needs no privileges.
    ORDINAL_DNS_POD_PORT: String(ports.pod),
    ORDINAL_TEMPORAL_PORT: String(ports.temporal),
    ORDINAL_TEMPORAL_UI_PORT: String(ports.ui),
    ORDINAL_DNS_UPSTREAM: 'none',
    ORDINAL_LOG_LEVEL: 'warn',
    // Off, so `up` needs exactly the ports above (its default 127.0.0.1:7081 is checked in the unit tests).
    ORDINAL_WORKER_METRICS: 'disabled',
    ...extraEnv,
  };
  if (!('TEMPORAL_ADDRESS' in extraEnv)) delete env.TEMPORAL_ADDRESS; // `up` would start its own dev server
  const child = spawn(process.execPath, [BIN, command], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ordinal ${command} did not exit within ${DEADLINE_MS} ms:\n${stdout}\n${stderr}`)), DEADLINE_MS);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
  // Its output may still be in the pipes when it exits.
  await waitFor(() => child.stdout!.readableEnded && child.stderr!.readableEnded, { timeoutMs: 10_000, message: 'the output to end' });
  return { exit, stdout, stderr };
}

/** A TCP port held by another process (a child running a tiny server): its pid, once it listens. */
async function holdInChild(host: string, port: number): Promise<ChildProcess> {
  const script = `require('net').createServer().listen(${port}, '${host}', () => console.log('listening'))`;
  const child = spawn(process.execPath, ['-e', script, 'port-holder'], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`the port holder exited (${child.exitCode})`);
      return output.includes('listening');
    },
    { timeoutMs: 30_000, message: `a child to hold ${host}:${port}` },
  );
  return child;
}

/** A port held by this test process itself, over TCP or UDP. */
async function holdHere(host: string, port: number, protocol: Protocol): Promise<void> {
  if (protocol === 'tcp') {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  } else {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, host, () => resolve());
    });
    cleanups.push(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  }
}

/** Pids of processes (other than this one) whose command line names `text`. */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(text)) pids.push(Number(name));
    } catch {
      // gone
    }
  }
  return pids;
}

/** The ports that must be free after a failed start: every listener but the ones the test holds. */
async function expectFree(listeners: Array<[string, number, Protocol]>): Promise<void> {
  for (const [host, port, protocol] of listeners) {
    expect(await probePort(host, port, protocol), `${host}:${port}/${protocol} is free`).toBeUndefined();
  }
}

/** Nothing of the failed command is left: no process on its data dir, no Temporal database. */
function expectNothingRunning(): void {
  expect(processesMentioning(dataDir)).toEqual([]);
  expect(fs.existsSync(path.join(dataDir, 'temporal.db'))).toBe(false);
}

const STACK_LINE = /^\s+at /m;

describe('a port that is already taken', () => {
  it('ordinal up: names the port, its holder and the variable, exits 1, starts nothing', async () => {
    const ports = await freePorts();
    const holder = await holdInChild('127.0.0.1', ports.api);
    const { exit, stdout, stderr } = await ordinal('up', ports);
    expect(exit, `${stdout}\n${stderr}`).toEqual({ code: 1, signal: null });
    const line = stderr.trim();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toContain(`port ${ports.api} (API, ORDINAL_API_PORT) on 127.0.0.1 is in use by pid ${holder.pid} (`);
    expect(line).toContain(`pid ${holder.pid} (${process.execPath} -e `); // its command line
    expect(line).toContain('set ORDINAL_API_PORT to a free port');
    expect(stderr).not.toMatch(STACK_LINE);
    expect(stdout).not.toContain('starting the Temporal dev server');
    expectNothingRunning();
    await expectFree([
      ['127.0.0.1', ports.temporal, 'tcp'],
      ['127.0.0.1', ports.ui, 'tcp'],
      ['127.0.0.1', ports.dns, 'udp'],
      ['127.0.0.1', ports.dns, 'tcp'],
      [podAddress, ports.pod, 'udp'],
      [podAddress, ports.pod, 'tcp'],
    ]);
  });

  it('ordinal up: reports every taken port at once, each with its holder and variable', async () => {
    const ports = await freePorts();
    await holdHere('127.0.0.1', ports.dns, 'udp');
    await holdHere('127.0.0.1', ports.temporal, 'tcp');
    await holdHere('127.0.0.1', ports.ui, 'tcp');
    const { exit, stdout, stderr } = await ordinal('up', ports);
    expect(exit, `${stdout}\n${stderr}`).toEqual({ code: 1, signal: null });
    const lines = stderr.trim().split('\n');
    expect(lines[0]).toBe('error: cannot start: 3 ports are not available:');
    expect(lines.slice(1)).toEqual([
      expect.stringContaining(`port ${ports.dns} (DNS host listener, ORDINAL_DNS_PORT) on 127.0.0.1 is in use (UDP) by pid ${process.pid} (`),
      expect.stringContaining(`port ${ports.temporal} (Temporal dev server, ORDINAL_TEMPORAL_PORT) on 127.0.0.1 is in use by pid ${process.pid} (`),
      expect.stringContaining(`port ${ports.ui} (Temporal UI, ORDINAL_TEMPORAL_UI_PORT) on 127.0.0.1 is in use by pid ${process.pid} (`),
    ]);
    expect(stderr).toContain('or set TEMPORAL_ADDRESS to use a Temporal server that already runs');
    expect(stderr).not.toMatch(STACK_LINE);
    expect(stdout).not.toContain('starting the Temporal dev server');
    expectNothingRunning();
    await expectFree([
      ['127.0.0.1', ports.api, 'tcp'],
      ['127.0.0.1', ports.dns, 'tcp'],
      [podAddress, ports.pod, 'udp'],
      [podAddress, ports.pod, 'tcp'],
    ]);
  });

  it('ordinal api: names the port, its holder and the variable', async () => {
    const ports = await freePorts();
    await holdHere('127.0.0.1', ports.api, 'tcp');
    const { exit, stdout, stderr } = await ordinal('api', ports);
    expect(exit, `${stdout}\n${stderr}`).toEqual({ code: 1, signal: null });
    expect(stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        new RegExp(`^error: cannot start: port ${ports.api} \\(API, ORDINAL_API_PORT\\) on 127\\.0\\.0\\.1 is in use by pid ${process.pid} \\(.+\\); stop it, or set ORDINAL_API_PORT \\(--port\\) to a free port$`),
      ),
    ]);
    expect(stdout).not.toContain('API on');
    expectNothingRunning();
  });

  it('ordinal dns: a pod listener port taken over TCP only is named with its protocol', async () => {
    const ports = await freePorts();
    await holdHere(podAddress, ports.pod, 'tcp');
    const { exit, stdout, stderr } = await ordinal('dns', ports);
    expect(exit, `${stdout}\n${stderr}`).toEqual({ code: 1, signal: null });
    const line = stderr.trim();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toContain(`error: cannot start: port ${ports.pod} (DNS pod listener, ORDINAL_DNS_POD_PORT) on ${podAddress} is in use (TCP) by pid ${process.pid} (`);
    expect(line).toContain('ORDINAL_DNS_POD_ADDRESS');
    expect(line).toContain('ORDINAL_DNS_POD=disabled');
    expect(stderr).not.toMatch(STACK_LINE);
    expect(stdout).not.toContain('DNS server on');
    expectNothingRunning();
    await expectFree([
      ['127.0.0.1', ports.dns, 'udp'],
      ['127.0.0.1', ports.dns, 'tcp'],
      [podAddress, ports.pod, 'udp'],
    ]);
  });
});

describe('a Temporal server out of reach', () => {
  it('ordinal worker: says so in one line with the address and the fix, exits 1', async () => {
    const ports = await freePorts();
    const nowhere = `127.0.0.1:${await freePort()}`;
    const { exit, stdout, stderr } = await ordinal('worker', ports, { TEMPORAL_ADDRESS: nowhere });
    expect(exit, `${stdout}\n${stderr}`).toEqual({ code: 1, signal: null });
    const line = stderr.trim();
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toMatch(new RegExp(`^error: cannot reach Temporal at ${nowhere.replace(/\./g, '\\.')} \\(TEMPORAL_ADDRESS\\): .+\\. Fix: `));
    expect(line).toContain('set TEMPORAL_ADDRESS to one that runs');
    expect(stderr).not.toMatch(STACK_LINE);
    expect(stdout).not.toContain('worker polling');
    expectNothingRunning();
  });
});
