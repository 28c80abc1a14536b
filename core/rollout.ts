// Is a rollout done: the pure decisions of `ordinal rollout status` (cli/) and of the CDK custom
// resource that waits for a set's rollout (infra/cdk/), given the set as the API returns it: is the
// rollout done, can it no longer finish (deleted, past its progress deadline, rolled back, an instance
// of the update revision crash looping), is it paused, or what is it waiting for; has every instance
// of the update revision stayed Ready long enough (the stability window); and which progress lines
// changed since the last poll. Its callers only call the API, print and keep time.
import { formatDuration } from './duration.js';
import { desiredOrdinals } from './manifest.js';
import { crashLoopMessage, type Condition, type InstanceStatus, type SetStatus, type SetView } from './status.js';

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
 * the failing instances when there are any, else what it was waiting for (`waiting`, the last poll's
 * verdict, when given: it knows about the stability window).
 */
export function timeoutMessage(view: SetView | undefined, timeoutMs: number, waiting?: string): string {
  const after = `timed out after ${formatDuration(timeoutMs)}`;
  if (!view) return `${after} before the set could be read`;
  const failing = instancesOf(view).filter(isFailing);
  const reasons = failing.length > 0 ? failing.map((i) => instanceLine(view, i)) : [waiting ?? waitingFor(view)];
  return `${after}: ${readyCount(view)}/${desired(view)} Ready; ${reasons.join('; ')}`;
}

/** The set is gone (GET answered 404): it never existed, or it was deleted while we watched. */
export function goneMessage(name: string, seenBefore: boolean): string {
  return seenBefore ? `set ${name} was deleted` : `set ${name} does not exist`;
}

// ---- stability and crash loops (rollout status only: it watches over time) ----

/**
 * How long `rollout status` wants each instance of the update revision to have stayed Ready, with no
 * restart, before it calls the rollout done (--stable-for): an instance that crashes a second after
 * it starts is Ready for an instant each time, and that must not pass.
 */
export const DEFAULT_STABLE_FOR_MS = 5_000;

/** The window for this set: `stableForMs`, or the set's minReadySeconds when that is longer. */
export function stabilityWindowMs(view: SetView, stableForMs: number = DEFAULT_STABLE_FOR_MS): number {
  return Math.max(0, stableForMs, (view.spec?.minReadySeconds ?? 0) * 1000);
}

/** What `rollout status` remembers of one instance between polls. */
export interface InstanceWatch {
  /** The revision it ran when last seen: restarts count afresh on another one. */
  revision: string;
  /** Its restarts when first seen on this revision, or when last seen stable. */
  baselineRestarts: number;
  /** Its Ready incarnation as first seen Ready (seenAt: this host's clock), undefined while not Ready. */
  ready?: { incarnation: number; restarts: number; readySince: string | null; seenAt: number };
}

export type InstanceWatches = ReadonlyMap<string, InstanceWatch>;

/** Whether an instance counts for the rollout: wanted, and on the update revision. */
function inRollout(view: SetView, instance: InstanceStatus, wanted: ReadonlySet<number>): boolean {
  const target = view.status?.updateRevision;
  return wanted.has(instance.ordinal) && (!target || instance.revision === target);
}

/**
 * How long the instance has been Ready: since its `readySince` (the server's clock) or since this
 * command first saw this incarnation Ready (ours), whichever is longer; 0 when it is not Ready. A
 * `readySince` ahead of our clock counts for nothing.
 */
export function readyForMs(watch: InstanceWatch | undefined, instance: InstanceStatus, now: number): number {
  if (instance.phase !== 'Running' || !instance.ready || !watch?.ready) return 0;
  const since = instance.readySince === null ? NaN : Date.parse(instance.readySince);
  const server = Number.isNaN(since) ? 0 : now - since;
  return Math.max(0, now - watch.ready.seenAt, server);
}

/**
 * The watches after a poll: a Ready instance keeps its first sighting as long as its incarnation,
 * restarts and readySince stay the same (any change starts it afresh); a restart count is the
 * baseline on a new revision and again whenever the instance is seen stable for `windowMs`.
 */
export function trackInstances(view: SetView, previous: InstanceWatches, now: number, windowMs: number): Map<string, InstanceWatch> {
  const next = new Map<string, InstanceWatch>();
  for (const instance of instancesOf(view)) {
    const before = previous.get(instance.name);
    const sameRevision = before !== undefined && before.revision === instance.revision;
    const watch: InstanceWatch = { revision: instance.revision, baselineRestarts: sameRevision ? before.baselineRestarts : instance.restarts };
    if (instance.phase === 'Running' && instance.ready) {
      const seen = sameRevision ? before.ready : undefined;
      const same =
        seen !== undefined && seen.incarnation === instance.incarnation && seen.restarts === instance.restarts && seen.readySince === instance.readySince;
      watch.ready = same ? seen : { incarnation: instance.incarnation, restarts: instance.restarts, readySince: instance.readySince, seenAt: now };
      if (readyForMs(watch, instance, now) >= windowMs) watch.baselineRestarts = instance.restarts;
    }
    next.set(instance.name, watch);
  }
  return next;
}

