// Publishing to one hosted zone: list what is there, plan against what the sets want, apply the plan
// in batches within Route 53's limits, and wait until the changes are INSYNC. Idempotent: a second
// run with the same input finds nothing to change.
import type { RecordSet } from '../../../core/dns-records.js';
import type { ChangeStatus, FailedGroup, Route53 } from './client.js';
import { batchChanges, ownedSets, planChanges, renderPlan, type ChangeGroup, type ChangeKind, type Conflict } from './plan.js';

export interface FlushRequest {
  /** Hosted zone id. */
  zoneId: string;
  /** What each set of this flush wants; an empty list removes the set's records. Other sets are left alone. */
  desired: Record<string, RecordSet[]>;
  /** Earlier changes still PENDING: wait for them too. */
  awaitChangeIds?: string[];
  /** Plan only: change nothing. */
  dryRun?: boolean;
  /** How long to wait for INSYNC (default 5 min); changes not INSYNC by then are reported PENDING. */
  inSyncTimeoutMs?: number;
}

export interface ReconcileRequest extends Omit<FlushRequest, 'desired'> {
  /** Everything every set known to the publisher wants. */
  desired: Record<string, RecordSet[]>;
  /**
   * Sets that still exist although they are not in `desired` (their records are kept); a function is
   * asked per set. Owned records of any other set are deleted. Default: none.
   */
  liveSets?: string[] | ((set: string) => Promise<boolean>);
}

export interface AppliedChange {
  set: string;
  name: string;
  type: string;
  kind: ChangeKind;
  description: string;
  changeId: string;
}

export interface FailedChange {
  set: string;
  name: string;
  type: string;
  kind: ChangeKind;
  code: string;
  message: string;
}

export interface FlushResult {
  /** The plan, one line per change and conflict ("no changes" when there is nothing to do). */
  plan: string;
  /** How many record sets the plan changes. */
  planned: number;
  applied: AppliedChange[];
  conflicts: Conflict[];
  failed: FailedChange[];
  /** Changes this run made. */
  changeIds: string[];
  /** Status of every change this run made or waited for. */
  changes: Record<string, ChangeStatus>;
  dryRun: boolean;
}

export interface ReconcileResult extends FlushResult {
  /** Sets whose owned records were (or, in a dry run, would be) deleted. */
  vanished: string[];
  /** For people: what was (or would be) done. */
  text: string;
}

export interface PublishHooks {
  /** Called while waiting (each GetChange round), e.g. to heartbeat. */
  onProgress?: () => void;
}

const DEFAULT_INSYNC_TIMEOUT_MS = 5 * 60_000;

export async function flushZone(route53: Route53, ownerId: string, request: FlushRequest, hooks: PublishHooks = {}): Promise<FlushResult> {
  const current = await route53.listRecordSets(request.zoneId);
  return applyPlan(route53, ownerId, request, new Map(Object.entries(request.desired)), current, hooks);
}

/**
 * Drift repair: restores owned records changed or deleted by hand, deletes owned records of sets that
 * no longer exist, and never touches foreign records. `dryRun` returns the plan without applying it.
 */
export async function reconcileZone(route53: Route53, ownerId: string, request: ReconcileRequest, hooks: PublishHooks = {}): Promise<ReconcileResult> {
  const current = await route53.listRecordSets(request.zoneId);
  const desired = new Map(Object.entries(request.desired));
  const isLive = typeof request.liveSets === 'function' ? request.liveSets : async (set: string) => (request.liveSets as string[] | undefined)?.includes(set) ?? false;
  const vanished: string[] = [];
  for (const set of [...ownedSets(current, ownerId)].sort()) {
    if (!desired.has(set) && !(await isLive(set))) vanished.push(set);
  }
  for (const set of vanished) desired.set(set, []);
  const result = await applyPlan(route53, ownerId, request, desired, current, hooks);
  const head = `reconcile hosted zone ${request.zoneId}${result.dryRun ? ' (dry run: nothing applied)' : ''}: ${countOf(result)}`;
  return { ...result, vanished, text: `${head}\n${result.plan}` };
}

async function applyPlan(
  route53: Route53,
  ownerId: string,
  request: Pick<FlushRequest, 'zoneId' | 'awaitChangeIds' | 'dryRun' | 'inSyncTimeoutMs'>,
  desired: Map<string, RecordSet[]>,
  current: Awaited<ReturnType<Route53['listRecordSets']>>,
  hooks: PublishHooks,
): Promise<FlushResult> {
  const plan = planChanges({ current, ownerId, desired });
  const text = renderPlan(plan);
  if (request.dryRun) {
    return { plan: text, planned: plan.groups.length, applied: [], conflicts: plan.conflicts, failed: [], changeIds: [], changes: {}, dryRun: true };
  }

  const applied: AppliedChange[] = [];
  let failed: FailedGroup[] = [];
  for (const batch of batchChanges(plan.groups)) {
    const outcome = await route53.applyBatch(request.zoneId, batch, `ordinal (owner ${ownerId})`);
    for (const { changeId, groups } of outcome.applied) {
      for (const g of groups) applied.push({ set: g.set, name: g.name, type: g.type, kind: g.kind, description: g.description, changeId });
    }
    failed.push(...outcome.failed);
  }

  let conflicts = plan.conflicts;
  if (failed.length > 0) {
    // Look again: a rejected CREATE may have met a record someone made meanwhile (now a conflict), or a
    // retried request that had in fact landed (now nothing to do). Only what is still planned failed.
    const again = planChanges({ current: await route53.listRecordSets(request.zoneId), ownerId, desired });
    const stillPlanned = new Set(again.groups.map(groupKey));
    failed = failed.filter((f) => stillPlanned.has(groupKey(f.group)));
    conflicts = again.conflicts;
  }

  const changeIds = [...new Set(applied.map((a) => a.changeId))];
  const waitFor = [...new Set([...changeIds, ...(request.awaitChangeIds ?? [])])];
  const changes = waitFor.length === 0 ? {} : await route53.waitInSync(waitFor, Date.now() + (request.inSyncTimeoutMs ?? DEFAULT_INSYNC_TIMEOUT_MS), hooks.onProgress);
  return {
    plan: text,
    planned: plan.groups.length,
    applied,
    conflicts,
    failed: failed.map((f) => ({ set: f.group.set, name: f.group.name, type: f.group.type, kind: f.group.kind, code: f.code, message: f.message })),
    changeIds,
    changes,
    dryRun: false,
  };
}

function groupKey(group: ChangeGroup): string {
  return `${group.set}|${group.name}|${group.type}`;
}

function countOf(result: FlushResult): string {
  const changes = result.planned;
  return `${changes} change${changes === 1 ? '' : 's'}, ${result.conflicts.length} conflict${result.conflicts.length === 1 ? '' : 's'}`;
}
