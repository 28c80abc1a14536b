// Keeps the set's view in the workflow's memo (core/view-memo.ts), so the API reads it with one call to
// the Temporal server instead of a Query answered by the worker. Upserts only the fields that changed.
import { patched, upsertMemo, workflowInfo } from '@temporalio/workflow';
import type { SetView } from '../core/status.js';
import { viewFieldsOf, viewMemoChanges, viewMemoFields, type ViewMemoFields } from '../core/view-memo.js';

/** Histories recorded before the view was kept in the memo replay as they were (no memo upserts). */
export const VIEW_MEMO = 'view-memo';

export class ViewMemo {
  /** The fields as last upserted (or as carried into this run); read from the memo on first use. */
  private fields: ViewMemoFields | undefined;

  /**
   * Upserts what changed in the view. Called where the view may have changed: at the loop's every step
   * and in every Update handler, so the memo the Update's caller reads next is written in the same
   * workflow task as the Update's completion (read-your-writes).
   */
  publish(view: SetView): void {
    if (!patched(VIEW_MEMO)) return;
    this.fields ??= viewFieldsOf(workflowInfo().memo);
    const next = viewMemoFields(view);
    const changes = viewMemoChanges(this.fields, next);
    if (Object.keys(changes).length === 0) return;
    upsertMemo(changes);
    this.fields = next;
  }
}
