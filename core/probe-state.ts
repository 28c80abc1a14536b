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
}

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
  return { passing, successes, failures, nextAt: now + probe.periodSeconds * 1000 };
}
