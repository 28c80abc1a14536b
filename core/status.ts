// The status view of a set: what GET returns, its conditions and revisions, read from the state at a
// given time. Pure functions; computing it never changes the state.
import type { DnsTarget, PublishOutcome } from './dns-records.js';
import type { InstancePhase, InstanceState } from './instance.js';
import { maxUnavailableCount, type Manifest, type Template } from './manifest.js';
import { instanceDnsName, instanceName } from './names.js';
import { SetPlanView, plan } from './planner.js';
import type { SetState } from './set-state.js';

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: 'Ready' | 'Progressing' | 'Available' | 'ReplicaFailure' | 'DNSReady' | 'DNSConflict';
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
  /** Ready for at least minReadySeconds. */
  available: boolean;
  /** Out of the service records, kept running. */
  cordoned: boolean;
  lastError?: string;
  /** ISO time of the next restart attempt while in CrashLoopBackOff. */
  nextRestartAt?: string;
}

/** The set's overall phase, also the OrdinalPhase search attribute. */
export type SetPhase = 'Pending' | 'Progressing' | 'Ready' | 'Degraded' | 'Paused' | 'Deleting';

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
  /** The last automatic rollback (autoRollback), if any. */
  lastRollback?: { from: string; to: string; at: string; reason: string };
  /** Where the names are published and what is not settled there yet. */
  dns: DnsStatus;
}

export interface DnsStatus {
  provider: DnsTarget['provider'];
  zone: string;
  /** Names whose change the provider has not confirmed as propagated yet (Route 53: not INSYNC). */
  propagating: string[];
  /** Names the set wants that someone else holds: never overwritten. */
  conflicts: Array<{ name: string; type: string; reason: string }>;
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
    available: new SetPlanView(state, now).available(instance),
    cordoned: instance.cordoned === true,
  };
  if (instance.lastError !== undefined) status.lastError = instance.lastError;
  if (backingOff) status.nextRestartAt = new Date(instance.backoffUntil!).toISOString();
  return status;
}

/**
 * Crash looping: failed at least twice in a row without a stable run in between (so the back-off is
 * under way: the second failure is the first one waited out) and not Ready now. Time plays no part, so
 * the status read between two of the workflow's steps says the same as at the last one.
 */
export function isCrashLooping(instance: InstanceState): boolean {
  return instance.consecutiveFailures >= 2 && !(instance.phase === 'Running' && instance.ready);
}

/** `web-1 is crash looping (restarts 3): the process exited with code 1`: the status and `rollout status` say it alike. */
export function crashLoopMessage(name: string, restarts: number, lastError: string | undefined): string {
  return `${name} is crash looping (restarts ${restarts})${lastError ? `: ${lastError}` : ''}`;
}

