// Finding the driver's own processes in /proc, whatever the state says, and adopting them (turning what
// runs into state rows). Every instance process carries the marker variable
// <scope>/<set>/<ordinal>/<incarnation>/<revision>; the scope, a hash of the data dir, tells this data
// dir's processes from those of other data dirs on the same machine.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { isDns1123Label } from '../../../core/names.js';
import type { Logger } from '../../../infra/logger.js';
import type { InstanceHandle } from '../driver.js';
import { isRunning, MarkedProcessScanner, MARKER, readEnviron, type MarkedProcess } from '../proc.js';
import type { DataDirLayout } from './layout.js';
import type { Row } from './state.js';

/** One live incarnation found in /proc (its group leader when it has several processes). */
export type Found = Pick<InstanceHandle, 'set' | 'ordinal' | 'incarnation' | 'revision' | 'address' | 'pid'> & {
  /** Its /proc start time: with the pid, it names the process for good. */
  startTime: string;
};

export class Discovery {
  /** Distinguishes this data dir's processes from those of other data dirs on the same machine. */
  private readonly scope: string;
  /** One per driver: it remembers what it read of every process between scans. */
  private readonly scanner = new MarkedProcessScanner(MARKER);

  constructor(
    private readonly layout: DataDirLayout,
    private readonly log: Logger,
  ) {
    this.scope = createHash('sha256').update(layout.dataDir).digest('hex').slice(0, 12);
  }

  /** The marker value an incarnation's processes carry. */
  marker(set: string, ordinal: number, incarnation: number, revision: string): string {
    return `${this.markerPrefix(set, ordinal, incarnation)}${revision}`;
  }

  /** Whether `pid` runs and carries this incarnation's marker: how a process with no record is trusted. */
  runsMarked(pid: number, set: string, ordinal: number, incarnation: number): boolean {
    const marker = readEnviron(pid)?.get(MARKER);
    return marker?.startsWith(this.markerPrefix(set, ordinal, incarnation)) === true && isRunning(pid, null);
  }

  /** Every live process of (set, ordinal), whatever its incarnation, children included. */
  processesOf(set: string, ordinal: number): MarkedProcess[] {
    return this.scanner.find(`${this.scope}/${set}/${ordinal}/`);
  }

  /**
   * Live incarnations of this data dir whose marker starts with `<scope>/<prefix>`, one per incarnation:
   * its process group leader, or its oldest process when the leader is gone. Sorted by ordinal, newest
   * incarnation first.
   */
  scan(prefix: string): Found[] {
    const byKey = new Map<string, MarkedProcess>();
    for (const p of this.scanner.find(`${this.scope}/${prefix}`)) {
      const key = p.marker.split('/').slice(0, 4).join('/');
      const best = byKey.get(key);
      if (!best || (p.pid === p.pgid && best.pid !== best.pgid) || (p.pid < best.pid && best.pid !== best.pgid)) {
        byKey.set(key, p);
      }
    }
    const found: Found[] = [];
    for (const p of byKey.values()) {
      const [, set, ordinal, incarnation, ...revision] = p.marker.split('/');
      if (!set || !isDns1123Label(set) || !/^[0-9]+$/.test(ordinal ?? '') || !/^[0-9]+$/.test(incarnation ?? '')) continue;
      found.push({
        set,
        ordinal: Number(ordinal),
        incarnation: Number(incarnation),
        revision: revision.join('/'),
        address: p.env.get('ORDINAL_ADDRESS') ?? '',
        pid: p.pid,
        startTime: p.startTime,
      });
    }
    return found.sort((a, b) => a.ordinal - b.ordinal || b.incarnation - a.incarnation);
  }

  /** The row that records a process found in /proc as its identity's current incarnation. */
  adopted(found: Found, previous: Row | undefined): Row {
    return {
      set_name: found.set,
      ordinal: found.ordinal,
      incarnation: found.incarnation,
      revision: found.revision,
      address: found.address,
      pid: found.pid,
      start_time: found.startTime,
      started_at: previous?.started_at ?? startedAtOf(found.startTime),
      log_path: this.layout.logPath(found.set, found.ordinal),
      grace_ms: previous?.incarnation === found.incarnation ? previous.grace_ms : null,
    };
  }

  /** Rows for a fresh state: the newest running incarnation of every identity of this data dir. */
  recover(): Row[] {
    const rows: Row[] = [];
    const seen = new Set<string>();
    for (const f of this.scan('')) {
      if (seen.has(`${f.set}/${f.ordinal}`)) continue; // sorted newest incarnation first
      seen.add(`${f.set}/${f.ordinal}`);
      this.log.error({ ...f }, 'adopting a running instance that the state did not record');
      rows.push(this.adopted(f, undefined));
    }
    return rows;
  }

  /** A found process as a handle, without recording it. */
  handle(found: Found): InstanceHandle {
    const { set, ordinal, incarnation, revision, address, pid } = found;
    return { set, ordinal, incarnation, revision, address, pid, startedAt: startedAtOf(found.startTime), logPath: this.layout.logPath(set, ordinal) };
  }

  private markerPrefix(set: string, ordinal: number, incarnation: number): string {
    return `${this.scope}/${set}/${ordinal}/${incarnation}/`;
  }
}

/** Whether the row's process still runs (an intent row's never does). */
export function isRecordedRunning(row: Row): boolean {
  return row.pid !== null && isRunning(row.pid, row.start_time);
}

let bootTimeMs: number | undefined;
/** Epoch ms of a process start, from its /proc start time (ticks since boot; USER_HZ is 100 on Linux). */
function startedAtOf(startTime: string): number {
  if (bootTimeMs === undefined) {
    const btime = /^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'));
    bootTimeMs = btime ? Number(btime[1]) * 1000 : 0;
  }
  return bootTimeMs + Number(startTime) * 10;
}
