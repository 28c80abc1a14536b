// The primary-replica example: a StatefulSet's "topology state". Replicas find the primary only by its
// DNS name; when the primary is recreated at a new address they follow the name, and the new primary
// recovers its data from replica 1, found by name too.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestOrdinal, uniqueName, type TestOrdinal } from '../harness/ordinal.js';
import { isReady, resolveA, waitForSet } from '../harness/sets.js';
import { waitFor } from '../harness/services.js';
import { REPO } from '../harness/system.js';

let ordinal: TestOrdinal;

beforeAll(async () => {
  ordinal = await startTestOrdinal();
});

afterAll(async () => {
  await ordinal?.stop();
});

describe('examples/primary-replica.yaml', () => {
  it('replicas follow the primary by name, across its recreation', async () => {
    const manifest = YAML.parse(fs.readFileSync(path.join(REPO, 'examples/primary-replica.yaml'), 'utf8'));
    const name = uniqueName('kv');
    manifest.metadata.name = name;
    manifest.spec.serviceName = name;
    await ordinal.sets.apply(name, manifest);
    const ready = await waitForSet(ordinal.sets, name, (v) => isReady(v), { message: `${name} Ready` });
    const [primary, , replica2] = ready.status.instances;

    const at = async (instance: number) => {
      const [address] = await resolveA(ordinal.resolver, `${name}-${instance}.${name}.ordinal.internal`);
      return `http://${address}:8080`;
    };
    const read = async (instance: number, key: string) => {
      const res = await fetch(`${await at(instance)}/kv/${key}`);
      return res.ok ? ((await res.json()) as { value: string }).value : undefined;
    };

    expect((await fetch(`${await at(0)}/kv/greeting`, { method: 'PUT', body: 'hello' })).status).toBe(200);
    // Replication is asynchronous (each replica polls the primary): wait until both hold the write,
    // replica 1 above all, which the recreated primary recovers from.
    await waitFor(async () => (await read(1, 'greeting')) === 'hello' && (await read(2, 'greeting')) === 'hello', {
      message: 'replicas 1 and 2 replicated the write',
    });
    const refused = await fetch(`${await at(2)}/kv/greeting`, { method: 'PUT', body: 'nope' });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain(`write to ${name}-0.${name}.ordinal.internal`);

    // Kill the primary: it comes back under its name at a new address, with its data.
    const [pid] = (await ordinal.driver().describe(name)).filter((h) => h.ordinal === 0).map((h) => h.pid);
    process.kill(pid, 'SIGKILL');
    const healed = await waitForSet(ordinal.sets, name, (v) => isReady(v) && v.status.instances[0].incarnation > primary.incarnation, {
      message: 'primary recreated',
    });
    expect(healed.status.instances[0].address).not.toBe(primary.address);
    await waitFor(async () => (await resolveA(ordinal.resolver, primary.dnsName)).join() === healed.status.instances[0].address, {
      message: 'the primary name moved',
    });
    expect(await read(0, 'greeting')).toBe('hello');

    // Replicas follow the name to the new primary, without any change of configuration.
    expect((await fetch(`${await at(0)}/kv/after`, { method: 'PUT', body: 'recreation' })).status).toBe(200);
    await waitFor(async () => (await read(1, 'after')) === 'recreation' && (await read(2, 'after')) === 'recreation', {
      message: 'replicas replicated from the new primary',
    });
    const status = (await (await fetch(`${await at(2)}/`)).json()) as { primaryAddress: string; role: string };
    expect(status).toMatchObject({ role: 'replica', primaryAddress: healed.status.instances[0].address });
    expect(healed.status.instances[2].incarnation).toBe(replica2.incarnation);
  });
});
