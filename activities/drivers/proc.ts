// Small helpers over Linux's /proc, which the process driver uses to tell whether an instance still
// runs and to find instance processes its state has lost. Linux only: other systems have no /proc.
import fs from 'node:fs';
import { inOtherMountNamespace, readPodMarker } from './pod.js';

/** The process driver's private marker variable: "<dataDir hash>/<set>/<ordinal>/<incarnation>/<revision>". */
export const MARKER = 'ORDINAL_INSTANCE_KEY';

export interface ProcStat {
  pid: number;
  /** One letter: R, S, D, Z (zombie), X (dead), T, ... */
  state: string;
  /** Process group id: an instance leads its own group, so its pgid is its pid. */
  pgid: number;
  /** Field 22: start time in clock ticks since boot. With the pid, it names one process for good. */
  startTime: string;
}

/** Parses /proc/<pid>/stat, or undefined when the process is gone. */
export function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may itself hold spaces and ')'; fields after the
  // last ')' are plain. After it come field 3 (state), 4 (ppid), 5 (pgrp), ... 22 (starttime).
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, state: rest[0], pgid: Number(rest[2]), startTime: rest[19] };
}

/** True when the process with this pid and start time runs; zombies count as dead. */
export function isRunning(pid: number, startTime: string | null | undefined): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const stat = readStat(pid);
  if (!stat || stat.state === 'Z' || stat.state === 'X') return false;
  return startTime == null || stat.startTime === startTime;
}

/** A process's environment, or undefined when it is gone or not ours to read (another user's). */
export function readEnviron(pid: number): Map<string, string> | undefined {
  const raw = readEnvironText(pid);
  return raw === undefined ? undefined : parseEnviron(raw);
}

function readEnvironText(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return undefined;
  }
}

/** The value of one variable in a raw environ, without parsing the rest (a scan reads every process's). */
function environValue(raw: string, name: string): string | undefined {
  const key = `${name}=`;
  let start: number;
  if (raw.startsWith(key)) start = key.length;
  else {
    const at = raw.indexOf(`\0${key}`);
    if (at === -1) return undefined;
    start = at + 1 + key.length;
  }
  const end = raw.indexOf('\0', start);
  return raw.slice(start, end === -1 ? undefined : end);
}

function parseEnviron(raw: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const entry of raw.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

export interface MarkedProcess extends ProcStat {
  /** The value of the marker variable. */
  marker: string;
  env: Map<string, string>;
}

/**
 * Set in the fork server's environment (fork-server.ts), so its children carry it from their fork until
 * their exec: until then they have no marker yet, and a scan must not remember them as not ours.
 */
export const FORK_SERVER_VARIABLE = 'ORDINAL_FORK_SERVER';

/** How long a scan trusts what it read of a process before it reads it again. */
const SCAN_MEMORY_MS = 10_000;

interface Seen {
  at: number;
  /** Undefined: not an instance process. */
  marker?: string;
  env?: Map<string, string>;
  startTime?: string;
}

/**
 * Finds the live processes whose environment has `name` set to a value starting with a prefix. Children
 * of an instance inherit its environment, so one instance may show up as several processes. Zombies
 * have an empty environ, so they never show up.
 *
 * Reading a process's environ costs about as much as its stat (17 µs: the open and close), and a scan
 * meets every process of the machine: 35 ms with 2,000 instances, once per create. So a scanner
 * remembers what it read of each pid for 10 s, and then reads again only new pids and the matches
 * (whose start time tells a reused pid). It never remembers a child of the fork server that has not
 * exec'd yet (it gets its marker at exec) nor a process it read mid-exec, and forgets everything when
 * pids wrap around.
 */
export class MarkedProcessScanner {
  private readonly seen = new Map<number, Seen>();
  private lastPid: number | undefined;

  constructor(
    private readonly name: string,
    private readonly memoryMs = SCAN_MEMORY_MS,
  ) {}

  find(prefix: string): MarkedProcess[] {
    const now = Date.now();
    this.forgetOnWrap();
    const live = new Set<number>();
    const found: MarkedProcess[] = [];
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^[0-9]+$/.test(entry)) continue;
      const pid = Number(entry);
      if (pid === process.pid) continue;
      live.add(pid);
      const known = this.seen.get(pid);
      if (known && now - known.at < this.memoryMs) {
        if (known.marker === undefined || !known.marker.startsWith(prefix)) continue;
        const stat = readStat(pid);
        if (!stat) continue; // gone since the directory was read
        if (stat.startTime === known.startTime) {
          if (stat.state !== 'Z' && stat.state !== 'X') found.push({ ...stat, marker: known.marker, env: known.env! });
          continue;
        }
        // Another process with the same pid: read it afresh.
      }
      const read = this.read(pid, prefix, now);
      if (read) found.push(read);
    }
    for (const pid of this.seen.keys()) if (!live.has(pid)) this.seen.delete(pid);
    return found;
  }

  private read(pid: number, prefix: string, now: number): MarkedProcess | undefined {
    this.seen.delete(pid);
    const raw = readEnvironText(pid);
    if (raw === undefined) return undefined;
    // Only a match is parsed whole: most processes are not instances, or not of this identity.
    let marker = environValue(raw, this.name);
    let env: Map<string, string> | undefined;
    if (marker === undefined && inOtherMountNamespace(pid)) {
      // A pod whose program rewrote its environment (Redis and PostgreSQL set their process titles
      // over it): its /etc/hosts still names it.
      const pod = readPodMarker(pid);
      if (pod !== undefined) {
        marker = pod.marker;
        env = new Map([[this.name, pod.marker], ['ORDINAL_ADDRESS', pod.address]]);
      }
    }
    if (marker === undefined) {
      // Remembered as not ours only when that cannot change: an empty environ is a zombie, a kernel
      // thread, or a process in the middle of an exec (the pod's launch chain execs in place).
      if (this.memoryMs > 0 && raw !== '' && environValue(raw, FORK_SERVER_VARIABLE) === undefined) this.seen.set(pid, { at: now });
      return undefined;
    }
    const stat = readStat(pid);
    if (!stat || stat.state === 'Z' || stat.state === 'X') return undefined;
    env ??= parseEnviron(raw);
    if (this.memoryMs > 0) this.seen.set(pid, { at: now, marker, env, startTime: stat.startTime });
    return marker.startsWith(prefix) ? { ...stat, marker, env } : undefined;
  }

  /** Pids are handed out in increasing order: the last one going down means they wrapped around. */
  private forgetOnWrap(): void {
    let last: number | undefined;
    try {
      last = Number(fs.readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8'));
    } catch {
      last = undefined;
    }
    if (last === undefined || !Number.isFinite(last) || (this.lastPid !== undefined && last < this.lastPid)) this.seen.clear();
    this.lastPid = last;
  }
}

/** One scan, remembering nothing: every live process whose `name` starts with `prefix`. */
export function findMarked(name: string, prefix: string): MarkedProcess[] {
  return new MarkedProcessScanner(name, 0).find(prefix);
}

/** Sends a signal to a process group and to the process itself; a process already gone is fine. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, signal);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ESRCH' && code !== 'EPERM') throw err;
    }
  }
}
