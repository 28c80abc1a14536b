// Reads through the HTTP API come from the view each set's workflow keeps in its memo (core/view-memo.ts):
// GET /v1/sets/{name} with one describe, GET /v1/sets with one visibility listing, no worker round trip.
// What a user must be able to rely on: a read after a 2xx change shows that change (read-your-writes),
// the view is the one the workflow's Query answers, the status follows the instances within a stated
// bound (the list a little later than GET: visibility is eventually consistent), and a set whose
// workflow has no memo yet (an older worker's) still reads.
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIdForSet } from '../../core/names.js';
import type { SetView } from '../../core/status.js';
import { viewFromMemo } from '../../core/view-memo.js';
import { getSetQuery } from '../../workflows/messages.js';
import { SetsService } from '../../api/sets.js';
import { olderWorkflowBundle } from '../harness/older-workflows.js';
import { startTestOrdinal, uniqueName, type TestOrdinal } from '../harness/ordinal.js';
import { fixtureManifest, isReady, waitForSet } from '../harness/sets.js';
import { waitFor } from '../harness/services.js';

/** GET of a set shows a killed instance within this long of the kill (the watch sees the exit as an event, then one workflow task). */
const GET_STATUS_BOUND_MS = 3_000;
/** GET /v1/sets shows a status change within this long after GET of the set shows it (visibility's lag; measured 10 to 60 ms on the dev server). */
const LIST_LAG_BOUND_MS = 1_000;

let ordinal: TestOrdinal;

beforeAll(async () => {
  ordinal = await startTestOrdinal();
});

afterAll(async () => {
  await ordinal?.stop();
});

/** GET through HTTP, the body as text too (to compare bytes). */
async function getText(pathname: string, base = ordinal.apiUrl): Promise<{ status: number; text: string; etag: string | null }> {
  const res = await fetch(`${base}${pathname}`);
  return { status: res.status, text: await res.text(), etag: res.headers.get('etag') };
}

async function send(method: string, pathname: string, body: unknown, contentType = 'application/json'): Promise<{ status: number; set: SetView }> {
  const res = await fetch(`${ordinal.apiUrl}${pathname}`, { method, headers: { 'content-type': contentType }, body: JSON.stringify(body) });
  return { status: res.status, set: (await res.json()) as SetView };
}

