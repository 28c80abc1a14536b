// The "at most one" recorder. Two independent sources:
//  - a sampler that lists every live instance process of the data dir (ProcessDriver.running(), read
//    from /proc) every ~25 ms: it must never see two incarnations of one identity at once;
//  - the fixture's own --events timeline (start / sigterm / exit, with pid and time), plus the moments
//    the suite itself kill -9'd an instance: for each identity, a later incarnation must not be known
//    alive before an earlier one is known dead.
// A violation is only reported when it is proven: two incarnations alive in one scan, or a successor
// known alive (its start event, or seen by the sampler) before its predecessor's last sign of life
// (its exit event, the suite's kill, or a scan that saw it).
import type { ProcessDriver } from '../../../activities/drivers/process.js';
import { readEvents, type FixtureEvent } from '../../harness/sets.js';

export interface KillMark {
  ordinal: number;
  incarnation: number;
  pid: number;
  /** Just before the suite sent SIGKILL: the process was alive then. */
  t: number;
}

interface Seen {
  firstSeen: number;
  lastSeen: number;
  /** The first scan after lastSeen that no longer saw it: it was dead by then. */
  goneAt?: number;
  pid: number;
}

export interface IncarnationTimeline {
  ordinal: number;
  incarnation: number;
  /** Earliest moment it is known alive. */
  aliveFrom: number;
  /** Latest moment it is known alive. */
  aliveUntil: number;
  start?: number;
  exit?: number;
  sigterm?: number;
  killedBySuite?: number;
  seen?: Seen;
}

export class Timeline {
  private readonly seen = new Map<string, Seen>(); // "ordinal/incarnation"
  private readonly kills: KillMark[] = [];
  private readonly samplerViolations: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private lastScanAt = 0;
  scans = 0;
  /** The longest pause between two scans (a loaded machine, a blocked event loop): how sharp the sampler was. */
  maxGapMs = 0;

  constructor(
    private readonly driver: ProcessDriver,
    readonly set: string,
    readonly eventsFile: string,
    private readonly intervalMs = 25,
  ) {}

  start(): void {
    this.running = true;
    this.scan();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.scan(); // one last look
  }

  markKill(mark: KillMark): void {
    this.kills.push(mark);
  }

  /** The live instance processes of this set, as the last scan... or a fresh one. */
  live(): Array<{ ordinal: number; incarnation: number; pid: number; address: string }> {
    return this.driver.running().filter((p) => p.set === this.set);
  }

  private scan(): void {
    const now = Date.now();
    if (this.lastScanAt) this.maxGapMs = Math.max(this.maxGapMs, now - this.lastScanAt);
    this.lastScanAt = now;
    this.scans++;
    let live: ReturnType<Timeline['live']> = [];
    try {
      live = this.live();
    } catch {
      // /proc raced with an exiting process: the next scan will do
    }
    const byOrdinal = new Map<number, number[]>();
    const liveKeys = new Set<string>();
    for (const p of live) {
      const key = `${p.ordinal}/${p.incarnation}`;
      liveKeys.add(key);
      const s = this.seen.get(key);
      if (s) {
        s.lastSeen = now;
        s.goneAt = undefined;
      } else this.seen.set(key, { firstSeen: now, lastSeen: now, pid: p.pid });
      byOrdinal.set(p.ordinal, [...(byOrdinal.get(p.ordinal) ?? []), p.incarnation]);
    }
    for (const [key, s] of this.seen) if (!liveKeys.has(key) && s.goneAt === undefined) s.goneAt = now;
    for (const [ordinal, incarnations] of byOrdinal) {
      if (incarnations.length > 1) {
        this.samplerViolations.push(
          `at-most-one: the sampler saw ${this.set}-${ordinal} incarnations ${incarnations.sort((a, b) => a - b).join(' and ')} alive at once (t=${now})`,
        );
      }
    }
    if (this.running) this.timer = setTimeout(() => this.scan(), this.intervalMs);
  }

