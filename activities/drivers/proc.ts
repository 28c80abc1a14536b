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
 * Every live process whose environment has `name` set to a value starting with `prefix`. Children of an
 * instance inherit its environment, so one instance may show up as several processes. Zombies have an
 * empty environ, so they never show up.
 */
export function findMarked(name: string, prefix: string): MarkedProcess[] {
  const found: MarkedProcess[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const raw = readEnvironText(pid);
    if (raw === undefined) continue;
    // Only a match is parsed whole: most processes are not instances, or not of this identity.
    let marker = environValue(raw, name);
    let env: Map<string, string> | undefined;
    if (marker === undefined && inOtherMountNamespace(pid)) {
      // A pod whose program rewrote its environment (Redis and PostgreSQL set their process titles
      // over it): its /etc/hosts still names it.
      const pod = readPodMarker(pid);
      if (pod !== undefined) {
        marker = pod.marker;
        env = new Map([[name, pod.marker], ['ORDINAL_ADDRESS', pod.address]]);
      }
    }
    if (marker === undefined || !marker.startsWith(prefix)) continue;
    env ??= parseEnviron(raw);
    const stat = readStat(pid);
    if (!stat || stat.state === 'Z' || stat.state === 'X') continue;
    found.push({ ...stat, marker, env });
  }
  return found;
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
