// How requests and observations change a set's state. Each function mutates the given state in place
// (the workflow owns exactly one) and is deterministic, so the workflow stays a thin shell.
import type { PublishOutcome } from './dns-records.js';
import type { Incarnation, InstanceChange, InstanceState } from './instance.js';
import type { Action } from './planner.js';
import { IMMUTABLE_FIELDS, desiredOrdinals, hasReadinessGate, immutableTemplateChanges, validateManifest, type FieldIssue, type Manifest } from './manifest.js';
import { instanceName } from './names.js';
import { canonicalJson, revisionName } from './revision.js';
import { backoffPolicy, recordFailure, type SetState } from './set-state.js';
import { setView, type SetView } from './status.js';

export type RejectionType = 'InvalidManifest' | 'BadRequest' | 'Conflict' | 'NotFound';

export interface Rejection {
  type: RejectionType;
  message: string;
  details?: FieldIssue[];
}

// ---- requests (validated synchronously by update validators, then applied by the handlers) ----

export type Checked<T> = { ok: true; value: T } | { ok: false; rejection: Rejection };

export function checkApply(state: SetState, document: unknown, expectedGeneration?: number): Checked<Manifest> {
  const reject = (rejection: Rejection): Checked<Manifest> => ({ ok: false, rejection });
  if (state.deleting) {
    return reject({ type: 'Conflict', message: `set '${state.name}' is being deleted; apply again once it is gone` });
  }
  if (expectedGeneration !== undefined && expectedGeneration !== state.generation) {
    return reject({
      type: 'Conflict',
      message: `set '${state.name}' is at generation ${state.generation}, not ${expectedGeneration}: it changed meanwhile; read it again and retry`,
    });
  }
  const parsed = validateManifest(document);
  if (!parsed.ok) return reject({ type: 'InvalidManifest', message: 'the manifest is invalid', details: parsed.issues });
  if (parsed.value.metadata.name !== state.name) {
    return reject({
      type: 'InvalidManifest',
      message: 'the manifest is invalid',
      details: [{ path: 'metadata.name', message: `must be '${state.name}', the name of the set it is applied to` }],
    });
  }
  if (state.manifest) {
    const details = (Object.keys(IMMUTABLE_FIELDS) as Array<keyof typeof IMMUTABLE_FIELDS>)
      .filter((field) => canonicalJson(state.manifest!.spec[field]) !== canonicalJson(parsed.value.spec[field]))
      .map((field) => ({ path: `spec.${field}`, message: `cannot change once the set exists: ${IMMUTABLE_FIELDS[field]}` }));
    details.push(...immutableTemplateChanges(state.manifest.spec.template, parsed.value.spec.template));
    if (details.length > 0) return reject({ type: 'InvalidManifest', message: 'the manifest changes immutable fields', details });
  }
  return { ok: true, value: parsed.value };
}

/** Applies a validated manifest; returns whether this created the set. */
export function applyManifest(state: SetState, manifest: Manifest, now: number): { created: boolean } {
  const created = state.manifest === undefined;
  const specChanged = created || canonicalJson(state.manifest!.spec) !== canonicalJson(manifest.spec);
  state.manifest = manifest;
  if (created) state.createdAt = now;
  if (!specChanged) return { created };

  state.generation += 1;
  // A new generation starts a new rollout: the progress deadline counts from here.
  state.progressAt = now;
  const revision = revisionName(state.name, manifest.spec.template);
  // Only a template change makes (or brings back) a revision; scaling or pausing does not.
  if (revision !== state.updateRevision) useRevision(state, revision, manifest.spec.template, now);
  else pruneRevisions(state);
  if (created) state.currentRevision = state.updateRevision;
  return { created };
}

/** What an apply would make of the set: the set as it would be answered, and whether it would create it. */
export interface ApplyPreview {
  set: SetView;
  created: boolean;
}

/**
 * A dry run of an apply: the same checks (checkApply) and the same transition (applyManifest) as the
 * real one, on a copy of the state, so `state` itself is never changed (a query handler calls this).
 */
