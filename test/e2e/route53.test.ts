// A set whose names live in Route 53 (moto_server, through the real SDK over HTTP): the zone is checked
// after every step, ownership records included, and a name someone else holds becomes a condition.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SetView } from '../../core/status.js';
import { desiredRecords } from '../../core/dns-records.js';
import { expectedLines, MotoAdmin, uniqueZone, useDummyAwsConfiguration } from '../harness/route53.js';
import { startTestOrdinal, uniqueName, type TestOrdinal } from '../harness/ordinal.js';
import { fixtureManifest, isReady, waitForSet } from '../harness/sets.js';
import { motoEndpoint, waitFor } from '../harness/services.js';

let o: TestOrdinal;
let admin: MotoAdmin;
const OWNER = 'ordinal';

beforeAll(async () => {
  useDummyAwsConfiguration();
  process.env.AWS_ENDPOINT_URL_ROUTE_53 = motoEndpoint();
  o = await startTestOrdinal();
  admin = new MotoAdmin(motoEndpoint());
});

afterAll(async () => {
  await o?.stop();
  admin?.close();
});

function manifest(name: string, zone: string, replicas: number) {
  const m = fixtureManifest(name, { replicas, ttl: 1 }) as ReturnType<typeof fixtureManifest> & { spec: { dns: Record<string, unknown> } };
  m.spec.dns = { provider: 'route53', zone, ttl: 1 };
  return m;
}

/** The zone holds exactly the records of the set's Ready instances, with their ownership records. */
async function zoneMatches(zoneId: string, name: string, zone: string, view: SetView, foreign: string[] = []): Promise<void> {
  const addresses = view.status.instances.filter((i) => i.ready).map((i) => i.address!);
  const expected = expectedLines(OWNER, { [name]: addresses.length === 0 ? [] : recordsAt(name, zone, view) }, foreign);
  await waitFor(async () => JSON.stringify(await admin.lines(zoneId)) === JSON.stringify(expected), {
    timeoutMs: 30_000,
    message: `zone ${zone} to hold ${JSON.stringify(expected)}`,
  });
}

/** The records the set's Ready instances should have, as the core computes them. */
function recordsAt(name: string, zone: string, view: SetView) {
  return desiredRecords({
    set: name,
    serviceName: name,
    zone,
    ttl: 1,
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    instances: view.status.instances.filter((i) => i.ready).map((i) => ({ ordinal: i.ordinal, address: i.address! })),
  });
}

describe.sequential('Route 53 DNS', () => {
  it('publishes, moves and removes names as the set scales 0 -> 3 -> 1 and heals', async () => {
    const zone = uniqueZone('set');
    const zoneId = await admin.createZone(zone);
    const name = uniqueName('r53');

    await o.sets.apply(name, manifest(name, zone, 0));
    let view = await waitForSet(o.sets, name, (v) => isReady(v, 0));
    await zoneMatches(zoneId, name, zone, view);

    await o.sets.apply(name, manifest(name, zone, 3));
    view = await waitForSet(o.sets, name, (v) => isReady(v, 3), { message: 'three Ready', timeoutMs: 120_000 });
    expect(view.status.dns).toEqual({ provider: 'route53', zone, propagating: [], conflicts: [] });
    expect(view.status.conditions).toContainEqual(expect.objectContaining({ type: 'DNSReady', status: 'True' }));
    await zoneMatches(zoneId, name, zone, view);

    await o.sets.apply(name, manifest(name, zone, 1));
    view = await waitForSet(o.sets, name, (v) => isReady(v, 1) && v.status.instances.length === 1, { message: 'scaled to one' });
    await zoneMatches(zoneId, name, zone, view);

    const old = view.status.instances[0];
    await o.sets.deleteInstance(name, 0);
    view = await waitForSet(o.sets, name, (v) => isReady(v, 1) && v.status.instances[0].incarnation > old.incarnation, { message: 'recreated' });
    expect(view.status.instances[0].address).not.toBe(old.address);
    await zoneMatches(zoneId, name, zone, view);

    await o.sets.delete(name);
    await waitFor(async () => (await o.sets.get(name)) === undefined, { timeoutMs: 60_000, message: 'deleted' });
    expect(await admin.lines(zoneId)).toEqual([]);
  });

  it('a name someone else holds is a DNSConflict, never overwritten; the other names are published', async () => {
    const zone = uniqueZone('taken');
    const zoneId = await admin.createZone(zone);
    const name = uniqueName('clash');
    const taken = `${name}-0.${name}.${zone}`;
    await admin.change(zoneId, 'CREATE', { name: taken, type: 'A', ttl: 300, values: ['192.0.2.1'] });

    await o.sets.apply(name, manifest(name, zone, 2));
    const view = await waitForSet(o.sets, name, (v) => v.status.readyReplicas === 2 && v.status.dns.conflicts.length > 0, { message: 'conflict reported' });
    expect(view.status.dns.conflicts).toEqual([expect.objectContaining({ name: taken, type: 'A' })]);
    expect(view.status.conditions).toContainEqual(expect.objectContaining({ type: 'DNSConflict', status: 'True', message: expect.stringContaining(taken) }));
    expect(view.status.phase).toBe('Degraded');
    const lines = await waitFor(
      async () => {
        const now = await admin.lines(zoneId);
        return now.some((l) => l.startsWith(`${name}-1.${name}.${zone} A`)) ? now : undefined;
      },
      { message: `${name}-1 published beside the conflict` },
    );
    expect(lines).toContain(`${taken} A 300 192.0.2.1`);
  });

  it('a wrong hosted zone id surfaces as a condition with the AWS code and what to do', async () => {
    const zone = uniqueZone('wrong');
    const name = uniqueName('nozone');
    const m = manifest(name, zone, 1);
    (m.spec.dns as Record<string, unknown>).hostedZoneId = 'ZNOSUCHZONE000';
    await o.sets.apply(name, m);
    const view = await waitForSet(o.sets, name, (v) => v.status.conditions.some((c) => c.type === 'DNSReady' && c.status === 'False'), {
      message: 'DNS error reported',
    });
    const condition = view.status.conditions.find((c) => c.type === 'DNSReady')!;
    expect(condition.reason).toMatch(/NoSuchHostedZone/);
    expect(condition.message.length).toBeGreaterThan(20);
  });
});
