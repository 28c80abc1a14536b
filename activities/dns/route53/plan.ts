// The Route 53 planner (pure): compares what a zone holds with what the sets want and says which
// changes to send, or why a name cannot be published. It never plans a change to a record set that
// this installation does not own (by its ownership TXT, see ownership.ts).
import type { Change, ResourceRecordSet, RRType } from '@aws-sdk/client-route-53';
import type { RecordSet } from '../../../core/dns-records.js';
import { ownedRecordOf, ownershipRecord, parseOwnership, type Ownership } from './ownership.js';

/** A name a set wants that is taken: reported on the set, never overwritten. */
export interface Conflict {
  set: string;
  name: string;
  type: string;
  reason: string;
}

export type ChangeKind = 'create' | 'update' | 'delete';

/**
 * The change of one record set and of its ownership TXT: Route 53 applies them together or not at
 * all, so they always travel in the same batch.
 */
export interface ChangeGroup {
  /** The set the record is (or was) for. */
  set: string;
  /** The record set, normalized (lowercase, no trailing dot). */
  name: string;
  type: string;
  kind: ChangeKind;
  /** What and why, for logs and dry runs. */
  description: string;
  changes: Change[];
}

export interface Plan {
  groups: ChangeGroup[];
  conflicts: Conflict[];
}

export interface PlanInput {
  /** The zone's record sets as ListResourceRecordSets returns them, foreign ones included. */
  current: ReadonlyArray<ResourceRecordSet>;
  /** This installation's owner id. */
  ownerId: string;
  /**
   * What each set this plan covers wants (an empty list: nothing any more). Owned records of sets not
   * in the map are left alone.
   */
  desired: ReadonlyMap<string, ReadonlyArray<RecordSet>>;
}

/** Route 53's limits for one ChangeResourceRecordSets call; an UPSERT counts twice. */
export const BATCH_LIMITS = { records: 1000, chars: 32_000 } as const;

export function planChanges(input: PlanInput): Plan {
  const zone = indexZone(input.current);
  const claims = new Map<string, Array<{ set: string; record: RecordSet }>>();
  for (const [set, records] of [...input.desired].sort(([a], [b]) => compare(a, b))) {
    for (const record of records) {
      const wanted = normalizeRecord(record);
      const list = claims.get(key(wanted.name, wanted.type)) ?? [];
      if (!list.some((c) => c.set === set)) list.push({ set, record: wanted });
      claims.set(key(wanted.name, wanted.type), list);
    }
  }
  // Names to look at: every wanted one, and every one owned by a set this plan covers.
  const keys = new Set(claims.keys());
  for (const [k, owned] of zone.ownership) {
    if (owned.ownership?.owner === input.ownerId && input.desired.has(owned.ownership.set)) keys.add(k);
  }

  const groups: ChangeGroup[] = [];
  const conflicts: Conflict[] = [];
  for (const k of [...keys].sort(compare)) {
    const [name, type] = splitKey(k);
    const rrsets = zone.records.get(k) ?? [];
    const owned = zone.ownership.get(k);
    const ours = owned?.ownership?.owner === input.ownerId ? owned.ownership : undefined;
    const claimants = claims.get(k) ?? [];

    if (claimants.length === 0) {
      // An owned record its set no longer wants (the loop only gets here for covered sets).
      if (ours && owned) {
        const removal = deleteGroup(ours.set, name, type, rrsets, owned.txt);
        if (removal) groups.push(removal);
      }
      continue;
    }

    // One record set per name and type: the set that owns it keeps it, else the first by name.
    const winner = claimants.find((c) => c.set === ours?.set) ?? claimants[0];
    for (const other of claimants) {
      if (other !== winner) conflicts.push({ set: other.set, name, type, reason: `also wanted by set '${winner.set}'` });
    }

    const blocker = whyTaken(name, type, zone, rrsets, owned, ours, input, winner.set);
    if (blocker) {
      conflicts.push({ set: winner.set, name, type, reason: blocker });
      continue;
    }
    const group = writeGroup(winner.set, winner.record, rrsets[0], owned?.txt, ours, input.ownerId);
    if (group) groups.push(group);
  }
  return { groups, conflicts };
}

