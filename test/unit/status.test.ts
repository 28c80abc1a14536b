import { describe, expect, it } from 'vitest';
import { recordsFingerprint } from '../../core/dns-records.js';
import type { InstanceState } from '../../core/instance.js';
import { parseManifest } from '../../core/manifest.js';
import { recordsFor } from '../../core/planner.js';
import { initialState, recordFailure, type SetState } from '../../core/set-state.js';
import { crashLoopMessage, isCrashLooping, setStatus, setView, type Condition } from '../../core/status.js';
import { applyManifest } from '../../core/transitions.js';
import { CREATED, NOW, handle, manifest, setWith, type Shape } from './set-fixtures.js';

function condition(conditions: Condition[], type: Condition['type']): Condition | undefined {
  return conditions.find((c) => c.type === type);
}

describe('setStatus: phase, counts and conditions', () => {
  const cases: Array<{
    name: string;
    state: () => SetState;
    phase: string;
    counts: { replicas: number; readyReplicas: number; availableReplicas: number; currentReplicas: number; updatedReplicas: number };
    ready: Partial<Condition>;
    progressing: Partial<Condition>;
    failure?: Partial<Condition>;
  }> = [
    {
      name: 'new set, nothing created yet',
      state: () => setWith(3, {}),
      phase: 'Pending',
      counts: { replicas: 0, readyReplicas: 0, availableReplicas: 0, currentReplicas: 0, updatedReplicas: 0 },
      ready: { status: 'False', reason: 'ReplicasNotReady', message: '0 Ready, 3 wanted' },
      progressing: { status: 'True', reason: 'Reconciling', message: '0/3 instances Ready' },
    },
    {
      name: 'empty set with replicas 0 is Ready',
      state: () => setWith(0, {}),
      phase: 'Ready',
      counts: { replicas: 0, readyReplicas: 0, availableReplicas: 0, currentReplicas: 0, updatedReplicas: 0 },
      ready: { status: 'True', reason: 'AllReplicasReady', message: '0 of 0 instances Ready' },
      progressing: { status: 'True', reason: 'RolloutComplete' },
    },
    {
      name: 'empty set with replicas 0, generation not yet observed',
      state: () => setWith(0, {}, { observed: false }),
      phase: 'Progressing',
      counts: { replicas: 0, readyReplicas: 0, availableReplicas: 0, currentReplicas: 0, updatedReplicas: 0 },
      ready: { status: 'False', reason: 'ReplicasNotReady' },
      progressing: { status: 'True', reason: 'Reconciling' },
    },
    {
      name: 'first instance pending',
      state: () => setWith(3, { 0: 'pending' }),
      phase: 'Progressing',
      counts: { replicas: 1, readyReplicas: 0, availableReplicas: 0, currentReplicas: 0, updatedReplicas: 0 },
      ready: { status: 'False', reason: 'ReplicasNotReady', message: '0 Ready, 3 wanted' },
      progressing: { status: 'True', reason: 'Reconciling', message: '0/3 instances Ready' },
    },
    {
      name: 'progressing: one Ready, one starting',
      state: () => setWith(3, { 0: 'ready', 1: 'running' }),
      phase: 'Progressing',
      counts: { replicas: 2, readyReplicas: 1, availableReplicas: 1, currentReplicas: 2, updatedReplicas: 2 },
      ready: { status: 'False', reason: 'ReplicasNotReady', message: '1 Ready, 3 wanted' },
      progressing: { status: 'True', reason: 'Reconciling', message: 'waiting for web-1 to become Ready' },
    },
    {
      name: 'all Ready',
      state: () => setWith(3, { 0: 'ready', 1: 'ready', 2: 'ready' }),
      phase: 'Ready',
      counts: { replicas: 3, readyReplicas: 3, availableReplicas: 3, currentReplicas: 3, updatedReplicas: 3 },
      ready: { status: 'True', reason: 'AllReplicasReady', message: '3 of 3 instances Ready' },
      progressing: { status: 'True', reason: 'RolloutComplete' },
    },
    {
      name: 'all Ready but the new generation not yet observed',
      state: () => setWith(2, { 0: 'ready', 1: 'ready' }, { observed: false }),
      phase: 'Progressing',
      counts: { replicas: 2, readyReplicas: 2, availableReplicas: 2, currentReplicas: 2, updatedReplicas: 2 },
      ready: { status: 'False', reason: 'ReplicasNotReady', message: '2 Ready, 2 wanted' },
      progressing: { status: 'True', reason: 'Reconciling' },
    },
    {
      name: 'rolling update under way: one instance on an old revision',
      state: () => setWith(2, { 0: 'old', 1: 'ready' }),
      phase: 'Progressing',
      counts: { replicas: 2, readyReplicas: 2, availableReplicas: 2, currentReplicas: 1, updatedReplicas: 1 },
      ready: { status: 'False', reason: 'ReplicasNotReady', message: '2 Ready, 2 wanted' },
      progressing: { status: 'True', reason: 'Reconciling', message: '2/2 instances Ready' },
    },
    {
      name: 'scaling down',
      state: () => setWith(1, { 0: 'ready', 1: 'ready', 2: 'ready' }),
      phase: 'Progressing',
      counts: { replicas: 3, readyReplicas: 3, availableReplicas: 3, currentReplicas: 3, updatedReplicas: 3 },
      ready: { status: 'False', reason: 'ReplicasNotReady' },
      progressing: { status: 'True', reason: 'Reconciling', message: 'scaling down to 1: 3 instances' },
    },
    {
      name: 'a terminating instance is not counted',
      state: () => setWith(2, { 0: 'ready', 1: 'terminating' }),
      phase: 'Progressing',
      counts: { replicas: 2, readyReplicas: 1, availableReplicas: 1, currentReplicas: 1, updatedReplicas: 1 },
      ready: { status: 'False', reason: 'ReplicasNotReady', message: '1 Ready, 2 wanted' },
      progressing: { status: 'True', reason: 'Reconciling' },
    },
    {
      name: 'crash-looping instance',
      state: () => setWith(2, { 0: 'ready', 1: 'crashloop' }),
      phase: 'Degraded',
      counts: { replicas: 2, readyReplicas: 1, availableReplicas: 1, currentReplicas: 1, updatedReplicas: 1 },
      ready: { status: 'False', reason: 'CrashLoopBackOff', message: 'web-1 is crash looping (restarts 3): exited with code 1; 1 Ready, 2 wanted' },
      progressing: { status: 'True', reason: 'Reconciling', message: 'waiting for web-1 to restart after a crash-loop back-off' },
      failure: { status: 'True', reason: 'CrashLoopBackOff', message: 'web-1: exited with code 1' },
    },
    {
      name: 'failed instance, not yet cleaned up',
      state: () => setWith(2, { 0: 'ready', 1: 'failed' }),
      phase: 'Degraded',
      counts: { replicas: 2, readyReplicas: 1, availableReplicas: 1, currentReplicas: 1, updatedReplicas: 1 },
      // A first failure is no crash loop: it restarts at once.
      ready: { status: 'False', reason: 'ReplicasNotReady', message: '1 Ready, 2 wanted' },
      progressing: { status: 'True', reason: 'Reconciling' },
      failure: { status: 'True', reason: 'InstanceFailed', message: 'web-1: exited with code 1' },
    },
    {
      name: 'back-off over, waiting to be recreated',
      state: () => setWith(2, { 0: 'ready', 1: 'backoff-over' }),
      phase: 'Degraded',
      counts: { replicas: 2, readyReplicas: 1, availableReplicas: 1, currentReplicas: 1, updatedReplicas: 1 },
      ready: { status: 'False', reason: 'CrashLoopBackOff', message: 'web-1 is crash looping (restarts 3): exited with code 1; 1 Ready, 2 wanted' },
      progressing: { status: 'True', reason: 'Reconciling' },
      failure: { status: 'True', reason: 'InstanceFailed', message: 'web-1: exited with code 1' },
    },
    {
      name: 'a running instance that lost readiness reports why',
      state: () => setWith(2, { 0: 'ready', 1: 'unready-error' }),
      phase: 'Degraded',
      counts: { replicas: 2, readyReplicas: 1, availableReplicas: 1, currentReplicas: 2, updatedReplicas: 2 },
      ready: { status: 'False', reason: 'ReplicasNotReady' },
      progressing: { status: 'True', reason: 'Reconciling' },
      failure: { status: 'True', reason: 'InstanceFailed', message: 'web-1: readiness probe failed: HTTP 503' },
    },
    {
      name: 'the lowest failing instance is named',
      state: () => setWith(3, { 0: 'ready', 1: 'failed', 2: 'crashloop' }),
      phase: 'Degraded',
      counts: { replicas: 3, readyReplicas: 1, availableReplicas: 1, currentReplicas: 1, updatedReplicas: 1 },
      // Ready names the crash loop: web-1 failed once and restarts at once.
      ready: { status: 'False', reason: 'CrashLoopBackOff', message: 'web-2 is crash looping (restarts 3): exited with code 1; 1 Ready, 3 wanted' },
      progressing: { status: 'True', reason: 'Reconciling' },
      failure: { status: 'True', reason: 'InstanceFailed', message: 'web-1: exited with code 1' },
    },
    {
      name: 'deleting',
      state: () => {
        const s = setWith(2, { 0: 'ready', 1: 'ready' });
        s.deleting = true;
        return s;
      },
      phase: 'Deleting',
      counts: { replicas: 2, readyReplicas: 2, availableReplicas: 2, currentReplicas: 2, updatedReplicas: 2 },
      ready: { status: 'False', reason: 'Deleting', message: '2 Ready, 2 wanted' },
      progressing: { status: 'True', reason: 'Deleting', message: 'deleting: 2 instances left' },
    },
    {
      name: 'deleting, nothing left',
      state: () => {
        const s = setWith(2, {});
        s.deleting = true;
        return s;
      },
      phase: 'Deleting',
      counts: { replicas: 0, readyReplicas: 0, availableReplicas: 0, currentReplicas: 0, updatedReplicas: 0 },
      ready: { status: 'False', reason: 'Deleting' },
      progressing: { status: 'True', reason: 'Deleting', message: 'deleting: 0 instances left' },
    },
    {
      name: 'deleting wins over a failure',
      state: () => {
        const s = setWith(2, { 0: 'ready', 1: 'crashloop' });
        s.deleting = true;
        return s;
      },
      phase: 'Deleting',
      counts: { replicas: 2, readyReplicas: 1, availableReplicas: 1, currentReplicas: 1, updatedReplicas: 1 },
      ready: { status: 'False', reason: 'Deleting' },
      progressing: { status: 'True', reason: 'Deleting' },
      failure: { status: 'True', reason: 'CrashLoopBackOff' },
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const state = c.state();
      const status = setStatus(state, NOW);
      expect(status.phase).toBe(c.phase);
      expect(status).toMatchObject(c.counts);
      expect(status.observedGeneration).toBe(state.observedGeneration);
      expect(condition(status.conditions, 'Ready')).toMatchObject({ type: 'Ready', ...c.ready });
      expect(condition(status.conditions, 'Progressing')).toMatchObject({ type: 'Progressing', ...c.progressing });
      if (c.failure) {
        expect(condition(status.conditions, 'ReplicaFailure')).toMatchObject({ type: 'ReplicaFailure', ...c.failure });
        expect(status.conditions.map((x) => x.type)).toEqual(['Ready', 'Progressing', 'Available', 'DNSReady', 'ReplicaFailure']);
      } else {
        expect(condition(status.conditions, 'ReplicaFailure')).toBeUndefined();
        expect(status.conditions.map((x) => x.type)).toEqual(['Ready', 'Progressing', 'Available', 'DNSReady']);
      }
    });
  }

  it('revisions are reported, null before the first apply sets them', () => {
    const state = setWith(1, { 0: 'ready' });
    const status = setStatus(state, NOW);
    expect(status.currentRevision).toBe(state.currentRevision);
    expect(status.updateRevision).toBe(state.updateRevision);
    expect(status.currentRevision).toMatch(/^web-[0-9a-f]{10}$/);
    state.currentRevision = undefined;
    state.updateRevision = undefined;
    expect(setStatus(state, NOW)).toMatchObject({ currentRevision: null, updateRevision: null });
  });
});

