// GET /v1/sets/{name}/events and GET /v1/events against the in-memory sets: the events as the set's log
// keeps them (core/events.ts), ?since by seq (one set) or by time (every set), 404 and precise 400s, and
// both in the OpenAPI document.
import { beforeEach, describe, expect, it } from 'vitest';
import { EVENTS_FAN_OUT } from '../../api/all-events.js';
import { createApp } from '../../api/app.js';
import { ErrorSchema, EventListSchema, MAX_EVENT_SEQ, SetEventListSchema } from '../../api/schemas.js';
import { SetError } from '../../api/sets.js';
import type { NewEvent } from '../../core/events.js';
import { FAKE_NOW, FakeSets } from './fake-sets.js';

const manifest = (name: string) => ({
  apiVersion: 'ordinal.dev/v1',
  kind: 'StatefulSet',
  metadata: { name },
  spec: { replicas: 2, template: { process: { command: ['node', 'server.js'] } } },
});

const exited: NewEvent = { type: 'Warning', reason: 'Exited', message: 'the process was killed by signal SIGKILL', instance: 'web-1', ordinal: 1, incarnation: 1 };
const started: NewEvent = { type: 'Normal', reason: 'Started', message: 'started at 127.0.0.2 (incarnation 2)', instance: 'web-1', ordinal: 1, incarnation: 2 };
const scaled: NewEvent = { type: 'Normal', reason: 'Scaled', message: 'scaled from 1 to 2' };

let fake: FakeSets;
let app: ReturnType<typeof createApp>;

beforeEach(async () => {
  fake = new FakeSets();
  await fake.apply('web', manifest('web'));
  fake.calls.length = 0;
  app = createApp(fake);
});

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = await res.json();
  expect(ErrorSchema.strict().safeParse(body).success, JSON.stringify(body)).toBe(true);
  expect(body.error.code).toBe(code);
  return body.error as { message: string; details: Array<{ path: string; message: string }> };
}

async function setEvents(path: string) {
  const res = await app.request(path);
  expect(res.status).toBe(200);
  const body = await res.json();
  const parsed = SetEventListSchema.strict().safeParse(body);
  expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  return parsed.data!;
}

describe('GET /v1/sets/{name}/events', () => {
  it('answers no events at latestSeq 0 for a set that has recorded none', async () => {
    expect(await setEvents('/v1/sets/web/events')).toEqual({ latestSeq: 0, items: [] });
    expect(fake.calls).toEqual([{ method: 'events', args: ['web', undefined] }]);
  });

  it('answers every event kept, oldest first, with its seq, count and times; a repeat is counted, not added', async () => {
    fake.recordEvents('web', [scaled, exited], FAKE_NOW);
    fake.recordEvents('web', [exited], FAKE_NOW + 30_000);
    const at = (ms: number) => new Date(ms).toISOString();
    expect(await setEvents('/v1/sets/web/events')).toEqual({
      latestSeq: 3,
      oldestSeq: 1,
      items: [
        { seq: 1, ...scaled, count: 1, firstTimestamp: at(FAKE_NOW), lastTimestamp: at(FAKE_NOW) },
        { seq: 3, ...exited, count: 2, firstTimestamp: at(FAKE_NOW), lastTimestamp: at(FAKE_NOW + 30_000) },
      ],
    });
  });

  it('takes the largest since documented', async () => {
    fake.recordEvents('web', [scaled]);
    expect(await setEvents(`/v1/sets/web/events?since=${MAX_EVENT_SEQ}`)).toEqual({ latestSeq: 1, oldestSeq: 1, items: [] });
  });

  it('with ?since=N answers only the events after seq N (a repeat counted later is after it too)', async () => {
    fake.recordEvents('web', [scaled, exited, started]);
    expect((await setEvents('/v1/sets/web/events?since=2')).items.map((e) => e.reason)).toEqual(['Started']);
    fake.recordEvents('web', [exited]);
    const after = await setEvents('/v1/sets/web/events?since=3');
    expect(after.items.map((e) => [e.seq, e.reason, e.count])).toEqual([[4, 'Exited', 2]]);
    expect(after.latestSeq).toBe(4);
    expect(await setEvents('/v1/sets/web/events?since=4')).toEqual({ latestSeq: 4, oldestSeq: 1, items: [] });
    expect(fake.calls.at(-1)).toEqual({ method: 'events', args: ['web', 4] });
  });

  it('is 404 for a set that does not exist', async () => {
    const error = await expectError(await app.request('/v1/sets/nope/events'), 404, 'NotFound');
    expect(error.message).toBe("set 'nope' does not exist");
  });

  it.each([
    ['-1'],
    ['1.5'],
    ['abc'],
    ['01'],
    [''],
    ['1e3'],
    ['1234567890123456'],
  ])('is 400 for since=%j, naming since and what it must be', async (since) => {
    const error = await expectError(await app.request(`/v1/sets/web/events?since=${encodeURIComponent(since)}`), 400, 'BadRequest');
    expect(error.message).toBe("invalid query parameter 'since'");
    expect(error.details).toEqual([
      { path: 'since', message: 'must be an event seq: a whole number from 0 to 999999999999999 in decimal (the latestSeq of an earlier answer), e.g. 42' },
    ]);
    expect(fake.calls).toEqual([]);
  });

  it('is 400 for an invalid set name', async () => {
    await expectError(await app.request('/v1/sets/Web_1/events'), 400, 'BadRequest');
  });

  it('answers an empty list at latestSeq 0 for a set on a worker older than events', async () => {
    fake.withoutEvents.add('web');
    expect(await setEvents('/v1/sets/web/events')).toEqual({ latestSeq: 0, items: [] });
  });

  it('maps an unavailable worker to 503', async () => {
    fake.failWith = new SetError('Unavailable', 'Temporal or the Ordinal worker did not answer in time; is the worker running?');
    await expectError(await app.request('/v1/sets/web/events'), 503, 'Unavailable');
  });
});

