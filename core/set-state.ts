// The durable state of one set, as its workflow holds it (and carries across continue-as-new), and
// the status view derived from it. Pure data and pure functions.
import type { InstanceHandle } from '../activities/drivers/driver.js';
import type { Manifest, Template } from './manifest.js';
import { instanceDnsName, instanceName } from './names.js';

/**
 * - Pending: no process; waiting for its turn, its creation, or a crash-loop back-off to end.
 * - Running: a process is alive (see `ready`).
 * - Failed: the process exited or failed liveness; it will be cleaned up and recreated.
 * - Terminating: being stopped.
 */
export type InstancePhase = 'Pending' | 'Running' | 'Failed' | 'Terminating';

export interface InstanceState {
  ordinal: number;
  /** Incarnation of the current or most recent process; 0 before the first create. */
  incarnation: number;
  /** Revision of the template the current process runs (or the next one will). */
  revision: string;
  phase: InstancePhase;
  ready: boolean;
  /** Workflow time (ms) when it last became Ready. */
  readySince?: number;
  handle?: InstanceHandle;
  /** Times the identity was recreated after a failure. */
  restarts: number;
  /** Failures in a row without a stable run in between: drives the crash-loop back-off. */
  consecutiveFailures: number;
  /** No new incarnation starts before this workflow time (ms). */
  backoffUntil?: number;
  /** The most recent error, kept for the record after a recovery. */
  lastError?: string;
  /** Why a Running instance that was Ready is not any more (its readiness probe); cleared when Ready. */
  notReadyReason?: string;
  /** A user asked to delete this instance: stop it, then recreate it under the same name. */
  deleteRequested?: boolean;
}

export interface Revision {
  name: string;
  template: Template;
  /** The generation that introduced (or last reintroduced) it. */
  generation: number;
}

export interface SetState {
  name: string;
  /** Undefined until the first apply (the workflow starts with the update that creates the set). */
  manifest?: Manifest;
  /** Increments on every spec change, as metadata.generation in Kubernetes. */
  generation: number;
  createdAt?: number;
  updateRevision?: string;
  currentRevision?: string;
  revisions: Revision[];
  instances: InstanceState[];
  /** Fingerprint of the DNS records last applied to the provider; undefined when none were. */
  publishedDns?: string;
  /** Names last published, for status. */
  publishedNames: string[];
  deleting: boolean;
  /** Generation the controller last acted on. */
  observedGeneration: number;
}

export function initialState(name: string): SetState {
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

/** Crash-loop back-off: immediate first restart, then 1 s, 2 s, 4 s, ... capped. */
export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_CAP_MS = 60_000;
/** An instance Ready this long before failing starts a fresh back-off sequence. */
export const STABLE_RUN_MS = 60_000;

export function backoffDelayMs(consecutiveFailures: number): number {
  if (consecutiveFailures <= 1) return 0;
  return Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (consecutiveFailures - 2));
}

/** Records a failure of an instance's current incarnation: phase, counters and back-off. */
export function recordFailure(instance: InstanceState, error: string, now: number): InstanceState {
  const stable = instance.readySince !== undefined && now - instance.readySince >= STABLE_RUN_MS;
  const consecutiveFailures = stable ? 1 : instance.consecutiveFailures + 1;
  return {
    ...instance,
    phase: 'Failed',
    ready: false,
    readySince: undefined,
    notReadyReason: undefined,
    restarts: instance.restarts + 1,
    consecutiveFailures,
    backoffUntil: now + backoffDelayMs(consecutiveFailures),
    lastError: error,
  };
}

// ---- status view ----

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: 'Ready' | 'Progressing' | 'ReplicaFailure';
  status: ConditionStatus;
  reason: string;
  message: string;
}

export type InstanceStatusPhase = InstancePhase | 'CrashLoopBackOff';

export interface InstanceStatus {
  name: string;
  ordinal: number;
  address: string | null;
  dnsName: string;
  phase: InstanceStatusPhase;
  ready: boolean;
  restarts: number;
  revision: string;
  incarnation: number;
  /** ISO time the current process started, null without one. */
  startedAt: string | null;
  /** ISO time it last became Ready, null while not Ready. */
  readySince: string | null;
  lastError?: string;
  /** ISO time of the next restart attempt while in CrashLoopBackOff. */
  nextRestartAt?: string;
}

/** The set's overall phase, also the OrdinalPhase search attribute. */
export type SetPhase = 'Pending' | 'Progressing' | 'Ready' | 'Degraded' | 'Deleting';

export interface SetStatus {
  phase: SetPhase;
  observedGeneration: number;
  replicas: number;
  readyReplicas: number;
  availableReplicas: number;
  currentReplicas: number;
  updatedReplicas: number;
  currentRevision: string | null;
  updateRevision: string | null;
  conditions: Condition[];
  instances: InstanceStatus[];
}

export interface SetView {
  apiVersion: Manifest['apiVersion'];
  kind: Manifest['kind'];
  metadata: Manifest['metadata'] & { generation: number; creationTimestamp: string | null; deletionRequested?: boolean };
  spec: Manifest['spec'];
  status: SetStatus;
}