describe('setStatus: a crash loop is the Ready condition\'s reason', () => {
  const looping = { phase: 'Pending', ready: false, readySince: undefined, handle: undefined, restarts: 4, consecutiveFailures: 2, lastError: 'the process exited with code 3' } as const;
  const cases: Array<{ name: string; replicas?: number; instances: Array<Partial<InstanceState>>; ready: Partial<Condition>; edit?: (s: SetState) => void }> = [
    {
      name: 'in its back-off',
      instances: [{}, { ...looping, backoffUntil: NOW + 1_000 }],
      ready: { status: 'False', reason: 'CrashLoopBackOff', message: 'web-1 is crash looping (restarts 4): the process exited with code 3; 1 Ready, 2 wanted' },
    },
    {
      name: 'failed again, not yet cleaned up',
      instances: [{}, { ...looping, phase: 'Failed' }],
      ready: { status: 'False', reason: 'CrashLoopBackOff', message: 'web-1 is crash looping (restarts 4): the process exited with code 3; 1 Ready, 2 wanted' },
    },
    {
      name: 'restarted, running but not Ready yet',
      instances: [{}, { ...looping, phase: 'Running', handle: handle(1, 5) }],
      ready: { status: 'False', reason: 'CrashLoopBackOff' },
    },
    {
      name: 'without a last error',
      instances: [{}, { ...looping, lastError: undefined, backoffUntil: NOW + 1_000 }],
      ready: { status: 'False', reason: 'CrashLoopBackOff', message: 'web-1 is crash looping (restarts 4); 1 Ready, 2 wanted' },
    },
    {
      name: 'the lowest crash-looping instance is named',
      replicas: 3,
      instances: [{}, { ...looping, restarts: 7, lastError: 'exited with code 7' }, { ...looping, backoffUntil: NOW + 1_000 }],
      ready: { status: 'False', reason: 'CrashLoopBackOff', message: 'web-1 is crash looping (restarts 7): exited with code 7; 1 Ready, 3 wanted' },
    },
    {
      name: 'not after a first failure: it restarts at once',
      instances: [{}, { ...looping, consecutiveFailures: 1 }],
      ready: { status: 'False', reason: 'ReplicasNotReady', message: '1 Ready, 2 wanted' },
    },
    {
      name: 'not while the incarnation runs Ready (the status takes no time into account)',
      instances: [{}, { ...looping, phase: 'Running', ready: true, readySince: NOW - 500, handle: handle(1, 5) }],
      ready: { status: 'True', reason: 'AllReplicasReady' },
    },
    {
      name: 'not for an instance being scaled away',
      replicas: 1,
      instances: [{}, { ...looping, backoffUntil: NOW + 1_000 }],
      ready: { status: 'False', reason: 'ReplicasNotReady', message: '1 Ready, 1 wanted' },
    },
    {
      name: 'not while the set is deleted',
      instances: [{}, { ...looping, backoffUntil: NOW + 1_000 }],
      edit: (s) => {
        s.deleting = true;
      },
      ready: { status: 'False', reason: 'Deleting' },
    },
    {
      name: 'before a paused rollout',
      instances: [{ revision: 'web-0000000000' }, { ...looping, backoffUntil: NOW + 1_000 }],
      edit: (s) => {
        const strategy = s.manifest!.spec.updateStrategy;
        s.manifest!.spec.updateStrategy = { ...strategy, rollingUpdate: { partition: 0, maxUnavailable: 1, ...strategy.rollingUpdate, paused: true } };
      },
      ready: { status: 'False', reason: 'CrashLoopBackOff' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const state = setWith(c.replicas ?? 2, {});
      const revision = state.updateRevision!;
      c.instances.forEach((overrides, ordinal) =>
        state.instances.push({
          ordinal,
          incarnation: 5,
          revision,
          phase: 'Running',
          ready: true,
          readySince: NOW - 5_000,
          handle: handle(ordinal, 5, overrides.revision ?? revision),
          restarts: 0,
          consecutiveFailures: 0,
          ...overrides,
        }),
      );
      c.edit?.(state);
      state.publishedDns = recordsFingerprint(recordsFor(state).records);
      expect(condition(setStatus(state, NOW).conditions, 'Ready')).toMatchObject({ type: 'Ready', ...c.ready });
    });
  }

  it('follows the failures of an instance: the second in a row starts it, a stable run ends it', () => {
    const policy = { initialMs: 1_000, maxMs: 60_000, resetMs: 60_000 };
    const up: InstanceState = { ordinal: 0, incarnation: 1, revision: 'r', phase: 'Running', ready: true, readySince: NOW, restarts: 0, consecutiveFailures: 0 };
    const once = recordFailure(up, 'the process exited with code 3', NOW + 1_000, policy);
    expect(isCrashLooping(once)).toBe(false);
    const again = recordFailure({ ...once, phase: 'Running', ready: true, readySince: NOW + 1_100 }, 'the process exited with code 3', NOW + 2_000, policy);
    expect(isCrashLooping(again)).toBe(true);
    expect(isCrashLooping({ ...again, phase: 'Pending' })).toBe(true);
    expect(isCrashLooping({ ...again, phase: 'Running', ready: false })).toBe(true);
    expect(isCrashLooping({ ...again, phase: 'Running', ready: true })).toBe(false);
    // Ready for resetMs before it failed: a fresh sequence, no crash loop.
    const later = recordFailure({ ...again, phase: 'Running', ready: true, readySince: NOW + 3_000 }, 'killed', NOW + 63_000, policy);
    expect(later.consecutiveFailures).toBe(1);
    expect(isCrashLooping(later)).toBe(false);
  });

  it('says it as rollout status does', () => {
    expect(crashLoopMessage('brk-0', 3, 'the process exited with code 3')).toBe('brk-0 is crash looping (restarts 3): the process exited with code 3');
    expect(crashLoopMessage('brk-0', 3, undefined)).toBe('brk-0 is crash looping (restarts 3)');
  });
});

