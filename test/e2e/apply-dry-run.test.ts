// `ordinal apply --dry-run` and `ordinal apply --wait` through the real CLI (`node bin/ordinal.js`), the
// real HTTP API, Temporal's dev server and a worker. A dry run starts no workflow, sends no Update and
// leaves nothing in the set workflow's history; it is refused exactly as the real apply would be.
// `--wait` follows the rollout as `ordinal rollout status` does, with its output and exit codes.
import fs from 'node:fs/promises';
import path from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIdForSet } from '../../core/names.js';
import type { SetView } from '../../core/status.js';
import { startCliTestOrdinal, stopCliTestOrdinal } from '../harness/cli-stack.js';
import { uniqueName, type TestOrdinal } from '../harness/ordinal.js';
import { waitFor } from '../harness/services.js';
import { fixtureManifest, isReady, waitForSet } from '../harness/sets.js';
import { runCli } from '../harness/system.js';

let ordinal: TestOrdinal;
let tmp: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  ({ ordinal, tmp, env } = await startCliTestOrdinal('ordinal-dry-run-'));
});

afterAll(() => stopCliTestOrdinal(ordinal, tmp));

async function apply(manifest: unknown, ...args: string[]) {
  const file = path.join(tmp, `${uniqueName('manifest')}.yaml`);
  await fs.writeFile(file, stringify(manifest));
  return runCli(['apply', '-f', file, ...args], env, { timeoutMs: 120_000 });
}

/** How many events the set workflow's history holds (every run's, as Temporal keeps them). */
async function historyLength(name: string): Promise<number> {
  const history = await ordinal.client.workflow.getHandle(workflowIdForSet(name)).fetchHistory();
  return history.events?.length ?? 0;
}

/** The history once the set has settled: the same length on two reads in a row. */
async function settledHistoryLength(name: string): Promise<number> {
  let last = -1;
  return waitFor(
    async () => {
      const length = await historyLength(name);
      const settled = length === last;
      last = length;
      return settled ? length : undefined;
    },
    { intervalMs: 1_000, timeoutMs: 60_000, message: `the history of ${name} to stop growing` },
  );
}

