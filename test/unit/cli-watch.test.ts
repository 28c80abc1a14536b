// The CLI's side of the watch stream without a server: watchSet over a scripted fetch (every item in
// order, a tick while nothing comes, a drop resumed once with the last event id, no stream -> poll),
// the reason `rollout status` gives for an instance not Ready, and `get -w`'s line per change.
import { describe, expect, it } from 'vitest';
import { ApiClient } from '../../cli/api-client.js';
import { SetChangePrinter } from '../../cli/get-watch.js';
import { ProbeNotes } from '../../cli/rollout.js';
import { watchSet, type WatchItem } from '../../cli/set-watch.js';
import type { SetEvent } from '../../core/events.js';
import type { SetView } from '../../core/status.js';

const encoder = new TextEncoder();

function view(ready: number, replicas = 3): SetView {
  return {
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', generation: 1, creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { replicas },
    status: { phase: 'Progressing', readyReplicas: ready, updateRevision: 'web-1', instances: [], conditions: [] },
  } as unknown as SetView;
}

function event(seq: number, reason: SetEvent['reason'], instance: string, message: string = reason): SetEvent {
  return { seq, type: 'Normal', reason, message, instance, count: 1, firstTimestamp: '', lastTimestamp: '' };
}

const sse = (name: string, data: unknown, id?: number) => `event: ${name}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`;

/** A fetch answering each watch request from the next script: a status, or chunks then the end (or a hang). */
function scriptedFetch(scripts: Array<{ status: number; body?: string } | { chunks: string[]; hang?: boolean }>) {
  const requests: Array<{ url: string; lastEventId: string | null }> = [];
  const impl = (async (url: string, init: RequestInit) => {
    const headers = new Headers(init.headers);
    requests.push({ url, lastEventId: headers.get('last-event-id') });
    const script = scripts.shift();
    if (!script) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    if ('status' in script) return new Response(script.body ?? '{"error":{"code":"X","message":"no"}}', { status: script.status });
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of script.chunks) controller.enqueue(encoder.encode(chunk));
        if (!script.hang) controller.close();
        init.signal?.addEventListener('abort', () => controller.error(new Error('aborted')));
      },
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  }) as typeof fetch;
  return { impl, requests };
}

async function collect(scripts: Parameters<typeof scriptedFetch>[0], stopAt: (item: WatchItem) => boolean, options: { tickMs?: number; deadline?: number } = {}) {
  const { impl, requests } = scriptedFetch(scripts);
  const client = new ApiClient({ baseUrl: 'http://api.test', fetch: impl });
  const items: WatchItem[] = [];
  const drops: string[] = [];
  const outcome = await watchSet(
    client,
    'web',
    { deadline: options.deadline ?? Date.now() + 5_000, tickMs: options.tickMs ?? 1_000, onDrop: (resumed, reason) => drops.push(`${resumed}: ${reason}`) },
    (item) => {
      items.push(item);
      return stopAt(item);
    },
  );
  return { outcome, items, requests, drops };
}

