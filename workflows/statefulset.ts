// One long-running workflow per set: observe -> plan (pure) -> act (activities) -> wait for a change.
// It wires messages to the pure core; every decision is the planner's, every side effect an activity.
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { InstanceHandle } from '../activities/drivers/driver.js';
import type { Activities, InstanceChange, WatchedInstance } from '../activities/types.js';
import type { Action } from '../core/planner.js';
import { parallelBatches, plan, slowStartBatches } from '../core/planner.js';
import { instanceDnsName, instanceName, serviceDnsName } from '../core/names.js';
import { emptyEventLog, eventsSince, eventsView, recordEvents, type NewEvent } from '../core/events.js';
import type { SetState } from '../core/set-state.js';
import {
  adoptedEvents,
  changeEvents,
  cordonEvents,
  createdEvents,
  createFailedEvents,
  creatingEvents,
  instanceDeletionEvents,
  publishedEvents,
  setEvents,
  stoppedEvents,
  stoppingEvents,
} from '../core/set-events.js';
import { previewRollout } from '../core/rollout-preview.js';
import { revisionsView, setView, type SetStatus, type SetView } from '../core/status.js';
import {
  adoptInstances,
  applyChanges,
  applyCreateFailed,
  applyCreated,
  applyDeleted,
  applyManifest,
  applyPublished,
  applyRollback,
  checkApply,
  checkCordon,
  checkDeleteInstance,
  markCreating,
  markDeleting,
  noteSettled,
  previewApply,
  requestInstanceDeletion,
  setCordon,
  requestSetDeletion,
  templateOf,
  upgradeState,
  type Rejection,
} from '../core/transitions.js';
import {
  SearchAttributes,
  applyUpdate,
  deleteInstanceUpdate,
  deleteSetUpdate,
  getEventsQuery,
  getRevisionsQuery,
  getSetQuery,
  previewApplyQuery,
  previewRolloutQuery,
  setCordonUpdate,
} from './messages.js';
import { SetMetrics } from './set-metrics.js';
import { ViewMemo } from './view-memo.js';

/** A watch returns after this long without a change, so the loop can continue-as-new when due. */
const WATCH_MAX_MS = 5 * 60_000;
/** Histories recorded before embedded publishes became local activities replay as they were. */
const LOCAL_EMBEDDED_PUBLISH = 'local-embedded-publish';
/** Histories of sets deleted before the embedded store learned sets' zones end as they did (no release). */
const RELEASE_EMBEDDED_ZONE = 'release-embedded-zone';
/** Histories recorded while Parallel deletions ran in doubling batches replay as they were. */
const PARALLEL_DELETIONS_TOGETHER = 'parallel-deletions-together';
/** Histories recorded before an ordered create awaited readiness itself replay as they were. */
const CREATE_AWAITS_READY = 'create-awaits-ready';
/** Histories recorded while an exited instance was deleted before its recreate replay as they were. */
const EXITS_NEED_NO_STOP = 'exits-need-no-stop';
/**
 * How long an ordered create waits for its instance to be Ready before the watch takes over. The loop
 * acts on messages only after the create returns, so this bounds how late it does meanwhile.
 */
const CREATE_READY_WAIT_MS = 5_000;
/** The shortest timer the idle wait sets. */
const MIN_WAKE_MS = 100;
/** How long a new set's run waits for its first valid manifest. */
const NEVER_CREATED_TIMEOUT = '1 minute';
/** Continue-as-new at this history length even if the server has not suggested it yet. */
const MAX_HISTORY_EVENTS = 5_000;

const { createInstance } = proxyActivities<Activities>({
  // Heartbeats notice a dead worker within seconds; the retry is safe, the driver makes it idempotent.
  startToCloseTimeout: '5m',
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 5 },
});
const { listInstances } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '10s' },
});
const { publishRecords } = proxyActivities<Activities>({
  // Route 53 waits until the change is INSYNC: minutes at worst, with heartbeats meanwhile.
  startToCloseTimeout: '15m',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});
// The embedded store is a local SQLite write: a local activity saves a round trip through the server.
const { publishRecords: publishRecordsLocally } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', maximumInterval: '5s' },
});
const { deleteInstance } = proxyActivities<Activities>({
  // Bounded by the grace period (at most an hour); heartbeats notice a dead worker sooner. Retried
  // until the instance is confirmed gone: its successor must never start before.
  startToCloseTimeout: '70m',
  heartbeatTimeout: '10s',
  retry: { initialInterval: '1s', maximumInterval: '10s' },
});
const { watchInstances } = proxyActivities<Activities>({
  startToCloseTimeout: WATCH_MAX_MS + 60_000,
  // Every running set keeps a watch, and each heartbeat is a write on the Temporal server: at 10 s,
  // 2,000 sets sent 250 a second and took half of a dev server's capacity. A watch on a worker that
  // died is retried on another within this long (a stopped worker cancels its watches at once).
  heartbeatTimeout: '30s',
  retry: { initialInterval: '500ms', maximumInterval: '5s' },
});

