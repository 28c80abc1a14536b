// `ordinal rollout status`'s decisions, from sets built the way the workflow builds them (core's
// setView over a SetState), plus a few hand-made views for shapes the core does not produce.
import { describe, expect, it } from 'vitest';
import type { InstanceHandle } from '../../activities/drivers/driver.js';
import { parseManifest } from '../../core/manifest.js';
import { plan } from '../../core/planner.js';
import type { InstanceState } from '../../core/instance.js';
import type { SetState } from '../../core/set-state.js';
import { setView, type SetView } from '../../core/status.js';
import { applyPublished } from '../../core/transitions.js';
import {
  RolloutProgress,
  crashLoopFailure,
  evaluateRollout,
  goneMessage,
  instanceLine,
  isPaused,
  progressSummary,
  readyCount,
  readyForMs,
  replacementPatch,
  rollbackDuring,
  rolloutProgress,
  selectUndoTarget,
  stabilityWait,
  stabilityWindowMs,
  timeoutMessage,
  trackInstances,
  undoPatch,
  waitingFor,
  wantedOrdinals,
} from '../../cli/rollout.js';
import { applyMergePatch } from '../../core/merge-patch.js';
import type { RevisionView } from '../../core/status.js';

const NOW = 1_700_000_000_000;
const OLD = 'web-0ld0ld0ld';
const NEW = 'web-5f1c2e9a0b';

