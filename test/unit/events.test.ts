// The event log: sequence numbers, aggregation of repeats, the bound, and reading after a resume token.
import { describe, expect, it } from 'vitest';
import { AGGREGATE_WINDOW_MS, MAX_EVENTS, emptyEventLog, eventsSince, eventsView, recordEvents, type NewEvent } from '../../core/events.js';

const T0 = Date.parse('2026-12-08T10:00:00.000Z');
const exited: NewEvent = { type: 'Warning', reason: 'Exited', message: 'web-1 exited with code 1', instance: 'web-1', ordinal: 1, incarnation: 2 };
const ready: NewEvent = { type: 'Normal', reason: 'Ready', message: 'web-0 is Ready', instance: 'web-0', ordinal: 0, incarnation: 1 };

describe('recordEvents', () => {
  it.each([
    { name: 'distinct events each get a seq', events: [[ready, T0], [exited, T0 + 1]] as const, items: [{ seq: 1, reason: 'Ready', count: 1 }, { seq: 2, reason: 'Exited', count: 1 }], seq: 2 },
    { name: 'a repeat within the window is counted and moves to a new seq', events: [[exited, T0], [ready, T0 + 1], [exited, T0 + 2]] as const, items: [{ seq: 2, reason: 'Ready', count: 1 }, { seq: 3, reason: 'Exited', count: 2 }], seq: 3 },
    { name: 'a repeat after the window is a new event', events: [[exited, T0], [exited, T0 + AGGREGATE_WINDOW_MS + 1]] as const, items: [{ seq: 1, reason: 'Exited', count: 1 }, { seq: 2, reason: 'Exited', count: 1 }], seq: 2 },
    { name: 'another incarnation is another event', events: [[exited, T0], [{ ...exited, incarnation: 3 }, T0 + 1]] as const, items: [{ seq: 1, count: 1, incarnation: 2 }, { seq: 2, count: 1, incarnation: 3 }], seq: 2 },
    { name: 'another message is another event', events: [[exited, T0], [{ ...exited, message: 'web-1 was killed by SIGKILL' }, T0 + 1]] as const, items: [{ seq: 1, count: 1 }, { seq: 2, count: 1 }], seq: 2 },
  ])('$name', ({ events, items, seq }) => {
    const log = emptyEventLog();
    for (const [event, at] of events) recordEvents(log, [event], at);
    expect(log.items).toMatchObject(items);
    expect(log.seq).toBe(seq);
  });

  it('keeps the first and the last time of an aggregated event', () => {
    const log = emptyEventLog();
    recordEvents(log, [exited], T0);
    recordEvents(log, [exited], T0 + 5_000);
    expect(log.items).toEqual([
      { seq: 2, ...exited, count: 2, firstTimestamp: '2026-12-08T10:00:00.000Z', lastTimestamp: '2026-12-08T10:00:05.000Z' },
    ]);
  });

  it(`keeps at most ${MAX_EVENTS} events, dropping the oldest`, () => {
    const log = emptyEventLog();
    for (let n = 0; n < MAX_EVENTS + 25; n++) recordEvents(log, [{ ...ready, message: `event ${n}` }], T0 + n);
    expect(log.items).toHaveLength(MAX_EVENTS);
    expect(log.items[0]!.message).toBe('event 25');
    expect(log.seq).toBe(MAX_EVENTS + 25);
  });

  it('leaves out fields that are undefined (the state is JSON)', () => {
    const log = emptyEventLog();
    recordEvents(log, [{ type: 'Normal', reason: 'Scaled', message: 'scaled from 1 to 2 replicas', instance: undefined }], T0);
    expect(Object.keys(log.items[0]!)).not.toContain('instance');
  });
});

describe('eventsSince / eventsView', () => {
  const log = emptyEventLog();
  recordEvents(log, [ready, exited, { ...ready, message: 'web-2 is Ready', instance: 'web-2' }], T0);
  it.each([
    { since: undefined, seqs: [1, 2, 3] },
    { since: 0, seqs: [1, 2, 3] },
    { since: 2, seqs: [3] },
    { since: 3, seqs: [] },
    { since: 99, seqs: [] },
  ])('after $since: $seqs', ({ since, seqs }) => {
    expect(eventsSince(log, since).map((e) => e.seq)).toEqual(seqs);
    expect(eventsView(log, since)).toMatchObject({ latestSeq: 3, oldestSeq: 1 });
  });

  it('an empty log has no oldest seq', () => {
    expect(eventsView(emptyEventLog())).toEqual({ latestSeq: 0, items: [] });
  });
});
