// The Route 53 provider's client and publisher against moto_server, through the real SDK over HTTP:
// directly, and through a fault-injecting proxy that adds what moto lacks (throttling,
// PriorRequestNotComplete, PENDING changes, AWS's strict DELETE and CREATE). Every test asserts from
// ListResourceRecordSets that the zone ends exactly as wanted, foreign records untouched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordSet } from '../../core/dns-records.js';
import { Route53Error, createRoute53, type Route53 } from '../../activities/dns/route53/client.js';
import { flushZone, reconcileZone } from '../../activities/dns/route53/publisher.js';
import { WorkerMetrics } from '../../worker/worker-metrics.js';
import { startRoute53Proxy, type Route53Proxy } from '../harness/route53-proxy.js';
import { MotoAdmin, expectedLines, line, setRecords, testRoute53, uniqueZone, useDummyAwsConfiguration } from '../harness/route53.js';
import { motoEndpoint } from '../harness/services.js';

useDummyAwsConfiguration();
const OWNER = 'it-owner';

let admin: MotoAdmin;
let direct: Route53;

beforeAll(() => {
  admin = new MotoAdmin(motoEndpoint());
  direct = testRoute53(motoEndpoint());
});

afterAll(() => {
  admin?.close();
  direct?.sdk.destroy();
});

/** Three sets' records, addresses from `base`. */
function threeSets(zone: string, base = 1): Record<string, RecordSet[]> {
  return {
    web: setRecords('web', zone, [`10.0.${base}.1`, `10.0.${base}.2`, `10.0.${base}.3`]),
    db: setRecords('db', zone, [`10.1.${base}.1`, `10.1.${base}.2`]),
    kv: setRecords('kv', zone, [`10.2.${base}.1`]),
  };
}

describe('finding the hosted zone', () => {
  let zone: string;
  let publicId: string;
  let privateId: string;
  let otherId: string;

  beforeAll(async () => {
    zone = uniqueZone('find');
    publicId = await admin.createZone(zone);
    privateId = await admin.createZone(zone, { private: true });
    otherId = await admin.createZone(uniqueZone('other'));
    // A zone whose name sorts right after: never taken for this one.
    await admin.createZone(`sub.${zone}`);
  });

  it('chooses public or private by dns.private', async () => {
    expect(await direct.findHostedZone({ zone, private: true })).toEqual({ id: privateId, name: zone, private: true });
    expect(await direct.findHostedZone({ zone: `${zone.toUpperCase()}.`, private: false })).toEqual({ id: publicId, name: zone, private: false });
  });

  it('refuses to guess between zones of the same name', async () => {
    const error = await direct.findHostedZone({ zone }).catch((e) => e);
    expect(error).toBeInstanceOf(Route53Error);
    expect(error.code).toBe('HostedZoneAmbiguous');
    expect(error.message).toBe(`2 hosted zones named ${zone}: ${[publicId, privateId].map((id) => `${id} (${id === privateId ? 'private' : 'public'})`).join(', ')}`);
    expect(error.hint).toBe('set dns.private or dns.hostedZoneId');
  });

  it('says when there is no such zone', async () => {
    const missing = uniqueZone('missing');
    const error = await direct.findHostedZone({ zone: missing, private: true }).catch((e) => e);
    expect(error.code).toBe('HostedZoneNotFound');
    expect(error.message).toBe(`no hosted zone named ${missing} (private)`);
  });

  it('takes dns.hostedZoneId, checked against the name', async () => {
    expect(await direct.findHostedZone({ zone, hostedZoneId: `/hostedzone/${privateId}` })).toEqual({ id: privateId, name: zone, private: true });
    const mismatch = await direct.findHostedZone({ zone, hostedZoneId: otherId }).catch((e) => e);
    expect(mismatch.code).toBe('HostedZoneMismatch');
    const wrong = await direct.findHostedZone({ zone, hostedZoneId: 'ZDOESNOTEXIST1' }).catch((e) => e);
    expect(wrong).toBeInstanceOf(Route53Error);
    expect(wrong.code).toBe('NoSuchHostedZone');
    expect(wrong.hint).toMatch(/dns\.hostedZoneId/);
  });
});

