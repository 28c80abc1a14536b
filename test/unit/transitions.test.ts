import { describe, expect, it } from 'vitest';
import { recordsFingerprint } from '../../core/dns-records.js';
import { plan, recordsFor } from '../../core/planner.js';
import type { InstanceHandle } from '../../activities/drivers/driver.js';
import { parseManifest, type Manifest } from '../../core/manifest.js';
import type { Action } from '../../core/planner.js';
import { revisionName } from '../../core/revision.js';
import type { InstanceChange, InstanceState } from '../../core/instance.js';
import { initialState, type SetState } from '../../core/set-state.js';
import { setStatus } from '../../core/status.js';
import {
  adoptInstances,
  applyChanges,
  type ApplyChangesOptions,
  applyCreateFailed,
  applyCreated,
  applyDeleted,
  applyManifest,
  DNS_RETRY_MS,
  applyPublished,
  checkApply,
  checkDeleteInstance,
  markCreating,
  markDeleting,
  requestInstanceDeletion,
  requestSetDeletion,
  templateOf,
  upgradeState,
} from '../../core/transitions.js';

const NOW = 1_700_000_000_000;

type Doc = Record<string, any>;

function document(patch: { replicas?: number; template?: Doc; metadata?: Doc; spec?: Doc; name?: string } = {}): Doc {
  return {
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name: patch.name ?? 'web', ...patch.metadata },
    spec: {
      replicas: patch.replicas ?? 3,
      template: { process: { command: ['node', 'server.mjs'] }, ports: [{ name: 'http', port: 8080 }], ...patch.template },
      ...patch.spec,
    },
  };
}

function manifest(patch: Parameters<typeof document>[0] = {}): Manifest {
  const parsed = parseManifest(document(patch));
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

/** A template that differs by one env value per version number. */
const version = (v: number): Doc => ({ process: { command: ['node', 'server.mjs'], env: { VERSION: String(v) } } });

function appliedSet(patch: Parameters<typeof document>[0] = {}): SetState {
  const state = initialState('web');
  applyManifest(state, manifest(patch), NOW - 60_000);
  return state;
}

function handle(ordinal: number, incarnation = 1, revision = 'web-rev', patch: Partial<InstanceHandle> = {}): InstanceHandle {
  return {
    set: 'web',
    ordinal,
    incarnation,
    revision,
    address: `127.77.${incarnation}.${ordinal + 1}`,
    pid: 1000 + ordinal,
    startedAt: NOW - 1_000,
    logPath: `/tmp/web-${ordinal}-${incarnation}.log`,
    ...patch,
  };
}

function instanceOf(state: SetState, patch: Partial<InstanceState> & { ordinal: number }): InstanceState {
  const incarnation = patch.incarnation ?? 1;
  return {
    incarnation,
    revision: state.updateRevision!,
    phase: 'Running',
    ready: true,
    readySince: NOW - 5_000,
    handle: handle(patch.ordinal, incarnation, state.updateRevision!),
    restarts: 0,
    consecutiveFailures: 0,
    ...patch,
  };
}

const find = (state: SetState, ordinal: number) => state.instances.find((i) => i.ordinal === ordinal);

// ---- checkApply ----

describe('checkApply', () => {
  it('accepts a valid manifest for the set', () => {
    const result = checkApply(initialState('web'), document());
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.value).toEqual(manifest());
  });

  it('accepts the matching expectedGeneration', () => {
    const state = appliedSet();
    expect(checkApply(state, document({ replicas: 5 }), 1).ok).toBe(true);
  });

  it('accepts expectedGeneration 0 for a set not yet applied', () => {
    expect(checkApply(initialState('web'), document(), 0).ok).toBe(true);
  });

  const rejections: Array<{
    name: string;
    state: () => SetState;
    document: unknown;
    expectedGeneration?: number;
    type: string;
    message: string | RegExp;
    details?: Array<{ path: string; message: string | RegExp }>;
  }> = [
    {
      name: 'while the set is being deleted: Conflict',
      state: () => {
        const s = appliedSet();
        requestSetDeletion(s);
        return s;
      },
      document: document(),
      type: 'Conflict',
      message: "set 'web' is being deleted; apply again once it is gone",
    },
    {
      name: 'deleting wins over an invalid manifest',
      state: () => {
        const s = appliedSet();
        s.deleting = true;
        return s;
      },
      document: { nonsense: true },
      type: 'Conflict',
      message: /being deleted/,
    },
    {
      name: 'a stale expectedGeneration: Conflict naming both generations',
      state: () => {
        const s = appliedSet();
        applyManifest(s, manifest({ replicas: 5 }), NOW);
        return s;
      },
      document: document(),
      expectedGeneration: 1,
      type: 'Conflict',
      message: "set 'web' is at generation 2, not 1: it changed meanwhile; read it again and retry",
    },
    {
      name: 'an expectedGeneration from the future: Conflict',
      state: () => appliedSet(),
      document: document(),
      expectedGeneration: 7,
      type: 'Conflict',
      message: /at generation 1, not 7/,
    },
    {
      name: 'a stale generation is checked before validity',
      state: () => appliedSet(),
      document: { nonsense: true },
      expectedGeneration: 0,
      type: 'Conflict',
      message: /at generation 1, not 0/,
    },
    {
      name: 'an invalid manifest: InvalidManifest with field details',
      state: () => appliedSet(),
      document: document({ replicas: -1 }),
      type: 'InvalidManifest',
      message: 'the manifest is invalid',
      details: [{ path: 'spec.replicas', message: 'must be at least 0' }],
    },
    {
      name: 'several invalid fields: each in the details',
      state: () => initialState('web'),
      document: { ...document({ replicas: 1.5 }), extra: 1 },
      type: 'InvalidManifest',
      message: 'the manifest is invalid',
      details: [
        { path: 'spec.replicas', message: 'must be an integer' },
        { path: 'extra', message: 'unknown field' },
      ],
    },
    {
      name: 'an unknown podManagementPolicy',
      state: () => initialState('web'),
      document: document({ spec: { podManagementPolicy: 'Random' } }),
      type: 'InvalidManifest',
      message: 'the manifest is invalid',
      details: [{ path: 'spec.podManagementPolicy', message: 'must be OrderedReady or Parallel' }],
    },
    {
      name: 'a change of serviceName (immutable)',
      state: () => appliedSet(),
      document: document({ spec: { serviceName: 'other' } }),
      type: 'InvalidManifest',
      message: 'the manifest changes immutable fields',
      details: [{ path: 'spec.serviceName', message: /cannot change once the set exists/ }],
    },
    {
      name: 'a change of volumeClaimTemplates (immutable)',
      state: () => appliedSet(),
      document: document({ spec: { volumeClaimTemplates: [{ metadata: { name: 'data' } }] } }),
      type: 'InvalidManifest',
      message: 'the manifest changes immutable fields',
      details: [{ path: 'spec.volumeClaimTemplates', message: /cannot change once the set exists/ }],
    },
    {
      name: 'a document that is not an object',
      state: () => initialState('web'),
      document: 'web',
      type: 'InvalidManifest',
      message: 'the manifest is invalid',
      details: [{ path: '', message: /object/ }],
    },
    {
      name: 'a metadata.name that differs from the set',
      state: () => initialState('web'),
      document: document({ name: 'api' }),
      type: 'InvalidManifest',
      message: 'the manifest is invalid',
      details: [{ path: 'metadata.name', message: "must be 'web', the name of the set it is applied to" }],
    },
    {
      name: 'a renamed manifest applied to an existing set',
      state: () => appliedSet(),
      document: document({ name: 'web2' }),
      expectedGeneration: 1,
      type: 'InvalidManifest',
      message: 'the manifest is invalid',
      details: [{ path: 'metadata.name', message: /must be 'web'/ }],
    },
    {
      // As the HTTP API reports it: a client updating the workflow directly gets the same issues.
      name: 'a replica count of 2^53 by its range alone, with the other issues',
      state: () => initialState('web'),
      document: document({ replicas: 2 ** 53, template: { ports: [{ name: 'http', port: 0 }] } }),
      type: 'InvalidManifest',
      message: 'the manifest is invalid',
      details: [
        { path: 'spec.replicas', message: 'must be at most 1000' },
        { path: 'spec.template.ports[0].port', message: 'must be at least 1' },
      ],
    },
  ];
  for (const c of rejections) {
    it(`rejects ${c.name}`, () => {
      const state = c.state();
      const before = structuredClone(state);
      const result = checkApply(state, c.document, c.expectedGeneration);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.rejection.type).toBe(c.type);
      if (typeof c.message === 'string') expect(result.rejection.message).toBe(c.message);
      else expect(result.rejection.message).toMatch(c.message);
      if (c.details) {
        expect(result.rejection.details).toHaveLength(c.details.length);
        expect(result.rejection.details).toEqual(
          expect.arrayContaining(
            c.details.map((d) => ({ path: d.path, message: typeof d.message === 'string' ? d.message : expect.stringMatching(d.message) })),
          ),
        );
      } else {
        expect(result.rejection.details).toBeUndefined();
      }
      // A check never changes the state.
      expect(state).toEqual(before);
    });
  }
});

