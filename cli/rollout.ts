// `ordinal rollout ...`: the pure decisions, given the set (and its revisions) as the API returns them.
// status: is the rollout done, can it no longer finish (deleted, past its progress deadline, rolled
// back), is it paused, or what is it waiting for; and which progress lines changed since the last poll.
// undo: which revision to go back to, and the merge patch that does it.
// The commands in client-commands.ts only call the API, print and keep time.
import { desiredOrdinals } from '../core/manifest.js';
import type { Condition, InstanceStatus, RevisionView, SetStatus, SetView } from '../core/set-state.js';
import { formatDuration } from './format.js';

export type RolloutVerdict =
  /** The controller has seen the latest spec and the set is Ready. */
  | { state: 'done'; message: string }
  /** The rollout can no longer complete: the set is being deleted, is past its deadline, or was rolled back. */
  | { state: 'failed'; message: string }
  /** Paused on purpose: not a failure, it waits for `ordinal rollout resume`. */
  | { state: 'paused'; message: string; summary: string }
  /** Still going: what it waits for, and how far it got. */
  | { state: 'progress'; waiting: string; summary: string };

/** What `rollout status` knows beyond the set itself: when it started and what it first saw. */
export interface RolloutWatch {
  /** When the command started (ms on this host's clock). */
  startedAt: number;
  /** The update revision at the first poll: the rollout being watched. */
  initialUpdateRevision?: string | null;
}

type Rollback = NonNullable<SetStatus['lastRollback']>;

function instancesOf(view: SetView): InstanceStatus[] {
  return [...(view.status?.instances ?? [])].sort((a, b) => a.ordinal - b.ordinal);
}

function desired(view: SetView): number {
  return view.spec?.replicas ?? 0;
}

/** The ordinals the spec wants (ordinals.start, reserveOrdinals), lowest first; 0.. for an older server. */
export function wantedOrdinals(view: SetView): number[] {
  return desiredOrdinals({
    replicas: desired(view),
    ordinals: { start: view.spec?.ordinals?.start ?? 0 },
    reserveOrdinals: view.spec?.reserveOrdinals ?? [],
  });
}

function isObserved(view: SetView): boolean {
  return (view.status?.observedGeneration ?? 0) >= (view.metadata.generation ?? 0);
}

function isDeleting(view: SetView): boolean {
  return view.metadata.deletionRequested === true || view.status?.phase === 'Deleting';
}

function condition(view: SetView, type: Condition['type']): Condition | undefined {
  return view.status?.conditions?.find((c) => c.type === type);
}

/** The rollout is paused with instances still to update (the set is Ready otherwise). */
export function isPaused(view: SetView): boolean {
  const progressing = condition(view, 'Progressing');
  return view.status?.phase === 'Paused' || (progressing?.reason === 'RolloutPaused' && progressing.status !== 'True');
}

/** Ready instances among the wanted ordinals: ones being scaled away do not count. */
export function readyCount(view: SetView): number {
  const wanted = new Set(wantedOrdinals(view));
  return instancesOf(view).filter((i) => wanted.has(i.ordinal) && i.ready).length;
}

/** Runs another revision than the update revision (shown, whether or not it is due for the update). */
function runsOldRevision(view: SetView, instance: InstanceStatus): boolean {
  const target = view.status?.updateRevision;
  return !!target && instance.revision !== target;
}

/**
 * Due for the update revision: RollingUpdate replaces instances at or above the partition; below it,
 * and with OnDelete, old revisions stay until the instance is deleted.
 */
