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
}

/**
 * Fast start: until a readiness probe first passes, a failed attempt is retried after 100 ms, 200 ms,
 * 400 ms ... instead of a whole period, never less often than periodSeconds. A program that is ready
 * 80 ms after it starts is Ready 100 ms later, not one period later (Kubernetes waits the period;
 * that is most of the time a StatefulSet takes to come up, and to heal).
 */
export const FAST_START_FIRST_RETRY_MS = 100;

/**
 * Readiness starts failing (an instance is not Ready until a probe says so); liveness starts passing.
 * The first attempt is due `initialDelaySeconds` after the instance started.
 */
export function initialProbeState(probe: Probe, startedAt: number, passing: boolean): ProbeState {
  return { passing, successes: 0, failures: 0, nextAt: startedAt + probe.initialDelaySeconds * 1000 };
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
  // During the fast start, the k-th retry in a row waits 100 ms * 2^(k-1); a success that does not
  // yet reach successThreshold is retried as quickly.
  const fastMs = FAST_START_FIRST_RETRY_MS * 2 ** Math.max(0, (ok ? successes : failures) - 1);
  const delay = everPassed ? periodMs : Math.min(periodMs, fastMs);
  return { passing, successes, failures, nextAt: now + delay, everPassed };
}
