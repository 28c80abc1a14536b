// Waiting on a set: polls GET /v1/sets/NAME until a step says it is done or the timeout passes, riding
// out an API or Temporal restart. Used by `rollout status`, `apply --wait` and `delete --wait`.
import { setTimeout as sleep } from 'node:timers/promises';
import type { SetView } from '../core/status.js';
import { ApiError, REQUEST_TIMEOUT_MS, UnreachableError, type ApiClient } from './api-client.js';

/** Errors worth retrying while polling: no answer, or the API (or Temporal behind it) unavailable. */
function isTransient(err: unknown): boolean {
  return err instanceof UnreachableError || (err instanceof ApiError && err.status >= 500);
}

export interface Poll {
  /** The set, or undefined once GET answers 404. */
  view: SetView | undefined;
}

/**
 * Polls GET /v1/sets/NAME every `intervalMs` until `step` returns true or `timeoutMs` (0: no limit)
 * passes; then calls `onTimeout`. An API that cannot be reached at the first GET is reported at once
 * (a wrong address should not wait out the timeout); a 503 (the worker or Temporal restarting) and,
 * later, any transient failure are retried with one warning, so a restart does not end the wait.
 */
export async function pollSet(
  client: ApiClient,
  name: string,
  timeoutMs: number,
  intervalMs: number,
  step: (poll: Poll, first: boolean) => boolean,
  onTimeout: () => never,
): Promise<void> {
  const deadline = timeoutMs > 0 ? Date.now() + timeoutMs : Infinity;
  let first = true;
  let failure: unknown;
  for (;;) {
    const remaining = deadline - Date.now();
    try {
      const view = await client.find(name, Math.min(REQUEST_TIMEOUT_MS, Math.max(1000, remaining)));
      if (failure !== undefined) process.stderr.write('the API answers again\n');
      failure = undefined;
      if (step({ view }, first)) return;
      first = false;
    } catch (err) {
      if (!isTransient(err) || (first && err instanceof UnreachableError)) throw err;
      if (failure === undefined) process.stderr.write(`warning: ${(err as Error).message}; retrying\n`);
      failure = err;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      if (failure instanceof UnreachableError) throw failure;
      onTimeout();
    }
    await sleep(Math.min(intervalMs, left));
  }
}