// ---- applyManifest ----

describe('applyManifest', () => {
  it('first apply creates the set at generation 1', () => {
    const state = initialState('web');
    const m = manifest();
    expect(applyManifest(state, m, NOW)).toEqual({ created: true });
    expect(state.manifest).toEqual(m);
    expect(state.generation).toBe(1);
    expect(state.createdAt).toBe(NOW);
    expect(state.updateRevision).toBe(revisionName('web', m.spec.template));
    expect(state.currentRevision).toBe(state.updateRevision);
    expect(state.revisions).toEqual([{ name: state.updateRevision, number: 1, template: m.spec.template, generation: 1, createdAt: NOW }]);
  });

  const steps: Array<{
    name: string;
    then: Parameters<typeof document>[0];
    generation: number;
    sameRevision: boolean;
    revisions: number;
  }> = [
    { name: 're-applying the same spec keeps the generation', then: {}, generation: 1, sameRevision: true, revisions: 1 },
    { name: 'explicit defaults are the same spec', then: { spec: { podManagementPolicy: 'OrderedReady', dns: { zone: 'ordinal.internal', ttl: 5 } } }, generation: 1, sameRevision: true, revisions: 1 },
    { name: 'label-only changes do not bump the generation', then: { metadata: { labels: { tier: 'frontend' } } }, generation: 1, sameRevision: true, revisions: 1 },
    { name: 'annotation-only changes do not bump the generation', then: { metadata: { annotations: { note: 'x' } } }, generation: 1, sameRevision: true, revisions: 1 },
    { name: 'changing replicas bumps the generation but keeps the revision', then: { replicas: 5 }, generation: 2, sameRevision: true, revisions: 1 },
    { name: 'changing the service name bumps the generation only', then: { spec: { serviceName: 'websvc' } }, generation: 2, sameRevision: true, revisions: 1 },
    { name: 'changing the dns ttl bumps the generation only', then: { spec: { dns: { ttl: 30 } } }, generation: 2, sameRevision: true, revisions: 1 },
    { name: 'changing the template makes a new revision', then: { template: version(2) }, generation: 2, sameRevision: false, revisions: 2 },
    { name: 'changing a probe makes a new revision', then: { template: { readinessProbe: { tcpSocket: { port: 'http' } } } }, generation: 2, sameRevision: false, revisions: 2 },
    { name: 'changing the grace period makes a new revision', then: { template: { terminationGracePeriodSeconds: 5 } }, generation: 2, sameRevision: false, revisions: 2 },
  ];
  for (const c of steps) {
    it(c.name, () => {
      const state = appliedSet();
      const first = state.updateRevision;
      expect(applyManifest(state, manifest(c.then), NOW)).toEqual({ created: false });
      expect(state.generation).toBe(c.generation);
      expect(state.updateRevision === first).toBe(c.sameRevision);
      expect(state.currentRevision).toBe(first);
      expect(state.revisions).toHaveLength(c.revisions);
      // The newest manifest is kept either way (labels included).
      expect(state.manifest).toEqual(manifest(c.then));
      // The creation time does not move.
      expect(state.createdAt).toBe(NOW - 60_000);
    });
  }

  it('a new revision records the generation that introduced it', () => {
    const state = appliedSet();
    applyManifest(state, manifest({ template: version(2) }), NOW);
    expect(state.revisions.find((r) => r.name === state.updateRevision)).toMatchObject({ generation: 2, template: manifest({ template: version(2) }).spec.template });
  });

  it('going back to the old template reuses the old revision name (rollback)', () => {
    const state = initialState('web');
    applyManifest(state, manifest({ template: version(1) }), NOW);
    const v1 = state.updateRevision!;
    applyManifest(state, manifest({ template: version(2) }), NOW);
    const v2 = state.updateRevision!;
    expect(v2).not.toBe(v1);
    applyManifest(state, manifest({ template: version(1) }), NOW);
    expect(state.generation).toBe(3);
    expect(state.updateRevision).toBe(v1);
    expect(state.revisions.map((r) => r.name).sort()).toEqual([v1, v2].sort());
    expect(state.revisions.find((r) => r.name === v1)?.generation).toBe(3);
  });

  it('the same template gets the same revision name in two sets of the same name', () => {
    const a = appliedSet({ template: version(7) });
    const b = initialState('web');
    applyManifest(b, manifest({ template: version(7) }), NOW + 1);
    expect(a.updateRevision).toBe(b.updateRevision);
  });

  it('revisions beyond revisionHistoryLimit (default 10) are pruned, oldest first', () => {
    const state = initialState('web');
    const names: string[] = [];
    for (let v = 0; v <= 15; v++) {
      applyManifest(state, manifest({ template: version(v) }), NOW);
      names.push(state.updateRevision!);
    }
    // current (v0) + update (v15) + the 10 newest unused (v5..v14).
    const kept = new Set(state.revisions.map((r) => r.name));
    expect(state.revisions).toHaveLength(12);
    expect(kept.has(names[0])).toBe(true);
    expect(kept.has(names[15])).toBe(true);
    for (let v = 5; v <= 14; v++) expect(kept.has(names[v])).toBe(true);
    for (let v = 1; v <= 4; v++) expect(kept.has(names[v])).toBe(false);
  });

  it('revisions that instances still run are kept however old', () => {
    const state = initialState('web');
    const names: string[] = [];
    applyManifest(state, manifest({ template: version(0) }), NOW);
    names.push(state.updateRevision!);
    applyManifest(state, manifest({ template: version(1) }), NOW);
    names.push(state.updateRevision!);
    state.instances.push(instanceOf(state, { ordinal: 0, revision: names[1] }));
    for (let v = 2; v <= 20; v++) {
      applyManifest(state, manifest({ template: version(v) }), NOW);
      names.push(state.updateRevision!);
    }
    const kept = new Set(state.revisions.map((r) => r.name));
    expect(kept.has(names[0])).toBe(true); // currentRevision
    expect(kept.has(names[1])).toBe(true); // run by web-0
    expect(kept.has(names[20])).toBe(true); // updateRevision
    expect(state.revisions).toHaveLength(3 + 10);
    expect(kept.has(names[2])).toBe(false);
    expect(templateOf(state, names[1])).toEqual(manifest({ template: version(1) }).spec.template);
  });

  it('a pruned revision comes back under the same name when its template is applied again', () => {
    const state = initialState('web');
    const names: string[] = [];
    for (let v = 0; v <= 13; v++) {
      applyManifest(state, manifest({ template: version(v) }), NOW);
      names.push(state.updateRevision!);
    }
    expect(state.revisions.some((r) => r.name === names[1])).toBe(false);
    applyManifest(state, manifest({ template: version(1) }), NOW);
    expect(state.updateRevision).toBe(names[1]);
    expect(state.revisions.find((r) => r.name === names[1])).toMatchObject({ generation: 15 });
  });
});