export function previewApply(state: SetState, document: unknown, expectedGeneration: number | undefined, now: number): Checked<ApplyPreview> {
  const checked = checkApply(state, document, expectedGeneration);
  if (!checked.ok) return { ok: false, rejection: checked.rejection };
  // The state is durable JSON (carried across continue-as-new), so a JSON copy is a full one.
  const copy = JSON.parse(JSON.stringify(state)) as SetState;
  const { created } = applyManifest(copy, checked.value, now);
  return { ok: true, value: { set: setView(copy, now), created } };
}

/**
 * Brings state saved by an earlier version of Ordinal up to date (it is carried across
 * continue-as-new and restarts): revisions without a number or a time get them, in order.
 */
export function upgradeState(state: SetState): void {
  state.revisions.forEach((r, index) => {
    r.number ??= index + 1;
    r.createdAt ??= state.createdAt ?? 0;
  });
}

/**
 * Makes `name` the update revision. A template seen before keeps its name (a rollback) but, as in
 * Kubernetes, gets the next revision number.
 */
function useRevision(state: SetState, name: string, template: Manifest['spec']['template'], now: number): void {
  const number = Math.max(0, ...state.revisions.map((r) => r.number)) + 1;
  const known = state.revisions.find((r) => r.name === name);
  if (known) Object.assign(known, { number: known.name === state.updateRevision ? known.number : number, generation: state.generation, createdAt: now });
  else state.revisions.push({ name, number, template, generation: state.generation, createdAt: now });
  state.updateRevision = name;
  pruneRevisions(state);
}

/** autoRollback: the spec's template goes back to an earlier revision, as a new generation. */
export function applyRollback(state: SetState, action: Extract<Action, { kind: 'rollback' }>, now: number): void {
  const target = state.revisions.find((r) => r.name === action.revision);
  if (!target || !state.manifest) return;
  const from = state.updateRevision!;
  state.manifest = { ...state.manifest, spec: { ...state.manifest.spec, template: target.template } };
  state.generation += 1;
  state.progressAt = now;
  useRevision(state, target.name, target.template, now);
  state.lastRollback = { from, to: target.name, at: now, reason: action.reason };
}

/** Once settled: with every wanted instance on the update revision, it becomes current and known good. */
export function noteSettled(state: SetState): void {
  const wanted = new Set(desiredOrdinals(state.manifest!.spec));
  const instances = state.instances.filter((i) => wanted.has(i.ordinal));
  if (instances.length === wanted.size && instances.every((i) => i.revision === state.updateRevision)) {
    state.currentRevision = state.updateRevision;
    state.lastGoodRevision = state.updateRevision;
    pruneRevisions(state);
  }
}

export function checkDeleteInstance(state: SetState, ordinal: unknown): Rejection | undefined {
  if (typeof ordinal !== 'number' || !Number.isInteger(ordinal) || ordinal < 0) {
    return { type: 'BadRequest', message: 'ordinal must be a non-negative integer', details: [{ path: 'ordinal', message: 'must be a non-negative integer' }] };
  }
  if (state.deleting) return { type: 'Conflict', message: `set '${state.name}' is being deleted` };
  if (!state.instances.some((i) => i.ordinal === ordinal)) {
    return { type: 'NotFound', message: `instance ${instanceName(state.name, ordinal)} does not exist` };
  }
  return undefined;
}

export function requestInstanceDeletion(state: SetState, ordinal: number): void {
  const instance = state.instances.find((i) => i.ordinal === ordinal);
  if (instance) instance.deleteRequested = true;
}

export function checkCordon(state: SetState, ordinal: unknown): Rejection | undefined {
  return checkDeleteInstance(state, ordinal);
}

/** Cordon: out of the service records (A and SRV), its own name kept, kept running. */
export function setCordon(state: SetState, ordinal: number, cordoned: boolean): void {
  const found = state.instances.find((i) => i.ordinal === ordinal);
  if (found) found.cordoned = cordoned;
}

export function requestSetDeletion(state: SetState): void {
  state.deleting = true;
}

// ---- observations (activity results) ----

/** The template of a revision; the update revision's for one this set does not know (adopted). */
export function templateOf(state: SetState, revision: string) {
  const found = state.revisions.find((r) => r.name === revision) ?? state.revisions.find((r) => r.name === state.updateRevision);
  if (!found) throw new Error(`set ${state.name} has no revision ${revision}`);
  return found.template;
}