describe('GET /v1/events', () => {
  async function allEvents(query = '') {
    const res = await app.request(`/v1/events${query}`);
    expect(res.status).toBe(200);
    const body = await res.json();
    const parsed = EventListSchema.strict().safeParse(body);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    return parsed.data!.items;
  }

  it('answers no events when there are no sets', async () => {
    fake = new FakeSets();
    app = createApp(fake);
    expect(await allEvents()).toEqual([]);
  });

  it("merges every set's events, each with its set, newest last by lastTimestamp", async () => {
    await fake.apply('db', manifest('db'));
    fake.recordEvents('web', [scaled], FAKE_NOW + 1_000);
    fake.recordEvents('db', [{ ...exited, instance: 'db-1' }], FAKE_NOW + 2_000);
    fake.recordEvents('web', [exited], FAKE_NOW + 3_000);
    // Counted again later: it moves to its new lastTimestamp.
    fake.recordEvents('web', [scaled], FAKE_NOW + 4_000);
    const items = await allEvents();
    expect(items.map((e) => [e.set, e.reason, e.instance ?? null, e.count])).toEqual([
      ['db', 'Exited', 'db-1', 1],
      ['web', 'Exited', 'web-1', 1],
      ['web', 'Scaled', null, 2],
    ]);
    expect(items[0]).toMatchObject({ seq: 1, lastTimestamp: new Date(FAKE_NOW + 2_000).toISOString() });
  });

  it('breaks ties of lastTimestamp by set, then seq', async () => {
    await fake.apply('db', manifest('db'));
    fake.recordEvents('web', [scaled, exited]);
    fake.recordEvents('db', [scaled]);
    expect((await allEvents()).map((e) => [e.set, e.seq])).toEqual([
      ['db', 1],
      ['web', 1],
      ['web', 2],
    ]);
  });

  it('with ?since=<time> answers only the events last seen after it', async () => {
    fake.recordEvents('web', [scaled], FAKE_NOW);
    fake.recordEvents('web', [exited], FAKE_NOW + 60_000);
    const since = encodeURIComponent(new Date(FAKE_NOW).toISOString());
    expect((await allEvents(`?since=${since}`)).map((e) => e.reason)).toEqual(['Exited']);
    expect((await allEvents('?since=2024-12-31T23:59:59%2B00:00')).map((e) => e.reason)).toEqual(['Scaled', 'Exited']);
  });

  it('with ?limit=N answers the newest N, and says older ones were left out', async () => {
    for (let n = 0; n < 5; n++) fake.recordEvents('web', [{ ...scaled, message: `event ${n}` }], FAKE_NOW + n * 1_000);
    const res = await app.request('/v1/events?limit=2');
    expect(res.status).toBe(200);
    const body = EventListSchema.strict().parse(await res.json());
    expect(body.items.map((e) => e.message)).toEqual(['event 3', 'event 4']);
    expect(body.truncated).toBe(true);
    const all = EventListSchema.strict().parse(await (await app.request('/v1/events')).json());
    expect(all.items).toHaveLength(5);
    expect(all.truncated).toBe(false);
  });

  it.each([['0'], ['-1'], ['1.5'], ['10001'], ['x'], ['']])('is 400 for limit=%j, naming limit and its range', async (limit) => {
    const error = await expectError(await app.request(`/v1/events?limit=${encodeURIComponent(limit)}`), 400, 'BadRequest');
    expect(error.details).toEqual([{ path: 'limit', message: 'must be a whole number of events from 1 to 10000' }]);
  });

  it.each([['yesterday'], ['2025-01-01'], ['2025-01-01T00:00:00'], ['2025-13-01T00:00:00Z'], ['12345']])(
    'is 400 for since=%j, naming since and what it must be',
    async (since) => {
      const error = await expectError(await app.request(`/v1/events?since=${encodeURIComponent(since)}`), 400, 'BadRequest');
      expect(error.details).toEqual([{ path: 'since', message: 'must be an RFC 3339 time with a zone, e.g. 2025-01-01T00:00:00Z' }]);
    },
  );

  it('leaves out a set deleted between the listing and its read, and a set on a worker older than events', async () => {
    await fake.apply('db', manifest('db'));
    await fake.apply('old', manifest('old'));
    fake.withoutEvents.add('old');
    fake.recordEvents('web', [scaled]);
    fake.recordEvents('db', [scaled]);
    const events = fake.events.bind(fake);
    fake.events = async (name, since) => {
      if (name === 'db') await fake.delete('db');
      return events(name, since);
    };
    expect((await allEvents()).map((e) => e.set)).toEqual(['web']);
  });

  it(`asks at most ${EVENTS_FAN_OUT} sets at a time, and every set once`, async () => {
    const names = Array.from({ length: 3 * EVENTS_FAN_OUT + 1 }, (_, i) => `s${String(i).padStart(2, '0')}`);
    for (const name of names) {
      await fake.apply(name, manifest(name));
      fake.recordEvents(name, [scaled]);
    }
    let inFlight = 0;
    let most = 0;
    const asked: string[] = [];
    const events = fake.events.bind(fake);
    fake.events = async (name, since) => {
      asked.push(name);
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      inFlight--;
      return events(name, since);
    };
    expect(await allEvents()).toHaveLength(names.length);
    expect(asked.sort()).toEqual([...names, 'web'].sort());
    expect(most).toBe(EVENTS_FAN_OUT);
  });

  it('fails as a whole (503) when a set cannot be read', async () => {
    await fake.apply('db', manifest('db'));
    fake.events = async (name) => {
      if (name === 'db') throw new SetError('Unavailable', 'Temporal or the Ordinal worker did not answer in time; is the worker running?');
      return { latestSeq: 0, items: [] };
    };
    await expectError(await app.request('/v1/events'), 503, 'Unavailable');
  });
});

