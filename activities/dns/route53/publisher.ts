// Publishing to one hosted zone: list what is there (or take what this worker kept from the last
// flush, see zone-view.ts), plan against what the sets want, apply the plan in batches within Route
// 53's limits, and wait until the changes are INSYNC. Idempotent: a second run with the same input
// finds nothing to change.
import type { ResourceRecordSet } from '@aws-sdk/client-route-53';
import type { RecordSet } from '../../../core/dns-records.js';
import type { ChangeStatus, FailedGroup, Route53 } from './client.js';
import { batchChanges, ownedSets, planChanges, renderPlan, type ChangeGroup, type ChangeKind, type Conflict } from './plan.js';
import { withChanges, type ZoneViews } from './zone-view.js';

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
  /**
   * Plan from the records this worker kept under `known` instead of listing (when it has them), and
   * keep the zone as it is afterwards under `next`. Absent: list, keep nothing.
   */
  view?: { known?: string; next: string };
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
  /**
   * Route 53 rejected the change although a fresh listing calls for exactly the same change (a record
   * it says exists is not there, or one it says is missing is): not something a re-plan fixes.
   */
  contradicted?: boolean;
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
  /** Whether the zone was listed (false: planned from the records this worker kept). */
  listed?: boolean;
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
  /** Where this worker keeps zones' records between flushes (see FlushRequest.view). */
  views?: ZoneViews;
  /** Told when Route 53 rejects a change that a fresh listing contradicts. */
  onContradiction?: (failed: FailedChange) => void;
}

const DEFAULT_INSYNC_TIMEOUT_MS = 5 * 60_000;

export async function flushZone(route53: Route53, ownerId: string, request: FlushRequest, hooks: PublishHooks = {}): Promise<FlushResult> {
  const kept = request.view && hooks.views ? hooks.views.take(request.zoneId, request.view.known) : undefined;
  const current = kept ?? (await route53.listRecordSets(request.zoneId));
  const desired = new Map(Object.entries(request.desired));
  let round = await applyPlan(route53, ownerId, request, desired, current, hooks);
  if (kept && round.failed.some((f) => !f.contradicted)) {
    // Rejected after planning from kept records: they were stale (someone changed the zone). Plan once
    // more from the fresh listing the rejection brought; already landed changes plan as nothing.
    const first = round;
    round = await applyPlan(route53, ownerId, request, desired, first.zone, hooks);
    round = { ...round, applied: [...first.applied, ...round.applied] };
  }
  if (request.view && hooks.views && !request.dryRun) hooks.views.store(request.zoneId, request.view.next, round.zone);
  return { ...(await finish(route53, request, round, hooks)), listed: !kept };
}

/**
 * Drift repair: restores owned records changed or deleted by hand, deletes owned records of sets that
 * no longer exist, and never touches foreign records. `dryRun` returns the plan without applying it.
 */
export async function reconcileZone(route53: Route53, ownerId: string, request: ReconcileRequest, hooks: PublishHooks = {}): Promise<ReconcileResult> {
  hooks.views?.forget(request.zoneId);
  const current = await route53.listRecordSets(request.zoneId);
  const desired = new Map(Object.entries(request.desired));
  const isLive = typeof request.liveSets === 'function' ? request.liveSets : async (set: string) => (request.liveSets as string[] | undefined)?.includes(set) ?? false;
  const vanished: string[] = [];
  for (const set of [...ownedSets(current, ownerId)].sort()) {
    if (!desired.has(set) && !(await isLive(set))) vanished.push(set);
  }
  for (const set of vanished) desired.set(set, []);
  const round = await applyPlan(route53, ownerId, request, desired, current, hooks);
  if (request.view && hooks.views && !request.dryRun) hooks.views.store(request.zoneId, request.view.next, round.zone);
  const result = { ...(await finish(route53, request, round, hooks)), listed: true };
  const head = `reconcile hosted zone ${request.zoneId}${result.dryRun ? ' (dry run: nothing applied)' : ''}: ${countOf(result)}`;
  return { ...result, vanished, text: `${head}\n${result.plan}` };
}

/** One plan applied: what landed, what conflicts and what was rejected, and the zone afterwards. */
interface Round {
  plan: string;
  planned: number;
  applied: AppliedChange[];
  conflicts: Conflict[];
  failed: FailedChange[];
  /** The zone's records after the round: the listing plus what landed, or a fresh listing after a rejection. */
  zone: ResourceRecordSet[];
  dryRun: boolean;
}

