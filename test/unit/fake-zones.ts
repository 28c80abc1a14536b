// An in-memory Route53ZonesPort for API tests: zones as their publishers would report them, a
// reconcile that returns a scripted plan (or a dry run of it) and records it as the zone's
// lastReconcile, NotFound for a zone without a publisher, and JSON copies as Temporal would return.
import { SetError } from '../../api/sets.js';
import type { Route53ZonesPort } from '../../api/zones-port.js';
import { noPublisherMessage, type ReconcileView, type ZoneView } from '../../api/zones.js';
import { FAKE_NOW } from './fake-sets.js';

export interface FakeZoneCall {
  method: keyof Route53ZonesPort;
  args: unknown[];
}

/** What a reconcile of a zone finds to do: its plan lines, conflicts and vanished sets. */
export interface FakeDrift {
  changes: string[];
  conflicts?: ReconcileView['conflicts'];
  vanished?: string[];
  error?: ReconcileView['error'];
}

export class FakeZones implements Route53ZonesPort {
  readonly zones = new Map<string, ZoneView>();
  readonly drift = new Map<string, FakeDrift>();
  readonly calls: FakeZoneCall[] = [];
  /** When set, every operation throws it (e.g. a SetError('Unavailable') or a bug). */
  failWith: unknown;

  /** Test helper: a zone whose publisher knows `sets`. */
  addZone(hostedZoneId: string, zone: string, sets: string[], extra: Partial<ZoneView> = {}): ZoneView {
    const view: ZoneView = { hostedZoneId, zone, sets: [...sets].sort(), pending: [], ...extra };
    this.zones.set(hostedZoneId, view);
    return view;
  }

  async list(): Promise<ZoneView[]> {
    this.record('list', []);
    return copy([...this.zones.values()].sort((a, b) => a.zone.localeCompare(b.zone) || a.hostedZoneId.localeCompare(b.hostedZoneId)));
  }

  async reconcile(hostedZoneId: string, dryRun: boolean): Promise<ReconcileView> {
    this.record('reconcile', [hostedZoneId, dryRun]);
    const zone = this.zones.get(hostedZoneId);
    if (!zone) throw new SetError('NotFound', noPublisherMessage(hostedZoneId));
    const drift = this.drift.get(hostedZoneId) ?? { changes: [] };
    let summary: ReconcileView;
    if (drift.error) {
      const { code, message } = drift.error;
      summary = { at: new Date(FAKE_NOW).toISOString(), dryRun, text: `reconcile failed: ${code}: ${message}`, planned: 0, applied: 0, conflicts: [], vanished: [], error: drift.error };
    } else {
      const conflicts = drift.conflicts ?? [];
      const count = `${drift.changes.length} ${drift.changes.length === 1 ? 'change' : 'changes'}, ${conflicts.length} ${conflicts.length === 1 ? 'conflict' : 'conflicts'}`;
      const lines = [...drift.changes, ...conflicts.map((c) => `conflict ${c.name} ${c.type}: ${c.reason} [set ${c.set}]`)];
      summary = {
        at: new Date(FAKE_NOW).toISOString(),
        dryRun,
        text: `reconcile hosted zone ${hostedZoneId}${dryRun ? ' (dry run: nothing applied)' : ''}: ${count}\n${lines.length === 0 ? 'no changes' : lines.join('\n')}`,
        planned: drift.changes.length,
        applied: dryRun ? 0 : drift.changes.length,
        conflicts,
        vanished: drift.vanished ?? [],
      };
      // Applied: the zone is as wanted now, but for the conflicts.
      if (!dryRun) this.drift.set(hostedZoneId, { changes: [], conflicts });
    }
    zone.lastReconcile = summary;
    return copy(summary);
  }

  private record(method: keyof Route53ZonesPort, args: unknown[]): void {
    this.calls.push({ method, args });
    if (this.failWith !== undefined) throw this.failWith;
  }
}

function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
