// Drift repair on request, end to end: a set publishes to Route 53 (moto, through the real SDK), someone
// deletes one of its records by hand, the HTTP API lists the zone with its set, and the real CLI
// (`node bin/ordinal.js dns reconcile`, a child process) first prints the plan without touching the
// zone, then restores the record.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkflowNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ZoneView } from '../../api/zones.js';
import { desiredRecords, type RecordSet } from '../../core/dns-records.js';
import type { SetView } from '../../core/status.js';
import { route53ZoneWorkflowId } from '../../activities/dns/route53/contract.js';
import { expectedLines, line, MotoAdmin, uniqueZone, useDummyAwsConfiguration } from '../harness/route53.js';
import { startTestOrdinal, uniqueName, type TestOrdinal } from '../harness/ordinal.js';
import { fixtureManifest, isReady, waitForSet } from '../harness/sets.js';
import { motoEndpoint, waitFor } from '../harness/services.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin', 'ordinal.js');
/** A deadline for each CLI run (tsx start-up included; a reconcile against moto takes well under a second). */
const RUN_TIMEOUT_MS = 60_000;

let o: TestOrdinal;
let admin: MotoAdmin;

beforeAll(async () => {
  // Before the worker starts: its Route 53 client reads them when it is made.
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

/** The records the set's Ready instances should have, as the core computes them. */
function recordsOf(name: string, zone: string, view: SetView): RecordSet[] {
  return desiredRecords({
    set: name,
    serviceName: name,
    zone,
    ttl: 1,
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    instances: view.status.instances.filter((i) => i.ready).map((i) => ({ ordinal: i.ordinal, address: i.address! })),
  });
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The real CLI as a child process, against this test's API. */
async function ordinal(args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['ORDINAL_API_URL', 'ORDINAL_API_HOST', 'ORDINAL_API_PORT', 'ORDINAL_TOKEN']) delete env[key];
  const child = spawn(process.execPath, [BIN, ...args, '--api-url', o.apiUrl], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (exitCode) => resolve(exitCode));
    });
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** The zone as GET /v1/dns/route53/zones lists it, once visibility shows its publisher. */
async function listedZone(hostedZoneId: string, ready: (zone: ZoneView) => boolean = () => true): Promise<ZoneView> {
  return waitFor(
    async () => {
      const res = await o.api('/v1/dns/route53/zones');
      if (res.status !== 200) throw new Error(`GET /v1/dns/route53/zones answered ${res.status}: ${JSON.stringify(res.body)}`);
      const found = (res.body.items as ZoneView[]).find((z) => z.hostedZoneId === hostedZoneId);
      return found && ready(found) ? found : undefined;
    },
    { timeoutMs: 30_000, message: `hosted zone ${hostedZoneId} listed by the API` },
  );
}

describe.sequential('ordinal dns reconcile against Route 53', () => {
  it('lists the zone with its set; a dry run prints the plan and changes nothing; then the hand-deleted record is back', async () => {
    const owner = o.config.route53OwnerId;
    const zone = uniqueZone('drift');
    const zoneId = await admin.createZone(zone);
    const name = uniqueName('drift');

    await o.sets.apply(name, manifest(name, zone, 2));
    const view = await waitForSet(o.sets, name, (v) => isReady(v, 2), { message: `${name} Ready with its names published` });
    const records = recordsOf(name, zone, view);
    const expected = expectedLines(owner, { [name]: records });
    await waitFor(async () => JSON.stringify(await admin.lines(zoneId)) === JSON.stringify(expected), {
      message: `zone ${zone} to hold ${JSON.stringify(expected)}`,
    });

    // By hand, outside Ordinal: someone deletes the first instance's A record (its ownership record stays).
    const victim = records.find((r) => r.name === `${name}-0.${name}.${zone}` && r.type === 'A')!;
    expect(victim).toBeDefined();
    await admin.change(zoneId, 'DELETE', { name: victim.name, type: 'A', ttl: victim.ttl, values: victim.values });
    const drifted = await admin.lines(zoneId);
    expect(drifted).toEqual(expected.filter((l) => l !== line(victim.name, 'A', victim.ttl, victim.values)));

    // The API lists the zone, with the set and nothing pending.
    const listed = await listedZone(zoneId, (z) => z.sets.includes(name) && z.pending.length === 0 && z.lastFlush !== undefined);
    expect(listed).toMatchObject({ hostedZoneId: zoneId, zone, sets: [name], pending: [] });
    expect(listed.lastFlush!.sets).toContain(name);
    expect(new Date(listed.lastFlush!.at).toISOString()).toBe(listed.lastFlush!.at);
    expect(listed.lastError).toBeUndefined();

    // So does the CLI's table.
    const zones = await ordinal(['dns', 'zones']);
    expect(zones.code, zones.stderr).toBe(0);
    expect(zones.stdout.split('\n')[0]).toMatch(/^HOSTED ZONE +ZONE +SETS +PENDING +LAST FLUSH +LAST ERROR$/);
    expect(zones.stdout).toMatch(new RegExp(`^${zoneId} +${zone.replaceAll('.', '\\.')} +${name} +<none> +\\S+ ago +<none>$`, 'm'));

    // A dry run prints the plan naming the record, and leaves the zone as it is.
    const restore = `create ${victim.name} A ${victim.values[0]} ttl ${victim.ttl} (restore: deleted outside Ordinal) [set ${name}]`;
    const dry = await ordinal(['dns', 'reconcile', '--zone', zone, '--dry-run']);
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(0);
    expect(dry.stdout.trimEnd().split('\n')).toEqual([
      `reconcile hosted zone ${zoneId} (dry run: nothing applied): 1 change, 0 conflicts`,
      restore,
      'dry run: 1 change planned, nothing applied',
    ]);
    expect(await admin.lines(zoneId)).toEqual(drifted);
    const afterDryRun = await listedZone(zoneId, (z) => z.lastReconcile !== undefined);
    expect(afterDryRun.lastReconcile).toMatchObject({ dryRun: true, planned: 1, applied: 0, conflicts: [], vanished: [] });

    // Without --dry-run the record is back, with nothing else changed.
    const applied = await ordinal(['dns', 'reconcile', '--zone', zone]);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout.trimEnd().split('\n')).toEqual([`reconcile hosted zone ${zoneId}: 1 change, 0 conflicts`, restore, 'applied 1 change']);
    expect(await admin.lines(zoneId)).toEqual(expected);

    // And there is nothing left to do.
    const again = await ordinal(['dns', 'reconcile', '--hosted-zone-id', zoneId, '--dry-run']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trimEnd().split('\n')).toEqual([
      `reconcile hosted zone ${zoneId} (dry run: nothing applied): 0 changes, 0 conflicts`,
      'no changes',
      'dry run: 0 changes planned, nothing applied',
    ]);
  });

  it('a hosted zone no set has published to has no publisher: 404, and none is started', async () => {
    const zone = uniqueZone('unused');
    const zoneId = await admin.createZone(zone);

    const res = await o.api(`/v1/dns/route53/zones/${zoneId}/reconcile`, { method: 'POST', body: { dryRun: true } });
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: { code: 'NotFound', message: `no Route 53 publisher for hosted zone '${zoneId}': no set publishes to it now (a zone's publisher ends once its last set is gone)`, details: [] } });

    const run = await ordinal(['dns', 'reconcile', '--hosted-zone-id', zoneId]);
    expect(run).toEqual({ code: 1, stdout: '', stderr: `error: no Route 53 publisher for hosted zone '${zoneId}': no set publishes to it now (a zone's publisher ends once its last set is gone)\n` });
    const byName = await ordinal(['dns', 'reconcile', '--zone', zone, '--dry-run']);
    expect(byName.code).toBe(1);
    expect(byName.stderr).toMatch(new RegExp(`^error: no Route 53 publisher for zone ${zone.replaceAll('.', '\\.')}: no set publishes there`));

    // Asking did not start a publisher for the zone.
    await expect(o.client.workflow.getHandle(route53ZoneWorkflowId(zoneId)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
    expect(await admin.lines(zoneId)).toEqual([]);
  });
});