async function applyPlan(
  route53: Route53,
  ownerId: string,
  request: Pick<FlushRequest, 'zoneId' | 'dryRun'>,
  desired: Map<string, RecordSet[]>,
  current: ResourceRecordSet[],
  hooks: PublishHooks,
): Promise<Round> {
  const plan = planChanges({ current, ownerId, desired });
  const text = renderPlan(plan);
  if (request.dryRun) {
    return { plan: text, planned: plan.groups.length, applied: [], conflicts: plan.conflicts, failed: [], zone: current, dryRun: true };
  }

  const applied: AppliedChange[] = [];
  const landed: ChangeGroup[] = [];
  let rejected: FailedGroup[] = [];
  for (const batch of batchChanges(plan.groups)) {
    const outcome = await route53.applyBatch(request.zoneId, batch, `ordinal (owner ${ownerId})`);
    for (const { changeId, groups } of outcome.applied) {
      for (const g of groups) applied.push({ set: g.set, name: g.name, type: g.type, kind: g.kind, description: g.description, changeId });
      landed.push(...groups);
    }
    rejected.push(...outcome.failed);
  }

  let zone = withChanges(current, landed.flatMap((g) => g.changes));
  let conflicts = plan.conflicts;
  const failed: FailedChange[] = [];
  if (rejected.length > 0) {
    // Look again: a rejected CREATE may have met a record someone made meanwhile (now a conflict), or a
    // retried request that had in fact landed (now nothing to do). Only what is still planned failed.
    zone = await route53.listRecordSets(request.zoneId);
    const again = planChanges({ current: zone, ownerId, desired });
    const replanned = new Map(again.groups.map((g) => [groupKey(g), g]));
    rejected = rejected.filter((f) => replanned.has(groupKey(f.group)));
    conflicts = again.conflicts;
    for (const f of rejected) {
      const { set, name, type, kind } = f.group;
      if (sameChanges(replanned.get(groupKey(f.group))!, f.group)) {
        // The fresh listing calls for exactly what Route 53 refused: say so, do not pretend a re-plan helps.
        const entry: FailedChange = { set, name, type, kind, code: f.code, message: `${f.message}; but a fresh listing contradicts Route 53: ${contradiction(f.group)}`, contradicted: true };
        failed.push(entry);
        hooks.onContradiction?.(entry);
      } else {
        failed.push({ set, name, type, kind, code: f.code, message: f.message });
      }
    }
  }
  return { plan: text, planned: plan.groups.length, applied, conflicts, failed, zone, dryRun: false };
}

/** Waits for the round's changes (and the earlier ones asked for) to be INSYNC. */
async function finish(route53: Route53, request: Pick<FlushRequest, 'awaitChangeIds' | 'inSyncTimeoutMs'>, round: Round, hooks: PublishHooks): Promise<FlushResult> {
  const { zone: _zone, ...result } = round;
  if (round.dryRun) return { ...result, changeIds: [], changes: {} };
  const changeIds = [...new Set(round.applied.map((a) => a.changeId))];
  const waitFor = [...new Set([...changeIds, ...(request.awaitChangeIds ?? [])])];
  const changes = waitFor.length === 0 ? {} : await route53.waitInSync(waitFor, Date.now() + (request.inSyncTimeoutMs ?? DEFAULT_INSYNC_TIMEOUT_MS), hooks.onProgress);
  return { ...result, changeIds, changes };
}

/** What the zone shows against a rejected group that the fresh listing plans identically. */
function contradiction(group: ChangeGroup): string {
  return group.changes
    .map((c) => {
      const what = `${normalizeRecordName(c.ResourceRecordSet?.Name)} ${c.ResourceRecordSet?.Type ?? ''}`;
      if (c.Action === 'CREATE') return `the listing does not have ${what}`;
      if (c.Action === 'DELETE') return `the listing has ${what} exactly as deleted`;
      return `the listing still differs from ${what}`;
    })
    .join(', ');
}

function normalizeRecordName(name: string | undefined): string {
  return (name ?? '').replace(/\.$/, '');
}

function sameChanges(a: ChangeGroup, b: ChangeGroup): boolean {
  return JSON.stringify(a.changes) === JSON.stringify(b.changes);
}

function groupKey(group: ChangeGroup): string {
  return `${group.set}|${group.name}|${group.type}`;
}

function countOf(result: FlushResult): string {
  const changes = result.planned;
  return `${changes} change${changes === 1 ? '' : 's'}, ${result.conflicts.length} conflict${result.conflicts.length === 1 ? '' : 's'}`;
}
