// A set state to test against: applied once, with instances described by shape (Ready, crash looping,
// terminating...), its DNS records published. Shared by the tests of core/set-state.ts and core/status.ts.
import type { InstanceHandle } from '../../activities/drivers/driver.js';
import { recordsFingerprint } from '../../core/dns-records.js';
import type { InstanceState } from '../../core/instance.js';
import { parseManifest, type Manifest } from '../../core/manifest.js';
import { recordsFor } from '../../core/planner.js';
import { initialState, type SetState } from '../../core/set-state.js';
import { applyManifest } from '../../core/transitions.js';

export const NOW = 1_700_000_000_000;
export const CREATED = NOW - 3_600_000;

export function manifest(replicas: number, template: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}): Manifest {
  const parsed = parseManifest({
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', ...metadata },
    spec: {
      replicas,
      template: { process: { command: ['node', 'server.mjs'] }, ports: [{ name: 'http', port: 8080 }], ...template },
    },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value;
}

export function handle(ordinal: number, incarnation = 1, revision = 'web-rev'): InstanceHandle {
  return {
    set: 'web',
    ordinal,
    incarnation,
    revision,
    address: `127.77.0.${ordinal + 1}`,
    pid: 1000 + ordinal,
    startedAt: NOW - 10_000,
    logPath: `/tmp/web-${ordinal}.log`,
  };
}

export type Shape = 'ready' | 'running' | 'pending' | 'failed' | 'terminating' | 'crashloop' | 'backoff-over' | 'first-failure' | 'old' | 'unready-error';

/** A set applied once (generation 1, observed), with instances described by shape. */
export function setWith(replicas: number, shapes: Record<number, Shape>, options: { observed?: boolean } = {}): SetState {
  const state = initialState('web');
  applyManifest(state, manifest(replicas), CREATED);
  if (options.observed !== false) state.observedGeneration = state.generation;
  const revision = state.updateRevision!;
  for (const [key, shape] of Object.entries(shapes)) {
    const ordinal = Number(key);
    const base: InstanceState = {
      ordinal,
      incarnation: 1,
      revision,
      phase: 'Running',
      ready: true,
      readySince: NOW - 5_000,
      handle: handle(ordinal, 1, revision),
      restarts: 0,
      consecutiveFailures: 0,
    };
    const variants: Record<Shape, Partial<InstanceState>> = {
      ready: {},
      running: { ready: false, readySince: undefined },
      pending: { phase: 'Pending', ready: false, readySince: undefined, handle: undefined, incarnation: 0 },
      failed: { phase: 'Failed', ready: false, readySince: undefined, restarts: 1, consecutiveFailures: 1, lastError: 'exited with code 1' },
      terminating: { phase: 'Terminating', ready: false, readySince: undefined },
      crashloop: {
        phase: 'Pending',
        ready: false,
        readySince: undefined,
        handle: undefined,
        restarts: 3,
        consecutiveFailures: 3,
        backoffUntil: NOW + 2_000,
        lastError: 'exited with code 1',
      },
      'backoff-over': {
        phase: 'Pending',
        ready: false,
        readySince: undefined,
        handle: undefined,
        restarts: 3,
        consecutiveFailures: 3,
        backoffUntil: NOW - 1,
        lastError: 'exited with code 1',
      },
      'first-failure': {
        phase: 'Pending',
        ready: false,
        readySince: undefined,
        handle: undefined,
        restarts: 1,
        consecutiveFailures: 1,
        backoffUntil: NOW,
        lastError: 'exited with code 2',
      },
      old: { revision: 'web-0000000000' },
      'unready-error': { ready: false, readySince: undefined, lastError: 'readiness probe failed: HTTP 503', notReadyReason: 'readiness probe failed: HTTP 503' },
    };
    state.instances.push({ ...base, ...variants[shape] });
  }
  // The records already match the instances, and the rollout is within its progress deadline.
  state.publishedDns = recordsFingerprint(recordsFor(state).records);
  state.progressAt = NOW - 1_000;
  return state;
}
