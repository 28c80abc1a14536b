// The Route 53 hosted zones as the API sees them: one durable publisher workflow per zone
// (`route53-zone/<hostedZoneId>`, started by the first set that publishes there), listed through
// visibility, read with its `status` Query, and asked to repair drift with its `reconcile` Update.
// Like SetsService, every call is bounded and Temporal's errors become SetErrors.
import {
  Client,
  WorkflowNotFoundError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  WorkflowUpdateStage,
  type WorkflowUpdateHandle,
} from '@temporalio/client';
import type { Route53ErrorInfo } from '../activities/dns/route53/client.js';
import {
  ROUTE53_ZONE_WORKFLOW_TYPE,
  reconcileUpdate,
  route53ZoneWorkflowId,
  statusQuery,
  type FlushSummary,
  type ReconcileSummary,
  type ZoneStatus,
} from '../activities/dns/route53/contract.js';
import { SetError } from './sets.js';
import { commonFailure, isNoAnswer, runningWorkflows, withDeadline } from './temporal-calls.js';

/** A flush of the publisher, `at` as an ISO time. */
export type FlushView = Omit<FlushSummary, 'at'> & { at: string };
/** What a drift repair did (or, in a dry run, would do), `at` as an ISO time. */
export type ReconcileView = Omit<ReconcileSummary, 'at'> & { at: string };
/** The publisher's last failure (credentials, access, zone), `at` as an ISO time. */
export type ZoneErrorView = Route53ErrorInfo & { at: string };

/** One hosted zone Ordinal publishes to, as its publisher reports it. */
export interface ZoneView {
  /** Without the `/hostedzone/` prefix. */
  hostedZoneId: string;
  /** The zone's name. */
  zone: string;
  /** The sets that have (or are removing) records in this zone. */
  sets: string[];
  /** Sets waiting for the next flush (new changes, or a retry after a failed flush). */
  pending: string[];
  lastFlush?: FlushView;
  lastReconcile?: ReconcileView;
  lastError?: ZoneErrorView;
}

export interface Route53ZonesServiceOptions {
  /** The task queue of the publishers: the set workflows' (ORDINAL_TASK_QUEUE). */
  taskQueue: string;
  /** How long a read (listing, Query) may wait for Temporal and the worker (default 10 s). */
  queryTimeoutMs?: number;
  /** How long a reconcile may wait for the worker to take it (default 30 s). */
  updateTimeoutMs?: number;
  /**
   * How long a reconcile may take once taken (default 5 min): it waits behind a flush in progress, and a
   * real one waits until Route 53 has applied its changes everywhere (INSYNC).
   */
  reconcileTimeoutMs?: number;
}

