// Reads a workflow's history into a timeline of its durable steps: every activity (scheduled, started,
// closed) and every workflow task. This is where the time of an Ordinal operation goes, step by step.
import type { Client } from '@temporalio/client';

export interface ActivityStep {
  type: string;
  /** The activity's summary as the UI shows it ("create web-1", "wait ready web-1", ...). */
  summary?: string;
  scheduled: number;
  started?: number;
  closed?: number;
  outcome: 'completed' | 'failed' | 'timed out' | 'canceled' | 'open';
}

export interface WorkflowTaskStep {
  scheduled: number;
  started?: number;
  completed?: number;
}

export interface Timeline {
  activities: ActivityStep[];
  workflowTasks: WorkflowTaskStep[];
  events: number;
  /** Continue-as-new happened: the timeline covers only the last run. */
  continuedAsNew: boolean;
}

interface Timestamp {
  seconds?: unknown;
  nanos?: number | null;
}

function ms(t: Timestamp | null | undefined): number {
  if (!t) return Number.NaN;
  return Number(String(t.seconds ?? 0)) * 1000 + (t.nanos ?? 0) / 1e6;
}

function decodeSummary(payload: { data?: Uint8Array | null } | null | undefined): string | undefined {
  if (!payload?.data) return undefined;
  try {
    const value = JSON.parse(Buffer.from(payload.data).toString('utf8'));
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The timeline of one workflow execution (its latest run unless `runId`). */
export async function fetchTimeline(client: Client, workflowId: string, runId?: string): Promise<Timeline> {
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const activities = new Map<string, ActivityStep>();
  const tasks = new Map<string, WorkflowTaskStep>();
  let continuedAsNew = false;
  const events = history.events ?? [];
  for (const e of events) {
    const id = String(e.eventId);
    const at = ms(e.eventTime as Timestamp);
    if (e.activityTaskScheduledEventAttributes) {
      activities.set(id, {
        type: e.activityTaskScheduledEventAttributes.activityType?.name ?? '?',
        summary: decodeSummary(e.userMetadata?.summary),
        scheduled: at,
        outcome: 'open',
      });
    } else if (e.activityTaskStartedEventAttributes) {
      const a = activities.get(String(e.activityTaskStartedEventAttributes.scheduledEventId));
      if (a) a.started = at;
    } else if (e.activityTaskCompletedEventAttributes) {
      close(activities.get(String(e.activityTaskCompletedEventAttributes.scheduledEventId)), at, 'completed');
    } else if (e.activityTaskFailedEventAttributes) {
      close(activities.get(String(e.activityTaskFailedEventAttributes.scheduledEventId)), at, 'failed');
    } else if (e.activityTaskTimedOutEventAttributes) {
      close(activities.get(String(e.activityTaskTimedOutEventAttributes.scheduledEventId)), at, 'timed out');
    } else if (e.activityTaskCanceledEventAttributes) {
      close(activities.get(String(e.activityTaskCanceledEventAttributes.scheduledEventId)), at, 'canceled');
    } else if (e.workflowTaskScheduledEventAttributes) {
      tasks.set(id, { scheduled: at });
    } else if (e.workflowTaskStartedEventAttributes) {
      const t = tasks.get(String(e.workflowTaskStartedEventAttributes.scheduledEventId));
      if (t) t.started = at;
    } else if (e.workflowTaskCompletedEventAttributes) {
      const t = tasks.get(String(e.workflowTaskCompletedEventAttributes.scheduledEventId));
      if (t) t.completed = at;
    } else if (e.workflowExecutionContinuedAsNewEventAttributes) {
      continuedAsNew = true;
    }
  }
  return {
    activities: [...activities.values()],
    workflowTasks: [...tasks.values()],
    events: events.length,
    continuedAsNew,
  };
}

function close(a: ActivityStep | undefined, at: number, outcome: ActivityStep['outcome']): void {
  if (!a) return;
  a.closed = at;
  a.outcome = outcome;
}

export interface StepTotals {
  count: number;
  /** Sum of scheduled -> closed over the steps, ms. */
  totalMs: number;
  /** Sum of scheduled -> started (waiting in the task queue for a worker), ms. */
  queuedMs: number;
}

/** Per activity type (and 'workflow task'), counts and summed durations of the steps inside [from, to]. */
export function stepTotals(timeline: Timeline, from = -Infinity, to = Infinity): Record<string, StepTotals> {
  const totals: Record<string, StepTotals> = {};
  const add = (key: string, scheduled: number, started: number | undefined, closed: number | undefined) => {
    if (closed === undefined || scheduled < from || closed > to) return;
    const t = (totals[key] ??= { count: 0, totalMs: 0, queuedMs: 0 });
    t.count++;
    t.totalMs += closed - scheduled;
    if (started !== undefined) t.queuedMs += started - scheduled;
  };
  for (const a of timeline.activities) add(a.type, a.scheduled, a.started, a.closed);
  for (const w of timeline.workflowTasks) add('workflow task', w.scheduled, w.started, w.completed);
  return totals;
}