// ---- deletion requests ----

describe('checkDeleteInstance', () => {
  const withInstances = () => {
    const s = appliedSet();
    s.instances.push(instanceOf(s, { ordinal: 0 }), instanceOf(s, { ordinal: 1 }));
    return s;
  };

  const cases: Array<{ name: string; ordinal: unknown; deleting?: boolean; expected: { type: string; message: string | RegExp; details?: unknown } | undefined }> = [
    { name: 'an existing instance', ordinal: 1, expected: undefined },
    { name: 'ordinal 0', ordinal: 0, expected: undefined },
    {
      name: 'a fractional ordinal',
      ordinal: 1.5,
      expected: { type: 'BadRequest', message: 'ordinal must be a non-negative integer', details: [{ path: 'ordinal', message: 'must be a non-negative integer' }] },
    },
    { name: 'a negative ordinal', ordinal: -1, expected: { type: 'BadRequest', message: 'ordinal must be a non-negative integer' } },
    { name: 'a numeric string', ordinal: '1', expected: { type: 'BadRequest', message: 'ordinal must be a non-negative integer' } },
    { name: 'NaN', ordinal: Number.NaN, expected: { type: 'BadRequest', message: 'ordinal must be a non-negative integer' } },
    { name: 'Infinity', ordinal: Infinity, expected: { type: 'BadRequest', message: 'ordinal must be a non-negative integer' } },
    { name: 'null', ordinal: null, expected: { type: 'BadRequest', message: 'ordinal must be a non-negative integer' } },
    { name: 'an unknown ordinal', ordinal: 5, expected: { type: 'NotFound', message: 'instance web-5 does not exist' } },
    { name: 'the ordinal just above the highest', ordinal: 2, expected: { type: 'NotFound', message: 'instance web-2 does not exist' } },
    { name: 'while deleting the set', ordinal: 1, deleting: true, expected: { type: 'Conflict', message: "set 'web' is being deleted" } },
    { name: 'an unknown ordinal while deleting', ordinal: 9, deleting: true, expected: { type: 'Conflict', message: /being deleted/ } },
    { name: 'an invalid ordinal while deleting', ordinal: -1, deleting: true, expected: { type: 'BadRequest', message: /non-negative integer/ } },
  ];
  for (const c of cases) {
    it(`${c.name} -> ${c.expected ? c.expected.type : 'accepted'}`, () => {
      const state = withInstances();
      state.deleting = c.deleting ?? false;
      const rejection = checkDeleteInstance(state, c.ordinal);
      if (c.expected === undefined) {
        expect(rejection).toBeUndefined();
        return;
      }
      expect(rejection?.type).toBe(c.expected.type);
      if (typeof c.expected.message === 'string') expect(rejection?.message).toBe(c.expected.message);
      else expect(rejection?.message).toMatch(c.expected.message);
      if (c.expected.details) expect(rejection?.details).toEqual(c.expected.details);
    });
  }

  it('requestInstanceDeletion marks only that instance', () => {
    const state = withInstances();
    requestInstanceDeletion(state, 1);
    expect(find(state, 1)?.deleteRequested).toBe(true);
    expect(find(state, 0)?.deleteRequested).toBeUndefined();
    requestInstanceDeletion(state, 7); // unknown: nothing happens
    expect(state.instances).toHaveLength(2);
  });

  it('requestSetDeletion marks the set', () => {
    const state = withInstances();
    requestSetDeletion(state);
    expect(state.deleting).toBe(true);
  });
});

