// The set's view in its workflow's memo (core/view-memo.ts): read back byte for byte as the Query
// answers it, rewritten field by field, and refused when incomplete or of another format.
import { describe, expect, it } from 'vitest';
import { setView } from '../../core/status.js';
import { VIEW_MEMO_FORMAT, viewFieldsOf, viewFromMemo, viewMemoChanges, viewMemoFields } from '../../core/view-memo.js';
import { NOW, setWith } from './set-fixtures.js';

/** The memo as Temporal stores it: each field's value as JSON, decoded by the reader. */
function memoOf(changes: Array<Record<string, unknown>>): Record<string, unknown> {
  const memo: Record<string, unknown> = {};
  for (const change of changes) {
    for (const [key, value] of Object.entries(change)) {
      if (value === undefined) delete memo[key];
      else memo[key] = JSON.parse(JSON.stringify(value));
    }
  }
  return memo;
}

describe('the view memo', () => {
  it('reads back the very JSON setView makes, key order included', () => {
    for (const state of [setWith(3, { 0: 'ready', 1: 'running' }), setWith(0, {}), setWith(2, { 0: 'ready', 1: 'ready' })]) {
      const view = setView(state, NOW);
      const memo = memoOf([viewMemoChanges(new Map(), viewMemoFields(view))]);
      expect(JSON.stringify(viewFromMemo(memo))).toBe(JSON.stringify(view));
    }
  });

  it('upserts only the fields that changed, and removes the fields of instances that went', () => {
    const before = viewMemoFields(setView(setWith(3, { 0: 'ready', 1: 'ready', 2: 'running' }), NOW));
    const after = viewMemoFields(setView(setWith(3, { 0: 'ready', 1: 'ready', 2: 'ready' }), NOW));
    const changes = viewMemoChanges(before, after);
    expect(Object.keys(changes).sort()).toEqual(['view.i.2', 'view.status']);
    expect(viewMemoChanges(after, after)).toEqual({});

    const scaledDown = viewMemoFields(setView(setWith(1, { 0: 'ready' }), NOW));
    const down = viewMemoChanges(after, scaledDown);
    expect(down).toHaveProperty('view.i.1', undefined);
    expect(down).toHaveProperty('view.i.2', undefined);
    const memo = memoOf([viewMemoChanges(new Map(), after), down]);
    expect(JSON.stringify(viewFromMemo(memo))).toBe(JSON.stringify(setView(setWith(1, { 0: 'ready' }), NOW)));
  });

  it('takes the fields a run inherited as what it last wrote', () => {
    const view = setView(setWith(2, { 0: 'ready', 1: 'ready' }), NOW);
    const memo = memoOf([viewMemoChanges(new Map(), viewMemoFields(view))]);
    expect(viewMemoChanges(viewFieldsOf({ ...memo, other: 1 }), viewMemoFields(view))).toEqual({});
  });

  it('is no view when a field is missing or of another format: the reader asks the Query instead', () => {
    const view = setView(setWith(2, { 0: 'ready', 1: 'ready' }), NOW);
    const memo = memoOf([viewMemoChanges(new Map(), viewMemoFields(view))]);
    expect(viewFromMemo(undefined)).toBeUndefined();
    expect(viewFromMemo({})).toBeUndefined();
    const { ['view.i.1']: _gone, ...withoutInstance } = memo;
    expect(viewFromMemo(withoutInstance)).toBeUndefined();
    expect(viewFromMemo({ ...memo, 'view.set': { ...(memo['view.set'] as object), format: VIEW_MEMO_FORMAT + 1 } })).toBeUndefined();
  });
});
