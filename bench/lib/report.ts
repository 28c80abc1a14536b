// Results: one row per measured figure, with its baseline, their ratio, the target and whether it is
// met; printed as a table and written as JSON.
import fs from 'node:fs';
import path from 'node:path';
import type { MachineInfo } from './machine.js';
import { round, roundDeep } from './stats.js';

export interface Row {
  name: string;
  value: number | null;
  unit: string;
  /** The peer measured in the same run, in the same unit. */
  baseline: number | null;
  /** What the baseline is. */
  baselineLabel?: string;
  /** value / baseline (how the ratio reads is in `target` when the target is a ratio). */
  ratio: number | null;
  /** The target in words, e.g. "<= 1.5 R"; null: no target, reported for comparison only. */
  target: string | null;
  met: boolean | null;
  /** Temporal figures also as a multiple of R, the durable-step floor. */
  inR?: number | null;
  note?: string;
}

export interface ScenarioResult {
  rows: Row[];
  details: Record<string, unknown>;
}

export function row(fields: Omit<Row, 'ratio'> & { ratio?: number | null }): Row {
  const ratio =
    fields.ratio !== undefined
      ? fields.ratio
      : fields.value !== null && fields.baseline !== null && fields.baseline !== 0
        ? fields.value / fields.baseline
        : null;
  return { ...fields, ratio };
}

function fmt(value: number | null | undefined, unit = ''): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  const r = round(value)!;
  return unit ? `${r.toLocaleString('en-US')} ${unit}` : r.toLocaleString('en-US');
}

export function renderTable(rows: Row[]): string {
  const header = ['result', 'value', 'baseline', 'ratio', 'x R', 'target', 'met'];
  const lines = rows.map((r) => [
    r.name,
    fmt(r.value, r.unit),
    r.baseline === null ? '-' : `${fmt(r.baseline, r.unit)}${r.baselineLabel ? ` (${r.baselineLabel})` : ''}`,
    fmt(r.ratio),
    r.inR === undefined ? '' : fmt(r.inR),
    r.target ?? 'none (for comparison)',
    r.met === null ? '-' : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const render = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [render(header), render(widths.map((w) => '-'.repeat(w))), ...lines.map(render)].join('\n');
}

export interface Results {
  machine: MachineInfo;
  options: unknown;
  startedAt: string;
  durationSeconds: number;
  scenarios: Row[];
  failures: Array<{ scenario: string; error: string }>;
  details: Record<string, unknown>;
}

export function writeResults(file: string, results: Results): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const rounded = { ...results, scenarios: results.scenarios.map((r) => roundDeep(r)), details: roundDeep(results.details) };
  fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(rounded, null, 2)}\n`);
  fs.renameSync(`${file}.tmp`, file);
}
