// End to end in the production shape: `ordinal dns`, `ordinal api` and `ordinal worker` as separate
// processes against one Temporal server, driven through the CLI and the HTTP API, with components
// killed -9 mid-flight.
import dns from 'node:dns';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SetView } from '../../core/status.js';
import { uniqueName } from '../harness/ordinal.js';
import { fixtureManifest, readEvents, resolveA } from '../harness/sets.js';
import { waitFor } from '../harness/services.js';
import { startSystem, type TestSystem } from '../harness/system.js';

let system: TestSystem;
let resolver: dns.promises.Resolver;

beforeAll(async () => {
  system = await startSystem();
  resolver = new dns.promises.Resolver({ timeout: 1000, tries: 2 });
  resolver.setServers([`127.0.0.1:${system.dnsPort}`]);
});

afterAll(async () => {
  await system?.stop();
});

function writeManifest(name: string, manifest: unknown): string {
  const file = path.join(system.dataDir, `${name}.json`);
  fs.writeFileSync(file, JSON.stringify(manifest, null, 2));
  return file;
}

async function getSet(name: string): Promise<{ status: number; body: SetView }> {
  const res = await fetch(`${system.apiUrl}/v1/sets/${name}`);
  return { status: res.status, body: (await res.json()) as SetView };
}

/** Samples the live processes while `during` runs and fails if an identity ever has two at once. */
async function neverTwoAtOnce<T>(set: string, during: () => Promise<T>): Promise<T> {
  let stop = false;
  const violations: string[] = [];
  const sampler = (async () => {
    while (!stop) {
      const seen = new Map<number, number>();
      for (const p of system.driver.running().filter((r) => r.set === set)) {
        if (seen.has(p.ordinal)) violations.push(`${set}-${p.ordinal}: incarnations ${seen.get(p.ordinal)} and ${p.incarnation}`);
        seen.set(p.ordinal, p.incarnation);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  try {
    return await during();
  } finally {
    stop = true;
    await sampler;
    expect(violations).toEqual([]);
  }
}

describe.sequential('Ordinal in its production shape', () => {
  it('applies, reports, resolves, heals, scales and deletes through the CLI and the API', async () => {
    const name = uniqueName('web');
    const events = path.join(system.dataDir, `${name}.events`);
    const file = writeManifest(name, fixtureManifest(name, { replicas: 3, eventsFile: events }));

    const applied = await system.cli(['apply', '-f', file]);
    expect(applied).toMatchObject({ code: 0 });
    expect(applied.stdout).toContain(`set ${name} created`);

    const rollout = await system.cli(['rollout', 'status', name, '--timeout', '90s']);
    expect(rollout.code, rollout.stderr).toBe(0);
    expect(rollout.stdout).toMatch(/is Ready \(3\/3\)/);

    const got = await system.cli(['get', name, '-o', 'json']);
    const view = JSON.parse(got.stdout) as SetView;
    expect(view.status.instances.map((i) => [i.name, i.ready])).toEqual([
      [`${name}-0`, true],
      [`${name}-1`, true],
      [`${name}-2`, true],
    ]);
    for (const instance of view.status.instances) {
      expect(await resolveA(resolver, instance.dnsName)).toEqual([instance.address]);
    }
    const table = await system.cli(['get', name]);
    expect(table.stdout).toContain(`${name}-2`);

    // Deleting an instance: same name, new address, and DNS follows.
    const old = view.status.instances[1];
    expect((await system.cli(['delete-instance', name, '1'])).code).toBe(0);
    const healed = await waitFor(async () => {
      const { body } = await getSet(name);
      const i = body.status.instances[1];
      return i.incarnation > old.incarnation && i.ready ? i : undefined;
    }, { timeoutMs: 60_000, message: `${name}-1 back` });
    expect(healed.name).toBe(old.name);
    expect(healed.address).not.toBe(old.address);
    await waitFor(async () => (await resolveA(resolver, healed.dnsName)).join() === healed.address, { message: 'DNS moved' });

    // Scale through the CLI (a merge patch), then delete.
    expect((await system.cli(['scale', name, '1'])).code).toBe(0);
    expect((await system.cli(['rollout', 'status', name, '--timeout', '60s'])).code).toBe(0);
    expect((await getSet(name)).body.status.instances).toHaveLength(1);
    expect(await resolveA(resolver, view.status.instances[2].dnsName)).toEqual([]);

    expect((await system.cli(['delete', name])).code).toBe(0);
    await waitFor(async () => (await getSet(name)).status === 404, { timeoutMs: 60_000, message: `${name} deleted` });
    const missing = await system.cli(['get', name]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('does not exist');
    expect(system.driver.running().filter((p) => p.set === name)).toEqual([]);
  });

  it('rejects a bad manifest through the CLI with the field and rule, and starts nothing', async () => {
    const name = uniqueName('bad');
    const manifest = fixtureManifest(name, { replicas: 2 }) as { spec: Record<string, unknown> };
    manifest.spec.replicas = 2.5;
    const result = await system.cli(['apply', '-f', writeManifest(name, manifest)]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('spec.replicas: must be an integer');
    expect((await getSet(name)).status).toBe(404);
  });

  it('converges with exactly the desired instances when the worker is killed -9 in the middle of a scale-up', async () => {
    const name = uniqueName('crash');
    const events = path.join(system.dataDir, `${name}.events`);
    await neverTwoAtOnce(name, async () => {
      const file = writeManifest(name, fixtureManifest(name, { replicas: 4, eventsFile: events, args: ['--ready-after', '700'] }));
      expect((await system.cli(['apply', '-f', file])).code).toBe(0);
      await waitFor(() => readEvents(events).some((e) => e.event === 'start' && e.name === `${name}-1`), {
        timeoutMs: 60_000,
        message: `${name}-1 started`,
      });
      await system.worker.kill();
      await system.worker.start();
      const rollout = await system.cli(['rollout', 'status', name, '--timeout', '120s']);
      expect(rollout.code, rollout.stdout + rollout.stderr).toBe(0);
    });

    const live = system.driver.running().filter((p) => p.set === name);
    expect(live.map((p) => p.ordinal).sort()).toEqual([0, 1, 2, 3]);
    // Every incarnation started once; nothing was started twice for the same identity and incarnation.
    const starts = readEvents(events).filter((e) => e.event === 'start');
    const keys = starts.map((e) => `${e.name}#${e.incarnation}`);
    expect(new Set(keys).size).toBe(keys.length);
    const { body } = await getSet(name);
    expect(body.status.readyReplicas).toBe(4);
  });

  it('the DNS server killed -9 comes back with every record', async () => {
    const name = uniqueName('dns');
    const file = writeManifest(name, fixtureManifest(name, { replicas: 2 }));
    expect((await system.cli(['apply', '-f', file])).code).toBe(0);
    expect((await system.cli(['rollout', 'status', name, '--timeout', '60s'])).code).toBe(0);
    const { body } = await getSet(name);

    await system.dns.kill();
    await system.dns.start();
    for (const instance of body.status.instances) {
      expect(await resolveA(resolver, instance.dnsName)).toEqual([instance.address]);
    }
  });
});
