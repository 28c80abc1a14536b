// `ordinal rollout status`'s decisions, from sets built the way the workflow builds them (core's
// setView over a SetState), plus a few hand-made views for shapes the core does not produce.
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../core/manifest.js';
import { setView, type InstanceState, type SetState, type SetView } from '../../core/set-state.js';
import {
  RolloutProgress,
  evaluateRollout,
  goneMessage,
  instanceLine,
  progressSummary,
  readyCount,
  rolloutProgress,
  timeoutMessage,
  waitingFor,
} from '../../cli/rollout.js';

const NOW = 1_700_000_000_000;
const OLD = 'web-0ld0ld0ld';
const NEW = 'web-5f1c2e9a0b';

function manifest(replicas: number) {
  const parsed = parseManifest({
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web' },
    spec: { replicas, template: { process: { command: ['node', 'server.js'] } } },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

type Instance = Partial<InstanceState> & { ordinal: number };

/** An instance of the current revision, Running and Ready unless told otherwise. */
function running(ordinal: number, overrides: Partial<InstanceState> = {}): Instance {
  return { ordinal, phase: 'Running', ready: true, ...overrides };
}

function pending(ordinal: number, overrides: Partial<InstanceState> = {}): Instance {
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
}): SetView {
  const generation = options.generation ?? 1;
  const state: SetState = {
    name: 'web',
    manifest: manifest(options.replicas),
    generation,
    createdAt: NOW - 60_000,
    updateRevision: options.updateRevision ?? NEW,
    currentRevision: options.currentRevision ?? options.updateRevision ?? NEW,
    revisions: [],
    instances: options.instances.map((i): InstanceState => {
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
      };
    }),
    publishedNames: [],
    deleting: options.deleting ?? false,
    observedGeneration: options.observedGeneration ?? generation,
  };
  return setView(state, NOW);
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
