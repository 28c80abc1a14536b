// ordinal diff's output: the manifest diff and the rollout preview as text, Markdown and JSON, and
// whether anything would change (its exit code), from the core's own preview of real manifests.
import { describe, expect, it } from 'vitest';
import { anyChanged, formatDiff, formatDiffs, setDiff, type DiffFormat, type SetDiffEntry } from '../../cli/diff-format.js';
import { previewRollout } from '../../core/rollout-preview.js';
import { initialState, type SetState } from '../../core/set-state.js';
import { setView } from '../../core/status.js';
import { applyManifest, checkApply, noteSettled } from '../../core/transitions.js';
import { NOW } from './set-fixtures.js';

function document(replicas: number, version = 1) {
  return {
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web' },
    spec: { replicas, template: { process: { command: ['node', 'server.mjs', `--v${version}`] } } },
  };
}

function running(replicas: number): SetState {
  const state = initialState('web');
  const checked = checkApply(state, document(replicas));
  if (!checked.ok) throw new Error(checked.rejection.message);
  applyManifest(state, checked.value, NOW - 60_000);
  for (let ordinal = 0; ordinal < replicas; ordinal++) {
    const revision = state.updateRevision!;
    state.instances.push({
      ordinal,
      incarnation: 1,
      revision,
      phase: 'Running',
      ready: true,
      readySince: NOW - 30_000,
      restarts: 0,
      consecutiveFailures: 0,
      handle: { ordinal, incarnation: 1, revision, address: `127.0.0.${ordinal + 1}`, startedAt: NOW - 30_000 },
    });
  }
  noteSettled(state);
  return state;
}

function diffOf(state: SetState, doc: unknown) {
  const result = previewRollout(state, doc, undefined, NOW);
  if (!result.ok) throw new Error(result.rejection.message);
  return setDiff('web', state.manifest ? setView(state, NOW) : undefined, result.value);
}

describe('ordinal diff output', () => {
  it('no change: not changed, nothing printed as text, a one-line Markdown note', () => {
    const d = diffOf(running(2), document(2));
    expect(d.changed).toBe(false);
    expect(d.diff).toBe('');
    expect(formatDiff(d, 'text')).toBe('');
    expect(formatDiff(d, 'markdown')).toBe('### Set `web`: no change\n');
  });

  it('a scale-down: the replicas line changes, then the removals highest first', () => {
    const d = diffOf(running(3), document(1));
    expect(d.changed).toBe(true);
    expect(d.diff).toContain('-  replicas: 3\n+  replicas: 1\n');
    expect(d.diff.startsWith('--- web (live)\n+++ web (proposed)\n@@ ')).toBe(true);
    const text = formatDiff(d, 'text', 1);
    expect(text).toContain('Rollout of set web: generation 1 -> 2\n  1. remove web-2\n  2. remove web-1\n');
    expect(text).toContain('DNS names:\n  - web-1.web.ordinal.internal A\n  - web-2.web.ordinal.internal A\n');
  });

  it('a new revision as Markdown: a diff block and numbered replacements with their revisions', () => {
    const state = running(2);
    const d = diffOf(state, document(2, 2));
    const markdown = formatDiff(d, 'markdown', 1);
    const from = state.updateRevision!;
    const to = d.preview.toRevision;
    expect(markdown).toContain('### Set `web`: changed\n\n```diff\n--- web (live)\n');
    expect(markdown).toContain('+        - --v2\n');
    expect(markdown).toContain(`**Rollout**: generation 1 -> 2, revision ${from} -> ${to}\n\n1. replace \`web-1\` (revision \`${from}\` -> \`${to}\`)\n2. replace \`web-0\``);
  });

  it('a new set: every line added, created, JSON with the preview', () => {
    const d = diffOf(initialState('web'), document(1));
    expect(d.changed).toBe(true);
    expect(d.diff).toMatch(/^--- web \(live\)\n\+\+\+ web \(proposed\)\n@@ -0,0 \+1,\d+ @@\n\+apiVersion: ordinal.dev\/v1\n/);
    const json = JSON.parse(formatDiff(d, 'json'));
    expect(json.changed).toBe(true);
    expect(json.preview.created).toBe(true);
    expect(json.preview.steps).toEqual([{ action: 'create', instances: ['web-0'], ordinals: [0], toRevision: d.preview.toRevision }]);
  });
});

describe('ordinal diff output of several sets', () => {
  // 'web' unchanged, 'api' scaled down (its own name, the same planner output).
  const unchanged: SetDiffEntry = { diff: diffOf(running(2), document(2)), liveGeneration: 1 };
  const changed: SetDiffEntry = { diff: { ...diffOf(running(3), document(1)), name: 'api' }, liveGeneration: 1 };
  const apiText = formatDiff(changed.diff, 'text', 1);
  const apiMarkdown = formatDiff(changed.diff, 'markdown', 1);

  it.each<{ title: string; entries: SetDiffEntry[]; format: DiffFormat; expected: () => string }>([
    { title: 'text: only the sets that change', entries: [unchanged, changed], format: 'text', expected: () => apiText },
    { title: 'text: nothing when none changes', entries: [unchanged, unchanged], format: 'text', expected: () => '' },
    { title: 'text: each changed set, a blank line between', entries: [changed, changed], format: 'text', expected: () => `${apiText}\n${apiText}` },
    { title: 'markdown: a heading per set, in order', entries: [unchanged, changed], format: 'markdown', expected: () => `### Set \`web\`: no change\n\n${apiMarkdown}` },
    { title: 'markdown: one set as before', entries: [changed], format: 'markdown', expected: () => apiMarkdown },
  ])('$title', ({ entries, format, expected }) => {
    expect(formatDiffs(entries, format)).toBe(expected());
  });

  it('json: one set is its object (as before), several an array in order', () => {
    expect(JSON.parse(formatDiffs([changed], 'json'))).toMatchObject({ name: 'api', changed: true });
    const many = JSON.parse(formatDiffs([unchanged, changed], 'json'));
    expect(many.map((d: { name: string; changed: boolean }) => [d.name, d.changed])).toEqual([
      ['web', false],
      ['api', true],
    ]);
  });

  it.each([
    { entries: [unchanged], changed: false },
    { entries: [unchanged, unchanged], changed: false },
    { entries: [unchanged, changed], changed: true },
    { entries: [changed, unchanged], changed: true },
  ])('any changed: $changed', ({ entries, changed: expected }) => {
    expect(anyChanged(entries)).toBe(expected);
  });
});