// ---- observations ----

const createAction = (ordinal: number, incarnation: number, revision: string): Extract<Action, { kind: 'create' }> => ({
  kind: 'create',
  ordinal,
  incarnation,
  revision,
});

describe('markCreating', () => {
  it('shows a new instance as Pending while it starts', () => {
    const state = appliedSet();
    markCreating(state, createAction(0, 1, state.updateRevision!));
    expect(state.instances).toEqual([
      { ordinal: 0, incarnation: 0, revision: state.updateRevision, phase: 'Pending', ready: false, restarts: 0, consecutiveFailures: 0, backoffUntil: undefined, lastError: undefined, deleteRequested: undefined },
    ]);
  });

  it('keeps the counters of an existing instance', () => {
    const state = appliedSet();
    state.instances.push(instanceOf(state, { ordinal: 0, phase: 'Pending', ready: false, handle: undefined, incarnation: 3, restarts: 2, consecutiveFailures: 2, lastError: 'boom' }));
    markCreating(state, createAction(0, 4, state.updateRevision!));
    expect(find(state, 0)).toMatchObject({ incarnation: 3, restarts: 2, consecutiveFailures: 2, lastError: 'boom', phase: 'Pending' });
  });
});

describe('applyCreated', () => {
  const cases: Array<{ name: string; template: Doc; ready: boolean }> = [
    { name: 'without a readiness probe: Ready at once', template: {}, ready: true },
    { name: 'with only a liveness probe: Ready at once', template: { livenessProbe: { tcpSocket: { port: 'http' } } }, ready: true },
    { name: 'with a readiness probe: not Ready yet', template: { readinessProbe: { httpGet: { port: 'http', path: '/healthz' } } }, ready: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const state = appliedSet({ template: c.template });
      const rev = state.updateRevision!;
      const h = handle(0, 1, rev);
      applyCreated(state, createAction(0, 1, rev), h);
      expect(state.instances).toHaveLength(1);
      expect(find(state, 0)).toMatchObject({ ordinal: 0, incarnation: 1, revision: rev, phase: 'Running', ready: c.ready, handle: h, restarts: 0, consecutiveFailures: 0 });
      expect(find(state, 0)?.readySince).toBe(c.ready ? h.startedAt : undefined);
      expect(find(state, 0)?.backoffUntil).toBeUndefined();
    });
  }

  it('with a readiness probe, a create that saw the instance Ready records it Ready from then on', () => {
    const state = appliedSet({ template: { readinessProbe: { httpGet: { port: 'http', path: '/healthz' } } } });
    const rev = state.updateRevision!;
    state.progressAt = NOW - 60_000;
    applyCreated(state, createAction(0, 1, rev), handle(0, 1, rev), NOW);
    expect(find(state, 0)).toMatchObject({ phase: 'Running', ready: true, readySince: NOW, incarnation: 1 });
    expect(state.progressAt).toBe(NOW);
  });

  it('without a readiness probe, Ready since it started, whatever the create saw', () => {
    const state = appliedSet();
    const rev = state.updateRevision!;
    const h = handle(0, 1, rev);
    applyCreated(state, createAction(0, 1, rev), h, NOW);
    expect(find(state, 0)).toMatchObject({ ready: true, readySince: h.startedAt });
  });

  it('a recreated instance keeps its restarts, failure count and last error, and ends its back-off', () => {
    const state = appliedSet();
    const rev = state.updateRevision!;
    state.instances.push(instanceOf(state, { ordinal: 1, phase: 'Pending', ready: false, handle: undefined, incarnation: 2, restarts: 2, consecutiveFailures: 2, backoffUntil: NOW - 1, lastError: 'exited with code 1' }));
    applyCreated(state, createAction(1, 3, rev), handle(1, 3, rev));
    expect(find(state, 1)).toMatchObject({ incarnation: 3, phase: 'Running', restarts: 2, consecutiveFailures: 2, lastError: 'exited with code 1' });
    expect(find(state, 1)?.backoffUntil).toBeUndefined();
    expect(find(state, 1)?.handle?.address).toBe('127.77.3.2');
  });

  it('uses the template of the revision it was created with', () => {
    const state = appliedSet({ template: { readinessProbe: { tcpSocket: { port: 'http' } } } });
    const withProbe = state.updateRevision!;
    applyManifest(state, manifest({}), NOW);
    const withoutProbe = state.updateRevision!;
    applyCreated(state, createAction(0, 1, withProbe), handle(0, 1, withProbe));
    applyCreated(state, createAction(1, 1, withoutProbe), handle(1, 1, withoutProbe));
    expect(find(state, 0)?.ready).toBe(false);
    expect(find(state, 1)?.ready).toBe(true);
  });

  it('keeps instances sorted by ordinal', () => {
    const state = appliedSet();
    const rev = state.updateRevision!;
    for (const ordinal of [2, 0, 1]) applyCreated(state, createAction(ordinal, 1, rev), handle(ordinal, 1, rev));
    expect(state.instances.map((i) => i.ordinal)).toEqual([0, 1, 2]);
  });

  it('keeps a pending user delete request', () => {
    const state = appliedSet();
    const rev = state.updateRevision!;
    state.instances.push(instanceOf(state, { ordinal: 0, phase: 'Pending', ready: false, deleteRequested: true }));
    applyCreated(state, createAction(0, 2, rev), handle(0, 2, rev));
    expect(find(state, 0)?.deleteRequested).toBe(true);
  });
});

