// The planner: desired spec + observed instances + time in, the next actions out. Every StatefulSet
// ordering rule lives here, so the workflow only executes what this decides. Pure and deterministic.
import { desiredRecords, recordsFingerprint, sameTarget, type DnsTarget, type RecordSet } from './dns-records.js';
import { desiredOrdinals, maxUnavailableCount, type SetSpec } from './manifest.js';
import { instanceName } from './names.js';
import type { InstanceState } from './instance.js';
import type { SetState } from './set-state.js';

export type DeleteReason =
  /** The user deleted the instance; it comes back under the same name. */
  | 'requested'
  /** Its process failed liveness (and may still run): stop it before recreating. */
  | 'failed'
  /** Rolling update: replaced by an incarnation of the revision its ordinal should run. */
  | 'update'
  /** Its ordinal is no longer wanted (replicas, ordinals.start or reserveOrdinals changed). */
  | 'scale-down'
  /** The set is being deleted. */
  | 'set-deleted';

export type Action =
  /** Make the set's records exactly `records`; `published` lists the ordinals with a record of their own. */
  | { kind: 'publish'; records: RecordSet[]; fingerprint: string; published: number[]; target: DnsTarget; previous?: DnsTarget }
  /**
   * `awaitReady`: nothing else happens until this instance is Ready (OrderedReady), so its create may
   * wait for readiness itself and report it, saving a separate wait; the readiness rules are the same.
   */
  | { kind: 'create'; ordinal: number; incarnation: number; revision: string; awaitReady?: boolean }
  /**
   * Stop the instance and confirm it gone; `remove` drops the identity (scale-down, set deletion);
   * `deleteVolumes` also deletes its volumes (the retention policy says Delete).
   */
  | { kind: 'delete'; ordinal: number; reason: DeleteReason; remove: boolean; deleteVolumes: boolean }
  /** The rollout made no progress in time and autoRollback is on: go back to `revision`. */
  | { kind: 'rollback'; revision: string; reason: string };

export interface Plan {
  /**
   * What to do now. Empty: wait for a change (an instance event, an update, or `wakeAt`). Under
   * OrderedReady at most one; under Parallel every action that is ready to go, to run concurrently.
   */
  actions: Action[];
  /** Plan again at this workflow time even if nothing else happens (back-off, minReadySeconds, TTL). */
  wakeAt?: number;
  /** What progress waits on, for status and logs ("web-1 to become Ready"). */
  waitingFor?: string;
  /** Nothing is left to do: every wanted instance runs its revision and is Available, none is extra. */
  settled: boolean;
  /** The set was deleted: no instance and no record is left. */
  done: boolean;
}

const EMPTY_FINGERPRINT = recordsFingerprint([]);

export function plan(state: SetState, now: number): Plan {
  const manifest = state.manifest;
  if (!manifest) return { actions: [], settled: false, done: false };
  const view = new SetPlanView(state, now);

  const rollback = autoRollback(view);
  if (rollback) return { actions: [rollback], settled: false, done: false };

  const step = view.spec.podManagementPolicy === 'Parallel' ? parallelStep(view) : orderedStep(view);

  // DNS first: a name resolves to an instance only while it is Ready (or running, with
  // publishNotReadyAddresses) and not about to be stopped, so records go out before the next instance
  // starts and are withdrawn before one stops.
  const stopping = new Set(step.actions.filter((a) => a.kind === 'delete').map((a) => a.ordinal));
  const { records, published } = recordsFor(state, stopping);
  const fingerprint = recordsFingerprint(records);
  const target = dnsTarget(view.spec);
  const moved = state.dnsTarget !== undefined && !sameTarget(state.dnsTarget, target);
  const retry = state.dnsRetryAt !== undefined && state.dnsRetryAt <= now;
  if (fingerprint !== (state.publishedDns ?? EMPTY_FINGERPRINT) || moved || retry) {
    const publish: Action = { kind: 'publish', records, fingerprint, published, target };
    // A new provider or zone: the old place is emptied first.
    if (moved) publish.previous = state.dnsTarget;
    return { actions: [publish], settled: false, done: false };
  }

  // Ordered cutover: an instance whose record was just withdrawn keeps running for one TTL, so clients
  // that cached the name are not sent to a dead address.
  const ttlMs = view.spec.dns.ttl * 1000;
  let wakeAt = step.wakeAt;
  let waitingFor = step.waitingFor;
  const actions = step.actions.filter((action) => {
    if (action.kind !== 'delete' || action.reason === 'failed') return true;
    const unpublishedAt = view.instance(action.ordinal)?.unpublishedAt;
    if (unpublishedAt === undefined || unpublishedAt + ttlMs <= now) return true;
    wakeAt = earliest(wakeAt, unpublishedAt + ttlMs);
    waitingFor = `${instanceName(state.name, action.ordinal)}'s DNS record to expire from caches (TTL ${view.spec.dns.ttl}s)`;
    return false;
  });

  // Wake at the progress deadline to report it (only while it is ahead: a passed one stays reported).
  const deadline = view.progressDeadline();
  if (!step.settled && !state.deleting && deadline !== undefined && deadline > now) wakeAt = earliest(wakeAt, deadline);
  wakeAt = earliest(wakeAt, state.dnsRetryAt);
  return {
    actions,
    wakeAt,
    waitingFor,
    settled: step.settled,
    done: state.deleting && state.instances.length === 0,
  };
}

