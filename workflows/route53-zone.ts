// One durable publisher per Route 53 hosted zone (workflow id route53-zone/<hostedZoneId>). Sets submit
// their desired records (Update `submit`, sent with update-with-start); the publisher gathers the
// submits that arrive close together and flushes them with ONE activity, so many sets cost a few API
// calls instead of one per record per set, and the account's request rate is shared sanely. A submit
// answers once recorded (a receipt) and its set waits for the outcome with the `outcomes` Query, so
// the server's limit of 10 open Updates per workflow never caps how many sets one flush takes. A flush
// plans from the records the worker kept after the last one when nothing says they are stale, and
// lists the zone otherwise. It also repairs drift periodically, continues-as-new with what the sets
// want, and ends once no set uses the zone (the next submit starts it again).
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  log,
  proxyActivities,
  setHandler,
  patched,
  sleep,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { PublishOutcome, RecordSet } from '../core/dns-records.js';
import type { Route53Activities } from '../activities/dns/route53/activities.js';
import type { Route53ErrorInfo } from '../activities/dns/route53/client.js';
import {
  outcomesQuery,
  reconcileUpdate,
  statusQuery,
  submitUpdate,
  type ReconcileSummary,
  type Route53ZoneInput,
  type Route53ZoneState,
  type SubmitRequest,
  type ZoneStatus,
} from '../activities/dns/route53/contract.js';
import type { FlushResult } from '../activities/dns/route53/publisher.js';

/**
 * Recorded submits answered at once, coalescing while submits keep arriving, flushes that plan from the
 * worker's kept records, contradicted rejections retried after re-listing, and the end once unused.
 */
const RECORDED_SUBMITS = 'route53-zone-recorded-submits';

const DEFAULTS = {
  coalesceMs: 200,
  maxCoalesceMs: 2_000,
  idleEndMs: 5 * 60_000,
  reconcileIntervalMs: 5 * 60_000,
  reconcileDryRun: false,
  inSyncTimeoutMs: 5 * 60_000,
  retryInitialMs: 5_000,
  retryMaxMs: 5 * 60_000,
  maxHistoryEvents: 10_000,
};

const { route53FlushZone, route53ReconcileZone } = proxyActivities<Route53Activities>({
  // Throttling is retried inside the activity; INSYNC may take minutes. Heartbeats notice a dead worker.
  startToCloseTimeout: '30m',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s', maximumAttempts: 5 },
});

