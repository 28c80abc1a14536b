// Which events each transition of a set makes (core/events.ts keeps them). Instance events come from the
// transition that caused them, which alone knows why (an exit or a failed liveness probe, a scale-down or
// an update); the set's own events (scaling, rollouts, DNS conflicts, deletion) come from comparing its
// view before and after a step, so every path that changes them is covered once. Pure.
import type { PublishOutcome } from './dns-records.js';
import type { NewEvent } from './events.js';
import type { Incarnation, InstanceChange, InstanceState } from './instance.js';
import { instanceDnsName, instanceName } from './names.js';
import type { Action, DeleteReason } from './planner.js';
import type { SetState } from './set-state.js';
import type { SetView } from './status.js';

type CreateAction = Extract<Action, { kind: 'create' }>;
type DeleteAction = Extract<Action, { kind: 'delete' }>;

function about(state: SetState, ordinal: number, incarnation?: number): Pick<NewEvent, 'instance' | 'ordinal' | 'incarnation'> {
  return { instance: instanceName(state.name, ordinal), ordinal, ...(incarnation ? { incarnation } : {}) };
}

function find(state: SetState, ordinal: number): InstanceState | undefined {
  return state.instances.find((i) => i.ordinal === ordinal);
}

/** A back-off that is running after a failure: when the next incarnation may start. */
function backoffEvent(state: SetState, instance: InstanceState | undefined, now: number): NewEvent[] {
  if (!instance?.backoffUntil || instance.backoffUntil <= now) return [];
  const seconds = Math.round((instance.backoffUntil - now) / 100) / 10;
  return [
    {
      type: 'Warning',
      reason: 'BackOff',
      message: `back-off ${seconds}s restarting failed ${instanceName(state.name, instance.ordinal)} (until ${new Date(instance.backoffUntil).toISOString()}, ${instance.consecutiveFailures} failures in a row)`,
      ...about(state, instance.ordinal, instance.incarnation),
    },
  ];
}

/** Before its create runs. */
export function creatingEvents(state: SetState, action: CreateAction): NewEvent[] {
  return [
    {
      type: 'Normal',
      reason: 'Created',
      message: `creating ${instanceName(state.name, action.ordinal)} (incarnation ${action.incarnation}, revision ${action.revision})`,
      ...about(state, action.ordinal, action.incarnation),
    },
  ];
}

/**
 * After its create returned: started, and Ready when the create saw it so; `notReadyReason`: the create
 * waited for readiness in vain, and the readiness probe's last output says why.
 */
export function createdEvents(state: SetState, action: CreateAction, handle: Incarnation, ready: boolean, notReadyReason?: string): NewEvent[] {
  const name = instanceName(state.name, action.ordinal);
  const events: NewEvent[] = [
    { type: 'Normal', reason: 'Started', message: `started ${name} at ${handle.address} (incarnation ${handle.incarnation})`, ...about(state, action.ordinal, handle.incarnation) },
  ];
  const instance = find(state, action.ordinal);
  if (ready || instance?.ready) events.push(readyEvent(state, action.ordinal, handle.incarnation));
  else if (notReadyReason) {
    events.push({ type: 'Warning', reason: 'NotReady', message: `${name} is not Ready yet: ${notReadyReason}`, ...about(state, action.ordinal, handle.incarnation) });
  }
  return events;
}

function readyEvent(state: SetState, ordinal: number, incarnation: number): NewEvent {
  return { type: 'Normal', reason: 'Ready', message: `${instanceName(state.name, ordinal)} is Ready`, ...about(state, ordinal, incarnation) };
}

export function createFailedEvents(state: SetState, action: CreateAction, error: string, now: number): NewEvent[] {
  return [
    { type: 'Warning', reason: 'CreateFailed', message: `creating ${instanceName(state.name, action.ordinal)} failed: ${error}`, ...about(state, action.ordinal, action.incarnation) },
    ...backoffEvent(state, find(state, action.ordinal), now),
  ];
}

/**
 * What a watch saw, as applied: `before` is the instances as they were, so a change the state ignored
 * (about an older incarnation, or no change at all) makes no event.
 */