describe('publishing against moto', () => {
  let zone: string;
  let zoneId: string;
  const foreign = () => [line(`www.${zone}`, 'A', 300, ['192.0.2.10']), line(`mail.${zone}`, 'TXT', 300, ['"v=spf1 -all"'])];

  beforeAll(async () => {
    zone = uniqueZone('pub');
    zoneId = await admin.createZone(zone);
    await admin.change(zoneId, 'CREATE', { name: `www.${zone}`, type: 'A', ttl: 300, values: ['192.0.2.10'] });
    await admin.change(zoneId, 'CREATE', { name: `mail.${zone}`, type: 'TXT', ttl: 300, values: ['"v=spf1 -all"'] });
  });

  it("publishes three sets' records, each with its ownership record, beside foreign ones", async () => {
    const desired = threeSets(zone);
    const result = await flushZone(direct, OWNER, { zoneId, desired });
    expect(result.conflicts).toEqual([]);
    expect(result.failed).toEqual([]);
    expect(result.applied).toHaveLength(Object.values(desired).flat().length);
    expect(Object.values(result.changes)).toEqual(['INSYNC']);
    expect(await admin.lines(zoneId)).toEqual(expectedLines(OWNER, desired, foreign()));
  });

  it('is idempotent: the same flush again changes nothing', async () => {
    const result = await flushZone(direct, OWNER, { zoneId, desired: threeSets(zone) });
    expect(result.plan).toBe('no changes');
    expect(result.changeIds).toEqual([]);
  });

  it("moves an instance's address and removes a set's records, touching only those sets", async () => {
    const desired = threeSets(zone);
    desired.web = setRecords('web', zone, ['10.0.1.1', '10.0.9.9', '10.0.1.3']);
    const moved = await flushZone(direct, OWNER, { zoneId, desired: { web: desired.web } });
    // web-1's A, the service A and nothing else (the SRV targets are names, unchanged).
    expect(moved.applied.map((a) => `${a.kind} ${a.name}`).sort()).toEqual([`update web-1.web.${zone}`, `update web.${zone}`]);

    const removed = await flushZone(direct, OWNER, { zoneId, desired: { db: [] } });
    expect(removed.applied.every((a) => a.kind === 'delete' && a.set === 'db')).toBe(true);
    delete desired.db;
    expect(await admin.lines(zoneId)).toEqual(expectedLines(OWNER, desired, foreign()));
  });

  it("a foreign record at a wanted name is a conflict for that set only; the others' records land", async () => {
    const taken = `api-0.api.${zone}`;
    await admin.change(zoneId, 'CREATE', { name: taken, type: 'A', ttl: 60, values: ['198.51.100.1'] });
    const desired = { api: setRecords('api', zone, ['10.3.0.1', '10.3.0.2']), cache: setRecords('cache', zone, ['10.4.0.1']) };
    const result = await flushZone(direct, OWNER, { zoneId, desired });
    expect(result.conflicts).toEqual([{ set: 'api', name: taken, type: 'A', reason: `${taken} A exists and is not owned by Ordinal (no ownership TXT record beside it)` }]);
    expect(result.failed).toEqual([]);
    const lines = await admin.lines(zoneId);
    expect(lines).toContain(line(taken, 'A', 60, ['198.51.100.1']));
    for (const expected of expectedLines(OWNER, { cache: desired.cache })) expect(lines).toContain(expected);
    expect(lines).toContain(line(`api-1.api.${zone}`, 'A', 5, ['10.3.0.2']));

    // Once the foreign record is gone, the next flush publishes the name.
    await admin.change(zoneId, 'DELETE', { name: taken, type: 'A', ttl: 60, values: ['198.51.100.1'] });
    const again = await flushZone(direct, OWNER, { zoneId, desired: { api: desired.api } });
    expect(again.conflicts).toEqual([]);
    expect(await admin.lines(zoneId)).toContain(line(taken, 'A', 5, ['10.3.0.1']));
    await flushZone(direct, OWNER, { zoneId, desired: { api: [], cache: [] } });
  });
});