/**
 * Why the rollout failed, if an instance of the update revision crash loops: it is in CrashLoopBackOff,
 * the set's Ready condition says so (the server sees a second failure in a row before the back-off
 * shows), or it restarted twice or more while watched without staying up in between. E.g.
 * `brk-0 is crash looping (restarts 3): the process exited with code 3`.
 */
export function crashLoopFailure(view: SetView, watches: InstanceWatches = new Map()): string | undefined {
  const wanted = new Set(wantedOrdinals(view));
  const ready = condition(view, 'Ready');
  const named = ready?.status === 'False' && ready.reason === 'CrashLoopBackOff' ? ready.message : undefined;
  for (const instance of instancesOf(view)) {
    if (!inRollout(view, instance, wanted)) continue;
    const watch = watches.get(instance.name);
    const restarted = watch !== undefined && watch.revision === instance.revision ? instance.restarts - watch.baselineRestarts : 0;
    if (instance.phase === 'CrashLoopBackOff' || named?.startsWith(`${instance.name} is crash looping`) || restarted >= 2) {
      return crashLoopMessage(instance.name, instance.restarts, instance.lastError);
    }
  }
  return undefined;
}

/** `2s`, `1m5s`: whole seconds, for lines printed once a poll. */
function seconds(ms: number): string {
  const whole = Math.floor(Math.max(0, ms) / 1000) * 1000;
  return whole === 0 ? '0s' : formatDuration(whole);
}

/**
 * What the rollout still waits for once the set is Ready: the instance of the update revision with the
 * shortest Ready run, while it is shorter than the window, e.g.
 * `waiting for web-1 to stay Ready for 5s (2s so far)`; undefined when every one is stable.
 */
export function stabilityWait(view: SetView, watches: InstanceWatches, now: number, windowMs: number): string | undefined {
  const wanted = new Set(wantedOrdinals(view));
  let shortest: { instance: InstanceStatus; readyFor: number } | undefined;
  for (const instance of instancesOf(view)) {
    if (!inRollout(view, instance, wanted)) continue;
    const readyFor = readyForMs(watches.get(instance.name), instance, now);
    if (readyFor < windowMs && (shortest === undefined || readyFor < shortest.readyFor)) shortest = { instance, readyFor };
  }
  if (!shortest) return undefined;
  return `waiting for ${shortest.instance.name} to stay Ready for ${formatDuration(windowMs)} (${seconds(shortest.readyFor)} so far)`;
}

export interface RolloutProgressOptions {
  /** The stability window (default DEFAULT_STABLE_FOR_MS); the set's minReadySeconds when longer. */
  stableForMs?: number;
  /**
   * The update revision the change being watched made, when the caller knows it (the CDK custom
   * resource polls in several invocations, each with a new RolloutProgress): a rollback away from it
   * then fails the rollout even when it happened before this object's first poll. By default the first
   * poll's update revision.
   */
  initialUpdateRevision?: string;
}

/**
 * Remembers what was printed, so each poll prints only the lines that changed: one per instance
 * (and `web-3: removed` when one goes away), then what it waits for and the summary. A pause is one
 * such line, so it is reported once however long it lasts. The first poll fixes the rollout watched.
 * It also follows each instance across polls: the rollout is done only once every instance of the
 * update revision has stayed Ready for the stability window, and fails as soon as one crash loops.
 */
export class RolloutProgress {
  private readonly printed = new Map<string, string>();
  private watch: RolloutWatch | undefined;
  private instances: InstanceWatches = new Map();
  private readonly stableForMs: number;
  private readonly initialUpdateRevision: string | undefined;

  constructor(
    private readonly startedAt: number = Date.now(),
    options: RolloutProgressOptions = {},
  ) {
    this.stableForMs = options.stableForMs ?? DEFAULT_STABLE_FOR_MS;
    this.initialUpdateRevision = options.initialUpdateRevision;
  }

  /** One poll's set; `now` is this host's clock (a parameter for tests). */
  observe(view: SetView, now: number = Date.now()): { verdict: RolloutVerdict; lines: string[] } {
    this.watch ??= { startedAt: this.startedAt, initialUpdateRevision: this.initialUpdateRevision ?? view.status?.updateRevision ?? null };
    const windowMs = stabilityWindowMs(view, this.stableForMs);
    // Judged against what was seen before this poll (a restart count grown since), then remembered.
    const crashLoop = crashLoopFailure(view, this.instances);
    this.instances = trackInstances(view, this.instances, now, windowMs);
    let verdict = evaluateRollout(view, this.watch);
    if (verdict.state !== 'failed' && crashLoop) {
      verdict = { state: 'failed', message: `rollout of ${view.metadata.name} failed: ${crashLoop}` };
    } else if (verdict.state === 'done') {
      const waiting = stabilityWait(view, this.instances, now, windowMs);
      if (waiting) verdict = { state: 'progress', waiting, summary: progressSummary(view) };
    }
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