/** Why the wanted (`name`, `type`) is not ours to write, or undefined when it is. */
function whyTaken(
  name: string,
  type: string,
  zone: ZoneIndex,
  rrsets: ResourceRecordSet[],
  owned: OwnershipEntry | undefined,
  ours: Ownership | undefined,
  input: PlanInput,
  set: string,
): string | undefined {
  if (type !== 'CNAME' && zone.records.has(key(name, 'CNAME'))) return `a CNAME record exists at ${name}`;
  if (rrsets.length > 1 || rrsets.some((r) => !isSimple(r))) {
    return `${name} ${type} is an alias, routing-policy or duplicated record set (not Ordinal's kind)`;
  }
  if (owned && !owned.ownership) return `${displayName(owned.txt)} holds a TXT record that is not an Ordinal ownership record`;
  if (owned?.ownership && owned.ownership.owner !== input.ownerId) {
    return `owned by another Ordinal installation (owner '${owned.ownership.owner}', set '${owned.ownership.set}')`;
  }
  // Another set of ours may hand it over only when this plan covers it and it no longer wants it.
  if (ours && ours.set !== set && !input.desired.has(ours.set)) return `owned by set '${ours.set}'`;
  if (!owned && rrsets.length > 0) {
    return `${name} ${type} exists and is not owned by Ordinal (no ownership TXT record beside it)`;
  }
  return undefined;
}

/**
 * Creates or updates the record set and its ownership TXT; undefined when both are as wanted.
 * A name that is not ours yet is written with CREATE, which Route 53 rejects if someone made a record
 * there since the zone was listed: never an overwrite. A name our ownership TXT already claims is
 * written with UPSERT: it is ours to repair, and a retried request that had landed does no harm.
 */
function writeGroup(
  set: string,
  wanted: RecordSet,
  current: ResourceRecordSet | undefined,
  currentTxt: ResourceRecordSet | undefined,
  ours: Ownership | undefined,
  ownerId: string,
): ChangeGroup | undefined {
  const changes: Change[] = [];
  const txt = ownershipRecord(wanted, { owner: ownerId, set });
  let kind: ChangeKind = 'update';
  let description: string;
  if (!current) {
    kind = 'create';
    changes.push({ Action: currentTxt ? 'UPSERT' : 'CREATE', ResourceRecordSet: toRoute53(wanted) });
    description = `create ${wanted.name} ${wanted.type} ${showValues(wanted)}`;
    if (currentTxt) description += ' (restore: deleted outside Ordinal)';
  } else if (!sameRecordSet(current, wanted)) {
    changes.push({ Action: 'UPSERT', ResourceRecordSet: toRoute53(wanted) });
    description = `update ${wanted.name} ${wanted.type} ${showCurrent(current)} -> ${showValues(wanted)}`;
  } else {
    description = `own ${wanted.name} ${wanted.type}`;
  }
  if (!currentTxt) {
    changes.push({ Action: 'CREATE', ResourceRecordSet: toRoute53(txt) });
  } else if (ours && ours.set !== set) {
    changes.push({ Action: 'UPSERT', ResourceRecordSet: toRoute53(txt) });
    description += ` (taken over from set '${ours.set}')`;
  }
  if (changes.length === 0) return undefined;
  return { set, name: wanted.name, type: wanted.type, kind, description: `${description} [set ${set}]`, changes };
}