describe('drift repair', () => {
  it('restores hand-deleted and hand-edited owned records, deletes a vanished set, leaves foreign ones; dry run changes nothing', async () => {
    const zone = uniqueZone('drift');
    const zoneId = await admin.createZone(zone);
    const foreign = [line(`www.${zone}`, 'A', 300, ['192.0.2.10'])];
    await admin.change(zoneId, 'CREATE', { name: `www.${zone}`, type: 'A', ttl: 300, values: ['192.0.2.10'] });
    const desired = threeSets(zone);
    await flushZone(direct, OWNER, { zoneId, desired });

    // By hand: delete one owned record, edit another; and the set `kv` is deleted while nobody looks.
    await admin.change(zoneId, 'DELETE', { name: `web-0.web.${zone}`, type: 'A', ttl: 5, values: ['10.0.1.1'] });
    await admin.change(zoneId, 'UPSERT', { name: `db-1.db.${zone}`, type: 'A', ttl: 300, values: ['203.0.113.9'] });
    const { kv: _vanished, ...live } = desired;
    const drifted = await admin.lines(zoneId);

    const dry = await reconcileZone(direct, OWNER, { zoneId, desired: live, dryRun: true });
    expect(dry.dryRun).toBe(true);
    expect(dry.vanished).toEqual(['kv']);
    expect(dry.text.split('\n')).toEqual([
      `reconcile hosted zone ${zoneId} (dry run: nothing applied): 5 changes, 0 conflicts`,
      `delete _http._tcp.kv.${zone} SRV 0 10 8080 kv-0.kv.${zone} ttl 5 [set kv]`,
      `update db-1.db.${zone} A 203.0.113.9 ttl 300 -> 10.1.1.2 ttl 5 [set db]`,
      `delete kv-0.kv.${zone} A 10.2.1.1 ttl 5 [set kv]`,
      `delete kv.${zone} A 10.2.1.1 ttl 5 [set kv]`,
      `create web-0.web.${zone} A 10.0.1.1 ttl 5 (restore: deleted outside Ordinal) [set web]`,
    ]);
    expect(await admin.lines(zoneId)).toEqual(drifted);

    const repaired = await reconcileZone(direct, OWNER, { zoneId, desired: live });
    expect(repaired.failed).toEqual([]);
    expect(await admin.lines(zoneId)).toEqual(expectedLines(OWNER, live, foreign));

    // A set that still exists elsewhere keeps its records, even when the publisher does not know it.
    const cache = setRecords('cache', zone, ['10.5.0.1']);
    await flushZone(direct, OWNER, { zoneId, desired: { cache } });
    const kept = await reconcileZone(direct, OWNER, { zoneId, desired: live, liveSets: async (set) => set === 'cache' });
    expect(kept.planned).toBe(0);
    expect(await admin.lines(zoneId)).toEqual(expectedLines(OWNER, { ...live, cache }, foreign));
  });
});

describe('errors become a code and what to do', () => {
  it('a wrong hosted zone id', async () => {
    const error = await flushZone(direct, OWNER, { zoneId: 'ZNOSUCHZONE123', desired: { web: [] } }).catch((e) => e);
    expect(error).toBeInstanceOf(Route53Error);
    expect(error.toInfo()).toEqual({
      code: 'NoSuchHostedZone',
      message: expect.stringContaining('ZNOSUCHZONE123'),
      hint: 'check dns.hostedZoneId (a hosted zone of this AWS account), or omit it to find the zone by dns.zone',
      retryable: false,
    });
  });

  it('missing credentials', async () => {
    // Nothing anywhere in the default chain: no env keys, no profile files, no container or instance role.
    const names = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE'];
    const saved = new Map(names.map((name) => [name, process.env[name]]));
    for (const name of names) delete process.env[name];
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/credentials';
    process.env.AWS_CONFIG_FILE = '/nonexistent/config';
    const route53 = createRoute53({ client: { endpoint: motoEndpoint() } });
    try {
      const error = await route53.findHostedZone({ zone: 'example.internal' }).catch((e) => e);
      expect(error).toBeInstanceOf(Route53Error);
      expect(error.code).toBe('CredentialsProviderError');
      expect(error.hint).toMatch(/AWS_ACCESS_KEY_ID.*AWS_PROFILE.*IAM role/);
      expect(error.retryable).toBe(false);
    } finally {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      route53.sdk.destroy();
    }
  });

  it('access denied and invalid credentials', async () => {
    const proxy = await startRoute53Proxy(motoEndpoint(), { forceError: { code: 'AccessDenied', message: 'User: arn:aws:iam::123456789012:user/x is not authorized to perform: route53:ListResourceRecordSets', status: 403 } });
    const route53 = testRoute53(proxy.endpoint);
    try {
      const denied = await route53.listRecordSets('Z1').catch((e) => e);
      expect(denied.code).toBe('AccessDenied');
      expect(denied.hint).toMatch(/route53:ChangeResourceRecordSets/);
      proxy.configure({ forceError: { code: 'InvalidClientTokenId', message: 'The security token included in the request is invalid.', status: 403 } });
      const invalid = await route53.listRecordSets('Z1').catch((e) => e);
      expect(invalid.code).toBe('InvalidClientTokenId');
      expect(invalid.hint).toMatch(/not valid/);
    } finally {
      route53.sdk.destroy();
      await proxy.close();
    }
  });
});