function instance<Handle extends Incarnation>(state: SetState<Handle>, ordinal: number): InstanceState<Handle> | undefined {
  return state.instances.find((i) => i.ordinal === ordinal);
}

function upsertInstance<Handle extends Incarnation>(state: SetState<Handle>, next: InstanceState<Handle>): void {
  const index = state.instances.findIndex((i) => i.ordinal === next.ordinal);
  if (index === -1) state.instances.push(next);
  else state.instances[index] = next;
  state.instances.sort((a, b) => a.ordinal - b.ordinal);
}

/** Marks an instance Pending before its create runs, so status shows it while it starts. */
export function markCreating(state: SetState, action: Extract<Action, { kind: 'create' }>): void {
  const existing = instance(state, action.ordinal);
  upsertInstance(state, {
    restarts: 0,
    consecutiveFailures: 0,
    incarnation: 0,
    ...existing,
    ordinal: action.ordinal,
    revision: action.revision,
    phase: 'Pending',
    ready: false,
  });
}

/**
 * Records a started incarnation. `readyAt`: its create also saw it become Ready (a create that awaited
 * readiness), at this workflow time, as a watch's `ready` change applied then would record it.
 */
export function applyCreated<Handle extends Incarnation>(
  state: SetState<Handle>,
  action: Extract<Action, { kind: 'create' }>,
  handle: Handle,
  readyAt?: number,
): void {
  const existing = instance(state, action.ordinal);
  // A readiness probe, or (ECS) the container health check.
  const hasReadinessProbe = hasReadinessGate(templateOf(state, action.revision));
  upsertInstance(state, {
    restarts: 0,
    consecutiveFailures: 0,
    ...existing,
    ordinal: action.ordinal,
    incarnation: action.incarnation,
    revision: action.revision,
    phase: 'Running',
    // Without a readiness probe an instance is Ready once it runs, as in Kubernetes.
    ready: !hasReadinessProbe,
    readySince: hasReadinessProbe ? undefined : handle.startedAt,
    handle,
    backoffUntil: undefined,
    notReadyReason: undefined,
    published: false,
    unpublishedAt: undefined,
  });
  if (!hasReadinessProbe) state.progressAt = handle.startedAt;
  else if (readyAt !== undefined) {
    applyChanges(state, [{ ordinal: action.ordinal, incarnation: action.incarnation, kind: 'ready', message: 'readiness confirmed by the create' }], readyAt);
  }
}

/** A create that failed for good (e.g. no such program): counts as a crash, with back-off. */
export function applyCreateFailed(state: SetState, action: Extract<Action, { kind: 'create' }>, error: string, now: number): void {
  const existing = instance(state, action.ordinal) ?? {
    ordinal: action.ordinal,
    incarnation: 0,
    revision: action.revision,
    phase: 'Pending' as const,
    ready: false,
    restarts: 0,
    consecutiveFailures: 0,
  };
  const failed = recordFailure({ ...existing, incarnation: action.incarnation }, `create failed: ${error}`, now, backoffPolicy(state));
  upsertInstance(state, { ...failed, phase: 'Pending', handle: undefined });
}

export function markDeleting(state: SetState, ordinal: number): void {
  const existing = instance(state, ordinal);
  if (existing && existing.phase !== 'Failed') upsertInstance(state, { ...existing, phase: 'Terminating', ready: false });
}

export function applyDeleted(state: SetState, action: Extract<Action, { kind: 'delete' }>, now: number): void {
  const existing = instance(state, action.ordinal);
  if (!existing) return;
  if (action.remove) {
    state.instances = state.instances.filter((i) => i.ordinal !== action.ordinal);
    state.progressAt = now;
    return;
  }
  const failed = action.reason === 'failed';
  // OnDelete: deleting an instance is how it takes the update revision.
  const takesUpdate = action.reason === 'update' || (action.reason === 'requested' && state.manifest?.spec.updateStrategy.type === 'OnDelete');
  upsertInstance(state, {
    ...existing,
    phase: 'Pending',
    ready: false,
    readySince: undefined,
    notReadyReason: undefined,
    handle: undefined,
    deleteRequested: false,
    // A failed instance keeps its back-off; a deleted or updated one comes back at once, afresh.
    backoffUntil: failed ? existing.backoffUntil : undefined,
    consecutiveFailures: failed ? existing.consecutiveFailures : 0,
    revision: takesUpdate ? state.updateRevision! : existing.revision,
    published: false,
  });
}