describe.concurrent('ordinal apply --dry-run', () => {
  it('of a new set answers "created (server dry run)" and starts no workflow', async ({ expect }) => {
    const name = uniqueName('dry-new');
    const run = await apply(fixtureManifest(name, { replicas: 2 }), '--dry-run');
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toBe(`set ${name} created (server dry run)\n`);
    expect((await ordinal.api(`/v1/sets/${name}`)).status).toBe(404);
    await expect(ordinal.client.workflow.getHandle(workflowIdForSet(name)).describe()).rejects.toBeInstanceOf(WorkflowNotFoundError);
  });

  it('of a change answers the would-be generation and changes nothing: GET and the workflow history are as before', async ({ expect }) => {
    const name = uniqueName('dry-chg');
    const manifest = fixtureManifest(name, { replicas: 1 });
    await ordinal.sets.apply(name, manifest, { requestedBy: 'test' });
    const before = await waitForSet(ordinal.sets, name, (view) => isReady(view), { message: `${name} Ready` });
    const events = await settledHistoryLength(name);

    const changed = await apply({ ...manifest, spec: { ...manifest.spec, replicas: 3 } }, '--dry-run');
    expect(changed.code, `${changed.stdout}\n${changed.stderr}`).toBe(0);
    expect(changed.stdout).toBe(`set ${name} configured (server dry run): generation 1 -> 2\n`);
    const same = await apply(manifest, '--dry-run');
    expect(same.stdout).toBe(`set ${name} unchanged (server dry run)\n`);

    // Through the API: the would-be set, marked as a dry run.
    const res = await fetch(`${ordinal.apiUrl}/v1/sets/${name}?dryRun=All`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...manifest, spec: { ...manifest.spec, replicas: 4 } }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('ordinal-dry-run')).toBe('true');
    expect(res.headers.get('etag')).toBe('"2"');
    const wouldBe = (await res.json()) as SetView;
    expect([wouldBe.metadata.generation, wouldBe.spec.replicas]).toEqual([2, 4]);

    const after = (await ordinal.api(`/v1/sets/${name}`)).body as SetView;
    expect(after.metadata.generation).toBe(before.metadata.generation);
    expect(after.spec).toEqual(before.spec);
    expect(await historyLength(name)).toBe(events);
  });

  it('is refused exactly as the real apply: an immutable field (CLI, exit 1) and a stale If-Match (API, 409)', async ({ expect }) => {
    const name = uniqueName('dry-ref');
    const manifest = fixtureManifest(name, { replicas: 1 });
    await ordinal.sets.apply(name, manifest, { requestedBy: 'test' });
    const immutable = { ...manifest, spec: { ...manifest.spec, serviceName: 'elsewhere' } };

    const dry = await apply(immutable, '--dry-run');
    const real = await apply(immutable);
    expect(dry.code, dry.stderr).toBe(1);
    expect(real.code, real.stderr).toBe(1);
    expect(dry.stderr).toContain('spec.serviceName');
    expect(dry.stderr).toBe(real.stderr);
    expect(dry.stdout).toBe('');

    const put = (query: string) =>
      fetch(`${ordinal.apiUrl}/v1/sets/${name}${query}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'if-match': '"7"' },
        body: JSON.stringify({ ...manifest, spec: { ...manifest.spec, replicas: 2 } }),
      });
    const [dryStale, realStale] = [await put('?dryRun=true'), await put('')];
    expect(dryStale.status).toBe(409);
    expect(realStale.status).toBe(409);
    expect(await dryStale.json()).toEqual(await realStale.json());
    expect(((await ordinal.api(`/v1/sets/${name}`)).body as SetView).metadata.generation).toBe(1);
  });

  it('of a deleted set answers "created (server dry run)" and starts no new run', async ({ expect }) => {
    const name = uniqueName('dry-del');
    const manifest = fixtureManifest(name, { replicas: 1 });
    await ordinal.sets.apply(name, manifest, { requestedBy: 'test' });
    await ordinal.sets.delete(name, 'test');
    await waitFor(async () => (await ordinal.api(`/v1/sets/${name}`)).status === 404, { timeoutMs: 60_000, message: `${name} deleted` });
    const handle = ordinal.client.workflow.getHandle(workflowIdForSet(name));
    const last = await handle.describe();
    expect(last.status.name).toBe('COMPLETED');

    const run = await apply(manifest, '--dry-run');
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toBe(`set ${name} created (server dry run)\n`);
    const now = await handle.describe();
    expect([now.runId, now.status.name]).toEqual([last.runId, 'COMPLETED']);
    expect((await ordinal.api(`/v1/sets/${name}`)).status).toBe(404);
  });

  it('with --wait is an error naming both flags, before anything is sent', async ({ expect }) => {
    const name = uniqueName('dry-wait');
    const run = await apply(fixtureManifest(name, { replicas: 1 }), '--dry-run', '--wait');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/--dry-run and --wait cannot be used together/);
    expect((await ordinal.api(`/v1/sets/${name}`)).status).toBe(404);
  });
});

describe.concurrent('ordinal apply --wait', () => {
  it('exits 0 once the set has rolled out, printing the progress as rollout status does', async ({ expect }) => {
    const name = uniqueName('wait-ok');
    const run = await apply(fixtureManifest(name, { replicas: 2 }), '--wait', '--timeout', '90s');
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`set ${name} created`);
    expect(lines.some((line) => line.startsWith(`${name}-1: Running, Ready (`))).toBe(true);
    expect(lines.some((line) => line.startsWith('waiting for '))).toBe(true);
    expect(lines[lines.length - 1]).toBe(`set ${name} is Ready (2/2)`);
  });

  it('exits 1 with the reason when the rollout fails (past its progress deadline)', async ({ expect }) => {
    const name = uniqueName('wait-bad');
    const bad = fixtureManifest(name, { replicas: 2, args: ['--never-ready'], spec: { progressDeadlineSeconds: 4 } });
    const run = await apply(bad, '--wait', '--timeout', '90s');
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(1);
    expect(run.stdout).toContain(`set ${name} created`);
    expect(run.stderr).toMatch(new RegExp(`^error: rollout of ${name} failed: progress deadline exceeded: .+\\n$`));
  });

  it('exits 1 when the timeout passes, with what it waited for', async ({ expect }) => {
    const name = uniqueName('wait-slow');
    const run = await apply(fixtureManifest(name, { replicas: 1, args: ['--never-ready'] }), '--wait', '--timeout', '3s');
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^error: timed out after 3s: 0/1 Ready; waiting for .+\\n$`));
  });
});