export async function route53Zone(input: Route53ZoneInput): Promise<void> {
  const options = { ...DEFAULTS, ...input.options };
  const state: Route53ZoneState = input.state ?? { desired: {}, results: {}, retry: [], unsynced: {} };
  const zoneId = input.hostedZoneId;

  // A serial per submit (carried across runs), so a set's submit resolves (or its receipt's Query
  // answers) only once a flush that started after it has finished.
  const serials = (state.serials ??= {});
  let versions = 0;
  let arrivals = 0;
  const pending = new Set<string>();
  const reconcileRequests: Array<{ id: number; dryRun: boolean }> = [];
  const reconcileResults = new Map<number, ReconcileSummary>();

  setHandler(
    submitUpdate,
    async (request) => {
      const serial = (state.serial = (state.serial ?? 0) + 1);
      (serials[request.set] ??= { submitted: 0, flushed: 0 }).submitted = serial;
      state.desired[request.set] = request.records;
      pending.add(request.set);
      arrivals++;
      if (request.returnWhen === 'recorded' && patched(RECORDED_SUBMITS)) {
        return { ...(state.results[request.set] ?? nothingToReport()), recorded: { chain: workflowInfo().firstExecutionRunId, serial } };
      }
      // Older callers: the Update stays open until flushed (a forgotten set's removal has landed).
      await condition(() => (serials[request.set]?.flushed ?? Infinity) >= serial);
      return state.results[request.set] ?? nothingToReport();
    },
    { validator: validateSubmit },
  );

  setHandler(reconcileUpdate, async (request) => {
    const id = ++versions;
    reconcileRequests.push({ id, dryRun: request.dryRun === true });
    await condition(() => reconcileResults.has(id));
    const result = reconcileResults.get(id)!;
    reconcileResults.delete(id);
    return result;
  });

  setHandler(outcomesQuery, (asked) => ({
    chain: workflowInfo().firstExecutionRunId,
    outcomes: asked.map(({ set, serial }) => {
      const entry = serials[set];
      // No entry: the set's removal landed and it was forgotten.
      if (!entry) return nothingToReport();
      return entry.flushed >= serial ? (state.results[set] ?? nothingToReport()) : null;
    }),
  }));

  setHandler(statusQuery, (): ZoneStatus => {
    const sets: ZoneStatus['sets'] = {};
    for (const set of Object.keys(state.desired).sort()) {
      const outcome = state.results[set] ?? nothingToReport();
      sets[set] = { ...outcome, records: state.desired[set].length, pending: pending.has(set) || state.retry.includes(set) };
    }
    return {
      hostedZoneId: zoneId,
      zone: input.zone,
      sets,
      pending: [...new Set([...pending, ...state.retry])].sort(),
      lastFlush: state.lastFlush,
      lastReconcile: state.lastReconcile,
      lastError: state.lastError,
      nextReconcileAt: state.nextReconcileAt,
      nextRetryAt: state.nextRetryAt,
    };
  });

  if (state.nextReconcileAt === undefined && options.reconcileIntervalMs > 0) state.nextReconcileAt = Date.now() + options.reconcileIntervalMs;

  const hasWork = () => pending.size > 0 || reconcileRequests.length > 0;
  for (;;) {
    if (!hasWork()) {
      const info = workflowInfo();
      if (info.continueAsNewSuggested || info.historyLength > options.maxHistoryEvents) {
        // Let finished handlers return first; a new submit meanwhile is served before moving on.
        await condition(() => allHandlersFinished() || hasWork());
        if (!hasWork()) await continueAsNew<typeof route53Zone>({ ...input, state });
        continue;
      }
      if (options.idleEndMs > 0 && unused() && patched(RECORDED_SUBMITS)) {
        // No set uses the zone: end after a quiet period rather than run (and wake) forever.
        if (!(await condition(hasWork, options.idleEndMs))) {
          await condition(() => allHandlersFinished() || hasWork());
          if (!hasWork() && unused()) {
            log.info('Route 53 zone publisher ends: no set uses the zone', { hostedZoneId: zoneId, zone: input.zone });
            return;
          }
        }
        continue;
      }
      const wakeAt = Math.min(state.nextReconcileAt ?? Infinity, state.nextRetryAt ?? Infinity);
      if (wakeAt === Infinity) await condition(hasWork);
      else await condition(hasWork, Math.max(1, wakeAt - Date.now()));
    }

    if (state.nextRetryAt !== undefined && Date.now() >= state.nextRetryAt) {
      state.nextRetryAt = undefined;
      for (const set of state.retry) pending.add(set);
    }
    if (pending.size > 0) {
      // Gather the submits of other sets arriving meanwhile.
      if (patched(RECORDED_SUBMITS)) await gather();
      else await sleep(options.coalesceMs);
      await flush([...pending].sort());
    }
    // After a flush, not instead of one: steady submits never starve drift repair.
    if (reconcileRequests.length > 0) {
      const request = reconcileRequests.shift()!;
      reconcileResults.set(request.id, await reconcile(request.dryRun));
    } else if (state.nextReconcileAt !== undefined && Date.now() >= state.nextReconcileAt) {
      await reconcile(options.reconcileDryRun);
      state.nextReconcileAt = Date.now() + options.reconcileIntervalMs;
    }
  }

  /** Sleeps coalesceMs, and again while submits keep arriving, up to maxCoalesceMs in all. */
  async function gather(): Promise<void> {
    const until = Date.now() + options.maxCoalesceMs;
    let seen = -1;
    while (arrivals !== seen && Date.now() < until) {
      seen = arrivals;
      await sleep(Math.max(1, Math.min(options.coalesceMs, until - Date.now())));
    }
  }

  /** No set wants anything here, nothing waits for a retry or for INSYNC. */
  function unused(): boolean {
    return Object.keys(state.desired).length === 0 && state.retry.length === 0 && Object.keys(state.unsynced).length === 0;
  }

  async function flush(sets: string[]): Promise<void> {
    pending.clear();
    const covered = new Map(sets.map((set) => [set, serials[set]?.submitted ?? 0]));
    const desired: Record<string, RecordSet[]> = {};
    for (const set of sets) desired[set] = state.desired[set] ?? [];
    const awaitChangeIds = Object.keys(state.unsynced).filter((id) => state.unsynced[id].sets.some((s) => covered.has(s)));
    // Plan from the worker's kept records unless a set of this flush met a conflict or a rejection
    // (someone else's records may have changed: look again).
    const recorded = patched(RECORDED_SUBMITS);
    const trusted = state.view !== undefined && sets.every((set) => settled(state.results[set]));
    const view = recorded ? { ...(trusted ? { known: state.view } : {}), next: uuid4() } : undefined;
    state.view = undefined;
    const started = Date.now();
    const markFlushed = () => {
      for (const [set, serial] of covered) {
        const entry = serials[set];
        if (entry) entry.flushed = Math.max(entry.flushed, serial);
      }
    };
    try {
      const result = await route53FlushZone.executeWithOptions(
        { summary: `publish ${sets.length} set${sets.length === 1 ? '' : 's'} to ${input.zone}: ${sets.slice(0, 5).join(', ')}${sets.length > 5 ? ', ...' : ''}` },
        [{ zoneId, desired, awaitChangeIds, inSyncTimeoutMs: options.inSyncTimeoutMs, ...(view ? { view } : {}) }],
      );
      state.view = view?.next;
      markFlushed();
      trackChanges(result);
      state.retry = state.retry.filter((s) => !covered.has(s));
      // A change Route 53 rejected though a fresh listing calls for exactly it: no re-plan helps, and
      // the set's next identical submit would only meet the same answer. Retry with back-off, listing.
      const contradicted = recorded ? [...new Set(result.failed.filter((f) => f.contradicted && covered.has(f.set)).map((f) => f.set))] : [];
      let retryNote: string | undefined;
      if (contradicted.length > 0) {
        state.retryDelayMs = Math.min((state.retryDelayMs ?? options.retryInitialMs / 2) * 2, options.retryMaxMs);
        state.nextRetryAt = Date.now() + state.retryDelayMs;
        retryNote = `Ordinal lists the zone again and retries in ${Math.round(state.retryDelayMs / 1000)} s`;
        for (const set of contradicted) if (!state.retry.includes(set)) state.retry.push(set);
        for (const f of result.failed.filter((x) => x.contradicted)) {
          log.warn('Route 53 rejected a change that a fresh listing contradicts', {
            hostedZoneId: zoneId,
            set: f.set,
            record: `${f.name} ${f.type}`,
            code: f.code,
            message: f.message,
            retryInMs: state.retryDelayMs,
          });
        }
      } else if (state.retry.length === 0) state.retryDelayMs = undefined;
      for (const set of sets) {
        state.results[set] = outcomeOf(set, result, retryNote);
        forget(set);
      }
      state.lastError = undefined;
      state.lastFlush = {
        at: started,
        sets,
        applied: result.applied.length,
        conflicts: result.conflicts.length,
        failed: result.failed.length,
        changeIds: result.changeIds,
        durationMs: Date.now() - started,
        ...(result.listed !== undefined ? { listed: result.listed } : {}),
      };
    } catch (err) {
      // The whole flush failed (credentials, access, zone, or retries exhausted): every set in it gets
      // the error now; its records stay wanted and are flushed again with backoff.
      const error = errorInfo(err);
      log.warn('Route 53 flush failed', { hostedZoneId: zoneId, code: error.code, message: error.message });
      markFlushed();
      state.lastError = { ...error, at: Date.now() };
      for (const set of sets) {
        state.results[set] = { ...nothingToReport(), error: { code: error.code, message: error.message, hint: error.hint } };
        if (!state.retry.includes(set)) state.retry.push(set);
      }
      state.retryDelayMs = Math.min((state.retryDelayMs ?? options.retryInitialMs / 2) * 2, options.retryMaxMs);
      state.nextRetryAt = Date.now() + state.retryDelayMs;
    }
  }

  async function reconcile(dryRun: boolean): Promise<ReconcileSummary> {
    const at = Date.now();
    let summary: ReconcileSummary;
    // Drift repair lists the zone; what it leaves is the next flush's starting point.
    const view = !dryRun && patched(RECORDED_SUBMITS) ? { next: uuid4() } : undefined;
    if (view) state.view = undefined;
    try {
      const result = await route53ReconcileZone.executeWithOptions(
        { summary: `reconcile ${input.zone}${dryRun ? ' (dry run)' : ''}` },
        [{ zoneId, desired: state.desired, dryRun, awaitChangeIds: dryRun ? [] : Object.keys(state.unsynced), inSyncTimeoutMs: options.inSyncTimeoutMs, ...(view ? { view } : {}) }],
      );
      if (view) state.view = view.next;
      if (!dryRun) {
        trackChanges(result);
        for (const set of Object.keys(state.desired)) {
          // A submit in flight has its own flush coming; the others get the repaired view.
          if (pending.has(set)) continue;
          state.results[set] = outcomeOf(set, result);
          forget(set);
        }
      }
      summary = { at, dryRun, text: result.text, planned: result.planned, applied: result.applied.length, conflicts: result.conflicts, vanished: result.vanished };
    } catch (err) {
      const error = errorInfo(err);
      state.lastError = { ...error, at };
      summary = { at, dryRun, text: `reconcile failed: ${error.code}: ${error.message}`, planned: 0, applied: 0, conflicts: [], vanished: [], error };
    }
    state.lastReconcile = summary;
    return summary;
  }

  /** Remembers which changes are not INSYNC yet, and which sets and names they touch. */
  function trackChanges(result: FlushResult): void {
    for (const applied of result.applied) {
      const entry = (state.unsynced[applied.changeId] ??= { sets: [], names: [] });
      if (!entry.sets.includes(applied.set)) entry.sets.push(applied.set);
      if (!entry.names.includes(applied.name)) entry.names.push(applied.name);
    }
    for (const [id, status] of Object.entries(result.changes)) {
      if (status === 'INSYNC') delete state.unsynced[id];
    }
  }

  /** The set's share of a flush or reconcile: its conflicts and rejected changes, its names not INSYNC yet. */
  function outcomeOf(set: string, result: FlushResult, retryNote?: string): PublishOutcome {
    const propagating = Object.values(state.unsynced)
      .filter((c) => c.sets.includes(set))
      .flatMap((c) => c.names);
    return {
      conflicts: result.conflicts.filter((c) => c.set === set).map(({ name, type, reason }) => ({ name, type, reason })),
      propagating: [...new Set(propagating)].sort(),
      failed: result.failed
        .filter((f) => f.set === set)
        .map(({ name, type, code, message, contradicted }) => ({ name, type, code, message: contradicted && retryNote ? `${message}; ${retryNote}` : message })),
    };
  }

  /** A set whose removal has fully landed (INSYNC, nothing failed or in the way) is no longer tracked. */
  function forget(set: string): void {
    const outcome = state.results[set];
    const landed = outcome.propagating.length === 0 && !outcome.error && outcome.conflicts.length === 0 && outcome.failed.length === 0;
    if (state.desired[set]?.length === 0 && landed && !pending.has(set)) {
      delete state.desired[set];
      delete state.results[set];
      delete serials[set];
    }
  }
}