describe('setStatus: instances', () => {
  it('are listed by ordinal with name, address, DNS name, phase, readiness, restarts and revision', () => {
    const state = setWith(3, { 2: 'pending', 0: 'ready', 1: 'running' });
    const rev = state.updateRevision!;
    expect(setStatus(state, NOW).instances).toEqual([
      {
        name: 'web-0', ordinal: 0, address: '127.77.0.1', dnsName: 'web-0.web.ordinal.internal', phase: 'Running', ready: true, restarts: 0, revision: rev, incarnation: 1,
        startedAt: new Date(NOW - 10_000).toISOString(), readySince: new Date(NOW - 5_000).toISOString(), available: true, cordoned: false,
      },
      {
        name: 'web-1', ordinal: 1, address: '127.77.0.2', dnsName: 'web-1.web.ordinal.internal', phase: 'Running', ready: false, restarts: 0, revision: rev, incarnation: 1,
        startedAt: new Date(NOW - 10_000).toISOString(), readySince: null, available: false, cordoned: false,
      },
      {
        name: 'web-2', ordinal: 2, address: null, dnsName: 'web-2.web.ordinal.internal', phase: 'Pending', ready: false, restarts: 0, revision: rev, incarnation: 0,
        startedAt: null, readySince: null, available: false, cordoned: false,
      },
    ]);
  });

  it('a crash-looping instance shows CrashLoopBackOff, its error and when it restarts', () => {
    const state = setWith(2, { 0: 'ready', 1: 'crashloop' });
    expect(setStatus(state, NOW).instances[1]).toMatchObject({
      name: 'web-1',
      phase: 'CrashLoopBackOff',
      ready: false,
      restarts: 3,
      address: null,
      lastError: 'exited with code 1',
      nextRestartAt: new Date(NOW + 2_000).toISOString(),
    });
  });

  const phases: Array<{ shape: Shape; phase: string; nextRestartAt: boolean; lastError?: string }> = [
    { shape: 'ready', phase: 'Running', nextRestartAt: false },
    { shape: 'running', phase: 'Running', nextRestartAt: false },
    { shape: 'pending', phase: 'Pending', nextRestartAt: false },
    { shape: 'failed', phase: 'Failed', nextRestartAt: false, lastError: 'exited with code 1' },
    { shape: 'terminating', phase: 'Terminating', nextRestartAt: false },
    { shape: 'crashloop', phase: 'CrashLoopBackOff', nextRestartAt: true, lastError: 'exited with code 1' },
    { shape: 'backoff-over', phase: 'Pending', nextRestartAt: false, lastError: 'exited with code 1' },
    // The first failure restarts at once: no back-off to show.
    { shape: 'first-failure', phase: 'Pending', nextRestartAt: false, lastError: 'exited with code 2' },
  ];
  for (const c of phases) {
    it(`${c.shape} -> phase ${c.phase}${c.nextRestartAt ? ' with nextRestartAt' : ''}`, () => {
      const status = setStatus(setWith(1, { 0: c.shape }), NOW).instances[0];
      expect(status.phase).toBe(c.phase);
      expect('nextRestartAt' in status).toBe(c.nextRestartAt);
      if (c.lastError) expect(status.lastError).toBe(c.lastError);
      else expect(status).not.toHaveProperty('lastError');
    });
  }

  it('CrashLoopBackOff ends when the back-off does', () => {
    const state = setWith(1, { 0: 'crashloop' });
    expect(setStatus(state, NOW + 1_999).instances[0].phase).toBe('CrashLoopBackOff');
    expect(setStatus(state, NOW + 2_000).instances[0].phase).toBe('Pending');
  });

  it('instance DNS names use the service name and zone of the spec', () => {
    const state = initialState('db');
    const parsed = parseManifest({
      apiVersion: 'ordinal.dev/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db' },
      spec: { serviceName: 'pg', replicas: 1, template: { process: { command: ['pg'] } }, dns: { zone: 'example.test' } },
    });
    if (!parsed.ok) throw new Error('invalid');
    applyManifest(state, parsed.value, CREATED);
    state.instances.push({ ordinal: 0, incarnation: 0, revision: state.updateRevision!, phase: 'Pending', ready: false, restarts: 0, consecutiveFailures: 0 });
    expect(setStatus(state, NOW).instances[0]).toMatchObject({ name: 'db-0', dnsName: 'db-0.pg.example.test' });
  });
});