describe('templateOf', () => {
  it('finds a known revision', () => {
    const state = appliedSet({ template: version(1) });
    expect(templateOf(state, state.updateRevision!)).toEqual(manifest({ template: version(1) }).spec.template);
  });

  it("falls back to the update revision's template for an unknown (adopted) revision", () => {
    const state = appliedSet({ template: version(1) });
    expect(templateOf(state, 'web-ffffffffff')).toEqual(manifest({ template: version(1) }).spec.template);
  });

  it('throws before the first apply', () => {
    expect(() => templateOf(initialState('web'), 'web-ffffffffff')).toThrow(/has no revision web-ffffffffff/);
  });
});

describe('applyCreateFailed', () => {
  it('a first create failure: Pending, restart at once, lastError "create failed: ..."', () => {
    const state = appliedSet();
    const rev = state.updateRevision!;
    applyCreateFailed(state, createAction(0, 1, rev), 'spawn nosuchprogram ENOENT', NOW);
    expect(find(state, 0)).toMatchObject({
      ordinal: 0,
      incarnation: 1,
      revision: rev,
      phase: 'Pending',
      ready: false,
      restarts: 1,
      consecutiveFailures: 1,
      backoffUntil: NOW,
      lastError: 'create failed: spawn nosuchprogram ENOENT',
    });
    expect(find(state, 0)?.handle).toBeUndefined();
  });

  const backoff: Array<{ previousFailures: number; delay: number }> = [
    { previousFailures: 1, delay: 1_000 },
    { previousFailures: 2, delay: 2_000 },
    { previousFailures: 3, delay: 4_000 },
    { previousFailures: 10, delay: 60_000 },
  ];
  for (const c of backoff) {
    it(`after ${c.previousFailures} failures in a row: back-off of ${c.delay} ms`, () => {
      const state = appliedSet();
      const rev = state.updateRevision!;
      state.instances.push(instanceOf(state, { ordinal: 1, phase: 'Pending', ready: false, readySince: undefined, handle: undefined, incarnation: 4, restarts: 4, consecutiveFailures: c.previousFailures }));
      applyCreateFailed(state, createAction(1, 5, rev), 'no such program', NOW);
      expect(find(state, 1)).toMatchObject({
        phase: 'Pending',
        incarnation: 5,
        restarts: 5,
        consecutiveFailures: c.previousFailures + 1,
        backoffUntil: NOW + c.delay,
        lastError: 'create failed: no such program',
      });
    });
  }
});

describe('markDeleting', () => {
  const cases: Array<{ phase: InstanceState['phase']; expected: InstanceState['phase'] }> = [
    { phase: 'Running', expected: 'Terminating' },
    { phase: 'Pending', expected: 'Terminating' },
    { phase: 'Terminating', expected: 'Terminating' },
    { phase: 'Failed', expected: 'Failed' },
  ];
  for (const c of cases) {
    it(`${c.phase} -> ${c.expected}`, () => {
      const state = appliedSet();
      state.instances.push(instanceOf(state, { ordinal: 0, phase: c.phase, ready: c.phase === 'Running' }));
      markDeleting(state, 0);
      expect(find(state, 0)?.phase).toBe(c.expected);
      expect(find(state, 0)?.ready).toBe(false);
    });
  }

  it('an unknown ordinal is ignored', () => {
    const state = appliedSet();
    markDeleting(state, 3);
    expect(state.instances).toEqual([]);
  });
});

describe('applyDeleted', () => {
  const deleteAction = (ordinal: number, reason: Extract<Action, { kind: 'delete' }>['reason'], remove: boolean): Extract<Action, { kind: 'delete' }> => ({
    kind: 'delete',
    ordinal,
    reason,
    remove,
    deleteVolumes: false,
  });

  const removing: Array<{ reason: Extract<Action, { kind: 'delete' }>['reason'] }> = [{ reason: 'scale-down' }, { reason: 'set-deleted' }];
  for (const c of removing) {
    it(`${c.reason} with remove: the identity is gone`, () => {
      const state = appliedSet();
      state.instances.push(instanceOf(state, { ordinal: 0 }), instanceOf(state, { ordinal: 1, phase: 'Terminating', ready: false }));
      applyDeleted(state, deleteAction(1, c.reason, true), NOW);
      expect(state.instances.map((i) => i.ordinal)).toEqual([0]);
    });
  }

  it('failed: kept as Pending, with its back-off and counters', () => {
    const state = appliedSet();
    state.instances.push(instanceOf(state, { ordinal: 0, phase: 'Failed', ready: false, readySince: undefined, restarts: 3, consecutiveFailures: 3, backoffUntil: NOW + 2_000, lastError: 'exited' }));
    applyDeleted(state, deleteAction(0, 'failed', false), NOW);
    const i = find(state, 0)!;
    expect(i).toMatchObject({ phase: 'Pending', ready: false, restarts: 3, consecutiveFailures: 3, backoffUntil: NOW + 2_000, lastError: 'exited', incarnation: 1, deleteRequested: false });
    expect(i.handle).toBeUndefined();
    expect(i.readySince).toBeUndefined();
  });

  it('requested: kept as Pending, comes back at once, the request is cleared', () => {
    const state = appliedSet();
    state.instances.push(instanceOf(state, { ordinal: 1, phase: 'Terminating', ready: false, deleteRequested: true, backoffUntil: NOW + 10_000 }));
    applyDeleted(state, deleteAction(1, 'requested', false), NOW);
    const i = find(state, 1)!;
    expect(i).toMatchObject({ phase: 'Pending', ready: false, deleteRequested: false, restarts: 0, revision: state.updateRevision });
    expect(i.backoffUntil).toBeUndefined();
    expect(i.handle).toBeUndefined();
  });

  it('update: kept as Pending and moved to the update revision', () => {
    const state = appliedSet({ template: version(1) });
    const old = state.updateRevision!;
    state.instances.push(instanceOf(state, { ordinal: 2, phase: 'Terminating', ready: false, revision: old }));
    applyManifest(state, manifest({ template: version(2) }), NOW);
    applyDeleted(state, deleteAction(2, 'update', false), NOW);
    const i = find(state, 2)!;
    expect(i.revision).toBe(state.updateRevision);
    expect(i.revision).not.toBe(old);
    expect(i).toMatchObject({ phase: 'Pending', ready: false });
    expect(i.backoffUntil).toBeUndefined();
  });

  it('failed does not change the revision', () => {
    const state = appliedSet({ template: version(1) });
    const old = state.updateRevision!;
    state.instances.push(instanceOf(state, { ordinal: 0, phase: 'Failed', ready: false, revision: old }));
    applyManifest(state, manifest({ template: version(2) }), NOW);
    applyDeleted(state, deleteAction(0, 'failed', false), NOW);
    expect(find(state, 0)?.revision).toBe(old);
  });

  it('an unknown ordinal is ignored', () => {
    const state = appliedSet();
    state.instances.push(instanceOf(state, { ordinal: 0 }));
    const before = structuredClone(state.instances);
    applyDeleted(state, deleteAction(4, 'scale-down', true), NOW);
    applyDeleted(state, deleteAction(4, 'failed', false), NOW);
    expect(state.instances).toEqual(before);
  });
});

