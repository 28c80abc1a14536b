// Keeps the set's view in the workflow's memo (core/view-memo.ts), so the API reads it with one call to
// the Temporal server instead of a Query answered by the worker. Upserts only the fields that changed.
import { patched, upsertMemo, workflowInfo } from '@temporalio/workflow';
import { eventsSince, type EventLog } from '../core/events.js';
import type { SetView } from '../core/status.js';
import { EVENTS_FIELD, viewFieldsOf, viewMemoChanges, viewMemoFields, type EventsMemoField, type ViewMemoFields } from '../core/view-memo.js';

/** Histories recorded before the view was kept in the memo replay as they were (no memo upserts). */
export const VIEW_MEMO = 'view-memo';
/** Histories recorded before events were written to the memo replay as they were. */
export const EVENTS_MEMO = 'events-memo';

export class ViewMemo {
  /** The fields as last upserted (or as carried into this run); read from the memo on first use. */
  private fields: ViewMemoFields | undefined;

  /**
   * Upserts what changed in the view and the events recorded since the last upsert. Called where the
   * view may have changed: at the loop's every step and in every Update handler, so the memo the
   * Update's caller reads next is written in the same workflow task as the Update's completion
   * (read-your-writes).
   */
  publish(view: SetView, events: EventLog): void {
    if (!patched(VIEW_MEMO)) return;
    this.fields ??= viewFieldsOf(workflowInfo().memo);
    const next = viewMemoFields(view);
    const previousEvents = this.fields.get(EVENTS_FIELD);
    if (patched(EVENTS_MEMO)) next.set(EVENTS_FIELD, eventsField(previousEvents, events));
    else if (previousEvents !== undefined) next.set(EVENTS_FIELD, previousEvents);
    const changes = viewMemoChanges(this.fields, next);
    if (Object.keys(changes).length === 0) return;
    upsertMemo(changes);
    this.fields = next;
  }
}

/** The events field: unchanged while no event is new, else the events after the last one written. */
function eventsField(previous: string | undefined, events: EventLog): string {
  const written = previous === undefined ? 0 : (JSON.parse(previous) as EventsMemoField).latestSeq;
  if (previous !== undefined && written === events.seq) return previous;
  const field: EventsMemoField = { latestSeq: events.seq, recent: eventsSince(events, written) };
  return JSON.stringify(field);
}
