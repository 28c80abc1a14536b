import { describe, expect, it } from 'vitest';
import type { InstanceState } from '../../core/instance.js';
import { DEFAULT_BACKOFF, backoffDelayMs, backoffPolicy, initialState, recordFailure } from '../../core/set-state.js';
import { NOW, handle, setWith } from './set-fixtures.js';

describe('backoffDelayMs', () => {
  const cases: Array<[number, number]> = [
    [-1, 0],
    [0, 0],
    [1, 0],
    [2, 1_000],
    [3, 2_000],
    [4, 4_000],
    [5, 8_000],
    [6, 16_000],
    [7, 32_000],
    [8, 60_000],
    [9, 60_000],
    [20, 60_000],
    [100, 60_000],
    [10_000, 60_000],
  ];
  for (const [failures, delay] of cases) {
    it(`${failures} consecutive failures -> ${delay} ms`, () => {
      expect(backoffDelayMs(failures)).toBe(delay);
    });
  }

  it('constants: 1 s base, 60 s cap, 60 s stable run', () => {
    expect(DEFAULT_BACKOFF.initialMs).toBe(1_000);
    expect(DEFAULT_BACKOFF.maxMs).toBe(60_000);
    expect(DEFAULT_BACKOFF.resetMs).toBe(60_000);
  });

  it('never decreases and never exceeds the cap', () => {
    let previous = 0;
    for (let n = 0; n < 200; n++) {
      const d = backoffDelayMs(n);
      expect(d).toBeGreaterThanOrEqual(previous);
      expect(d).toBeLessThanOrEqual(DEFAULT_BACKOFF.maxMs);
      previous = d;
    }
  });
});

describe('recordFailure', () => {
  const running: InstanceState = {
    ordinal: 1,
    incarnation: 4,
    revision: 'web-abc',
    phase: 'Running',
    ready: true,
    readySince: NOW - 1_000,
    handle: handle(1, 4),
    restarts: 2,
    consecutiveFailures: 2,
    backoffUntil: undefined,
  };

  const cases: Array<{ name: string; instance: Partial<InstanceState>; consecutive: number; backoffUntil: number; restarts: number }> = [
    { name: 'first failure ever: immediate restart', instance: { restarts: 0, consecutiveFailures: 0, readySince: undefined }, consecutive: 1, backoffUntil: NOW, restarts: 1 },
    { name: 'second failure in a row: 1 s', instance: { restarts: 1, consecutiveFailures: 1, readySince: undefined }, consecutive: 2, backoffUntil: NOW + 1_000, restarts: 2 },
    { name: 'third failure in a row: 2 s', instance: {}, consecutive: 3, backoffUntil: NOW + 2_000, restarts: 3 },
    { name: 'many failures: capped at 60 s', instance: { consecutiveFailures: 30, restarts: 30 }, consecutive: 31, backoffUntil: NOW + 60_000, restarts: 31 },
    { name: 'never Ready: the count goes on', instance: { ready: false, readySince: undefined }, consecutive: 3, backoffUntil: NOW + 2_000, restarts: 3 },
    { name: 'Ready for 59.999 s: not a stable run', instance: { readySince: NOW - 59_999 }, consecutive: 3, backoffUntil: NOW + 2_000, restarts: 3 },
    { name: 'Ready for exactly 60 s: a stable run resets the count', instance: { readySince: NOW - 60_000 }, consecutive: 1, backoffUntil: NOW, restarts: 3 },
    { name: 'Ready for an hour after a crash loop: reset', instance: { readySince: NOW - 3_600_000, consecutiveFailures: 9 }, consecutive: 1, backoffUntil: NOW, restarts: 3 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const next = recordFailure({ ...running, ...c.instance }, 'exited with code 1', NOW);
      expect(next).toMatchObject({
        phase: 'Failed',
        ready: false,
        consecutiveFailures: c.consecutive,
        backoffUntil: c.backoffUntil,
        restarts: c.restarts,
        lastError: 'exited with code 1',
      });
      expect(next.readySince).toBeUndefined();
    });
  }

  it('keeps identity, incarnation, revision and handle', () => {
    const next = recordFailure(running, 'liveness probe failed', NOW);
    expect(next).toMatchObject({ ordinal: 1, incarnation: 4, revision: 'web-abc', handle: running.handle });
  });

  it('replaces the last error', () => {
    expect(recordFailure({ ...running, lastError: 'old' }, 'new', NOW).lastError).toBe('new');
  });

  it('does not mutate the instance', () => {
    const copy = structuredClone(running);
    recordFailure(running, 'x', NOW);
    expect(running).toEqual(copy);
  });
});

describe('initialState', () => {
  it('is an empty, unapplied set', () => {
    expect(initialState('web')).toEqual({
      name: 'web',
      generation: 0,
      revisions: [],
      instances: [],
      publishedNames: [],
      deleting: false,
      observedGeneration: 0,
    });
  });
});

describe('crashLoopBackOff policy', () => {
  const cases: Array<[string, { initialMs: number; maxMs: number; resetMs: number }, number[]]> = [
    ['default', { initialMs: 1_000, maxMs: 60_000, resetMs: 60_000 }, [0, 0, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000]],
    ['maxSeconds 0: always at once', { initialMs: 1_000, maxMs: 0, resetMs: 60_000 }, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]],
    ['initial 5 s, max 20 s', { initialMs: 5_000, maxMs: 20_000, resetMs: 60_000 }, [0, 0, 5_000, 10_000, 20_000, 20_000, 20_000, 20_000, 20_000, 20_000]],
  ];
  for (const [name, policy, delays] of cases) {
    it(name, () => {
      expect(Array.from({ length: 10 }, (_, n) => backoffDelayMs(n, policy))).toEqual(delays);
    });
  }

  it('the spec sets the policy recordFailure uses', () => {
    const state = setWith(1, { 0: 'ready' });
    state.manifest!.spec.crashLoopBackOff = { initialSeconds: 2, maxSeconds: 30, resetSeconds: 10 };
    const policy = backoffPolicy(state);
    expect(policy).toEqual({ initialMs: 2_000, maxMs: 30_000, resetMs: 10_000 });
    // Ready 5 s: not stable for a 10 s reset, so the count goes on.
    const failed = recordFailure({ ...state.instances[0], readySince: NOW - 5_000, consecutiveFailures: 2 }, 'exited', NOW, policy);
    expect(failed).toMatchObject({ consecutiveFailures: 3, backoffUntil: NOW + 4_000 });
    // Ready 10 s: starts over.
    const fresh = recordFailure({ ...state.instances[0], readySince: NOW - 10_000, consecutiveFailures: 5 }, 'exited', NOW, policy);
    expect(fresh).toMatchObject({ consecutiveFailures: 1, backoffUntil: NOW });
  });
});