function manifest(replicas: number, spec: Record<string, unknown> = {}) {
  const parsed = parseManifest({
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web' },
    spec: { replicas, template: { process: { command: ['node', 'server.js'] } }, ...spec },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

type Instance = Partial<InstanceState<InstanceHandle>> & { ordinal: number };

/** An instance of the current revision, Running and Ready unless told otherwise. */
function running(ordinal: number, overrides: Partial<InstanceState<InstanceHandle>> = {}): Instance {
  return { ordinal, phase: 'Running', ready: true, ...overrides };
}

function pending(ordinal: number, overrides: Partial<InstanceState<InstanceHandle>> = {}): Instance {
  return { ordinal, phase: 'Pending', ready: false, handle: undefined, ...overrides };
}

function crashLooping(ordinal: number, error = 'the process exited with code 1'): Instance {
  return pending(ordinal, { restarts: 3, consecutiveFailures: 3, backoffUntil: NOW + 4000, lastError: error });
}

function set(options: {
  replicas: number;
  instances: Instance[];
  generation?: number;
  observedGeneration?: number;
  updateRevision?: string;
  currentRevision?: string;
  deleting?: boolean;
  /** More spec fields: updateStrategy, ordinals, minReadySeconds, progressDeadlineSeconds ... */
  spec?: Record<string, unknown>;
  /** Workflow time of the last progress (the progress deadline counts from it). */
  progressAt?: number;
  lastRollback?: SetState['lastRollback'];
  /** The server's time for the view (default NOW). */
  at?: number;
}): SetView {
  const generation = options.generation ?? 1;
  const state: SetState = {
    name: 'web',
    manifest: manifest(options.replicas, options.spec),
    progressAt: options.progressAt,
    lastRollback: options.lastRollback,
    generation,
    createdAt: NOW - 60_000,
    updateRevision: options.updateRevision ?? NEW,
    currentRevision: options.currentRevision ?? options.updateRevision ?? NEW,
    revisions: [],
    instances: options.instances.map((i): InstanceState<InstanceHandle> => {
      const revision = i.revision ?? options.updateRevision ?? NEW;
      const incarnation = i.incarnation ?? 1;
      const hasProcess = i.phase === 'Running' || i.phase === 'Terminating';
      return {
        incarnation,
        revision,
        phase: 'Running',
        ready: false,
        restarts: 0,
        consecutiveFailures: 0,
        handle: hasProcess
          ? { set: 'web', ordinal: i.ordinal, incarnation, revision, address: `127.77.0.${i.ordinal + 1}`, pid: 1000 + i.ordinal, startedAt: NOW - 30_000, logPath: '/dev/null' }
          : undefined,
        ...i,
        readySince: i.readySince ?? (i.ready ? NOW - 20_000 : undefined),
      };
    }),
    publishedNames: [],
    deleting: options.deleting ?? false,
    observedGeneration: options.observedGeneration ?? generation,
  };
  publishDns(state);
  return setView(state, options.at ?? NOW);
}

/** As the workflow does before anything else: publish the DNS records the instances call for. */
function publishDns(state: SetState): void {
  const publish = plan(state, NOW).actions.find((a) => a.kind === 'publish');
  if (publish?.kind === 'publish') applyPublished(state, publish, NOW);
}

describe('evaluateRollout', () => {
  it('is done when the latest generation is observed and the Ready condition is True', () => {
    const view = set({ replicas: 3, instances: [running(0), running(1), running(2)] });
    expect(view.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(evaluateRollout(view)).toEqual({ state: 'done', message: 'set web is Ready (3/3)' });
  });

  it('is done for a set scaled to zero once its instances are gone', () => {
    expect(evaluateRollout(set({ replicas: 0, instances: [] }))).toEqual({ state: 'done', message: 'set web is Ready (0/0)' });
  });

  it('is not done while the controller has not observed the latest generation, even if Ready was True', () => {
    const view = set({ replicas: 3, instances: [running(0), running(1), running(2)] });
    // A PUT just bumped the generation; the status still describes the previous one.
    view.metadata.generation = 2;
    expect(evaluateRollout(view)).toEqual({
      state: 'progress',
      waiting: 'waiting for the controller to observe generation 2 (observed 1)',
      summary: '3/3 instances Ready',
    });
  });

  it('is done when observedGeneration is ahead of the generation it read (a later change already observed)', () => {
    const view = set({ replicas: 1, instances: [running(0)] });
    view.status.observedGeneration = 3;
    view.metadata.generation = 2;
    expect(evaluateRollout(view).state).toBe('done');
  });

  it('waits for the controller on a brand-new set', () => {
    expect(evaluateRollout(set({ replicas: 3, instances: [], generation: 1, observedGeneration: 0 }))).toEqual({
      state: 'progress',
      waiting: 'waiting for the controller to observe generation 1 (observed 0)',
      summary: '0/3 instances Ready',
    });
  });

  it.each([
    ['no instance yet', [], 'waiting for web-0 to become Ready', '0/3 instances Ready'],
    ['web-0 Pending', [pending(0)], 'waiting for web-0 to become Ready', '0/3 instances Ready'],
    ['web-0 Running, not Ready', [running(0, { ready: false })], 'waiting for web-0 to become Ready', '0/3 instances Ready'],
    ['web-0 Ready, web-1 not created yet', [running(0)], 'waiting for web-1 to become Ready', '1/3 instances Ready'],
    ['web-0 Ready, web-1 Pending', [running(0), pending(1)], 'waiting for web-1 to become Ready', '1/3 instances Ready'],
    ['web-0 and web-1 Ready, web-2 starting', [running(0), running(1), running(2, { ready: false })], 'waiting for web-2 to become Ready', '2/3 instances Ready'],
    ['web-1 recreated after a delete-instance', [running(0), pending(1, { restarts: 0 }), running(2)], 'waiting for web-1 to become Ready', '2/3 instances Ready'],
    ['web-2 in CrashLoopBackOff', [running(0), running(1), crashLooping(2)], 'waiting for web-2 to become Ready', '2/3 instances Ready'],
    ['web-0 Failed', [running(0, { phase: 'Failed', ready: false, lastError: 'liveness probe failed' })], 'waiting for web-0 to become Ready', '0/3 instances Ready'],
  ] as Array<[string, Instance[], string, string]>)('creating, %s: %s', (_, instances, waiting, summary) => {
    expect(evaluateRollout(set({ replicas: 3, instances }))).toEqual({ state: 'progress', waiting, summary });
  });

  it('waits for the highest extra instance to go when scaling down, counting only wanted ordinals', () => {
    const view = set({ replicas: 3, instances: [0, 1, 2, 3, 4].map((o) => running(o)) });
    expect(view.status.readyReplicas).toBe(5);
    expect(readyCount(view)).toBe(3);
    expect(evaluateRollout(view)).toEqual({
      state: 'progress',
      waiting: 'waiting for web-4 to be removed (scaling down to 3)',
      summary: '3/3 instances Ready',
    });
    const next = set({ replicas: 3, instances: [running(0), running(1), running(2), running(3, { phase: 'Terminating', ready: false })] });
    expect(waitingFor(next)).toBe('waiting for web-3 to be removed (scaling down to 3)');
    expect(instanceLine(next, next.status.instances[3])).toBe('web-3: Terminating');
  });

  it('follows a rolling update from the highest ordinal down', () => {
    const start = set({ replicas: 3, updateRevision: NEW, currentRevision: OLD, instances: [0, 1, 2].map((o) => running(o, { revision: OLD })) });
    expect(evaluateRollout(start)).toEqual({
      state: 'progress',
      waiting: `waiting for web-2 to be updated to revision ${NEW}`,
      summary: '3/3 instances Ready, 0/3 updated',
    });
    expect(instanceLine(start, start.status.instances[0])).toBe(`web-0: Running, Ready (127.77.0.1), old revision ${OLD}`);

    const replacing = set({
      replicas: 3,
      updateRevision: NEW,
      currentRevision: OLD,
      instances: [running(0, { revision: OLD }), running(1, { revision: OLD }), running(2, { revision: NEW, ready: false })],
    });
    expect(evaluateRollout(replacing)).toEqual({
      state: 'progress',
      waiting: 'waiting for web-2 to become Ready',
      summary: '2/3 instances Ready, 1/3 updated',
    });

    const halfway = set({
      replicas: 3,
      updateRevision: NEW,
      currentRevision: OLD,
      instances: [running(0, { revision: OLD }), running(1, { revision: NEW }), running(2, { revision: NEW })],
    });
    expect(waitingFor(halfway)).toBe(`waiting for web-0 to be updated to revision ${NEW}`);
    expect(progressSummary(halfway)).toBe('3/3 instances Ready, 2/3 updated');
    expect(instanceLine(halfway, halfway.status.instances[1])).toBe('web-1: Running, Ready (127.77.0.2)');

    expect(evaluateRollout(set({ replicas: 3, updateRevision: NEW, currentRevision: NEW, instances: [0, 1, 2].map((o) => running(o)) })).state).toBe('done');
  });

  it('fails when the set is being deleted: the rollout can never finish', () => {
    const view = set({ replicas: 3, instances: [running(0), running(1)], deleting: true });
    expect(view.metadata.deletionRequested).toBe(true);
    expect(evaluateRollout(view)).toEqual({ state: 'failed', message: 'set web is being deleted' });
    const byPhase = set({ replicas: 1, instances: [running(0)] });
    byPhase.status.phase = 'Deleting';
    expect(evaluateRollout(byPhase).state).toBe('failed');
  });

  it('falls back to the Ready condition when nothing else explains the wait', () => {
    const view = set({ replicas: 2, instances: [running(0), running(1)] });
    view.status.conditions = [{ type: 'Ready', status: 'False', reason: 'DnsPending', message: 'publishing DNS records' }];
    expect(evaluateRollout(view)).toEqual({
      state: 'progress',
      waiting: 'waiting for set web to become Ready: publishing DNS records',
      summary: '2/2 instances Ready',
    });
    view.status.conditions = [];
    expect(waitingFor(view)).toBe('waiting for set web to become Ready');
  });

  it('copes with a sparse status (a newer or older server)', () => {
    const view = set({ replicas: 2, instances: [] });
    const sparse = { ...view, status: { phase: 'Pending' } } as unknown as SetView;
    expect(evaluateRollout(sparse)).toEqual({ state: 'progress', waiting: 'waiting for the controller to observe generation 1 (observed 0)', summary: '0/2 instances Ready' });
  });
});

describe('instanceLine', () => {
  const view = set({
    replicas: 5,
    instances: [
      running(0),
      running(1, { ready: false }),
      crashLooping(2),
      running(3, { phase: 'Failed', ready: false, handle: undefined, lastError: 'liveness probe failed: connection refused' }),
      pending(4),
    ],
  });
  const lines = view.status.instances.map((i) => instanceLine(view, i));

  it('describes each phase', () => {
    expect(lines).toEqual([
      'web-0: Running, Ready (127.77.0.1)',
      'web-1: Running, not Ready (127.77.0.2)',
      'web-2: CrashLoopBackOff: the process exited with code 1',
      'web-3: Failed: liveness probe failed: connection refused',
      'web-4: Pending',
    ]);
  });

  it('does not repeat an old error once the instance runs again', () => {
    const recovered = set({ replicas: 1, instances: [running(0, { ready: false, restarts: 2, lastError: 'the process exited with code 1' })] });
    expect(instanceLine(recovered, recovered.status.instances[0])).toBe('web-0: Running, not Ready (127.77.0.1)');
  });
});

describe('timeoutMessage', () => {
  it('names the failing instances', () => {
    const view = set({ replicas: 3, instances: [running(0), running(1), crashLooping(2)] });
    expect(timeoutMessage(view, 5 * 60_000)).toBe('timed out after 5m: 2/3 Ready; web-2: CrashLoopBackOff: the process exited with code 1');
  });

  it('names every failing instance', () => {
    const view = set({ replicas: 3, instances: [running(0), crashLooping(1, 'create failed: ENOENT'), running(2, { phase: 'Failed', ready: false, lastError: 'exited with code 2' })] });
    expect(timeoutMessage(view, 90_000)).toBe(
      'timed out after 1m30s: 1/3 Ready; web-1: CrashLoopBackOff: create failed: ENOENT; web-2: Failed: exited with code 2',
    );
  });

  it('says what it was waiting for when nothing failed', () => {
    const view = set({ replicas: 3, instances: [running(0), running(1, { ready: false })] });
    expect(timeoutMessage(view, 30_000)).toBe('timed out after 30s: 1/3 Ready; waiting for web-1 to become Ready');
    const unobserved = set({ replicas: 3, instances: [], observedGeneration: 0 });
    expect(timeoutMessage(unobserved, 3_600_000)).toBe('timed out after 1h: 0/3 Ready; waiting for the controller to observe generation 1 (observed 0)');
  });

  it('says so when the set was never read', () => {
    expect(timeoutMessage(undefined, 2000)).toBe('timed out after 2s before the set could be read');
  });
});

describe('goneMessage', () => {
  it('tells a set that never existed from one deleted while watched', () => {
    expect(goneMessage('web', false)).toBe('set web does not exist');
    expect(goneMessage('web', true)).toBe('set web was deleted');
  });
});

describe('RolloutProgress', () => {
  it('prints each instance line, the wait and the summary only when they change', () => {
    const progress = new RolloutProgress();
    const polls = [
      set({ replicas: 2, instances: [], observedGeneration: 0 }),
      set({ replicas: 2, instances: [pending(0)] }),
      set({ replicas: 2, instances: [pending(0)] }),
      set({ replicas: 2, instances: [running(0, { ready: false })] }),
      set({ replicas: 2, instances: [running(0), pending(1)] }),
      set({ replicas: 2, instances: [running(0), running(1)] }),
    ].map((view) => progress.observe(view));
    expect(polls.map((p) => p.lines)).toEqual([
      ['waiting for the controller to observe generation 1 (observed 0)', '0/2 instances Ready'],
      ['web-0: Pending', 'waiting for web-0 to become Ready'],
      [],
      ['web-0: Running, not Ready (127.77.0.1)'],
      ['web-0: Running, Ready (127.77.0.1)', 'web-1: Pending', 'waiting for web-1 to become Ready', '1/2 instances Ready'],
      // Done: the last instance's line; the verdict's message is the caller's to print.
      ['web-1: Running, Ready (127.77.0.2)'],
    ]);
    expect(polls.map((p) => p.verdict.state)).toEqual(['progress', 'progress', 'progress', 'progress', 'progress', 'done']);
    expect(polls[5].verdict).toEqual({ state: 'done', message: 'set web is Ready (2/2)' });
  });

  it('reports instances that went away', () => {
    const progress = new RolloutProgress();
    progress.observe(set({ replicas: 2, instances: [running(0), running(1), running(2)] }));
    const next = progress.observe(set({ replicas: 2, instances: [running(0), running(1)] }));
    expect(next.lines).toEqual(['web-2: removed']);
    expect(next.verdict.state).toBe('done');
    // Not again.
    expect(progress.observe(set({ replicas: 2, instances: [running(0), running(1)] })).lines).toEqual([]);
  });

  it('prints a crash loop as it happens', () => {
    const progress = new RolloutProgress();
    progress.observe(set({ replicas: 1, instances: [running(0, { ready: false })] }));
    expect(progress.observe(set({ replicas: 1, instances: [crashLooping(0)] })).lines).toEqual([
      'web-0: CrashLoopBackOff: the process exited with code 1',
    ]);
    expect(progress.observe(set({ replicas: 1, instances: [running(0, { ready: false, incarnation: 4, lastError: 'x' })] })).lines).toEqual([
      'web-0: Running, not Ready (127.77.0.1)',
    ]);
  });
});

describe('rollout status: the stability window and crash loops', () => {
  const exit3 = 'the process exited with code 3';
  /** An incarnation that runs, Ready (no readiness probe) since `readyMs` before NOW. */
  const up = (ordinal: number, incarnation: number, restarts: number, readyMs: number, overrides: Partial<InstanceState<InstanceHandle>> = {}) =>
    running(ordinal, { incarnation, restarts, readySince: NOW - readyMs, lastError: restarts > 0 ? exit3 : undefined, ...overrides });
  const web = (instances: Instance[], spec: Record<string, unknown> = {}, at = NOW) => set({ replicas: instances.length, spec, instances, at });

  it.each([
    ['5s by default', undefined, {}, 5_000],
    ['the flag', 12_000, {}, 12_000],
    ['0: no wait', 0, {}, 0],
    ['minReadySeconds when longer', 5_000, { minReadySeconds: 30 }, 30_000],
    ['the flag when longer than minReadySeconds', 60_000, { minReadySeconds: 30 }, 60_000],
  ] as Array<[string, number | undefined, Record<string, unknown>, number]>)('the window is %s', (_label, stableFor, spec, expected) => {
    expect(stabilityWindowMs(web([up(0, 1, 0, 0)], spec), stableFor)).toBe(expected);
  });

  it('fails at once for the issue\'s set: each incarnation Ready for the instant it runs, then CrashLoopBackOff', () => {
    const progress = new RolloutProgress(NOW - 1_000);
    // Half a second after the apply: Ready, as kubectl would say, but not for long enough.
    const first = progress.observe(web([up(0, 1, 0, 500), up(1, 1, 0, 500)]), NOW);
    expect(first.verdict).toEqual({ state: 'progress', waiting: 'waiting for web-0 to stay Ready for 5s (0s so far)', summary: '2/2 instances Ready' });
    // Each exited after a second and was restarted at once: Ready again, and a restart more.
    const second = progress.observe(web([up(0, 2, 1, -800), up(1, 2, 1, -700)], {}, NOW + 1_000), NOW + 1_000);
    expect(second.verdict).toEqual({ state: 'progress', waiting: 'waiting for web-0 to stay Ready for 5s (0s so far)', summary: '2/2 instances Ready' });
    // The second exit in a row: the back-off.
    const third = progress.observe(web([{ ...crashLooping(0, exit3), restarts: 2, consecutiveFailures: 2 }, up(1, 2, 1, -700)], {}, NOW + 2_000), NOW + 2_000);
    expect(third.verdict).toEqual({ state: 'failed', message: `rollout of web failed: web-0 is crash looping (restarts 2): ${exit3}` });
    expect(third.lines).toContain(`web-0: CrashLoopBackOff: ${exit3}`);
  });

  it('fails when restarts grow twice without the instance staying up, even if no poll saw the back-off', () => {
    const progress = new RolloutProgress(NOW);
    expect(progress.observe(web([up(0, 1, 0, 100)]), NOW).verdict.state).toBe('progress');
    expect(progress.observe(web([up(0, 2, 1, 100)]), NOW + 1_000).verdict.state).toBe('progress');
    expect(progress.observe(web([up(0, 3, 2, 100)]), NOW + 2_000).verdict).toEqual({
      state: 'failed',
      message: `rollout of web failed: web-0 is crash looping (restarts 2): ${exit3}`,
    });
  });

  it('fails when the Ready condition names a crash loop the instance phase does not show yet', () => {
    const failedAgain = running(0, { phase: 'Failed', ready: false, restarts: 2, consecutiveFailures: 2, lastError: exit3 });
    const view = web([failedAgain, up(1, 1, 0, 60_000)]);
    expect(view.status.instances[0].phase).toBe('Failed');
    expect(view.status.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'CrashLoopBackOff' });
    expect(new RolloutProgress(NOW).observe(view, NOW).verdict).toEqual({
      state: 'failed',
      message: `rollout of web failed: web-0 is crash looping (restarts 2): ${exit3}`,
    });
    expect(crashLoopFailure(view)).toBe(`web-0 is crash looping (restarts 2): ${exit3}`);
  });

  it('goes on after a single restart, once the new incarnation has stayed up for the window', () => {
    const progress = new RolloutProgress(NOW);
    const polls = [
      [web([up(0, 1, 0, 3_000)]), NOW],
      [web([up(0, 2, 1, 0)]), NOW + 1_000],
      [web([up(0, 2, 1, 0)]), NOW + 3_500],
      [web([up(0, 2, 1, 0)]), NOW + 6_000],
    ] as Array<[SetView, number]>;
    const seen = polls.map(([view, now]) => progress.observe(view, now));
    expect(seen.map((p) => (p.verdict.state === 'progress' ? p.verdict.waiting : p.verdict.state))).toEqual([
      'waiting for web-0 to stay Ready for 5s (3s so far)',
      'waiting for web-0 to stay Ready for 5s (1s so far)',
      'waiting for web-0 to stay Ready for 5s (3s so far)',
      'done',
    ]);
    // The restart after a stable run does not count against a later one.
    expect(progress.observe(web([up(0, 3, 2, 0, { readySince: NOW + 6_500 })]), NOW + 7_000).verdict.state).toBe('progress');
  });

  it('is done at once for a set whose instances have long been Ready, and with --stable-for 0', () => {
    expect(new RolloutProgress(NOW).observe(web([up(0, 1, 0, 60_000), up(1, 4, 3, 5_000)]), NOW).verdict).toEqual({
      state: 'done',
      message: 'set web is Ready (2/2)',
    });
    expect(new RolloutProgress(NOW, { stableForMs: 0 }).observe(web([up(0, 1, 0, 0)]), NOW).verdict.state).toBe('done');
    // A crash loop fails all the same.
    expect(new RolloutProgress(NOW, { stableForMs: 0 }).observe(web([crashLooping(0)]), NOW).verdict.state).toBe('failed');
  });

  it('waits for the instance with the shortest Ready run, with the longer of the flag and minReadySeconds', () => {
    const view = web([up(0, 1, 0, 40_000), up(1, 1, 0, 31_000), up(2, 1, 0, 35_000)], { minReadySeconds: 30 });
    expect(stabilityWait(view, trackInstances(view, new Map(), NOW, 45_000), NOW, 45_000)).toBe('waiting for web-1 to stay Ready for 45s (31s so far)');
    expect(new RolloutProgress(NOW, { stableForMs: 45_000 }).observe(view, NOW).verdict).toMatchObject({ waiting: 'waiting for web-1 to stay Ready for 45s (31s so far)' });
    expect(new RolloutProgress(NOW, { stableForMs: 5_000 }).observe(view, NOW).verdict.state).toBe('done');
  });

  it('counts from its own first sighting when readySince is ahead of its clock or unreadable', () => {
    // The server's clock is 31 s ahead of ours: its readySince, a second ago there, is 30 s in our future.
    const ahead = web([up(0, 1, 0, 1_000)]);
    const ours = NOW - 31_000;
    const progress = new RolloutProgress(ours);
    expect(progress.observe(ahead, ours).verdict).toMatchObject({ waiting: 'waiting for web-0 to stay Ready for 5s (0s so far)' });
    expect(progress.observe(ahead, ours + 4_000).verdict).toMatchObject({ waiting: 'waiting for web-0 to stay Ready for 5s (4s so far)' });
    expect(progress.observe(ahead, ours + 5_000).verdict.state).toBe('done');
    const unreadable = web([up(0, 1, 0, 0)]);
    unreadable.status.instances[0].readySince = 'soon';
    const watches = trackInstances(unreadable, new Map(), NOW, 5_000);
    expect(readyForMs(watches.get('web-0'), unreadable.status.instances[0], NOW + 2_000)).toBe(2_000);
  });

  it('starts the window afresh when the incarnation, the restarts or readySince change', () => {
    const first = web([up(0, 1, 0, 0)]);
    const watches = trackInstances(first, new Map(), NOW, 5_000);
    const since = (view: SetView, now: number) => trackInstances(view, watches, now, 5_000).get('web-0')!.ready!.seenAt;
    expect(since(web([up(0, 1, 0, 0)]), NOW + 1_000)).toBe(NOW);
    expect(since(web([up(0, 2, 0, 0)]), NOW + 1_000)).toBe(NOW + 1_000);
    expect(since(web([up(0, 1, 1, 0)]), NOW + 1_000)).toBe(NOW + 1_000);
    expect(since(web([up(0, 1, 0, -1_000)]), NOW + 1_000)).toBe(NOW + 1_000);
    // Not Ready: nothing remembered; Ready again: a new sighting.
    const unready = trackInstances(web([up(0, 1, 0, 0, { ready: false })]), watches, NOW + 1_000, 5_000);
    expect(unready.get('web-0')!.ready).toBeUndefined();
    expect(trackInstances(first, unready, NOW + 2_000, 5_000).get('web-0')!.ready!.seenAt).toBe(NOW + 2_000);
  });

  it('judges only instances of the update revision that are wanted', () => {
    // Below the partition web-0 keeps the old revision: its crash loop and its short run are not this rollout's.
    const partitioned = set({
      replicas: 2,
      updateRevision: NEW,
      currentRevision: OLD,
      spec: { updateStrategy: { rollingUpdate: { partition: 1 } } },
      instances: [up(0, 5, 4, 100, { revision: OLD }), up(1, 1, 0, 60_000)],
    });
    expect(new RolloutProgress(NOW).observe(partitioned, NOW).verdict.state).toBe('done');
    const oldLoop = set({
      replicas: 2,
      updateRevision: NEW,
      currentRevision: OLD,
      spec: { updateStrategy: { rollingUpdate: { partition: 1 } } },
      instances: [{ ...crashLooping(0), revision: OLD }, up(1, 1, 0, 60_000)],
    });
    expect(oldLoop.status.conditions.find((c) => c.type === 'Ready')).toMatchObject({ reason: 'CrashLoopBackOff' });
    expect(crashLoopFailure(oldLoop)).toBeUndefined();
    expect(new RolloutProgress(NOW).observe(oldLoop, NOW).verdict.state).toBe('progress');
    // An instance being scaled away.
    const scaling = set({ replicas: 1, instances: [up(0, 1, 0, 60_000), crashLooping(1)] });
    expect(crashLoopFailure(scaling)).toBeUndefined();
    expect(new RolloutProgress(NOW).observe(scaling, NOW).verdict).toMatchObject({ state: 'progress', waiting: 'waiting for web-1 to be removed (scaling down to 1)' });
  });

  it('counts restarts afresh on a new revision: the crashes of the old one do not fail the new', () => {
    const progress = new RolloutProgress(NOW);
    const before = set({ replicas: 1, updateRevision: OLD, instances: [{ ...crashLooping(0), revision: OLD }] });
    expect(progress.observe(before, NOW).verdict.state).toBe('failed');
    // Fixed: the instance is replaced on the new revision at once, its restart count kept.
    const fixed = (readyMs: number) => set({ replicas: 1, updateRevision: NEW, currentRevision: OLD, generation: 2, instances: [up(0, 5, 3, readyMs)] });
    expect(progress.observe(fixed(0), NOW + 1_000).verdict.state).toBe('progress');
    expect(progress.observe(fixed(0), NOW + 7_000).verdict.state).toBe('done');
  });

  it('lets a deletion, a deadline and a rollback speak first', () => {
    const deleting = set({ replicas: 1, instances: [crashLooping(0)], deleting: true });
    expect(new RolloutProgress(NOW).observe(deleting, NOW).verdict).toEqual({ state: 'failed', message: 'set web is being deleted' });
    const stuck = set({ replicas: 2, spec: { progressDeadlineSeconds: 60 }, progressAt: NOW - 61_000, instances: [running(0), crashLooping(1)] });
    expect(new RolloutProgress(NOW).observe(stuck, NOW).verdict).toMatchObject({ state: 'failed', message: expect.stringMatching(/progress deadline exceeded/) });
  });

  it('fails a paused rollout whose updated instance crash loops', () => {
    const view = set({
      replicas: 2,
      updateRevision: NEW,
      currentRevision: OLD,
      spec: { updateStrategy: { rollingUpdate: { paused: true } } },
      instances: [running(0, { revision: OLD }), crashLooping(1, exit3)],
    });
    expect(new RolloutProgress(NOW).observe(view, NOW).verdict).toEqual({
      state: 'failed',
      message: `rollout of web failed: web-1 is crash looping (restarts 3): ${exit3}`,
    });
  });

  it('prints the wait as it goes, and a timeout says what it waited for', () => {
    const progress = new RolloutProgress(NOW);
    const lines = [0, 1_000, 1_500, 2_000].map((t) => progress.observe(web([up(0, 1, 0, 0)]), NOW + t).lines);
    expect(lines).toEqual([
      ['web-0: Running, Ready (127.77.0.1)', 'waiting for web-0 to stay Ready for 5s (0s so far)', '1/1 instances Ready'],
      ['waiting for web-0 to stay Ready for 5s (1s so far)'],
      [],
      ['waiting for web-0 to stay Ready for 5s (2s so far)'],
    ]);
    expect(timeoutMessage(web([up(0, 1, 0, 0)]), 3_000, 'waiting for web-0 to stay Ready for 5s (2s so far)')).toBe(
      'timed out after 3s: 1/1 Ready; waiting for web-0 to stay Ready for 5s (2s so far)',
    );
  });
});

describe('rolloutProgress (the whole picture, for ordinal up --demo)', () => {
  it('lists every instance, then the wait and summary', () => {
    expect(rolloutProgress(set({ replicas: 2, instances: [running(0), pending(1)] }))).toEqual({
      done: false,
      failed: false,
      verdict: { state: 'progress', waiting: 'waiting for web-1 to become Ready', summary: '1/2 instances Ready' },
      lines: ['web-0: Running, Ready (127.77.0.1)', 'web-1: Pending', 'waiting for web-1 to become Ready', '1/2 instances Ready'],
    });
  });

  it('ends with the verdict when done or failed', () => {
    const done = rolloutProgress(set({ replicas: 1, instances: [running(0)] }));
    expect(done.done).toBe(true);
    expect(done.lines).toEqual(['web-0: Running, Ready (127.77.0.1)', 'set web is Ready (1/1)']);
    const failed = rolloutProgress(set({ replicas: 1, instances: [running(0)], deleting: true }));
    expect(failed.failed).toBe(true);
    expect(failed.lines.at(-1)).toBe('set web is being deleted');
  });
});

describe('rollout verdicts: progress deadline, automatic rollback, pause', () => {
  const progressing = (view: SetView) => view.status.conditions.find((c) => c.type === 'Progressing')!;

  describe('progress deadline', () => {
    const stuck = () =>
      set({ replicas: 2, spec: { progressDeadlineSeconds: 60 }, progressAt: NOW - 61_000, instances: [running(0), crashLooping(1)] });

    it('fails once the Progressing condition is False with ProgressDeadlineExceeded, with its message', () => {
      const view = stuck();
      expect(progressing(view)).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
      expect(progressing(view).message).toMatch(/^no progress for 60s/);
      expect(evaluateRollout(view)).toEqual({
        state: 'failed',
        message: `rollout of web failed: progress deadline exceeded: ${progressing(view).message}`,
      });
      // The same with a watch, and through RolloutProgress.
      expect(evaluateRollout(view, { startedAt: NOW - 1000, initialUpdateRevision: NEW }).state).toBe('failed');
      expect(new RolloutProgress(NOW).observe(view).verdict.state).toBe('failed');
    });

    it('keeps waiting before the deadline', () => {
      const view = set({ replicas: 2, spec: { progressDeadlineSeconds: 60 }, progressAt: NOW - 59_000, instances: [running(0), crashLooping(1)] });
      expect(progressing(view)).toMatchObject({ status: 'True', reason: 'Reconciling' });
      expect(evaluateRollout(view).state).toBe('progress');
    });

    it('reads only a False Progressing condition with that reason as stuck', () => {
      const view = set({ replicas: 1, instances: [pending(0)] });
      view.status.conditions = [{ type: 'Progressing', status: 'True', reason: 'ProgressDeadlineExceeded', message: 'x' }];
      expect(evaluateRollout(view).state).toBe('progress');
      view.status.conditions = [{ type: 'Progressing', status: 'False', reason: 'SomethingElse', message: 'x' }];
      expect(evaluateRollout(view).state).toBe('progress');
      view.status.conditions = [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'no progress for 10s' }];
      expect(evaluateRollout(view)).toEqual({ state: 'failed', message: 'rollout of web failed: progress deadline exceeded: no progress for 10s' });
    });
  });

  describe('automatic rollback', () => {
    const reason = `no progress for 600s on ${NEW}; back to ${OLD}, the last revision that was fully Ready`;
    /** After autoRollback: the update revision is the old one again, and the set is Ready on it. */
    const rolledBack = (at: number) =>
      set({
        replicas: 2,
        updateRevision: OLD,
        currentRevision: OLD,
        generation: 3,
        instances: [running(0, { revision: OLD }), running(1, { revision: OLD })],
        lastRollback: { from: NEW, to: OLD, at, reason },
      });
    const failed = { state: 'failed', message: `rollout of web failed: rolled back from ${NEW} to ${OLD}: ${reason}` };

    it('fails for a rollback made after the command started, even though the set is Ready again', () => {
      const view = rolledBack(NOW - 1000);
      expect(view.status.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
      expect(view.status.lastRollback).toEqual({ from: NEW, to: OLD, at: new Date(NOW - 1000).toISOString(), reason });
      expect(evaluateRollout(view, { startedAt: NOW - 5000, initialUpdateRevision: OLD })).toEqual(failed);
    });

    it('fails for a rollback away from the revision of the first poll, whatever the clocks say', () => {
      // The server's clock is behind: the rollback seems older than the command.
      expect(evaluateRollout(rolledBack(NOW - 60_000), { startedAt: NOW - 5000, initialUpdateRevision: NEW })).toEqual(failed);
    });

    it('does not count a rollback from before the command started', () => {
      // Already rolled back at the first poll: the rollout watched is the old revision's, and it is Ready.
      expect(evaluateRollout(rolledBack(NOW - 60_000), { startedAt: NOW - 5000, initialUpdateRevision: OLD }).state).toBe('done');
      // An old rollback away from NEW, and the user has applied NEW again since: that rollout is watched.
      const reapplied = set({
        replicas: 2,
        updateRevision: NEW,
        currentRevision: OLD,
        instances: [running(0, { revision: OLD }), running(1, { revision: NEW })],
        lastRollback: { from: NEW, to: OLD, at: NOW - 60_000, reason },
      });
      expect(evaluateRollout(reapplied, { startedAt: NOW - 5000, initialUpdateRevision: NEW }).state).toBe('progress');
      expect(rollbackDuring(reapplied, { startedAt: NOW - 5000, initialUpdateRevision: NEW })).toBeUndefined();
    });

    it('is not judged without a watch (a single look, as ordinal up --demo takes)', () => {
      expect(evaluateRollout(rolledBack(NOW - 1000)).state).toBe('done');
      expect(rolloutProgress(rolledBack(NOW - 1000)).done).toBe(true);
    });

    it('ignores an unreadable time but still applies the first-poll rule', () => {
      const view = rolledBack(NOW);
      view.status.lastRollback!.at = 'soon';
      expect(rollbackDuring(view, { startedAt: NOW - 5000, initialUpdateRevision: OLD })).toBeUndefined();
      expect(rollbackDuring(view, { startedAt: NOW - 5000, initialUpdateRevision: NEW })).toEqual(view.status.lastRollback);
    });

    it('RolloutProgress takes the first poll as the rollout watched', () => {
      const progress = new RolloutProgress(NOW - 5000);
      const first = set({
        replicas: 2,
        updateRevision: NEW,
        currentRevision: OLD,
        instances: [running(0, { revision: OLD }), running(1, { revision: NEW, ready: false })],
      });
      expect(progress.observe(first).verdict.state).toBe('progress');
      // The server's clock is behind ours, so only the first-poll rule can tell.
      const next = progress.observe(rolledBack(NOW - 3_600_000));
      expect(next.verdict).toEqual(failed);
      expect(next.lines).toContain('web-1: Running, Ready (127.77.0.2)');
    });

    it('RolloutProgress told the rollout watched (initialUpdateRevision) fails on a rollback made before its first poll', () => {
      // The CDK custom resource polls in several invocations: the rollback may come between two of them.
      const rolled = rolledBack(NOW - 3_600_000);
      expect(new RolloutProgress(NOW - 5000).observe(rolled).verdict.state).toBe('done');
      expect(new RolloutProgress(NOW - 5000, { initialUpdateRevision: NEW }).observe(rolled).verdict).toEqual(failed);
    });

    it('wins over a deadline exceeded and loses to a deletion', () => {
      const view = rolledBack(NOW - 1000);
      view.status.conditions = [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'x' }];
      expect(evaluateRollout(view, { startedAt: NOW - 5000 })).toEqual(failed);
      view.metadata.deletionRequested = true;
      expect(evaluateRollout(view, { startedAt: NOW - 5000 })).toEqual({ state: 'failed', message: 'set web is being deleted' });
    });
  });

  describe('pause', () => {
    const paused = (flag = true) =>
      set({
        replicas: 3,
        updateRevision: NEW,
        currentRevision: OLD,
        spec: { updateStrategy: { rollingUpdate: { paused: flag } } },
        instances: [running(0, { revision: OLD }), running(1, { revision: OLD }), running(2, { revision: NEW })],
      });
    const message = 'rollout of web is paused; waiting for "ordinal rollout resume web"';

    it('is paused, not failed, while a paused rollout has instances to update', () => {
      const view = paused();
      expect(view.status.phase).toBe('Paused');
      expect(progressing(view)).toMatchObject({ status: 'Unknown', reason: 'RolloutPaused' });
      expect(isPaused(view)).toBe(true);
      expect(evaluateRollout(view, { startedAt: NOW })).toEqual({ state: 'paused', message, summary: '3/3 instances Ready, 1/3 updated' });
      expect(waitingFor(view)).toBe('waiting for the rollout to be resumed ("ordinal rollout resume web")');
      expect(timeoutMessage(view, 60_000)).toBe('timed out after 1m: 3/3 Ready; waiting for the rollout to be resumed ("ordinal rollout resume web")');
    });

    it('is done when paused with nothing left to update', () => {
      const view = set({ replicas: 2, spec: { updateStrategy: { rollingUpdate: { paused: true } } }, instances: [running(0), running(1)] });
      expect(isPaused(view)).toBe(false);
      expect(evaluateRollout(view).state).toBe('done');
    });

    it('is reported once by RolloutProgress, however long it lasts, and the rollout goes on after a resume', () => {
      const progress = new RolloutProgress(NOW);
      const first = progress.observe(paused());
      expect(first.lines).toEqual([
        `web-0: Running, Ready (127.77.0.1), old revision ${OLD}`,
        `web-1: Running, Ready (127.77.0.2), old revision ${OLD}`,
        'web-2: Running, Ready (127.77.0.3)',
        message,
        '3/3 instances Ready, 1/3 updated',
      ]);
      expect(progress.observe(paused()).lines).toEqual([]);
      expect(progress.observe(paused()).verdict.state).toBe('paused');
      const resumed = progress.observe(paused(false));
      expect(resumed.verdict.state).toBe('progress');
      expect(resumed.lines).toEqual([`waiting for web-1 to be updated to revision ${NEW}`]);
    });

    it('shows in the whole picture (ordinal up --demo) as neither done nor failed', () => {
      const picture = rolloutProgress(paused());
      expect([picture.done, picture.failed]).toEqual([false, false]);
      expect(picture.lines.slice(-2)).toEqual([message, '3/3 instances Ready, 1/3 updated']);
    });

    it('waits for the controller before believing a pause', () => {
      const view = paused();
      view.metadata.generation = 2;
      expect(evaluateRollout(view).state).toBe('progress');
    });
  });
});

describe('the StatefulSet fields in rollout status', () => {
  it('counts the wanted ordinals from ordinals.start, skipping reserved ones', () => {
    const spec = { ordinals: { start: 3 }, reserveOrdinals: [4] };
    const view = set({ replicas: 2, spec, instances: [running(3)] });
    expect(wantedOrdinals(view)).toEqual([3, 5]);
    expect(evaluateRollout(view)).toEqual({ state: 'progress', waiting: 'waiting for web-5 to become Ready', summary: '1/2 instances Ready' });
    const reserved = set({ replicas: 2, spec, instances: [running(3), running(4), running(5)] });
    expect(readyCount(reserved)).toBe(2);
    expect(waitingFor(reserved)).toBe('waiting for web-4 to be removed (scaling down to 2)');
    const moved = set({ replicas: 2, spec, instances: [running(3), running(4)] });
    expect(waitingFor(moved)).toBe('waiting for web-4 to be removed (ordinal 4 is not wanted any more)');
    expect(evaluateRollout(set({ replicas: 2, spec, instances: [running(3), running(5)] })).state).toBe('done');
  });

  it('does not wait for instances below the partition', () => {
    const view = set({
      replicas: 3,
      updateRevision: NEW,
      currentRevision: OLD,
      spec: { updateStrategy: { rollingUpdate: { partition: 2 } } },
      instances: [running(0, { revision: OLD }), running(1, { revision: OLD }), running(2, { revision: NEW })],
    });
    expect(evaluateRollout(view).state).toBe('done');
    expect(instanceLine(view, view.status.instances[0])).toBe(`web-0: Running, Ready (127.77.0.1), old revision ${OLD}`);
    // Were it not done yet, the wait would not name an instance the partition keeps.
    view.status.conditions = [];
    expect(waitingFor(view)).toBe('waiting for set web to become Ready');
  });

  it('does not wait for OnDelete instances to be updated', () => {
    const view = set({
      replicas: 2,
      updateRevision: NEW,
      currentRevision: OLD,
      spec: { updateStrategy: { type: 'OnDelete' } },
      instances: [running(0, { revision: OLD }), running(1, { revision: OLD })],
    });
    view.status.conditions = [];
    expect(waitingFor(view)).toBe('waiting for set web to become Ready');
    expect(progressSummary(view)).toBe('2/2 instances Ready, 0/2 updated');
  });

  it('waits for minReadySeconds', () => {
    const view = set({ replicas: 2, spec: { minReadySeconds: 30 }, instances: [running(0, { readySince: NOW - 40_000 }), running(1, { readySince: NOW - 5_000 })] });
    expect(view.status.instances.map((i) => i.available)).toEqual([true, false]);
    expect(evaluateRollout(view)).toEqual({
      state: 'progress',
      waiting: 'waiting for web-1 to be available (Ready for minReadySeconds: 30s)',
      summary: '2/2 instances Ready',
    });
  });

  it("prefers the controller's own account of the wait over the Ready condition", () => {
    const view = set({ replicas: 1, instances: [running(0)] });
    view.status.conditions = [
      { type: 'Ready', status: 'False', reason: 'ReplicasNotReady', message: '1 Ready, 1 wanted' },
      { type: 'Progressing', status: 'True', reason: 'Reconciling', message: "waiting for web-0's DNS record to expire from caches (TTL 5s)" },
    ];
    expect(waitingFor(view)).toBe("waiting for web-0's DNS record to expire from caches (TTL 5s)");
  });

  it('marks cordoned instances', () => {
    const view = set({ replicas: 1, instances: [running(0, { cordoned: true })] });
    expect(instanceLine(view, view.status.instances[0])).toBe('web-0: Running, Ready (127.77.0.1), cordoned');
  });
});

describe('rollout undo', () => {
  const template = (greeting: string) =>
    ({ process: { command: ['node', 'server.js'], env: { GREETING: greeting } }, ports: [], terminationGracePeriodSeconds: 30 }) as RevisionView['template'];

  function revision(number: number, name: string, flags: Partial<RevisionView> = {}): RevisionView {
    return {
      name,
      revision: number,
      generation: number,
      createdAt: new Date(NOW - (100 - number) * 1000).toISOString(),
      current: false,
      update: false,
      replicas: 0,
      template: template(name),
      ...flags,
    };
  }

  function web(updateRevision: string | null): SetView {
    const view = set({ replicas: 1, instances: [running(0)] });
    view.status.updateRevision = updateRevision;
    return view;
  }

  const A = 'web-aaaaaaaaaa';
  const B = 'web-bbbbbbbbbb';
  const C = 'web-cccccccccc';
  const history = [revision(3, C, { update: true }), revision(2, B, { current: true }), revision(1, A)];
  const pick = (view: SetView, revisions: RevisionView[], to?: string) => {
    const target = selectUndoTarget(view, revisions, to);
    return `${target.revision} ${target.name}`;
  };

  it.each([
    ['the previous revision by default', history, C, undefined, `2 ${B}`],
    ['the previous revision, whatever the order of the list', [...history].reverse(), C, undefined, `2 ${B}`],
    ['the previous revision after a rollback renumbered an old template', [revision(3, A, { update: true }), revision(2, B)], A, undefined, `2 ${B}`],
    ['the current revision, mid-rollout', [revision(5, C, { update: true }), revision(4, B, { current: true })], C, undefined, `4 ${B}`],
    ['the previous revision when --to-revision is 0, as kubectl', history, C, '0', `2 ${B}`],
    ['the previous revision when --to-revision is empty', history, C, '', `2 ${B}`],
    ['a revision by number', history, C, '1', `1 ${A}`],
    ['a revision by number, blanks trimmed', history, C, ' 1 ', `1 ${A}`],
    ['a revision by name', history, C, A, `1 ${A}`],
    ['the update revision from the list when the set does not name one', history, null, undefined, `2 ${B}`],
    ['the newest other revision when the update revision is not listed', [revision(2, B), revision(1, A)], C, undefined, `2 ${B}`],
    ['only revisions older than the update revision', [revision(4, A), revision(3, C, { update: true }), revision(2, B)], C, undefined, `2 ${B}`],
  ] as Array<[string, RevisionView[], string | null, string | undefined, string]>)('picks %s', (_label, revisions, update, to, expected) => {
    expect(pick(web(update), revisions, to)).toBe(expected);
  });

  it.each([
    ['no previous revision', [revision(1, A, { update: true, current: true })], A, undefined, 'set web has no previous revision to roll back to'],
    ['no revisions at all', [], A, undefined, 'set web has no previous revision to roll back to'],
    ['the update revision by number', history, C, '3', `revision 3 (${C}) is already the update revision of set web; nothing to undo`],
    ['the update revision by name', history, C, C, `revision 3 (${C}) is already the update revision of set web; nothing to undo`],
    [
      'an unknown number',
      history,
      C,
      '7',
      `set web has no revision 7; it has 3 (${C}), 2 (${B}), 1 (${A}) (see "ordinal rollout history web")`,
    ],
    ['an unknown name', history, C, 'web-zzzzzzzzzz', `set web has no revision web-zzzzzzzzzz; it has 3 (${C}), 2 (${B}), 1 (${A}) (see "ordinal rollout history web")`],
    ['a number of an empty history', [], C, '2', 'set web has no revision 2 (see "ordinal rollout history web")'],
  ] as Array<[string, RevisionView[], string, string | undefined, string]>)('refuses %s', (_label, revisions, update, to, message) => {
    expect(() => selectUndoTarget(web(update), revisions, to)).toThrow(message);
  });

  describe('the merge patch', () => {
    const current = {
      process: { command: ['node', 'server.js', '--new'], env: { GREETING: 'hi', DEBUG: '1', __proto__x: 'y' }, workingDir: '/srv' },
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      readinessProbe: { httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP', httpHeaders: [] }, periodSeconds: 1 },
      terminationGracePeriodSeconds: 10,
    };
    const target = {
      process: { command: ['node', 'server.js'], env: { GREETING: 'hello' } },
      ports: [],
      livenessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 10 },
      terminationGracePeriodSeconds: 30,
    };

    it('turns the current template into the target exactly: removed fields become null', () => {
      const patch = replacementPatch(current, target);
      expect(patch).toEqual({
        process: { command: ['node', 'server.js'], env: { GREETING: 'hello', DEBUG: null, __proto__x: null }, workingDir: null },
        ports: [],
        readinessProbe: null,
        livenessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 10 },
        terminationGracePeriodSeconds: 30,
      });
      expect(applyMergePatch(current, patch)).toEqual(target);
      // A plain merge of the target would have kept the probe and the variable.
      expect(applyMergePatch(current, target)).toHaveProperty('readinessProbe');
    });

    it('changes a probe handler: the old one goes, the new one comes', () => {
      const from = { readinessProbe: { httpGet: { path: '/', port: 80 }, periodSeconds: 1 } };
      const to = { readinessProbe: { tcpSocket: { port: 80 }, periodSeconds: 1 } };
      expect(applyMergePatch(from, replacementPatch(from, to))).toEqual(to);
    });

    it('keeps an env variable named __proto__ an own field', () => {
      const from = JSON.parse('{"env": {"__proto__": "a", "X": "1"}}');
      const to = JSON.parse('{"env": {"__proto__": "b"}}');
      const patch = replacementPatch(from, to) as { env: Record<string, unknown> };
      expect(Object.hasOwn(patch.env, '__proto__')).toBe(true);
      expect(JSON.stringify(patch)).toBe('{"env":{"X":null,"__proto__":"b"}}');
      expect(JSON.stringify(applyMergePatch(from, JSON.parse(JSON.stringify(patch))))).toBe(JSON.stringify(to));
    });

    it('replaces scalars, arrays and anything that is not an object on both sides', () => {
      expect(replacementPatch(1, 2)).toBe(2);
      expect(replacementPatch([1, 2], [3])).toEqual([3]);
      expect(replacementPatch(undefined, { a: 1 })).toEqual({ a: 1 });
      expect(replacementPatch({ a: 1 }, [1])).toEqual([1]);
    });

    it('is a patch of spec.template', () => {
      const view = set({ replicas: 1, instances: [running(0)] });
      const to = revision(1, A);
      const patch = undoPatch(view, to);
      expect(Object.keys(patch)).toEqual(['spec']);
      expect(Object.keys(patch.spec)).toEqual(['template']);
      expect(applyMergePatch(view.spec.template, patch.spec.template)).toEqual(to.template);
    });
  });
});
