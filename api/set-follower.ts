// Follows one set's workflow history as it is written, so every change of the set's view and every new
// event reaches the watch stream (api/watch-hub.ts) without polling and without gaps. The workflow keeps
// its view in memo fields (core/view-memo.ts) and upserts the changed ones on every change; each upsert
// is a WorkflowPropertiesModified event in the history, in order. The follower starts from a describe
// (the memo and the history length it was read at), long-polls the history after that
// (waitNewEvent), applies each upsert to its copy of the memo, and moves to the next run on
// continue-as-new. When the run completes (or is terminated) the set is gone.
import type { Client } from '@temporalio/client';
import { QueryRejectedError, WorkflowNotFoundError } from '@temporalio/client';
import { decodeMapFromPayloads } from '@temporalio/common/lib/internal-non-workflow/index.js';
import type { SetEvent } from '../core/events.js';
import { workflowIdForSet } from '../core/names.js';
import type { SetView } from '../core/status.js';
import { EVENTS_FIELD, eventsFromMemo, viewFromMemo } from '../core/view-memo.js';
import type { Logger } from '../infra/logger.js';
import { getSetQuery } from '../workflows/messages.js';
import { isNoAnswer } from './temporal-calls.js';

type HistoryResponse = Awaited<ReturnType<Client['workflowService']['getWorkflowExecutionHistory']>>;
type HistoryEvent = NonNullable<NonNullable<HistoryResponse['history']>['events']>[number];

/** What a follower reports, in the order the workflow wrote it. */
export type FollowerUpdate =
  | { kind: 'set'; view: SetView }
  | { kind: 'event'; event: SetEvent }
  | { kind: 'deleted' }
  | { kind: 'error'; reason: string; message: string };

export interface FollowerOptions {
  logger: Logger;
  /** History events per page (the long poll answers as soon as there is one). */
  pageSize?: number;
  /** First wait before retrying after Temporal did not answer; doubles up to 10 s. */
  retryMs?: number;
}

/** The set's state as the follower last applied it. */
export interface FollowedSet {
  view: SetView;
  /** The latest event seq the memo named (undefined before the first event, or with a worker older than events). */
  latestSeq: number | undefined;
}

export class SetFollower {
  private readonly abort = new AbortController();
  /** The long poll in flight: each call has its own signal, so none collects listeners over a long follow. */
  private call: AbortController | undefined;
  private readonly listeners = new Set<(update: FollowerUpdate) => void>();
  private memo: Record<string, unknown> = {};
  private current: FollowedSet | undefined;
  private lastViewJson = '';
  private ended = false;
  /** Resolves once the set was read: its state, or undefined when the set does not exist. */
  readonly started: Promise<FollowedSet | undefined>;

  constructor(
    private readonly client: Client,
    readonly name: string,
    private readonly options: FollowerOptions,
  ) {
    this.started = this.start();
  }

  /** The state applied so far (undefined before start, or once the set is gone). */
  get state(): FollowedSet | undefined {
    return this.ended ? undefined : this.current;
  }

  get finished(): boolean {
    return this.ended;
  }

  listen(listener: (update: FollowerUpdate) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops following: the long poll in flight is cancelled. */
  stop(): void {
    this.ended = true;
    this.abort.abort();
    this.call?.abort();
  }

  private async start(): Promise<FollowedSet | undefined> {
    const handle = this.client.workflow.getHandle(workflowIdForSet(this.name));
    let description: Awaited<ReturnType<typeof handle.describe>>;
    try {
      description = await this.client.connection.withDeadline(Date.now() + 10_000, () => handle.describe());
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return this.gone();
      throw err;
    }
    if (description.status.name !== 'RUNNING') return this.gone();
    this.memo = { ...(description.memo ?? {}) };
    let view = viewFromMemo(this.memo);
    if (!view) {
      // A worker older than the memo: ask the run itself (null before its first manifest).
      try {
        view = (await this.client.connection.withDeadline(Date.now() + 10_000, () => handle.query(getSetQuery))) ?? undefined;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError || err instanceof QueryRejectedError) return this.gone();
        throw err;
      }
    }
    if (!view) return this.gone();
    this.current = { view, latestSeq: eventsFromMemo(this.memo)?.latestSeq };
    this.lastViewJson = JSON.stringify(view);
    void this.follow(description.runId, description.historyLength);
    return this.current;
  }

  private gone(): undefined {
    this.ended = true;
    return undefined;
  }

