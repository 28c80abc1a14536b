// Which events each transition records: the instance's own (from the transition that knows why) and the
// set's (from its view before and after a step). Each case runs the real transition, then the rule.
import { describe, expect, it } from 'vitest';
import type { NewEvent } from '../../core/events.js';
import type { Action } from '../../core/planner.js';
import {
  changeEvents,
  createFailedEvents,
  createdEvents,
  creatingEvents,
  publishedEvents,
  setEvents,
  stoppedEvents,
  stoppingEvents,
} from '../../core/set-events.js';
import { initialState } from '../../core/set-state.js';
import { setView } from '../../core/status.js';
import { applyChanges, applyCreateFailed, applyCreated, applyDeleted, applyManifest, applyPublished, markCreating, markDeleting } from '../../core/transitions.js';
import type { InstanceChange } from '../../core/instance.js';
import { NOW, handle, manifest, setWith } from './set-fixtures.js';

const brief = (events: NewEvent[]) => events.map((e) => [e.type, e.reason, e.instance ?? '-', e.message]);

describe('instance events', () => {
  it('a create: Created before, Started (and Ready when the create saw it) after', () => {
    const state = setWith(2, { 0: 'ready' });
    const action: Extract<Action, { kind: 'create' }> = { kind: 'create', ordinal: 1, incarnation: 1, revision: state.updateRevision!, awaitReady: true };
    markCreating(state, action);
    expect(brief(creatingEvents(state, action))).toEqual([['Normal', 'Created', 'web-1', `creating web-1 (incarnation 1, revision ${state.updateRevision})`]]);
    applyCreated(state, action, handle(1, 1, state.updateRevision!), NOW);
    expect(brief(createdEvents(state, action, handle(1, 1, state.updateRevision!), true))).toEqual([
      ['Normal', 'Started', 'web-1', 'started web-1 at 127.77.0.2 (incarnation 1)'],
      ['Normal', 'Ready', 'web-1', 'web-1 is Ready'],
    ]);
  });

  it('a create that waited for readiness in vain: Started, and NotReady with the probe output', () => {
    const state = initialState('web');
    applyManifest(state, manifest(2, { readinessProbe: { httpGet: { path: '/healthz', port: 'http' } } }), NOW);
    const action: Extract<Action, { kind: 'create' }> = { kind: 'create', ordinal: 1, incarnation: 1, revision: state.updateRevision!, awaitReady: true };
    markCreating(state, action);
    applyCreated(state, action, handle(1, 1, state.updateRevision!));
    expect(state.instances[0]!.ready).toBe(false);
    expect(brief(createdEvents(state, action, handle(1, 1, state.updateRevision!), false, 'readiness probe: connection refused'))).toEqual([
      ['Normal', 'Started', 'web-1', 'started web-1 at 127.77.0.2 (incarnation 1)'],
      ['Warning', 'NotReady', 'web-1', 'web-1 is not Ready yet: readiness probe: connection refused'],
    ]);
  });

  it('a failed create: CreateFailed, and BackOff once failures repeat', () => {
    const state = setWith(2, { 0: 'ready', 1: 'first-failure' });
    const action: Extract<Action, { kind: 'create' }> = { kind: 'create', ordinal: 1, incarnation: 2, revision: state.updateRevision! };
    applyCreateFailed(state, action, 'no such program', NOW);
    const events = createFailedEvents(state, action, 'no such program', NOW);
    expect(events.map((e) => e.reason)).toEqual(['CreateFailed', 'BackOff']);
    expect(events[1]!.message).toMatch(/^back-off 1s restarting failed web-1 \(until 2023-11-14T22:13:21.000Z, 2 failures in a row\)$/);
  });

  type Case = { name: string; shapes: Parameters<typeof setWith>[1]; changes: InstanceChange[]; expected: string[][] };
  it.each<Case>([
    { name: 'ready', shapes: { 0: 'running' }, changes: [{ ordinal: 0, incarnation: 1, kind: 'ready', message: 'readiness probe: HTTP 200' }], expected: [['Normal', 'Ready', 'web-0', 'web-0 is Ready']] },
    {
      name: 'not Ready, with the probe output',
      shapes: { 0: 'ready' },
      changes: [{ ordinal: 0, incarnation: 1, kind: 'unready', message: 'readiness probe: connection refused' }],
      expected: [['Warning', 'NotReady', 'web-0', 'web-0 is not Ready: readiness probe: connection refused']],
    },
    {
      name: 'an exit (the first restarts at once: no back-off)',
      shapes: { 0: 'ready' },
      changes: [{ ordinal: 0, incarnation: 1, kind: 'exited', message: 'was killed by SIGKILL' }],
      expected: [['Warning', 'Exited', 'web-0', 'web-0 was killed by SIGKILL']],
    },
    {
      name: 'a failed liveness probe',
      shapes: { 0: 'ready' },
      changes: [{ ordinal: 0, incarnation: 1, kind: 'liveness-failed', message: 'liveness probe failed 3 times: HTTP 500' }],
      expected: [['Warning', 'LivenessFailed', 'web-0', 'web-0: liveness probe failed 3 times: HTTP 500']],
    },
    { name: 'a change about an older incarnation makes none', shapes: { 0: 'ready' }, changes: [{ ordinal: 0, incarnation: 0, kind: 'exited', message: 'exited with code 1' }], expected: [] },
    { name: 'ready again when already Ready makes none', shapes: { 0: 'ready' }, changes: [{ ordinal: 0, incarnation: 1, kind: 'ready', message: 'readiness probe' }], expected: [] },
  ])('watch: $name', ({ shapes, changes, expected }) => {
    const state = setWith(1, shapes);
    const before = [...state.instances];
    applyChanges(state, changes, NOW);
    expect(brief(changeEvents(state, before, changes, NOW))).toEqual(expected);
  });

  it('an exit that repeats before a stable run also says when the back-off ends', () => {
    const state = setWith(1, { 0: 'ready' });
    state.instances[0] = { ...state.instances[0]!, consecutiveFailures: 2, readySince: NOW - 1_000 };
    const before = [...state.instances];
    const changes: InstanceChange[] = [{ ordinal: 0, incarnation: 1, kind: 'exited', message: 'exited with code 1' }];
    applyChanges(state, changes, NOW);
    expect(changeEvents(state, before, changes, NOW).map((e) => e.reason)).toEqual(['Exited', 'BackOff']);
  });

  it.each([
    { reason: 'scale-down' as const, remove: true, words: 'scale-down' },
    { reason: 'update' as const, remove: false, words: 'update to the new revision' },
    { reason: 'set-deleted' as const, remove: true, words: 'the set is deleted' },
    { reason: 'requested' as const, remove: false, words: 'deleted on request; it is replaced under the same name' },
    { reason: 'failed' as const, remove: false, words: 'it failed; it is replaced under the same name' },
  ])('stopping and stopped say why: $reason', ({ reason, remove, words }) => {
    const state = setWith(2, { 0: 'ready', 1: 'ready' });
    const action: Extract<Action, { kind: 'delete' }> = { kind: 'delete', ordinal: 1, reason, remove, deleteVolumes: false };
    markDeleting(state, 1);
    expect(brief(stoppingEvents(state, action))).toEqual([['Normal', 'Stopping', 'web-1', `stopping web-1 (${words})`]]);
    applyDeleted(state, action, NOW);
    expect(brief(stoppedEvents(state, action, 1))).toEqual([['Normal', 'Stopped', 'web-1', `stopped web-1 (${words})`]]);
  });
});

