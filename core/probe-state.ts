// Probe thresholds and timing, as Kubernetes' kubelet applies them: a pure state machine fed with the
// result of each probe attempt. The watch activity runs the attempts; this decides what they mean.
import type { Probe } from './manifest.js';

export interface ProbeState {
  /** Readiness: Ready. Liveness: alive. */
  passing: boolean;
  /** Consecutive successes / failures since the last flip. */
  successes: number;
  failures: number;
  /** Epoch ms of the next attempt. */
  nextAt: number;
  /** It has passed once: the fast start (below) is over. */
  everPassed?: boolean;
  /** Epoch ms the instance started: the fast start's retries grow with its age. */
  startedAt?: number;
}

/**
 * Fast start: until a readiness probe first passes, a failed attempt is retried after an eighth of the
 * instance's age (at least 10 ms), instead of a whole period, never less often than periodSeconds. A
 * program is seen Ready within about an eighth of its own start time after it is (Kubernetes waits the
 * period; that is most of the time a StatefulSet takes to come up, and to heal), and the retries thin
 * out as it ages: about 40 attempts in the first 5 s of a slow starter, one more per eighth of its age.
 */
export const FAST_START_MIN_RETRY_MS = 10;
/** A fast-start retry waits this share of the instance's age. */
export const FAST_START_AGE_SHARE = 1 / 8;

/**
 * Readiness starts failing (an instance is not Ready until a probe says so); liveness starts passing.
 * The first attempt is due `initialDelaySeconds` after the instance started.
 */
export function initialProbeState(probe: Probe, startedAt: number, passing: boolean): ProbeState {
  return { passing, successes: 0, failures: 0, nextAt: startedAt + probe.initialDelaySeconds * 1000, startedAt };
}

/** Applies one attempt's result at time `now`; `passing` flips after successThreshold / failureThreshold in a row. */
export function recordProbeResult(probe: Probe, state: ProbeState, ok: boolean, now: number): ProbeState {
  const successes = ok ? state.successes + 1 : 0;
  const failures = ok ? 0 : state.failures + 1;
  let passing = state.passing;
  if (!passing && successes >= probe.successThreshold) passing = true;
  if (passing && failures >= probe.failureThreshold) passing = false;
  const everPassed = state.everPassed === true || passing;
  const periodMs = probe.periodSeconds * 1000;
  // During the fast start a retry waits an eighth of the instance's age; a success that does not yet
  // reach successThreshold is retried as quickly.
  const age = Math.max(0, now - (state.startedAt ?? now));
  const fastMs = Math.max(FAST_START_MIN_RETRY_MS, Math.round(age * FAST_START_AGE_SHARE));
  const delay = everPassed ? periodMs : Math.min(periodMs, fastMs);
  return { ...state, passing, successes, failures, nextAt: now + delay, everPassed };
}
