// What tests use from the harness: the addresses of the services global-setup.ts started, a poll
// helper (tests wait on conditions with deadlines, never fixed sleeps) and free ports.
import { inject } from 'vitest';
import { freePort } from '../../infra/child-processes.js';

export { freePort };

/** gRPC address of the shared Temporal server, 'host:port'. */
export function temporalAddress(): string {
  return provided('temporalAddress');
}

/** Namespace to use on the shared Temporal server. */
export function temporalNamespace(): string {
  return provided('temporalNamespace');
}

/** 'http://127.0.0.1:PORT' of the shared moto_server (Route 53 emulator). */
export function motoEndpoint(): string {
  return provided('motoEndpoint');
}

/** The workflow bundle built once for the run; set it as ORDINAL_WORKFLOW_BUNDLE for workers. */
export function workflowBundlePath(): string {
  return provided('workflowBundlePath');
}

function provided(key: 'temporalAddress' | 'temporalNamespace' | 'motoEndpoint' | 'workflowBundlePath'): string {
  const value = inject(key);
  if (!value) {
    throw new Error(`${key} was not provided: run this test in the 'integration' project (its globalSetup starts the services)`);
  }
  return value;
}

export interface WaitForOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Pause between attempts (default 100 ms). */
  intervalMs?: number;
  /** What was being waited for, for the timeout error. */
  message?: string;
}

/**
 * Calls `fn` until it returns a value other than `false`, `null` or `undefined` without throwing,
 * and returns that value. Throws after `timeoutMs` with `message` and the last error or result.
 * Assertion callbacks (`expect(...)`, which return nothing) must end with `return true`.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  options: WaitForOptions = {},
): Promise<Exclude<T, false | null | undefined>> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let last: { error: unknown } | { value: unknown } = { value: undefined };
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      const value = await fn();
      if (value !== false && value !== null && value !== undefined) return value as Exclude<T, false | null | undefined>;
      last = { value };
    } catch (error) {
      last = { error };
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, remaining)));
  }
  const what = options.message ?? 'condition';
  const detail =
    'error' in last
      ? `last error: ${last.error instanceof Error ? last.error.message : String(last.error)}`
      : `last result: ${String(last.value)}` +
        (last.value === undefined ? ' (return a value other than false/null/undefined once the condition holds)' : '');
  throw new Error(`timed out after ${timeoutMs} ms (${attempts} attempts) waiting for ${what}; ${detail}`, {
    cause: 'error' in last ? last.error : undefined,
  });
}
