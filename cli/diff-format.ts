// What `ordinal diff` prints: the spec difference of a set (unified diff of its manifest as YAML) and the
// rollout the apply would start (the API's preview), as text for a terminal, Markdown for a pull-request
// comment, or JSON for a program. Pure.
import type { RolloutPreview, RolloutStep } from '../core/rollout-preview.js';
import type { SetView } from '../core/status.js';
import { formatJson, formatYaml } from './format.js';
import { unifiedDiff } from './line-diff.js';

export const DIFF_FORMATS = ['text', 'markdown', 'json'] as const;
export type DiffFormat = (typeof DIFF_FORMATS)[number];

export interface SetDiff {
  name: string;
  /** The apply would change something: the set would be created, or its manifest would differ. */
  changed: boolean;
  /** The unified diff of the manifest YAML, live -> proposed; '' when equal. */
  diff: string;
  preview: RolloutPreview;
}

/** The manifest part of a set (what apply sets), with the API's defaults filled in: the text diffed. */
export function manifestYaml(view: SetView | undefined): string {
  if (!view) return '';
  const { name, labels, annotations } = view.metadata;
  return formatYaml({
    apiVersion: view.apiVersion,
    kind: view.kind,
    metadata: { name, ...(labels && { labels }), ...(annotations && { annotations }) },
    spec: view.spec,
  });
}

/** The set as it is (undefined: it does not exist) against the preview of the manifest. */
export function setDiff(name: string, live: SetView | undefined, preview: RolloutPreview): SetDiff {
  const diff = unifiedDiff(manifestYaml(live), manifestYaml(preview.set), { from: `${name} (live)`, to: `${name} (proposed)` });
  return { name, changed: preview.created || preview.changed || live === undefined || diff !== '', diff, preview };
}

export function stepText(step: RolloutStep, code: (s: string) => string = (s) => s): string {
  const names = step.instances.map(code).join(', ');
  switch (step.action) {
    case 'create':
      return `create ${names}${step.toRevision ? ` (revision ${code(step.toRevision)})` : ''}`;
    case 'replace':
      return `replace ${names} (revision ${code(step.fromRevision ?? '?')} -> ${code(step.toRevision ?? '?')})`;
    case 'remove':
      return `remove ${names}`;
  }
}

function rolloutHeading(preview: RolloutPreview, live: number | undefined): string {
  if (preview.created) return `create the set (revision ${preview.toRevision})`;
  const generation = live !== undefined && live !== preview.set.metadata.generation ? `generation ${live} -> ${preview.set.metadata.generation}` : '';
  const revision = preview.fromRevision && preview.fromRevision !== preview.toRevision ? `revision ${preview.fromRevision} -> ${preview.toRevision}` : '';
  return [generation, revision].filter(Boolean).join(', ') || 'no new revision';
}

/** For a terminal: the diff, then the rollout, numbered; nothing at all when nothing would change (as kubectl diff). */
export function formatDiffText(d: SetDiff, liveGeneration?: number): string {
  if (!d.changed) return '';
  const p = d.preview;
  const lines: string[] = [];
  if (d.diff) lines.push(d.diff.trimEnd(), '');
  lines.push(`Rollout of set ${d.name}: ${rolloutHeading(p, liveGeneration)}`);
  if (p.steps.length === 0) lines.push('  no instance is created, replaced or removed');
  p.steps.forEach((step, index) => lines.push(`  ${index + 1}. ${stepText(step)}`));
  if (!p.complete) lines.push('  (the preview stopped before the rollout settled)');
  if (p.kept.length > 0) lines.push(`Kept on their revision: ${p.kept.map((k) => `${k.instance} (${k.revision})`).join(', ')}`);
  if (p.constraints.length > 0) lines.push('Constraints:', ...p.constraints.map((c) => `  - ${c}`));
  if (p.dns.added.length + p.dns.removed.length > 0) {
    lines.push('DNS names:', ...p.dns.added.map((n) => `  + ${n}`), ...p.dns.removed.map((n) => `  - ${n}`));
  }
  return lines.join('\n') + '\n';
}

/** For a pull-request comment: a heading, the diff in a fenced block, the rollout as a numbered list. */
export function formatDiffMarkdown(d: SetDiff, liveGeneration?: number): string {
  const code = (s: string) => `\`${s}\``;
  if (!d.changed) return `### Set ${code(d.name)}: no change\n`;
  const p = d.preview;
  const lines: string[] = [`### Set ${code(d.name)}: ${p.created ? 'created' : 'changed'}`, ''];
  if (d.diff) lines.push('```diff', d.diff.trimEnd(), '```', '');
  lines.push(`**Rollout**: ${rolloutHeading(p, liveGeneration)}`, '');
  if (p.steps.length === 0) lines.push('No instance is created, replaced or removed.');
  p.steps.forEach((step, index) => lines.push(`${index + 1}. ${stepText(step, code)}`));
  if (!p.complete) lines.push('', '_The preview stopped before the rollout settled._');
  if (p.kept.length > 0) lines.push('', `**Kept on their revision**: ${p.kept.map((k) => `${code(k.instance)} (${code(k.revision)})`).join(', ')}`);
  if (p.constraints.length > 0) lines.push('', '**Constraints**', '', ...p.constraints.map((c) => `- ${c}`));
  if (p.dns.added.length + p.dns.removed.length > 0) {
    lines.push('', '**DNS names**', '', ...p.dns.added.map((n) => `- added ${code(n)}`), ...p.dns.removed.map((n) => `- removed ${code(n)}`));
  }
  return lines.join('\n') + '\n';
}

export function formatDiff(d: SetDiff, format: DiffFormat, liveGeneration?: number): string {
  if (format === 'json') return formatJson(d);
  return format === 'markdown' ? formatDiffMarkdown(d, liveGeneration) : formatDiffText(d, liveGeneration);
}

/** One set's diff with the live set's generation (undefined: the set does not exist). */
export interface SetDiffEntry {
  diff: SetDiff;
  liveGeneration?: number;
}

/**
 * Every set's diff, in the input's order: text and Markdown are each set's section one after the other
 * (a blank line between; text leaves out the sets that would not change), JSON is an array, or the one
 * object alone when the input held a single set (as diff printed before it read several).
 */
export function formatDiffs(entries: readonly SetDiffEntry[], format: DiffFormat): string {
  if (format === 'json') return entries.length === 1 ? formatJson(entries[0].diff) : formatJson(entries.map((e) => e.diff));
  return entries
    .map((e) => formatDiff(e.diff, format, e.liveGeneration))
    .filter((section) => section !== '')
    .join('\n');
}

/** Whether applying the input would change any set: diff's exit code, 1 or 0. */
export function anyChanged(entries: readonly SetDiffEntry[]): boolean {
  return entries.some((e) => e.diff.changed);
}
