// The watch stream's parts without Temporal: the SSE encoding, the bounded per-client buffer, a client's
// stream (heartbeats, cut-off of a client that does not read, its buffer freed), the CLI's SSE parser,
// and the route over a fake hub: Last-Event-ID over ?since, 404, 501 without a hub (the API on Lambda),
// and its place in the OpenAPI document.
import { describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { encodeSse, encodeSseComment } from '../../api/sse.js';
import { BoundedBuffer, WatchStats } from '../../api/watch-buffer.js';
import { WatchSession, type SetWatchPort } from '../../api/watch-hub.js';
import { WatchStream, type WatchSink, type WatchStreamOptions } from '../../api/watch-stream.js';
import { SseParser } from '../../cli/sse-parser.js';
import { FakeSets } from './fake-sets.js';

const bytes = (n: number) => new Uint8Array(n);
const decoder = new TextDecoder();

describe('SSE encoding', () => {
  it('writes event, id and one data line per line, ended by a blank line', () => {
    expect(encodeSse({ event: 'event', id: 7, data: '{"a":1}' })).toBe('event: event\nid: 7\ndata: {"a":1}\n\n');
    expect(encodeSse({ data: 'one\ntwo\r\nthree' })).toBe('data: one\ndata: two\ndata: three\n\n');
    expect(encodeSse({ event: 'a\nb', data: '' })).toBe('event: a b\ndata: \n\n');
    expect(encodeSseComment('heartbeat')).toBe(': heartbeat\n\n');
  });

  it('reads back what it writes, however the stream is cut', () => {
    const text = encodeSse({ event: 'set', data: 'x\ny' }) + encodeSseComment('heartbeat') + encodeSse({ event: 'event', id: 3, data: '{}' });
    for (let cut = 0; cut <= text.length; cut++) {
      const parser = new SseParser();
      const items = [...parser.feed(text.slice(0, cut)), ...parser.feed(text.slice(cut))];
      expect(items).toEqual([
        { kind: 'message', message: { event: 'set', data: 'x\ny' } },
        { kind: 'comment', text: 'heartbeat' },
        { kind: 'message', message: { event: 'event', data: '{}', id: '3' } },
      ]);
    }
  });

  it('parses CRLF and CR line ends, a message without event name, and ignores unknown fields', () => {
    const parser = new SseParser();
    expect(parser.feed('data: a\r\nretry: 5\r\n\r')).toEqual([]);
    expect(parser.feed('\ndata:b\r\n\r\n')).toEqual([
      { kind: 'message', message: { event: 'message', data: 'a' } },
      { kind: 'message', message: { event: 'message', data: 'b' } },
    ]);
  });
});

describe('BoundedBuffer', () => {
  it('holds up to its limit, always takes one chunk, and counts every byte in the stats', () => {
    const stats = new WatchStats();
    const buffer = new BoundedBuffer(100, stats);
    expect(buffer.push(bytes(150))).toBe(true); // one chunk fits an empty buffer, however large
    expect(buffer.push(bytes(1))).toBe(false);
    expect(buffer.shift()?.byteLength).toBe(150);
    expect(buffer.push(bytes(60))).toBe(true);
    expect(buffer.push(bytes(40))).toBe(true);
    expect(buffer.push(bytes(1))).toBe(false);
    expect([buffer.bytes, stats.bufferedBytes]).toEqual([100, 100]);
    buffer.force(bytes(10));
    expect(stats.bufferedBytes).toBe(110);
    buffer.clear();
    expect([buffer.bytes, stats.bufferedBytes, buffer.empty]).toEqual([0, 0, true]);
  });
});

describe('WatchStream', () => {
  const view = { metadata: { name: 'web' } } as never;

  async function read(stream: WatchStream, chunks: number): Promise<string> {
    const reader = stream.readable.getReader();
    let text = '';
    for (let i = 0; i < chunks; i++) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    reader.releaseLock();
    return text;
  }

  it('hands its messages to a reader in order, then ends', async () => {
    const stats = new WatchStats();
    const stream = new WatchStream({ stats });
    stream.send({ event: 'set', data: view });
    stream.send({ event: 'event', id: 4, data: { seq: 4 } as never });
    stream.send({ event: 'deleted', data: { name: 'web' } });
    stream.end();
    stream.send({ event: 'set', data: view }); // after the end: dropped
    const text = await read(stream, 10);
    expect(text).toBe('event: set\ndata: {"metadata":{"name":"web"}}\n\nevent: event\nid: 4\ndata: {"seq":4}\n\nevent: deleted\ndata: {"name":"web"}\n\n');
    expect([stats.clients, stats.bufferedBytes]).toEqual([0, 0]);
  });

  it('sends a heartbeat comment every interval', async () => {
    const stream = new WatchStream({ heartbeatMs: 5 });
    expect(await read(stream, 2)).toBe(': heartbeat\n\n: heartbeat\n\n');
    await stream.readable.cancel();
  });

  it('cuts off a client that does not read: its buffer is dropped for one error message, the stream ends', async () => {
    const stats = new WatchStats();
    const options: WatchStreamOptions = { stats, bufferLimitBytes: 1000, cutOffGraceMs: 60_000 };
    const stream = new WatchStream(options);
    let closed = 0;
    stream.onClose(() => closed++);
    const big = { event: 'deleted', data: { name: 'x'.repeat(300) } } as const;
    for (let i = 0; i < 2; i++) stream.send(big);
    expect(stats.bufferedBytes).toBeGreaterThan(600);
    expect(stats.slowClientsCutOff).toBe(0);
    stream.send(big);
    expect(stats.slowClientsCutOff).toBe(1);
    expect(closed).toBe(1); // unsubscribed from the hub at once
    expect(stats.bufferedBytes).toBeLessThan(400); // only the error message is left
    stream.send(big); // nothing more is taken
    const text = await read(stream, 10);
    expect(text).toMatch(/^event: error\ndata: \{"reason":"SlowClient","message":"the client did not read the stream fast enough \(more than 1000 bytes waiting\)[^"]*"\}\n\n$/);
    expect([stats.clients, stats.bufferedBytes, closed]).toEqual([0, 0, 1]);
  });

  it('destroys the connection of a client cut off that does not take its last message within the grace', async () => {
    const stats = new WatchStats();
    const stream = new WatchStream({ stats, bufferLimitBytes: 10, cutOffGraceMs: 5 });
    const expired = new Promise<void>((resolve) => stream.onCutOffExpired(resolve));
    stream.send({ event: 'deleted', data: { name: 'a' } });
    stream.send({ event: 'deleted', data: { name: 'b' } });
    await expired;
    expect([stats.clients, stats.bufferedBytes]).toEqual([0, 0]);
  });

  it('frees everything when the client goes away', async () => {
    const stats = new WatchStats();
    const stream = new WatchStream({ stats });
    let closed = 0;
    stream.onClose(() => closed++);
    stream.send({ event: 'set', data: view });
    await stream.readable.cancel();
    expect([stats.clients, stats.bufferedBytes, closed]).toEqual([0, 0, 1]);
  });
});

/** A hub that answers from a script: records what it was asked, sends a set and ends. */
class FakeHub implements SetWatchPort {
  readonly streamOptions = {};
  readonly asked: Array<{ name: string; since: number | undefined }> = [];
  async subscribe(name: string, since: number | undefined, sink: WatchSink) {
    this.asked.push({ name, since });
    if (name !== 'web') return undefined;
    sink.send({ event: 'set', data: { metadata: { name } } as never });
    sink.end();
    return () => undefined;
  }
  close() {}
}

describe('GET /v1/sets/{name}/watch', () => {
  it('streams text/event-stream, taking the resume token from Last-Event-ID over ?since', async () => {
    const hub = new FakeHub();
    const app = createApp(new FakeSets(), { watch: hub });
    const res = await app.request('/v1/sets/web/watch?since=3', { headers: { 'Last-Event-ID': '9' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(await res.text()).toBe('event: set\ndata: {"metadata":{"name":"web"}}\n\n');
    await (await app.request('/v1/sets/web/watch?since=3')).text();
    await (await app.request('/v1/sets/web/watch')).text();
    expect(hub.asked.map((a) => a.since)).toEqual([9, 3, undefined]);
  });

  it('answers 404 for a set that does not exist and 400 for a token that is not a seq', async () => {
    const app = createApp(new FakeSets(), { watch: new FakeHub() });
    const missing = await app.request('/v1/sets/nope/watch');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: { code: 'NotFound', message: "set 'nope' does not exist", details: [] } });
    const bad = await app.request('/v1/sets/web/watch?since=-1');
    expect(bad.status).toBe(400);
  });

  it('answers 501 without a hub (the API on Lambda), saying to poll', async () => {
    const app = createApp(new FakeSets());
    const res = await app.request('/v1/sets/web/watch');
    expect(res.status).toBe(501);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('NotImplemented');
    expect(body.error.message).toMatch(/poll GET \/v1\/sets\/\{name\}/);
  });

  it('is in the OpenAPI document as a text/event-stream GET', async () => {
    const doc = (await (await createApp(new FakeSets()).request('/openapi.json')).json()) as any;
    const get = doc.paths['/v1/sets/{name}/watch'].get;
    expect(Object.keys(get.responses['200'].content)).toEqual(['text/event-stream']);
    expect(get.responses['501']).toBeDefined();
    expect(get.parameters.map((p: { name: string }) => p.name).sort()).toEqual(['last-event-id', 'name', 'since']);
  });
});

describe("a watch client's session", () => {
  const set = (ready: number) => ({ metadata: { name: 'web' }, status: { readyReplicas: ready } }) as never;
  const ev = (seq: number) => ({ seq, type: 'Normal', reason: 'Ready', message: `m${seq}`, count: 1, firstTimestamp: '', lastTimestamp: '' }) as never;

  function recorder() {
    const sent: string[] = [];
    let ended = false;
    const sink: WatchSink = {
      send: (m) => sent.push(m.event === 'event' ? `event ${m.id}` : m.event === 'set' ? `set ${(m.data as any).status.readyReplicas}` : `${m.event} ${JSON.stringify(m.data)}`),
      end: () => (ended = true),
    };
    return { sent, sink, ended: () => ended };
  }

  it('without a token: the set, then only events after the follower\'s latest, each once', async () => {
    const { sent, sink } = recorder();
    const session = new WatchSession('web', sink, undefined);
    session.update({ kind: 'event', event: ev(5) }); // arrived while starting: held, and older than the state
    await session.begin({ view: set(1), latestSeq: 5 }, async () => {
      throw new Error('no query without a token');
    });
    session.update({ kind: 'event', event: ev(6) });
    session.update({ kind: 'event', event: ev(6) });
    session.update({ kind: 'set', view: set(2) });
    expect(sent).toEqual(['set 1', 'event 6', 'set 2']);
  });

  it('with a token: the events after it from the query, then the live ones not sent yet, in order', async () => {
    const { sent, sink } = recorder();
    const session = new WatchSession('web', sink, 3);
    const asked: Array<number | undefined> = [];
    const begun = session.begin({ view: set(1), latestSeq: 5 }, async (since) => {
      asked.push(since);
      session.update({ kind: 'event', event: ev(6) }); // the follower moves on while the query runs
      session.update({ kind: 'event', event: ev(7) });
      return { latestSeq: 6, oldestSeq: 1, items: [ev(4), ev(5), ev(6)] };
    });
    await begun;
    expect(asked).toEqual([3]);
    expect(sent).toEqual(['set 1', 'event 4', 'event 5', 'event 6', 'event 7']);
  });

  it('says gone when the token is older than the events kept, then sends what is kept', async () => {
    const { sent, sink } = recorder();
    const session = new WatchSession('web', sink, 2);
    await session.begin({ view: set(0), latestSeq: 150 }, async () => ({ latestSeq: 150, oldestSeq: 51, items: [ev(51), ev(150)] }));
    expect(sent[0]).toBe('set 0');
    expect(sent[1]).toMatch(/^gone \{"oldestSeq":51,"message":"the events after 2 up to 50 are no longer kept/);
    expect(sent.slice(2)).toEqual(['event 51', 'event 150']);
  });

  it('a token newer than any event (another set of that name): gone, then every event kept', async () => {
    const { sent, sink } = recorder();
    const session = new WatchSession('web', sink, 99);
    const asked: Array<number | undefined> = [];
    await session.begin({ view: set(0), latestSeq: 2 }, async (since) => {
      asked.push(since);
      return since === undefined ? { latestSeq: 2, oldestSeq: 1, items: [ev(1), ev(2)] } : { latestSeq: 2, oldestSeq: 1, items: [] };
    });
    expect(asked).toEqual([99, undefined]);
    expect(sent.slice(1, 2)[0]).toMatch(/^gone .*newer than the set's latest event 2/);
    expect(sent.slice(2)).toEqual(['event 1', 'event 2']);
  });

  it('ends with deleted (or an error), and sends nothing after', async () => {
    const { sent, sink, ended } = recorder();
    const session = new WatchSession('web', sink, undefined);
    await session.begin({ view: set(1), latestSeq: undefined }, async () => undefined);
    session.update({ kind: 'deleted' });
    session.update({ kind: 'set', view: set(2) });
    expect(sent).toEqual(['set 1', 'deleted {"name":"web"}']);
    expect(ended()).toBe(true);
  });
});
