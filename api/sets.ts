// The sets as the API sees them: every operation is a Temporal Update, Query, describe or visibility
// listing against one set workflow (reads come from the view the workflow keeps in its memo). The API never touches drivers or DNS itself.
import {
  ApplicationFailure,
  Client,
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  QueryNotRegisteredError,
  QueryRejectedError,
  WorkflowClient,
} from '@temporalio/client';
import type { QueryDefinition } from '@temporalio/common';
import type { EventsView } from '../core/events.js';
import type { FieldIssue } from '../core/manifest.js';
import { workflowIdForSet } from '../core/names.js';
import { previewRollout, type RolloutPreview } from '../core/rollout-preview.js';
import { initialState, type SetState } from '../core/set-state.js';
import type { RevisionView, SetView } from '../core/status.js';
import { viewFromMemo } from '../core/view-memo.js';
import { previewApply, type ApplyPreview, type Checked, type Rejection } from '../core/transitions.js';
import {
  SearchAttributes,
  WORKFLOW_TYPE,
  applyUpdate,
  deleteInstanceUpdate,
  deleteSetUpdate,
  getEventsQuery,
  getRevisionsQuery,
  getSetQuery,
  previewApplyQuery,
  previewRolloutQuery,
  setCordonUpdate,
  type ApplyRequest,
  type ApplyResult,
} from '../workflows/messages.js';
import type { StatefulSetInput } from '../workflows/statefulset.js';
import { ReadFlights } from './read-flights.js';
import { commonFailure, runningWorkflows, withDeadline } from './temporal-calls.js';

export type SetErrorCode = 'InvalidManifest' | 'BadRequest' | 'Conflict' | 'NotFound' | 'Unavailable';

export class SetError extends Error {
  constructor(
    readonly code: SetErrorCode,
    message: string,
    readonly details: FieldIssue[] = [],
  ) {
    super(message);
    this.name = 'SetError';
  }
}

export interface SetsServiceOptions {
  taskQueue: string;
  /** Passed to new set workflows (tests use a low history limit to exercise continue-as-new). */
  workflowLimits?: StatefulSetInput['limits'];
  /** How long a read (Query, listing) may wait for Temporal and the worker (default 10 s). */
  queryTimeoutMs?: number;
  /** How long a change (Update) may wait for the worker to accept it (default 30 s). */
  updateTimeoutMs?: number;
}

export class SetsService {
  private readonly queryTimeoutMs: number;
  private readonly updateTimeoutMs: number;
  /** Queries only open runs: a deleted set's last run is not served as if it still existed. */
  private readonly openWorkflows: WorkflowClient;
  private readonly setReads = new ReadFlights<SetView | undefined>();
  private readonly listReads = new ReadFlights<SetView[]>();

  constructor(
    private readonly client: Client,
    private readonly options: SetsServiceOptions,
  ) {
    this.queryTimeoutMs = options.queryTimeoutMs ?? 10_000;
    this.updateTimeoutMs = options.updateTimeoutMs ?? 30_000;
    this.openWorkflows = new WorkflowClient({
      connection: client.connection,
      namespace: client.options.namespace,
      queryRejectCondition: 'NOT_OPEN',
    });
  }

