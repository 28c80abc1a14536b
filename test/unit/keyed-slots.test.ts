import { describe, expect, it } from 'vitest';
import { KeyedSlots } from '../../activities/keyed-slots.js';

/** A promise to settle by hand, and whether it was started. */
function gate<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('KeyedSlots', () => {
  it.each([0, -1, 1.5, Number.NaN])('refuses the limit %s', (limit) => {
    expect(() => new KeyedSlots(limit)).toThrow(/positive integer/);
  });

  it.each([1, 2, 3, 8])('runs at most %i operations of one key at once, the rest in arrival order', async (limit) => {
    const slots = new KeyedSlots(limit);
    const gates = Array.from({ length: limit + 4 }, () => gate<number>());
    const started: number[] = [];
    const results = gates.map((g, i) =>
      slots.run('zone', () => {
        started.push(i);
        return g.promise;
      }),
    );
    await flush();
    expect(started).toEqual([...Array(limit).keys()]);
    expect(slots.load('zone')).toEqual({ active: limit, waiting: 4 });
    for (let i = 0; i < gates.length; i++) {
      gates[i].resolve(i);
      await flush();
      expect(started.length).toBe(Math.min(gates.length, limit + i + 1));
    }
    expect(await Promise.all(results)).toEqual(gates.map((_, i) => i));
    expect(started).toEqual([...gates.keys()]);
    expect(slots.load('zone')).toEqual({ active: 0, waiting: 0 });
  });

  it('keeps keys apart', async () => {
    const slots = new KeyedSlots(1);
    const a = gate();
    const started: string[] = [];
    const first = slots.run('a', () => (started.push('a1'), a.promise));
    const second = slots.run('a', async () => void started.push('a2'));
    const other = slots.run('b', async () => void started.push('b1'));
    await other;
    expect(started).toEqual(['a1', 'b1']);
    a.resolve();
    await Promise.all([first, second]);
    expect(started).toEqual(['a1', 'b1', 'a2']);
  });

  it('releases the slot of an operation that fails, and passes its error on', async () => {
    const slots = new KeyedSlots(1);
    const failing = gate();
    const first = slots.run('zone', () => failing.promise);
    const second = slots.run('zone', async () => 'ran');
    failing.reject(new Error('throttled'));
    await expect(first).rejects.toThrow('throttled');
    await expect(second).resolves.toBe('ran');
    expect(slots.load('zone')).toEqual({ active: 0, waiting: 0 });
  });

  it('releases the slot of an operation that throws synchronously', async () => {
    const slots = new KeyedSlots(1);
    await expect(
      slots.run('zone', () => {
        throw new Error('bad input');
      }),
    ).rejects.toThrow('bad input');
    await expect(slots.run('zone', async () => 1)).resolves.toBe(1);
  });
});
