// The CLI on the watch stream, against the real worker and API: `ordinal rollout status` prints every
// step of a rollout as it happens (a poll every minute would see none of them) and keeps its final
// message and exit code; against an API without the stream (as on Lambda: 501) it polls as before.
// `ordinal get NAME -w` prints a line per change until the set is deleted.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { startTestOrdinal, uniqueName, type TestOrdinal } from '../harness/ordinal.js';
import { waitFor } from '../harness/services.js';
import { fixtureManifest, isReady, waitForSet } from '../harness/sets.js';
import { runCli } from '../harness/system.js';

let ordinal: TestOrdinal;

beforeAll(async () => {
  ordinal = await startTestOrdinal();
});

afterAll(async () => {
  await ordinal?.stop();
});

const cli = (apiUrl: string, args: string[], timeoutMs = 90_000) => runCli(args, { ...process.env, ORDINAL_API_URL: apiUrl }, { timeoutMs });

describe.concurrent('the CLI on the watch stream', () => {
  it('rollout status shows each step live from the stream, not once a poll', async ({ expect }) => {
    const name = uniqueName('rs');
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 2, args: ['--ready-after', '3000'] }));
    const started = Date.now();
    // One look a minute: only the stream can show the steps in between, and end within seconds.
    const run = await cli(ordinal.apiUrl, ['rollout', 'status', name, '--timeout', '60s', '--interval', '60s', '--stable-for', '0']);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(Date.now() - started).toBeLessThan(45_000);
    expect(run.stderr).toBe('');
    const lines = run.stdout.trimEnd().split('\n');
    const summaries = lines.filter((l) => /^\d\/2 instances Ready/.test(l));
    expect(summaries.slice(0, 2), run.stdout).toEqual(['0/2 instances Ready', '1/2 instances Ready']);
    expect(lines).toContain(`${name}-0: Running, Ready (${(await ordinal.sets.get(name))!.status.instances[0]!.address})`);
    expect(lines.some((l) => l.startsWith(`waiting for ${name}-1 to become Ready`))).toBe(true);
    expect(lines.at(-1)).toBe(`set ${name} is Ready (2/2)`);
    await ordinal.sets.delete(name);
  });

  it("rollout status says why the instance it waits for is not Ready, from the set's events", async ({ expect }) => {
    const name = uniqueName('rn');
    const unhealthy = path.join(os.tmpdir(), `${name}-unhealthy`);
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 1, args: ['--unhealthy-file', unhealthy] }));
    await waitForSet(ordinal.sets, name, (v) => isReady(v, 1));
    fs.writeFileSync(unhealthy, '');
    try {
      await waitForSet(ordinal.sets, name, (v) => v.status.readyReplicas === 0, { message: `${name}-0 not Ready` });
      const run = await cli(ordinal.apiUrl, ['rollout', 'status', name, '--timeout', '3s', '--stable-for', '0']);
      expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(1);
      // e.g. waiting for rn-1a2b3c-0 to become Ready (readiness probe: HTTP GET http://127.140.0.1:8080/healthz: 503 Service Unavailable)
      expect(run.stdout).toMatch(new RegExp(`^waiting for ${name}-0 to become Ready \\(readiness probe: .*503.*\\)$`, 'm'));
      expect(run.stderr).toMatch(/^error: timed out after 3s: 0\/1 Ready; /);
    } finally {
      fs.rmSync(unhealthy, { force: true });
    }
    await ordinal.sets.delete(name);
  });

  it('rollout status polls an API that cannot stream (501, as on Lambda), with the same result', async ({ expect }) => {
    const api = await ordinal.startApi(); // no watch hub: the route answers 501
    const name = uniqueName('rp');
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 1 }));
    const watch = await fetch(`${api.url}/v1/sets/${name}/watch`);
    expect(watch.status).toBe(501);
    const run = await cli(api.url, ['rollout', 'status', name, '--timeout', '60s', '--interval', '200ms', '--stable-for', '0']);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe(`set ${name} is Ready (1/1)`);
    const missing = await cli(api.url, ['rollout', 'status', uniqueName('none'), '--timeout', '10s']);
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringMatching(/^error: set \S+ does not exist\n$/)]);
    await ordinal.sets.delete(name);
  });

  it('get -w prints a line per change of the set until it is deleted', async ({ expect }) => {
    const name = uniqueName('gw');
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 0 }));
    await waitForSet(ordinal.sets, name, (v) => isReady(v, 0));
    const run = cli(ordinal.apiUrl, ['get', name, '-w']);
    await waitFor(() => ordinal.watch.follows(name) || undefined, { timeoutMs: 30_000, message: 'get -w to watch' });
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 2 }));
    await waitForSet(ordinal.sets, name, (v) => isReady(v, 2));
    await ordinal.sets.delete(name);
    const { code, stdout, stderr } = await run;
    expect(code, stderr).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+READY\s+PHASE\s+REVISION\s+AGE$/);
    const ready = lines.slice(1).map((l) => l.split(/\s+/)[1]);
    // Every step, in order; each line differs from the one before.
    const steps = ready.filter((r, i) => i === 0 || r !== ready[i - 1]);
    expect(steps.slice(0, 4)).toEqual(['0/0', '0/2', '1/2', '2/2']);
    expect(new Set(lines.slice(1)).size).toBe(lines.length - 1);
    expect(stderr).toBe(`set ${name} was deleted\n`);
  });
});
