// The set workflow end to end on the real Temporal dev server, real processes and the real DNS server:
// ordered scale-up, stable names, self-healing, scale-down, validation, worker restarts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SetError, SetsService } from '../../api/sets.js';
import { instanceDnsName, workflowIdForSet } from '../../core/names.js';
import { startTestOrdinal, uniqueName, type TestOrdinal } from '../harness/ordinal.js';
import { fixtureManifest, isReady, queryTcp, readEvents, resolveA, waitForSet } from '../harness/sets.js';
import { waitFor } from '../harness/services.js';

let ordinal: TestOrdinal;
let tmp: string;

beforeAll(async () => {
  ordinal = await startTestOrdinal();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-events-'));
});

afterAll(async () => {
  await ordinal?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const zone = 'ordinal.internal';
const dnsName = (set: string, i: number) => instanceDnsName(set, i, set, zone);

function eventsFile(name: string): string {
  return path.join(tmp, `${name}.events`);
}

/** Live processes of the set, from the driver (one per ordinal, or the test fails). */
async function livePids(set: string): Promise<Map<number, number>> {
  const handles = await ordinal.driver().describe(set);
  const byOrdinal = new Map<number, number>();
  for (const h of handles) {
    expect(byOrdinal.has(h.ordinal), `two processes for ${set}-${h.ordinal}`).toBe(false);
    byOrdinal.set(h.ordinal, h.pid);
  }
  return byOrdinal;
}

describe.sequential('a StatefulSet on Temporal', () => {
  it('creates instances in order, each Ready before the next starts, and publishes their names', async () => {
    const name = uniqueName('web');
    const events = eventsFile(name);
    const applied = await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 3, eventsFile: events, args: ['--ready-after', '400'] }));
    expect(applied.created).toBe(true);
    expect(applied.set.metadata.generation).toBe(1);

    const view = await waitForSet(ordinal.sets, name, (v) => isReady(v), { message: `${name} Ready` });
    const instances = view.status.instances;
    expect(instances.map((i) => i.name)).toEqual([`${name}-0`, `${name}-1`, `${name}-2`]);

    // One process per ordinal, started in order, each after its predecessor became Ready.
    const starts = readEvents(events).filter((e) => e.event === 'start');
    expect(starts.map((e) => e.name)).toEqual([`${name}-0`, `${name}-1`, `${name}-2`]);
    for (let i = 1; i < 3; i++) {
      expect(starts[i].t - starts[i - 1].t).toBeGreaterThanOrEqual(400);
      expect(Date.parse(instances[i].startedAt!)).toBeGreaterThanOrEqual(Date.parse(instances[i - 1].readySince!));
    }
    expect(new Set(instances.map((i) => i.address)).size).toBe(3);

    // Every instance resolves to its own address, over UDP and TCP; the service name to all of them.
    for (const instance of instances) {
      expect(instance.dnsName).toBe(dnsName(name, instance.ordinal));
      await waitFor(async () => (await resolveA(ordinal.resolver, instance.dnsName)).join() === instance.address, {
        message: `${instance.dnsName} -> ${instance.address}`,
      });
      const tcp = await queryTcp(ordinal.dnsPort, instance.dnsName);
      expect(tcp.answers?.map((a) => (a as { data: unknown }).data)).toEqual([instance.address]);
    }
    expect(await resolveA(ordinal.resolver, `${name}.${zone}`)).toEqual(instances.map((i) => i.address!).sort());
    const srv = await ordinal.resolver.resolveSrv(`_http._tcp.${name}.${zone}`);
    expect(srv.map((r) => `${r.name}:${r.port}`).sort()).toEqual(instances.map((i) => `${i.dnsName}:8080`).sort());
    await expect(ordinal.resolver.resolve4(`${name}-3.${name}.${zone}`)).rejects.toMatchObject({ code: 'ENOTFOUND' });
    await expect(ordinal.resolver.resolve4('example.com')).rejects.toMatchObject({ code: 'EREFUSED' });
  });

  it('recreates a killed instance under the same name at a new address, and its record follows', async () => {
    const name = uniqueName('heal');
    const events = eventsFile(name);
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 2, eventsFile: events }));
    const before = await waitForSet(ordinal.sets, name, (v) => isReady(v));
    const old = before.status.instances[1];
    const pids = await livePids(name);

    const killedAt = Date.now();
    process.kill(pids.get(1)!, 'SIGKILL');

    const after = await waitForSet(ordinal.sets, name, (v) => isReady(v) && v.status.instances[1].incarnation > old.incarnation, {
      message: `${name}-1 recreated`,
    });
    const fresh = after.status.instances[1];
    expect(fresh.name).toBe(old.name);
    expect(fresh.dnsName).toBe(old.dnsName);
    expect(fresh.address).not.toBe(old.address);
    expect(fresh.restarts).toBe(1);
    expect(fresh.lastError).toMatch(/killed by SIGKILL|exited/);
    // The other instance was left alone.
    expect(after.status.instances[0].incarnation).toBe(before.status.instances[0].incarnation);
    await waitFor(async () => (await resolveA(ordinal.resolver, fresh.dnsName)).join() === fresh.address, {
      message: `${fresh.dnsName} moved to ${fresh.address}`,
    });
    // The successor started only after the old process was gone.
    const successor = readEvents(events).find((e) => e.event === 'start' && e.name === `${name}-1` && e.incarnation === fresh.incarnation);
    expect(successor!.t).toBeGreaterThanOrEqual(killedAt);
    expect((await livePids(name)).size).toBe(2);
  });

  it('deleting an instance stops it and brings it back under the same name', async () => {
    const name = uniqueName('del');
    const events = eventsFile(name);
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 2, eventsFile: events }));
    const before = await waitForSet(ordinal.sets, name, (v) => isReady(v));
    const old = before.status.instances[0];

    await ordinal.sets.deleteInstance(name, 0);
    const after = await waitForSet(ordinal.sets, name, (v) => isReady(v) && v.status.instances[0].incarnation > old.incarnation);
    const fresh = after.status.instances[0];
    expect(fresh.address).not.toBe(old.address);
    expect(fresh.restarts).toBe(0);
    const timeline = readEvents(events).filter((e) => e.name === `${name}-0`);
    const stopped = timeline.find((e) => e.event === 'exit' && e.incarnation === old.incarnation)!;
    const started = timeline.find((e) => e.event === 'start' && e.incarnation === fresh.incarnation)!;
    expect(timeline.some((e) => e.event === 'sigterm' && e.incarnation === old.incarnation)).toBe(true);
    expect(started.t).toBeGreaterThanOrEqual(stopped.t);

    await expect(ordinal.sets.deleteInstance(name, 7)).rejects.toMatchObject({ code: 'NotFound' });
  });

  it('scales down highest ordinal first, removing each record before stopping its instance', async () => {
    const name = uniqueName('down');
    const events = eventsFile(name);
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 3, eventsFile: events }));
    const full = await waitForSet(ordinal.sets, name, (v) => isReady(v));

    const scaled = await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 1, eventsFile: events }));
    expect(scaled.created).toBe(false);
    expect(scaled.set.metadata.generation).toBe(2);
    const view = await waitForSet(ordinal.sets, name, (v) => isReady(v) && v.status.instances.length === 1);
    expect(view.status.instances[0].address).toBe(full.status.instances[0].address);

    const sigterms = readEvents(events).filter((e) => e.event === 'sigterm').map((e) => e.name);
    expect(sigterms).toEqual([`${name}-2`, `${name}-1`]);
    expect(await resolveA(ordinal.resolver, dnsName(name, 1))).toEqual([]);
    expect(await resolveA(ordinal.resolver, dnsName(name, 2))).toEqual([]);
    expect(await resolveA(ordinal.resolver, `${name}.${zone}`)).toEqual([full.status.instances[0].address]);
    expect((await livePids(name)).size).toBe(1);
  });

  it('rejects an invalid spec with the field and rule, and changes nothing', async () => {
    const name = uniqueName('bad');
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 1 }));
    await waitForSet(ordinal.sets, name, (v) => isReady(v));

    const bad = fixtureManifest(name, { replicas: 1 }) as { spec: Record<string, unknown> };
    bad.spec.replicas = -1;
    bad.spec.surprise = true;
    const error = await ordinal.sets.apply(name, bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SetError);
    expect((error as SetError).code).toBe('InvalidManifest');
    expect((error as SetError).details).toEqual(
      expect.arrayContaining([
        { path: 'spec.replicas', message: 'must be at least 0' },
        { path: 'spec.surprise', message: 'unknown field' },
      ]),
    );
    const view = await ordinal.sets.get(name);
    expect(view?.metadata.generation).toBe(1);
    expect(view?.spec.replicas).toBe(1);

    const stale = await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 2 }), { expectedGeneration: 0 }).catch((e: unknown) => e);
    expect((stale as SetError).code).toBe('Conflict');
    expect((await ordinal.sets.get(name))?.spec.replicas).toBe(1);

    // Nothing is started for an invalid new set.
    const neverName = uniqueName('never');
    const never = fixtureManifest(neverName, { replicas: 1 }) as { spec: Record<string, unknown> };
    never.spec.replicas = 'three';
    await expect(ordinal.sets.apply(neverName, never)).rejects.toMatchObject({ code: 'InvalidManifest' });
    expect(await ordinal.sets.get(neverName)).toBeUndefined();
    expect(await ordinal.driver().describe(neverName)).toEqual([]);
  });

  it('answers Unavailable in bounded time when no worker serves the set', async () => {
    const orphanQueue = uniqueName('nobody-polls');
    const sets = new SetsService(ordinal.client, { taskQueue: orphanQueue, queryTimeoutMs: 2_000, updateTimeoutMs: 3_000 });
    const name = uniqueName('orphan');
    const started = Date.now();
    try {
      await expect(sets.apply(name, fixtureManifest(name, { replicas: 1 }))).rejects.toMatchObject({ code: 'Unavailable' });
      expect(Date.now() - started).toBeLessThan(15_000);
      await expect(sets.get(name)).rejects.toMatchObject({ code: 'Unavailable' });
    } finally {
      await ordinal.client.workflow.getHandle(workflowIdForSet(name)).terminate('test finished').catch(() => undefined);
    }
  });

  it('restarts an instance that fails its liveness probe', async () => {
    const name = uniqueName('live');
    const unhealthy = path.join(tmp, `${name}-{name}.unhealthy`);
    await ordinal.sets.apply(
      name,
      fixtureManifest(name, {
        replicas: 1,
        args: ['--unhealthy-file', unhealthy],
        livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1, failureThreshold: 2 },
      }),
    );
    const before = await waitForSet(ordinal.sets, name, (v) => isReady(v));
    const flag = unhealthy.replace('{name}', `${name}-0`);
    fs.writeFileSync(flag, '');
    const failed = await waitForSet(ordinal.sets, name, (v) => v.status.instances[0].incarnation > before.status.instances[0].incarnation, {
      message: 'liveness restart',
    });
    fs.rmSync(flag);
    expect(failed.status.instances[0].restarts).toBeGreaterThanOrEqual(1);
    expect(failed.status.instances[0].lastError).toMatch(/liveness probe failed/);
    await waitForSet(ordinal.sets, name, (v) => isReady(v));
  });

  it('backs off a crash loop, shows it in status, and recovers when the template is fixed', async () => {
    const name = uniqueName('loop');
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 1, args: ['--exit-after', '100', '--exit-code', '3'] }));
    const looping = await waitForSet(
      ordinal.sets,
      name,
      (v) => v.status.instances[0]?.phase === 'CrashLoopBackOff' && v.status.instances[0].restarts >= 2,
      { message: 'CrashLoopBackOff' },
    );
    const instance = looping.status.instances[0];
    expect(instance.lastError).toBe('the process exited with code 3');
    expect(Date.parse(instance.nextRestartAt!)).toBeGreaterThan(Date.now() - 5_000);
    expect(looping.status.phase).toBe('Degraded');
    expect(looping.status.conditions).toContainEqual(
      expect.objectContaining({ type: 'ReplicaFailure', status: 'True', reason: 'CrashLoopBackOff', message: `${name}-0: the process exited with code 3` }),
    );

    // A fixed template rolls out without any manual delete.
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 1 }));
    const fixed = await waitForSet(ordinal.sets, name, (v) => isReady(v), { message: 'recovery after fix' });
    expect(fixed.status.updatedReplicas).toBe(1);
    expect(fixed.status.currentRevision).toBe(fixed.status.updateRevision);
  });

  it('a failing create (no such program) is retried with back-off and reported', async () => {
    const name = uniqueName('enoent');
    const manifest = fixtureManifest(name, { replicas: 1 });
    manifest.spec.template.process.command = ['/nonexistent/program'];
    await ordinal.sets.apply(name, manifest);
    const view = await waitForSet(ordinal.sets, name, (v) => (v.status.instances[0]?.restarts ?? 0) >= 1 && v.status.phase === 'Degraded');
    expect(view.status.instances[0].lastError).toMatch(/create failed: .*nonexistent/);
  });

  it('instances outlive a worker restart and are adopted, never started twice', async () => {
    const name = uniqueName('adopt');
    const events = eventsFile(name);
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 2, eventsFile: events }));
    const before = await waitForSet(ordinal.sets, name, (v) => isReady(v));
    const pids = await livePids(name);

    await ordinal.stopWorker();
    for (const pid of pids.values()) expect(() => process.kill(pid, 0)).not.toThrow();
    await ordinal.startWorker();

    // Still the same processes, Ready, and no new start.
    const after = await waitForSet(ordinal.sets, name, (v) => isReady(v));
    expect(after.status.instances.map((i) => i.incarnation)).toEqual(before.status.instances.map((i) => i.incarnation));
    expect(await livePids(name)).toEqual(pids);
    expect(readEvents(events).filter((e) => e.event === 'start')).toHaveLength(2);

    // The new worker watches them: a kill is healed.
    process.kill(pids.get(0)!, 'SIGKILL');
    await waitForSet(ordinal.sets, name, (v) => isReady(v) && v.status.instances[0].incarnation > before.status.instances[0].incarnation);
  });

  it('deleting the set stops instances highest first and removes every record', async () => {
    const name = uniqueName('gone');
    const events = eventsFile(name);
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 3, eventsFile: events }));
    await waitForSet(ordinal.sets, name, (v) => isReady(v));

    const deleting = await ordinal.sets.delete(name);
    expect(deleting.metadata.deletionRequested).toBe(true);
    await expect(ordinal.sets.apply(name, fixtureManifest(name, { replicas: 3 }))).rejects.toMatchObject({ code: 'Conflict' });
    await waitFor(async () => (await ordinal.sets.get(name)) === undefined, { timeoutMs: 60_000, message: `${name} gone` });

    expect(readEvents(events).filter((e) => e.event === 'sigterm').map((e) => e.name)).toEqual([`${name}-2`, `${name}-1`, `${name}-0`]);
    expect(await ordinal.driver().describe(name)).toEqual([]);
    for (const i of [0, 1, 2]) expect(await resolveA(ordinal.resolver, dnsName(name, i))).toEqual([]);
    expect(await resolveA(ordinal.resolver, `${name}.${zone}`)).toEqual([]);
    await expect(ordinal.sets.delete(name)).rejects.toMatchObject({ code: 'NotFound' });

    // The name can be used again.
    const again = await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 1 }));
    expect(again.created).toBe(true);
    await waitForSet(ordinal.sets, name, (v) => isReady(v));
  });
});