export function changeEvents(state: SetState, before: InstanceState[], changes: InstanceChange[], now: number): NewEvent[] {
  const events: NewEvent[] = [];
  for (const change of changes) {
    const was = before.find((i) => i.ordinal === change.ordinal);
    const is = find(state, change.ordinal);
    if (!was || !is || was.incarnation !== change.incarnation || was.phase !== 'Running') continue;
    const ref = about(state, change.ordinal, change.incarnation);
    const name = instanceName(state.name, change.ordinal);
    switch (change.kind) {
      case 'ready':
        if (!was.ready && is.ready) events.push(readyEvent(state, change.ordinal, change.incarnation));
        break;
      case 'unready':
        if (was.ready && !is.ready) events.push({ type: 'Warning', reason: 'NotReady', message: `${name} is not Ready: ${change.message}`, ...ref });
        break;
      case 'exited':
        events.push({ type: 'Warning', reason: 'Exited', message: `${name} ${change.message}`, ...ref }, ...backoffEvent(state, is, now));
        break;
      case 'liveness-failed':
        events.push({ type: 'Warning', reason: 'LivenessFailed', message: `${name}: ${change.message}`, ...ref }, ...backoffEvent(state, is, now));
        break;
    }
  }
  return events;
}

const STOP_REASONS: Record<DeleteReason, string> = {
  'scale-down': 'scale-down',
  update: 'update to the new revision',
  'set-deleted': 'the set is deleted',
  requested: 'deleted on request; it is replaced under the same name',
  failed: 'it failed; it is replaced under the same name',
};

export function stoppingEvents(state: SetState, action: DeleteAction): NewEvent[] {
  const instance = find(state, action.ordinal);
  return [
    {
      type: 'Normal',
      reason: 'Stopping',
      message: `stopping ${instanceName(state.name, action.ordinal)} (${STOP_REASONS[action.reason]})${action.deleteVolumes ? ', with its volumes' : ''}`,
      ...about(state, action.ordinal, instance?.incarnation),
    },
  ];
}

/** `incarnation`: the one that was stopped (the state may have forgotten the instance by now). */
export function stoppedEvents(state: SetState, action: DeleteAction, incarnation: number | undefined): NewEvent[] {
  return [
    {
      type: 'Normal',
      reason: 'Stopped',
      message: `stopped ${instanceName(state.name, action.ordinal)} (${STOP_REASONS[action.reason]})`,
      ...about(state, action.ordinal, incarnation),
    },
  ];
}

/**
 * After a publish: each instance whose own name was published or withdrawn (`before`: the ordinals
 * published until now), and what the provider refused.
 */
export function publishedEvents(state: SetState, before: ReadonlySet<number>, outcome: PublishOutcome | undefined): NewEvent[] {
  const spec = state.manifest!.spec;
  const events: NewEvent[] = [];
  for (const i of state.instances) {
    const dnsName = instanceDnsName(state.name, i.ordinal, spec.serviceName, spec.dns.zone);
    if (i.published && !before.has(i.ordinal)) {
      events.push({ type: 'Normal', reason: 'DNSPublished', message: `${dnsName} -> ${i.handle?.address ?? '?'}`, ...about(state, i.ordinal, i.incarnation) });
    } else if (!i.published && before.has(i.ordinal)) {
      events.push({ type: 'Normal', reason: 'DNSWithdrawn', message: `${dnsName} withdrawn`, ...about(state, i.ordinal, i.incarnation) });
    }
  }
  // Instances removed from the state (scaled away) were withdrawn with this publish too.
  for (const ordinal of before) {
    if (find(state, ordinal)) continue;
    const dnsName = instanceDnsName(state.name, ordinal, spec.serviceName, spec.dns.zone);
    events.push({ type: 'Normal', reason: 'DNSWithdrawn', message: `${dnsName} withdrawn`, ...about(state, ordinal) });
  }
  const where = `${spec.dns.provider} ${spec.dns.zone}`;
  if (outcome?.error) events.push({ type: 'Warning', reason: 'DNSError', message: `publishing to ${where} failed: ${outcome.error.code}: ${outcome.error.message}` });
  for (const change of outcome?.failed ?? []) {
    events.push({ type: 'Warning', reason: 'DNSError', message: `${change.name} ${change.type} rejected by ${where}: ${change.code}: ${change.message}` });
  }
  return events;
}

export function adoptedEvents(state: SetState, adopted: Incarnation[]): NewEvent[] {
  return adopted.map((h) => ({
    type: 'Normal' as const,
    reason: 'Adopted' as const,
    message: `adopted ${instanceName(state.name, h.ordinal)} already running at ${h.address} (incarnation ${h.incarnation})`,
    ...about(state, h.ordinal, h.incarnation),
  }));
}