describe('DNS events', () => {
  it('published and withdrawn, per instance; a provider error', () => {
    const state = setWith(3, { 0: 'ready', 1: 'ready', 2: 'ready' });
    state.instances.forEach((i) => (i.published = i.ordinal !== 2));
    const before = new Set([0, 1, 5]);
    applyPublished(state, { kind: 'publish', target: { provider: 'embedded', zone: 'ordinal.internal' }, records: [], fingerprint: 'f', published: [0, 2] }, NOW, {
      conflicts: [],
      failed: [{ name: 'web.web.ordinal.internal', type: 'SRV', code: 'InvalidChangeBatch', message: 'bad target' }],
      propagating: [],
      error: { code: 'ReadOnly', message: 'store is read-only', hint: 'check the data directory' },
    });
    expect(brief(publishedEvents(state, before, state.dnsOutcome))).toEqual([
      ['Normal', 'DNSWithdrawn', 'web-1', 'web-1.web.ordinal.internal withdrawn'],
      ['Normal', 'DNSPublished', 'web-2', 'web-2.web.ordinal.internal -> 127.77.0.3'],
      ['Normal', 'DNSWithdrawn', 'web-5', 'web-5.web.ordinal.internal withdrawn'],
      ['Warning', 'DNSError', '-', 'publishing to embedded ordinal.internal failed: ReadOnly: store is read-only'],
      ['Warning', 'DNSError', '-', 'web.web.ordinal.internal SRV rejected by embedded ordinal.internal: InvalidChangeBatch: bad target'],
    ]);
  });
});