/** `/hostedzone/Z123` and `Z123` name the same zone. */
export function bareHostedZoneId(hostedZoneId: string): string {
  return hostedZoneId.replace(/^\/?hostedzone\//, '');
}

/** The NotFound message for a hosted zone no set has published to. */
export function noPublisherMessage(hostedZoneId: string): string {
  return `no Route 53 publisher for hosted zone '${bareHostedZoneId(hostedZoneId)}': no set publishes to it now (a zone's publisher ends once its last set is gone)`;
}

export class Route53ZonesService {
  private readonly queryTimeoutMs: number;
  private readonly updateTimeoutMs: number;
  private readonly reconcileTimeoutMs: number;

  constructor(
    private readonly client: Client,
    private readonly options: Route53ZonesServiceOptions,
  ) {
    this.queryTimeoutMs = options.queryTimeoutMs ?? 10_000;
    this.updateTimeoutMs = options.updateTimeoutMs ?? 30_000;
    this.reconcileTimeoutMs = options.reconcileTimeoutMs ?? 5 * 60_000;
  }

  /** The running publishers on this task queue, by zone name (then id). */
  async list(): Promise<ZoneView[]> {
    let workflowIds: string[];
    try {
      const executions = await this.within(this.queryTimeoutMs, () => runningWorkflows(this.client, ROUTE53_ZONE_WORKFLOW_TYPE, this.options.taskQueue));
      workflowIds = executions.map((execution) => execution.workflowId);
    } catch (err) {
      throw translate(err, undefined);
    }
    const views = await Promise.all(workflowIds.map((id) => this.status(id)));
    return views
      .filter((v): v is ZoneView => v !== undefined)
      .sort((a, b) => a.zone.localeCompare(b.zone) || a.hostedZoneId.localeCompare(b.hostedZoneId));
  }

  /**
   * Runs the zone's drift repair now and returns what it did; with dryRun, only the plan. NotFound when
   * no set publishes to the zone now (there is no publisher to ask; none is started).
   */
  async reconcile(hostedZoneId: string, dryRun: boolean): Promise<ReconcileView> {
    const id = bareHostedZoneId(hostedZoneId);
    const handle = this.client.workflow.getHandle(route53ZoneWorkflowId(id));
    const started = Date.now();
    let update: WorkflowUpdateHandle<ReconcileSummary>;
    try {
      // Accepted first, so a worker that is not running is told apart from a reconcile still in progress.
      update = await this.within(Math.min(this.updateTimeoutMs, this.reconcileTimeoutMs), () =>
        handle.startUpdate(reconcileUpdate, { args: [{ dryRun }], waitForStage: WorkflowUpdateStage.ACCEPTED }),
      );
    } catch (err) {
      throw translate(err, id);
    }
    try {
      const left = Math.max(1, this.reconcileTimeoutMs - (Date.now() - started));
      return reconcileView(await this.within(left, () => update.result()));
    } catch (err) {
      if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isNoAnswer(err)) {
        throw new SetError(
          'Unavailable',
          `the reconcile of hosted zone '${id}' did not finish in time; it goes on in the publisher, and its outcome ` +
            'will be the zone\'s lastReconcile (GET /v1/dns/route53/zones, or "ordinal dns zones -o yaml")',
        );
      }
      throw translate(err, id);
    }
  }

  /** One publisher's status, or undefined when it went away since it was listed. */
  private async status(workflowId: string): Promise<ZoneView | undefined> {
    try {
      return await this.within(this.queryTimeoutMs, async () => zoneView(await this.client.workflow.getHandle(workflowId).query(statusQuery)));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw translate(err, undefined);
    }
  }

  /** Every Temporal call made inside `fn` shares one deadline. */
  private within<T>(timeoutMs: number, fn: () => Promise<T>): Promise<T> {
    return withDeadline(this.client, timeoutMs, fn);
  }
}

/** Maps Temporal errors to the API's error codes; anything unexpected is rethrown as is. */
function translate(err: unknown, hostedZoneId: string | undefined): unknown {
  if (err instanceof SetError) return err;
  const common = commonFailure(err, {
    gone: hostedZoneId === undefined ? undefined : noPublisherMessage(hostedZoneId),
    notTaken: 'the Ordinal worker did not take the reconcile in time; is it running? (nothing was done)',
  });
  return common ? new SetError(common.code, common.message) : err;
}

// ---- views: the publisher's messages with ISO times, and only the documented fields ----

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

export function zoneView(status: ZoneStatus): ZoneView {
  const view: ZoneView = {
    hostedZoneId: status.hostedZoneId,
    zone: status.zone,
    sets: Object.keys(status.sets ?? {}).sort(),
    pending: [...(status.pending ?? [])].sort(),
  };
  if (status.lastFlush) view.lastFlush = flushView(status.lastFlush);
  if (status.lastReconcile) view.lastReconcile = reconcileView(status.lastReconcile);
  if (status.lastError) {
    const { code, message, hint, retryable, at } = status.lastError;
    view.lastError = { code, message, hint, retryable, at: iso(at) };
  }
  return view;
}

function flushView(flush: FlushSummary): FlushView {
  const { at, sets, applied, conflicts, failed, changeIds, durationMs } = flush;
  return { at: iso(at), sets, applied, conflicts, failed, changeIds, durationMs };
}

export function reconcileView(summary: ReconcileSummary): ReconcileView {
  const { at, dryRun, text, planned, applied, conflicts, vanished, error } = summary;
  const view: ReconcileView = {
    at: iso(at),
    dryRun,
    text,
    planned,
    applied,
    conflicts: conflicts.map(({ set, name, type, reason }) => ({ set, name, type, reason })),
    vanished,
  };
  if (error) view.error = { code: error.code, message: error.message, hint: error.hint, retryable: error.retryable };
  return view;
}
