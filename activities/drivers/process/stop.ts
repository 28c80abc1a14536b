// Stopping an identity: every process it has, whatever its incarnation, as Kubernetes stops a pod:
// SIGTERM to each process group, SIGKILL once the grace period is over, done only when all are
// confirmed gone.
import type { Logger } from '../../../infra/logger.js';
import { DriverError } from '../driver.js';
import { isRunning, signalGroup } from '../proc.js';
import type { Discovery } from './discovery.js';
import type { InstanceState } from './state.js';
import { waitUntil } from './wait-until.js';

/** How long a process may take to vanish after SIGKILL before we call it stuck (e.g. in disk sleep). */
const KILL_TIMEOUT_MS = 10_000;
const STOP_POLL_MS = 20;

export interface StopContext {
  state: InstanceState;
  discovery: Discovery;
  log: Logger;
}

/**
 * Stops every process of (set, ordinal), whatever its incarnation: the recorded leader and anything
 * carrying the identity's marker. SIGTERM to each process group, SIGKILL after the grace period;
 * returns once all are confirmed gone.
 */
export async function stopIdentity({ state, discovery, log }: StopContext, set: string, ordinal: number, graceMs: number): Promise<void> {
  const row = state.get(set, ordinal);
  // A few rounds, in case a process forked while it was being stopped.
  for (let round = 0; round < 3; round++) {
    const targets = new Map<number, string>(); // pid -> start time
    const groups = new Set<number>();
    if (row?.pid != null && isRunning(row.pid, row.start_time)) {
      targets.set(row.pid, row.start_time!);
      groups.add(row.pid); // it leads its own group (spawned detached)
    }
    for (const p of discovery.processesOf(set, ordinal)) {
      targets.set(p.pid, p.startTime);
      if (p.pgid > 1) groups.add(p.pgid);
    }
    if (targets.size === 0) return;
    const allGone = () => [...targets].every(([pid, start]) => !isRunning(pid, start));
    log.info({ set, ordinal, pids: [...targets.keys()], graceMs }, 'stopping instance');
    if (graceMs > 0) {
      for (const pgid of groups) signalGroup(pgid, 'SIGTERM');
      for (const pid of targets.keys()) signalGroup(pid, 'SIGTERM');
      if (await waitUntil(allGone, graceMs, STOP_POLL_MS)) continue;
      log.warn({ set, ordinal, graceMs }, 'instance outlived its grace period; killing it');
    }
    for (const pgid of groups) signalGroup(pgid, 'SIGKILL');
    for (const pid of targets.keys()) signalGroup(pid, 'SIGKILL');
    if (!(await waitUntil(allGone, KILL_TIMEOUT_MS, STOP_POLL_MS))) {
      throw new DriverError(`${set}-${ordinal}: processes ${[...targets.keys()].join(', ')} survived SIGKILL`, true);
    }
  }
  if (discovery.processesOf(set, ordinal).length > 0) {
    throw new DriverError(`${set}-${ordinal}: processes keep appearing while it is being stopped`, true);
  }
}