const EMBEDDED = { provider: 'embedded' as const, zone: 'ordinal.internal' };

describe('applyPublished', () => {
  const records = [
    { name: 'web-0.web.ordinal.internal', type: 'A' as const, ttl: 5, values: ['127.77.0.1'] },
    { name: 'web.ordinal.internal', type: 'A' as const, ttl: 5, values: ['127.77.0.1'] },
  ];

  it('remembers the fingerprint and names', () => {
    const state = appliedSet();
    applyPublished(state, { kind: 'publish', records, fingerprint: '0123456789abcdef', published: [0], target: EMBEDDED }, NOW);
    expect(state.publishedDns).toBe('0123456789abcdef');
    expect(state.publishedNames).toEqual(['web-0.web.ordinal.internal A', 'web.ordinal.internal A']);
  });

  it('marks instances published, and when a withdrawn one lost its record', () => {
    const state = appliedSet();
    state.instances.push(instanceOf(state, { ordinal: 0 }), instanceOf(state, { ordinal: 1 }));
    applyPublished(state, { kind: 'publish', records, fingerprint: 'a', published: [0, 1], target: EMBEDDED }, NOW);
    expect(state.instances.map((i) => [i.published, i.unpublishedAt])).toEqual([
      [true, undefined],
      [true, undefined],
    ]);
    applyPublished(state, { kind: 'publish', records, fingerprint: 'b', published: [0], target: EMBEDDED }, NOW + 500);
    expect(find(state, 1)).toMatchObject({ published: false, unpublishedAt: NOW + 500 });
    // Withdrawn once: a later publish does not move the time.
    applyPublished(state, { kind: 'publish', records, fingerprint: 'c', published: [0], target: EMBEDDED }, NOW + 900);
    expect(find(state, 1)?.unpublishedAt).toBe(NOW + 500);
    expect(find(state, 0)).toMatchObject({ published: true });
  });

  const troubles: Array<[string, Partial<import('../../core/dns-records.js').PublishOutcome>]> = [
    ['a conflict', { conflicts: [{ name: 'web-0.web.ordinal.internal', type: 'A', reason: 'taken' }] }],
    ['a rejected change', { failed: [{ name: 'web-0.web.ordinal.internal', type: 'A', code: 'InvalidChangeBatch', message: 'no' }] }],
    ['names still propagating', { propagating: ['web-0.web.ordinal.internal'] }],
    ['a provider error', { error: { code: 'AccessDenied', message: 'denied', hint: 'grant route53:ChangeResourceRecordSets' } }],
  ];
  for (const [name, outcome] of troubles) {
    it(`${name} schedules another publish; a clean one clears it`, () => {
      const state = appliedSet();
      applyPublished(state, { kind: 'publish', records, fingerprint: 'a', published: [], target: EMBEDDED }, NOW, { conflicts: [], propagating: [], failed: [], ...outcome });
      expect(state.dnsRetryAt).toBe(NOW + DNS_RETRY_MS);
      expect(state.dnsTarget).toEqual(EMBEDDED);
      applyPublished(state, { kind: 'publish', records, fingerprint: 'a', published: [], target: EMBEDDED }, NOW + 1, { conflicts: [], propagating: [], failed: [] });
      expect(state.dnsRetryAt).toBeUndefined();
    });
  }
});