/** An outcome with nothing in the way: no error, conflict or rejected change (or none yet). */
function settled(outcome: PublishOutcome | undefined): boolean {
  return outcome === undefined || (!outcome.error && outcome.conflicts.length === 0 && outcome.failed.length === 0);
}

function validateSubmit(request: SubmitRequest): void {
  if (typeof request?.set !== 'string' || request.set === '') throw ApplicationFailure.nonRetryable('submit: set is required', 'InvalidRequest');
  if (!Array.isArray(request.records)) throw ApplicationFailure.nonRetryable('submit: records must be a list', 'InvalidRequest');
  for (const record of request.records) {
    if (typeof record?.name !== 'string' || !Array.isArray(record.values) || typeof record.ttl !== 'number') {
      throw ApplicationFailure.nonRetryable(`submit: invalid record set ${JSON.stringify(record)}`, 'InvalidRequest');
    }
  }
}

/** A set with nothing published or pending: no conflict, nothing propagating or failed. */
function nothingToReport(): PublishOutcome {
  return { conflicts: [], propagating: [], failed: [] };
}

/** The AWS code, message and hint an activity failed with (see activities/dns/route53/activities.ts). */
function errorInfo(err: unknown): Route53ErrorInfo {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const details = cause.details?.[0] as Partial<Route53ErrorInfo> | undefined;
    return {
      code: details?.code ?? cause.type ?? 'Error',
      message: details?.message ?? cause.message,
      hint: details?.hint ?? '',
      retryable: details?.retryable ?? !cause.nonRetryable,
    };
  }
  return { code: 'Error', message: cause instanceof Error ? cause.message : String(cause), hint: '', retryable: true };
}
