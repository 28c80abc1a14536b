// The durable state of one set, as its workflow holds it (and carries across continue-as-new), and the
// crash-loop back-off it records. Pure data and pure functions; the status view is in status.ts.
import type { DnsTarget, PublishOutcome } from './dns-records.js';
import type { EventLog } from './events.js';
import type { Incarnation, InstanceState } from './instance.js';
import type { Manifest, Template } from './manifest.js';

export interface Revision {
  name: string;
  /** 1, 2, 3 ... in order of (re)introduction, as Kubernetes' ControllerRevision.revision. */
  number: number;
  template: Template;
  /** The generation that introduced (or last reintroduced) it. */
  generation: number;
  /** Workflow time it was (re)introduced. */
  createdAt: number;
}

export interface Rollback {
  from: string;
  to: string;
  /** Workflow time. */
  at: number;
  reason: string;
}

/** `Handle`: the driver's handle type (see `Incarnation`). */
export interface SetState<Handle extends Incarnation = Incarnation> {
  name: string;
  /** Undefined until the first apply (the workflow starts with the update that creates the set). */
  manifest?: Manifest;
  /** Increments on every spec change, as metadata.generation in Kubernetes. */
  generation: number;
  createdAt?: number;
  updateRevision?: string;
  currentRevision?: string;
  revisions: Revision[];
  instances: InstanceState<Handle>[];
  /** Fingerprint of the DNS records last applied to the provider; undefined when none were. */
  publishedDns?: string;
  /** Names last published, for status. */
  publishedNames: string[];
  deleting: boolean;
  /** Generation the controller last acted on. */
  observedGeneration: number;
  /** Workflow time of the last progress (a new generation, an instance Ready, one removed). */
  progressAt?: number;
  /** The last update revision that was fully Ready: where autoRollback returns. */
  lastGoodRevision?: string;
  /** The last automatic rollback. */
  lastRollback?: Rollback;
  /** Where the records were last published (a change of provider or zone clears the old place). */
  dnsTarget?: DnsTarget;
  /** What the last publish came to: conflicts, propagation, provider errors. */
  dnsOutcome?: PublishOutcome;
  /** Publish again at this workflow time even if nothing changed (after a conflict or an error). */
  dnsRetryAt?: number;
  /** What happened to the set, bounded (core/events.ts); absent in state saved before events existed. */
  events?: EventLog;
}

export function initialState<Handle extends Incarnation = Incarnation>(name: string): SetState<Handle> {
  return {
    name,
    generation: 0,
    revisions: [],
    instances: [],
    publishedNames: [],
    deleting: false,
    observedGeneration: 0,
  };
}

/** Crash-loop back-off (spec.crashLoopBackOff): immediate first restart, then 1 s, 2 s, 4 s, ... capped. */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  /** An instance Ready this long before failing starts a fresh back-off sequence. */
  resetMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 1_000, maxMs: 60_000, resetMs: 60_000 };

export function backoffDelayMs(consecutiveFailures: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  if (consecutiveFailures <= 1) return 0;
  return Math.min(policy.maxMs, policy.initialMs * 2 ** (consecutiveFailures - 2));
}

/** The set's back-off policy, from its spec. */
export function backoffPolicy(state: SetState): BackoffPolicy {
  const spec = state.manifest?.spec.crashLoopBackOff;
  if (!spec) return DEFAULT_BACKOFF;
  return { initialMs: spec.initialSeconds * 1000, maxMs: spec.maxSeconds * 1000, resetMs: spec.resetSeconds * 1000 };
}

/** Records a failure of an instance's current incarnation: phase, counters and back-off. */
export function recordFailure(instance: InstanceState, error: string, now: number, policy: BackoffPolicy = DEFAULT_BACKOFF): InstanceState {
  const stable = instance.readySince !== undefined && now - instance.readySince >= policy.resetMs;
  const consecutiveFailures = stable ? 1 : instance.consecutiveFailures + 1;
  return {
    ...instance,
    phase: 'Failed',
    ready: false,
    readySince: undefined,
    notReadyReason: undefined,
    restarts: instance.restarts + 1,
    consecutiveFailures,
    backoffUntil: now + backoffDelayMs(consecutiveFailures, policy),
    lastError: error,
  };
}
