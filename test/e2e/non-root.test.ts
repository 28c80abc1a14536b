// Ordinal as an unprivileged user: `ordinal dns` run as nobody (setpriv from root) cannot bind port 53
// for the pod listener, and must say so at start, in one line, with the address, the port and the fixes,
// and exit 1; with ORDINAL_DNS_POD_PORT on a high port it starts and answers.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { askServerIdentity } from '../../dns/identity.js';
import { defaultPodDnsAddress, installationId } from '../../infra/config.js';
import { uniqueAddressPool } from '../harness/ordinal.js';
import { freePort, waitFor } from '../harness/services.js';
import { NOBODY, unprivilegedView, type UnprivilegedView } from '../harness/unprivileged.js';

const isRoot = process.getuid?.() === 0;
/** Whether an unprivileged user may bind port 53 here anyway (then there is no failure to see). */
const unprivilegedPortStart = Number(readOr('/proc/sys/net/ipv4/ip_unprivileged_port_start', '1024'));

function readOr(file: string, fallback: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return fallback;
  }
}

let dataDir: string;
let pool: string;
let view: UnprivilegedView;
const children: ChildProcess[] = [];

beforeAll(() => {
  // A data directory nobody may write, on a path anyone may enter (/tmp, whatever TMPDIR says).
  dataDir = fs.mkdtempSync('/tmp/ordinal-nonroot-');
  fs.chmodSync(dataDir, 0o777);
  pool = uniqueAddressPool();
  view = unprivilegedView();
});

afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
  view?.close();
});

/** `node bin/ordinal.js dns` as nobody, with only this test's settings (no forwarding anywhere). */
function dnsAsNobody(extraEnv: Record<string, string>, hostPort: number) {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    ORDINAL_DATA_DIR: dataDir,
    ORDINAL_ADDRESS_POOL: pool,
    ORDINAL_DNS_PORT: String(hostPort),
    ORDINAL_DNS_UPSTREAM: 'none',
    ORDINAL_LOG_LEVEL: 'warn',
    ...extraEnv,
  };
  const [command, ...args] = view.argv([view.node, path.join(view.repo, 'bin/ordinal.js'), 'dns']);
  const child = spawn(command!, args, { cwd: '/tmp', env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const result = { stdout: '', stderr: '', exit: undefined as { code: number | null; signal: NodeJS.Signals | null } | undefined };
  child.stdout!.on('data', (d) => (result.stdout += d));
  child.stderr!.on('data', (d) => (result.stderr += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve((result.exit = { code, signal }))),
  );
  return { child, result, exited };
}

function within<T>(promise: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message())), ms)));
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe.skipIf(!isRoot)('ordinal dns as an unprivileged user', () => {
  it.skipIf(unprivilegedPortStart <= 53)('fails at start on port 53, naming the address, the port and the fixes', async () => {
    const podAddress = defaultPodDnsAddress(pool);
    const { result, exited } = dnsAsNobody({}, await freePort());
    const exit = await within(exited, 90_000, () => `ordinal dns did not exit:\n${result.stdout}\n${result.stderr}`);
    expect(exit, `${result.stdout}\n${result.stderr}`).toEqual({ code: 1, signal: null });
    const message = result.stderr.split('\n').find((line) => line.startsWith('error: '));
    expect(message, result.stderr).toBeDefined();
    expect(message).toContain(`${podAddress}:53`);
    expect(message).toContain('setcap cap_net_bind_service=+ep');
    expect(message).toContain('sysctl net.ipv4.ip_unprivileged_port_start=53');
    expect(message).toContain('ORDINAL_DNS_POD=disabled');
    // One line, no stack trace.
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it('starts on a high pod port, answers there, and stops on SIGTERM', async () => {
    const podAddress = defaultPodDnsAddress(pool);
    const [hostPort, podPort] = [await freePort(), await freePort()];
    const { child, result, exited } = dnsAsNobody({ ORDINAL_DNS_POD_PORT: String(podPort) }, hostPort);
    await waitFor(() => {
      if (result.exit) throw new Error(`ordinal dns exited (${JSON.stringify(result.exit)}):\n${result.stdout}\n${result.stderr}`);
      return /DNS pod listener on/.test(result.stdout);
    }, { timeoutMs: 90_000, message: `ordinal dns to start\n${result.stdout}\n${result.stderr}` });
    expect(result.stdout).toContain(`DNS pod listener on ${podAddress}:${podPort}`);
    // Both listeners answer, as this installation.
    const identity = installationId(dataDir);
    expect(await askServerIdentity(podAddress, podPort, 3000)).toBe(identity);
    expect(await askServerIdentity('127.0.0.1', hostPort, 3000)).toBe(identity);
    // It ran as nobody: its files belong to nobody.
    expect(fs.statSync(path.join(dataDir, 'dns.db')).uid).toBe(NOBODY);

    child.kill('SIGTERM');
    expect(await within(exited, 30_000, () => `ordinal dns did not stop on SIGTERM:\n${result.stderr}`)).toEqual({ code: 0, signal: null });
  });
});
