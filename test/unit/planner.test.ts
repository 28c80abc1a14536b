import { describe, expect, it } from 'vitest';
import type { InstanceHandle } from '../../activities/drivers/driver.js';
import { parseManifest, type Manifest } from '../../core/manifest.js';
import { plan, recordsFor, type Action } from '../../core/planner.js';
import { recordsFingerprint } from '../../core/dns-records.js';
import type { InstanceState } from '../../core/instance.js';
import { initialState, type SetState } from '../../core/set-state.js';
import { applyManifest } from '../../core/transitions.js';

const NOW = 1_000_000;

function manifest(replicas: number, extra: Record<string, unknown> = {}): Manifest {
  const parsed = parseManifest({
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web' },
    spec: {
      replicas,
      template: {
        process: { command: ['node', 'server.mjs'] },
        ports: [{ name: 'http', port: 8080 }],
        readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
        ...extra,
      },
    },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

type Shorthand = 'ready' | 'running' | 'pending' | 'failed' | 'terminating' | 'backoff' | 'deleteRequested' | 'old';

/** Builds a set at `replicas` with instances described by shorthand: {0: 'ready', 1: 'running'}. */
function setWith(replicas: number, instances: Record<number, Shorthand>, options: { publishCurrent?: boolean } = {}): SetState {
  const state = initialState('web');
  applyManifest(state, manifest(replicas), NOW - 10_000);
  for (const [key, shape] of Object.entries(instances)) {
    const ordinal = Number(key);
    const base: InstanceState<InstanceHandle> = {
      ordinal,
      incarnation: 1,
      revision: state.updateRevision!,
      phase: 'Running',
      ready: true,
      readySince: NOW - 5_000,
      handle: {
        set: 'web',
        ordinal,
        incarnation: 1,
        revision: state.updateRevision!,
        address: `127.77.0.${ordinal + 1}`,
        pid: 1000 + ordinal,
        startedAt: NOW - 6_000,
        logPath: `/tmp/web-${ordinal}.log`,
      },
      restarts: 0,
      consecutiveFailures: 0,
    };
    const variants: Record<Shorthand, Partial<InstanceState>> = {
      ready: {},
      old: { revision: 'web-0000000000' },
      running: { ready: false, readySince: undefined },
      pending: { phase: 'Pending', ready: false, handle: undefined, readySince: undefined },
      failed: { phase: 'Failed', ready: false, readySince: undefined, consecutiveFailures: 1, lastError: 'exited' },
      terminating: { phase: 'Terminating', ready: false },
      backoff: { phase: 'Pending', ready: false, handle: undefined, consecutiveFailures: 3, backoffUntil: NOW + 2_000 },
      deleteRequested: { deleteRequested: true },
    };
    state.instances.push({ ...base, ...variants[shape] });
  }
  if (options.publishCurrent !== false) state.publishedDns = recordsFingerprint(recordsFor(state).records);
  return state;
}

/** Plans like the workflow does: a publish is applied (marked published) and planning goes on. */
function planPastPublish(state: SetState, now: number) {
  for (let i = 0; i < 3; i++) {
    const next = plan(state, now);
    const first = next.actions[0];
    if (first?.kind !== 'publish') return next;
    state.publishedDns = first.fingerprint;
  }
  throw new Error('planner keeps publishing');
}

function only(actions: Action[]): Action | undefined {
  expect(actions.length).toBeLessThanOrEqual(1);
  return actions[0];
}

describe('planner: OrderedReady structure', () => {
  const cases: Array<{ name: string; replicas: number; instances: Record<number, Shorthand>; expect: Partial<Action> | undefined; waitingFor?: string }> = [
    { name: 'empty set creates ordinal 0', replicas: 3, instances: {}, expect: { kind: 'create', ordinal: 0, incarnation: 1 } },
    { name: 'waits for 0 to be Ready before 1', replicas: 3, instances: { 0: 'running' }, expect: undefined, waitingFor: 'web-0 to become Ready' },
    { name: 'creates 1 once 0 is Ready', replicas: 3, instances: { 0: 'ready' }, expect: { kind: 'create', ordinal: 1 } },
    { name: 'creates 2 once 0 and 1 are Ready', replicas: 3, instances: { 0: 'ready', 1: 'ready' }, expect: { kind: 'create', ordinal: 2 } },
    { name: 'nothing to do when all Ready', replicas: 3, instances: { 0: 'ready', 1: 'ready', 2: 'ready' }, expect: undefined },
    { name: 'a pending instance is (re)created', replicas: 2, instances: { 0: 'ready', 1: 'pending' }, expect: { kind: 'create', ordinal: 1, incarnation: 2 } },
    { name: 'fills a hole at the lowest ordinal first', replicas: 3, instances: { 1: 'ready', 2: 'ready' }, expect: { kind: 'create', ordinal: 0 } },
    { name: 'replicas 0 with nothing: idle', replicas: 0, instances: {}, expect: undefined },
    { name: 'scale down removes the highest first', replicas: 1, instances: { 0: 'ready', 1: 'ready', 2: 'ready' }, expect: { kind: 'delete', ordinal: 2, reason: 'scale-down', remove: true } },
    { name: 'scale down to zero removes the highest first', replicas: 0, instances: { 0: 'ready', 1: 'ready' }, expect: { kind: 'delete', ordinal: 1, reason: 'scale-down' } },
    { name: 'scale down waits while an in-range instance is not Ready', replicas: 2, instances: { 0: 'running', 1: 'ready', 2: 'ready' }, expect: undefined, waitingFor: 'web-0 to become Ready' },
    { name: 'scale down recreates a missing in-range instance first', replicas: 2, instances: { 1: 'ready', 2: 'ready' }, expect: { kind: 'create', ordinal: 0 } },
    { name: 'scale down removes a not-Ready condemned instance', replicas: 1, instances: { 0: 'ready', 1: 'running' }, expect: { kind: 'delete', ordinal: 1, reason: 'scale-down' } },
    { name: 'scale down removes a pending out-of-range entry', replicas: 1, instances: { 0: 'ready', 1: 'pending' }, expect: { kind: 'delete', ordinal: 1, remove: true } },
    { name: 'a failed instance is cleaned up at once', replicas: 3, instances: { 0: 'ready', 1: 'failed', 2: 'ready' }, expect: { kind: 'delete', ordinal: 1, reason: 'failed', remove: false } },
    { name: 'failed clean-up does not wait for lower instances', replicas: 3, instances: { 0: 'running', 1: 'ready', 2: 'failed' }, expect: { kind: 'delete', ordinal: 2, reason: 'failed' } },
    { name: 'lowest failed instance is cleaned up first', replicas: 3, instances: { 0: 'ready', 1: 'failed', 2: 'failed' }, expect: { kind: 'delete', ordinal: 1 } },
    { name: 'a terminating leftover is stopped again', replicas: 2, instances: { 0: 'ready', 1: 'terminating' }, expect: { kind: 'delete', ordinal: 1, reason: 'failed' } },
    { name: 'recreation goes lowest broken ordinal first', replicas: 3, instances: { 0: 'ready', 1: 'pending', 2: 'pending' }, expect: { kind: 'create', ordinal: 1 } },
    { name: 'recreation of 2 waits for 1 to be Ready', replicas: 3, instances: { 0: 'ready', 1: 'running', 2: 'pending' }, expect: undefined, waitingFor: 'web-1 to become Ready' },
    { name: 'a user delete is handled before anything else', replicas: 3, instances: { 0: 'running', 1: 'ready', 2: 'deleteRequested' }, expect: { kind: 'delete', ordinal: 2, reason: 'requested', remove: false } },
    { name: 'a user delete goes before a failure', replicas: 3, instances: { 0: 'failed', 1: 'ready', 2: 'deleteRequested' }, expect: { kind: 'delete', ordinal: 2, reason: 'requested' } },
    { name: 'rolling update replaces the highest outdated first', replicas: 3, instances: { 0: 'old', 1: 'old', 2: 'old' }, expect: { kind: 'delete', ordinal: 2, reason: 'update', remove: false } },
    { name: 'rolling update continues downwards', replicas: 3, instances: { 0: 'old', 1: 'old', 2: 'ready' }, expect: { kind: 'delete', ordinal: 1, reason: 'update' } },
    { name: 'rolling update waits for the replaced instance to be Ready', replicas: 3, instances: { 0: 'old', 1: 'old', 2: 'running' }, expect: undefined, waitingFor: 'web-2 to become Ready' },
    { name: 'scaling goes before updating', replicas: 2, instances: { 0: 'old', 1: 'old', 2: 'old' }, expect: { kind: 'delete', ordinal: 2, reason: 'scale-down' } },
    { name: 'scale up goes before updating', replicas: 3, instances: { 0: 'old', 1: 'old' }, expect: { kind: 'create', ordinal: 2 } },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const state = setWith(c.replicas, c.instances);
      const next = planPastPublish(state, NOW);
      const action = only(next.actions);
      if (c.expect === undefined) expect(action).toBeUndefined();
      else expect(action).toMatchObject(c.expect);
      if (c.waitingFor) expect(next.waitingFor).toBe(c.waitingFor);
    });
  }

  it('a new incarnation runs the update revision', () => {
    const state = setWith(1, { 0: 'pending' });
    expect(only(plan(state, NOW).actions)).toMatchObject({ kind: 'create', revision: state.updateRevision });
  });

  it('settled only when every instance is Ready, updated and in range', () => {
    expect(plan(setWith(2, { 0: 'ready', 1: 'ready' }), NOW).settled).toBe(true);
    expect(plan(setWith(2, { 0: 'ready', 1: 'running' }), NOW).settled).toBe(false);
    expect(plan(setWith(2, { 0: 'ready', 1: 'old' }), NOW).settled).toBe(false);
    expect(plan(setWith(1, { 0: 'ready', 1: 'ready' }), NOW).settled).toBe(false);
    expect(plan(setWith(0, {}), NOW).settled).toBe(true);
  });

  it('nothing happens before the first apply', () => {
    expect(plan(initialState('web'), NOW)).toEqual({ actions: [], settled: false, done: false });
  });
});

describe('planner: crash-loop back-off', () => {
  it('waits for the back-off and wakes when it ends', () => {
    const state = setWith(2, { 0: 'ready', 1: 'backoff' });
    const next = plan(state, NOW);
    expect(next.actions).toEqual([]);
    expect(next.wakeAt).toBe(NOW + 2_000);
    expect(next.waitingFor).toContain('web-1 to restart');
  });

  it('recreates once the back-off has passed', () => {
    const state = setWith(2, { 0: 'ready', 1: 'backoff' });
    expect(only(plan(state, NOW + 2_000).actions)).toMatchObject({ kind: 'create', ordinal: 1 });
  });

  it('a back-off blocks the ordinals above it (OrderedReady)', () => {
    const state = setWith(3, { 0: 'ready', 1: 'backoff' });
    expect(plan(state, NOW).actions).toEqual([]);
  });
});

describe('planner: DNS publication', () => {
  it('publishes a newly Ready instance before creating the next', () => {
    const state = setWith(3, { 0: 'ready' }, { publishCurrent: false });
    const next = plan(state, NOW);
    const action = only(next.actions);
    expect(action?.kind).toBe('publish');
    if (action?.kind !== 'publish') return;
    expect(action.records.map((r) => `${r.name} ${r.type} ${r.values.join(',')}`)).toEqual([
      '_http._tcp.web.ordinal.internal SRV 0 10 8080 web-0.web.ordinal.internal',
      'web-0.web.ordinal.internal A 127.77.0.1',
      'web.ordinal.internal A 127.77.0.1',
    ]);
  });

  it('removes the records of the instance about to be scaled away before stopping it', () => {
    const state = setWith(1, { 0: 'ready', 1: 'ready' });
    const next = plan(state, NOW);
    const action = only(next.actions);
    expect(action?.kind).toBe('publish');
    if (action?.kind !== 'publish') return;
    expect(action.records.map((r) => r.name)).not.toContain('web-1.web.ordinal.internal');
    expect(action.records.find((r) => r.name === 'web.ordinal.internal')?.values).toEqual(['127.77.0.1']);
    // Once published, the delete follows.
    state.publishedDns = action.fingerprint;
    expect(only(plan(state, NOW).actions)).toMatchObject({ kind: 'delete', ordinal: 1 });
  });

  it('removes a failed instance from DNS before cleaning it up', () => {
    const state = setWith(2, { 0: 'ready', 1: 'ready' });
    state.instances[1] = { ...state.instances[1], phase: 'Failed', ready: false };
    const action = only(plan(state, NOW).actions);
    expect(action?.kind).toBe('publish');
    if (action?.kind === 'publish') expect(action.records.map((r) => r.name)).not.toContain('web-1.web.ordinal.internal');
  });

  it('does not publish an empty record list when nothing was ever published', () => {
    const state = setWith(2, { 0: 'running' }, { publishCurrent: false });
    expect(plan(state, NOW).actions).toEqual([]);
  });

  it('a record moves to the new address of a recreated instance', () => {
    const state = setWith(1, { 0: 'ready' });
    state.instances[0] = { ...state.instances[0], handle: { ...state.instances[0].handle!, address: '127.77.0.99', incarnation: 2 }, incarnation: 2 };
    const action = only(plan(state, NOW).actions);
    expect(action?.kind).toBe('publish');
    if (action?.kind === 'publish') expect(action.records.find((r) => r.name === 'web-0.web.ordinal.internal')?.values).toEqual(['127.77.0.99']);
  });
});

describe('planner: set deletion', () => {
  it('deletes the highest ordinal first, its records first, whatever the health', () => {
    const state = setWith(3, { 0: 'running', 1: 'ready', 2: 'ready' });
    state.deleting = true;
    const first = only(plan(state, NOW).actions);
    expect(first?.kind).toBe('publish');
    if (first?.kind === 'publish') {
      expect(first.records.map((r) => r.name)).not.toContain('web-2.web.ordinal.internal');
      state.publishedDns = first.fingerprint;
    }
    expect(only(plan(state, NOW).actions)).toMatchObject({ kind: 'delete', ordinal: 2, reason: 'set-deleted', remove: true });
  });

  it('is done once no instance and no record is left', () => {
    const state = setWith(1, {});
    state.deleting = true;
    state.publishedDns = recordsFingerprint([]);
    expect(plan(state, NOW).done).toBe(true);
  });

  it('removes the last records before it is done', () => {
    const state = setWith(1, { 0: 'ready' });
    state.deleting = true;
    state.instances = [];
    const next = plan(state, NOW);
    expect(next.done).toBe(false);
    expect(only(next.actions)).toMatchObject({ kind: 'publish', records: [] });
  });
});
