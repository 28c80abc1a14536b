// Manifests for the bench's sets, their instances' own timelines, and waiting on sets.
import path from 'node:path';
import type { SetsService } from '../../api/sets.js';
import type { SetView } from '../../core/status.js';
import { sleep } from '../../infra/child-processes.js';
import { readJsonLines } from '../../test/harness/json-lines.js';
import { BENCH_DIR } from './procs.js';

export const INSTANT = path.join(BENCH_DIR, 'programs/instant.mjs');

export interface InstantOptions {
  replicas: number;
  /** Readiness probe period in seconds; undefined: no readiness probe (Ready once running). */
  probePeriodSeconds?: number;
  eventsFile?: string;
}

/** A set of bench/programs/instant.mjs, port 8080, Ready when GET /healthz answers. */
export function instantManifest(name: string, options: InstantOptions) {
  return {
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: {
      replicas: options.replicas,
      template: {
        process: { command: [process.execPath, INSTANT], env: options.eventsFile ? { BENCH_EVENTS: options.eventsFile } : {} },
        ports: [{ name: 'http', port: 8080 }],
        ...(options.probePeriodSeconds === undefined
          ? {}
          : { readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: options.probePeriodSeconds } }),
        terminationGracePeriodSeconds: 1,
      },
    },
  };
}

/** The lightest possible instance (`sleep`, about 1 MB each), Ready once running: for many sets. */
export function sleepManifest(name: string, replicas: number) {
  return {
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: {
      replicas,
      template: { process: { command: ['sleep', '86400'] }, terminationGracePeriodSeconds: 1 },
    },
  };
}

export interface InstanceEvent {
  name: string;
  incarnation: number;
  pid: number;
  address: string;
  /** Epoch ms: the process's own start. */
  start: number;
  /** Epoch ms: its socket is bound. */
  listening: number;
}

/** The instances' timeline so far (the BENCH_EVENTS file). */
export function readEvents(file: string): InstanceEvent[] {
  return readJsonLines<InstanceEvent>(file);
}

export function isReady(view: SetView | undefined, replicas = view?.spec.replicas): boolean {
  return (
    view !== undefined &&
    view.status.observedGeneration === view.metadata.generation &&
    view.status.readyReplicas === replicas &&
    view.status.replicas === replicas &&
    view.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

/** Polls until `check` returns a value; throws with `message` after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined>, options: { timeoutMs: number; intervalMs?: number; message: string }): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.message}${why}`);
    }
    await sleep(options.intervalMs ?? 200);
  }
}

export function waitForReady(sets: SetsService, name: string, timeoutMs: number, intervalMs = 200): Promise<SetView> {
  return waitFor(
    async () => {
      const view = await sets.get(name);
      return isReady(view) ? view : undefined;
    },
    { timeoutMs, intervalMs, message: `set ${name} to be Ready` },
  );
}
