// Waiting for recorded submits: one Query per zone for every waiting set, an answer per submit once a
// flush covered it, and "submit again" when the publisher is another chain of runs.
import { describe, expect, it } from 'vitest';
import type { OutcomesAnswer } from '../../activities/dns/route53/contract.js';
import { ZoneOutcomes } from '../../activities/dns/route53/zone-outcomes.js';

const ok = { conflicts: [], propagating: [], failed: [] };

describe('ZoneOutcomes', () => {
  it('asks once per round for every waiting set of a zone, and answers each when its flush is done', async () => {
    const asked: Array<Array<{ set: string; serial: number }>> = [];
    let firstAsked: () => void = () => undefined;
    const askedOnce = new Promise<void>((resolve) => (firstAsked = resolve));
    let flushed = 0;
    const outcomes = new ZoneOutcomes(
      async (_zone, sets): Promise<OutcomesAnswer> => {
        asked.push(sets);
        firstAsked();
        return { chain: 'c1', outcomes: sets.map((s) => (s.serial <= flushed ? { ...ok, propagating: [s.set] } : null)) };
      },
      { initialMs: 1, maxMs: 5 },
    );
    const a = outcomes.wait('Z1', 'a', { chain: 'c1', serial: 1 });
    const b = outcomes.wait('Z1', 'b', { chain: 'c1', serial: 2 });
    await askedOnce;
    expect(asked[0]).toEqual([{ set: 'a', serial: 1 }, { set: 'b', serial: 2 }]);
    flushed = 1;
    expect(await a).toEqual({ ...ok, propagating: ['a'] });
    flushed = 2;
    expect(await b).toEqual({ ...ok, propagating: ['b'] });
  });

  it('says "submit again" (undefined) when another chain of runs answers', async () => {
    const outcomes = new ZoneOutcomes(async (_zone, sets) => ({ chain: 'c2', outcomes: sets.map(() => null) }), { initialMs: 1 });
    expect(await outcomes.wait('Z1', 'a', { chain: 'c1', serial: 7 })).toBeUndefined();
  });

  it('fails the waiters after repeated failed Queries', async () => {
    const outcomes = new ZoneOutcomes(async () => Promise.reject(new Error('no worker')), { initialMs: 1, maxMs: 2, maxFailures: 3 });
    await expect(outcomes.wait('Z1', 'a', { chain: 'c1', serial: 1 })).rejects.toThrow('no worker');
  });
});
