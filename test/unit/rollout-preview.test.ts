// previewRollout: the rollout an apply would start, worked out by the planner on a copy of the state as
// if every instance became Ready at once. Each case: a set as it runs, a manifest, the steps expected.
import { describe, expect, it } from 'vitest';
import { desiredOrdinals } from '../../core/manifest.js';
import { previewRollout, type RolloutPreview } from '../../core/rollout-preview.js';
import { initialState, type SetState } from '../../core/set-state.js';
import { applyManifest, checkApply, noteSettled } from '../../core/transitions.js';
import { NOW } from './set-fixtures.js';

type Doc = Record<string, any>;

function document(change: (spec: Doc) => void = () => {}): Doc {
  const spec: Doc = {
    replicas: 3,
    template: { process: { command: ['node', 'server.mjs', '--v1'] }, ports: [{ name: 'http', port: 8080 }] },
  };
  change(spec);
  return { apiVersion: 'ordinal.dev/v1', kind: 'StatefulSet', metadata: { name: 'web' }, spec };
}

const v2 = (spec: Doc) => (spec.template.process.command = ['node', 'server.mjs', '--v2']);

/** `web` applied from `doc`, every wanted instance running its revision and Ready, the rollout settled. */
function running(doc: Doc): SetState {
  const state = initialState('web');
  const checked = checkApply(state, doc);
  if (!checked.ok) throw new Error(checked.rejection.message);
  applyManifest(state, checked.value, NOW - 60_000);
  state.instances = desiredOrdinals(state.manifest!.spec).map((ordinal) => ({
    ordinal,
    incarnation: 1,
    revision: state.updateRevision!,
    phase: 'Running' as const,
    ready: true,
    readySince: NOW - 30_000,
    restarts: 0,
    consecutiveFailures: 0,
    handle: { ordinal, incarnation: 1, revision: state.updateRevision!, address: `127.0.0.${ordinal + 1}`, startedAt: NOW - 30_000 },
  }));
  state.observedGeneration = state.generation;
  noteSettled(state);
  return state;
}

/** The steps as short text, revisions as v1/v2 (the templates differ only in their version argument). */
function steps(preview: RolloutPreview, state: SetState): string[] {
  const v = (revision: string | undefined) => (revision === state.updateRevision ? 'v1' : revision === preview.toRevision ? 'v2' : revision);
  return preview.steps.map((s) => {
    const names = s.instances.join(',');
    if (s.action === 'replace') return `replace ${names} ${v(s.fromRevision)}->${v(s.toRevision)}`;
    if (s.action === 'create') return `create ${names}`;
    return `remove ${names}`;
  });
}

