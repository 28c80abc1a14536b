// `ordinal rollout ...`: the pure decisions, given the set (and its revisions) as the API returns them.
// status: core/rollout.ts (shared with the CDK custom resource of infra/cdk/), re-exported here.
// undo: which revision to go back to, and the merge patch that does it.
// The commands in rollout-commands.ts only call the API, print and keep time.
import type { SetEvent } from '../core/events.js';
import type { RevisionView, SetView } from '../core/status.js';

export * from '../core/rollout.js';

// ---- status: what the events say about an instance not Ready yet ----

/**
 * The latest word of the events on each instance that is not Ready (a failed readiness probe's output,
 * an exit, a back-off), so `rollout status` can say why it waits, e.g.
 * `waiting for web-1 to become Ready (probe: connection refused)`. Ready (or a new start) clears it.
 */
export class ProbeNotes {
  private readonly notes = new Map<string, string>();
  private printed: string | undefined;

  record(event: SetEvent): void {
    if (!event.instance) return;
    if (event.reason === 'Ready' || event.reason === 'Started' || event.reason === 'Created') this.notes.delete(event.instance);
    else if (NOT_READY_REASONS.has(event.reason)) this.notes.set(event.instance, withoutName(event.message, event.instance));
  }

  /** The instance's note, if any. */
  note(instance: string): string | undefined {
    return this.notes.get(instance);
  }

  /**
   * The lines to print: the waiting line (`waiting`, when it waits for an instance to become Ready)
   * with that instance's note, printed again whenever the note changes.
   */
  decorate(lines: readonly string[], waiting: string | undefined): string[] {
    const instance = waiting === undefined ? undefined : /^waiting for (\S+) to become Ready$/.exec(waiting)?.[1];
    const note = instance === undefined ? undefined : this.notes.get(instance);
    const line = waiting === undefined ? undefined : note === undefined ? waiting : `${waiting} (${note})`;
    const out = lines.filter((l) => l !== waiting);
    if (line !== undefined && (line !== this.printed || lines.includes(waiting!))) {
      const at = lines.indexOf(waiting!);
      out.splice(at === -1 ? out.length : at, 0, line);
    }
    this.printed = line;
    return out;
  }
}

/** `web-1 is not Ready: probe: connection refused` -> `probe: connection refused`; `web-1 exited with code 1` -> `exited with code 1`. */
function withoutName(message: string, instance: string): string {
  for (const prefix of [`${instance} is not Ready yet: `, `${instance} is not Ready: `, `${instance}: `, `${instance} `]) {
    if (message.startsWith(prefix)) return message.slice(prefix.length);
  }
  return message;
}

const NOT_READY_REASONS = new Set<SetEvent['reason']>(['NotReady', 'LivenessFailed', 'Exited', 'CreateFailed', 'BackOff']);

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