describe('applyChanges', () => {
  /** web-0 Ready, web-1 running and not Ready yet, web-2 Pending; all incarnation 2. */
  function observed(): SetState {
    const state = appliedSet();
    state.instances.push(
      instanceOf(state, { ordinal: 0, incarnation: 2, restarts: 1, consecutiveFailures: 1, readySince: NOW - 120_000, published: true }),
      instanceOf(state, { ordinal: 1, incarnation: 2, ready: false, readySince: undefined, consecutiveFailures: 2, restarts: 2, published: true }),
      instanceOf(state, { ordinal: 2, incarnation: 2, phase: 'Pending', ready: false, readySince: undefined, handle: undefined }),
    );
    return state;
  }
  const change = (ordinal: number, kind: InstanceChange['kind'], message: string = kind, incarnation = 2): InstanceChange => ({ ordinal, incarnation, kind, message });

  const cases: Array<{ name: string; changes: InstanceChange[]; options?: ApplyChangesOptions; expected: Record<number, Partial<InstanceState>> }> = [
    { name: 'ready: becomes Ready now', changes: [change(1, 'ready')], expected: { 1: { ready: true, readySince: NOW, phase: 'Running' } } },
    {
      name: 'unready: loses readiness, with the reason',
      changes: [change(0, 'unready', 'readiness probe failed: HTTP 503')],
      expected: { 0: { ready: false, readySince: undefined, phase: 'Running', lastError: 'readiness probe failed: HTTP 503' } },
    },
    {
      name: 'exited after a short run: Failed, counted, with back-off',
      changes: [change(1, 'exited', 'exited with code 1')],
      expected: { 1: { phase: 'Failed', ready: false, restarts: 3, consecutiveFailures: 3, backoffUntil: NOW + 2_000, lastError: 'exited with code 1' } },
    },
    {
      name: 'exited after a stable run: the back-off starts over',
      changes: [change(0, 'exited', 'killed by SIGKILL')],
      expected: { 0: { phase: 'Failed', ready: false, restarts: 2, consecutiveFailures: 1, backoffUntil: NOW, lastError: 'killed by SIGKILL', readySince: undefined } },
    },
    {
      name: 'exited, its process needing no stop: Pending without a handle, counted, with back-off, its record still listed until withdrawn',
      changes: [change(1, 'exited', 'exited with code 1')],
      options: { exitsNeedNoStop: true },
      expected: { 1: { phase: 'Pending', handle: undefined, ready: false, restarts: 3, consecutiveFailures: 3, backoffUntil: NOW + 2_000, lastError: 'exited with code 1' } },
    },
    {
      name: 'liveness-failed, even when exits need no stop: Failed, keeping its handle (the process may still run)',
      changes: [change(1, 'liveness-failed', 'liveness probe failed 3 times')],
      options: { exitsNeedNoStop: true },
      expected: { 1: { phase: 'Failed', ready: false, restarts: 3, consecutiveFailures: 3, lastError: 'liveness probe failed 3 times' } },
    },
    {
      name: 'liveness-failed: Failed like an exit',
      changes: [change(1, 'liveness-failed', 'liveness probe failed 3 times')],
      expected: { 1: { phase: 'Failed', ready: false, restarts: 3, consecutiveFailures: 3, lastError: 'liveness probe failed 3 times' } },
    },
    {
      name: 'a change for an older incarnation is ignored',
      changes: [change(1, 'ready', 'ready', 1), change(0, 'exited', 'old', 1)],
      expected: { 0: { phase: 'Running', ready: true, restarts: 1 }, 1: { ready: false, phase: 'Running' } },
    },
    {
      name: 'a change for a newer incarnation than known is ignored',
      changes: [change(0, 'exited', 'future', 3)],
      expected: { 0: { phase: 'Running', ready: true } },
    },
    {
      name: 'a change for an instance that is not Running is ignored',
      changes: [change(2, 'ready'), change(2, 'exited')],
      expected: { 2: { phase: 'Pending', ready: false, restarts: 0 } },
    },
    {
      name: 'a change for an unknown ordinal is ignored',
      changes: [change(7, 'ready')],
      expected: { 0: { ready: true }, 1: { ready: false }, 2: { phase: 'Pending' } },
    },
    {
      name: 'several changes in order: ready then exited',
      changes: [change(1, 'ready'), change(1, 'exited', 'crashed')],
      expected: { 1: { phase: 'Failed', ready: false, lastError: 'crashed' } },
    },
    {
      name: 'after exiting, further changes of that incarnation are ignored',
      changes: [change(1, 'exited', 'crashed'), change(1, 'ready')],
      expected: { 1: { phase: 'Failed', ready: false, restarts: 3 } },
    },
    {
      name: 'changes for several instances',
      changes: [change(0, 'unready', 'slow'), change(1, 'ready')],
      expected: { 0: { ready: false, lastError: 'slow' }, 1: { ready: true, readySince: NOW } },
    },
    { name: 'no changes: nothing happens', changes: [], expected: { 0: { ready: true, phase: 'Running' }, 1: { ready: false }, 2: { phase: 'Pending' } } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const state = observed();
      applyChanges(state, c.changes, NOW, c.options);
      expect(state.instances.map((i) => i.ordinal)).toEqual([0, 1, 2]);
      // Only a publish withdraws a record: a change never marks one withdrawn by itself.
      expect(state.instances.map((i) => i.published === true)).toEqual([true, true, false]);
      for (const [ordinal, expected] of Object.entries(c.expected)) {
        const i = find(state, Number(ordinal))!;
        expect(i).toMatchObject(Object.fromEntries(Object.entries(expected).filter(([, v]) => v !== undefined)));
        for (const [key, value] of Object.entries(expected)) if (value === undefined) expect(i[key as keyof InstanceState]).toBeUndefined();
      }
    });
  }

  it('a failure keeps the handle so the process can be cleaned up', () => {
    const state = observed();
    const h = find(state, 1)!.handle;
    applyChanges(state, [change(1, 'liveness-failed')], NOW);
    expect(find(state, 1)?.handle).toEqual(h);
  });
});

describe('adoptInstances', () => {
  it('adds running processes of unknown ordinals as Running, not Ready', () => {
    const state = appliedSet();
    const rev = state.updateRevision!;
    adoptInstances(state, [handle(1, 4, rev), handle(0, 2, rev)]);
    expect(state.instances).toEqual([
      { ordinal: 0, incarnation: 2, revision: rev, phase: 'Running', ready: false, handle: handle(0, 2, rev), restarts: 0, consecutiveFailures: 0 },
      { ordinal: 1, incarnation: 4, revision: rev, phase: 'Running', ready: false, handle: handle(1, 4, rev), restarts: 0, consecutiveFailures: 0 },
    ]);
  });

  it('leaves known ordinals alone', () => {
    const state = appliedSet();
    const known = instanceOf(state, { ordinal: 0, incarnation: 5, restarts: 2 });
    state.instances.push(known);
    adoptInstances(state, [handle(0, 1, 'web-other'), handle(2, 1, state.updateRevision!)]);
    expect(find(state, 0)).toEqual(known);
    expect(state.instances.map((i) => i.ordinal)).toEqual([0, 2]);
  });

  it('keeps the revision of an adopted process, even one this set does not know', () => {
    const state = appliedSet();
    adoptInstances(state, [handle(0, 1, 'web-0123456789')]);
    expect(find(state, 0)?.revision).toBe('web-0123456789');
  });

  it('no handles: nothing changes', () => {
    const state = appliedSet();
    adoptInstances(state, []);
    expect(state.instances).toEqual([]);
  });

  it('the same ordinal twice in one call is adopted once (the first wins)', () => {
    const state = appliedSet();
    adoptInstances(state, [handle(0, 3), handle(0, 2)]);
    expect(state.instances).toHaveLength(1);
    expect(find(state, 0)?.incarnation).toBe(3);
  });
});