describe('set events (view before and after a step)', () => {
  const base = () => setWith(2, { 0: 'ready', 1: 'ready' });
  type Case = { name: string; change: (s: ReturnType<typeof base>) => void; expected: string[] };
  it.each<Case>([
    { name: 'nothing changed', change: () => {}, expected: [] },
    { name: 'scaled', change: (s) => applyManifest(s, manifest(4), NOW), expected: ['Normal Scaled scaled from 2 to 4 replicas'] },
    {
      name: 'a new template starts a rollout',
      change: (s) => applyManifest(s, manifest(2, { process: { command: ['node', 'server.mjs', '--v2'] } }), NOW),
      expected: [expect.stringMatching(/^Normal RolloutStarted rollout of web-[0-9a-f]+ started \(generation 2\)$/) as unknown as string],
    },
    {
      name: 'paused and resumed',
      change: (s) => applyManifest(s, { ...manifest(2), spec: { ...manifest(2).spec, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { ...manifest(2).spec.updateStrategy.rollingUpdate!, paused: true } } } }, NOW),
      expected: ['Normal RolloutPaused rollout paused: no instance is replaced until it is resumed'],
    },
    { name: 'deletion requested', change: (s) => (s.deleting = true), expected: [expect.stringMatching(/^Normal DeletionRequested deletion of set web requested/) as unknown as string] },
    {
      name: 'a DNS conflict appears',
      change: (s) => (s.dnsOutcome = { conflicts: [{ name: 'web-0.web.ordinal.internal', type: 'A', reason: 'owned by set other' }], failed: [], propagating: [] }),
      expected: ['Warning DNSConflict web-0.web.ordinal.internal A is not published: owned by set other'],
    },
  ])('$name', ({ change, expected }) => {
    const state = base();
    const before = setView(state, NOW);
    change(state);
    expect(setEvents(before, setView(state, NOW)).map((e) => `${e.type} ${e.reason} ${e.message}`)).toEqual(expected);
  });

  it('a rollout progresses instance by instance, then completes', () => {
    const state = base();
    applyManifest(state, manifest(2, { process: { command: ['node', 'server.mjs', '--v2'] } }), NOW);
    let before = setView(state, NOW);
    state.instances[1] = { ...state.instances[1]!, revision: state.updateRevision! };
    const progressed = setEvents(before, setView(state, NOW));
    expect(progressed.map((e) => e.message)).toEqual([`1 of 2 instances on ${state.updateRevision}`]);
    before = setView(state, NOW);
    state.instances[0] = { ...state.instances[0]!, revision: state.updateRevision! };
    state.currentRevision = state.updateRevision;
    expect(setEvents(before, setView(state, NOW)).map((e) => e.reason)).toEqual(['RolloutCompleted']);
  });

  it('a new set: one event with its size', () => {
    expect(setEvents(undefined, setView(base(), NOW)).map((e) => e.message)).toEqual([expect.stringMatching(/^set created with 2 replicas \(revision web-/)]);
  });
});