describe('the OpenAPI document', () => {
  it('has both routes with since (and limit for every set), their schemas and their errors', async () => {
    const doc = (await (await app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string; schema?: unknown }>; responses: Record<string, any> }>>;
      components: { schemas: Record<string, any> };
    };
    const one = doc.paths['/v1/sets/{name}/events'].get;
    expect(one.parameters!.map((p) => `${p.in}:${p.name}`).sort()).toEqual(['path:name', 'query:since']);
    expect(Object.keys(one.responses).sort()).toEqual(['200', '400', '401', '403', '404', '500', '503']);
    expect(one.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/SetEventList' });
    const all = doc.paths['/v1/events'].get;
    expect(one.parameters!.find((p) => p.name === 'since')).toMatchObject({ schema: { type: 'integer', minimum: 0, maximum: MAX_EVENT_SEQ } });
    expect(all.parameters!.map((p) => `${p.in}:${p.name}`)).toEqual(['query:since', 'query:limit']);
    expect(Object.keys(all.responses).sort()).toEqual(['200', '400', '401', '403', '500', '503']);
    expect(all.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/EventList' });
    for (const name of ['Event', 'EventItem', 'SetEventList', 'EventList']) expect(doc.components.schemas[name], name).toBeDefined();
    expect(doc.components.schemas.Event.properties.reason.enum).toContain('BackOff');
  });
});