describe('watchSet', () => {
  it('hands every item over in order, cut anywhere, and stops when the step says so', async () => {
    const text = sse('set', view(0)) + ': heartbeat\n\n' + sse('event', event(5, 'Ready', 'web-0'), 5) + sse('set', view(1)) + sse('deleted', { name: 'web' });
    const chunks = [text.slice(0, 7), text.slice(7, 50), text.slice(50)];
    const { outcome, items, requests } = await collect([{ chunks, hang: true }], (item) => item.kind === 'deleted');
    expect(outcome).toBe('done');
    expect(items.map((i) => (i.kind === 'set' ? `set ${i.view.status.readyReplicas}` : i.kind === 'event' ? `event ${i.event.seq}` : i.kind))).toEqual([
      'set 0',
      'event 5',
      'set 1',
      'deleted',
    ]);
    expect(requests).toEqual([{ url: 'http://api.test/v1/sets/web/watch', lastEventId: null }]);
  });

  it('ticks while nothing comes, and times out at the deadline', async () => {
    const { outcome, items } = await collect([{ chunks: [sse('set', view(0))], hang: true }], () => false, { tickMs: 20, deadline: Date.now() + 300 });
    expect(outcome).toBe('timeout');
    expect(items[0]!.kind).toBe('set');
    expect(items.filter((i) => i.kind === 'tick').length).toBeGreaterThanOrEqual(3);
  });

  it('resumes a dropped stream once, from the last event id', async () => {
    const { outcome, items, requests, drops } = await collect(
      [
        { chunks: [sse('set', view(0)), sse('event', event(7, 'Created', 'web-0'), 7)] },
        { chunks: [sse('set', view(1)), sse('event', event(8, 'Ready', 'web-0'), 8)], hang: true },
      ],
      (item) => item.kind === 'event' && item.event.seq === 8,
    );
    expect(outcome).toBe('done');
    expect(requests.map((r) => r.lastEventId)).toEqual([null, '7']);
    expect(drops).toEqual(['true: the API ended the stream']);
    expect(items.filter((i) => i.kind === 'set')).toHaveLength(2);
  });

  it('resumes after an error message (a slow client cut off)', async () => {
    const { requests, drops } = await collect(
      [
        { chunks: [sse('set', view(0)), sse('event', event(3, 'Created', 'web-0'), 3), sse('error', { reason: 'SlowClient', message: 'too slow' })] },
        { chunks: [sse('set', view(1))], hang: true },
      ],
      (item) => item.kind === 'set' && item.view.status.readyReplicas === 1,
    );
    expect(requests.map((r) => r.lastEventId)).toEqual([null, '3']);
    expect(drops).toEqual(['true: SlowClient: too slow']);
  });

  it('says unavailable when there is no stream (404, 501, unreachable) or a resumed one drops again at once', async () => {
    for (const status of [404, 501, 503]) expect((await collect([{ status }], () => false)).outcome).toBe('unavailable');
    expect((await collect([], () => false)).outcome).toBe('unavailable');
    const again = await collect([{ chunks: [sse('set', view(0))] }, { chunks: [] }], () => false);
    expect(again.outcome).toBe('unavailable');
    expect(again.drops).toEqual(['true: the API ended the stream', 'false: the API ended the stream']);
  });
});

describe('ProbeNotes', () => {
  it("adds the latest reason an instance is not Ready to the line waiting for it, until it is Ready", () => {
    const notes = new ProbeNotes();
    const waiting = 'waiting for web-1 to become Ready';
    expect(notes.decorate(['web-1: Running, not Ready', waiting, '1/3 instances Ready'], waiting)).toEqual([
      'web-1: Running, not Ready',
      waiting,
      '1/3 instances Ready',
    ]);
    notes.record(event(4, 'NotReady', 'web-1', 'web-1 is not Ready: probe: connection refused'));
    // Nothing else changed: the waiting line again, with the reason.
    expect(notes.decorate([], waiting)).toEqual([`${waiting} (probe: connection refused)`]);
    expect(notes.decorate([], waiting)).toEqual([]);
    notes.record(event(5, 'NotReady', 'web-0', 'other instance'));
    expect(notes.decorate([], waiting)).toEqual([]);
    notes.record(event(6, 'Ready', 'web-1'));
    expect(notes.decorate([], 'waiting for web-2 to become Ready')).toEqual(['waiting for web-2 to become Ready']);
    expect(notes.note('web-1')).toBeUndefined();
    notes.record(event(7, 'Exited', 'web-2', 'web-2 exited with code 3'));
    expect(notes.note('web-2')).toBe('exited with code 3');
  });
});

describe('SetChangePrinter', () => {
  it('prints the header once, then a line for each change of the line, not of the clock', () => {
    const printed: string[] = [];
    const printer = new SetChangePrinter('table', (text) => printed.push(text));
    printer.show(view(0), Date.parse('2026-01-01T00:01:00Z'));
    printer.show(view(0), Date.parse('2026-01-01T00:05:00Z'));
    printer.show(view(1), Date.parse('2026-01-01T00:06:00Z'));
    expect(printed.map((l) => l.trimEnd().split(/\s+/).slice(0, 2).join(' '))).toEqual(['NAME READY', 'web 0/3', 'web 1/3']);
  });

  it('prints the whole object with -o json, when it changed', () => {
    const printed: string[] = [];
    const printer = new SetChangePrinter('json', (text) => printed.push(text));
    printer.show(view(0));
    printer.show(view(0));
    printer.show(view(2));
    expect(printed.map((text) => JSON.parse(text).status.readyReplicas)).toEqual([0, 2]);
  });
});
