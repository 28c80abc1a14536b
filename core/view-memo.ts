// The set's view as its workflow keeps it in the workflow's memo, so that the API reads a set with one
// call to the Temporal server (describe, or the visibility listing for every set) and no round trip to
// the worker. Pure: the workflow writes the fields, the API reads them back into the very view the
// getSet Query answers.
//
// The memo is split into fields so that a change rewrites only what changed (the history grows by the
// upserted fields on every change): `view.set` (the manifest part and the format; changes with the
// spec), `view.status` (the status, its instances replaced by their ordinals) and one `view.i.<ordinal>`
// per instance. The view holds no age or duration, only absolute times: what depends on the clock
// (available, CrashLoopBackOff, ProgressDeadlineExceeded) is evaluated at the workflow's time, as the
// Query evaluates it, and the workflow wakes at each moment one of them changes (the planner's wakeAt).
import type { SetEvent } from './events.js';
import type { InstanceStatus, SetStatus, SetView } from './status.js';

/** Raised when the fields' meaning changes; a reader falls back to the Query for a format it does not know. */
export const VIEW_MEMO_FORMAT = 1;

const PREFIX = 'view.';
const SET_FIELD = 'view.set';
const STATUS_FIELD = 'view.status';
const INSTANCE_PREFIX = 'view.i.';

/** JSON of each memo field, keyed by the field's name: what the workflow compares to upsert only changes. */
export type ViewMemoFields = Map<string, string>;

interface SetField extends Omit<SetView, 'status'> {
  format: number;
}

type StatusField = Omit<SetStatus, 'instances'> & { instances: number[] };

/** The memo fields of a view, each as JSON. */
export function viewMemoFields(view: SetView): ViewMemoFields {
  const { status, ...set } = view;
  const fields: ViewMemoFields = new Map();
  const setField: SetField = { format: VIEW_MEMO_FORMAT, ...set };
  fields.set(SET_FIELD, JSON.stringify(setField));
  const statusField: StatusField = { ...status, instances: status.instances.map((i) => i.ordinal) };
  fields.set(STATUS_FIELD, JSON.stringify(statusField));
  for (const instance of status.instances) fields.set(`${INSTANCE_PREFIX}${instance.ordinal}`, JSON.stringify(instance));
  return fields;
}

/** The view fields already in a memo (e.g. carried into a new run), as JSON. */
export function viewFieldsOf(memo: Record<string, unknown> | undefined): ViewMemoFields {
  return new Map(
    Object.entries(memo ?? {})
      .filter(([key, value]) => key.startsWith(PREFIX) && value !== undefined && value !== null)
      .map(([key, value]) => [key, JSON.stringify(value)]),
  );
}

/**
 * What to upsert to go from `previous` to `next`: the fields that changed, and `undefined` for those
 * that went (an instance scaled away). Empty when nothing changed.
 */
export function viewMemoChanges(previous: ViewMemoFields, next: ViewMemoFields): Record<string, unknown> {
  const changes: Record<string, unknown> = {};
  for (const [key, json] of next) if (previous.get(key) !== json) changes[key] = JSON.parse(json);
  for (const key of previous.keys()) if (!next.has(key)) changes[key] = undefined;
  return changes;
}

/**
 * The view a memo holds, exactly as the getSet Query would answer it at the workflow's last step; undefined
 * when the memo has no view (a run on a worker older than the memo, or before its first manifest) or a
 * view this reader cannot read whole.
 */
export function viewFromMemo(memo: Record<string, unknown> | undefined): SetView | undefined {
  const set = memo?.[SET_FIELD] as SetField | undefined;
  const status = memo?.[STATUS_FIELD] as StatusField | undefined;
  if (!set || !status || set.format !== VIEW_MEMO_FORMAT || !Array.isArray(status.instances)) return undefined;
  const instances: InstanceStatus[] = [];
  for (const ordinal of status.instances) {
    const instance = memo![`${INSTANCE_PREFIX}${ordinal}`] as InstanceStatus | undefined;
    if (!instance) return undefined;
    instances.push(instance);
  }
  const { format: _format, ...view } = set;
  return { ...view, status: { ...status, instances } };
}

/**
 * `view.events`: the latest event seq and the events recorded (or counted again) since the memo's last
 * upsert. Each upsert is a history event, so a reader that follows the workflow's history sees every
 * event once, in order, as it sees every change of the view; a reader of the memo alone learns whether
 * there is anything new (latestSeq) and asks the getEvents Query for it.
 */
export const EVENTS_FIELD = 'view.events';

export interface EventsMemoField {
  latestSeq: number;
  recent: SetEvent[];
}

export function eventsFromMemo(memo: Record<string, unknown> | undefined): EventsMemoField | undefined {
  const field = memo?.[EVENTS_FIELD] as EventsMemoField | undefined;
  if (!field || typeof field.latestSeq !== 'number' || !Array.isArray(field.recent)) return undefined;
  return field;
}