interface Step {
  actions: Action[];
  wakeAt?: number;
  waitingFor?: string;
  settled: boolean;
}

/** The set as the planner reads it: what is wanted, what each instance should run, what is available. */
export class SetPlanView {
  readonly spec: SetSpec;
  readonly wanted: number[];
  private readonly wantedSet: Set<number>;
  private readonly byOrdinal: Map<number, InstanceState>;

  constructor(
    readonly state: SetState,
    readonly now: number,
  ) {
    this.spec = state.manifest!.spec;
    this.wanted = desiredOrdinals(this.spec);
    this.wantedSet = new Set(this.wanted);
    this.byOrdinal = new Map(state.instances.map((i) => [i.ordinal, i]));
  }

  instance(ordinal: number): InstanceState | undefined {
    return this.byOrdinal.get(ordinal);
  }

  name(ordinal: number): string {
    return instanceName(this.state.name, ordinal);
  }

  isWanted(ordinal: number): boolean {
    return this.wantedSet.has(ordinal);
  }

  get paused(): boolean {
    return this.spec.updateStrategy.rollingUpdate?.paused === true;
  }

  get rolling(): boolean {
    return this.spec.updateStrategy.type === 'RollingUpdate';
  }

  get partition(): number {
    return this.spec.updateStrategy.rollingUpdate?.partition ?? 0;
  }

  /**
   * The revision a new incarnation at `ordinal` runs. RollingUpdate: the update revision at or above
   * the partition, the current one below it (even when recreated); while paused an instance keeps its
   * own. OnDelete: an instance keeps its own (a user's delete moves it to the update revision); a new
   * ordinal takes the update revision.
   */
  revisionFor(ordinal: number): string {
    const own = this.instance(ordinal)?.revision;
    const update = this.state.updateRevision!;
    if (!this.rolling) return own ?? update;
    if (this.paused && own) return own;
    return ordinal >= this.partition ? update : (this.state.currentRevision ?? update);
  }

  /** RollingUpdate: an instance at or above the partition that does not run the update revision. */
  outdated(instance: InstanceState): boolean {
    return this.rolling && instance.ordinal >= this.partition && instance.revision !== this.state.updateRevision;
  }

  /** Ready for at least minReadySeconds. */
  available(instance: InstanceState): boolean {
    if (instance.phase !== 'Running' || !instance.ready || instance.readySince === undefined) return false;
    return this.now >= instance.readySince + this.spec.minReadySeconds * 1000;
  }

  availableAt(instance: InstanceState): number | undefined {
    return instance.ready && instance.readySince !== undefined ? instance.readySince + this.spec.minReadySeconds * 1000 : undefined;
  }

  /** When the current rollout counts as stuck, or undefined without a reference point. */
  progressDeadline(): number | undefined {
    const since = this.state.progressAt;
    return since === undefined ? undefined : since + this.spec.progressDeadlineSeconds * 1000;
  }

  deleteAction(ordinal: number, reason: DeleteReason): Action {
    const remove = reason === 'scale-down' || reason === 'set-deleted';
    const policy = this.spec.persistentVolumeClaimRetentionPolicy;
    const deleteVolumes =
      this.spec.volumeClaimTemplates.length > 0 &&
      ((reason === 'scale-down' && policy.whenScaled === 'Delete') || (reason === 'set-deleted' && policy.whenDeleted === 'Delete'));
    return { kind: 'delete', ordinal, reason, remove, deleteVolumes };
  }

  /**
   * Create the instance at `ordinal`, unless its crash-loop back-off is still running. `awaitReady`:
   * the next step waits for it to be Ready anyway (OrderedReady).
   */
  createOrWait(ordinal: number, awaitReady = false): Step & { created: boolean } {
    const instance = this.instance(ordinal);
    const revision = this.revisionFor(ordinal);
    // A back-off belongs to the revision that crashed: a new revision starts at once (no stuck rollouts).
    if (instance?.backoffUntil !== undefined && instance.backoffUntil > this.now && instance.revision === revision) {
      return {
        actions: [],
        wakeAt: instance.backoffUntil,
        waitingFor: `${this.name(ordinal)} to restart after a crash-loop back-off`,
        settled: false,
        created: false,
      };
    }
    const incarnation = (instance?.incarnation ?? 0) + 1;
    const create: Action = { kind: 'create', ordinal, incarnation, revision };
    if (awaitReady) create.awaitReady = true;
    return { actions: [create], settled: false, created: true };
  }
}

