// The watch stream (GET /v1/sets/{name}/watch) against the real dev server and worker: a watcher sees
// every status change of a scale-up, in order and without gaps; one that reconnects with its resume
// token picks up where it left; one that does not read is cut off and its buffer released.
import net from 'node:net';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { SetWatchHub } from '../../api/watch-hub.js';
import type { SetView } from '../../core/status.js';
import { getEventsQuery } from '../../workflows/messages.js';
import { workflowIdForSet } from '../../core/names.js';
import { startTestOrdinal, uniqueName, type TestOrdinal } from '../harness/ordinal.js';
import { waitFor } from '../harness/services.js';
import { fixtureManifest, isReady, waitForSet } from '../harness/sets.js';
import { openWatch, setViews } from '../harness/watch.js';

let ordinal: TestOrdinal;

beforeAll(async () => {
  // A low history limit: set workflows continue as new every few steps, and the watch follows each run.
  ordinal = await startTestOrdinal({ watch: { heartbeatMs: 200 }, workflowLimits: { maxHistoryEvents: 40 } });
});

afterAll(async () => {
  await ordinal?.stop();
});

/** The distinct values in order: [0, 0, 1, 1, 2] -> [0, 1, 2]. */
function changes<T>(values: T[]): T[] {
  return values.filter((value, i) => i === 0 || value !== values[i - 1]);
}

