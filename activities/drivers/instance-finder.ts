// Finds a running process-driver instance on this host from what the API says of it (set, ordinal,
// incarnation, address), without the worker's data directory: for `ordinal exec`. A pod is found by the
// marker line of its /etc/hosts (which also names its pod directory), a plain process by its marker
// variable; the address tells apart two installations that run sets of the same name.
import fs from 'node:fs';
import type { InstanceEntry } from './driver.js';
import { enterPod, inOtherMountNamespace, readPodEntry, readPodMarker, userSwitch } from './pod.js';
import { MARKER, readEnviron, readStat } from './proc.js';


export interface InstanceProcess {
  pid: number;
  entry: InstanceEntry;
}

export interface InstanceRef {
  set: string;
  ordinal: number;
  incarnation: number;
  address: string;
}

/** The instance's leading process and how to run a command inside it, or undefined when it does not run here. */
export function findInstanceProcess(ref: InstanceRef): InstanceProcess | undefined {
  const wanted = `/${ref.set}/${ref.ordinal}/${ref.incarnation}/`;
  let best: { pid: number; leader: boolean; pod?: string } | undefined;
  for (const name of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const env = readEnviron(pid);
    if (env === undefined) continue;
    let marker = env.get(MARKER);
    let address = env.get('ORDINAL_ADDRESS');
    let pod: string | undefined;
    if (inOtherMountNamespace(pid)) {
      const found = readPodMarker(pid);
      if (found !== undefined) ({ marker, address, dir: pod } = found);
    }
    if (marker === undefined || !marker.includes(wanted) || address !== ref.address) continue;
    const stat = readStat(pid);
    if (!stat || stat.state === 'Z' || stat.state === 'X') continue;
    const leader = stat.pgid === pid;
    if (!best || (leader && !best.leader) || (leader === best.leader && pid < best.pid)) best = { pid, leader, pod };
  }
  if (!best) return undefined;
  const entry = instanceEntry(best.pid, best.pod);
  return entry && { pid: best.pid, entry };
}

/**
 * How to run a command inside the instance process `pid`: through its pod (`podDir`: its pod.json), or,
 * for a plain process (isolation: none), with its environment, directory and user as /proc shows them.
 */
export function instanceEntry(pid: number, podDir: string | undefined): InstanceEntry | undefined {
  if (podDir !== undefined) {
    const pod = readPodEntry(podDir);
    return pod && { prefix: enterPod(pid, pod), env: pod.env, cwd: pod.cwd };
  }
  try {
    const env = Object.fromEntries(readEnviron(pid) ?? []);
    delete env[MARKER];
    const cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    const gid = Number(/^Gid:\s+(\d+)/m.exec(status)?.[1]);
    const groups = (/^Groups:\s*(.*)$/m.exec(status)?.[1] ?? '').trim().split(/\s+/).filter(Boolean).map(Number);
    const ownUid = process.getuid?.() ?? 0;
    const prefix = uid !== ownUid && ownUid === 0 ? userSwitch({ uid, gid, groups }, { mode: 'root' }) : [];
    return { prefix, env, cwd };
  } catch {
    return undefined;
  }
}