describe('through the fault proxy: AWS strictness, throttling, PENDING', () => {
  let proxy: Route53Proxy;
  let route53: Route53;
  // The worker's metrics, fed as the worker feeds them.
  const metrics = new WorkerMetrics();

  beforeAll(async () => {
    proxy = await startRoute53Proxy(motoEndpoint(), { throttleRate: 0.3, priorRequestRate: 0.2, pendingPolls: 2, seed: 7 });
    route53 = testRoute53(proxy.endpoint, { onRequest: ({ operation, outcome }) => metrics.route53Request(operation, outcome) });
  });

  afterAll(async () => {
    route53?.sdk.destroy();
    await proxy?.close();
  });

  it('ends exactly as wanted after publish, move, removal and drift repair, with every foreign record untouched', async () => {
    const zone = uniqueZone('faults');
    const zoneId = await admin.createZone(zone);
    await admin.change(zoneId, 'CREATE', { name: `www.${zone}`, type: 'A', ttl: 300, values: ['192.0.2.10'] });
    await admin.change(zoneId, 'CREATE', { name: `_ordinal-a.foreign.${zone}`, type: 'TXT', ttl: 300, values: ['"not ours"'] });
    const foreign = [line(`www.${zone}`, 'A', 300, ['192.0.2.10']), line(`_ordinal-a.foreign.${zone}`, 'TXT', 300, ['"not ours"'])];
    proxy.resetCounts();

    const desired = threeSets(zone);
    let result = await flushZone(route53, OWNER, { zoneId, desired });
    expect(result.failed).toEqual([]);
    expect(Object.values(result.changes).every((s) => s === 'INSYNC')).toBe(true);
    expect(await admin.lines(zoneId)).toEqual(expectedLines(OWNER, desired, foreign));

    for (let round = 2; round <= 4; round++) {
      const next = threeSets(zone, round);
      if (round === 3) next.db = [];
      result = await flushZone(route53, OWNER, { zoneId, desired: next });
      expect(result.failed).toEqual([]);
      Object.assign(desired, next);
      expect(await admin.lines(zoneId)).toEqual(expectedLines(OWNER, desired, foreign));
    }

    await admin.change(zoneId, 'DELETE', { name: `kv-0.kv.${zone}`, type: 'A', ttl: 5, values: ['10.2.4.1'] });
    await admin.change(zoneId, 'UPSERT', { name: `web.${zone}`, type: 'A', ttl: 5, values: ['203.0.113.1'] });
    const { db: _db, ...live } = desired;
    await reconcileZone(route53, OWNER, { zoneId, desired: live });
    expect(await admin.lines(zoneId)).toEqual(expectedLines(OWNER, live, foreign));
    expect((await flushZone(route53, OWNER, { zoneId, desired: live })).plan).toBe('no changes');

    // The faults did happen, and the planner never sent what AWS would reject.
    expect(proxy.counts.throttled).toBeGreaterThan(0);
    expect(proxy.counts.priorRequestNotComplete).toBeGreaterThan(0);
    expect(proxy.counts.pending).toBeGreaterThan(0);
    expect(proxy.counts.rejected).toBe(0);
    // Every throttling answer is counted, by operation.
    const throttles = await metrics.registry.getSingleMetric('ordinal_route53_throttles_total')!.get();
    const counted = throttles.values.reduce((sum, v) => sum + v.value, 0);
    expect(counted).toBe(proxy.counts.throttled + proxy.counts.priorRequestNotComplete);
    expect(throttles.values.map((v) => v.labels.operation)).toContain('ChangeResourceRecordSets');
  });

  it("a record someone creates between list and change: Route 53 rejects that CREATE, the rest lands, the name becomes a conflict", async () => {
    const zone = uniqueZone('race');
    const zoneId = await admin.createZone(zone);
    const sneaky = `web-1.web.${zone}`;
    let once = true;
    proxy.configure({
      beforeChange: async () => {
        if (!once) return;
        once = false;
        await admin.change(zoneId, 'CREATE', { name: sneaky, type: 'A', ttl: 60, values: ['198.51.100.7'] });
      },
    });
    proxy.resetCounts();
    try {
      const desired = threeSets(zone);
      const result = await flushZone(route53, OWNER, { zoneId, desired });
      expect(proxy.counts.rejected).toBeGreaterThan(0);
      expect(result.failed).toEqual([]);
      expect(result.conflicts).toEqual([{ set: 'web', name: sneaky, type: 'A', reason: expect.stringMatching(/not owned by Ordinal/) }]);
      const expected = expectedLines(OWNER, desired, [line(sneaky, 'A', 60, ['198.51.100.7'])]).filter(
        (l) => !l.startsWith(`${sneaky} A 5 `) && !l.startsWith(`_ordinal-a.${sneaky} `),
      );
      expect(await admin.lines(zoneId)).toEqual(expected);
    } finally {
      proxy.configure({ beforeChange: undefined });
    }
  });

  it('a record edited by hand between list and change: its stale DELETE is rejected, nothing else is held up, the next flush deletes it', async () => {
    const zone = uniqueZone('stale');
    const zoneId = await admin.createZone(zone);
    const desired = threeSets(zone);
    await flushZone(route53, OWNER, { zoneId, desired });
    const target = `kv-0.kv.${zone}`;
    let once = true;
    proxy.configure({
      beforeChange: async () => {
        if (!once) return;
        once = false;
        await admin.change(zoneId, 'UPSERT', { name: target, type: 'A', ttl: 5, values: ['203.0.113.77'] });
      },
    });
    try {
      const moved = setRecords('web', zone, ['10.0.7.1']);
      const result = await flushZone(route53, OWNER, { zoneId, desired: { kv: [], web: moved } });
      expect(result.failed).toEqual([{ set: 'kv', name: target, type: 'A', kind: 'delete', code: 'InvalidChangeBatch', message: expect.stringMatching(/do not match the current values/) }]);
      // Everything else of the flush landed; the edited record is still there, as edited.
      const lines = await admin.lines(zoneId);
      expect(lines).toContain(line(target, 'A', 5, ['203.0.113.77']));
      expect(lines.filter((l) => l.includes(`kv.${zone}`) && !l.startsWith(target) && !l.startsWith(`_ordinal-a.${target}`))).toEqual([]);
      expect(lines).toContain(line(`web-0.web.${zone}`, 'A', 5, ['10.0.7.1']));

      const retry = await flushZone(route53, OWNER, { zoneId, desired: { kv: [] } });
      expect(retry.failed).toEqual([]);
      expect(await admin.lines(zoneId)).toEqual(expectedLines(OWNER, { web: moved, db: desired.db }));
    } finally {
      proxy.configure({ beforeChange: undefined });
    }
  });

  it("honours Route 53's limits: 1,000 records per batch, and the account's token bucket", async () => {
    const zone = uniqueZone('big');
    const zoneId = await admin.createZone(zone);
    // 300 instances: 300 A + 300 TXT + service A and SRV (300 values each) + 2 TXT: two batches.
    const addresses = Array.from({ length: 300 }, (_, i) => `10.${10 + Math.floor(i / 250)}.${i % 250}.1`);
    const desired = { big: setRecords('big', zone, addresses) };
    proxy.resetCounts();
    proxy.configure({ throttleRate: 0, priorRequestRate: 0, tokenBucket: { burst: 3, perSecond: 4 } });
    try {
      const result = await flushZone(route53, OWNER, { zoneId, desired });
      expect(result.failed).toEqual([]);
      expect(proxy.batches.length).toBeGreaterThanOrEqual(2);
      for (const batch of proxy.batches) {
        expect(batch.changes.reduce((n, c) => n + c.values.length, 0)).toBeLessThanOrEqual(1000);
        expect(batch.changes.reduce((n, c) => n + c.values.join('').length, 0)).toBeLessThanOrEqual(32_000);
      }
      expect(await admin.lines(zoneId)).toEqual(expectedLines(OWNER, desired));
      expect(proxy.counts.throttled).toBeGreaterThan(0);
      const removed = await flushZone(route53, OWNER, { zoneId, desired: { big: [] } });
      expect(removed.failed).toEqual([]);
      expect(await admin.lines(zoneId)).toEqual([]);
    } finally {
      proxy.configure({ throttleRate: 0.3, priorRequestRate: 0.2, tokenBucket: undefined });
    }
  });
});