export function setStatus(state: SetState, now: number): SetStatus {
  const spec = state.manifest!.spec;
  const view = new SetPlanView(state, now);
  const next = plan(state, now);
  const instances = [...state.instances].sort((a, b) => a.ordinal - b.ordinal).map((i) => instanceStatus(state, i, now));
  const live = state.instances.filter((i) => i.phase === 'Running');
  const readyReplicas = live.filter((i) => i.ready).length;
  const availableReplicas = live.filter((i) => view.available(i)).length;
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
  const pausedUpdate = view.paused && state.instances.some((i) => view.isWanted(i.ordinal) && view.outdated(i));
  const observed = state.observedGeneration === state.generation;
  const outcome = state.dnsOutcome;
  const dnsTrouble = outcome !== undefined && (outcome.error !== undefined || outcome.conflicts.length > 0 || outcome.failed.length > 0);
  const converged = !state.deleting && observed && next.settled && next.actions.length === 0 && !pausedUpdate && !dnsTrouble;
  const deadline = view.progressDeadline();
  const stuck = !state.deleting && !converged && !pausedUpdate && deadline !== undefined && now >= deadline;
  const rollingBack = state.lastRollback !== undefined && state.lastRollback.to === state.updateRevision && !converged;
  // A wanted instance that failed again before a stable run and is not Ready now: the Ready condition
  // names it and its last error (CrashLoopBackOff), so every client sees why, not just a count.
  const crashLooping = state.instances
    .filter((i) => view.isWanted(i.ordinal) && isCrashLooping(i))
    .sort((a, b) => a.ordinal - b.ordinal)[0];
  const readyMessage = `${readyReplicas} of ${spec.replicas} instances Ready`;
  const waiting = next.waitingFor ? `waiting for ${next.waitingFor}` : progressMessage(state, readyReplicas);

  const conditions: Condition[] = [];
  if (converged) conditions.push({ type: 'Ready', status: 'True', reason: 'AllReplicasReady', message: readyMessage });
  else {
    const counts = `${readyReplicas} Ready, ${spec.replicas} wanted`;
    if (!state.deleting && crashLooping) {
      const message = `${crashLoopMessage(instanceName(state.name, crashLooping.ordinal), crashLooping.restarts, crashLooping.lastError)}; ${counts}`;
      conditions.push({ type: 'Ready', status: 'False', reason: 'CrashLoopBackOff', message });
    } else {
      const reason = state.deleting ? 'Deleting' : pausedUpdate ? 'RolloutPaused' : 'ReplicasNotReady';
      conditions.push({ type: 'Ready', status: 'False', reason, message: counts });
    }
  }
  if (state.deleting) {
    conditions.push({ type: 'Progressing', status: 'True', reason: 'Deleting', message: progressMessage(state, readyReplicas) });
  } else if (pausedUpdate) {
    conditions.push({ type: 'Progressing', status: 'Unknown', reason: 'RolloutPaused', message: 'the rollout is paused; resume it to go on' });
  } else if (stuck) {
    conditions.push({
      type: 'Progressing',
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
      message: `no progress for ${spec.progressDeadlineSeconds}s; ${waiting}`,
    });
  } else if (converged) {
    conditions.push({ type: 'Progressing', status: 'True', reason: 'RolloutComplete', message: `${state.updateRevision} is rolled out` });
  } else {
    conditions.push({ type: 'Progressing', status: 'True', reason: rollingBack ? 'RollingBack' : 'Reconciling', message: waiting });
  }
  const minimum = Math.max(0, spec.replicas - (spec.updateStrategy.type === 'RollingUpdate' ? maxUnavailableCount(spec) : 0));
  conditions.push(
    availableReplicas >= minimum
      ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: `${availableReplicas} available, at least ${minimum} needed` }
      : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: `${availableReplicas} available, at least ${minimum} needed` },
  );
  conditions.push(dnsReadyCondition(outcome));
  if (failing.length > 0) {
    const first = failing[0];
    conditions.push({
      type: 'ReplicaFailure',
      status: 'True',
      reason: first.phase === 'CrashLoopBackOff' ? 'CrashLoopBackOff' : 'InstanceFailed',
      message: `${first.name}: ${first.reason ?? first.phase}`,
    });
  }

  if (outcome && outcome.conflicts.length > 0) {
    conditions.push({
      type: 'DNSConflict',
      status: 'True',
      reason: 'NameTaken',
      message: outcome.conflicts.map((c) => `${c.name} ${c.type}: ${c.reason}`).join('; '),
    });
  }

  let phase: SetPhase;
  if (state.deleting) phase = 'Deleting';
  else if (converged) phase = 'Ready';
  else if (failing.length > 0 || stuck || dnsTrouble) phase = 'Degraded';
  else if (pausedUpdate) phase = 'Paused';
  else if (state.instances.length === 0 && spec.replicas > 0) phase = 'Pending';
  else phase = 'Progressing';

  const status: SetStatus = {
    phase,
    observedGeneration: state.observedGeneration,
    replicas: state.instances.length,
    readyReplicas,
    availableReplicas,
    currentReplicas,
    updatedReplicas,
    currentRevision: state.currentRevision ?? null,
    updateRevision: state.updateRevision ?? null,
    conditions,
    instances,
    dns: {
      provider: spec.dns.provider,
      zone: spec.dns.zone,
      propagating: outcome?.propagating ?? [],
      conflicts: outcome?.conflicts ?? [],
    },
  };
  if (state.lastRollback) {
    const { from, to, at, reason } = state.lastRollback;
    status.lastRollback = { from, to, at: new Date(at).toISOString(), reason };
  }
  return status;
}

/** DNSReady: the provider took the records (an error says the provider's code and what to do). */
function dnsReadyCondition(outcome: PublishOutcome | undefined): Condition {
  if (outcome?.error) {
    return { type: 'DNSReady', status: 'False', reason: outcome.error.code, message: `${outcome.error.message}; ${outcome.error.hint}` };
  }
  if (outcome && outcome.failed.length > 0) {
    const first = outcome.failed[0];
    return { type: 'DNSReady', status: 'False', reason: 'ChangeRejected', message: `${first.name} ${first.type}: ${first.code}: ${first.message}` };
  }
  if (outcome && outcome.propagating.length > 0) {
    return { type: 'DNSReady', status: 'True', reason: 'Propagating', message: `still propagating: ${outcome.propagating.join(', ')}` };
  }
  return { type: 'DNSReady', status: 'True', reason: 'Published', message: 'every name is published' };
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

export interface RevisionView {
  name: string;
  /** 1, 2, 3 ...: `ordinal rollout undo --to-revision N` takes it. */
  revision: number;
  generation: number;
  createdAt: string;
  current: boolean;
  update: boolean;
  /** Instances running it now. */
  replicas: number;
  template: Template;
}

/** The set's revisions, newest first, as GET /v1/sets/{name}/revisions lists them. */
export function revisionsView(state: SetState): RevisionView[] {
  return [...state.revisions]
    .sort((a, b) => b.number - a.number)
    .map((r) => ({
      name: r.name,
      revision: r.number,
      generation: r.generation,
      createdAt: new Date(r.createdAt).toISOString(),
      current: r.name === state.currentRevision,
      update: r.name === state.updateRevision,
      replicas: state.instances.filter((i) => i.phase === 'Running' && i.revision === r.name).length,
      template: r.template,
    }));
}
