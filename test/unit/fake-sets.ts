// An in-memory SetsPort for API tests. It runs the same core transitions as the set workflow (checkApply,
// applyManifest, checkCordon, setCordon, setView, revisionsView...), so generations, revision numbers,
// the created flag, BadRequest, Conflict and NotFound behave as in the real thing, and it returns JSON
// copies, as Temporal's payload converter would.
import type { SetsPort } from '../../api/sets-port.js';
import { SetError, type SetErrorCode } from '../../api/sets.js';
import { emptyEventLog, eventsView, recordEvents, type EventLog, type EventsView, type NewEvent } from '../../core/events.js';
import { desiredOrdinals } from '../../core/manifest.js';
import { previewRollout, type RolloutPreview } from '../../core/rollout-preview.js';
import { initialState, type SetState } from '../../core/set-state.js';
import { revisionsView, setView, type RevisionView, type SetView } from '../../core/status.js';
import {
  applyManifest,
  checkApply,
  checkCordon,
  checkDeleteInstance,
  noteSettled,
  previewApply,
  requestInstanceDeletion,
  requestSetDeletion,
  setCordon,
  type Rejection,
} from '../../core/transitions.js';
import type { ApplyResult } from '../../workflows/messages.js';

export const FAKE_NOW = Date.parse('2025-01-01T00:00:00Z');

export interface FakeCall {
  method: keyof SetsPort;
  args: unknown[];
}

export class FakeSets implements SetsPort {
  readonly states = new Map<string, SetState>();
  /** Each set's event log, as its workflow keeps it; filled by recordEvents (a test's stand-in for the workflow). */
  readonly eventLogs = new Map<string, EventLog>();
  /** Sets whose worker is older than events: events() answers as SetsService does for them (none recorded). */
  readonly withoutEvents = new Set<string>();
  readonly calls: FakeCall[] = [];
  /** healthy() answers this. */
  isHealthy = true;
  /** When set, every operation except healthy() throws it (e.g. a SetError('Unavailable') or a bug). */
  failWith: unknown;
  /** Runs before each apply, e.g. to apply a concurrent change in between a PATCH's read and write. */
  beforeApply: ((name: string) => void) | undefined;

  async apply(name: string, manifest: unknown, opts: { expectedGeneration?: number; requestedBy?: string } = {}): Promise<ApplyResult> {
    this.record('apply', [name, manifest, opts]);
    this.beforeApply?.(name);
    // Update-with-start: a new set starts from the initial state; kept only when the apply succeeds.
    const state = this.states.get(name) ?? initialState(name);
    const checked = checkApply(state, copy(manifest), opts.expectedGeneration);
    if (!checked.ok) throw toSetError(checked.rejection);
    const { created } = applyManifest(state, checked.value, FAKE_NOW);
    this.states.set(name, state);
    return copy({ set: setView(state, FAKE_NOW), created });
  }

  /** As the workflow's previewApply query (or, for a set that does not exist, the same from the initial state). */
  async previewApply(name: string, manifest: unknown, opts: { expectedGeneration?: number; requestedBy?: string } = {}): Promise<ApplyResult> {
    this.record('previewApply', [name, manifest, opts]);
    const preview = previewApply(this.states.get(name) ?? initialState(name), copy(manifest), opts.expectedGeneration, FAKE_NOW);
    if (!preview.ok) throw toSetError(preview.rejection);
    return copy(preview.value);
  }

  /** As the workflow's previewRollout query (or, for a set that does not exist, the same from the initial state). */
  async previewRollout(name: string, manifest: unknown, opts: { expectedGeneration?: number; requestedBy?: string } = {}): Promise<RolloutPreview> {
    this.record('previewRollout', [name, manifest, opts]);
    const preview = previewRollout(this.states.get(name) ?? initialState(name), copy(manifest), opts.expectedGeneration, FAKE_NOW);
    if (!preview.ok) throw toSetError(preview.rejection);
    return copy(preview.value);
  }

  async get(name: string): Promise<SetView | undefined> {
    this.record('get', [name]);
    const state = this.states.get(name);
    return state ? copy(setView(state, FAKE_NOW)) : undefined;
  }

  async list(): Promise<SetView[]> {
    this.record('list', []);
    return [...this.states.values()]
      .map((state) => copy(setView(state, FAKE_NOW)))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }

  /** The real set is gone once its instances are; the fake has nothing to stop, so it goes at once. */
  async delete(name: string, requestedBy?: string): Promise<SetView> {
    this.record('delete', [name, requestedBy]);
    const state = this.existing(name);
    requestSetDeletion(state);
    const view = copy(setView(state, FAKE_NOW));
    this.states.delete(name);
    this.eventLogs.delete(name);
    return view;
  }

  async deleteInstance(name: string, ordinal: number, requestedBy?: string): Promise<SetView> {
    this.record('deleteInstance', [name, ordinal, requestedBy]);
    const state = this.existing(name);
    const rejected = checkDeleteInstance(state, ordinal);
    if (rejected) throw toSetError(rejected);
    requestInstanceDeletion(state, ordinal);
    return copy(setView(state, FAKE_NOW));
  }

  /** As the workflow's getRevisions query, behind SetsService's "undefined when the set does not exist". */
  async revisions(name: string): Promise<RevisionView[] | undefined> {
    this.record('revisions', [name]);
    const state = this.states.get(name);
    return state ? copy(revisionsView(state)) : undefined;
  }

  /** As the workflow's getEvents query, behind SetsService's "undefined when the set does not exist". */
  async events(name: string, since?: number): Promise<EventsView | undefined> {
    this.record('events', [name, since]);
    if (!this.states.has(name)) return undefined;
    if (this.withoutEvents.has(name)) return { latestSeq: 0, items: [] };
    return copy(eventsView(this.eventLogs.get(name) ?? emptyEventLog(), since));
  }

  /** Test helper: records events on the set's log at `at` (ms), as the workflow does for its transitions. */
  recordEvents(name: string, events: NewEvent[], at: number = FAKE_NOW): void {
    this.existing(name);
    const log = this.eventLogs.get(name) ?? emptyEventLog();
    recordEvents(log, events, at);
    this.eventLogs.set(name, log);
  }

  /** As the workflow's setCordon update: its validator (checkCordon), then setCordon. */
  async cordon(name: string, ordinal: number, cordoned: boolean, requestedBy?: string): Promise<SetView> {
    this.record('cordon', [name, ordinal, cordoned, requestedBy]);
    const state = this.existing(name);
    const rejected = checkCordon(state, ordinal);
    if (rejected) throw toSetError(rejected);
    setCordon(state, ordinal, cordoned);
    return copy(setView(state, FAKE_NOW));
  }

  async healthy(): Promise<boolean> {
    this.calls.push({ method: 'healthy', args: [] });
    return this.isHealthy;
  }

  /** Test helper: the set's wanted instances as if the worker had started them all and they were Ready. */
  runInstances(name: string): void {
    const state = this.existing(name);
    state.instances = desiredOrdinals(state.manifest!.spec).map((ordinal, index) => ({
      ordinal,
      incarnation: 1,
      revision: state.updateRevision!,
      phase: 'Running' as const,
      ready: true,
      readySince: FAKE_NOW,
      restarts: 0,
      consecutiveFailures: 0,
      handle: {
        set: name,
        ordinal,
        incarnation: 1,
        revision: state.updateRevision!,
        address: `127.77.0.${index + 1}`,
        pid: 1000 + ordinal,
        startedAt: FAKE_NOW,
        logPath: `/tmp/${name}-${ordinal}.log`,
      },
    }));
  }

  /**
   * Test helper: the set's wanted instances run the update revision and are Ready (runInstances), and
   * the workflow has seen it settle: the update revision becomes the current one.
   */
  rollOut(name: string): void {
    this.runInstances(name);
    const state = this.existing(name);
    state.observedGeneration = state.generation;
    noteSettled(state);
  }

  private record(method: keyof SetsPort, args: unknown[]): void {
    this.calls.push({ method, args });
    if (this.failWith !== undefined) throw this.failWith;
  }

  private existing(name: string): SetState {
    const state = this.states.get(name);
    if (!state) throw new SetError('NotFound', `set '${name}' does not exist`);
    return state;
  }
}

/** As SetsService's translate: rejection types it knows become SetErrors, others stay plain errors. */
function toSetError(rejection: Rejection): Error {
  const known: readonly string[] = ['InvalidManifest', 'BadRequest', 'Conflict', 'NotFound'] satisfies SetErrorCode[];
  if (!known.includes(rejection.type)) return new Error(rejection.message);
  return new SetError(rejection.type as SetErrorCode, rejection.message, rejection.details ?? []);
}

function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