export function instanceStatus(state: SetState, instance: InstanceState, now: number): InstanceStatus {
  const spec = state.manifest!.spec;
  const backingOff =
    instance.phase === 'Pending' && instance.backoffUntil !== undefined && instance.backoffUntil > now && instance.consecutiveFailures > 1;
  const status: InstanceStatus = {
    name: instanceName(state.name, instance.ordinal),
    ordinal: instance.ordinal,
    address: instance.handle?.address ?? null,
    dnsName: instanceDnsName(state.name, instance.ordinal, spec.serviceName, spec.dns.zone),
    phase: backingOff ? 'CrashLoopBackOff' : instance.phase,
    ready: instance.ready,
    restarts: instance.restarts,
    revision: instance.revision,
    incarnation: instance.incarnation,
    startedAt: instance.handle ? new Date(instance.handle.startedAt).toISOString() : null,
    readySince: instance.ready && instance.readySince !== undefined ? new Date(instance.readySince).toISOString() : null,
  };
  if (instance.lastError !== undefined) status.lastError = instance.lastError;
  if (backingOff) status.nextRestartAt = new Date(instance.backoffUntil!).toISOString();
  return status;
}

export function setStatus(state: SetState, now: number): SetStatus {
  const spec = state.manifest!.spec;
  const instances = [...state.instances].sort((a, b) => a.ordinal - b.ordinal).map((i) => instanceStatus(state, i, now));
  const live = state.instances.filter((i) => i.phase === 'Running');
  const readyReplicas = live.filter((i) => i.ready).length;
  const currentReplicas = live.filter((i) => i.revision === state.currentRevision).length;
  const updatedReplicas = live.filter((i) => i.revision === state.updateRevision).length;
  // lastError stays for the record after a recovery; only a current failure makes a condition: a
  // failed process, a crash loop, a crashed instance waiting to be recreated, or lost readiness.
  const failing = state.instances
    .filter(
      (i) =>
        i.phase === 'Failed' ||
        (i.phase === 'Pending' && i.consecutiveFailures > 0 && i.lastError !== undefined) ||
        (i.phase === 'Running' && !i.ready && i.notReadyReason !== undefined),
    )
    .sort((a, b) => a.ordinal - b.ordinal)
    .map((i) => ({ ...instanceStatus(state, i, now), reason: i.phase === 'Running' ? i.notReadyReason : i.lastError }));
  const converged =
    !state.deleting &&
    state.observedGeneration === state.generation &&
    state.instances.length === spec.replicas &&
    readyReplicas === spec.replicas &&
    updatedReplicas === spec.replicas;

  const conditions: Condition[] = [
    converged
      ? { type: 'Ready', status: 'True', reason: 'AllReplicasReady', message: `${readyReplicas} of ${spec.replicas} instances Ready` }
      : { type: 'Ready', status: 'False', reason: state.deleting ? 'Deleting' : 'ReplicasNotReady', message: `${readyReplicas} Ready, ${spec.replicas} wanted` },
    converged
      ? { type: 'Progressing', status: 'False', reason: 'Converged', message: 'the set matches its spec' }
      : { type: 'Progressing', status: 'True', reason: state.deleting ? 'Deleting' : 'Reconciling', message: progressMessage(state, readyReplicas) },
  ];
  if (failing.length > 0) {
    const first = failing[0];
    conditions.push({
      type: 'ReplicaFailure',
      status: 'True',
      reason: first.phase === 'CrashLoopBackOff' ? 'CrashLoopBackOff' : 'InstanceFailed',
      message: `${first.name}: ${first.reason ?? first.phase}`,
    });
  }

  let phase: SetPhase;
  if (state.deleting) phase = 'Deleting';
  else if (converged) phase = 'Ready';
  else if (failing.length > 0) phase = 'Degraded';
  else if (state.instances.length === 0 && spec.replicas > 0) phase = 'Pending';
  else phase = 'Progressing';

  return {
    phase,
    observedGeneration: state.observedGeneration,
    replicas: state.instances.length,
    readyReplicas,
    // Available = Ready for minReadySeconds; without that setting (a later issue) the two agree.
    availableReplicas: readyReplicas,
    currentReplicas,
    updatedReplicas,
    currentRevision: state.currentRevision ?? null,
    updateRevision: state.updateRevision ?? null,
    conditions,
    instances,
  };
}

function progressMessage(state: SetState, readyReplicas: number): string {
  const want = state.manifest!.spec.replicas;
  if (state.deleting) return `deleting: ${state.instances.length} instances left`;
  if (state.instances.length > want) return `scaling down to ${want}: ${state.instances.length} instances`;
  return `${readyReplicas}/${want} instances Ready`;
}

export function setView(state: SetState, now: number): SetView {
  const manifest = state.manifest!;
  const metadata: SetView['metadata'] = {
    ...manifest.metadata,
    generation: state.generation,
    creationTimestamp: state.createdAt === undefined ? null : new Date(state.createdAt).toISOString(),
  };
  if (state.deleting) metadata.deletionRequested = true;
  return { apiVersion: manifest.apiVersion, kind: manifest.kind, metadata, spec: manifest.spec, status: setStatus(state, now) };
}
