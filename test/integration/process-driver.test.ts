// The process driver against real processes, real sockets and a real /proc (Linux).
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Template } from '../../core/manifest.js';
import { DriverError, type CreateRequest, type InstanceHandle } from '../../activities/drivers/driver.js';
import { MARKER, ProcessDriver } from '../../activities/drivers/process.js';
import { findMarked, FORK_SERVER_VARIABLE, isRunning, MarkedProcessScanner, readEnviron } from '../../activities/drivers/proc.js';
import { waitFor } from '../harness/services.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/instance.mjs', import.meta.url));

interface Info {
  pid: number;
  address: string;
  port: number;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
}

const dirs: string[] = [];
const drivers: ProcessDriver[] = [];

afterEach(async () => {
  for (const driver of drivers.splice(0)) driver.close();
  // A fresh driver per data dir finds (through /proc) and stops everything the test started.
  for (const dir of dirs.splice(0)) {
    const sweeper = new ProcessDriver({ dataDir: dir, logger: capture().logger });
    await sweeper.stopAll(0);
    sweeper.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-process-driver-'));
  dirs.push(dir);
  return dir;
}

function capture() {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
  return { logger, lines, text: () => lines.join('') };
}

function newDriver(dataDir: string, logger = capture().logger): ProcessDriver {
  const driver = new ProcessDriver({ dataDir, logger });
  drivers.push(driver);
  return driver;
}

function request(set: string, incarnation: number, args: string[], process_: Partial<Template['process']> = {}): CreateRequest {
  return {
    identity: {
      set,
      ordinal: 0,
      name: `${set}-0`,
      dnsName: `${set}-0.${set}.ordinal.internal`,
      serviceDnsName: `${set}.ordinal.internal`,
      dnsServer: '127.0.0.1:7053',
    },
    incarnation,
    revision: `${set}-rev${incarnation}`,
    template: {
      process: { command: [process.execPath, FIXTURE, ...args], env: { GREETING: 'hello' }, ...process_ },
      ports: [],
      terminationGracePeriodSeconds: 30,
    },
  };
}

function readInfo(file: string): Promise<Info> {
  return waitFor(() => fs.existsSync(file) && (JSON.parse(fs.readFileSync(file, 'utf8')) as Info), {
    timeoutMs: 15_000,
    message: `${file} to be written`,
  });
}

/**
 * All live processes carrying the same instance marker as `handle`'s process. The pod's launch chain
 * (unshare, sh, setpriv, the program) execs in place, and /proc/<pid>/environ was seen without the
 * marker once under load, in the middle of that chain: the marker is waited for, not read once.
 */
async function processesOf(handle: InstanceHandle) {
  const marker = await waitFor(() => readEnviron(handle.pid)?.get(MARKER), { timeoutMs: 5_000, message: `pid ${handle.pid} to show its ${MARKER}` });
  return findMarked(MARKER, marker);
}

function startTimeOf(pid: number): string {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

describe('ProcessDriver.create', () => {
  it('runs the argv without a shell, in the working directory, with the instance environment', async () => {
    const dir = tempDir();
    const info = path.join(dir, 'info.json');
    const driver = newDriver(dir);
    process.env.ORDINAL_WORKER_SETTING = 'not for instances';
    try {
      const handle = await driver.create(
        request('argv', 1, ['--info', info, 'a;b', '$(echo pwned)', '`id`', "it's", '*'], { workingDir: dir }),
      );
      const seen = await readInfo(info);
      // The fixture is the process itself: no shell in between.
      expect(seen.pid).toBe(handle.pid);
      expect(seen.argv).toEqual(['--info', info, 'a;b', '$(echo pwned)', '`id`', "it's", '*']);
      expect(seen.cwd).toBe(fs.realpathSync(dir));
      expect(seen.env).toMatchObject({
        GREETING: 'hello',
        ORDINAL_SET: 'argv',
        ORDINAL_NAME: 'argv-0',
        ORDINAL_INDEX: '0',
        ORDINAL_ADDRESS: handle.address,
        ORDINAL_DNS_NAME: 'argv-0.argv.ordinal.internal',
        ORDINAL_SERVICE_DNS_NAME: 'argv.ordinal.internal',
        ORDINAL_DNS_SERVER: '127.0.0.1:7053',
        ORDINAL_INCARNATION: '1',
      });
      expect(seen.env[MARKER]).toMatch(/^[0-9a-f]{12}\/argv\/0\/1\/argv-rev1$/);
      expect(seen.env.ORDINAL_WORKER_SETTING).toBeUndefined();
      expect(seen.env.PATH).toBe(process.env.PATH);
      expect(handle).toMatchObject({ set: 'argv', ordinal: 0, incarnation: 1, revision: 'argv-rev1' });
      expect(handle.address).toMatch(/^127\.77\.\d+\.\d+$/);
      expect(Math.abs(handle.startedAt - Date.now())).toBeLessThan(10_000);
    } finally {
      delete process.env.ORDINAL_WORKER_SETTING;
    }
  });

  it('binds the instance address, and gives every incarnation a new one after stopping the old', async () => {
    const dir = tempDir();
    const driver = newDriver(dir);
    const info1 = path.join(dir, 'one.json');
    const first = await driver.create(request('addr', 1, ['--port', '0', '--info', info1]));
    const seen1 = await readInfo(info1);
    const env = (await (await fetch(`http://${first.address}:${seen1.port}/env`)).json()) as Record<string, string>;
    expect(env.ORDINAL_ADDRESS).toBe(first.address);

    const info2 = path.join(dir, 'two.json');
    const second = await driver.create(request('addr', 2, ['--port', '0', '--info', info2]));
    // The first was confirmed dead before the second started.
    expect(driver.isAlive(first)).toBe(false);
    expect(isRunning(first.pid, null)).toBe(false);
    expect(second.address).not.toBe(first.address);
    expect(second.pid).not.toBe(first.pid);
    const seen2 = await readInfo(info2);
    expect((await fetch(`http://${second.address}:${seen2.port}/healthz`)).status).toBe(200);
    expect(fs.readFileSync(first.logPath, 'utf8')).toContain('got SIGTERM, exiting');

    const third = await driver.create(request('addr', 3, []));
    expect(new Set([first.address, second.address, third.address]).size).toBe(3);
  });

  it('is idempotent: the same incarnation twice (even concurrently) is one process', async () => {
    const dir = tempDir();
    const driver = newDriver(dir);
    const [a, b] = await Promise.all([driver.create(request('idem', 1, [])), driver.create(request('idem', 1, []))]);
    const c = await driver.create(request('idem', 1, []));
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    expect((await processesOf(a)).map((p) => p.pid)).toEqual([a.pid]);
  });

  it('returns an incarnation that already ran and exited instead of starting it again', async () => {
    const dir = tempDir();
    const driver = newDriver(dir);
    const handle = await driver.create(request('once', 1, ['--exit-after', '0']));
    await waitFor(() => !driver.isAlive(handle), { message: 'the instance to exit' });
    const again = await driver.create(request('once', 1, ['--exit-after', '0']));
    expect(again.pid).toBe(handle.pid);
    expect(driver.isAlive(again)).toBe(false);
  });

  it('refuses to replace a running incarnation with an older one', async () => {
    const dir = tempDir();
    const driver = newDriver(dir);
    const newer = await driver.create(request('older', 5, []));
    const error = await driver.create(request('older', 4, [])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DriverError);
    expect((error as DriverError).retryable).toBe(false);
    expect(driver.isAlive(newer)).toBe(true);
  });

  it('fails for good, with a clear message, when the program does not exist or cannot run', async () => {
    const dir = tempDir();
    const driver = newDriver(dir);
    const missing = await driver.create({ ...request('nope', 1, []), template: { ...request('nope', 1, []).template, process: { command: ['nope-not-a-command'], env: {} } } }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(DriverError);
    expect((missing as DriverError).retryable).toBe(false);
    expect((missing as DriverError).message).toContain("command 'nope-not-a-command' not found");

    const script = path.join(dir, 'not-executable.sh');
    fs.writeFileSync(script, '#!/bin/sh\necho hi\n', { mode: 0o644 });
    const denied = await driver.create({ ...request('nope', 1, []), template: { ...request('nope', 1, []).template, process: { command: [script], env: {} } } }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(DriverError);
    expect((denied as DriverError).retryable).toBe(false);
    expect((denied as DriverError).message).toContain('not executable');

    const badDir = await driver.create(request('nope', 1, [], { workingDir: path.join(dir, 'no-such-dir') })).catch((e: unknown) => e);
    expect(badDir).toBeInstanceOf(DriverError);
    expect((badDir as DriverError).retryable).toBe(false);
    expect((badDir as DriverError).message).toContain('working directory');

    // Nothing was left behind, and a fixed template starts fine under the same incarnation.
    expect(await driver.describe('nope')).toEqual([]);
    expect(fs.readFileSync(path.join(dir, 'logs', 'nope-0.log'), 'utf8')).toContain('failed to start');
    const fixed = await driver.create(request('nope', 1, []));
    expect(driver.isAlive(fixed)).toBe(true);
  });

  it('rejects names that are not DNS labels before touching any file', async () => {
    const driver = newDriver(tempDir());
    for (const set of ['../escape', 'UPPER', 'a/b', '']) {
      const error = await driver.create(request(set, 1, [])).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DriverError);
      expect((error as DriverError).retryable).toBe(false);
    }
    await expect(driver.delete('..', 0, 0)).rejects.toThrow(DriverError);
    await expect(driver.describe('../x')).rejects.toThrow(DriverError);
  });

  it('appends stdout and stderr to the log file, with a header per incarnation', async () => {
    const dir = tempDir();
    const driver = newDriver(dir);
    const first = await driver.create(request('logs', 1, ['--say', 'hello from one']));
    expect(first.logPath).toBe(path.join(fs.realpathSync(dir), 'logs', 'logs-0.log'));
    await waitFor(() => fs.readFileSync(first.logPath, 'utf8').includes('hello from one (stderr)'));
    const second = await driver.create(request('logs', 2, ['--say', 'hello from two']));
    expect(second.logPath).toBe(first.logPath);
    const text = await waitFor(() => {
      const t = fs.readFileSync(first.logPath, 'utf8');
      return t.includes('hello from two (stdout)') && t.includes('hello from two (stderr)') && t;
    });
    const lines = text.split('\n');
    const header1 = lines.findIndex((l) => l.startsWith('--- ') && l.includes('logs-0 incarnation 1 revision logs-rev1'));
    const header2 = lines.findIndex((l) => l.startsWith('--- ') && l.includes('logs-0 incarnation 2 revision logs-rev2'));
    expect(header1).toBeGreaterThanOrEqual(0);
    expect(header2).toBeGreaterThan(header1);
    expect(lines.findIndex((l) => l.includes('hello from one (stdout)'))).toBeGreaterThan(header1);
    expect(lines.findIndex((l) => l.includes('hello from two (stdout)'))).toBeGreaterThan(header2);
  });
});

describe('ProcessDriver across worker restarts and lost state', () => {
  it('a restarted worker adopts the running instance, and its watch sees a kill -9', async () => {
    const dir = tempDir();
    const original = newDriver(dir);
    const handle = await original.create(request('adopt', 1, []));

    const restarted = newDriver(dir);
    expect(await restarted.create(request('adopt', 1, []))).toEqual(handle);
    expect(await restarted.describe('adopt')).toEqual([handle]);
    expect(await processesOf(handle)).toHaveLength(1);
    expect(restarted.isAlive(handle)).toBe(true);

    const abort = new AbortController();
    const watching = restarted.watch([handle], abort.signal);
    process.kill(handle.pid, 'SIGKILL');
    const started = Date.now();
    const exit = await watching;
    expect(exit.handle).toEqual(handle);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(restarted.isAlive(handle)).toBe(false);
    expect(await restarted.describe('adopt')).toEqual([]);
  });

  it('adopts the process of a create that crashed between spawning and recording it', async () => {
    const dir = tempDir();
    const first = newDriver(dir);
    const handle = await first.create(request('intent', 1, []));
    first.close();
    // What a crash right after the spawn leaves: the intent row, without a pid.
    const db = new Database(path.join(dir, 'instances.db'));
    db.prepare('UPDATE instances SET pid = NULL, start_time = NULL').run();
    db.close();

    const retry = newDriver(dir);
    const adopted = await retry.create(request('intent', 1, []));
    expect(adopted.pid).toBe(handle.pid);
    expect(adopted.address).toBe(handle.address);
    expect(await processesOf(handle)).toHaveLength(1);
  });

  it('rebuilds a deleted state file from the running processes', async () => {
    const dir = tempDir();
    const first = newDriver(dir);
    const handle = await first.create(request('lost', 1, []));
    first.close();
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(path.join(dir, `instances.db${suffix}`), { force: true });

    const log = capture();
    const second = newDriver(dir, log.logger);
    const [found] = await second.describe('lost');
    expect(found).toMatchObject({ ...handle, startedAt: expect.any(Number) });
    expect(Math.abs(found.startedAt - handle.startedAt)).toBeLessThan(2_000);
    expect(log.text()).toContain('adopting a running instance that the state did not record');
    // Adopted, not duplicated; and a new incarnation still gets a fresh address.
    expect((await second.create(request('lost', 1, []))).pid).toBe(handle.pid);
    const next = await second.create(request('lost', 2, []));
    expect(next.address).not.toBe(handle.address);
    expect(isRunning(handle.pid, null)).toBe(false);
  });

  it('notices a state file removed under a running driver', async () => {
    const dir = tempDir();
    const log = capture();
    const driver = newDriver(dir, log.logger);
    const handle = await driver.create(request('gone', 1, []));
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(path.join(dir, `instances.db${suffix}`), { force: true });
    expect(await driver.describe('gone')).toEqual([expect.objectContaining({ pid: handle.pid, address: handle.address })]);
    expect(log.text()).toContain('removed or replaced');
    expect(fs.existsSync(path.join(dir, 'instances.db'))).toBe(true);
  });

  it('moves a corrupt state file aside, says so, and rebuilds it', async () => {
    const dir = tempDir();
    const first = newDriver(dir);
    const handle = await first.create(request('corrupt', 1, []));
    first.close();
    for (const suffix of ['-wal', '-shm']) fs.rmSync(path.join(dir, `instances.db${suffix}`), { force: true });
    fs.writeFileSync(path.join(dir, 'instances.db'), 'this is not a database, it is a test '.repeat(200));

    const log = capture();
    const second = newDriver(dir, log.logger);
    expect(log.text()).toMatch(/"level":50.*instance state is corrupt/);
    expect(fs.readdirSync(dir).some((f) => /^instances\.db\.corrupt-\d+$/.test(f))).toBe(true);
    expect(await second.describe('corrupt')).toEqual([expect.objectContaining({ pid: handle.pid, incarnation: 1, revision: 'corrupt-rev1' })]);
  });
});

describe('ProcessDriver.watch and isAlive', () => {
  it('reports the exit code of a process it spawned at once', async () => {
    const driver = newDriver(tempDir());
    const handle = await driver.create(request('exit', 1, ['--exit-after', '300', '--exit-code', '3']));
    const exit = await driver.watch([handle], new AbortController().signal);
    expect(exit).toEqual({ handle, exitCode: 3 });
  });

  it('reports the signal that killed a process it spawned, picking the one that exited', async () => {
    const driver = newDriver(tempDir());
    const a = await driver.create(request('siga', 1, []));
    const b = await driver.create(request('sigb', 1, []));
    const watching = driver.watch([a, b], new AbortController().signal);
    process.kill(b.pid, 'SIGKILL');
    expect(await watching).toEqual({ handle: b, signal: 'SIGKILL' });
    expect(driver.isAlive(a)).toBe(true);
  });

  it('resolves at once for a handle that is already dead, and rejects with AbortError when aborted', async () => {
    const driver = newDriver(tempDir());
    const handle = await driver.create(request('abort', 1, []));
    const abort = new AbortController();
    const watching = driver.watch([handle], abort.signal);
    abort.abort();
    await expect(watching).rejects.toMatchObject({ name: 'AbortError' });
    await expect(driver.watch([handle], abort.signal)).rejects.toMatchObject({ name: 'AbortError' });

    await driver.delete('abort', 0, 1_000);
    expect(await driver.watch([handle], new AbortController().signal)).toMatchObject({ handle });
  });

  it('does not mistake another process with the same pid for the instance', async () => {
    const driver = newDriver(tempDir());
    const handle = await driver.create(request('reuse', 1, []));
    expect(driver.isAlive(handle)).toBe(true);
    // This test runner is alive, but it is not the instance (no marker, no matching record).
    expect(driver.isAlive({ ...handle, pid: process.pid })).toBe(false);
    expect(driver.isAlive({ ...handle, incarnation: 2 })).toBe(false);
    expect(isRunning(handle.pid, startTimeOf(handle.pid))).toBe(true);
    expect(isRunning(handle.pid, '1')).toBe(false);
  });
});

describe('ProcessDriver.delete', () => {
  it('escalates from SIGTERM to SIGKILL for a process that ignores SIGTERM', async () => {
    const dir = tempDir();
    const driver = newDriver(dir);
    const info = path.join(dir, 'info.json');
    const handle = await driver.create(request('stubborn', 1, ['--ignore-sigterm', '--info', info]));
    await readInfo(info); // its SIGTERM handler is installed
    const started = Date.now();
    await driver.delete('stubborn', 0, 500);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(480);
    expect(elapsed).toBeLessThan(500 + 3_000);
    expect(isRunning(handle.pid, null)).toBe(false);
    expect(driver.isAlive(handle)).toBe(false);
    await waitFor(() => fs.readFileSync(handle.logPath, 'utf8').includes('got SIGTERM, ignoring it'));
    expect(await driver.describe('stubborn')).toEqual([]);
  });

  it('stops a cooperative instance and its children well within the grace period', async () => {
    const dir = tempDir();
    const driver = newDriver(dir);
    const info = path.join(dir, 'info.json');
    const handle = await driver.create(request('family', 1, ['--fork', '--info', info]));
    await readInfo(info);
    const family = await waitFor(async () => {
      const ps = await processesOf(handle);
      return ps.length === 2 && ps;
    });
    const started = Date.now();
    await driver.delete('family', 0, 20_000);
    expect(Date.now() - started).toBeLessThan(5_000);
    for (const p of family) expect(isRunning(p.pid, p.startTime)).toBe(false);
  });

  it('is idempotent, and fine for an instance that never existed', async () => {
    const driver = newDriver(tempDir());
    await driver.delete('never', 7, 1_000);
    const handle = await driver.create(request('twice', 1, []));
    await driver.delete('twice', 0, 1_000);
    await driver.delete('twice', 0, 1_000);
    expect(driver.isAlive(handle)).toBe(false);
    expect(await driver.describe('twice')).toEqual([]);
  });

  it('stopAll stops every instance of the data dir', async () => {
    const driver = newDriver(tempDir());
    const handles = await Promise.all(['all-a', 'all-b', 'all-c'].map((set) => driver.create(request(set, 1, ['--ignore-sigterm']))));
    await driver.stopAll(200);
    for (const h of handles) expect(isRunning(h.pid, null)).toBe(false);
  });
});

describe('ProcessDriver fork server', () => {
  /** A process's parent, from /proc/<pid>/stat (field 4, after the command name in parentheses). */
  const parentOf = (pid: number) => Number(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);

  it('spawns the instances from one small process of its own, not from the worker', async () => {
    const driver = newDriver(tempDir());
    const a = await driver.create(request('fsa', 1, []));
    const b = await driver.create(request('fsb', 1, []));
    const server = parentOf(a.pid);
    expect(parentOf(b.pid)).toBe(server);
    expect(server).not.toBe(process.pid);
    expect(parentOf(server)).toBe(process.pid);
  });

  it('killed -9, takes no instance with it: they keep running, an exit is still noticed, and the next create starts another', async () => {
    const driver = newDriver(tempDir());
    const a = await driver.create(request('fska', 1, []));
    const server = parentOf(a.pid);
    process.kill(server, 'SIGKILL');
    await waitFor(() => !isRunning(server, null), { timeoutMs: 10_000, message: 'the fork server gone' });
    expect(driver.isAlive(a)).toBe(true);

    // Its exit code died with the fork server; that it ended is still seen, in /proc.
    const watching = driver.watch([a], new AbortController().signal);
    process.kill(a.pid, 'SIGKILL');
    const exit = await watching;
    expect(exit.handle).toEqual(a);
    expect(driver.isAlive(a)).toBe(false);

    const b = await driver.create(request('fskb', 1, ['--exit-after', '300', '--exit-code', '4']));
    expect([server, process.pid]).not.toContain(parentOf(b.pid));
    expect(await driver.watch([b], new AbortController().signal)).toEqual({ handle: b, exitCode: 4 });
  });
});

describe('MarkedProcessScanner', () => {
  const NAME = `ORDINAL_TEST_MARK_${process.pid}`;
  const started: ChildProcess[] = [];
  afterEach(() => {
    for (const child of started.splice(0)) child.kill('SIGKILL');
  });
  function start(script: string, env: Record<string, string>): number {
    const child = spawn('/bin/sh', ['-c', script], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: 'ignore' });
    started.push(child);
    return child.pid!;
  }
  const pids = (scanner: MarkedProcessScanner, prefix: string) => scanner.find(prefix).map((p) => p.pid).sort((a, b) => a - b);

  it('scans again from what it read: a new process is found at once, a dead one no more', async () => {
    const scanner = new MarkedProcessScanner(NAME);
    const a = start('exec sleep 100', { [NAME]: 'mem/1' });
    await waitFor(() => readEnviron(a)?.get(NAME) === 'mem/1');
    expect(pids(scanner, 'mem/')).toEqual([a]);
    const b = start('exec sleep 100', { [NAME]: 'mem/2' });
    await waitFor(() => readEnviron(b)?.get(NAME) === 'mem/2');
    expect(pids(scanner, 'mem/')).toEqual([a, b].sort((x, y) => x - y));
    expect(pids(scanner, 'mem/2')).toEqual([b]);
    process.kill(a, 'SIGKILL');
    await waitFor(() => !isRunning(a, null), { message: 'the first process gone' });
    expect(pids(scanner, 'mem/')).toEqual([b]);
  });

  /** A shell that execs into a marked `sleep` once `trigger` exists: a process that gets its marker at exec. */
  function execLater(trigger: string, marker: string, env: Record<string, string>): number {
    return start(`while [ ! -e '${trigger}' ]; do sleep 0.02; done; exec env ${NAME}=${marker} sleep 100`, env);
  }

  it("finds a child of the fork server once it has exec'd with its marker, though a scan saw it before", async () => {
    const scanner = new MarkedProcessScanner(NAME);
    const trigger = path.join(tempDir(), 'exec-now');
    const pid = execLater(trigger, 'fs/1', { [FORK_SERVER_VARIABLE]: '1' });
    await waitFor(() => readEnviron(pid)?.get(FORK_SERVER_VARIABLE) === '1');
    expect(pids(scanner, 'fs/')).toEqual([]);
    fs.writeFileSync(trigger, '');
    await waitFor(() => readEnviron(pid)?.get(NAME) === 'fs/1', { message: 'the exec' });
    expect(pids(scanner, 'fs/')).toEqual([pid]);
  });

  it('remembers any other process it found unmarked as not ours for a while (what the fork server variable is for)', async () => {
    const scanner = new MarkedProcessScanner(NAME);
    const trigger = path.join(tempDir(), 'exec-now');
    const pid = execLater(trigger, 'other/1', {});
    await waitFor(() => readEnviron(pid) !== undefined);
    expect(pids(scanner, 'other/')).toEqual([]);
    fs.writeFileSync(trigger, '');
    await waitFor(() => readEnviron(pid)?.get(NAME) === 'other/1', { message: 'the exec' });
    expect(pids(scanner, 'other/')).toEqual([]);
    expect(findMarked(NAME, 'other/').map((p) => p.pid)).toEqual([pid]);
  });
});