function awaitsUpdate(view: SetView, instance: InstanceStatus): boolean {
  const strategy = view.spec?.updateStrategy;
  if ((strategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') return false;
  return instance.ordinal >= (strategy?.rollingUpdate?.partition ?? 0) && runsOldRevision(view, instance);
}

function isFailing(instance: InstanceStatus): boolean {
  return instance.phase === 'Failed' || instance.phase === 'CrashLoopBackOff';
}

/**
 * One instance's state in a line, e.g. `web-0: Running, Ready (127.77.0.3)`,
 * `web-1: Running, not Ready (127.77.0.4)`, `web-2: CrashLoopBackOff: the process exited with code 1`,
 * `web-0: Running, Ready (127.77.0.1), cordoned`.
 */
export function instanceLine(view: SetView, instance: InstanceStatus): string {
  let line = `${instance.name}: ${instance.phase}`;
  if (instance.phase === 'Running') {
    line += instance.ready ? ', Ready' : ', not Ready';
    if (instance.address) line += ` (${instance.address})`;
  } else if (isFailing(instance) && instance.lastError) {
    line += `: ${instance.lastError}`;
  }
  if (runsOldRevision(view, instance) && instance.phase !== 'Terminating') line += `, old revision ${instance.revision}`;
  if (instance.cordoned) line += ', cordoned';
  return line;
}

/** The command that resumes a paused rollout. */
export function resumeHint(name: string): string {
  return `"ordinal rollout resume ${name}"`;
}

/** What the rollout waits for now, e.g. `waiting for web-1 to become Ready`. */
export function waitingFor(view: SetView): string {
  const name = view.metadata.name;
  const want = desired(view);
  const instances = instancesOf(view);
  if (!isObserved(view)) {
    return `waiting for the controller to observe generation ${view.metadata.generation} (observed ${view.status?.observedGeneration ?? 0})`;
  }
  const wanted = wantedOrdinals(view);
  const wantedSet = new Set(wanted);
  const extra = instances.filter((i) => !wantedSet.has(i.ordinal));
  if (extra.length > 0) {
    const why = instances.length > want ? `scaling down to ${want}` : `ordinal ${extra[extra.length - 1].ordinal} is not wanted any more`;
    return `waiting for ${extra[extra.length - 1].name} to be removed (${why})`;
  }
  for (const ordinal of wanted) {
    const instance = instances.find((i) => i.ordinal === ordinal);
    if (!instance || !instance.ready || instance.phase !== 'Running') {
      return `waiting for ${instance?.name ?? `${name}-${ordinal}`} to become Ready`;
    }
  }
  if (isPaused(view)) return `waiting for the rollout to be resumed (${resumeHint(name)})`;
  const outdated = instances.filter((i) => awaitsUpdate(view, i));
  if (outdated.length > 0) {
    return `waiting for ${outdated[outdated.length - 1].name} to be updated to revision ${view.status.updateRevision}`;
  }
  // `available` is false only while minReadySeconds run (an older server does not send it).
  const unavailable = instances.find((i) => i.available === false);
  if (unavailable) {
    return `waiting for ${unavailable.name} to be available (Ready for minReadySeconds: ${view.spec?.minReadySeconds ?? 0}s)`;
  }
  // The controller's own account, e.g. a DNS record to expire from caches before the next step.
  const progressing = condition(view, 'Progressing');
  if (progressing?.status === 'True' && progressing.message?.startsWith('waiting for ')) return progressing.message;
  const ready = condition(view, 'Ready');
  return `waiting for set ${name} to become Ready${ready?.message ? `: ${ready.message}` : ''}`;
}

/** How far it got, e.g. `2/3 instances Ready`, or `2/3 instances Ready, 1/3 updated` during an update. */
export function progressSummary(view: SetView): string {
  const want = desired(view);
  let summary = `${readyCount(view)}/${want} instances Ready`;
  const wantedSet = new Set(wantedOrdinals(view));
  const wanted = instancesOf(view).filter((i) => wantedSet.has(i.ordinal));
  if (wanted.some((i) => runsOldRevision(view, i))) {
    const updated = wanted.filter((i) => !runsOldRevision(view, i)).length;
    summary += `, ${updated}/${want} updated`;
  }
  return summary;
}

/**
 * The automatic rollback that ended the watched rollout, if any: one made after the command started,
 * or one away from the update revision of the first poll (whatever the clocks say). A rollback from
 * before that the user has since re-applied (the update revision is its `from` again) does not count.
 */
export function rollbackDuring(view: SetView, watch: RolloutWatch | undefined): Rollback | undefined {
  const rollback = view.status?.lastRollback;
  if (!rollback || !watch) return undefined;
  const at = Date.parse(rollback.at);
  if (!Number.isNaN(at) && at > watch.startedAt) return rollback;
  const initial = watch.initialUpdateRevision;
  if (initial && rollback.from === initial && view.status.updateRevision !== initial) return rollback;
  return undefined;
}

/**
 * Done, failed, paused or in progress. Without a watch (a single look, as `ordinal up --demo` takes)
 * earlier rollbacks cannot be told from new ones, so they are not reported.
 */
export function evaluateRollout(view: SetView, watch?: RolloutWatch): RolloutVerdict {
  const name = view.metadata.name;
  if (isDeleting(view)) return { state: 'failed', message: `set ${name} is being deleted` };
  const rollback = rollbackDuring(view, watch);
  if (rollback) {
    return { state: 'failed', message: `rollout of ${name} failed: rolled back from ${rollback.from} to ${rollback.to}: ${rollback.reason}` };
  }
  const progressing = condition(view, 'Progressing');
  if (progressing?.status === 'False' && progressing.reason === 'ProgressDeadlineExceeded') {
    return { state: 'failed', message: `rollout of ${name} failed: progress deadline exceeded: ${progressing.message}` };
  }
  if (isObserved(view) && condition(view, 'Ready')?.status === 'True') {
    return { state: 'done', message: `set ${name} is Ready (${view.status.readyReplicas ?? readyCount(view)}/${desired(view)})` };
  }
  if (isObserved(view) && isPaused(view)) {
    return { state: 'paused', message: `rollout of ${name} is paused; waiting for ${resumeHint(name)}`, summary: progressSummary(view) };
  }
  return { state: 'progress', waiting: waitingFor(view), summary: progressSummary(view) };
}

/**
 * Why the rollout did not finish in time, e.g.
 * `timed out after 5m: 2/3 Ready; web-2: CrashLoopBackOff: the process exited with code 1`:
 * the failing instances when there are any, else what it was waiting for.
 */
export function timeoutMessage(view: SetView | undefined, timeoutMs: number): string {
  const after = `timed out after ${formatDuration(timeoutMs)}`;
  if (!view) return `${after} before the set could be read`;
  const failing = instancesOf(view).filter(isFailing);
  const reasons = failing.length > 0 ? failing.map((i) => instanceLine(view, i)) : [waitingFor(view)];
  return `${after}: ${readyCount(view)}/${desired(view)} Ready; ${reasons.join('; ')}`;
}

/** The set is gone (GET answered 404): it never existed, or it was deleted while we watched. */
export function goneMessage(name: string, seenBefore: boolean): string {
  return seenBefore ? `set ${name} was deleted` : `set ${name} does not exist`;
}

/**
 * Remembers what was printed, so each poll prints only the lines that changed: one per instance
 * (and `web-3: removed` when one goes away), then what it waits for and the summary. A pause is one
 * such line, so it is reported once however long it lasts. The first poll fixes the rollout watched.
 */
export class RolloutProgress {
  private readonly printed = new Map<string, string>();
  private watch: RolloutWatch | undefined;

  constructor(private readonly startedAt: number = Date.now()) {}

  observe(view: SetView): { verdict: RolloutVerdict; lines: string[] } {
    this.watch ??= { startedAt: this.startedAt, initialUpdateRevision: view.status?.updateRevision ?? null };
    const verdict = evaluateRollout(view, this.watch);
    const lines: string[] = [];
    const instances = instancesOf(view);
    const present = new Set(instances.map((i) => i.name));
    for (const key of [...this.printed.keys()]) {
      if (key.startsWith('instance:') && !present.has(key.slice('instance:'.length))) {
        lines.push(`${key.slice('instance:'.length)}: removed`);
        this.printed.delete(key);
      }
    }
    for (const instance of instances) this.emit(`instance:${instance.name}`, instanceLine(view, instance), lines);
    if (verdict.state === 'progress') {
      this.emit('waiting', verdict.waiting, lines);
      this.emit('summary', verdict.summary, lines);
    } else if (verdict.state === 'paused') {
      this.emit('waiting', verdict.message, lines);
      this.emit('summary', verdict.summary, lines);
    }
    return { verdict, lines };
  }

  private emit(key: string, line: string, lines: string[]): void {
    if (this.printed.get(key) === line) return;
    this.printed.set(key, line);
    lines.push(line);
  }
}

/**
 * The whole picture at once (for callers that redraw rather than print changes, such as
 * `ordinal up --demo`): every instance's line, then the verdict's message, or what it waits for and
 * the summary.
 */
export function rolloutProgress(view: SetView): { done: boolean; failed: boolean; verdict: RolloutVerdict; lines: string[] } {
  const verdict = evaluateRollout(view);
  const lines = instancesOf(view).map((instance) => instanceLine(view, instance));
  if (verdict.state === 'progress') lines.push(verdict.waiting, verdict.summary);
  else if (verdict.state === 'paused') lines.push(verdict.message, verdict.summary);
  else lines.push(verdict.message);
  return { done: verdict.state === 'done', failed: verdict.state === 'failed', verdict, lines };
}

// ---- undo ----

/**
 * The revision `ordinal rollout undo` goes back to. `to` is a revision number or name, as
 * `ordinal rollout history` lists them; without it (or with 0, as kubectl), the newest revision
 * older than the update revision. Throws an Error saying why there is none.
 */
export function selectUndoTarget(view: SetView, revisions: readonly RevisionView[], to?: string): RevisionView {
  const name = view.metadata.name;
  const updateName = view.status?.updateRevision ?? revisions.find((r) => r.update)?.name ?? null;
  const byNumber = [...revisions].sort((a, b) => b.revision - a.revision);
  const wanted = to?.trim();
  let target: RevisionView | undefined;
  if (wanted !== undefined && wanted !== '' && !/^0+$/.test(wanted)) {
    target = /^\d+$/.test(wanted) ? revisions.find((r) => r.revision === Number(wanted)) : revisions.find((r) => r.name === wanted);
    if (!target) {
      const known = byNumber.map((r) => `${r.revision} (${r.name})`).join(', ');
      throw new Error(`set ${name} has no revision ${wanted}${known ? `; it has ${known}` : ''} (see "ordinal rollout history ${name}")`);
    }
  } else {
    const update = revisions.find((r) => r.name === updateName);
    target = byNumber.find((r) => r.name !== updateName && (update === undefined || r.revision < update.revision));
    if (!target) throw new Error(`set ${name} has no previous revision to roll back to`);
  }
  if (target.name === updateName) {
    throw new Error(`revision ${target.revision} (${target.name}) is already the update revision of set ${name}; nothing to undo`);
  }
  return target;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A JSON merge patch (RFC 7386) that turns `current` into `target`: every field of the target, and
 * null for each object field the target does not have, at any depth (a plain merge of the target
 * would keep, say, a readiness probe or an env variable the older template never had). Arrays and
 * scalars replace; the target holds no nulls (a validated template never does).
 */
export function replacementPatch(current: unknown, target: unknown): unknown {
  if (!isPlainObject(target) || !isPlainObject(current)) return target;
  const patch: Record<string, unknown> = {};
  for (const key of Object.keys(current)) {
    if (!Object.hasOwn(target, key)) setOwn(patch, key, null);
  }
  for (const [key, value] of Object.entries(target)) {
    setOwn(patch, key, Object.hasOwn(current, key) ? replacementPatch(current[key], value) : value);
  }
  return patch;
}

/** An own property even for "__proto__" (a valid env variable name), which plain assignment would not add. */
function setOwn(object: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(object, key, { value, writable: true, enumerable: true, configurable: true });
}

/** The PATCH body of `ordinal rollout undo`: the spec's template becomes the target's. */
export function undoPatch(view: SetView, target: RevisionView): { spec: { template: unknown } } {
  return { spec: { template: replacementPatch(view.spec?.template, target.template) } };
}
