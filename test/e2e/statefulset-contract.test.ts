// The StatefulSet contract end to end through the HTTP API, on real processes, the real DNS server and
// the Temporal dev server: one test per row of the contract (see test/unit/planner-statefulset.test.ts
// for the rules themselves).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SetView } from '../../core/status.js';
import { startTestOrdinal, uniqueName, type TestOrdinal } from '../harness/ordinal.js';
import { fixtureManifest, isReady, readEvents, resolveA, type FixtureManifestOptions } from '../harness/sets.js';
import { waitFor } from '../harness/services.js';

let o: TestOrdinal;
let tmp: string;

beforeAll(async () => {
  o = await startTestOrdinal();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-contract-'));
});

afterAll(async () => {
  await o?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const zone = 'ordinal.internal';

function events(name: string): string {
  return path.join(tmp, `${name}.events`);
}

async function put(name: string, options: FixtureManifestOptions): Promise<SetView> {
  const res = await o.api(`/v1/sets/${name}`, { method: 'PUT', body: fixtureManifest(name, options) });
  expect([200, 201], JSON.stringify(res.body)).toContain(res.status);
  return res.body as SetView;
}

async function until(name: string, predicate: (view: SetView) => boolean, message: string, timeoutMs = 60_000): Promise<SetView> {
  return waitFor(
    async () => {
      const res = await o.api(`/v1/sets/${name}`);
      return res.status === 200 && predicate(res.body as SetView) ? (res.body as SetView) : undefined;
    },
    { timeoutMs, intervalMs: 150, message: `${name}: ${message}` },
  );
}

const ready = (replicas?: number) => (v: SetView) => isReady(v, replicas);
const starts = (name: string) => readEvents(events(name)).filter((e) => e.event === 'start');

// Each test has its own set, so they run side by side on the one worker.
describe.concurrent('the StatefulSet contract through the HTTP API', () => {
  it('Parallel creates every instance without waiting, and deletes them together', async () => {
    const name = uniqueName('par');
    // The instances ignore SIGTERM, so each is stopped only after its 5 s grace period: deleted together,
    // all three get SIGTERM within one grace period; one at a time, at least a grace period apart.
    const args = ['--ready-after', '1500', '--ignore-sigterm'];
    await put(name, { replicas: 3, eventsFile: events(name), args, spec: { podManagementPolicy: 'Parallel' } });
    const view = await until(name, ready(), 'Ready');
    const firstReady = Math.min(...view.status.instances.map((i) => Date.parse(i.readySince!)));
    // Every instance started before the first one was Ready.
    expect(starts(name).map((e) => e.name).sort()).toEqual([`${name}-0`, `${name}-1`, `${name}-2`]);
    for (const start of starts(name)) expect(start.t).toBeLessThan(firstReady);

    await put(name, { replicas: 0, eventsFile: events(name), args, spec: { podManagementPolicy: 'Parallel' } });
    await until(name, (v) => v.status.instances.length === 0, 'scaled to zero');
    // The first SIGTERM each instance got (the driver signals its process group and the process itself).
    const terms = new Map<string, number>();
    for (const e of readEvents(events(name))) if (e.event === 'sigterm' && !terms.has(e.name)) terms.set(e.name, e.t);
    expect([...terms.keys()].sort()).toEqual([`${name}-0`, `${name}-1`, `${name}-2`]);
    expect(Math.max(...terms.values()) - Math.min(...terms.values())).toBeLessThan(5_000);
  });

  it('ordinals.start names instances from another ordinal, in DNS too', async () => {
    const name = uniqueName('start');
    await put(name, { replicas: 2, spec: { ordinals: { start: 3 } } });
    const view = await until(name, ready(), 'Ready');
    expect(view.status.instances.map((i) => i.name)).toEqual([`${name}-3`, `${name}-4`]);
    expect(await resolveA(o.resolver, `${name}-3.${name}.${zone}`)).toEqual([view.status.instances[0].address]);
    expect(await resolveA(o.resolver, `${name}-0.${name}.${zone}`)).toEqual([]);
  });

  it('reserveOrdinals skips an ordinal, and reserving a running one removes it without renumbering', async () => {
    const name = uniqueName('rsv');
    await put(name, { replicas: 3, spec: { reserveOrdinals: [1] } });
    let view = await until(name, ready(), 'Ready');
    expect(view.status.instances.map((i) => i.ordinal)).toEqual([0, 2, 3]);
    const kept = view.status.instances.find((i) => i.ordinal === 3)!;

    await put(name, { replicas: 2, spec: { reserveOrdinals: [1, 2] } });
    view = await until(name, (v) => ready()(v) && v.status.instances.length === 2, 'ordinal 2 reserved');
    expect(view.status.instances.map((i) => i.ordinal)).toEqual([0, 3]);
    expect(view.status.instances[1].incarnation).toBe(kept.incarnation);
  });

  it('minReadySeconds: the next instance starts once the previous one is Available', async () => {
    const name = uniqueName('minready');
    await put(name, { replicas: 2, spec: { minReadySeconds: 2 } });
    const view = await until(name, (v) => ready()(v) && v.status.availableReplicas === 2, 'Available');
    const [first, second] = view.status.instances;
    expect(Date.parse(second.startedAt!) - Date.parse(first.readySince!)).toBeGreaterThanOrEqual(2_000);
    expect(view.status.conditions).toContainEqual(expect.objectContaining({ type: 'Available', status: 'True' }));
  });

  it('scale-down removes nothing while a lower instance is unhealthy', async () => {
    const name = uniqueName('hold');
    const flag = path.join(tmp, `${name}-{name}.unhealthy`);
    await put(name, { replicas: 3, args: ['--unhealthy-file', flag] });
    await until(name, ready(), 'Ready');
    fs.writeFileSync(flag.replace('{name}', `${name}-0`), '');
    await until(name, (v) => !v.status.instances[0].ready, `${name}-0 not Ready`);
    await put(name, { replicas: 1, args: ['--unhealthy-file', flag] });
    const held = await until(name, (v) => /waiting for .*-0 to become Ready/.test(progressing(v)), 'held back');
    expect(held.status.instances).toHaveLength(3);
    fs.rmSync(flag.replace('{name}', `${name}-0`));
    await until(name, (v) => ready(1)(v) && v.status.instances.length === 1, 'scaled down');
  });

  it('RollingUpdate: a partition keeps lower ordinals on the old template; maxUnavailable replaces several at once', async () => {
    const name = uniqueName('roll');
    const ev = events(name);
    await put(name, { replicas: 3, eventsFile: ev });
    const v1 = await until(name, ready(), 'Ready');
    const oldRevision = v1.status.updateRevision;

    await put(name, { replicas: 3, eventsFile: ev, env: { VERSION: '2' }, spec: { updateStrategy: { rollingUpdate: { partition: 2 } } } });
    let view = await until(name, (v) => v.status.updatedReplicas === 1 && ready()(v), 'canary updated');
    expect(view.status.instances.map((i) => i.revision === view.status.updateRevision)).toEqual([false, false, true]);
    expect(view.status.currentRevision).toBe(oldRevision);

    // Recreated below the partition: still the old revision.
    await o.api(`/v1/sets/${name}/instances/0`, { method: 'DELETE' });
    view = await until(name, (v) => ready()(v) && v.status.instances[0].incarnation > 1, `${name}-0 recreated`);
    expect(view.status.instances[0].revision).toBe(oldRevision);

    const before = readEvents(ev).length;
    await put(name, { replicas: 3, eventsFile: ev, env: { VERSION: '2' }, spec: { updateStrategy: { rollingUpdate: { partition: 0, maxUnavailable: 2 } } } });
    view = await until(name, (v) => ready()(v) && v.status.updatedReplicas === 3, 'all updated');
    expect(view.status.currentRevision).toBe(view.status.updateRevision);
    // web-1 and web-0 were stopped together: both SIGTERMs came before either successor started.
    const later = readEvents(ev).slice(before);
    const terms = later.filter((e) => e.event === 'sigterm').map((e) => e.t);
    const newStarts = later.filter((e) => e.event === 'start').map((e) => e.t);
    expect(terms).toHaveLength(2);
    expect(Math.max(...terms)).toBeLessThan(Math.min(...newStarts));
  });

  it('OnDelete: a new template is taken only by deleted instances', async () => {
    const name = uniqueName('ondel');
    await put(name, { replicas: 2, spec: { updateStrategy: { type: 'OnDelete' } } });
    const v1 = await until(name, ready(), 'Ready');
    await put(name, { replicas: 2, env: { VERSION: '2' }, spec: { updateStrategy: { type: 'OnDelete' } } });
    let view = await until(name, (v) => v.status.observedGeneration === 2 && ready()(v), 'generation 2 observed');
    expect(view.status.instances.map((i) => i.incarnation)).toEqual(v1.status.instances.map((i) => i.incarnation));
    expect(view.status.updatedReplicas).toBe(0);

    await o.api(`/v1/sets/${name}/instances/1`, { method: 'DELETE' });
    view = await until(name, (v) => ready()(v) && v.status.updatedReplicas === 1, `${name}-1 on the new template`);
    expect(view.status.instances[1].revision).toBe(view.status.updateRevision);
    expect(view.status.instances[0].revision).not.toBe(view.status.updateRevision);
  });

  it('revisions: applying an older template reuses its revision (rollback); old ones are pruned', async () => {
    const name = uniqueName('rev');
    await put(name, { replicas: 1, spec: { revisionHistoryLimit: 1 } });
    const r1 = (await until(name, ready(), 'Ready')).status.updateRevision;
    await put(name, { replicas: 1, env: { VERSION: '2' }, spec: { revisionHistoryLimit: 1 } });
    const r2 = (await until(name, (v) => ready()(v) && v.status.updatedReplicas === 1 && v.metadata.generation === 2, 'v2')).status.updateRevision;
    await put(name, { replicas: 1, env: { VERSION: '3' }, spec: { revisionHistoryLimit: 1 } });
    await until(name, (v) => ready()(v) && v.metadata.generation === 3, 'v3');
    await put(name, { replicas: 1, env: { VERSION: '2' }, spec: { revisionHistoryLimit: 1 } });
    const back = await until(name, (v) => ready()(v) && v.metadata.generation === 4, 'back to v2');
    expect(back.status.updateRevision).toBe(r2);

    const { status, body } = await o.api(`/v1/sets/${name}/revisions`);
    expect(status).toBe(200);
    const names = (body.items as Array<{ name: string; update: boolean }>).map((r) => r.name);
    expect(names[0]).toBe(r2);
    expect(body.items[0].update).toBe(true);
    expect(names).not.toContain(r1); // pruned: unused and beyond revisionHistoryLimit 1
    expect(names).toHaveLength(2);
  });

  it('volumes: each instance keeps its own across recreation and scale-down (Retain), and they go when asked (Delete)', async () => {
    const name = uniqueName('vol');
    const volumes = { volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { resources: { requests: { storage: '1Gi' } } } }] };
    const dir = (ordinal: number) => path.join(o.config.dataDir, 'volumes', `data-${name}-${ordinal}`);
    const log = (ordinal: number) => fs.readFileSync(path.join(dir(ordinal), 'incarnations'), 'utf8').trim().split('\n');
    await put(name, { replicas: 2, args: ['--volume-log'], spec: volumes });
    await until(name, ready(), 'Ready');
    expect(log(0)).toEqual(['1']);
    expect(log(1)).toEqual(['1']);

    await o.api(`/v1/sets/${name}/instances/1`, { method: 'DELETE' });
    await until(name, (v) => ready()(v) && v.status.instances[1].incarnation === 2, 'recreated');
    expect(log(1)).toEqual(['1', '2']);

    await put(name, { replicas: 1, args: ['--volume-log'], spec: volumes });
    await until(name, (v) => ready(1)(v) && v.status.instances.length === 1, 'scaled down');
    expect(fs.existsSync(dir(1))).toBe(true); // Retain
    await put(name, { replicas: 2, args: ['--volume-log'], spec: volumes });
    await until(name, ready(2), 'scaled up');
    expect(log(1)).toEqual(['1', '2', '1']); // reattached

    const name2 = uniqueName('voldel');
    const deleting = { ...volumes, persistentVolumeClaimRetentionPolicy: { whenScaled: 'Delete', whenDeleted: 'Delete' } };
    const dir2 = (ordinal: number) => path.join(o.config.dataDir, 'volumes', `data-${name2}-${ordinal}`);
    await put(name2, { replicas: 2, args: ['--volume-log'], spec: deleting });
    await until(name2, ready(), 'Ready');
    await put(name2, { replicas: 1, args: ['--volume-log'], spec: deleting });
    await until(name2, (v) => v.status.instances.length === 1, 'scaled down');
    expect(fs.existsSync(dir2(1))).toBe(false);
    expect(fs.existsSync(dir2(0))).toBe(true);
    await o.api(`/v1/sets/${name2}`, { method: 'DELETE' });
    await waitFor(async () => (await o.api(`/v1/sets/${name2}`)).status === 404, { timeoutMs: 60_000, message: 'deleted' });
    expect(fs.existsSync(dir2(0))).toBe(false);

    const immutable = await o.api(`/v1/sets/${name}`, { method: 'PUT', body: fixtureManifest(name, { replicas: 2, spec: { volumeClaimTemplates: [] } }) });
    expect(immutable.status).toBe(400);
    expect(immutable.body.error.details).toContainEqual({ path: 'spec.volumeClaimTemplates', message: expect.stringMatching(/cannot change/) });
  });

  it('publishNotReadyAddresses: peers resolve an instance before it is Ready', async () => {
    const name = uniqueName('notready');
    await put(name, { replicas: 1, args: ['--never-ready'], ttl: 1 });
    const plain = await until(name, (v) => v.status.instances[0]?.phase === 'Running', 'running');
    expect(await resolveA(o.resolver, plain.status.instances[0].dnsName)).toEqual([]);

    const other = uniqueName('early');
    const manifest = fixtureManifest(other, { replicas: 1, args: ['--never-ready'] }) as { spec: { dns: Record<string, unknown> } };
    manifest.spec.dns.publishNotReadyAddresses = true;
    expect((await o.api(`/v1/sets/${other}`, { method: 'PUT', body: manifest })).status).toBe(201);
    const view = await until(other, (v) => v.status.instances[0]?.phase === 'Running', 'running');
    await waitFor(async () => (await resolveA(o.resolver, view.status.instances[0].dnsName)).join() === view.status.instances[0].address, {
      message: 'resolves while not Ready',
    });
  });

  it('no stuck rollouts: a fixed template replaces a broken revision without any manual delete', async () => {
    const name = uniqueName('stuck');
    await put(name, { replicas: 2 });
    await until(name, ready(), 'Ready');
    await put(name, { replicas: 2, args: ['--never-ready'] });
    await until(name, (v) => v.status.instances[1].revision === v.status.updateRevision && !v.status.instances[1].ready, 'broken canary');
    await put(name, { replicas: 2, env: { FIXED: '1' } });
    const fixed = await until(name, (v) => ready()(v) && v.status.updatedReplicas === 2, 'fixed rollout');
    expect(fixed.status.instances.every((i) => i.revision === fixed.status.updateRevision)).toBe(true);
  });

  it('progress deadline: a rollout that makes no progress is reported, and autoRollback returns to the last Ready revision', async () => {
    const name = uniqueName('deadline');
    const spec = { progressDeadlineSeconds: 3 };
    await put(name, { replicas: 2, spec });
    const good = (await until(name, ready(), 'Ready')).status.updateRevision;
    await put(name, { replicas: 2, args: ['--never-ready'], spec });
    const stuck = await until(name, (v) => progressingReason(v) === 'ProgressDeadlineExceeded', 'deadline exceeded', 30_000);
    expect(stuck.status.conditions).toContainEqual(
      expect.objectContaining({ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: expect.stringMatching(/no progress for 3s/) }),
    );
    expect(stuck.status.phase).toBe('Degraded');

    await put(name, { replicas: 2, args: ['--never-ready'], spec: { ...spec, autoRollback: true } });
    const rolled = await until(name, (v) => ready()(v) && v.status.updateRevision === good, 'rolled back', 60_000);
    expect(rolled.status.lastRollback).toMatchObject({ to: good, reason: expect.stringMatching(/no progress/) });
    expect(rolled.spec.template.process!.command).not.toContain('--never-ready');
  });

  it('pause and resume a rollout', async () => {
    const name = uniqueName('pause');
    const paused = { updateStrategy: { rollingUpdate: { paused: true } } };
    await put(name, { replicas: 2 });
    const v1 = await until(name, ready(), 'Ready');
    await put(name, { replicas: 2, env: { VERSION: '2' }, spec: paused });
    const view = await until(name, (v) => v.status.phase === 'Paused', 'paused');
    expect(view.status.instances.map((i) => i.incarnation)).toEqual(v1.status.instances.map((i) => i.incarnation));
    expect(view.status.conditions).toContainEqual(expect.objectContaining({ type: 'Progressing', status: 'Unknown', reason: 'RolloutPaused' }));

    const resumed = await o.api(`/v1/sets/${name}`, {
      method: 'PATCH',
      body: { spec: { updateStrategy: { rollingUpdate: { paused: false } } } },
      headers: { 'content-type': 'application/merge-patch+json' },
    });
    expect(resumed.status).toBe(200);
    await until(name, (v) => ready()(v) && v.status.updatedReplicas === 2, 'resumed rollout');
  });

  it('cordon: an instance leaves the service records but keeps running and keeps its own name', async () => {
    const name = uniqueName('cordon');
    await put(name, { replicas: 2 });
    const view = await until(name, ready(), 'Ready');
    const [a, b] = view.status.instances;
    const service = `${name}.${zone}`;
    expect((await o.api(`/v1/sets/${name}/instances/1/cordon`, { method: 'PUT' })).status).toBe(200);
    await waitFor(async () => (await resolveA(o.resolver, service)).join() === a.address, { message: 'out of the service' });
    expect(await resolveA(o.resolver, b.dnsName)).toEqual([b.address]);
    const cordoned = await until(name, (v) => v.status.instances[1].cordoned, 'cordoned in status');
    expect(cordoned.status.instances[1].incarnation).toBe(b.incarnation);
    expect((await o.api(`/v1/sets/${name}/instances/1/cordon`, { method: 'DELETE' })).status).toBe(200);
    await waitFor(async () => (await resolveA(o.resolver, service)).length === 2, { message: 'back in the service' });
  });

  it('ordered DNS cutover: an instance keeps running one TTL after its record is withdrawn', async () => {
    const name = uniqueName('cutover');
    const ev = events(name);
    await put(name, { replicas: 2, eventsFile: ev, ttl: 2 });
    const view = await until(name, ready(), 'Ready');
    const withdrawn = waitFor(async () => ((await resolveA(o.resolver, view.status.instances[1].dnsName)).length === 0 ? Date.now() : undefined), {
      timeoutMs: 60_000,
      intervalMs: 20,
      message: 'record withdrawn',
    });
    await put(name, { replicas: 1, eventsFile: ev, ttl: 2 });
    const goneAt = await withdrawn;
    await until(name, (v) => v.status.instances.length === 1, 'scaled down');
    const term = readEvents(ev).find((e) => e.event === 'sigterm' && e.name === `${name}-1`)!;
    expect(term.t - goneAt).toBeGreaterThanOrEqual(1_800);
  });

  it('immutable fields are refused with the field and the reason', async () => {
    const name = uniqueName('immut');
    await put(name, { replicas: 1 });
    const res = await o.api(`/v1/sets/${name}`, { method: 'PUT', body: { ...fixtureManifest(name, { replicas: 1 }), spec: { ...fixtureManifest(name, { replicas: 1 }).spec, serviceName: 'other' } } });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ path: 'spec.serviceName', message: expect.stringMatching(/cannot change once the set exists/) }]);
    // podManagementPolicy may change: Ordinal only uses it for what comes next.
    expect((await o.api(`/v1/sets/${name}`, { method: 'PUT', body: fixtureManifest(name, { replicas: 1, spec: { podManagementPolicy: 'Parallel' } }) })).status).toBe(200);
  });
});

function progressing(view: SetView): string {
  return view.status.conditions.find((c) => c.type === 'Progressing')?.message ?? '';
}

function progressingReason(view: SetView): string | undefined {
  return view.status.conditions.find((c) => c.type === 'Progressing')?.reason;
}