  /** Everything known about each incarnation: events, sampler sightings, the suite's kills. */
  incarnations(): IncarnationTimeline[] {
    const events = readEvents(this.eventsFile).filter((e) => e.name?.startsWith(`${this.set}-`));
    const map = new Map<string, IncarnationTimeline>();
    const get = (ordinal: number, incarnation: number): IncarnationTimeline => {
      const key = `${ordinal}/${incarnation}`;
      let t = map.get(key);
      if (!t) {
        t = { ordinal, incarnation, aliveFrom: Infinity, aliveUntil: -Infinity };
        map.set(key, t);
      }
      return t;
    };
    for (const e of events) {
      const ordinal = Number(e.name.slice(this.set.length + 1));
      const t = get(ordinal, e.incarnation);
      if (e.event === 'start') t.start = Math.min(t.start ?? Infinity, e.t);
      if (e.event === 'exit') t.exit = Math.max(t.exit ?? -Infinity, e.t);
      if (e.event === 'sigterm') t.sigterm = Math.min(t.sigterm ?? Infinity, e.t);
      t.aliveFrom = Math.min(t.aliveFrom, e.t);
      t.aliveUntil = Math.max(t.aliveUntil, e.t);
    }
    for (const [key, s] of this.seen) {
      const [ordinal, incarnation] = key.split('/').map(Number);
      const t = get(ordinal, incarnation);
      t.seen = s;
      t.aliveFrom = Math.min(t.aliveFrom, s.firstSeen);
      t.aliveUntil = Math.max(t.aliveUntil, s.lastSeen);
    }
    for (const k of this.kills) {
      const t = get(k.ordinal, k.incarnation);
      t.killedBySuite = k.t;
      t.aliveUntil = Math.max(t.aliveUntil, k.t);
    }
    return [...map.values()].sort((a, b) => a.ordinal - b.ordinal || a.incarnation - b.incarnation);
  }

  /** Every proven breach of "at most one incarnation per identity". */
  violations(): string[] {
    const violations = [...new Set(this.samplerViolations)];
    const all = this.incarnations();
    const events = readEvents(this.eventsFile).filter((e) => e.name?.startsWith(`${this.set}-`));
    // The same incarnation started twice (two start events with different pids).
    const starts = new Map<string, FixtureEvent[]>();
    for (const e of events.filter((e) => e.event === 'start')) {
      const key = `${e.name}#${e.incarnation}`;
      starts.set(key, [...(starts.get(key) ?? []), e]);
    }
    for (const [key, list] of starts) {
      if (list.length > 1) violations.push(`at-most-one: ${key} started ${list.length} times (pids ${list.map((e) => e.pid).join(', ')})`);
    }
    const byOrdinal = new Map<number, IncarnationTimeline[]>();
    for (const t of all) byOrdinal.set(t.ordinal, [...(byOrdinal.get(t.ordinal) ?? []), t]);
    for (const [ordinal, list] of byOrdinal) {
      for (let i = 0; i < list.length; i++) {
        for (let j = i + 1; j < list.length; j++) {
          const older = list[i];
          const newer = list[j];
          if (newer.aliveFrom < older.aliveUntil) {
            violations.push(
              `at-most-one: ${this.set}-${ordinal} incarnation ${newer.incarnation} was alive at ${newer.aliveFrom} ` +
                `(${describe(newer)}) before incarnation ${older.incarnation} was last alive at ${older.aliveUntil} (${describe(older)})`,
            );
          }
        }
      }
    }
    return violations;
  }

  /** Pairs (predecessor -> successor) and how the predecessor's end was known: for the report. */
  handovers(): { total: number; byExitEvent: number; bySuiteKill: number; bySamplerOnly: number; minGapMs?: number } {
    const all = this.incarnations();
    let total = 0;
    let byExitEvent = 0;
    let bySuiteKill = 0;
    let bySamplerOnly = 0;
    let minGapMs: number | undefined;
    for (let i = 0; i + 1 < all.length; i++) {
      const older = all[i];
      const newer = all[i + 1];
      if (older.ordinal !== newer.ordinal) continue;
      total++;
      if (older.exit !== undefined) byExitEvent++;
      else if (older.killedBySuite !== undefined) bySuiteKill++;
      else bySamplerOnly++;
      const gap = newer.aliveFrom - older.aliveUntil;
      minGapMs = minGapMs === undefined ? gap : Math.min(minGapMs, gap);
    }
    return { total, byExitEvent, bySuiteKill, bySamplerOnly, minGapMs };
  }

  /** A readable excerpt of one identity's timeline (for violation reports). */
  excerpt(ordinal?: number): string {
    const lines: string[] = [];
    for (const t of this.incarnations()) {
      if (ordinal !== undefined && t.ordinal !== ordinal) continue;
      lines.push(`  ${this.set}-${t.ordinal}#${t.incarnation}: ${describe(t)}`);
    }
    return lines.join('\n');
  }
}

function describe(t: IncarnationTimeline): string {
  const parts: string[] = [];
  if (t.start !== undefined) parts.push(`start ${t.start}`);
  if (t.seen) parts.push(`seen ${t.seen.firstSeen}..${t.seen.lastSeen}${t.seen.goneAt ? `, gone by ${t.seen.goneAt}` : ''} (pid ${t.seen.pid})`);
  if (t.sigterm !== undefined) parts.push(`sigterm ${t.sigterm}`);
  if (t.exit !== undefined) parts.push(`exit ${t.exit}`);
  if (t.killedBySuite !== undefined) parts.push(`kill -9 by the suite ${t.killedBySuite}`);
  return parts.join(', ') || 'no trace';
}