describe.sequential('reading sets from the view their workflows keep', () => {
  it('shows every 2xx PUT and PATCH to the GET right after it, also while the set is busy scaling up', async () => {
    const name = uniqueName('ryw');
    // Slow to become Ready: the workflow is mostly inside its create and watch steps when the changes arrive.
    const manifest = fixtureManifest(name, { replicas: 3, args: ['--ready-after', '300'] });
    const created = await send('PUT', `/v1/sets/${name}`, manifest);
    expect(created.status).toBe(201);
    // Other clients read the set all along, so the reads below share the API's calls to Temporal with theirs.
    let polling = true;
    const pollers = Array.from({ length: 8 }, async () => {
      while (polling) expect((await getText(`/v1/sets/${name}`)).status).toBe(200);
    });
    for (let i = 0; i < 8; i++) {
      const limit = 5 + i;
      const change =
        i % 2 === 0
          ? await send('PUT', `/v1/sets/${name}`, { ...manifest, spec: { ...manifest.spec, revisionHistoryLimit: limit } })
          : await send('PATCH', `/v1/sets/${name}`, { spec: { revisionHistoryLimit: limit } }, 'application/merge-patch+json');
      expect(change.status).toBe(200);
      const generation = change.set.metadata.generation;
      // Read at once, through HTTP, as a client would right after the 2xx.
      const read = await getText(`/v1/sets/${name}`);
      expect(read.status).toBe(200);
      const view = JSON.parse(read.text) as SetView;
      expect(view.metadata.generation).toBeGreaterThanOrEqual(generation);
      expect(view.spec.revisionHistoryLimit).toBe(limit);
      expect(read.etag).toBe(`"${view.metadata.generation}"`);
    }
    polling = false;
    await Promise.all(pollers);
    await waitForSet(ordinal.sets, name, (v) => isReady(v), { message: `${name} Ready` });
  });

  it('shows a cordon, an uncordon and a deletion to the GET right after their 2xx', async () => {
    const name = uniqueName('cordon');
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 2 }));
    await waitForSet(ordinal.sets, name, (v) => isReady(v), { message: `${name} Ready` });
    for (const cordoned of [true, false, true]) {
      const res = await fetch(`${ordinal.apiUrl}/v1/sets/${name}/instances/1/cordon`, { method: cordoned ? 'PUT' : 'DELETE' });
      expect(res.status).toBe(200);
      const view = JSON.parse((await getText(`/v1/sets/${name}`)).text) as SetView;
      expect(view.status.instances[1].cordoned).toBe(cordoned);
    }
    // The set's deletion: the GET right after the 202 sees it requested (or the set already gone).
    expect((await fetch(`${ordinal.apiUrl}/v1/sets/${name}`, { method: 'DELETE' })).status).toBe(202);
    const after = await getText(`/v1/sets/${name}`);
    if (after.status === 200) expect((JSON.parse(after.text) as SetView).metadata.deletionRequested).toBe(true);
    else expect(after.status).toBe(404);
  });

  it('answers the very body the Query answers, and the list holds the same views', async () => {
    const name = uniqueName('same');
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 2, spec: { minReadySeconds: 1 } }));
    await waitForSet(ordinal.sets, name, (v) => isReady(v) && v.status.availableReplicas === 2, { message: `${name} Ready and available` });
    const handle = ordinal.client.workflow.getHandle(workflowIdForSet(name));
    // Settled: nothing changes any more, so the memo and the Query describe the same moment.
    const queried = await handle.query(getSetQuery);
    const read = await getText(`/v1/sets/${name}`);
    expect(read.text).toBe(JSON.stringify(queried));
    // The view comes from the memo, not from a Query.
    expect(viewFromMemo((await handle.describe()).memo)).toEqual(queried);
    const listed = await waitFor(async () => {
      const list = JSON.parse((await getText('/v1/sets')).text) as { items: SetView[] };
      const mine = list.items.find((s) => s.metadata.name === name);
      return mine && isReady(mine) && mine.status.availableReplicas === 2 ? mine : undefined;
    }, { timeoutMs: 5_000, message: `${name} in the list` });
    expect(JSON.stringify(listed)).toBe(JSON.stringify(queried));
  });

  it(`shows a killed instance within ${GET_STATUS_BOUND_MS} ms in GET, and within ${LIST_LAG_BOUND_MS} ms more in the list`, async () => {
    const name = uniqueName('stale');
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 2 }));
    const ready = await waitForSet(ordinal.sets, name, (v) => isReady(v), { message: `${name} Ready` });
    const restarts = ready.status.instances[1].restarts;
    // The list has caught up with the Ready set before the kill.
    await waitFor(async () => {
      const list = JSON.parse((await getText('/v1/sets')).text) as { items: SetView[] };
      const mine = list.items.find((s) => s.metadata.name === name);
      return mine && isReady(mine);
    }, { timeoutMs: 5_000, message: `${name} Ready in the list` });
    const pid = (await ordinal.driver().describe(name)).find((h) => h.ordinal === 1)!.pid;
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const killed = (v: SetView | undefined) => v !== undefined && v.status.instances[1].restarts > restarts;
    await waitFor(async () => killed(JSON.parse((await getText(`/v1/sets/${name}`)).text) as SetView), {
      timeoutMs: GET_STATUS_BOUND_MS,
      intervalMs: 10,
      message: `GET to show ${name}-1 killed`,
    });
    const seenByGet = Date.now();
    await waitFor(async () => {
      const list = JSON.parse((await getText('/v1/sets')).text) as { items: SetView[] };
      return killed(list.items.find((s) => s.metadata.name === name));
    }, { timeoutMs: LIST_LAG_BOUND_MS, intervalMs: 10, message: `GET /v1/sets to show ${name}-1 killed` });
    const seenByList = Date.now();
    process.stdout.write(`kill seen by GET after ${seenByGet - killedAt} ms, by the list ${seenByList - seenByGet} ms later\n`);
  });

  it('keeps only the current instances in the memo after a scale-down, and the view across continue-as-new', async () => {
    const name = uniqueName('can');
    // A low history limit: the set's workflow continues as new several times on the way.
    const sets = new SetsService(ordinal.client, { taskQueue: ordinal.config.temporal.taskQueue, workflowLimits: { maxHistoryEvents: 40 } });
    await sets.apply(name, fixtureManifest(name, { replicas: 3 }));
    await waitForSet(ordinal.sets, name, (v) => isReady(v), { message: `${name} Ready` });
    const down = await send('PATCH', `/v1/sets/${name}`, { spec: { replicas: 1 } }, 'application/merge-patch+json');
    expect(down.status).toBe(200);
    const view = await waitForSet(ordinal.sets, name, (v) => isReady(v) && v.status.instances.length === 1, { message: `${name} scaled down` });
    const handle = ordinal.client.workflow.getHandle(workflowIdForSet(name));
    const description = await handle.describe();
    expect(description.raw.workflowExecutionInfo?.firstRunId).toBeTruthy();
    expect(description.runId).not.toBe(description.raw.workflowExecutionInfo?.firstRunId);
    expect(Object.keys(description.memo ?? {}).sort()).toEqual(['view.events', 'view.i.0', 'view.set', 'view.status']);
    expect(viewFromMemo(description.memo)).toEqual(view);
    expect((await getText(`/v1/sets/${name}`)).text).toBe(JSON.stringify(await handle.query(getSetQuery)));
  });

  it('reads a set whose workflow has no memo yet (a worker older than the memo), by its Query', async () => {
    // The set workflow as before this change: the module that writes the memo swapped for one that does not.
    const stub = fileURLToPath(new URL('../fixtures/view-memo-absent.ts', import.meta.url));
    const { code } = await olderWorkflowBundle('./view-memo.js', stub);
    const older = await startTestOrdinal({ workflowBundle: { code } });
    try {
      const name = uniqueName('old');
      await older.sets.apply(name, fixtureManifest(name, { replicas: 1 }));
      const view = await waitForSet(older.sets, name, (v) => isReady(v), { message: `${name} Ready` });
      const handle = older.client.workflow.getHandle(workflowIdForSet(name));
      expect(viewFromMemo((await handle.describe()).memo)).toBeUndefined();
      const read = await getText(`/v1/sets/${name}`, older.apiUrl);
      expect(read.status).toBe(200);
      expect(read.text).toBe(JSON.stringify(await handle.query(getSetQuery)));
      expect(JSON.parse(read.text).metadata.generation).toBe(view.metadata.generation);
      const list = JSON.parse((await getText('/v1/sets', older.apiUrl)).text) as { items: SetView[] };
      expect(list.items.map((s) => s.metadata.name)).toEqual([name]);
      expect(isReady(list.items[0])).toBe(true);
    } finally {
      await older.stop();
    }
  });
});
