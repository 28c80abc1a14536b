// The per-hosted-zone publisher workflow on the real dev server, with Route 53 behind the fault
// proxy: many sets submitting at once are coalesced into a few change batches, each submit resolves
// only once its changes are INSYNC, and one set's conflict holds up nobody else. Submits answer once
// recorded, so more sets than the server's 10 open Updates share one flush; a flush lists the zone only
// when it must; a rejection a fresh listing contradicts says so; an unused publisher ends.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DnsTarget, RecordSet } from '../../core/dns-records.js';
import { createRoute53Activities, setWorkflowExists } from '../../activities/dns/route53/activities.js';
import { workflowIdForSet } from '../../core/names.js';
import { Route53Provider } from '../../activities/dns/route53/provider.js';
import { installTemporalLogging } from '../../infra/logger.js';
import { setStatus } from '../../core/status.js';
import { applyPublished } from '../../core/transitions.js';
import { NOW, setWith } from '../unit/set-fixtures.js';
import {
  ROUTE53_ZONE_WORKFLOW_TYPE,
  reconcileUpdate,
  route53ZoneWorkflowId,
  statusQuery,
  submitUpdate,
  type Route53ZoneInput,
} from '../../activities/dns/route53/contract.js';
import { startRoute53Proxy, type Route53Proxy } from '../harness/route53-proxy.js';
import { MotoAdmin, expectedLines, line, setRecords, testRoute53, uniqueZone, useDummyAwsConfiguration } from '../harness/route53.js';
import { motoEndpoint, temporalAddress, temporalNamespace, waitFor } from '../harness/services.js';

useDummyAwsConfiguration();
const OWNER = 'wf-owner';
const taskQueue = `route53-test-${randomBytes(3).toString('hex')}`;

let proxy: Route53Proxy;
let admin: MotoAdmin;
let worker: Worker;
let running: Promise<void>;
let connection: Connection;
let client: Client;
let provider: Route53Provider;

beforeAll(async () => {
  installTemporalLogging();
  admin = new MotoAdmin(motoEndpoint());
  proxy = await startRoute53Proxy(motoEndpoint(), { pendingPolls: 2, throttleRate: 0.1, priorRequestRate: 0.1, seed: 3 });
  const { code } = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../../workflows/route53-zone.ts', import.meta.url)),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (m) => process.stderr.write(`${m}\n`) },
  });
  worker = await Worker.create({
    connection: await NativeConnection.connect({ address: temporalAddress() }),
    namespace: temporalNamespace(),
    taskQueue,
    workflowBundle: { code },
    // Sets the publisher does not know are gone (these tests have no set workflows).
    activities: createRoute53Activities({ route53: () => testRoute53(proxy.endpoint), ownerId: OWNER, isSetLive: async () => false }),
    shutdownGraceTime: '1s',
  });
  running = worker.run();
  connection = await Connection.connect({ address: temporalAddress() });
  client = new Client({ connection, namespace: temporalNamespace() });
  provider = new Route53Provider({
    temporal: client,
    taskQueue,
    route53: testRoute53(proxy.endpoint),
    // A wide gathering window, so concurrent submits on this loaded machine land in few flushes.
    zoneOptions: { coalesceMs: 1_000, reconcileIntervalMs: 0, inSyncTimeoutMs: 60_000 },
  });
});

/** The publish target of a set whose manifest names only the zone. */
function route53(zone: string): DnsTarget {
  return { provider: 'route53', zone };
}

afterAll(async () => {
  if (client) {
    for await (const execution of client.workflow.list({ query: `TaskQueue = '${taskQueue}' AND ExecutionStatus = 'Running'` })) {
      await client.workflow.getHandle(execution.workflowId).terminate('test finished').catch(() => undefined);
    }
  }
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running?.catch(() => undefined);
  await connection?.close();
  await proxy?.close();
  admin?.close();
});

