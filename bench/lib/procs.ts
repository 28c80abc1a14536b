// Process helpers: start the bench's own children (through tsx), read their memory and CPU from
// /proc, and make sure nothing the bench started outlives it, even a run that was killed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagedProcess, isAlive, sleep } from '../../infra/child-processes.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BENCH_DIR = path.join(REPO_ROOT, 'bench');

/**
 * Every process the bench starts carries this variable (instances inherit it from the worker), so a
 * later run can find and stop what a killed run left behind.
 */
export const OWNER_ENV = 'BENCH_OWNER_PID';
export const TMP_PREFIX = 'ordinal-bench-';

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  logFile?: string;
  /** Resolves once the output matches this. */
  ready: RegExp;
  timeoutMs?: number;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeArgs?: string[];
  cwd?: string;
}

/** Starts `node --import tsx script args` and waits for its ready line. */
export async function startNodeScript(name: string, script: string, args: string[], options: StartOptions): Promise<ManagedProcess> {
  const argv = [...(options.nodeArgs ?? []), '--import', 'tsx', script, ...args];
  return startProcess(name, process.execPath, argv, options);
}

/** Starts any program as a child (it gets SIGTERM should the bench die) and waits for its ready line. */
export async function startProcess(name: string, file: string, args: string[], options: StartOptions): Promise<ManagedProcess> {
  const proc = await ManagedProcess.start(file, args, {
    name,
    env: { ...process.env, ...options.env, [OWNER_ENV]: String(process.pid) },
    logFile: options.logFile,
    cwd: options.cwd ?? REPO_ROOT,
  });
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  for (;;) {
    if (options.ready.test(proc.output.text())) return proc;
    if (!proc.running) throw new Error(`${name} exited before it was ready: ${proc.describeExit()}`);
    if (Date.now() > deadline) {
      await proc.stop(2_000);
      throw new Error(`${name} was not ready within ${options.timeoutMs ?? 120_000} ms: ${proc.describeExit()}`);
    }
    await sleep(25);
  }
}

/** Current and peak resident memory of a process, in bytes (VmRSS, VmHWM). */
export function memoryOf(pid: number): { rss: number; peak: number } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), peak: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Resets a process's peak RSS to its current RSS (Linux >= 4.0; needs to own the process). */
export function resetPeak(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSecondsOf(pid: number): number {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 (utime, stime), in clock ticks (USER_HZ = 100 on Linux); `fields` starts at 3.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Samples a process's RSS until stopped; reports the highest seen (a fallback when VmHWM cannot be reset). */
export function sampleRss(pid: number, everyMs = 200): { stop(): number } {
  let highest = 0;
  const timer = setInterval(() => {
    const m = memoryOf(pid);
    if (m && m.rss > highest) highest = m.rss;
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      const m = memoryOf(pid);
      return Math.max(highest, m?.rss ?? 0);
    },
  };
}

/** Sends `signal` to a process group and to the process; already gone is fine. */
export function killGroup(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
    } catch {
      // gone
    }
  }
}

/**
 * What an earlier bench run left behind when it was killed before its clean-up: processes that carry
 * its owner mark while the owner is gone, and its temporary folders.
 */
export async function reapStale(): Promise<{ processes: number; folders: number }> {
  const processes = killMarked((owner) => owner !== process.pid && !isAlive(owner));
  let folders = 0;
  for (const name of fs.readdirSync(os.tmpdir())) {
    if (!name.startsWith(TMP_PREFIX)) continue;
    const dir = path.join(os.tmpdir(), name);
    let owner = Number.NaN;
    try {
      owner = Number(fs.readFileSync(path.join(dir, 'owner.pid'), 'utf8').trim());
    } catch {
      // no owner file: not ours to judge
    }
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && !isAlive(owner)) {
      fs.rmSync(dir, { recursive: true, force: true });
      folders++;
    }
  }
  return { processes, folders };
}

/** Kills (by process group) every process carrying the owner mark of this bench run; returns how many. */
export function reapOwn(): number {
  return killMarked((owner) => owner === process.pid);
}

function killMarked(select: (owner: number) => boolean): number {
  let killed = 0;
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry) || Number(entry) === process.pid) continue;
    let environ: string;
    try {
      environ = fs.readFileSync(`/proc/${entry}/environ`, 'latin1');
    } catch {
      continue;
    }
    const owner = new RegExp(`(?:^|\\0)${OWNER_ENV}=(\\d+)\\0`).exec(environ)?.[1];
    if (owner && select(Number(owner))) {
      killGroup(Number(entry));
      killed++;
    }
  }
  return killed;
}

/** Clean-up steps, run last-registered first, each at most once, whatever happens to the others. */
export class Cleanup {
  private steps: Array<{ name: string; run: () => Promise<void> | void }> = [];
  /** The clean-up has begun (an interrupted run): long waits in scenarios stop instead of measuring on. */
  stopping = false;

  add(name: string, run: () => Promise<void> | void): () => Promise<void> {
    const step = { name, run };
    this.steps.push(step);
    return async () => {
      const index = this.steps.indexOf(step);
      if (index < 0) return;
      this.steps.splice(index, 1);
      await step.run();
    };
  }

  /** `stepTimeoutMs`: a step still running after this long is left behind (logged) and the next one runs. */
  async runAll(log: (message: string) => void, stepTimeoutMs?: number): Promise<void> {
    this.stopping = true;
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      let timer: NodeJS.Timeout | undefined;
      try {
        const run = Promise.resolve().then(step.run);
        if (stepTimeoutMs === undefined) await run;
        else {
          const timedOut = new Promise<'timeout'>((resolve) => {
            timer = setTimeout(() => resolve('timeout'), stepTimeoutMs);
          });
          if ((await Promise.race([run, timedOut])) === 'timeout') {
            log(`clean-up of ${step.name} still running after ${stepTimeoutMs / 1000} s: left behind`);
            run.catch(() => undefined);
          }
        }
      } catch (err) {
        log(`clean-up of ${step.name} failed: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        clearTimeout(timer);
      }
    }
  }
}

/** CPU seconds the whole machine has been busy (all cores; everything but idle and iowait), from /proc/stat. */
export function machineBusySeconds(): number {
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = cpu;
    return (user + nice + system + irq + softirq + (steal ?? 0)) / 100;
  } catch {
    return Number.NaN;
  }
}
