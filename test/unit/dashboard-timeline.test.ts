// The dashboard's timeline (api/ui/timeline.js, a browser module with no DOM use in this part): the bars of
// each incarnation from a set's events, so the ordered start and every recreation read at a glance.
import { describe, expect, it } from 'vitest';
import type { SetEvent } from '../../core/events.js';
import type { InstanceStatus } from '../../core/status.js';

interface Incarnation {
  incarnation: number;
  segments: Array<{ from: number; to: number; state: string }>;
  marks: Array<{ at: number; reason: string }>;
}
// A plain ES module without types: imported by a path the type checker does not follow.
const MODULE = '../../api/ui/timeline.js';
const { incarnations } = (await import(MODULE)) as { incarnations(events: SetEvent[], instances: InstanceStatus[], now: number): Map<number, Incarnation[]> };

const T0 = Date.parse('2026-12-08T03:00:00.000Z');
let seq = 0;
function event(at: number, reason: SetEvent['reason'], ordinal: number, incarnation: number, extra: Partial<SetEvent> = {}): SetEvent {
  const time = new Date(T0 + at).toISOString();
  return { seq: ++seq, type: reason === 'Exited' ? 'Warning' : 'Normal', reason, message: reason, instance: `web-${ordinal}`, ordinal, incarnation, count: 1, firstTimestamp: time, lastTimestamp: time, ...extra };
}
const bars = (inc: Incarnation) => inc.segments.map((s) => [s.state, s.from - T0, s.to - T0]);

describe('the timeline', () => {
  it('draws the ordered start as a staircase: each ordinal starts once the one before is Ready', () => {
    const events = [0, 1, 2].flatMap((o) => [event(o * 1000, 'Created', o, 1), event(o * 1000 + 200, 'Started', o, 1), event(o * 1000 + 900, 'Ready', o, 1)]);
    const rows = incarnations(events, [], T0 + 5000);
    expect([...rows.keys()]).toEqual([0, 1, 2]);
    expect(bars(rows.get(1)![0]!)).toEqual([['starting', 1000, 1900], ['ready', 1900, 5000]]);
    expect(rows.get(2)![0]!.segments[0]!.from).toBeGreaterThanOrEqual(rows.get(1)![0]!.segments[1]!.from);
  });

  it('ends an incarnation at its exit, marks it, and starts the next one on the same row', () => {
    const events = [
      event(0, 'Created', 0, 1),
      event(500, 'Ready', 0, 1),
      event(3000, 'Exited', 0, 1, { message: 'web-0 the process was killed by SIGKILL' }),
      event(3100, 'Stopping', 0, 1),
      event(3200, 'Stopped', 0, 1),
      event(3300, 'Created', 0, 2),
      event(3800, 'Ready', 0, 2),
    ];
    const [first, second] = incarnations(events, [], T0 + 6000).get(0)!;
    expect(bars(first!)).toEqual([['starting', 0, 500], ['ready', 500, 3000]]);
    expect(first!.marks.map((m) => [m.reason, m.at - T0])).toEqual([['Exited', 3000], ['Stopped', 3200]]);
    expect(second!.incarnation).toBe(2);
    expect(bars(second!)).toEqual([['starting', 3300, 3800], ['ready', 3800, 6000]]);
  });

  it('shows a stop on request (stopping, then stopped) and a spell not Ready', () => {
    const events = [event(0, 'Created', 1, 1), event(100, 'Ready', 1, 1), event(1000, 'NotReady', 1, 1), event(1500, 'Ready', 1, 1), event(2000, 'Stopping', 1, 1), event(2400, 'Stopped', 1, 1)];
    const [only] = incarnations(events, [], T0 + 3000).get(1)!;
    expect(bars(only!)).toEqual([['starting', 0, 100], ['ready', 100, 1000], ['notready', 1000, 1500], ['ready', 1500, 2000], ['stopping', 2000, 2400]]);
  });

  it('draws a current incarnation whose events are not kept from its status', () => {
    const instance = { ordinal: 0, incarnation: 4, address: '127.0.0.9', startedAt: new Date(T0 + 100).toISOString(), readySince: new Date(T0 + 600).toISOString() } as InstanceStatus;
    const [only] = incarnations([], [instance], T0 + 1000).get(0)!;
    expect(only!.incarnation).toBe(4);
    expect(bars(only!)).toEqual([['starting', 100, 600], ['ready', 600, 1000]]);
  });

  it('ignores the set\'s own events (no instance) and instances that never started', () => {
    const scaled = { ...event(0, 'Scaled', 0, 1), instance: undefined, ordinal: undefined, incarnation: undefined };
    const pending = { ordinal: 1, incarnation: 1, startedAt: null, readySince: null } as unknown as InstanceStatus;
    expect(incarnations([scaled], [pending], T0 + 1000).size).toBe(0);
  });
});