describe('setView', () => {
  it('carries the manifest, generation and creation time', () => {
    const state = initialState('web');
    applyManifest(state, manifest(2, {}, { labels: { app: 'web' }, annotations: { owner: 'team-a' } }), CREATED);
    const view = setView(state, NOW);
    expect(view.apiVersion).toBe('ordinal.dev/v1');
    expect(view.kind).toBe('StatefulSet');
    expect(view.metadata).toEqual({
      name: 'web',
      labels: { app: 'web' },
      annotations: { owner: 'team-a' },
      generation: 1,
      creationTimestamp: new Date(CREATED).toISOString(),
    });
    expect(view.spec).toEqual(state.manifest!.spec);
    expect(view.status).toEqual(setStatus(state, NOW));
  });

  it('creationTimestamp is an ISO string', () => {
    const state = initialState('web');
    applyManifest(state, manifest(1), Date.UTC(2024, 0, 2, 3, 4, 5, 678));
    expect(setView(state, NOW).metadata.creationTimestamp).toBe('2024-01-02T03:04:05.678Z');
  });

  it('creationTimestamp is null when unknown', () => {
    const state = initialState('web');
    applyManifest(state, manifest(1), CREATED);
    state.createdAt = undefined;
    expect(setView(state, NOW).metadata.creationTimestamp).toBeNull();
  });

  it('generation follows spec changes', () => {
    const state = initialState('web');
    applyManifest(state, manifest(1), CREATED);
    applyManifest(state, manifest(3), NOW);
    const view = setView(state, NOW);
    expect(view.metadata.generation).toBe(2);
    expect(view.metadata.creationTimestamp).toBe(new Date(CREATED).toISOString());
    expect(view.spec.replicas).toBe(3);
  });

  it('marks a set being deleted', () => {
    const state = setWith(1, { 0: 'ready' });
    expect(setView(state, NOW).metadata).not.toHaveProperty('deletionRequested');
    state.deleting = true;
    expect(setView(state, NOW).metadata.deletionRequested).toBe(true);
    expect(setView(state, NOW).status.phase).toBe('Deleting');
  });

  it('does not add read-only fields to the manifest it holds', () => {
    const state = setWith(1, {});
    setView(state, NOW);
    expect(state.manifest!.metadata).toEqual({ name: 'web' });
  });
});