describe('the Route 53 zone publisher workflow', () => {
  it('coalesces 20 concurrent sets into a few change batches; each submit resolves after INSYNC; a conflict holds up no one else', async () => {
    const zone = uniqueZone('wf');
    const zoneId = await admin.createZone(zone);
    const taken = `s07-0.s07.${zone}`;
    await admin.change(zoneId, 'CREATE', { name: taken, type: 'A', ttl: 60, values: ['198.51.100.1'] });
    proxy.resetCounts();

    const sets = Array.from({ length: 20 }, (_, i) => `s${String(i).padStart(2, '0')}`);
    const desired: Record<string, RecordSet[]> = {};
    for (const [i, set] of sets.entries()) desired[set] = setRecords(set, zone, [`10.20.${i}.1`, `10.20.${i}.2`]);
    const results = await Promise.all(sets.map((set) => provider.apply(set, route53(zone), desired[set])));

    for (const [i, result] of results.entries()) {
      expect(result.error, sets[i]).toBeUndefined();
      expect(result.failed, sets[i]).toEqual([]);
      expect(result.propagating, sets[i]).toEqual([]);
      expect(result.conflicts, sets[i]).toEqual(
        sets[i] === 's07' ? [{ name: taken, type: 'A', reason: expect.stringMatching(/not owned by Ordinal/) }] : [],
      );
    }
    // Few batches for 20 sets (about 100 record sets), every change polled through PENDING to INSYNC.
    expect(proxy.batches.length).toBeLessThanOrEqual(4);
    expect(proxy.counts.pending).toBeGreaterThanOrEqual(2 * proxy.batches.length);

    const { s07, ...others } = desired;
    const expected = [
      ...expectedLines(OWNER, others),
      ...expectedLines(OWNER, { s07: s07.filter((r) => r.name !== taken) }),
      line(taken, 'A', 60, ['198.51.100.1']),
    ].sort();
    expect(await admin.lines(zoneId)).toEqual(expected);

    const status = await client.workflow.getHandle(route53ZoneWorkflowId(zoneId)).query(statusQuery);
    expect(Object.keys(status.sets)).toEqual(sets);
    expect(status.sets.s07.conflicts).toHaveLength(1);
    expect(status.pending).toEqual([]);
    expect(status.lastFlush?.applied).toBeGreaterThan(0);
  });

  it("latest wins per set; an empty list removes the set's records and the publisher forgets it", async () => {
    const zone = uniqueZone('wf2');
    const zoneId = await admin.createZone(zone);
    await provider.apply('a', route53(zone), setRecords('a', zone, ['10.30.0.1']));
    await provider.apply('b', route53(zone), setRecords('b', zone, ['10.31.0.1']));
    const [first, second] = await Promise.all([
      provider.apply('a', route53(zone), setRecords('a', zone, ['10.30.0.2'])),
      provider.apply('a', route53(zone), setRecords('a', zone, ['10.30.0.3', '10.30.0.4'])),
    ]);
    expect(first.error ?? second.error).toBeUndefined();
    const removed = await provider.apply('b', route53(zone), []);
    expect(removed).toEqual({ conflicts: [], propagating: [], failed: [], error: undefined });
    // Both submits of `a` were served; whichever the server ordered last is what the zone holds.
    const lines = await admin.lines(zoneId);
    const last = [expectedLines(OWNER, { a: setRecords('a', zone, ['10.30.0.2']) }), expectedLines(OWNER, { a: setRecords('a', zone, ['10.30.0.3', '10.30.0.4']) })];
    expect(last).toContainEqual(lines);

    const status = await client.workflow.getHandle(route53ZoneWorkflowId(zoneId)).query(statusQuery);
    expect(Object.keys(status.sets)).toEqual(['a']);
  });

  it('repairs drift on request: a dry run only shows the plan, then the hand-deleted record comes back', async () => {
    const zone = uniqueZone('wf3');
    const zoneId = await admin.createZone(zone);
    const records = setRecords('web', zone, ['10.40.0.1']);
    await provider.apply('web', route53(zone), records);
    await admin.change(zoneId, 'DELETE', { name: `web-0.web.${zone}`, type: 'A', ttl: 5, values: ['10.40.0.1'] });
    const handle = client.workflow.getHandle(route53ZoneWorkflowId(zoneId));

    const dry = await handle.executeUpdate(reconcileUpdate, { args: [{ dryRun: true }] });
    expect(dry.dryRun).toBe(true);
    expect(dry.text).toContain(`create web-0.web.${zone} A 10.40.0.1 ttl 5 (restore: deleted outside Ordinal) [set web]`);
    expect(await admin.lines(zoneId)).not.toContain(line(`web-0.web.${zone}`, 'A', 5, ['10.40.0.1']));

    const repaired = await handle.executeUpdate(reconcileUpdate, { args: [{}] });
    expect(repaired.applied).toBe(1);
    expect(await admin.lines(zoneId)).toEqual(expectedLines(OWNER, { web: records }));
    expect((await handle.query(statusQuery)).lastReconcile?.planned).toBe(1);
  });

  it('an AWS error comes back to the set as a code and a hint, and the publisher retries later', async () => {
    const hostedZoneId = 'ZNOSUCHZONE999';
    const input: Route53ZoneInput = { hostedZoneId, zone: 'nowhere.internal', options: { reconcileIntervalMs: 0, retryInitialMs: 60_000 } };
    const result = await client.workflow.executeUpdateWithStart(submitUpdate, {
      args: [{ set: 'lost', zone: 'nowhere.internal', records: setRecords('lost', 'nowhere.internal', ['10.50.0.1']) }],
      startWorkflowOperation: new WithStartWorkflowOperation(ROUTE53_ZONE_WORKFLOW_TYPE, {
        workflowId: route53ZoneWorkflowId(hostedZoneId),
        taskQueue,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
      }),
    });
    // Nothing landed: the set's outcome is the error alone, as its publish activity returns it.
    expect(result).toEqual({
      conflicts: [],
      propagating: [],
      failed: [],
      error: { code: 'NoSuchHostedZone', message: expect.stringContaining(hostedZoneId), hint: expect.stringMatching(/dns\.hostedZoneId/) },
    });
    const handle = client.workflow.getHandle(route53ZoneWorkflowId(hostedZoneId));
    const status = await handle.query(statusQuery);
    // The activity gave up at once (a missing zone is no passing fault); the publisher tries again later.
    expect(status.lastError).toMatchObject({ code: 'NoSuchHostedZone', retryable: false });
    expect(status.pending).toEqual(['lost']);
    expect(status.sets.lost).toMatchObject({ pending: true, error: { code: 'NoSuchHostedZone' } });
    expect(status.nextRetryAt).toBeGreaterThan(Date.now());

    // The provider answers the same for a zone it cannot find, without starting anything.
    const missing = await provider.apply('lost', route53(uniqueZone('missing')), []);
    expect(missing.error?.code).toBe('HostedZoneNotFound');
  });

  it('knows a set exists while its set workflow runs', async () => {
    const set = `exists-${randomBytes(3).toString('hex')}`;
    const exists = setWorkflowExists(client);
    expect(await exists(set)).toBe(false);
    // Any workflow under the set's id will do: only its id and status count.
    const input: Route53ZoneInput = { hostedZoneId: 'ZPLACEHOLDER', zone: 'placeholder.internal', options: { reconcileIntervalMs: 0 } };
    const handle = await client.workflow.start(ROUTE53_ZONE_WORKFLOW_TYPE, { workflowId: workflowIdForSet(set), taskQueue, args: [input] });
    expect(await exists(set)).toBe(true);
    await handle.terminate('test');
    expect(await exists(set)).toBe(false);
  });

  it('continues as new with what the sets want, losing no submit', async () => {
    const zone = uniqueZone('wf5');
    const zoneId = await admin.createZone(zone);
    const small = new Route53Provider({
      temporal: client,
      taskQueue,
      route53: testRoute53(proxy.endpoint),
      zoneOptions: { coalesceMs: 50, reconcileIntervalMs: 0, maxHistoryEvents: 30 },
    });
    const desired: Record<string, RecordSet[]> = {};
    // Waves of concurrent submits: some arrive while a run is about to continue as new.
    for (let wave = 0; wave < 4; wave++) {
      const sets = [0, 1, 2].map((i) => `c${wave * 3 + i}`);
      for (const [i, set] of sets.entries()) desired[set] = setRecords(set, zone, [`10.60.${wave}.${i + 1}`]);
      const results = await Promise.all(sets.map((set) => small.apply(set, route53(zone), desired[set])));
      for (const result of results) expect(result).toEqual({ conflicts: [], propagating: [], failed: [], error: undefined });
    }
    const handle = client.workflow.getHandle(route53ZoneWorkflowId(zoneId));
    const runs = await waitFor(async () => {
      let count = 0;
      for await (const _ of client.workflow.list({ query: `WorkflowId = '${route53ZoneWorkflowId(zoneId)}'` })) count++;
      return count > 1 ? count : undefined;
    }, { message: 'a second run of the publisher' });
    expect(runs).toBeGreaterThan(1);
    // The new run knows every set: removing one works, and the others stay.
    expect(Object.keys((await handle.query(statusQuery)).sets)).toEqual(Object.keys(desired).sort());
    await small.apply('c0', route53(zone), []);
    delete desired.c0;
    expect(await admin.lines(zoneId)).toEqual(expectedLines(OWNER, desired));
  });

  it('takes 40 concurrent sets into ONE flush (more than the 10 open Updates a workflow admits), then flushes without listing the zone', async () => {
    const zone = uniqueZone('one');
    const zoneId = await admin.createZone(zone);
    const patient = new Route53Provider({
      temporal: client,
      taskQueue,
      route53: testRoute53(proxy.endpoint),
      // Flush once no submit arrived for 1 s: all 40 are recorded by then, however loaded the machine.
      zoneOptions: { coalesceMs: 1_000, maxCoalesceMs: 60_000, reconcileIntervalMs: 0 },
    });
    proxy.resetCounts();
    const sets = Array.from({ length: 40 }, (_, i) => `m${String(i).padStart(2, '0')}`);
    const desired: Record<string, RecordSet[]> = {};
    for (const [i, set] of sets.entries()) desired[set] = setRecords(set, zone, [`10.70.${i}.1`]);
    const results = await Promise.all(sets.map((set) => patient.apply(set, route53(zone), desired[set])));
    for (const result of results) expect(result).toEqual({ conflicts: [], propagating: [], failed: [] });
    expect(await admin.lines(zoneId)).toEqual(expectedLines(OWNER, desired));
    // One flush: one listing (the zone was new to the publisher), one change batch for 40 sets.
    expect(proxy.batches.filter((b) => b.zoneId === zoneId)).toHaveLength(1);
    expect(proxy.counts.requests.ListResourceRecordSets).toBe(1);
    const handle = client.workflow.getHandle(route53ZoneWorkflowId(zoneId));
    expect((await handle.query(statusQuery)).lastFlush).toMatchObject({ sets, listed: true });

    // The publisher knows the zone now: moving an address lists nothing.
    desired.m03 = setRecords('m03', zone, ['10.71.3.9']);
    expect(await patient.apply('m03', route53(zone), desired.m03)).toEqual({ conflicts: [], propagating: [], failed: [] });
    expect(proxy.counts.requests.ListResourceRecordSets).toBe(1);
    expect((await handle.query(statusQuery)).lastFlush).toMatchObject({ sets: ['m03'], listed: false });
    expect(await admin.lines(zoneId)).toEqual(expectedLines(OWNER, desired));

    // Someone edits a record by hand: the next flush, planned from what the publisher knew, sends a
    // stale DELETE; Route 53 rejects it, the flush lists the zone and deletes what is really there.
    await admin.change(zoneId, 'UPSERT', { name: `m05-0.m05.${zone}`, type: 'A', ttl: 5, values: ['203.0.113.5'] });
    expect(await patient.apply('m05', route53(zone), [])).toEqual({ conflicts: [], propagating: [], failed: [] });
    expect(proxy.counts.rejected).toBeGreaterThan(0);
    expect(proxy.counts.requests.ListResourceRecordSets).toBe(2);
    delete desired.m05;
    expect(await admin.lines(zoneId)).toEqual(expectedLines(OWNER, desired));
  });

  it("a change Route 53 rejects although a fresh listing contradicts it is reported as such, reaches the set's DNSReady, and is retried after re-listing", async () => {
    const zone = uniqueZone('contra');
    const zoneId = await admin.createZone(zone);
    const quick = new Route53Provider({
      temporal: client,
      taskQueue,
      route53: testRoute53(proxy.endpoint),
      zoneOptions: { coalesceMs: 200, reconcileIntervalMs: 0, retryInitialMs: 1_000, retryMaxMs: 2_000 },
    });
    const victim = `v-0.v.${zone}`;
    proxy.configure({ falselyRejects: (c) => c.name === `${victim}.` || c.name === victim });
    const desired = { v: setRecords('v', zone, ['10.80.0.1', '10.80.0.2']), w: setRecords('w', zone, ['10.81.0.1']) };
    try {
      const [v, w] = await Promise.all([quick.apply('v', route53(zone), desired.v), quick.apply('w', route53(zone), desired.w)]);
      expect(w).toEqual({ conflicts: [], propagating: [], failed: [] });
      expect(v.conflicts).toEqual([]);
      expect(v.failed).toEqual([
        {
          name: victim,
          type: 'A',
          code: 'InvalidChangeBatch',
          message: expect.stringMatching(
            new RegExp(`already exists; but a fresh listing contradicts Route 53: the listing does not have ${victim.replaceAll('.', '\\.')} A.*; Ordinal lists the zone again and retries in \\d+ s$`),
          ),
        },
      ]);
      // What the set shows: its DNSReady condition carries exactly that.
      const state = setWith(1, { 0: 'ready' });
      applyPublished(state, { kind: 'publish', records: desired.v, fingerprint: 'f', published: [0], target: route53(zone) }, NOW, v);
      const dnsReady = setStatus(state, NOW).conditions.find((c) => c.type === 'DNSReady');
      expect(dnsReady).toMatchObject({ status: 'False', reason: 'ChangeRejected', message: `${victim} A: InvalidChangeBatch: ${v.failed[0].message}` });
      // Everything else landed, the victim did not.
      const lines = await admin.lines(zoneId);
      for (const l of expectedLines(OWNER, { w: desired.w })) expect(lines).toContain(l);
      expect(lines.some((l) => l.startsWith(`${victim} A`))).toBe(false);
      const handle = client.workflow.getHandle(route53ZoneWorkflowId(zoneId));
      const status = await handle.query(statusQuery);
      expect(status.pending).toEqual(['v']);
      expect(status.nextRetryAt).toBeGreaterThan(0);
    } finally {
      proxy.configure({ falselyRejects: undefined });
    }
    // Once Route 53 accepts it, the publisher's own retry (after listing again) publishes it: no submit needed.
    const handle = client.workflow.getHandle(route53ZoneWorkflowId(zoneId));
    const status = await waitFor(async () => {
      const s = await handle.query(statusQuery);
      return s.sets.v.failed.length === 0 && !s.sets.v.pending ? s : undefined;
    }, { timeoutMs: 30_000, message: 'the retried change to land' });
    expect(status.sets.v).toMatchObject({ failed: [], conflicts: [], propagating: [] });
    expect(status.lastFlush).toMatchObject({ sets: ['v'], listed: true });
    expect(await admin.lines(zoneId)).toEqual(expectedLines(OWNER, desired));
  });

  it('ends once its last set is gone, and the next submit starts it again', async () => {
    const zone = uniqueZone('ends');
    const zoneId = await admin.createZone(zone);
    const brief = new Route53Provider({
      temporal: client,
      taskQueue,
      route53: testRoute53(proxy.endpoint),
      zoneOptions: { coalesceMs: 50, reconcileIntervalMs: 0, idleEndMs: 500 },
    });
    const handle = client.workflow.getHandle(route53ZoneWorkflowId(zoneId));
    const records = setRecords('e', zone, ['10.90.0.1']);
    expect(await brief.apply('e', route53(zone), records)).toEqual({ conflicts: [], propagating: [], failed: [] });
    const first = await handle.describe();

    expect(await brief.apply('e', route53(zone), [])).toEqual({ conflicts: [], propagating: [], failed: [] });
    expect(await admin.lines(zoneId)).toEqual([]);
    await waitFor(async () => ((await handle.describe()).status.name === 'COMPLETED' ? true : undefined), { timeoutMs: 20_000, message: 'the unused publisher to end' });
    // The run that ended is the one that published and removed the set: it did not end while used.
    expect((await client.workflow.getHandle(route53ZoneWorkflowId(zoneId), first.runId).describe()).status.name).toBe('COMPLETED');
    expect((await handle.query(statusQuery)).lastFlush?.sets).toEqual(['e']);

    expect(await brief.apply('e', route53(zone), records)).toEqual({ conflicts: [], propagating: [], failed: [] });
    const second = await handle.describe();
    expect(second.status.name).toBe('RUNNING');
    expect(second.runId).not.toBe(first.runId);
    expect(await admin.lines(zoneId)).toEqual(expectedLines(OWNER, { e: records }));
  });
});