  /** Creates or updates a set: one Update-with-Start, so creation and the first spec are atomic. */
  async apply(name: string, manifest: unknown, opts: { expectedGeneration?: number; requestedBy?: string } = {}): Promise<ApplyResult> {
    const start = new WithStartWorkflowOperation<(input: StatefulSetInput) => Promise<{ deleted: true }>>(WORKFLOW_TYPE, {
      workflowId: workflowIdForSet(name),
      taskQueue: this.options.taskQueue,
      args: [{ state: initialState(name), limits: this.options.workflowLimits }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      typedSearchAttributes: [{ key: SearchAttributes.set, value: name }],
    });
    return this.call(name, () =>
      this.client.workflow.executeUpdateWithStart(applyUpdate, {
        args: [{ manifest, expectedGeneration: opts.expectedGeneration, requestedBy: opts.requestedBy }],
        startWorkflowOperation: start,
      }),
    );
  }

  /**
   * A dry run of apply: what the set would become, or the rejection the apply would meet, changing
   * nothing. A set's workflow answers it with a query (no history, no Update); for a set without one
   * (never created, or deleted) it is worked out here from the state a new workflow would start with,
   * so no workflow is started.
   */
  async previewApply(name: string, manifest: unknown, opts: { expectedGeneration?: number; requestedBy?: string } = {}): Promise<ApplyResult> {
    return this.preview(name, previewApplyQuery, previewApply, { manifest, ...opts }, 'upgrade the worker, or apply without dryRun');
  }

  /**
   * The rollout an apply would start (the planner run on a copy of the set, every instance Ready at
   * once), or the rejection the apply would meet; as previewApply, it changes and starts nothing.
   */
  async previewRollout(name: string, manifest: unknown, opts: { expectedGeneration?: number; requestedBy?: string } = {}): Promise<RolloutPreview> {
    return this.preview(name, previewRolloutQuery, previewRollout, { manifest, ...opts }, 'upgrade the worker');
  }

  /** A dry-run query of the set's workflow; for a set without one, the same worked out from a new set's state. */
  private async preview<T>(
    name: string,
    query: QueryDefinition<Checked<T>, [ApplyRequest]>,
    local: (state: SetState, manifest: unknown, expectedGeneration: number | undefined, now: number) => Checked<T>,
    request: ApplyRequest,
    /** What to do when the set's worker is older than this API. */
    remedy: string,
  ): Promise<T> {
    let preview: Checked<T>;
    try {
      const handle = this.openWorkflows.getHandle(workflowIdForSet(name));
      preview = await this.within(this.queryTimeoutMs, () => handle.query(query, request));
    } catch (err) {
      if (err instanceof QueryNotRegisteredError) {
        // During a rolling upgrade the set's workflow may still run on a worker without the query.
        throw new SetError('Unavailable', `the Ordinal worker running set '${name}' is older than this API and cannot preview a change; ${remedy}`);
      }
      if (!(err instanceof WorkflowNotFoundError || err instanceof QueryRejectedError)) throw translate(err, name);
      preview = local(initialState(name), request.manifest, request.expectedGeneration, Date.now());
    }
    if (!preview.ok) throw rejectionError(preview.rejection);
    return preview.value;
  }

  /**
   * The set, or undefined when it does not exist (never created, or deleted). One call to the Temporal
   * server, none to the worker: describe, whose memo holds the view as the set's workflow last wrote it
   * (core/view-memo.ts; written in the same workflow task as every change, so a read after a change's
   * answer sees it). A run without the view in its memo (a worker older than the memo) is asked with the
   * getSet Query as before. Concurrent GETs of one set share calls (ReadFlights), never one that began
   * before they arrived.
   */
  get(name: string): Promise<SetView | undefined> {
    return this.setReads.read(name, () => this.describeSet(name));
  }

  private async describeSet(name: string): Promise<SetView | undefined> {
    try {
      return await this.within(this.queryTimeoutMs, async () => {
        const description = await this.client.workflow.getHandle(workflowIdForSet(name)).describe();
        if (description.status.name !== 'RUNNING') return undefined;
        return viewFromMemo(description.memo) ?? (await this.query(name));
      });
    } catch (err) {
      // The run closed between the describe and the Query: the set does not exist any more.
      if (err instanceof WorkflowNotFoundError || err instanceof QueryRejectedError) return undefined;
      throw translate(err, name);
    }
  }

  /**
   * Every set, from ONE visibility listing: each running set workflow with its memo, so with its view;
   * only a set without the view in its memo (a worker older than the memo) is asked with a Query. The
   * listing is eventually consistent: it may show a change (a status, a deletion) a little after GET of
   * the set shows it (docs/api.md, "Reading sets"). Concurrent lists share listings as GETs share calls.
   */
  list(): Promise<SetView[]> {
    return this.listReads.read('', () => this.listSets());
  }

  private async listSets(): Promise<SetView[]> {
    let executions: Awaited<ReturnType<typeof runningWorkflows>>;
    try {
      executions = await this.within(this.queryTimeoutMs, () => runningWorkflows(this.client, WORKFLOW_TYPE, this.options.taskQueue));
    } catch (err) {
      throw translate(err, undefined);
    }
    const views = await Promise.all(
      executions.map(async (execution) => {
        const name = String(execution.searchAttributes?.OrdinalSet?.[0] ?? execution.workflowId.replace(/^statefulset\//, ''));
        return viewFromMemo(execution.memo) ?? (await this.queryOrUndefined(name));
      }),
    );
    return views.filter((v): v is SetView => v !== undefined).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }

  /** The getSet Query of the set's open run (null before its first manifest). */
  private async query(name: string): Promise<SetView | undefined> {
    return (await this.openWorkflows.getHandle(workflowIdForSet(name)).query(getSetQuery)) ?? undefined;
  }

  /** The Query, for a set the listing named: undefined when its run has closed meanwhile. */
  private async queryOrUndefined(name: string): Promise<SetView | undefined> {
    try {
      return await this.within(this.queryTimeoutMs, () => this.query(name));
    } catch (err) {
      if (err instanceof WorkflowNotFoundError || err instanceof QueryRejectedError) return undefined;
      throw translate(err, name);
    }
  }

  async delete(name: string, requestedBy?: string): Promise<SetView> {
    return this.call(name, () => this.client.workflow.getHandle(workflowIdForSet(name)).executeUpdate(deleteSetUpdate, { args: [{ requestedBy }] }));
  }

  /** The set's revisions, newest first, or undefined when the set does not exist. */
  async revisions(name: string): Promise<RevisionView[] | undefined> {
    try {
      const handle = this.client.workflow.getHandle(workflowIdForSet(name));
      return await this.within(this.queryTimeoutMs, async () => {
        const description = await handle.describe();
        if (description.status.name !== 'RUNNING') return undefined;
        return (await handle.query(getRevisionsQuery)) ?? undefined;
      });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw translate(err, name);
    }
  }

  /**
   * The set's events after `since` (all it keeps when undefined), oldest first, or undefined when the set
   * does not exist (never created, deleted, or not applied yet: the Query answers null, as GET's). One
   * Query of the open run. A set run by a worker older than events (the Query not registered) has none:
   * an empty list at latestSeq 0, as a set that has recorded nothing yet.
   */
  async events(name: string, since?: number): Promise<EventsView | undefined> {
    try {
      const handle = this.openWorkflows.getHandle(workflowIdForSet(name));
      return (await this.within(this.queryTimeoutMs, () => handle.query(getEventsQuery, { since }))) ?? undefined;
    } catch (err) {
      if (err instanceof QueryNotRegisteredError) return { latestSeq: 0, items: [] };
      if (err instanceof WorkflowNotFoundError || err instanceof QueryRejectedError) return undefined;
      throw translate(err, name);
    }
  }

  /** Cordons (or uncordons) an instance: out of the service records, kept running. */
  async cordon(name: string, ordinal: number, cordoned: boolean, requestedBy?: string): Promise<SetView> {
    return this.call(name, () =>
      this.client.workflow.getHandle(workflowIdForSet(name)).executeUpdate(setCordonUpdate, { args: [{ ordinal, cordoned, requestedBy }] }),
    );
  }

  async deleteInstance(name: string, ordinal: number, requestedBy?: string): Promise<SetView> {
    return this.call(name, () =>
      this.client.workflow.getHandle(workflowIdForSet(name)).executeUpdate(deleteInstanceUpdate, { args: [{ ordinal, requestedBy }] }),
    );
  }

  /** True when Temporal answers. */
  async healthy(): Promise<boolean> {
    try {
      await this.client.connection.withDeadline(Date.now() + 5_000, () =>
        this.client.workflowService.getSystemInfo({}),
      );
      return true;
    } catch {
      return false;
    }
  }

  /** A change: bounded, so a missing worker gives 503 rather than a hung request. */
  private async call<T>(name: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await this.within(this.updateTimeoutMs, fn);
    } catch (err) {
      throw translate(err, name);
    }
  }

  /** Every Temporal call made inside `fn` shares one deadline. */
  private within<T>(timeoutMs: number, fn: () => Promise<T>): Promise<T> {
    return withDeadline(this.client, timeoutMs, fn);
  }
}

/** A rejection the workflow answered (a dry run) as the SetError its Update would have failed with. */
function rejectionError(rejection: Rejection): SetError {
  return new SetError(rejection.type, rejection.message, rejection.details ?? []);
}

/** Maps Temporal errors to the API's error codes; anything unexpected is rethrown as is. */
function translate(err: unknown, name: string | undefined): unknown {
  if (err instanceof SetError) return err;
  if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
    const failure = err.cause;
    const details = (failure.details?.[0] as FieldIssue[] | undefined) ?? [];
    if (failure.type === 'InvalidManifest' || failure.type === 'BadRequest' || failure.type === 'Conflict' || failure.type === 'NotFound') {
      return new SetError(failure.type, failure.message, details);
    }
  }
  const common = commonFailure(err, {
    gone: `set '${name}' does not exist`,
    notTaken: 'the Ordinal worker did not take the change in time; is it running? (GET the set to see whether it was applied)',
  });
  return common ? new SetError(common.code, common.message) : err;
}
