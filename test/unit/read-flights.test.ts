// Coalesced reads (api/read-flights.ts): concurrent reads share calls, but a read never gets the answer
// of a call that began before it arrived, so a read after a change sees the change.
import { describe, expect, it } from 'vitest';
import { ReadFlights } from '../../api/read-flights.js';

/** A store whose value changes, and a fetch of it that resolves only when told, counting calls. */
function source() {
  let value = 0;
  const pending: Array<() => void> = [];
  let calls = 0;
  return {
    set(v: number) {
      value = v;
    },
    fetch: () => {
      calls++;
      // The value is read when the call reaches the store (at its start), as a describe does.
      const seen = value;
      return new Promise<number>((resolve) => pending.push(() => resolve(seen)));
    },
    /** Completes the oldest call in flight. */
    finishOne() {
      pending.shift()!();
    },
    calls: () => calls,
  };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('ReadFlights', () => {
  it('answers a read arriving during a call from the next call, shared by every read arriving meanwhile', async () => {
    const store = source();
    const flights = new ReadFlights<number>();
    const first = flights.read('a', store.fetch);
    store.set(1); // a change completes while the first call is under way ...
    const later = [flights.read('a', store.fetch), flights.read('a', store.fetch), flights.read('a', store.fetch)];
    expect(store.calls()).toBe(1);
    store.finishOne();
    expect(await first).toBe(0);
    await tick();
    expect(store.calls()).toBe(2); // ... so the reads that came after it wait for a call of their own, one for all
    store.finishOne();
    expect(await Promise.all(later)).toEqual([1, 1, 1]);
  });

  it('starts at once when nothing is under way, and keeps keys apart', async () => {
    const store = source();
    const flights = new ReadFlights<number>();
    const a = flights.read('a', store.fetch);
    const b = flights.read('b', store.fetch);
    expect(store.calls()).toBe(2);
    store.finishOne();
    store.finishOne();
    expect(await Promise.all([a, b])).toEqual([0, 0]);
    store.set(2);
    const again = flights.read('a', store.fetch);
    expect(store.calls()).toBe(3);
    store.finishOne();
    expect(await again).toBe(2);
  });

  it('passes a failure to the reads that shared the call, and the next reads call again', async () => {
    const flights = new ReadFlights<number>();
    let fail = true;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const fetch = async () => {
      await gate;
      if (fail) throw new Error('no answer');
      return 7;
    };
    const failing = flights.read('a', fetch);
    const queued = flights.read('a', async () => 7);
    release();
    await expect(failing).rejects.toThrow('no answer');
    expect(await queued).toBe(7);
    fail = false;
    expect(await flights.read('a', fetch)).toBe(7);
  });
});
