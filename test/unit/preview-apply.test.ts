// previewApply: a dry run of the apply update. It answers what the real apply (checkApply, then
// applyManifest) would, and leaves the state exactly as it was.
import { describe, expect, it } from 'vitest';
import { initialState, type SetState } from '../../core/set-state.js';
import { setView } from '../../core/status.js';
import { applyManifest, checkApply, previewApply, requestSetDeletion } from '../../core/transitions.js';
import { NOW, manifest } from './set-fixtures.js';

type Doc = Record<string, any>;

function document(change: (d: Doc) => void = () => {}): Doc {
  const d: Doc = {
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web' },
    spec: { replicas: 2, template: { process: { command: ['node', 'server.mjs'] }, ports: [{ name: 'http', port: 8080 }] } },
  };
  change(d);
  return d;
}

/** `web` applied once (generation 1), at NOW - 1000. */
function existing(): SetState {
  const state = initialState('web');
  applyManifest(state, manifest(2), NOW - 1000);
  return state;
}

function deleting(): SetState {
  const state = existing();
  requestSetDeletion(state);
  return state;
}

const table: Array<{
  case: string;
  state: () => SetState;
  document: Doc;
  expectedGeneration?: number;
  outcome: { created: boolean; generation: number; replicas: number } | { type: string; message: RegExp; paths?: string[] };
}> = [
  { case: 'a new set is created at generation 1', state: () => initialState('web'), document: document(), outcome: { created: true, generation: 1, replicas: 2 } },
  {
    case: 'a spec change is the next generation',
    state: existing,
    document: document((d) => (d.spec.replicas = 5)),
    outcome: { created: false, generation: 2, replicas: 5 },
  },
  {
    case: 'the same manifest leaves the generation as it is',
    state: existing,
    document: document(),
    outcome: { created: false, generation: 1, replicas: 2 },
  },
  {
    case: 'a current generation precondition passes',
    state: existing,
    document: document((d) => (d.spec.replicas = 3)),
    expectedGeneration: 1,
    outcome: { created: false, generation: 2, replicas: 3 },
  },
  {
    case: 'an immutable field change is refused',
    state: existing,
    document: document((d) => (d.spec.serviceName = 'other')),
    outcome: { type: 'InvalidManifest', message: /immutable/, paths: ['spec.serviceName'] },
  },
  {
    case: 'a stale generation is refused',
    state: existing,
    document: document((d) => (d.spec.replicas = 3)),
    expectedGeneration: 7,
    outcome: { type: 'Conflict', message: /at generation 1, not 7/ },
  },
  {
    case: 'a set being deleted is refused',
    state: deleting,
    document: document((d) => (d.spec.replicas = 3)),
    outcome: { type: 'Conflict', message: /being deleted/ },
  },
  {
    case: 'an invalid manifest is refused with its field errors',
    state: existing,
    document: document((d) => (d.spec.replicas = -1)),
    outcome: { type: 'InvalidManifest', message: /invalid/, paths: ['spec.replicas'] },
  },
  {
    case: 'another set name is refused',
    state: existing,
    document: document((d) => (d.metadata.name = 'api')),
    outcome: { type: 'InvalidManifest', message: /invalid/, paths: ['metadata.name'] },
  },
];

describe('previewApply', () => {
  it.each(table)('$case', ({ state: make, document, expectedGeneration, outcome }) => {
    const state = make();
    const before = JSON.stringify(state);
    const preview = previewApply(state, document, expectedGeneration, NOW);

    // The state is never changed, whatever the answer.
    expect(JSON.stringify(state)).toBe(before);
    // The same verdict as the real apply's validator.
    const checked = checkApply(make(), document, expectedGeneration);
    expect(preview.ok).toBe(checked.ok);

    if ('created' in outcome) {
      if (!preview.ok) throw new Error(`refused: ${JSON.stringify(preview.rejection)}`);
      expect(preview.value.created).toBe(outcome.created);
      expect(preview.value.set.metadata.generation).toBe(outcome.generation);
      expect(preview.value.set.spec.replicas).toBe(outcome.replicas);
      // Exactly what the real apply would answer.
      const real = make();
      const { created } = applyManifest(real, (checked as { value: any }).value, NOW);
      expect(preview.value).toEqual({ set: setView(real, NOW), created });
    } else {
      if (preview.ok) throw new Error(`accepted: ${JSON.stringify(preview.value.set.metadata)}`);
      expect(preview.rejection).toEqual((checked as { rejection: unknown }).rejection);
      expect(preview.rejection.type).toBe(outcome.type);
      expect(preview.rejection.message).toMatch(outcome.message);
      if (outcome.paths) expect(preview.rejection.details?.map((d) => d.path)).toEqual(outcome.paths);
    }
  });

  it('a template change previews the new update revision without adding it to the state', () => {
    const state = existing();
    const preview = previewApply(state, document((d) => (d.spec.template.process.env = { MODE: 'new' })), undefined, NOW);
    if (!preview.ok) throw new Error('refused');
    expect(preview.value.set.status.updateRevision).not.toBe(state.updateRevision);
    expect(state.revisions).toHaveLength(1);
  });
});
