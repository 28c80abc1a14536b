// The planner: desired spec + observed instances + time in, the next actions out. Every StatefulSet
// ordering rule lives here, so the workflow only executes what this decides. Pure and deterministic.
import { desiredRecords, recordsFingerprint, type RecordSet } from './dns-records.js';
import { instanceName } from './names.js';
import type { InstanceState, SetState } from './set-state.js';

export type DeleteReason =
  /** The user deleted the instance; it comes back under the same name. */
  | 'requested'
  /** Its process exited or failed liveness; clean up before recreating. */
  | 'failed'
  /** Rolling update: replaced by an incarnation of the update revision. */
  | 'update'
  /** Its ordinal is at or above spec.replicas. */
  | 'scale-down'
  /** The set is being deleted. */
  | 'set-deleted';

export type Action =
  | { kind: 'publish'; records: RecordSet[]; fingerprint: string }
  | { kind: 'create'; ordinal: number; incarnation: number; revision: string }
  /** Stop the instance and confirm it gone; `remove` drops the identity (scale-down, set deletion). */
  | { kind: 'delete'; ordinal: number; reason: DeleteReason; remove: boolean };

export interface Plan {
  /** What to do now, in order. Empty: wait for a change (an instance event, an update, or `wakeAt`). */
  actions: Action[];
  /** Plan again at this workflow time even if nothing else happens (a crash-loop back-off ends). */
  wakeAt?: number;
  /** What progress waits on, for status and logs ("web-1 to become Ready"). */
  waitingFor?: string;
  /** Every in-range instance runs the update revision and is Ready, and nothing is out of range. */
  settled: boolean;
  /** The set was deleted: no instance and no record is left. */
  done: boolean;
}

const EMPTY_FINGERPRINT = recordsFingerprint([]);

export function plan(state: SetState, now: number): Plan {
  const manifest = state.manifest;
  if (!manifest) return { actions: [], settled: false, done: false };
  const step = structuralStep(state, now);

  // DNS comes first: a name must resolve to an instance only while it is Ready and not about to be
  // stopped, so records are published before the next instance starts and removed before one stops.
  const records = recordsFor(state, step.action?.kind === 'delete' ? step.action.ordinal : undefined);
  const fingerprint = recordsFingerprint(records);
  const published = state.publishedDns ?? EMPTY_FINGERPRINT;
  if (fingerprint !== published) {
    return { actions: [{ kind: 'publish', records, fingerprint }], settled: false, done: false };
  }

  const done = state.deleting && state.instances.length === 0;
  return {
    actions: step.action ? [step.action] : [],
    wakeAt: step.wakeAt,
    waitingFor: step.waitingFor,
    settled: step.settled,
    done,
  };
}

interface Step {
  action?: Action;
  wakeAt?: number;
  waitingFor?: string;
  settled: boolean;
}

function structuralStep(state: SetState, now: number): Step {
  const spec = state.manifest!.spec;
  const byOrdinal = new Map(state.instances.map((i) => [i.ordinal, i]));
  const name = (ordinal: number) => instanceName(state.name, ordinal);

  // Deleting the set: highest ordinal first, one at a time, whatever their health.
  if (state.deleting) {
    const highest = maxOrdinal(state.instances);
    if (highest === undefined) return { settled: false };
    return { action: { kind: 'delete', ordinal: highest, reason: 'set-deleted', remove: true }, settled: false };
  }

  // Clean-up is immediate, as deleting a pod is: a user's delete first, then failed processes (a
  // liveness failure may leave one running). Recreation below still follows the ordinal order.
  const cleanup =
    lowest(state.instances.filter((i) => i.deleteRequested)) ??
    lowest(state.instances.filter((i) => i.phase === 'Failed' || i.phase === 'Terminating'));
  if (cleanup) {
    const reason: DeleteReason = cleanup.deleteRequested ? 'requested' : 'failed';
    return { action: { kind: 'delete', ordinal: cleanup.ordinal, reason, remove: false }, settled: false };
  }

  // OrderedReady: walk the ordinals up; create the first missing one, and stop at the first that is
  // not Ready yet (nothing above it is created, scaled down or updated meanwhile).
  for (let ordinal = 0; ordinal < spec.replicas; ordinal++) {
    const instance = byOrdinal.get(ordinal);
    if (!instance || instance.phase === 'Pending') {
      if (instance?.backoffUntil !== undefined && instance.backoffUntil > now) {
        return { wakeAt: instance.backoffUntil, waitingFor: `${name(ordinal)} to restart after a crash-loop back-off`, settled: false };
      }
      const incarnation = (instance?.incarnation ?? 0) + 1;
      return { action: { kind: 'create', ordinal, incarnation, revision: state.updateRevision! }, settled: false };
    }
    if (!instance.ready) return { waitingFor: `${name(ordinal)} to become Ready`, settled: false };
  }

  // Scale down: the highest ordinal out of range first.
  const condemned = maxOrdinal(state.instances.filter((i) => i.ordinal >= spec.replicas));
  if (condemned !== undefined) {
    return { action: { kind: 'delete', ordinal: condemned, reason: 'scale-down', remove: true }, settled: false };
  }

  // Rolling update: the highest ordinal still on an old revision is replaced, one at a time.
  const outdated = maxOrdinal(state.instances.filter((i) => i.revision !== state.updateRevision));
  if (outdated !== undefined) {
    return { action: { kind: 'delete', ordinal: outdated, reason: 'update', remove: false }, settled: false };
  }

  return { settled: true };
}

/** The records the set should publish: its Ready instances, except the one about to be stopped. */
export function recordsFor(state: SetState, stopping?: number): RecordSet[] {
  const spec = state.manifest!.spec;
  const instances = state.instances
    .filter((i) => i.phase === 'Running' && i.ready && i.handle && i.ordinal !== stopping)
    .map((i) => ({ ordinal: i.ordinal, address: i.handle!.address }));
  return desiredRecords({
    set: state.name,
    serviceName: spec.serviceName,
    zone: spec.dns.zone,
    ttl: spec.dns.ttl,
    ports: spec.template.ports,
    instances,
  });
}

function maxOrdinal(instances: InstanceState[]): number | undefined {
  return instances.length === 0 ? undefined : Math.max(...instances.map((i) => i.ordinal));
}

function lowest(instances: InstanceState[]): InstanceState | undefined {
  return instances.length === 0 ? undefined : instances.reduce((a, b) => (a.ordinal <= b.ordinal ? a : b));
}
