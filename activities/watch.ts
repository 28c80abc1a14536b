// The watch activity: keeps an eye on a set's running instances (process exits, readiness and
// liveness probes) and returns as soon as something differs from what the workflow believes. A create
// that awaits readiness waits with the same code and the same probe counters.
import { Context } from '@temporalio/activity';
import type { Probe } from '../core/manifest.js';
import { initialProbeState, recordProbeResult, type ProbeState } from '../core/probe-state.js';
import type { InstanceDriver, InstanceExit, InstanceHandle } from './drivers/driver.js';
import { NO_ACTIVITY_METRICS, type ActivityMetrics, type ProbeKind } from './metrics.js';
import type { InstanceChange, WatchRequest, WatchedInstance } from './types.js';
import type { runProbe as RunProbe } from './probes.js';

/**
 * Re-check process liveness at least this often while no probe is due sooner. The driver's watch
 * reports an exit at once, so this is a safety net, and every idle set pays it: a few seconds.
 */
const TICK_MS = 3_000;
/**
 * Heartbeat calls come this many times per heartbeat timeout. The SDK sends one at most every 0.8 x
 * the timeout anyway, and each call costs the worker (every idle set makes them).
 */
const HEARTBEATS_PER_TIMEOUT = 4;
/** How long to wait for the exit code of a process seen dead. */
const EXIT_REPORT_WAIT_MS = 1_000;

/**
 * Probe counters outlive one watch call (the workflow restarts the watch on every change), so a
 * liveness failureThreshold is counted across calls, as the kubelet counts it. Keyed per incarnation.
 */
class ProbeMemory {
  private readonly states = new Map<string, ProbeState>();
  /** Incarnations already seen Ready once: start-to-Ready is measured at the first time only. */
  private readonly seenReady = new Set<string>();
  /** The last failed readiness attempt of each incarnation: why a starting instance is not Ready yet. */
  private readonly lastFailures = new Map<string, string>();

  get(handle: InstanceHandle, kind: ProbeKind, probe: Probe, passing: boolean): ProbeState {
    const key = ProbeMemory.key(handle, kind);
    let state = this.states.get(key);
    if (!state) {
      state = initialProbeState(probe, handle.startedAt, passing);
      this.states.set(key, state);
    }
    return state;
  }

  set(handle: InstanceHandle, kind: ProbeKind, state: ProbeState): void {
    this.states.set(ProbeMemory.key(handle, kind), state);
  }

  noteFailure(handle: InstanceHandle, message: string): void {
    this.lastFailures.set(ProbeMemory.key(handle, 'readiness'), message);
  }

  lastFailure(handle: InstanceHandle): string | undefined {
    return this.lastFailures.get(ProbeMemory.key(handle, 'readiness'));
  }

  /** True the first time it is called for an incarnation. */
  firstReady(handle: InstanceHandle): boolean {
    const key = ProbeMemory.key(handle, 'readiness');
    if (this.seenReady.has(key)) return false;
    this.seenReady.add(key);
    return true;
  }

  /** Forgets incarnations of `set` that are no longer watched. */
  retainOnly(set: string, handles: InstanceHandle[]): void {
    const keep = new Set(handles.flatMap((h) => [ProbeMemory.key(h, 'readiness'), ProbeMemory.key(h, 'liveness')]));
    for (const key of this.states.keys()) {
      if (key.startsWith(`${set}/`) && !keep.has(key)) this.states.delete(key);
    }
    for (const key of this.seenReady) {
      if (key.startsWith(`${set}/`) && !keep.has(key)) this.seenReady.delete(key);
    }
    for (const key of this.lastFailures.keys()) {
      if (key.startsWith(`${set}/`) && !keep.has(key)) this.lastFailures.delete(key);
    }
  }

  private static key(handle: InstanceHandle, kind: ProbeKind): string {
    return `${handle.set}/${handle.ordinal}/${handle.incarnation}/${kind}`;
  }
}

/** The watch activity, and the wait for readiness a create uses: one probe memory, the same code. */
export interface InstanceWatch {
  /** The watchInstances activity. */
  watchInstances(request: WatchRequest): Promise<InstanceChange[]>;
  /**
   * From inside another activity (a create): waits up to `maxWaitMs` for a just-started instance to
   * become Ready, heartbeating; false when it is not Ready by then, exited or failed liveness (the
   * watch reports that next). Its probe counters carry over to the watch. `notReadyReason`: the last
   * failed readiness attempt's output, when not Ready.
   */
  awaitReady(instance: WatchedInstance, maxWaitMs: number): Promise<{ ready: boolean; notReadyReason?: string }>;
}

