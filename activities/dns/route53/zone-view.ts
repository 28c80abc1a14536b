// What a worker knows of a hosted zone's records between flushes, so a flush need not list the whole
// zone (5,600 record sets are 19 listing pages under the account's request rate). The publisher
// workflow names each view with a fresh key and hands the key of the last one to the next flush: the
// key matches only on the worker that ran the last flush or reconcile, and only if nothing of ours
// changed the zone since. A view is taken (removed) when a flush starts, so a retried or crashed
// flush lists the zone. Changes made outside Ordinal are not seen: drift repair lists on its timer.
import type { Change, ResourceRecordSet } from '@aws-sdk/client-route-53';
import { normalizeName } from './plan.js';

/** Zones kept per worker; the oldest view goes first. */
const MAX_ZONES = 64;

export class ZoneViews {
  private readonly views = new Map<string, { key: string; records: ResourceRecordSet[] }>();

  /** The zone's records under `key`, removed from the store; undefined when this worker has none. */
  take(zoneId: string, key: string | undefined): ResourceRecordSet[] | undefined {
    const view = this.views.get(zoneId);
    this.views.delete(zoneId);
    return key !== undefined && view?.key === key ? view.records : undefined;
  }

  /** Keeps the zone's records under `key` (replacing any older view of the zone). */
  store(zoneId: string, key: string, records: ResourceRecordSet[]): void {
    this.views.delete(zoneId);
    this.views.set(zoneId, { key, records });
    if (this.views.size > MAX_ZONES) this.views.delete(this.views.keys().next().value!);
  }

  forget(zoneId: string): void {
    this.views.delete(zoneId);
  }
}

/** The zone's records after `changes` were applied to `records` (as Route 53 applied them). */
export function withChanges(records: ReadonlyArray<ResourceRecordSet>, changes: ReadonlyArray<Change>): ResourceRecordSet[] {
  const byKey = new Map<string, ResourceRecordSet[]>();
  const keyOf = (r: ResourceRecordSet) => `${normalizeName(r.Name ?? '')}|${r.Type ?? ''}`;
  for (const r of records) {
    const list = byKey.get(keyOf(r)) ?? [];
    list.push(r);
    byKey.set(keyOf(r), list);
  }
  for (const change of changes) {
    const rrset = change.ResourceRecordSet;
    if (!rrset) continue;
    const k = keyOf(rrset);
    const others = (byKey.get(k) ?? []).filter((r) => r.SetIdentifier !== rrset.SetIdentifier);
    if (change.Action !== 'DELETE') others.push(rrset);
    if (others.length > 0) byKey.set(k, others);
    else byKey.delete(k);
  }
  return [...byKey.values()].flat();
}