/** After a conflict, a rejected change or a provider error, publishing is tried again this much later. */
export const DNS_RETRY_MS = 30_000;

/**
 * Records what is published and what it came to, and when each instance's own record was withdrawn
 * (for the cutover). Trouble (conflicts, errors, names still propagating) schedules another try.
 */
export function applyPublished(state: SetState, action: Extract<Action, { kind: 'publish' }>, now: number, outcome?: PublishOutcome): void {
  state.publishedDns = action.fingerprint;
  state.dnsTarget = action.target;
  state.dnsOutcome = outcome;
  const unsettled = outcome !== undefined && (outcome.error !== undefined || outcome.conflicts.length + outcome.failed.length + outcome.propagating.length > 0);
  state.dnsRetryAt = unsettled ? now + DNS_RETRY_MS : undefined;
  state.publishedNames = action.records.map((r) => `${r.name} ${r.type}`);
  const published = new Set(action.published);
  for (const i of state.instances) {
    if (published.has(i.ordinal)) {
      i.published = true;
      i.unpublishedAt = undefined;
    } else if (i.published) {
      i.published = false;
      i.unpublishedAt = now;
    }
  }
}

export interface ApplyChangesOptions {
  /**
   * An exited incarnation's process is gone, so it needs no stop of its own: it goes straight to
   * Pending, and its next create (which stops any earlier incarnation of the identity first, as every
   * driver's create does) follows without a delete in between. A liveness failure stays Failed and is
   * stopped first, since its process may still run. Off only to replay histories from before.
   */
  exitsNeedNoStop?: boolean;
}

/** Applies what the watch saw; changes about an older incarnation are ignored. */
export function applyChanges(state: SetState, changes: InstanceChange[], now: number, options: ApplyChangesOptions = {}): void {
  for (const change of changes) {
    const current = instance(state, change.ordinal);
    if (!current || current.incarnation !== change.incarnation || current.phase !== 'Running') continue;
    switch (change.kind) {
      case 'ready':
        upsertInstance(state, { ...current, ready: true, readySince: now, notReadyReason: undefined });
        state.progressAt = now;
        break;
      case 'unready':
        upsertInstance(state, { ...current, ready: false, readySince: undefined, lastError: change.message, notReadyReason: change.message });
        break;
      case 'exited': {
        const failed = recordFailure(current, change.message, now, backoffPolicy(state));
        upsertInstance(state, options.exitsNeedNoStop ? { ...failed, phase: 'Pending', handle: undefined } : failed);
        break;
      }
      case 'liveness-failed':
        upsertInstance(state, recordFailure(current, change.message, now, backoffPolicy(state)));
        break;
    }
  }
}

/** Instances adopted when a set's workflow starts and finds its processes already running. */
export function adoptInstances<Handle extends Incarnation>(state: SetState<Handle>, handles: Handle[]): void {
  for (const handle of handles) {
    if (instance(state, handle.ordinal)) continue;
    upsertInstance(state, {
      ordinal: handle.ordinal,
      incarnation: handle.incarnation,
      // An instance of a revision this set does not know is replaced by the rolling update.
      revision: handle.revision,
      phase: 'Running',
      ready: false,
      handle,
      restarts: 0,
      consecutiveFailures: 0,
    });
  }
}

/** Keeps revisions in use (and the last good one) plus the newest revisionHistoryLimit others. */
function pruneRevisions(state: SetState): void {
  const limit = state.manifest?.spec.revisionHistoryLimit ?? 10;
  const inUse = new Set([state.updateRevision, state.currentRevision, state.lastGoodRevision, ...state.instances.map((i) => i.revision)]);
  const unused = state.revisions.filter((r) => !inUse.has(r.name)).sort((a, b) => b.number - a.number);
  const keep = new Set(unused.slice(0, limit).map((r) => r.name));
  state.revisions = state.revisions.filter((r) => inUse.has(r.name) || keep.has(r.name));
}