describe('scenarios across transitions and status', () => {
  function readySet(): SetState {
    const state = appliedSet({ replicas: 1, template: version(1) });
    state.observedGeneration = state.generation;
    const rev = state.updateRevision!;
    markCreating(state, createAction(0, 1, rev));
    applyCreated(state, createAction(0, 1, rev), handle(0, 1, rev));
    publishNow(state);
    return state;
  }

  /** What the workflow does after a change: publish the planner's records. */
  function publishNow(state: SetState): void {
    const { records, published } = recordsFor(state);
    applyPublished(state, { kind: 'publish', records, fingerprint: recordsFingerprint(records), published, target: EMBEDDED }, NOW);
  }

  it('create, Ready, crash, clean-up, back-off, recreate, Ready again', () => {
    const state = readySet();
    const rev = state.updateRevision!;
    expect(setStatus(state, NOW).phase).toBe('Ready');
    applyChanges(state, [{ ordinal: 0, incarnation: 1, kind: 'exited', message: 'exited with code 1' }], NOW);
    expect(setStatus(state, NOW)).toMatchObject({ phase: 'Degraded', readyReplicas: 0 });
    markDeleting(state, 0);
    applyDeleted(state, { kind: 'delete', ordinal: 0, reason: 'failed', remove: false, deleteVolumes: false }, NOW);
    markCreating(state, createAction(0, 2, rev));
    applyCreated(state, createAction(0, 2, rev), handle(0, 2, rev));
    publishNow(state);
    expect(find(state, 0)).toMatchObject({ incarnation: 2, phase: 'Running', ready: true, restarts: 1 });
    expect(setStatus(state, NOW)).toMatchObject({ phase: 'Ready', readyReplicas: 1 });
    expect(setStatus(state, NOW).instances[0]).toMatchObject({ restarts: 1, lastError: 'exited with code 1', address: '127.77.2.1' });
  });

  it('an exit needing no stop: withdrawn, then recreated with no delete in between, Ready again', () => {
    const state = readySet();
    const rev = state.updateRevision!;
    applyChanges(state, [{ ordinal: 0, incarnation: 1, kind: 'exited', message: 'the process was killed by SIGKILL' }], NOW, { exitsNeedNoStop: true });
    expect(setStatus(state, NOW)).toMatchObject({ phase: 'Degraded', readyReplicas: 0 });
    expect(setStatus(state, NOW).instances[0]).toMatchObject({ phase: 'Pending', address: null, lastError: 'the process was killed by SIGKILL' });
    // The name goes first, then the create of the next incarnation: the planner asks for nothing else.
    expect(plan(state, NOW).actions).toEqual([expect.objectContaining({ kind: 'publish', published: [] })]);
    publishNow(state);
    expect(find(state, 0)).toMatchObject({ published: false, unpublishedAt: NOW });
    expect(plan(state, NOW).actions).toEqual([{ kind: 'create', ordinal: 0, incarnation: 2, revision: rev, awaitReady: true }]);
    markCreating(state, createAction(0, 2, rev));
    applyCreated(state, createAction(0, 2, rev), handle(0, 2, rev));
    publishNow(state);
    expect(find(state, 0)).toMatchObject({ incarnation: 2, phase: 'Running', ready: true, restarts: 1, published: true });
    expect(find(state, 0)?.unpublishedAt).toBeUndefined();
    expect(setStatus(state, NOW)).toMatchObject({ phase: 'Ready', readyReplicas: 1 });
  });

  it('a second exit before a stable run waits out its back-off (CrashLoopBackOff), then recreates without a delete', () => {
    const state = readySet();
    const rev = state.updateRevision!;
    applyChanges(state, [{ ordinal: 0, incarnation: 1, kind: 'exited', message: 'exited with code 1' }], NOW, { exitsNeedNoStop: true });
    publishNow(state);
    markCreating(state, createAction(0, 2, rev));
    applyCreated(state, createAction(0, 2, rev), handle(0, 2, rev));
    applyChanges(state, [{ ordinal: 0, incarnation: 2, kind: 'exited', message: 'exited with code 1' }], NOW + 10, { exitsNeedNoStop: true });
    publishNow(state);
    const backoffUntil = find(state, 0)!.backoffUntil!;
    expect(backoffUntil).toBeGreaterThan(NOW + 10);
    expect(setStatus(state, NOW + 10).instances[0]).toMatchObject({ phase: 'CrashLoopBackOff', nextRestartAt: new Date(backoffUntil).toISOString() });
    expect(plan(state, NOW + 10)).toMatchObject({ actions: [], wakeAt: backoffUntil });
    expect(plan(state, backoffUntil).actions).toEqual([{ kind: 'create', ordinal: 0, incarnation: 3, revision: rev, awaitReady: true }]);
  });

  // lastError stays for the record, but only a current failure makes the set Degraded.
  it('a routine rolling update after a recovered readiness blip is not reported as a failure', () => {
    const state = readySet();
    applyChanges(state, [{ ordinal: 0, incarnation: 1, kind: 'unready', message: 'readiness probe: HTTP 503' }], NOW);
    applyChanges(state, [{ ordinal: 0, incarnation: 1, kind: 'ready', message: 'readiness probe: HTTP 200' }], NOW);
    expect(setStatus(state, NOW).phase).toBe('Ready');
    applyManifest(state, manifest({ replicas: 1, template: version(2) }), NOW);
    state.observedGeneration = state.generation;
    markDeleting(state, 0);
    applyDeleted(state, { kind: 'delete', ordinal: 0, reason: 'update', remove: false, deleteVolumes: false }, NOW);
    const status = setStatus(state, NOW);
    expect(status.conditions.find((c) => c.type === 'ReplicaFailure')).toBeUndefined();
    expect(status.phase).toBe('Progressing');
  });
});

describe('revisions and non-template changes', () => {
  it('scaling or pausing keeps the revision as it was introduced', () => {
    const state = appliedSet({ template: version(1) });
    const [before] = structuredClone(state.revisions);
    applyManifest(state, manifest({ replicas: 5, template: version(1) }), NOW + 10_000);
    expect(state.generation).toBe(2);
    expect(state.revisions).toEqual([before]);
  });

  it('state saved without revision numbers or times is upgraded in order', () => {
    const state = appliedSet({ template: version(1) });
    applyManifest(state, manifest({ template: version(2) }), NOW);
    for (const r of state.revisions) {
      delete (r as Partial<typeof r>).number;
      delete (r as Partial<typeof r>).createdAt;
    }
    upgradeState(state);
    expect(state.revisions.map((r) => [r.number, r.createdAt])).toEqual([
      [1, state.createdAt],
      [2, state.createdAt],
    ]);
  });
});