/** Deleting, user deletes and failed processes: the same for both policies. */
function cleanup(view: SetPlanView, all: boolean): Action[] | undefined {
  const { state } = view;
  if (state.deleting) {
    const ordinals = state.instances.map((i) => i.ordinal).sort((a, b) => b - a);
    if (ordinals.length === 0) return [];
    return (all ? ordinals : ordinals.slice(0, 1)).map((o) => view.deleteAction(o, 'set-deleted'));
  }
  // Immediate, as deleting a pod is: a user's delete first, then failed processes (a liveness failure
  // may leave one running). Recreation still follows the policy's order.
  const requested = byOrdinal(state.instances.filter((i) => i.deleteRequested)).map((i) => view.deleteAction(i.ordinal, 'requested'));
  const failed = byOrdinal(state.instances.filter((i) => !i.deleteRequested && (i.phase === 'Failed' || i.phase === 'Terminating'))).map(
    (i) => view.deleteAction(i.ordinal, 'failed'),
  );
  const actions = [...requested, ...failed];
  if (actions.length === 0) return undefined;
  return all ? actions : actions.slice(0, 1);
}

/** OrderedReady: one action at a time, lowest ordinal first up, highest first down. */
function orderedStep(view: SetPlanView): Step {
  const early = cleanup(view, false);
  if (early) return { actions: early, settled: false };

  // Walk the wanted ordinals up; create the first missing one, and stop at the first that is not
  // Available yet: nothing above it is created, removed or updated meanwhile.
  for (const ordinal of view.wanted) {
    const instance = view.instance(ordinal);
    if (!instance || instance.phase === 'Pending') return view.createOrWait(ordinal, true);
    if (!instance.ready) {
      // No stuck rollouts: an instance that is not Ready on a revision it should no longer run is
      // replaced at once, without waiting for it and without spending the maxUnavailable budget.
      if (!view.paused && view.outdated(instance)) {
        return { actions: [view.deleteAction(ordinal, 'update')], settled: false };
      }
      return { actions: [], waitingFor: `${view.name(ordinal)} to become Ready`, settled: false };
    }
    if (!view.available(instance)) {
      return { actions: [], wakeAt: view.availableAt(instance), waitingFor: `${view.name(ordinal)} to be Ready for minReadySeconds`, settled: false };
    }
  }

  const condemned = extra(view);
  if (condemned.length > 0) return { actions: [view.deleteAction(condemned[0], 'scale-down')], settled: false };

  return updateStep(view);
}

/** Parallel: everything that can go, goes at once (the workflow runs creates in doubling batches). */
function parallelStep(view: SetPlanView): Step {
  const early = cleanup(view, true);
  if (early) return { actions: early, settled: false };

  const actions: Action[] = [];
  let wakeAt: number | undefined;
  let waitingFor: string | undefined;
  let allAvailable = true;
  for (const ordinal of view.wanted) {
    const instance = view.instance(ordinal);
    if (!instance || instance.phase === 'Pending') {
      const next = view.createOrWait(ordinal);
      actions.push(...next.actions);
      wakeAt = earliest(wakeAt, next.wakeAt);
      waitingFor ??= next.waitingFor;
      allAvailable = false;
    } else if (!instance.ready) {
      if (!view.paused && view.outdated(instance)) actions.push(view.deleteAction(ordinal, 'update'));
      waitingFor ??= `${view.name(ordinal)} to become Ready`;
      allAvailable = false;
    } else if (!view.available(instance)) {
      wakeAt = earliest(wakeAt, view.availableAt(instance));
      waitingFor ??= `${view.name(ordinal)} to be Ready for minReadySeconds`;
      allAvailable = false;
    }
  }
  actions.push(...extra(view).map((o) => view.deleteAction(o, 'scale-down')));
  if (actions.length > 0 || !allAvailable) {
    // Updates may still go on beside creations, within the unavailability budget.
    const updates = updateStep(view);
    const busy = new Set(actions.map((a) => (a.kind === 'create' || a.kind === 'delete' ? a.ordinal : -1)));
    actions.push(...updates.actions.filter((a) => a.kind === 'delete' && !busy.has(a.ordinal)));
    return { actions, wakeAt, waitingFor, settled: false };
  }
  return updateStep(view);
}