export function createInstanceWatch(deps: { driver: InstanceDriver; runProbe: typeof RunProbe; metrics?: ActivityMetrics }): InstanceWatch {
  const memory = new ProbeMemory();
  const metrics = deps.metrics ?? NO_ACTIVITY_METRICS;

  /** Returns the changes from what `instances` say the workflow believes, as soon as there is one. */
  async function untilChange(instances: WatchedInstance[], maxWaitMs: number): Promise<InstanceChange[]> {
    const context = Context.current();
    const signal = context.cancellationSignal;
    const handles = instances.map((w) => w.handle);
    const deadline = Date.now() + maxWaitMs;
    const heartbeatEveryMs = (context.info.heartbeatTimeoutMs ?? 0) / HEARTBEATS_PER_TIMEOUT;
    let lastHeartbeat = -Infinity;

    // Wakes the loop the moment a process we spawned exits; others are caught by isAlive each tick.
    const stopWatching = new AbortController();
    const onAbort = () => stopWatching.abort();
    signal.addEventListener('abort', onAbort);
    let exit: InstanceExit | undefined;
    const exited = deps.driver.watch(handles, stopWatching.signal).then(
      (e) => {
        exit = e;
      },
      () => undefined,
    );

    try {
      for (;;) {
        if (signal.aborted) throw signal.reason ?? new Error('cancelled');
        if (Date.now() - lastHeartbeat >= heartbeatEveryMs) {
          context.heartbeat();
          lastHeartbeat = Date.now();
        }

        const gone = instances.filter((w) => !deps.driver.isAlive(w.handle));
        if (gone.length > 0) {
          // A child of ours can be seen dead (a zombie) just before it is reaped and its exit code
          // reported: give that report a moment, so the status can say how it ended.
          if (!exit) await Promise.race([exited, delay(EXIT_REPORT_WAIT_MS, stopWatching.signal)]);
          return gone.map((w) => exitChange(w, exit));
        }

        const changes = await probeDue(instances, memory, deps.runProbe, signal, deps.driver, metrics);
        if (changes.length > 0) {
          observeFirstReady(instances, changes, memory, metrics);
          return changes;
        }

        const now = Date.now();
        if (now >= deadline) return [];
        const nextProbe = Math.min(...instances.flatMap((w) => dueTimes(w, memory)), Infinity);
        const wait = Math.max(0, Math.min(nextProbe - now, TICK_MS, deadline - now));
        await Promise.race([delay(wait, stopWatching.signal), exited]);
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      stopWatching.abort();
    }
  }

  return {
    watchInstances(request) {
      memory.retainOnly(request.set, request.instances.map((w) => w.handle));
      return untilChange(request.instances, request.maxWaitMs);
    },
    async awaitReady(instance, maxWaitMs) {
      // The set's other instances are not in view here: their probe counters are kept (no retainOnly).
      const changes = await untilChange([{ ...instance, ready: false }], maxWaitMs);
      if (changes.length > 0 && changes.every((c) => c.kind === 'ready')) return { ready: true };
      const reason = memory.lastFailure(instance.handle);
      return { ready: false, ...(reason !== undefined ? { notReadyReason: reason } : {}) };
    },
  };
}

/** Start-to-Ready of each incarnation reported Ready for the first time. */
function observeFirstReady(instances: WatchedInstance[], changes: InstanceChange[], memory: ProbeMemory, metrics: ActivityMetrics): void {
  const now = Date.now();
  for (const change of changes) {
    if (change.kind !== 'ready') continue;
    const watched = instances.find((w) => w.handle.ordinal === change.ordinal && w.handle.incarnation === change.incarnation);
    if (watched && memory.firstReady(watched.handle)) metrics.startedToReady(Math.max(0, now - watched.handle.startedAt) / 1000);
  }
}

function exitChange(w: WatchedInstance, exit: InstanceExit | undefined): InstanceChange {
  const sameIncarnation = exit && exit.handle.ordinal === w.handle.ordinal && exit.handle.incarnation === w.handle.incarnation;
  let message = 'the process exited';
  if (sameIncarnation && exit.message !== undefined) message = exit.message;
  else if (sameIncarnation && exit.exitCode !== undefined) message = `the process exited with code ${exit.exitCode}`;
  else if (sameIncarnation && exit.signal !== undefined) message = `the process was killed by ${exit.signal}`;
  return { ordinal: w.handle.ordinal, incarnation: w.handle.incarnation, kind: 'exited', message };
}

function dueTimes(w: WatchedInstance, memory: ProbeMemory): number[] {
  const times: number[] = [];
  if (w.readinessProbe) times.push(memory.get(w.handle, 'readiness', w.readinessProbe, w.ready).nextAt);
  if (w.livenessProbe) times.push(memory.get(w.handle, 'liveness', w.livenessProbe, true).nextAt);
  return times;
}

/** Runs every probe that is due, concurrently, and reports readiness flips and liveness failures. */
async function probeDue(
  instances: WatchedInstance[],
  memory: ProbeMemory,
  runProbe: typeof RunProbe,
  signal: AbortSignal,
  driver: InstanceDriver,
  metrics: ActivityMetrics,
): Promise<InstanceChange[]> {
  const changes: InstanceChange[] = [];
  const attempts: Promise<void>[] = [];
  const now = Date.now();
  for (const w of instances) {
    const usesExec = w.readinessProbe?.exec !== undefined || w.livenessProbe?.exec !== undefined;
    const entry = usesExec ? driver.entry?.(w.handle) : undefined;
    const target = { address: w.handle.address, ports: w.ports, env: instanceEnv(w), entry };
    const change = (kind: InstanceChange['kind'], message: string) =>
      changes.push({ ordinal: w.handle.ordinal, incarnation: w.handle.incarnation, kind, message });

    if (w.readiness === 'healthCheck') {
      // The container health check decides, as the driver last saw it (its watch polls ECS).
      const health = driver.health?.(w.handle) ?? 'UNKNOWN';
      const healthy = health === 'HEALTHY';
      if (healthy !== w.ready) {
        change(healthy ? 'ready' : 'unready', `container health check: ${health}`);
      }
    } else if (!w.readinessProbe) {
      // Without a readiness probe a running instance is Ready.
      if (!w.ready) change('ready', 'the process is running (no readiness probe)');
    } else {
      const probe = w.readinessProbe;
      const state = memory.get(w.handle, 'readiness', probe, w.ready);
      if (state.nextAt <= now) {
        // Claim the attempt: a watch the workflow just cancelled may still be running beside this one.
        memory.set(w.handle, 'readiness', { ...state, nextAt: now + probe.periodSeconds * 1000 });
        attempts.push(
          runProbe(probe, target, signal).then((result) => {
            const before = memory.get(w.handle, 'readiness', probe, w.ready);
            // Failures before the first pass are the program starting, not a failing instance.
            if (!result.ok && (before.everPassed || before.passing)) metrics.probeFailed(w.handle.set, 'readiness');
            const next = recordProbeResult(probe, before, result.ok, Date.now());
            memory.set(w.handle, 'readiness', next);
            if (!result.ok) memory.noteFailure(w.handle, `readiness probe: ${result.message}`);
            if (next.passing !== w.ready) change(next.passing ? 'ready' : 'unready', `readiness probe: ${result.message}`);
          }),
        );
      } else if (state.passing !== w.ready) {
        change(state.passing ? 'ready' : 'unready', 'readiness probe');
      }
    }

    if (w.livenessProbe) {
      const probe = w.livenessProbe;
      const state = memory.get(w.handle, 'liveness', probe, true);
      if (state.nextAt <= now) {
        memory.set(w.handle, 'liveness', { ...state, nextAt: now + probe.periodSeconds * 1000 });
        attempts.push(
          runProbe(probe, target, signal).then((result) => {
            if (!result.ok) metrics.probeFailed(w.handle.set, 'liveness');
            const next = recordProbeResult(probe, memory.get(w.handle, 'liveness', probe, true), result.ok, Date.now());
            memory.set(w.handle, 'liveness', next);
            if (!next.passing) change('liveness-failed', `liveness probe failed ${probe.failureThreshold} times: ${result.message}`);
          }),
        );
      } else if (!state.passing) {
        change('liveness-failed', 'liveness probe failed');
      }
    }
  }
  await Promise.all(attempts);
  return changes;
}

/** What an exec probe sees: the instance's own identity variables. */
function instanceEnv(w: WatchedInstance): Record<string, string> {
  return {
    ORDINAL_SET: w.handle.set,
    ORDINAL_NAME: `${w.handle.set}-${w.handle.ordinal}`,
    ORDINAL_INDEX: String(w.handle.ordinal),
    ORDINAL_ADDRESS: w.handle.address,
    ORDINAL_DNS_NAME: w.dnsName,
    ORDINAL_SERVICE_DNS_NAME: w.serviceDnsName,
  };
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