export interface StatefulSetInput {
  /** State carried across continue-as-new; a new set starts from initialState. */
  state: SetState<InstanceHandle>;
  /** Overrides for tests and tuning; carried across continue-as-new. */
  limits?: { maxHistoryEvents?: number };
}

export async function statefulSet(input: StatefulSetInput): Promise<{ deleted: true }> {
  const state = input.state;
  upgradeState(state);
  const maxHistoryEvents = input.limits?.maxHistoryEvents ?? MAX_HISTORY_EVENTS;
  // Set by every message and observation; the idle wait ends when it flips.
  let changed = false;
  // What happened to the set, kept in its state (bounded) so it outlives continue-as-new.
  const events = (state.events ??= emptyEventLog());
  // Restarts by reason and recovery times, counted from the events (emitted live, never on replay).
  const setMetrics = new SetMetrics(state.name);
  const record = (happened: NewEvent[]) => {
    if (happened.length === 0) return;
    const before = events.seq;
    recordEvents(events, happened, Date.now());
    setMetrics.record(eventsSince(events, before));
  };
  // The view the API reads without asking the worker.
  const viewMemo = new ViewMemo();
  // The view at the last step: the set's own events (scaling, rollouts) are what changed since. A new
  // run of an existing set starts from its view now, so continuing as new records nothing.
  let lastView: SetView | undefined = state.manifest ? setView(state, Date.now()) : undefined;
  /** The view now, also written to the memo: an Update's answer is what the next GET shows. */
  const currentView = () => {
    const view = setView(state, Date.now());
    record(setEvents(lastView, view));
    lastView = view;
    viewMemo.publish(view, events);
    return view;
  };

  setHandler(getSetQuery, () => (state.manifest ? setView(state, Date.now()) : null));
  setHandler(getEventsQuery, (request) => (state.manifest ? eventsView(events, request?.since) : null));
  setHandler(getRevisionsQuery, () => (state.manifest ? revisionsView(state) : null));
  // Runs the apply update's validator and handler on a copy: the state is left as it is.
  setHandler(previewApplyQuery, (request) => previewApply(state, request.manifest, request.expectedGeneration, Date.now()));
  // The planner run to completion on a copy: the state is left as it is.
  setHandler(previewRolloutQuery, (request) => previewRollout(state, request.manifest, request.expectedGeneration, Date.now()));

  setHandler(
    setCordonUpdate,
    (request) => {
      setCordon(state, request.ordinal, request.cordoned);
      record(cordonEvents(state, request.ordinal, request.cordoned));
      log.info(request.cordoned ? 'instance cordoned' : 'instance uncordoned', { set: state.name, ordinal: request.ordinal, requestedBy: request.requestedBy });
      changed = true;
      return currentView();
    },
    {
      validator: (request) => {
        const rejected = state.manifest ? checkCordon(state, request.ordinal) : notFound(state);
        if (rejected) throw rejection(rejected);
      },
    },
  );

  setHandler(
    applyUpdate,
    (request) => {
      const checked = checkApply(state, request.manifest, request.expectedGeneration);
      if (!checked.ok) throw rejection(checked.rejection); // unreachable: the validator ran first
      const { created } = applyManifest(state, checked.value, Date.now());
      log.info('manifest applied', { set: state.name, generation: state.generation, requestedBy: request.requestedBy });
      changed = true;
      return { set: currentView(), created };
    },
    {
      validator: (request) => {
        const checked = checkApply(state, request.manifest, request.expectedGeneration);
        if (!checked.ok) throw rejection(checked.rejection);
      },
    },
  );

  setHandler(
    deleteInstanceUpdate,
    (request) => {
      requestInstanceDeletion(state, request.ordinal);
      record(instanceDeletionEvents(state, request.ordinal, request.requestedBy));
      log.info('instance deletion requested', { set: state.name, ordinal: request.ordinal, requestedBy: request.requestedBy });
      changed = true;
      return currentView();
    },
    {
      validator: (request) => {
        const rejected = state.manifest ? checkDeleteInstance(state, request.ordinal) : notFound(state);
        if (rejected) throw rejection(rejected);
      },
    },
  );

  setHandler(
    deleteSetUpdate,
    (request) => {
      requestSetDeletion(state);
      log.info('set deletion requested', { set: state.name, requestedBy: request.requestedBy });
      changed = true;
      return currentView();
    },
    {
      validator: (_request) => {
        if (!state.manifest) throw rejection(notFound(state));
      },
    },
  );

  // A new set's workflow starts with the update that creates it; if that update was rejected, the
  // set was never created and this run ends instead of waiting for ever.
  if (!(await condition(() => state.manifest !== undefined, NEVER_CREATED_TIMEOUT))) {
    return { deleted: true };
  }

  if (state.instances.length === 0 && !state.deleting) {
    // Processes of this set may already run (e.g. Temporal lost its database): adopt, never duplicate.
    const running = await listInstances.executeWithOptions({ summary: `adopt running instances of ${state.name}` }, [{ set: state.name }]);
    adoptInstances(state, running);
    record(adoptedEvents(state, running));
  }

  let lastSearchAttributes = '';
  for (;;) {
    changed = false;
    state.observedGeneration = state.generation;
    const next = plan(state, Date.now());
    if (next.settled && next.actions.length === 0) noteSettled(state);
    const view = currentView();
    lastSearchAttributes = publishSearchAttributes(state, view.status, lastSearchAttributes);
    if (next.done) break;

    if (next.actions.length > 0) {
      // Several actions come only under Parallel: they run concurrently, deletions all at once and
      // creations in doubling batches (histories from before ran every action in doubling batches).
      const batches = patched(PARALLEL_DELETIONS_TOGETHER) ? parallelBatches(next.actions) : slowStartBatches(next.actions);
      for (const batch of batches) await Promise.all(batch.map((action) => execute(action)));
      continue;
    }

    const info = workflowInfo();
    if (info.continueAsNewSuggested || info.historyLength > maxHistoryEvents) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof statefulSet>({ state, limits: input.limits });
    }
    await waitForChange(next.wakeAt);
  }

  await condition(allHandlersFinished);
  // The embedded store serves a set's zone from its first publish, even with no record in it: a deleted
  // set's zone is forgotten, so a zone no set uses any more is no longer answered for.
  if (state.dnsTarget?.provider === 'embedded' && patched(RELEASE_EMBEDDED_ZONE)) {
    await publishRecordsLocally.executeWithOptions({ summary: `release DNS zone ${state.dnsTarget.zone} of ${state.name}` }, [
      { set: state.name, target: state.dnsTarget, records: [], release: true },
    ]);
  }
  log.info('set deleted', { set: state.name });
  return { deleted: true };

  async function execute(action: Action): Promise<void> {
    const spec = state.manifest!.spec;
    switch (action.kind) {
      case 'publish': {
        if (action.previous) {
          await publishRecords.executeWithOptions(
            { summary: `remove DNS for ${state.name} from ${action.previous.provider} ${action.previous.zone}` },
            // `release`: the embedded store also forgets the set's zone there (ignored by older workers).
            [{ set: state.name, target: action.previous, records: [], release: true }],
          );
        }
        const summary = `publish DNS for ${state.name} (${action.records.length} record sets)`;
        const request = { set: state.name, target: action.target, records: action.records };
        const outcome =
          action.target.provider === 'embedded' && patched(LOCAL_EMBEDDED_PUBLISH)
            ? await publishRecordsLocally.executeWithOptions({ summary }, [request])
            : await publishRecords.executeWithOptions({ summary }, [request]);
        if (outcome.error || outcome.conflicts.length > 0) log.warn('DNS publish incomplete', { set: state.name, outcome });
        const published = new Set(state.instances.filter((i) => i.published).map((i) => i.ordinal));
        applyPublished(state, action, Date.now(), outcome);
        record(publishedEvents(state, published, outcome));
        return;
      }
      case 'create': {
        markCreating(state, action);
        record(creatingEvents(state, action));
        const name = instanceName(state.name, action.ordinal);
        // One step instead of two: the create waits for readiness itself (the planner waits for it
        // anyway), so its publication and the next create follow in the same workflow task.
        const awaitReady = action.awaitReady === true && patched(CREATE_AWAITS_READY);
        try {
          const { ready, notReadyReason, ...handle } = await createInstance.executeWithOptions(
            { summary: awaitReady ? `create ${name} and wait until Ready` : `create ${name}` },
            [
              {
                set: state.name,
                ordinal: action.ordinal,
                incarnation: action.incarnation,
                revision: action.revision,
                serviceName: spec.serviceName,
                zone: spec.dns.zone,
                template: templateOf(state, action.revision),
                volumes: spec.volumeClaimTemplates.map((v) => v.metadata.name),
                ...(awaitReady ? { awaitReadyMs: CREATE_READY_WAIT_MS } : {}),
              },
            ],
          );
          applyCreated(state, action, handle, ready === true ? Date.now() : undefined);
          record(createdEvents(state, action, handle, ready === true, notReadyReason));
        } catch (err) {
          if (!(err instanceof ActivityFailure)) throw err;
          const message = err.cause instanceof Error ? err.cause.message : err.message;
          log.warn('create failed', { set: state.name, ordinal: action.ordinal, error: message });
          applyCreateFailed(state, action, message, Date.now());
          record(createFailedEvents(state, action, message, Date.now()));
        }
        return;
      }
      case 'delete': {
        const instance = state.instances.find((i) => i.ordinal === action.ordinal);
        markDeleting(state, action.ordinal);
        record(stoppingEvents(state, action));
        const template = templateOf(state, instance?.revision ?? state.updateRevision!);
        await deleteInstance.executeWithOptions(
          { summary: `delete ${instanceName(state.name, action.ordinal)} (${action.reason}${action.deleteVolumes ? ', with its volumes' : ''})` },
          [
            {
              set: state.name,
              ordinal: action.ordinal,
              gracePeriodSeconds: template.terminationGracePeriodSeconds,
              deleteVolumes: action.deleteVolumes ? spec.volumeClaimTemplates.map((v) => v.metadata.name) : [],
            },
          ],
        );
        applyDeleted(state, action, Date.now());
        record(stoppedEvents(state, action, instance?.incarnation));
        return;
      }
      case 'rollback': {
        log.warn('rolling back', { set: state.name, from: state.updateRevision, to: action.revision, reason: action.reason });
        applyRollback(state, action, Date.now());
        return;
      }
    }
  }

  /** Waits for an instance change, a message, or `wakeAt`, whichever comes first. */
  async function waitForChange(wakeAt: number | undefined): Promise<void> {
    const watched = watchedInstances(state);
    // The planner only asks to wake in the future; the floor guards against a busy loop all the same.
    const timeout = wakeAt === undefined ? undefined : Math.max(MIN_WAKE_MS, wakeAt - Date.now());
    let changes: InstanceChange[] | undefined;
    let failed = false;
    const scope = new CancellationScope();
    const watching =
      watched.length === 0
        ? undefined
        : scope
            .run(() =>
              watchInstances.executeWithOptions({ summary: watchSummary(state, watched) }, [
                { set: state.name, instances: watched, maxWaitMs: WATCH_MAX_MS },
              ]),
            )
            .then(
              (result) => {
                changes = result;
              },
              (err) => {
                if (isCancellation(err)) return;
                // Retries are unlimited, so only a non-retryable error lands here: look again.
                log.warn('watch failed', { set: state.name, error: String(err) });
                failed = true;
              },
            );
    const done = () => changed || failed || changes !== undefined;
    if (timeout === undefined) await condition(done);
    else await condition(done, timeout);
    if (changes === undefined && !failed) scope.cancel();
    await watching;
    if (changes) {
      const before = [...state.instances];
      const exitsNeedNoStop = changes.some((c) => c.kind === 'exited') && patched(EXITS_NEED_NO_STOP);
      applyChanges(state, changes, Date.now(), { exitsNeedNoStop });
      record(changeEvents(state, before, changes, Date.now()));
    }
  }
}