const cases: Array<{
  case: string;
  state: () => SetState;
  document: Doc;
  steps: string[];
  constraints?: RegExp[];
  kept?: string[];
  dns?: { added: string[]; removed: string[] };
  changed?: boolean;
}> = [
  {
    case: 'a new set: created lowest ordinal first, one at a time',
    state: () => initialState('web'),
    document: document(),
    steps: ['create web-0', 'create web-1', 'create web-2'],
    constraints: [/^OrderedReady/],
    dns: {
      added: ['_http._tcp.web.ordinal.internal SRV', 'web-0.web.ordinal.internal A', 'web-1.web.ordinal.internal A', 'web-2.web.ordinal.internal A', 'web.ordinal.internal A'],
      removed: [],
    },
  },
  {
    case: 'scale up: the new ordinals, in order',
    state: () => running(document()),
    document: document((s) => (s.replicas = 5)),
    steps: ['create web-3', 'create web-4'],
    dns: { added: ['web-3.web.ordinal.internal A', 'web-4.web.ordinal.internal A'], removed: [] },
  },
  {
    case: 'scale down: highest ordinal first',
    state: () => running(document((s) => (s.replicas = 5))),
    document: document((s) => (s.replicas = 2)),
    steps: ['remove web-4', 'remove web-3', 'remove web-2'],
    dns: { added: [], removed: ['web-2.web.ordinal.internal A', 'web-3.web.ordinal.internal A', 'web-4.web.ordinal.internal A'] },
  },
  {
    case: 'a rolling update: highest ordinal first',
    state: () => running(document()),
    document: document(v2),
    steps: ['replace web-2 v1->v2', 'replace web-1 v1->v2', 'replace web-0 v1->v2'],
    dns: { added: [], removed: [] },
  },
  {
    case: 'a rolling update with a partition: ordinals below it keep their revision',
    state: () => running(document((s) => (s.replicas = 4))),
    document: document((s) => {
      s.replicas = 4;
      v2(s);
      s.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 2 } };
    }),
    steps: ['replace web-3 v1->v2', 'replace web-2 v1->v2'],
    constraints: [/^partition 2: web-0, web-1 keep revision web-/],
    kept: ['web-0', 'web-1'],
  },
  {
    case: 'a partition of 1: one instance keeps its revision',
    state: () => running(document()),
    document: document((s) => {
      v2(s);
      s.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { partition: 1 } };
    }),
    steps: ['replace web-2 v1->v2', 'replace web-1 v1->v2'],
    constraints: [/^partition 1: web-0 keeps revision web-/],
    kept: ['web-0'],
  },
  {
    case: 'maxUnavailable 2: two replaced at once',
    state: () => running(document((s) => (s.replicas = 4))),
    document: document((s) => {
      s.replicas = 4;
      v2(s);
      s.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 2 } };
    }),
    steps: ['replace web-3,web-2 v1->v2', 'replace web-1,web-0 v1->v2'],
    constraints: [/^maxUnavailable 2: up to 2 instances replaced at once/],
  },
  {
    case: 'Parallel: a scale-up at once',
    state: () => running(document((s) => (s.podManagementPolicy = 'Parallel'))),
    document: document((s) => {
      s.podManagementPolicy = 'Parallel';
      s.replicas = 6;
    }),
    steps: ['create web-3,web-4,web-5'],
    constraints: [/^Parallel/],
  },
  {
    case: 'Parallel: a scale-down at once, highest first',
    state: () => running(document((s) => (s.podManagementPolicy = 'Parallel'))),
    document: document((s) => {
      s.podManagementPolicy = 'Parallel';
      s.replicas = 1;
    }),
    steps: ['remove web-2,web-1'],
  },
  {
    case: 'paused: a new revision replaces nothing, a scale-up still creates',
    state: () => running(document()),
    document: document((s) => {
      v2(s);
      s.replicas = 4;
      s.updateStrategy = { type: 'RollingUpdate', rollingUpdate: { paused: true } };
    }),
    steps: ['create web-3'],
    constraints: [/^paused: no instance is replaced/],
    kept: ['web-0', 'web-1', 'web-2'],
  },
  {
    case: 'OnDelete: nothing is replaced until deleted',
    state: () => running(document((s) => (s.updateStrategy = { type: 'OnDelete' }))),
    document: document((s) => {
      v2(s);
      s.updateStrategy = { type: 'OnDelete' };
    }),
    steps: [],
    constraints: [/^OnDelete: no instance is replaced until it is deleted/],
    kept: ['web-0', 'web-1', 'web-2'],
  },
  {
    case: 'minReadySeconds: the same order, each waiting its time',
    state: () => running(document((s) => (s.minReadySeconds = 10))),
    document: document((s) => {
      s.minReadySeconds = 10;
      v2(s);
    }),
    steps: ['replace web-2 v1->v2', 'replace web-1 v1->v2', 'replace web-0 v1->v2'],
    constraints: [/^minReadySeconds 10/],
  },
  {
    case: 'no change: no step',
    state: () => running(document()),
    document: document(),
    steps: [],
    changed: false,
    dns: { added: [], removed: [] },
  },
];

describe('previewRollout', () => {
  for (const c of cases) {
    it(c.case, () => {
      const state = c.state();
      const before = JSON.stringify(state);
      const result = previewRollout(state, c.document, undefined, NOW);
      if (!result.ok) throw new Error(result.rejection.message);
      const preview = result.value;
      expect(steps(preview, state)).toEqual(c.steps);
      expect(preview.complete).toBe(true);
      expect(preview.changed).toBe(c.changed ?? true);
      for (const pattern of c.constraints ?? []) expect(preview.constraints.some((text) => pattern.test(text)), `${pattern} in ${preview.constraints.join(' | ')}`).toBe(true);
      expect(preview.kept.map((k) => k.instance)).toEqual(c.kept ?? []);
      if (c.dns) expect(preview.dns).toEqual(c.dns);
      // A query handler calls it: the state is left exactly as it was.
      expect(JSON.stringify(state)).toBe(before);
    });
  }

  it('a new set is previewed with created and its would-be set', () => {
    const result = previewRollout(initialState('web'), document(), undefined, NOW);
    if (!result.ok) throw new Error(result.rejection.message);
    expect(result.value.created).toBe(true);
    expect(result.value.fromRevision).toBeUndefined();
    expect(result.value.set.spec.replicas).toBe(3);
    expect(result.value.set.metadata.generation).toBe(1);
  });

  it('answers the rejection the apply would meet', () => {
    const result = previewRollout(running(document()), document((s) => (s.replicas = -1)), undefined, NOW);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.rejection.type).toBe('InvalidManifest');
    const stale = previewRollout(running(document()), document(), 7, NOW);
    expect(!stale.ok && stale.rejection.type).toBe('Conflict');
  });
});
