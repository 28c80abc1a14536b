// The StatefulSet contract row by row, at the planner: Parallel, ordinals.start, reserveOrdinals,
// minReadySeconds, RollingUpdate (partition, maxUnavailable, pause), OnDelete, volumes and their
// retention, publishNotReadyAddresses, cordon, no stuck rollouts, progress deadline and autoRollback,
// and the ordered DNS cutover.
import { describe, expect, it } from 'vitest';
import type { InstanceHandle } from '../../activities/drivers/driver.js';
import { recordsFingerprint } from '../../core/dns-records.js';
import { parseManifest, type Manifest } from '../../core/manifest.js';
import { parallelBatches, plan, recordsFor, slowStartBatches, type Action, type Plan } from '../../core/planner.js';
import type { InstanceState } from '../../core/instance.js';
import { initialState, type SetState } from '../../core/set-state.js';
import { setStatus } from '../../core/status.js';
import { applyManifest } from '../../core/transitions.js';

const NOW = 10_000_000;
const TTL = 5;

function manifest(spec: Record<string, unknown>, template: Record<string, unknown> = {}): Manifest {
  const parsed = parseManifest({
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web' },
    spec: {
      replicas: 3,
      template: {
        process: { command: ['node', 'server.mjs'] },
        ports: [{ name: 'http', port: 8080 }],
        readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
        ...template,
      },
      dns: { ttl: TTL },
      ...spec,
    },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

type Shape = 'ready' | 'running' | 'pending' | 'failed' | 'backoff' | 'fresh';

interface Build {
  spec?: Record<string, unknown>;
  /** Instances by ordinal: a shape, or a shape plus overrides. */
  instances?: Record<number, Shape | [Shape, Partial<InstanceState>]>;
  /** A template change after the instances were created: they run the old revision. */
  updated?: boolean;
  /** Records already published for the instances (default true). */
  published?: boolean;
}

/** A set whose instances run revision "old" when `updated`, else the update revision. */
function build(options: Build): SetState {
  const state = initialState('web');
  applyManifest(state, manifest(options.spec ?? {}), NOW - 60_000);
  const first = state.updateRevision!;
  if (options.updated) applyManifest(state, manifest(options.spec ?? {}, { process: { command: ['node', 'server-v2.mjs'] } }), NOW - 30_000);
  state.observedGeneration = state.generation;
  for (const [key, value] of Object.entries(options.instances ?? {})) {
    const ordinal = Number(key);
    const [shape, overrides] = Array.isArray(value) ? value : [value, {}];
    const base: InstanceState<InstanceHandle> = {
      ordinal,
      incarnation: 1,
      revision: first,
      phase: 'Running',
      ready: true,
      readySince: NOW - 20_000,
      handle: { set: 'web', ordinal, incarnation: 1, revision: first, address: `127.77.0.${ordinal + 1}`, pid: 100 + ordinal, startedAt: NOW - 25_000, logPath: '/dev/null' },
      restarts: 0,
      consecutiveFailures: 0,
      published: true,
    };
    const shapes: Record<Shape, Partial<InstanceState>> = {
      ready: {},
      fresh: { readySince: NOW - 1_000 },
      running: { ready: false, readySince: undefined, published: false },
      pending: { phase: 'Pending', ready: false, readySince: undefined, handle: undefined, published: false },
      failed: { phase: 'Failed', ready: false, readySince: undefined, consecutiveFailures: 1, lastError: 'exited', published: false },
      backoff: { phase: 'Pending', ready: false, readySince: undefined, handle: undefined, consecutiveFailures: 3, backoffUntil: NOW + 4_000, published: false },
    };
    state.instances.push({ ...base, ...shapes[shape], ...overrides });
  }
  // 'UPDATE' in a test's overrides stands for the update revision.
  for (const i of state.instances) {
    if (i.revision === 'UPDATE') i.revision = state.updateRevision!;
  }
  state.instances.sort((a, b) => a.ordinal - b.ordinal);
  if (options.published !== false) state.publishedDns = recordsFingerprint(recordsFor(state).records);
  state.progressAt = NOW - 1_000;
  return state;
}

/** Plans like the workflow: publishes are applied (instances withdrawn long enough ago) and planning goes on. */
function next(state: SetState, now = NOW): Plan {
  for (let i = 0; i < 3; i++) {
    const p = plan(state, now);
    const first = p.actions[0];
    if (first?.kind !== 'publish') return p;
    state.publishedDns = first.fingerprint;
    const published = new Set(first.published);
    for (const instance of state.instances) {
      if (!published.has(instance.ordinal) && instance.published) {
        instance.published = false;
        instance.unpublishedAt = now - TTL * 1000;
      }
    }
  }
  throw new Error('the planner keeps publishing');
}

const summary = (actions: Action[]) =>
  actions.map((a) => {
    if (a.kind === 'create') return `create ${a.ordinal}`;
    if (a.kind === 'delete') return `delete ${a.ordinal} ${a.reason}${a.deleteVolumes ? ' +volumes' : ''}`;
    if (a.kind === 'rollback') return `rollback ${a.revision}`;
    return 'publish';
  });

interface Row {
  name: string;
  build: Build;
  actions: string[];
  waitingFor?: RegExp;
  now?: number;
}

function table(title: string, rows: Row[]): void {
  describe(title, () => {
    for (const row of rows) {
      it(row.name, () => {
        const p = next(build(row.build), row.now ?? NOW);
        expect(summary(p.actions)).toEqual(row.actions);
        if (row.waitingFor) expect(p.waitingFor).toMatch(row.waitingFor);
      });
    }
  });
}

table('Parallel', [
  { name: 'creates every missing ordinal at once', build: { spec: { podManagementPolicy: 'Parallel' } }, actions: ['create 0', 'create 1', 'create 2'] },
  { name: 'does not wait for readiness', build: { spec: { podManagementPolicy: 'Parallel' }, instances: { 0: 'running' } }, actions: ['create 1', 'create 2'] },
  {
    name: 'deletes every extra ordinal at once, whatever the health',
    build: { spec: { podManagementPolicy: 'Parallel', replicas: 1 }, instances: { 0: 'running', 1: 'ready', 2: 'ready' } },
    actions: ['delete 2 scale-down', 'delete 1 scale-down'],
  },
  {
    name: 'cleans up every failed instance at once',
    build: { spec: { podManagementPolicy: 'Parallel' }, instances: { 0: 'failed', 1: 'ready', 2: 'failed' } },
    actions: ['delete 0 failed', 'delete 2 failed'],
  },
  {
    name: 'recreates without waiting for lower ordinals, each with its own back-off',
    build: { spec: { podManagementPolicy: 'Parallel' }, instances: { 0: 'backoff', 1: 'running', 2: 'pending' } },
    actions: ['create 2'],
  },
  {
    name: 'creates and scales down in one go',
    build: { spec: { podManagementPolicy: 'Parallel', ordinals: { start: 1 }, replicas: 2 }, instances: { 0: 'ready', 1: 'ready' } },
    actions: ['create 2', 'delete 0 scale-down'],
  },
  { name: 'idle when all are Ready', build: { spec: { podManagementPolicy: 'Parallel' }, instances: { 0: 'ready', 1: 'ready', 2: 'ready' } }, actions: [] },
]);

describe('slowStartBatches', () => {
  const cases: Array<[number, number[]]> = [
    [0, []],
    [1, [1]],
    [2, [1, 1]],
    [3, [1, 2]],
    [7, [1, 2, 4]],
    [8, [1, 2, 4, 1]],
    [20, [1, 2, 4, 8, 5]],
  ];
  for (const [n, sizes] of cases) {
    it(`${n} items -> batches of ${sizes.join(', ') || 'none'}`, () => {
      const items = Array.from({ length: n }, (_, i) => i);
      const batches = slowStartBatches(items);
      expect(batches.map((b) => b.length)).toEqual(sizes);
      expect(batches.flat()).toEqual(items);
    });
  }
});

describe('parallelBatches', () => {
  const create = (o: number) => ({ kind: 'create', ordinal: o });
  const remove = (o: number) => ({ kind: 'delete', ordinal: o });
  it.each([
    ['nothing', [], []],
    ['deletions only: all at once', [remove(2), remove(1), remove(0)], [[remove(2), remove(1), remove(0)]]],
    ['creations only: doubling batches', [0, 1, 2, 3].map(create), [[create(0)], [create(1), create(2)], [create(3)]]],
    ['both: the deletions beside the first creation batch', [create(0), create(1), create(2), remove(5)], [[remove(5), create(0)], [create(1), create(2)]]],
  ])('%s', (_, actions, batches) => {
    expect(parallelBatches(actions)).toEqual(batches);
  });
});

table('ordinals.start and reserveOrdinals', [
  { name: 'start 5: the first instance is web-5', build: { spec: { ordinals: { start: 5 } } }, actions: ['create 5'] },
  { name: 'start 5: then web-6', build: { spec: { ordinals: { start: 5 } }, instances: { 5: 'ready' } }, actions: ['create 6'] },
  {
    name: 'moving start down creates the new low ordinals first, then removes the old high ones',
    build: { spec: { ordinals: { start: 0 }, replicas: 2 }, instances: { 2: 'ready', 3: 'ready' } },
    actions: ['create 0'],
  },
  {
    name: '... and once they are Ready removes the highest extra first',
    build: { spec: { ordinals: { start: 0 }, replicas: 2 }, instances: { 0: 'ready', 1: 'ready', 2: 'ready', 3: 'ready' } },
    actions: ['delete 3 scale-down'],
  },
  { name: 'a reserved ordinal is skipped', build: { spec: { reserveOrdinals: [1] }, instances: { 0: 'ready' } }, actions: ['create 2'] },
  { name: 'replicas count wanted instances, not ordinals', build: { spec: { reserveOrdinals: [1] }, instances: { 0: 'ready', 2: 'ready' } }, actions: ['create 3'] },
  {
    name: 'reserving a running ordinal removes it without renumbering the rest',
    build: { spec: { reserveOrdinals: [1], replicas: 2 }, instances: { 0: 'ready', 1: 'ready', 2: 'ready' } },
    actions: ['delete 1 scale-down'],
  },
]);

table('minReadySeconds (Available)', [
  {
    name: 'OrderedReady waits until the previous instance is Available',
    build: { spec: { minReadySeconds: 10 }, instances: { 0: 'fresh' } },
    actions: [],
    waitingFor: /web-0 to be Ready for minReadySeconds/,
  },
  { name: 'then goes on', build: { spec: { minReadySeconds: 10 }, instances: { 0: 'fresh' } }, now: NOW + 9_000, actions: ['create 1'] },
  {
    name: 'a rolling update waits for the replaced instance to be Available',
    build: { spec: { minReadySeconds: 10 }, instances: { 0: 'ready', 1: 'ready', 2: ['fresh', {}] }, updated: true },
    actions: [],
    waitingFor: /web-2 to be Ready for minReadySeconds/,
  },
]);

describe('minReadySeconds: wake-up and counts', () => {
  it('the plan wakes when the instance becomes Available', () => {
    const p = next(build({ spec: { minReadySeconds: 10 }, instances: { 0: 'fresh' } }));
    expect(p.wakeAt).toBe(NOW - 1_000 + 10_000);
  });

  it('availableReplicas counts only instances Ready for long enough', () => {
    const status = setStatus(build({ spec: { minReadySeconds: 10 }, instances: { 0: 'ready', 1: 'fresh', 2: 'running' } }), NOW);
    expect(status).toMatchObject({ readyReplicas: 2, availableReplicas: 1 });
    expect(status.instances.map((i) => i.available)).toEqual([true, false, false]);
  });
});

table('scale-down (OrderedReady)', [
  {
    name: 'nothing is removed while a lower wanted instance is unhealthy',
    build: { spec: { replicas: 1 }, instances: { 0: 'running', 1: 'ready', 2: 'ready' } },
    actions: [],
    waitingFor: /web-0 to become Ready/,
  },
  { name: 'one at a time, highest first', build: { spec: { replicas: 1 }, instances: { 0: 'ready', 1: 'ready', 2: 'ready' } }, actions: ['delete 2 scale-down'] },
]);

table('RollingUpdate with partition and maxUnavailable', [
  {
    name: 'the highest outdated ordinal first',
    build: { instances: { 0: 'ready', 1: 'ready', 2: 'ready' }, updated: true },
    actions: ['delete 2 update'],
  },
  {
    name: 'partition 1: ordinals at or above it are updated',
    build: { spec: { updateStrategy: { rollingUpdate: { partition: 1 } } }, instances: { 0: 'ready', 1: 'ready', 2: 'ready' }, updated: true },
    actions: ['delete 2 update'],
  },
  {
    name: 'partition 2: below it nothing is updated',
    build: { spec: { updateStrategy: { rollingUpdate: { partition: 2 } } }, instances: { 0: 'ready', 1: 'ready', 2: ['ready', { revision: 'UPDATE' }] }, updated: true },
    actions: [],
  },
  {
    name: 'maxUnavailable 2: two at once',
    build: { spec: { updateStrategy: { rollingUpdate: { maxUnavailable: 2 } } }, instances: { 0: 'ready', 1: 'ready', 2: 'ready' }, updated: true },
    actions: ['delete 2 update', 'delete 1 update'],
  },
  {
    name: 'maxUnavailable 67% of 3: two at once',
    build: { spec: { updateStrategy: { rollingUpdate: { maxUnavailable: '67%' } } }, instances: { 0: 'ready', 1: 'ready', 2: 'ready' }, updated: true },
    actions: ['delete 2 update', 'delete 1 update'],
  },
  {
    name: 'maxUnavailable 10% of 3 rounds down to the minimum of one',
    build: { spec: { updateStrategy: { rollingUpdate: { maxUnavailable: '10%' } } }, instances: { 0: 'ready', 1: 'ready', 2: 'ready' }, updated: true },
    actions: ['delete 2 update'],
  },
  {
    name: 'Parallel: an unavailable instance uses up the budget',
    build: { spec: { podManagementPolicy: 'Parallel' }, instances: { 0: ['running', {}], 1: 'ready', 2: 'ready' }, updated: true },
    actions: ['delete 0 update'],
  },
  {
    name: 'Parallel: budget 2 with one unavailable (already updated) leaves one replacement',
    build: {
      spec: { podManagementPolicy: 'Parallel', updateStrategy: { rollingUpdate: { maxUnavailable: 2 } } },
      instances: { 0: 'ready', 1: 'ready', 2: ['running', { revision: 'UPDATE' }] },
      updated: true,
    },
    actions: ['delete 1 update'],
  },
  {
    name: 'scaling goes before updating',
    build: { spec: { replicas: 2 }, instances: { 0: 'ready', 1: 'ready', 2: 'ready' }, updated: true },
    actions: ['delete 2 scale-down'],
  },
  {
    name: 'paused: nothing is replaced',
    build: { spec: { updateStrategy: { rollingUpdate: { paused: true } } }, instances: { 0: 'ready', 1: 'ready', 2: 'ready' }, updated: true },
    actions: [],
    waitingFor: /resumed/,
  },
  {
    name: 'paused: scaling goes on, a new ordinal takes the update revision',
    build: { spec: { replicas: 4, updateStrategy: { rollingUpdate: { paused: true } } }, instances: { 0: 'ready', 1: 'ready', 2: 'ready' }, updated: true },
    actions: ['create 3'],
  },
]);

describe('revisions of new incarnations', () => {
  function revisionOfCreate(b: Build): string | undefined {
    const state = build(b);
    const action = next(state).actions.find((a) => a.kind === 'create');
    if (action?.kind !== 'create') return undefined;
    return action.revision === state.updateRevision ? 'update' : action.revision === state.currentRevision ? 'current' : action.revision;
  }
  const partition2 = { updateStrategy: { rollingUpdate: { partition: 2 } } };
  const cases: Array<{ name: string; build: Build; revision: string }> = [
    { name: 'RollingUpdate: a recreated instance at or above the partition', build: { instances: { 0: 'ready', 1: 'ready', 2: 'pending' }, updated: true }, revision: 'update' },
    { name: 'RollingUpdate: below the partition it keeps the current revision, even when recreated', build: { spec: partition2, instances: { 0: 'ready', 1: 'pending', 2: 'ready' }, updated: true }, revision: 'current' },
    { name: 'RollingUpdate: a new ordinal below the partition', build: { spec: { ...partition2, replicas: 2 }, instances: { 0: 'ready' }, updated: true }, revision: 'current' },
    { name: 'paused: a recreated instance keeps its own revision', build: { spec: { updateStrategy: { rollingUpdate: { paused: true } } }, instances: { 0: 'ready', 1: 'pending', 2: 'ready' }, updated: true }, revision: 'current' },
    { name: 'OnDelete: a crashed instance comes back on its own revision', build: { spec: { updateStrategy: { type: 'OnDelete' } }, instances: { 0: 'ready', 1: 'pending', 2: 'ready' }, updated: true }, revision: 'current' },
    { name: 'OnDelete: a new ordinal takes the update revision', build: { spec: { updateStrategy: { type: 'OnDelete' }, replicas: 4 }, instances: { 0: 'ready', 1: 'ready', 2: 'ready' }, updated: true }, revision: 'update' },
  ];
  for (const c of cases) {
    it(c.name, () => expect(revisionOfCreate(c.build)).toBe(c.revision));
  }
});

table('OnDelete', [
  { name: 'nothing is replaced automatically', build: { spec: { updateStrategy: { type: 'OnDelete' } }, instances: { 0: 'ready', 1: 'ready', 2: 'ready' }, updated: true }, actions: [] },
  {
    name: 'a user delete is carried out',
    build: { spec: { updateStrategy: { type: 'OnDelete' } }, instances: { 0: 'ready', 1: ['ready', { deleteRequested: true }], 2: 'ready' }, updated: true },
    actions: ['delete 1 requested'],
  },
]);

table('no stuck rollouts', [
  {
    name: 'an outdated instance that never became Ready is replaced at once',
    build: { instances: { 0: 'ready', 1: 'ready', 2: 'running' }, updated: true },
    actions: ['delete 2 update'],
  },
  {
    name: '... even below others that are not Ready (OrderedReady)',
    build: { instances: { 0: 'running', 1: 'ready', 2: 'ready' }, updated: true },
    actions: ['delete 0 update'],
  },
  {
    name: 'an outdated crash-looping instance starts on the new revision without waiting out its back-off',
    build: { instances: { 0: 'ready', 1: 'ready', 2: 'backoff' }, updated: true },
    actions: ['create 2'],
  },
  {
    name: 'a crash loop on the update revision still backs off',
    build: { instances: { 0: 'ready', 1: 'ready', 2: ['backoff', { revision: 'UPDATE' }] }, updated: true },
    actions: [],
    waitingFor: /back-off/,
  },
  {
    name: 'an outdated instance that is not Ready does not spend the maxUnavailable budget',
    build: { spec: { podManagementPolicy: 'Parallel' }, instances: { 0: 'ready', 1: 'ready', 2: 'running' }, updated: true },
    actions: ['delete 2 update'],
  },
]);

describe('no stuck rollouts: the new revision', () => {
  it('is what the replaced instance comes back with', () => {
    const state = build({ instances: { 0: 'ready', 1: 'ready', 2: ['backoff', {}] }, updated: true });
    const create = next(state).actions[0];
    expect(create).toMatchObject({ kind: 'create', ordinal: 2, revision: state.updateRevision });
  });
});

table('volumes and their retention', [
  {
    name: 'scale-down keeps volumes by default (Retain)',
    build: { spec: { replicas: 2, volumeClaimTemplates: [{ metadata: { name: 'data' } }] }, instances: { 0: 'ready', 1: 'ready', 2: 'ready' } },
    actions: ['delete 2 scale-down'],
  },
  {
    name: 'whenScaled: Delete deletes the scaled-away volume',
    build: {
      spec: { replicas: 2, volumeClaimTemplates: [{ metadata: { name: 'data' } }], persistentVolumeClaimRetentionPolicy: { whenScaled: 'Delete' } },
      instances: { 0: 'ready', 1: 'ready', 2: 'ready' },
    },
    actions: ['delete 2 scale-down +volumes'],
  },
  {
    name: 'whenScaled: Delete never deletes a recreated instance volume',
    build: {
      spec: { volumeClaimTemplates: [{ metadata: { name: 'data' } }], persistentVolumeClaimRetentionPolicy: { whenScaled: 'Delete', whenDeleted: 'Delete' } },
      instances: { 0: 'ready', 1: 'failed', 2: 'ready' },
    },
    actions: ['delete 1 failed'],
  },
  {
    name: 'without volume templates there is nothing to delete',
    build: { spec: { replicas: 2, persistentVolumeClaimRetentionPolicy: { whenScaled: 'Delete' } }, instances: { 0: 'ready', 1: 'ready', 2: 'ready' } },
    actions: ['delete 2 scale-down'],
  },
]);

describe('volumes: set deletion', () => {
  const cases: Array<[string, string]> = [
    ['Retain', 'delete 2 set-deleted'],
    ['Delete', 'delete 2 set-deleted +volumes'],
  ];
  for (const [whenDeleted, action] of cases) {
    it(`whenDeleted: ${whenDeleted}`, () => {
      const state = build({
        spec: { volumeClaimTemplates: [{ metadata: { name: 'data' } }], persistentVolumeClaimRetentionPolicy: { whenDeleted } },
        instances: { 0: 'ready', 1: 'ready', 2: 'ready' },
      });
      state.deleting = true;
      expect(summary(next(state).actions)).toEqual([action]);
    });
  }
});

describe('DNS: publishNotReadyAddresses and cordon', () => {
  const names = (state: SetState) => recordsFor(state).records.map((r) => `${r.name} ${r.values.join(',')}`);

  it('without publishNotReadyAddresses only Ready instances resolve', () => {
    expect(names(build({ instances: { 0: 'ready', 1: 'running' } }))).toEqual([
      '_http._tcp.web.ordinal.internal 0 10 8080 web-0.web.ordinal.internal',
      'web-0.web.ordinal.internal 127.77.0.1',
      'web.ordinal.internal 127.77.0.1',
    ]);
  });

  it('with publishNotReadyAddresses running instances resolve before they are Ready', () => {
    expect(names(build({ spec: { dns: { ttl: TTL, publishNotReadyAddresses: true } }, instances: { 0: 'ready', 1: 'running', 2: 'pending' } }))).toEqual([
      '_http._tcp.web.ordinal.internal 0 10 8080 web-0.web.ordinal.internal,0 10 8080 web-1.web.ordinal.internal',
      'web-0.web.ordinal.internal 127.77.0.1',
      'web-1.web.ordinal.internal 127.77.0.2',
      'web.ordinal.internal 127.77.0.1,127.77.0.2',
    ]);
  });

  it('a cordoned instance keeps its own name but leaves the service records', () => {
    expect(names(build({ instances: { 0: 'ready', 1: ['ready', { cordoned: true }] } }))).toEqual([
      '_http._tcp.web.ordinal.internal 0 10 8080 web-0.web.ordinal.internal',
      'web-0.web.ordinal.internal 127.77.0.1',
      'web-1.web.ordinal.internal 127.77.0.2',
      'web.ordinal.internal 127.77.0.1',
    ]);
  });

  it('cordoning changes the records, so the planner publishes', () => {
    const state = build({ instances: { 0: 'ready', 1: 'ready', 2: 'ready' } });
    state.instances[1].cordoned = true;
    expect(summary(plan(state, NOW).actions)).toEqual(['publish']);
  });
});

describe('ordered DNS cutover', () => {
  it('a record is withdrawn first, then the instance is stopped one TTL later', () => {
    const state = build({ spec: { replicas: 2 }, instances: { 0: 'ready', 1: 'ready', 2: 'ready' } });
    const first = plan(state, NOW);
    expect(summary(first.actions)).toEqual(['publish']);
    if (first.actions[0].kind !== 'publish') return;
    expect(first.actions[0].published).toEqual([0, 1]);
    // The workflow applies the publish at NOW: web-2's record was withdrawn now.
    state.publishedDns = first.actions[0].fingerprint;
    state.instances[2].published = false;
    state.instances[2].unpublishedAt = NOW;

    const waiting = plan(state, NOW + 1_000);
    expect(waiting.actions).toEqual([]);
    expect(waiting.wakeAt).toBe(NOW + TTL * 1000);
    expect(waiting.waitingFor).toMatch(/web-2's DNS record to expire from caches \(TTL 5s\)/);
    expect(summary(plan(state, NOW + TTL * 1000).actions)).toEqual(['delete 2 scale-down']);
  });

  it('a failed instance is cleaned up without waiting (it serves nothing)', () => {
    const state = build({ instances: { 0: 'ready', 1: ['failed', { unpublishedAt: NOW }], 2: 'ready' } });
    expect(summary(plan(state, NOW).actions)).toEqual(['delete 1 failed']);
  });

  it('TTL 0: no wait', () => {
    const state = build({ spec: { replicas: 2, dns: { ttl: 0 } }, instances: { 0: 'ready', 1: 'ready', 2: 'ready' } });
    const first = plan(state, NOW);
    expect(summary(first.actions)).toEqual(['publish']);
    if (first.actions[0].kind !== 'publish') return;
    state.publishedDns = first.actions[0].fingerprint;
    Object.assign(state.instances[2], { published: false, unpublishedAt: NOW });
    expect(summary(plan(state, NOW).actions)).toEqual(['delete 2 scale-down']);
  });

  it('set deletion waits too, highest first', () => {
    const state = build({ instances: { 0: 'ready', 1: 'ready', 2: ['ready', { published: false, unpublishedAt: NOW - 1_000 }] } });
    state.deleting = true;
    state.publishedDns = recordsFingerprint(recordsFor(state, new Set([2])).records);
    const p = plan(state, NOW);
    expect(p.actions).toEqual([]);
    expect(p.wakeAt).toBe(NOW - 1_000 + TTL * 1000);
  });
});

describe('progress deadline and autoRollback', () => {
  it('the plan wakes at the deadline while not settled', () => {
    const state = build({ spec: { progressDeadlineSeconds: 60 }, instances: { 0: 'ready', 1: 'running' } });
    expect(next(state).wakeAt).toBe(NOW - 1_000 + 60_000);
  });

  it('a deadline already passed does not wake the workflow again and again', () => {
    const state = build({ spec: { progressDeadlineSeconds: 60 }, instances: { 0: 'ready', 1: 'running' } });
    expect(next(state, NOW + 120_000).wakeAt).toBeUndefined();
  });

  it('a settled set has no deadline', () => {
    const state = build({ spec: { progressDeadlineSeconds: 60 }, instances: { 0: 'ready', 1: 'ready', 2: 'ready' } });
    const p = next(state);
    expect(p.settled).toBe(true);
    expect(p.wakeAt).toBeUndefined();
  });

  it('past the deadline, status says ProgressDeadlineExceeded with what it waits for', () => {
    const state = build({ spec: { progressDeadlineSeconds: 60 }, instances: { 0: 'ready', 1: 'running' } });
    const status = setStatus(state, NOW + 60_000);
    expect(status.conditions).toContainEqual({
      type: 'Progressing',
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
      message: 'no progress for 60s; waiting for web-1 to become Ready',
    });
    expect(status.phase).toBe('Degraded');
  });

  it('autoRollback goes back to the last fully Ready revision', () => {
    const state = build({ spec: { progressDeadlineSeconds: 60, autoRollback: true }, instances: { 0: 'ready', 1: 'ready', 2: 'running' }, updated: true });
    state.lastGoodRevision = state.currentRevision;
    const p = plan(state, NOW + 60_000);
    expect(p.actions).toEqual([{ kind: 'rollback', revision: state.currentRevision, reason: expect.stringMatching(/no progress for 60s/) }]);
  });

  const noRollback: Array<[string, (s: SetState) => void]> = [
    ['autoRollback is off', (s) => (s.manifest!.spec.autoRollback = false)],
    ['the deadline has not passed', (s) => (s.progressAt = NOW + 1)],
    ['no revision was ever fully Ready', (s) => (s.lastGoodRevision = undefined)],
    ['the update revision is the last good one', (s) => (s.lastGoodRevision = s.updateRevision)],
    ['the set is being deleted', (s) => (s.deleting = true)],
  ];
  for (const [name, change] of noRollback) {
    it(`no rollback when ${name}`, () => {
      const state = build({ spec: { progressDeadlineSeconds: 60, autoRollback: true }, instances: { 0: 'ready', 1: 'ready', 2: 'running' }, updated: true });
      state.lastGoodRevision = state.currentRevision;
      change(state);
      expect(plan(state, NOW + 60_000).actions.some((a) => a.kind === 'rollback')).toBe(false);
    });
  }
});

describe('a create that may await readiness itself', () => {
  const creates = (p: Plan) => p.actions.filter((a): a is Extract<Action, { kind: 'create' }> => a.kind === 'create');

  it('OrderedReady: the next step waits for the new instance anyway, so its create may await readiness', () => {
    const [create] = creates(next(build({ instances: { 0: 'ready' } })));
    expect(create).toMatchObject({ ordinal: 1, awaitReady: true });
  });

  it('OrderedReady: a recreated instance too', () => {
    const [create] = creates(next(build({ instances: { 0: 'ready', 1: 'pending', 2: 'ready' } })));
    expect(create).toMatchObject({ ordinal: 1, incarnation: 2, awaitReady: true });
  });

  it('Parallel: creates do not wait for readiness', () => {
    const actions = creates(next(build({ spec: { podManagementPolicy: 'Parallel' }, instances: { 0: 'running' } })));
    expect(actions.map((a) => a.ordinal)).toEqual([1, 2]);
    for (const a of actions) expect(a.awaitReady).toBeUndefined();
  });
});
