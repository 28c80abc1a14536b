import { describe, expect, it } from 'vitest';
import type { Probe } from '../../core/manifest.js';
import { initialProbeState, recordProbeResult, type ProbeState } from '../../core/probe-state.js';

const START = 1_700_000_000_000;

function probe(patch: Partial<Probe> = {}): Probe {
  return {
    tcpSocket: { port: 8080 },
    initialDelaySeconds: 0,
    periodSeconds: 10,
    timeoutSeconds: 1,
    successThreshold: 1,
    failureThreshold: 3,
    ...patch,
  };
}

/** Feeds results one period apart, starting at the first due attempt; returns `passing` after each. */
function run(p: Probe, initiallyPassing: boolean, results: boolean[]): { passing: boolean[]; final: ProbeState } {
  let state = initialProbeState(p, START, initiallyPassing);
  const passing: boolean[] = [];
  for (const ok of results) {
    state = recordProbeResult(p, state, ok, state.nextAt);
    passing.push(state.passing);
  }
  return { passing, final: state };
}

const T = true;
const F = false;

describe('initialProbeState', () => {
  const cases: Array<{ name: string; delay: number; passing: boolean; nextAt: number }> = [
    { name: 'readiness, no initial delay', delay: 0, passing: false, nextAt: START },
    { name: 'readiness, 5 s initial delay', delay: 5, passing: false, nextAt: START + 5_000 },
    { name: 'liveness, no initial delay', delay: 0, passing: true, nextAt: START },
    { name: 'liveness, 30 s initial delay', delay: 30, passing: true, nextAt: START + 30_000 },
    { name: 'an hour of initial delay', delay: 3600, passing: false, nextAt: START + 3_600_000 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(initialProbeState(probe({ initialDelaySeconds: c.delay }), START, c.passing)).toEqual({
        passing: c.passing,
        successes: 0,
        failures: 0,
        nextAt: c.nextAt,
        startedAt: START,
      });
    });
  }

  it('the initial delay does not depend on the period', () => {
    expect(initialProbeState(probe({ initialDelaySeconds: 2, periodSeconds: 60 }), START, false).nextAt).toBe(START + 2_000);
  });
});

describe('readiness: thresholds', () => {
  const cases: Array<{ name: string; success: number; failure: number; results: boolean[]; passing: boolean[] }> = [
    { name: 'one success makes it Ready (successThreshold 1)', success: 1, failure: 3, results: [T], passing: [T] },
    { name: 'failures keep it not Ready', success: 1, failure: 3, results: [F, F, F, F], passing: [F, F, F, F] },
    { name: 'Ready after a few failures', success: 1, failure: 3, results: [F, F, T], passing: [F, F, T] },
    { name: 'successThreshold 3 needs three in a row', success: 3, failure: 3, results: [T, T, T], passing: [F, F, T] },
    { name: 'a failure resets the success count', success: 3, failure: 3, results: [T, T, F, T, T, T], passing: [F, F, F, F, F, T] },
    { name: 'repeated resets never reach the threshold', success: 2, failure: 3, results: [T, F, T, F, T, F], passing: [F, F, F, F, F, F] },
    { name: 'Ready stays Ready on successes', success: 1, failure: 3, results: [T, T, T, T], passing: [T, T, T, T] },
    { name: 'Ready flips only after failureThreshold failures in a row', success: 1, failure: 3, results: [T, F, F, F], passing: [T, T, T, F] },
    { name: 'a success between failures keeps it Ready', success: 1, failure: 3, results: [T, F, F, T, F, F, T], passing: [T, T, T, T, T, T, T] },
    { name: 'failureThreshold 1 flips at the first failure', success: 1, failure: 1, results: [T, F], passing: [T, F] },
    { name: 'not Ready again needs successThreshold in a row again', success: 2, failure: 1, results: [T, T, F, T, T], passing: [F, T, F, F, T] },
    { name: 'flapping around the thresholds', success: 2, failure: 2, results: [T, T, F, T, F, F, T, T], passing: [F, T, T, T, T, F, F, T] },
    { name: 'more failures after flipping keep it not Ready', success: 1, failure: 2, results: [T, F, F, F, F], passing: [T, T, F, F, F] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const p = probe({ successThreshold: c.success, failureThreshold: c.failure });
      expect(run(p, false, c.results).passing).toEqual(c.passing);
    });
  }
});

describe('liveness: starts passing', () => {
  const cases: Array<{ name: string; failure: number; results: boolean[]; passing: boolean[] }> = [
    { name: 'alive before any attempt, and on successes', failure: 3, results: [T, T], passing: [T, T] },
    { name: 'still alive after fewer failures than the threshold', failure: 3, results: [F, F], passing: [T, T] },
    { name: 'dead after failureThreshold failures in a row', failure: 3, results: [F, F, F], passing: [T, T, F] },
    { name: 'a success resets the failure count', failure: 3, results: [F, F, T, F, F], passing: [T, T, T, T, T] },
    { name: 'failureThreshold 1', failure: 1, results: [F], passing: [F] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(initialProbeState(probe(), START, true).passing).toBe(true);
      expect(run(probe({ failureThreshold: c.failure }), true, c.results).passing).toEqual(c.passing);
    });
  }
});