/** Deletes an owned record set (with its exact current values) and its ownership TXT. */
function deleteGroup(
  set: string,
  name: string,
  type: string,
  rrsets: ResourceRecordSet[],
  txt: ResourceRecordSet,
): ChangeGroup | undefined {
  // Something we cannot delete exactly (an alias, routing policy, duplicates): leave it all alone.
  if (rrsets.length > 1 || rrsets.some((r) => !isSimple(r))) return undefined;
  const changes: Change[] = [];
  let description = `delete ${name} ${type}`;
  if (rrsets[0]) {
    changes.push({ Action: 'DELETE', ResourceRecordSet: exactly(rrsets[0]) });
    description += ` ${showCurrent(rrsets[0])}`;
  } else {
    description += ' ownership record (record already gone)';
  }
  changes.push({ Action: 'DELETE', ResourceRecordSet: exactly(txt) });
  return { set, name, type, kind: 'delete', description: `${description} [set ${set}]`, changes };
}

/** Splits groups into ChangeResourceRecordSets batches within `limits`, never splitting a group. */
export function batchChanges(groups: ReadonlyArray<ChangeGroup>, limits: { records: number; chars: number } = BATCH_LIMITS): ChangeGroup[][] {
  const batches: ChangeGroup[][] = [];
  let batch: ChangeGroup[] = [];
  let used = { records: 0, chars: 0 };
  for (const group of groups) {
    const cost = groupCost(group);
    if (batch.length > 0 && (used.records + cost.records > limits.records || used.chars + cost.chars > limits.chars)) {
      batches.push(batch);
      batch = [];
      used = { records: 0, chars: 0 };
    }
    // A group over the limits on its own still gets its batch: Route 53 will say why it fails.
    batch.push(group);
    used = { records: used.records + cost.records, chars: used.chars + cost.chars };
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

/** What a group counts against the batch limits: its resource records and value characters. */
export function groupCost(group: ChangeGroup): { records: number; chars: number } {
  let records = 0;
  let chars = 0;
  for (const change of group.changes) {
    const factor = change.Action === 'UPSERT' ? 2 : 1;
    const values = change.ResourceRecordSet?.ResourceRecords ?? [];
    records += factor * Math.max(values.length, 1);
    chars += factor * values.reduce((n, r) => n + (r.Value?.length ?? 0), 0);
  }
  return { records, chars };
}

/** The dry-run rendering: one line per change and per conflict. */
export function renderPlan(plan: Plan): string {
  const lines = plan.groups.map((g) => g.description);
  for (const c of plan.conflicts) lines.push(`conflict ${c.name} ${c.type}: ${c.reason} [set ${c.set}]`);
  return lines.length === 0 ? 'no changes' : lines.join('\n');
}

/** The sets of this owner that have ownership records in the zone. */
export function ownedSets(current: ReadonlyArray<ResourceRecordSet>, ownerId: string): Set<string> {
  const sets = new Set<string>();
  for (const owned of indexZone(current).ownership.values()) {
    if (owned.ownership?.owner === ownerId) sets.add(owned.ownership.set);
  }
  return sets;
}

// ---- names and values --------------------------------------------------------------------------

/** Route 53 returns names with a trailing dot and `\DDD` escapes (`*` is `\052`); compare without. */
export function normalizeName(name: string): string {
  const unescaped = name.replace(/\\([0-7]{3}|.)/g, (_, e: string) => (e.length === 3 ? String.fromCharCode(parseInt(e, 8)) : e));
  const lower = unescaped.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** A value in a comparable form: SRV targets and other names without a trailing dot, lowercase. */
export function normalizeValue(type: string, value: string): string {
  const v = value.trim();
  switch (type) {
    case 'SRV': {
      const parts = v.split(/\s+/);
      if (parts.length === 4) parts[3] = normalizeName(parts[3]);
      return parts.join(' ');
    }
    case 'CNAME':
    case 'NS':
    case 'PTR':
      return normalizeName(v);
    default:
      return v;
  }
}

/** Equal TTL and equal values, in any order. */
export function sameRecordSet(current: ResourceRecordSet, wanted: RecordSet): boolean {
  if (current.TTL !== wanted.ttl) return false;
  const a = [...new Set(currentValues(current))].sort();
  const b = [...new Set(wanted.values.map((v) => normalizeValue(wanted.type, v)))].sort();
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** A record set as Route 53 wants it written: fully qualified names, SRV targets too. */
export function toRoute53(record: { name: string; type: string; ttl: number; values: ReadonlyArray<string> }): ResourceRecordSet {
  return {
    Name: `${record.name}.`,
    Type: record.type as RRType,
    TTL: record.ttl,
    ResourceRecords: record.values.map((v) => ({ Value: record.type === 'SRV' ? fqdnSrv(v) : v })),
  };
}

function fqdnSrv(value: string): string {
  const parts = value.trim().split(/\s+/);
  if (parts.length === 4 && !parts[3].endsWith('.')) parts[3] += '.';
  return parts.join(' ');
}

function normalizeRecord(record: RecordSet): RecordSet {
  return {
    name: normalizeName(record.name),
    type: record.type,
    ttl: record.ttl,
    values: [...new Set(record.values.map((v) => normalizeValue(record.type, v)))],
  };
}

function currentValues(rrset: ResourceRecordSet): string[] {
  return (rrset.ResourceRecords ?? []).map((r) => normalizeValue(rrset.Type ?? '', r.Value ?? ''));
}

/** The record set exactly as listed: what a DELETE must carry. */
function exactly(rrset: ResourceRecordSet): ResourceRecordSet {
  return { Name: rrset.Name, Type: rrset.Type, TTL: rrset.TTL, ResourceRecords: rrset.ResourceRecords };
}

/** A plain record set: no alias, routing policy, health check or traffic policy. */
function isSimple(rrset: ResourceRecordSet): boolean {
  return (
    rrset.AliasTarget === undefined &&
    rrset.SetIdentifier === undefined &&
    rrset.TrafficPolicyInstanceId === undefined &&
    rrset.TTL !== undefined &&
    rrset.ResourceRecords !== undefined
  );
}

function showValues(record: RecordSet): string {
  return `${record.values.join(', ')} ttl ${record.ttl}`;
}

function showCurrent(rrset: ResourceRecordSet): string {
  return isSimple(rrset) ? `${currentValues(rrset).join(', ')} ttl ${rrset.TTL}` : '(alias)';
}

function displayName(rrset: ResourceRecordSet): string {
  return normalizeName(rrset.Name ?? '');
}

// ---- the zone, indexed -------------------------------------------------------------------------

interface OwnershipEntry {
  /** Undefined when the TXT at the ownership name is not an Ordinal ownership record. */
  ownership: Ownership | undefined;
  txt: ResourceRecordSet;
}

interface ZoneIndex {
  /** name|type -> record sets (more than one only with routing policies, or moto's duplicates). */
  records: Map<string, ResourceRecordSet[]>;
  /** name|type of the record set -> its ownership TXT. */
  ownership: Map<string, OwnershipEntry>;
}

function indexZone(current: ReadonlyArray<ResourceRecordSet>): ZoneIndex {
  const records = new Map<string, ResourceRecordSet[]>();
  const ownership = new Map<string, OwnershipEntry>();
  for (const rrset of current) {
    const name = normalizeName(rrset.Name ?? '');
    const type = rrset.Type ?? '';
    const list = records.get(key(name, type)) ?? [];
    list.push(rrset);
    records.set(key(name, type), list);
    const owned = type === 'TXT' ? ownedRecordOf(name) : undefined;
    if (owned) {
      const values = (rrset.ResourceRecords ?? []).map((r) => r.Value ?? '');
      ownership.set(key(owned.name, owned.type), { ownership: parseOwnership(values), txt: rrset });
    }
  }
  return { records, ownership };
}

function key(name: string, type: string): string {
  return `${name}|${type}`;
}

function splitKey(k: string): [string, string] {
  const i = k.lastIndexOf('|');
  return [k.slice(0, i), k.slice(i + 1)];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