  /** Follows run after run until the set is gone, the follower is stopped, or a failure that is not transient. */
  private async follow(firstRunId: string, skipThrough: number): Promise<void> {
    let runId: string | undefined = firstRunId;
    let skip = skipThrough;
    try {
      while (runId !== undefined && !this.ended) {
        runId = await this.followRun(runId, skip);
        skip = 0;
      }
      if (!this.ended) this.emit({ kind: 'deleted' });
    } catch (err) {
      if (this.ended) return;
      this.options.logger.error({ err, set: this.name }, 'cannot follow the set workflow history');
      this.emit({ kind: 'error', reason: 'Unavailable', message: `the API lost track of set '${this.name}'; reconnect with the last event id` });
    } finally {
      this.ended = true;
    }
  }

  /** Follows one run; returns the next run's id after continue-as-new, undefined when the run closed otherwise. */
  private async followRun(runId: string, skipThrough: number): Promise<string | undefined> {
    let nextPageToken: Uint8Array | undefined;
    let retryMs = this.options.retryMs ?? 500;
    for (;;) {
      let response: HistoryResponse;
      const call = (this.call = new AbortController());
      try {
        response = await this.client.connection.withAbortSignal(call.signal, () =>
          this.client.workflowService.getWorkflowExecutionHistory({
            namespace: this.client.options.namespace,
            execution: { workflowId: workflowIdForSet(this.name), runId },
            nextPageToken,
            waitNewEvent: true,
            maximumPageSize: this.options.pageSize ?? 200,
          }),
        );
      } catch (err) {
        if (this.ended) return undefined;
        if (!isNoAnswer(err)) throw err;
        this.options.logger.warn({ err, set: this.name }, 'Temporal did not answer the long poll of a watched set; retrying');
        await abortableSleep(retryMs, this.abort.signal);
        retryMs = Math.min(retryMs * 2, 10_000);
        continue;
      }
      retryMs = this.options.retryMs ?? 500;
      for (const event of response.history?.events ?? []) {
        if (this.ended) return undefined;
        if (Number(event.eventId) <= skipThrough) continue;
        const next = await this.apply(event);
        if (next !== 'continue') return next;
      }
      if (!response.nextPageToken || response.nextPageToken.length === 0) return undefined;
      nextPageToken = response.nextPageToken;
    }
  }

  /** Applies one history event: 'continue', the next run's id, or undefined when the run closed. */
  private async apply(event: HistoryEvent): Promise<string | undefined | 'continue'> {
    const converter = this.client.options.loadedDataConverter;
    const started = event.workflowExecutionStartedEventAttributes;
    if (started) {
      // A new run (after continue-as-new) starts with the whole memo carried over.
      this.memo = (await decodeMapFromPayloads(converter, started.memo?.fields ?? {})) ?? {};
      this.changed(undefined);
      return 'continue';
    }
    const modified = event.workflowPropertiesModifiedEventAttributes;
    if (modified) {
      const fields = (await decodeMapFromPayloads(converter, modified.upsertedMemo?.fields ?? {})) ?? {};
      for (const [key, value] of Object.entries(fields)) {
        if (value === undefined || value === null) delete this.memo[key];
        else this.memo[key] = value;
      }
      this.changed(EVENTS_FIELD in fields ? eventsFromMemo(fields) : undefined);
      return 'continue';
    }
    const continued = event.workflowExecutionContinuedAsNewEventAttributes;
    if (continued) return continued.newExecutionRunId ?? undefined;
    if (
      event.workflowExecutionCompletedEventAttributes ||
      event.workflowExecutionFailedEventAttributes ||
      event.workflowExecutionTimedOutEventAttributes ||
      event.workflowExecutionTerminatedEventAttributes ||
      event.workflowExecutionCanceledEventAttributes
    ) {
      return undefined;
    }
    return 'continue';
  }

  /** Reports the view if it changed, then the events this upsert recorded (those after the last seq seen). */
  private changed(events: { latestSeq: number; recent: SetEvent[] } | undefined): void {
    const view = viewFromMemo(this.memo);
    if (view) {
      const json = JSON.stringify(view);
      if (json !== this.lastViewJson) {
        this.lastViewJson = json;
        this.current = { view, latestSeq: this.current?.latestSeq };
        this.emit({ kind: 'set', view });
      }
    }
    if (!events || !this.current) return;
    const after = this.current.latestSeq ?? 0;
    for (const event of [...events.recent].sort((a, b) => a.seq - b.seq)) {
      if (event.seq > after) this.emit({ kind: 'event', event });
    }
    this.current = { ...this.current, latestSeq: Math.max(after, events.latestSeq) };
  }

  private emit(update: FollowerUpdate): void {
    for (const listener of [...this.listeners]) listener(update);
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