export function cordonEvents(state: SetState, ordinal: number, cordoned: boolean): NewEvent[] {
  const name = instanceName(state.name, ordinal);
  return [
    cordoned
      ? { type: 'Normal', reason: 'Cordoned', message: `${name} cordoned: out of the service records, kept running`, ...about(state, ordinal) }
      : { type: 'Normal', reason: 'Uncordoned', message: `${name} uncordoned: back in the service records`, ...about(state, ordinal) },
  ];
}

export function instanceDeletionEvents(state: SetState, ordinal: number, requestedBy?: string): NewEvent[] {
  const name = instanceName(state.name, ordinal);
  return [{ type: 'Normal', reason: 'DeletionRequested', message: `deletion of ${name} requested${requestedBy ? ` by ${requestedBy}` : ''}`, ...about(state, ordinal) }];
}

function paused(view: SetView): boolean {
  const strategy = view.spec.updateStrategy;
  return strategy.type === 'RollingUpdate' && strategy.rollingUpdate?.paused === true;
}

function condition(view: SetView, type: string) {
  return view.status.conditions.find((c) => c.type === type);
}

/** The set's own events between two views of it (`before` undefined: the set was just created). */
export function setEvents(before: SetView | undefined, after: SetView): NewEvent[] {
  const events: NewEvent[] = [];
  const spec = after.spec;
  const status = after.status;
  if (!before) {
    events.push({ type: 'Normal', reason: 'Scaled', message: `set created with ${spec.replicas} replicas (revision ${status.updateRevision})` });
    return events;
  }
  if (after.metadata.deletionRequested && !before.metadata.deletionRequested) {
    events.push({ type: 'Normal', reason: 'DeletionRequested', message: `deletion of set ${after.metadata.name} requested: instances stop, highest ordinal first` });
  }
  if (spec.replicas !== before.spec.replicas) {
    events.push({ type: 'Normal', reason: 'Scaled', message: `scaled from ${before.spec.replicas} to ${spec.replicas} replicas` });
  }
  const rolledBack = after.status.lastRollback && after.status.lastRollback.at !== before.status.lastRollback?.at ? after.status.lastRollback : undefined;
  if (rolledBack) {
    events.push({ type: 'Warning', reason: 'RolledBack', message: `rolled back from ${rolledBack.from} to ${rolledBack.to}: ${rolledBack.reason}` });
  } else if (status.updateRevision !== before.status.updateRevision) {
    events.push({ type: 'Normal', reason: 'RolloutStarted', message: `rollout of ${status.updateRevision} started (generation ${after.metadata.generation})` });
  }
  if (paused(after) !== paused(before)) {
    events.push(
      paused(after)
        ? { type: 'Normal', reason: 'RolloutPaused', message: 'rollout paused: no instance is replaced until it is resumed' }
        : { type: 'Normal', reason: 'RolloutResumed', message: 'rollout resumed' },
    );
  }
  const rollingOut = status.updateRevision !== status.currentRevision;
  if (rollingOut && status.updatedReplicas > before.status.updatedReplicas && status.updateRevision === before.status.updateRevision) {
    events.push({ type: 'Normal', reason: 'RolloutProgressed', message: `${status.updatedReplicas} of ${spec.replicas} instances on ${status.updateRevision}` });
  }
  if (status.currentRevision !== before.status.currentRevision && status.currentRevision === status.updateRevision && before.status.currentRevision !== null) {
    events.push({ type: 'Normal', reason: 'RolloutCompleted', message: `${status.updateRevision} is rolled out to ${spec.replicas} instances` });
  }
  const progressing = condition(after, 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded' && condition(before, 'Progressing')?.reason !== 'ProgressDeadlineExceeded') {
    events.push({ type: 'Warning', reason: 'ProgressDeadlineExceeded', message: progressing.message });
  }
  const known = new Set(before.status.dns.conflicts.map((c) => `${c.name} ${c.type}`));
  for (const conflict of status.dns.conflicts) {
    if (known.has(`${conflict.name} ${conflict.type}`)) continue;
    events.push({ type: 'Warning', reason: 'DNSConflict', message: `${conflict.name} ${conflict.type} is not published: ${conflict.reason}` });
  }
  return events;
}
