// Liveness and exits: whether an incarnation still runs, and waiting for the first of several to end.
// Instances this worker spawned report their exit (and its code) as soon as the fork server reaps them;
// processes adopted from an earlier worker (or orphaned by a fork server that died) are polled in /proc.
import type { InstanceExit, InstanceHandle } from '../driver.js';
import { isRunning } from '../proc.js';
import type { Discovery } from './discovery.js';
import type { InstanceState, Row } from './state.js';

const WATCH_POLL_MS = 100;
/**
 * A safety net only: our own children report their exit at once. Every watched instance pays this poll
 * (a /proc read) while nothing happens, so it is slow: 2,000 idle sets cost the worker a core otherwise.
 */
const CHILD_WATCH_POLL_MS = 5_000;
/** How long watch waits for the fork server to report the exit code of a child seen dead. */
const EXIT_REPORT_WAIT_MS = 1_000;

/** What we keep about a process the fork server spawned for us: its exit, as soon as it is reaped. */
export interface Child {
  pid: number;
  exit?: { exitCode?: number; signal?: string; message?: string };
  onExit: Set<() => void>;
}

type IncarnationKey = Pick<InstanceHandle, 'set' | 'ordinal' | 'incarnation'>;

export class ExitWatcher {
  private readonly children = new Map<string, Child>();
  /** Start times of live incarnations, by identity, incarnation and pid: isAlive without SQLite. */
  private readonly startTimes = new Map<string, string>();

  constructor(
    private readonly state: InstanceState,
    private readonly discovery: Discovery,
  ) {}

  /** A child just spawned for this incarnation: its exit is reported to watch. */
  track(incarnation: IncarnationKey, child: Child): void {
    this.children.set(childKey(incarnation), child);
  }

  /** Drops what is kept about every incarnation of (set, ordinal), once it is deleted. */
  forget(set: string, ordinal: number): void {
    for (const key of this.children.keys()) if (key.startsWith(`${set}/${ordinal}/`)) this.children.delete(key);
    for (const key of this.startTimes.keys()) if (key.startsWith(`${set}/${ordinal}/`)) this.startTimes.delete(key);
  }

  isAlive(handle: InstanceHandle): boolean {
    const child = this.children.get(childKey(handle));
    if (child?.pid === handle.pid && child.exit) return false;
    // Hot path (every watch tick): a start time seen before identifies the process without the database.
    const key = `${childKey(handle)}#${handle.pid}`;
    const known = this.startTimes.get(key);
    if (known !== undefined) {
      if (isRunning(handle.pid, known)) return true;
      this.startTimes.delete(key);
      return false;
    }
    let row: Row | undefined;
    try {
      row = this.state.get(handle.set, handle.ordinal);
    } catch {
      row = undefined; // unreadable state: fall back to the marker below
    }
    if (row && row.incarnation === handle.incarnation && row.pid === handle.pid) {
      const alive = isRunning(row.pid, row.start_time);
      if (alive && row.start_time) this.startTimes.set(key, row.start_time);
      return alive;
    }
    // No record of this exact incarnation: trust the pid only if it carries our marker.
    return this.discovery.runsMarked(handle.pid, handle.set, handle.ordinal, handle.incarnation);
  }

  watch(handles: InstanceHandle[], signal: AbortSignal): Promise<InstanceExit> {
    return new Promise((resolve, reject) => {
      const cleanups: Array<() => void> = [];
      let done = false;
      const finish = (outcome: () => void) => {
        if (done) return;
        done = true;
        for (const cleanup of cleanups) cleanup();
        outcome();
      };
      const exited = (handle: InstanceHandle) =>
        finish(() => {
          const exit = this.children.get(childKey(handle));
          resolve({ handle, ...(exit?.pid === handle.pid ? exit.exit : undefined) });
        });
      let reaping = false;
      const check = (): boolean => {
        if (reaping) return true;
        const gone = handles.find((h) => !this.isAlive(h));
        if (!gone) return false;
        const child = this.children.get(childKey(gone));
        if (child?.pid === gone.pid && !child.exit) {
          reaping = true;
          // Dead but not reaped yet (a zombie): the fork server reports the exit code in a moment; wait for it.
          const listener = () => exited(gone);
          child.onExit.add(listener);
          const timer = setTimeout(listener, EXIT_REPORT_WAIT_MS);
          cleanups.push(() => {
            child.onExit.delete(listener);
            clearTimeout(timer);
          });
        } else {
          exited(gone);
        }
        return true;
      };
      const onAbort = () => finish(() => reject(abortError(signal)));
      if (signal.aborted) return onAbort();
      if (check()) return;
      // Our own children report their exit at once; adopted processes (spawned by an earlier worker)
      // are not our children, so they are polled.
      for (const handle of handles) {
        const child = this.children.get(childKey(handle));
        if (child?.pid !== handle.pid) continue;
        const listener = () => exited(handle);
        child.onExit.add(listener);
        cleanups.push(() => child.onExit.delete(listener));
      }
      // Children we spawned report their exit; only adopted processes need polling quickly.
      const adopted = handles.some((h) => this.children.get(childKey(h))?.pid !== h.pid);
      const timer = setInterval(check, adopted ? WATCH_POLL_MS : CHILD_WATCH_POLL_MS);
      cleanups.push(() => clearInterval(timer));
      signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener('abort', onAbort));
    });
  }
}

function childKey(h: IncarnationKey): string {
  return `${h.set}/${h.ordinal}/${h.incarnation}`;
}

function abortError(signal: AbortSignal): Error {
  const error = new Error('watch aborted', { cause: signal.reason });
  error.name = 'AbortError';
  return error;
}
