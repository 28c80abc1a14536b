// A set's events, as Kubernetes records them: what happened to the set and its instances, with a type,
// a reason and a message; a repeat of the same event is counted on the one already recorded instead of
// added again. The log is bounded (MAX_EVENTS per set, oldest dropped first) and lives in the set's
// durable state, so it survives continue-as-new and worker restarts. Pure: the workflow records, the
// API reads.

export type EventType = 'Normal' | 'Warning';

export type EventReason =
  // instances
  | 'Created'
  | 'Started'
  | 'Ready'
  | 'NotReady'
  | 'LivenessFailed'
  | 'Exited'
  | 'CreateFailed'
  | 'BackOff'
  | 'Stopping'
  | 'Stopped'
  | 'Adopted'
  | 'Cordoned'
  | 'Uncordoned'
  // DNS
  | 'DNSPublished'
  | 'DNSWithdrawn'
  | 'DNSConflict'
  | 'DNSError'
  // the set and its rollouts
  | 'Scaled'
  | 'RolloutStarted'
  | 'RolloutProgressed'
  | 'RolloutCompleted'
  | 'RolloutPaused'
  | 'RolloutResumed'
  | 'RolledBack'
  | 'ProgressDeadlineExceeded'
  | 'DeletionRequested';

/** One event as recorded and as the API shows it. */
export interface SetEvent {
  /**
   * Increases with every event recorded or counted again, across the set's life: a reader that has seen
   * `seq` n asks for the events after n (a count bumped on an older event moves it to a new seq).
   */
  seq: number;
  type: EventType;
  reason: EventReason;
  message: string;
  /** The instance it concerns ("db-1"); absent for the set's own events. */
  instance?: string;
  ordinal?: number;
  /** The instance's incarnation it concerns, when one does. */
  incarnation?: number;
  /** How many times it happened (repeats are aggregated). */
  count: number;
  /** ISO times of its first and last occurrence. */
  firstTimestamp: string;
  lastTimestamp: string;
}

/** What a transition reports; the log gives it its seq, count and times. */
export interface NewEvent {
  type: EventType;
  reason: EventReason;
  message: string;
  ordinal?: number;
  instance?: string;
  incarnation?: number;
}

/** The durable log, kept in the set's state. */
export interface EventLog {
  /** Oldest first; at most MAX_EVENTS. */
  items: SetEvent[];
  /** The last seq given out (0 before the first event). */
  seq: number;
}

/** How many events a set keeps; older ones are dropped first. */
export const MAX_EVENTS = 100;
/** A repeat within this long of the last occurrence is counted on the recorded event. */
export const AGGREGATE_WINDOW_MS = 10 * 60_000;

export function emptyEventLog(): EventLog {
  return { items: [], seq: 0 };
}

/** What makes two events "the same" for aggregation (as Kubernetes' event key, minus the source). */
function sameEvent(a: NewEvent | SetEvent, b: NewEvent | SetEvent): boolean {
  return a.type === b.type && a.reason === b.reason && a.message === b.message && a.instance === b.instance && a.incarnation === b.incarnation;
}

/** Records events at workflow time `now` (ms), in place: repeats are counted, the log stays bounded. */
export function recordEvents(log: EventLog, events: NewEvent[], now: number): void {
  const at = new Date(now).toISOString();
  for (const event of events) {
    const index = log.items.findIndex((e) => sameEvent(e, event) && now - Date.parse(e.lastTimestamp) <= AGGREGATE_WINDOW_MS);
    log.seq += 1;
    if (index !== -1) {
      const [previous] = log.items.splice(index, 1);
      log.items.push({ ...previous!, seq: log.seq, count: previous!.count + 1, lastTimestamp: at });
    } else {
      log.items.push({ seq: log.seq, ...withoutUndefined(event), count: 1, firstTimestamp: at, lastTimestamp: at });
    }
  }
  if (log.items.length > MAX_EVENTS) log.items.splice(0, log.items.length - MAX_EVENTS);
}

/** The events after `since` (all when undefined), oldest first. */
export function eventsSince(log: EventLog, since?: number): SetEvent[] {
  return since === undefined ? [...log.items] : log.items.filter((e) => e.seq > since);
}

/** The answer of the getEvents Query and of `GET /v1/sets/{name}/events`. */
export interface EventsView {
  /** The last seq given out: the resume token of a reader that saw everything. */
  latestSeq: number;
  /** The oldest seq still kept, undefined when none: a reader that saw less than this has missed events. */
  oldestSeq?: number;
  items: SetEvent[];
}

export function eventsView(log: EventLog, since?: number): EventsView {
  return { latestSeq: log.seq, ...(log.items[0] ? { oldestSeq: log.items[0].seq } : {}), items: eventsSince(log, since) };
}

function withoutUndefined(event: NewEvent): NewEvent {
  return Object.fromEntries(Object.entries(event).filter(([, v]) => v !== undefined)) as unknown as NewEvent;
}
