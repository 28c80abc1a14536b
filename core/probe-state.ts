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
 * Fast start: until a readiness probe first passes, a failed attempt is retried after 25 ms, then each
 * retry waits half as long again (38, 56, 84, 127 ms ...), instead of a whole period, never less often
 * than periodSeconds. A program is seen Ready within about a third of its own start time after it is
 * (Kubernetes waits the period; that is most of the time a StatefulSet takes to come up, and to heal),
 * while a slow starter costs only a dozen attempts in its first few seconds.
 */
export const FAST_START_FIRST_RETRY_MS = 25;
/** Each fast-start retry waits this many times as long as the one before. */
export const FAST_START_GROWTH = 1.5;

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
  // During the fast start, the k-th retry in a row waits 25 ms * 1.5^(k-1); a success that does not
  // yet reach successThreshold is retried as quickly.
  const fastMs = Math.round(FAST_START_FIRST_RETRY_MS * FAST_START_GROWTH ** Math.max(0, (ok ? successes : failures) - 1));
  const delay = everPassed ? periodMs : Math.min(periodMs, fastMs);
  return { passing, successes, failures, nextAt: now + delay, everPassed };
}