/** Instances whose ordinal is no longer wanted, highest first. */
function extra(view: SetPlanView): number[] {
  return view.state.instances
    .filter((i) => !view.isWanted(i.ordinal))
    .map((i) => i.ordinal)
    .sort((a, b) => b - a);
}

/**
 * RollingUpdate: replace outdated instances, highest ordinal first, keeping at most maxUnavailable
 * wanted instances unavailable. OnDelete and a paused rollout replace nothing.
 */
function updateStep(view: SetPlanView): Step {
  const wanted = view.wanted.map((o) => view.instance(o));
  const outdated = wanted.filter((i): i is InstanceState => i !== undefined && view.outdated(i)).sort((a, b) => b.ordinal - a.ordinal);
  const allAvailable = wanted.every((i) => i !== undefined && view.available(i));
  if (outdated.length === 0) return { actions: [], settled: allAvailable };
  // Paused: nothing to do until resumed (no progress deadline meanwhile, as a paused Deployment).
  if (view.paused) return { actions: [], settled: allAvailable, waitingFor: 'the rollout to be resumed' };

  const unavailable = wanted.filter((i) => i === undefined || !view.available(i)).length;
  const budget = Math.max(0, maxUnavailableCount(view.spec) - unavailable);
  const replace = outdated.filter((i) => view.available(i)).slice(0, budget);
  const actions = replace.map((i) => view.deleteAction(i.ordinal, 'update'));
  const waitingFor = actions.length === 0 ? `an unavailable instance to recover before replacing ${view.name(outdated[0].ordinal)}` : undefined;
  return { actions, waitingFor, settled: false };
}

/** After ProgressDeadlineExceeded, with autoRollback on: back to the last revision that was fully Ready. */
function autoRollback(view: SetPlanView): Action | undefined {
  const { state, spec } = view;
  if (!spec.autoRollback || state.deleting) return undefined;
  const deadline = view.progressDeadline();
  const target = state.lastGoodRevision;
  if (deadline === undefined || view.now < deadline || !target || target === state.updateRevision) return undefined;
  if (!state.revisions.some((r) => r.name === target)) return undefined;
  return {
    kind: 'rollback',
    revision: target,
    reason: `no progress for ${spec.progressDeadlineSeconds}s on ${state.updateRevision}; back to ${target}, the last revision that was fully Ready`,
  };
}

/**
 * The records the set should publish: instances that are Ready (or running, with
 * publishNotReadyAddresses), except those about to be stopped. A cordoned instance keeps its own name
 * but leaves the service records.
 */
export function recordsFor(state: SetState, stopping: ReadonlySet<number> = new Set()): { records: RecordSet[]; published: number[] } {
  const spec = state.manifest!.spec;
  const instances = state.instances
    .filter((i) => i.phase === 'Running' && i.handle && (i.ready || spec.dns.publishNotReadyAddresses) && !stopping.has(i.ordinal))
    .map((i) => ({ ordinal: i.ordinal, address: i.handle!.address, inService: !i.cordoned }));
  const records = desiredRecords({
    set: state.name,
    serviceName: spec.serviceName,
    zone: spec.dns.zone,
    ttl: spec.dns.ttl,
    ports: spec.template.ports,
    instances,
  });
  return { records, published: instances.map((i) => i.ordinal) };
}

/** Where a spec's records go. */
export function dnsTarget(spec: SetSpec): DnsTarget {
  const target: DnsTarget = { provider: spec.dns.provider, zone: spec.dns.zone };
  if (spec.dns.hostedZoneId !== undefined) target.hostedZoneId = spec.dns.hostedZoneId;
  if (spec.dns.private !== undefined) target.private = spec.dns.private;
  return target;
}

/**
 * Parallel creations go in doubling batches (1, 2, 4, ...), as Kubernetes' slow start: a template that
 * cannot start fails once, not a thousand times at once.
 */
export function slowStartBatches<T>(items: T[]): T[][] {
  const batches: T[][] = [];
  for (let start = 0, size = 1; start < items.length; start += size, size *= 2) batches.push(items.slice(start, start + size));
  return batches;
}

/**
 * How one Parallel step runs: every deletion at once, as Kubernetes deletes pods under Parallel (a
 * scale-down from 3 to 0 stops all three together, within one grace period), and creations in doubling
 * batches, the first batch beside the deletions.
 */
export function parallelBatches<T extends { kind: string }>(actions: T[]): T[][] {
  const others = actions.filter((a) => a.kind !== 'create');
  const batches = slowStartBatches(actions.filter((a) => a.kind === 'create'));
  if (others.length === 0) return batches;
  if (batches.length === 0) return [others];
  return [[...others, ...batches[0]!], ...batches.slice(1)];
}

function byOrdinal(instances: InstanceState[]): InstanceState[] {
  return [...instances].sort((a, b) => a.ordinal - b.ordinal);
}

function earliest(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
