// `ordinal rollout ...`: the pure decisions, given the set (and its revisions) as the API returns them.
// status: core/rollout.ts (shared with the CDK custom resource of infra/cdk/), re-exported here.
// undo: which revision to go back to, and the merge patch that does it.
// The commands in rollout-commands.ts only call the API, print and keep time.
import type { RevisionView, SetView } from '../core/status.js';

export * from '../core/rollout.js';

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