describe.concurrent('the watch stream', () => {
  it('sends every status change of a scale-up from 0 to 3, in order, none skipped', async ({ expect }) => {
    const name = uniqueName('w');
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 0 }));
    await waitForSet(ordinal.sets, name, (v) => isReady(v, 0));
    const handle = ordinal.client.workflow.getHandle(workflowIdForSet(name));
    const before = (await handle.query(getEventsQuery, {}))!.latestSeq;
    const firstRun = (await handle.describe()).runId;
    const watch = await openWatch(ordinal.apiUrl, name, { lastEventId: String(before) });
    expect(watch.status).toBe(200);
    const first = await watch.next((m) => m.event === 'set');
    expect((JSON.parse(first.data) as SetView).status.readyReplicas).toBe(0);

    const patched = await ordinal.api(`/v1/sets/${name}`, {
      method: 'PATCH',
      body: { spec: { replicas: 3 } },
      headers: { 'content-type': 'application/merge-patch+json' },
    });
    expect(patched.status).toBe(200);
    // A second client, once the first has seen an instance Ready, shares the follower and starts from now.
    await watch.next((m) => m.event === 'set' && (JSON.parse(m.data) as SetView).status.readyReplicas >= 1);
    const second = await openWatch(ordinal.apiUrl, name);
    const secondFirst = JSON.parse((await second.next((m) => m.event === 'set')).data) as SetView;
    expect(secondFirst.status.readyReplicas).toBeGreaterThanOrEqual(1);
    await watch.next((m) => m.event === 'set' && isReady(JSON.parse(m.data) as SetView, 3), { message: `${name} Ready with 3 on the stream` });
    await second.next((m) => m.event === 'set' && isReady(JSON.parse(m.data) as SetView, 3), { message: `${name} Ready with 3 on the second stream` });
    second.close();
    const views = setViews<SetView>(watch.messages);
    expect(changes(views.map((v) => v.status.readyReplicas))).toEqual([0, 1, 2, 3]);
    // OrderedReady, seen step by step: one instance more at a time, each after the one before is Ready.
    expect(changes(views.map((v) => v.status.instances.length))).toEqual([0, 1, 2, 3]);
    for (const view of views) expect(view.status.instances.slice(0, -1).every((i) => i.ready)).toBe(true);
    // Every event of the scale-up, live from the workflow's history: once each, in seq order, none missing.
    const after = (await handle.query(getEventsQuery, { since: before }))!;
    await watch.next((m) => m.event === 'event' && Number(m.id) === after.latestSeq, { message: `event ${after.latestSeq} on the stream` });
    const streamed = watch.messages.filter((m) => m.event === 'event').map((m) => JSON.parse(m.data) as { seq: number; reason: string });
    expect(streamed.map((e) => e.seq)).toEqual([...streamed.map((e) => e.seq)].sort((a, b) => a - b));
    expect(new Set(streamed.map((e) => e.seq)).size).toBe(streamed.length);
    for (const event of after.items) expect(streamed.map((e) => e.seq)).toContain(event.seq);
    expect(streamed.filter((e) => e.reason === 'Ready')).toHaveLength(3);
    // ... across runs: the workflow continued as new on the way.
    expect((await handle.describe()).runId).not.toBe(firstRun);
    // The heartbeat comments keep coming while nothing changes.
    const beats = watch.heartbeats;
    await waitFor(() => watch.heartbeats > beats, { timeoutMs: 5_000, message: 'a heartbeat' });
    watch.close();
    // Its clients gone, nothing follows the set any more.
    await waitFor(() => !ordinal.watch.follows(name) || undefined, { timeoutMs: 10_000, message: 'the follower to stop when its clients leave' });
    await ordinal.sets.delete(name);
  });

  it('starts again with the current set after a disconnect, and sends the events missed since the resume token', async ({ expect }) => {
    const name = uniqueName('wr');
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 1 }));
    await waitForSet(ordinal.sets, name, (v) => isReady(v, 1));
    const first = await openWatch(ordinal.apiUrl, name, { since: 0 });
    await first.next((m) => m.event === 'set');
    const kept = await ordinal.client.workflow.getHandle(workflowIdForSet(name)).query(getEventsQuery, {});
    const latest = kept!.latestSeq;
    expect(latest).toBeGreaterThan(0);
    // ?since=0: every event kept, then live ones.
    await first.next((m) => m.event === 'event' && Number(m.id) === latest, { message: `event ${latest}` });
    expect(first.messages.filter((m) => m.event === 'event').map((m) => Number(m.id))).toEqual(kept!.items.map((e) => e.seq));
    const lastId = first.messages.filter((m) => m.event === 'event').at(-1)?.id;
    first.close();

    // Changes while nobody watches.
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 2 }));
    await waitForSet(ordinal.sets, name, (v) => isReady(v, 2));

    const again = await openWatch(ordinal.apiUrl, name, { lastEventId: lastId! });
    const set = await again.next((m) => m.event === 'set');
    expect(isReady(JSON.parse(set.data) as SetView, 2)).toBe(true);
    expect(again.messages[0]!.event).toBe('set');
    const missed = await ordinal.client.workflow.getHandle(workflowIdForSet(name)).query(getEventsQuery, { since: Number(lastId) });
    const expected = missed!.items.map((e) => e.seq);
    expect(missed!.items.map((e) => e.reason)).toEqual(expect.arrayContaining(['Scaled', 'Created', 'Started', 'Ready']));
    await again.next((m) => m.event === 'event' && Number(m.id) === expected.at(-1));
    const got = again.messages.filter((m) => m.event === 'event').map((m) => Number(m.id));
    expect(got.slice(0, expected.length)).toEqual(expected);
    again.close();

    // A token newer than any event (another set of that name before): told so, then everything kept.
    const stale = await openWatch(ordinal.apiUrl, name, { lastEventId: '999999' });
    const gone = await stale.next((m) => m.event === 'gone');
    expect(JSON.parse(gone.data).message).toMatch(/newer than the set's latest event/);
    expect(stale.messages.map((m) => m.event).slice(0, 3)).toEqual(['set', 'gone', 'event']);
    stale.close();
    await ordinal.sets.delete(name);
  });

  it('answers 404 for a set that does not exist, and ends with deleted when the set goes', async ({ expect }) => {
    const missing = await openWatch(ordinal.apiUrl, uniqueName('nope'));
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.messages[0]!.data)).toMatchObject({ error: { code: 'NotFound' } });

    const name = uniqueName('wd');
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 1 }));
    const watch = await openWatch(ordinal.apiUrl, name);
    await watch.next((m) => m.event === 'set');
    await ordinal.sets.delete(name);
    const deleted = await watch.next((m) => m.event === 'deleted', { message: 'the deleted message' });
    expect(JSON.parse(deleted.data)).toEqual({ name });
    await watch.ended;
    expect(watch.messages.at(-1)).toBe(deleted);
    // The last client left: nothing follows the set any more.
    await waitFor(() => !ordinal.watch.follows(name) || undefined, { timeoutMs: 10_000, message: 'the follower to stop' });
  });

  it('cuts off a client that does not read, and releases what it held', async ({ expect }) => {
    const limit = 64 * 1024;
    const hub = new SetWatchHub(ordinal.client, ordinal.sets, { bufferLimitBytes: limit, cutOffGraceMs: 60_000 });
    const api = await ordinal.startApi({ watch: hub });
    const name = uniqueName('ws');
    const manifest = (n: number) => {
      const m = fixtureManifest(name, { replicas: 0 }) as ReturnType<typeof fixtureManifest> & { metadata: Record<string, unknown> };
      // Each apply changes a 200 KB annotation: each is a 200 KB `set` message.
      m.metadata = { name, annotations: { filler: `${n}:`.padEnd(200 * 1024, 'x') } };
      return m;
    };
    await ordinal.sets.apply(name, manifest(0));

    // A client that sends its request and never reads the answer.
    const { port } = new URL(api.url);
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.pause();
    socket.write(`GET /v1/sets/${name}/watch HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n\r\n`);
    socket.on('error', () => undefined);
    await waitFor(() => hub.stats.clients === 1 || undefined, { timeoutMs: 10_000, message: 'the slow client to connect' });

    // Changes until the kernel's socket buffers are full and the API's buffer for it passes the limit.
    let most = 0;
    await waitFor(
      async () => {
        if (hub.stats.slowClientsCutOff > 0) return true;
        most = Math.max(most, hub.stats.bufferedBytes);
        await ordinal.sets.apply(name, manifest(Date.now()));
        most = Math.max(most, hub.stats.bufferedBytes);
        return undefined;
      },
      { timeoutMs: 120_000, intervalMs: 1, message: 'the slow client to be cut off' },
    );
    // Never more than the limit and one message held; once cut off, only the final error message.
    expect(most).toBeLessThanOrEqual(limit + 210 * 1024);
    expect(hub.stats.bufferedBytes).toBeLessThan(1024);
    expect(hub.followedSets).toBe(0);

    // Reading now: what the kernel held, then the error, then the end of the stream.
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.resume();
    await new Promise((resolve) => socket.once('end', resolve));
    // (chunked: the last chunk is "0" and an empty line)
    expect(text.length).toBeGreaterThan(limit);
    expect(text.slice(-600)).toMatch(/event: error\ndata: \{"reason":"SlowClient","message":"[^\n]+"\}\n\n\r\n0\r\n\r\n$/);
    await waitFor(() => (hub.stats.clients === 0 && hub.stats.bufferedBytes === 0) || undefined, { timeoutMs: 10_000, message: 'the buffers released' });
    // An operator sees it in the API's metrics.
    const metrics = await (await fetch(`${api.url}/metrics`)).text();
    expect(metrics).toMatch(/^ordinal_api_watch_slow_clients_cut_off_total 1$/m);
    expect(metrics).toMatch(/^ordinal_api_watch_clients 0$/m);
    expect(metrics).toMatch(/^ordinal_api_watch_buffered_bytes 0$/m);
    socket.destroy();
    await ordinal.sets.delete(name);
  });
});
