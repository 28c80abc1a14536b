// `ordinal rollout status`: the pure decisions, given the set as GET returns it: is the rollout done,
// can it no longer finish, or what is it waiting for; and which progress lines changed since the last
// poll. The command in client-commands.ts only polls, prints and keeps time.
import type { InstanceStatus, SetView } from '../core/set-state.js';
import { formatDuration } from './format.js';

export type RolloutVerdict =
  /** The controller has seen the latest spec and the set is Ready. */
  | { state: 'done'; message: string }
  /** The rollout can no longer complete (the set is being deleted). */
  | { state: 'failed'; message: string }
  /** Still going: what it waits for, and how far it got. */
  | { state: 'progress'; waiting: string; summary: string };

function instancesOf(view: SetView): InstanceStatus[] {
  return [...(view.status?.instances ?? [])].sort((a, b) => a.ordinal - b.ordinal);
}

function desired(view: SetView): number {
  return view.spec?.replicas ?? 0;
}

function isObserved(view: SetView): boolean {
  return (view.status?.observedGeneration ?? 0) >= (view.metadata.generation ?? 0);
}

function isDeleting(view: SetView): boolean {
  return view.metadata.deletionRequested === true || view.status?.phase === 'Deleting';
}

function readyCondition(view: SetView) {
  return view.status?.conditions?.find((c) => c.type === 'Ready');
}

/** Ready instances among the wanted ordinals (0 .. replicas-1): ones being scaled away do not count. */
export function readyCount(view: SetView): number {
  const want = desired(view);
  return instancesOf(view).filter((i) => i.ordinal < want && i.ready).length;
}

function isOutdated(view: SetView, instance: InstanceStatus): boolean {
  const target = view.status?.updateRevision;
  return !!target && instance.revision !== target;
}

function isFailing(instance: InstanceStatus): boolean {
  return instance.phase === 'Failed' || instance.phase === 'CrashLoopBackOff';
}

/**
 * One instance's state in a line, e.g. `web-0: Running, Ready (127.77.0.3)`,
 * `web-1: Running, not Ready (127.77.0.4)`, `web-2: CrashLoopBackOff: the process exited with code 1`.
 */
export function instanceLine(view: SetView, instance: InstanceStatus): string {
  let line = `${instance.name}: ${instance.phase}`;
  if (instance.phase === 'Running') {
    line += instance.ready ? ', Ready' : ', not Ready';
    if (instance.address) line += ` (${instance.address})`;
  } else if (isFailing(instance) && instance.lastError) {
    line += `: ${instance.lastError}`;
  }
  if (isOutdated(view, instance) && instance.phase !== 'Terminating') line += `, old revision ${instance.revision}`;
  return line;
}

/** What the rollout waits for now, e.g. `waiting for web-1 to become Ready`. */
export function waitingFor(view: SetView): string {
  const name = view.metadata.name;
  const want = desired(view);
  const instances = instancesOf(view);
  if (!isObserved(view)) {
    return `waiting for the controller to observe generation ${view.metadata.generation} (observed ${view.status?.observedGeneration ?? 0})`;
  }
  const extra = instances.filter((i) => i.ordinal >= want);
  if (extra.length > 0) {
    return `waiting for ${extra[extra.length - 1].name} to be removed (scaling down to ${want})`;
  }
  for (let ordinal = 0; ordinal < want; ordinal++) {
    const instance = instances.find((i) => i.ordinal === ordinal);
    if (!instance || !instance.ready || instance.phase !== 'Running') {
      return `waiting for ${instance?.name ?? `${name}-${ordinal}`} to become Ready`;
    }
  }
  const outdated = instances.filter((i) => isOutdated(view, i));
  if (outdated.length > 0) {
    return `waiting for ${outdated[outdated.length - 1].name} to be updated to revision ${view.status.updateRevision}`;
  }
  const condition = readyCondition(view);
  return `waiting for set ${name} to become Ready${condition?.message ? `: ${condition.message}` : ''}`;
}

/** How far it got, e.g. `2/3 instances Ready`, or `2/3 instances Ready, 1/3 updated` during an update. */
export function progressSummary(view: SetView): string {
  const want = desired(view);
  let summary = `${readyCount(view)}/${want} instances Ready`;
  const wanted = instancesOf(view).filter((i) => i.ordinal < want);
  if (wanted.some((i) => isOutdated(view, i))) {
    const updated = wanted.filter((i) => !isOutdated(view, i)).length;
    summary += `, ${updated}/${want} updated`;
  }
  return summary;
}

/** Done, failed or in progress, from the set alone. */
export function evaluateRollout(view: SetView): RolloutVerdict {
  const name = view.metadata.name;
  if (isDeleting(view)) return { state: 'failed', message: `set ${name} is being deleted` };
  if (isObserved(view) && readyCondition(view)?.status === 'True') {
    return { state: 'done', message: `set ${name} is Ready (${view.status.readyReplicas ?? readyCount(view)}/${desired(view)})` };
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
 * (and `web-3: removed` when one goes away), then what it waits for and the summary.
 */
export class RolloutProgress {
  private readonly printed = new Map<string, string>();

  observe(view: SetView): { verdict: RolloutVerdict; lines: string[] } {
    const verdict = evaluateRollout(view);
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
  else lines.push(verdict.message);
  return { done: verdict.state === 'done', failed: verdict.state === 'failed', verdict, lines };
}