function watchedInstances(state: SetState<InstanceHandle>): WatchedInstance[] {
  const spec = state.manifest!.spec;
  return state.instances
    .filter((i) => i.phase === 'Running' && i.handle)
    .map((i) => {
      const template = templateOf(state, i.revision);
      return {
        handle: i.handle!,
        ready: i.ready,
        readinessProbe: template.readinessProbe,
        livenessProbe: template.livenessProbe,
        // An activity input only (not a command): replays of earlier histories are unaffected.
        ...(template.ecs ? { readiness: template.ecs.readiness } : {}),
        ports: template.ports,
        dnsName: instanceDnsName(state.name, i.ordinal, spec.serviceName, spec.dns.zone),
        serviceDnsName: serviceDnsName(spec.serviceName, spec.dns.zone),
      };
    });
}

function watchSummary(state: SetState, watched: WatchedInstance[]): string {
  const starting = watched.filter((w) => !w.ready).map((w) => instanceName(state.name, w.handle.ordinal));
  if (starting.length > 0) return `wait ready ${starting.join(', ')}`;
  return `watch ${state.name} (${watched.length} instances)`;
}

/** Keeps the UI's search attributes current; upserts only when a value changed. */
function publishSearchAttributes(state: SetState, status: SetStatus, last: string): string {
  const values = {
    replicas: state.manifest!.spec.replicas,
    ready: status.readyReplicas,
    phase: status.phase,
  };
  const key = JSON.stringify(values);
  if (key === last) return last;
  upsertSearchAttributes([
    { key: SearchAttributes.set, value: state.name },
    { key: SearchAttributes.replicas, value: values.replicas },
    { key: SearchAttributes.readyReplicas, value: values.ready },
    { key: SearchAttributes.phase, value: values.phase },
  ]);
  return key;
}

function rejection(r: Rejection): ApplicationFailure {
  return ApplicationFailure.create({ type: r.type, message: r.message, details: r.details ? [r.details] : [], nonRetryable: true });
}

function notFound(state: SetState): Rejection {
  return { type: 'NotFound', message: `set '${state.name}' does not exist` };
}