describe('recordProbeResult: counters and timing', () => {
  it('counts successes and failures in a row', () => {
    const p = probe({ successThreshold: 5, failureThreshold: 5 });
    let s = initialProbeState(p, START, false);
    const seen: Array<[number, number]> = [];
    for (const ok of [T, T, F, F, F, T]) {
      s = recordProbeResult(p, s, ok, START);
      seen.push([s.successes, s.failures]);
    }
    expect(seen).toEqual([
      [1, 0],
      [2, 0],
      [0, 1],
      [0, 2],
      [0, 3],
      [1, 0],
    ]);
  });

  const timing: Array<{ period: number; now: number; nextAt: number }> = [
    { period: 1, now: START, nextAt: START + 1_000 },
    { period: 10, now: START, nextAt: START + 10_000 },
    { period: 10, now: START + 12_345, nextAt: START + 22_345 },
    { period: 3600, now: START, nextAt: START + 3_600_000 },
  ];
  for (const c of timing) {
    it(`nextAt = now + ${c.period} s after a success at +${c.now - START} ms`, () => {
      const p = probe({ periodSeconds: c.period });
      expect(recordProbeResult(p, initialProbeState(p, START, false), true, c.now).nextAt).toBe(c.nextAt);
    });
    it(`nextAt = now + ${c.period} s after a failure of a passing probe at +${c.now - START} ms`, () => {
      const p = probe({ periodSeconds: c.period });
      expect(recordProbeResult(p, initialProbeState(p, START, true), false, c.now).nextAt).toBe(c.nextAt);
    });
  }

  describe('fast start: until readiness first passes, failures are retried after an eighth of the age', () => {
    const cases: Array<{ name: string; period: number; failedAt: number; delay: number }> = [
      { name: 'at start: the 10 ms floor', period: 10, failedAt: 0, delay: 10 },
      { name: 'at 50 ms: still the floor', period: 10, failedAt: 50, delay: 10 },
      { name: 'at 80 ms: an eighth is the floor', period: 10, failedAt: 80, delay: 10 },
      { name: 'at 120 ms: an eighth', period: 10, failedAt: 120, delay: 15 },
      { name: 'at 1 s: an eighth', period: 10, failedAt: 1_000, delay: 125 },
      { name: 'at 60 s: an eighth', period: 10, failedAt: 60_000, delay: 7_500 },
      { name: 'at 80 s: capped at the period', period: 10, failedAt: 80_000, delay: 10_000 },
      { name: 'period 1 s: capped at 8 s of age', period: 1, failedAt: 8_000, delay: 1_000 },
      { name: 'period 1 s, at 7.2 s of age: an eighth', period: 1, failedAt: 7_200, delay: 900 },
    ];
    for (const c of cases) {
      it(`period ${c.period} s, ${c.name}: next try after ${c.delay} ms`, () => {
        const p = probe({ periodSeconds: c.period });
        const state = recordProbeResult(p, initialProbeState(p, START, false), false, START + c.failedAt);
        expect(state.nextAt - (START + c.failedAt)).toBe(c.delay);
      });
    }

    it('a program ready 83 ms after it started is seen Ready within 10 ms (the 25 ms * 1.5^k retries saw it at 119 ms)', () => {
      const p = probe({ periodSeconds: 1 });
      let state = initialProbeState(p, START, false);
      while (!state.passing) state = recordProbeResult(p, state, state.nextAt - START >= 83, state.nextAt);
      const seenAt = state.nextAt - 1_000 - START;
      expect(seenAt).toBeGreaterThanOrEqual(83);
      expect(seenAt).toBeLessThanOrEqual(93);
    });

    it('a slow starter costs about 40 attempts in its first 5 s', () => {
      const p = probe({ periodSeconds: 10 });
      let state = initialProbeState(p, START, false);
      let attempts = 0;
      while (state.nextAt - START < 5_000) {
        state = recordProbeResult(p, state, false, state.nextAt);
        attempts++;
      }
      expect(attempts).toBeGreaterThanOrEqual(35);
      expect(attempts).toBeLessThanOrEqual(45);
    });

    it('successes short of successThreshold are retried as quickly', () => {
      const p = probe({ periodSeconds: 10, successThreshold: 3 });
      const s1 = recordProbeResult(p, initialProbeState(p, START, false), true, START + 400);
      expect(s1.nextAt).toBe(START + 450);
      const s2 = recordProbeResult(p, s1, true, s1.nextAt);
      expect(s2.nextAt - s1.nextAt).toBe(56);
      const s3 = recordProbeResult(p, s2, true, s2.nextAt);
      expect(s3.passing).toBe(true);
      expect(s3.nextAt - s2.nextAt).toBe(10_000);
    });

    it('is over once the probe has passed: a later failure waits a whole period', () => {
      const p = probe({ periodSeconds: 10 });
      const ready = recordProbeResult(p, initialProbeState(p, START, false), true, START);
      const failed = recordProbeResult(p, ready, false, START + 10_000);
      expect(failed.nextAt).toBe(START + 20_000);
    });
  });

  it('nextAt follows the actual attempt time, not the planned one', () => {
    const p = probe({ periodSeconds: 2, initialDelaySeconds: 1 });
    const s = initialProbeState(p, START, false);
    expect(recordProbeResult(p, s, true, s.nextAt + 700).nextAt).toBe(START + 1_000 + 700 + 2_000);
  });

  it('does not mutate the previous state', () => {
    const p = probe();
    const s = initialProbeState(p, START, false);
    const copy = { ...s };
    recordProbeResult(p, s, true, START);
    expect(s).toEqual(copy);
  });

  it('a run of successes then failures reports the counts since the last change of result', () => {
    const { final } = run(probe({ failureThreshold: 3 }), false, [T, T, T, F, F]);
    expect(final).toMatchObject({ passing: true, successes: 0, failures: 2 });
  });
});
