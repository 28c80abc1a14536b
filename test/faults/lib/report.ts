// The fault report: per fault kind, trials run, trials converged, invariant violations and convergence
// times; printed as a table and written as JSON (test/faults/results/latest.json for the full run).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FAULT_KINDS, type FaultKind } from './context.js';
import type { TrialResult } from './trial.js';

export const RESULTS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../results');

export interface KindSummary {
  kind: FaultKind;
  trials: number;
  converged: number;
  /** Invariant violations, all trials together. */
  violations: number;
  /** Trials with at least one violation. */
  trialsWithViolations: number;
  medianConvergenceMs?: number;
  maxConvergenceMs?: number;
  scenarios: Record<string, number>;
  /** Predecessor -> successor handovers checked on the timeline. */
  handovers: number;
  /** The longest set workflow history seen (events in its current run). */
  maxHistoryLength?: number;
}

export interface Report {
  seed: number;
  trialsPerKind: number;
  startedAt: string;
  durationMs: number;
  /** Systems running trials side by side (run.ts --parallel). */
  parallel: number;
  machine: { cpus: number; loadAverage: number[] };
  summary: KindSummary[];
  totals: { trials: number; converged: number; violations: number };
  trials: TrialResult[];
}

export function summarize(results: TrialResult[]): KindSummary[] {
  const kinds = FAULT_KINDS.filter((k) => results.some((r) => r.kind === k));
  return kinds.map((kind) => {
    const mine = results.filter((r) => r.kind === kind);
    const times = mine.filter((r) => r.convergenceMs !== undefined).map((r) => r.convergenceMs!).sort((a, b) => a - b);
    const scenarios: Record<string, number> = {};
    for (const r of mine) scenarios[r.scenario] = (scenarios[r.scenario] ?? 0) + 1;
    return {
      kind,
      trials: mine.length,
      converged: mine.filter((r) => r.converged).length,
      violations: mine.reduce((n, r) => n + r.violations.length, 0),
      trialsWithViolations: mine.filter((r) => r.violations.length > 0).length,
      medianConvergenceMs: median(times),
      maxConvergenceMs: times.length ? times[times.length - 1] : undefined,
      scenarios,
      handovers: mine.reduce((n, r) => n + r.handovers.total, 0),
      maxHistoryLength: Math.max(...mine.map((r) => r.historyLength ?? 0)) || undefined,
    };
  });
}

export function renderTable(summary: KindSummary[]): string {
  const header = ['fault', 'trials', 'converged', 'violations', 'median convergence', 'max convergence', 'handovers checked', 'max history'];
  const rows = summary.map((s) => [
    s.kind,
    String(s.trials),
    String(s.converged),
    String(s.violations),
    seconds(s.medianConvergenceMs),
    seconds(s.maxConvergenceMs),
    String(s.handovers),
    s.maxHistoryLength === undefined ? '-' : String(s.maxHistoryLength),
  ]);
  const total = summary.reduce((t, s) => ({ trials: t.trials + s.trials, converged: t.converged + s.converged, violations: t.violations + s.violations }), {
    trials: 0,
    converged: 0,
    violations: 0,
  });
  rows.push(['total', String(total.trials), String(total.converged), String(total.violations), '', '', String(summary.reduce((n, s) => n + s.handovers, 0)), '']);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' | ')} |`;
  return [line(header), `|${widths.map((w, i) => (i === 0 ? `${'-'.repeat(w + 1)}-` : `${'-'.repeat(w + 1)}:`)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** The violations and non-converged trials, each with what is needed to run it again. */
export function renderFailures(results: TrialResult[], runSeed: number): string {
  const bad = results.filter((r) => !r.converged || r.violations.length > 0);
  if (bad.length === 0) return 'no violations, every trial converged';
  return bad
    .map((r) =>
      [
        `${r.kind} #${r.index} (${r.scenario}, set ${r.set}, trial seed ${r.seed}, fault at ${r.delayMs} ms): ` +
          `${r.converged ? 'converged' : `NOT converged: ${r.notConvergedBecause}`}; rerun: npm run test:faults -- --seed ${runSeed} --only ${r.kind} --trial ${r.index}`,
        ...r.violations.map((v) => `  - ${v}`),
        ...r.notes.map((n) => `  . ${n}`),
        ...(r.timeline ? [`  timeline:\n${r.timeline}`] : []),
      ].join('\n'),
    )
    .join('\n\n');
}

export function buildReport(results: TrialResult[], meta: Omit<Report, 'summary' | 'totals' | 'trials'>): Report {
  const summary = summarize(results);
  return {
    ...meta,
    summary,
    totals: {
      trials: results.length,
      converged: results.filter((r) => r.converged).length,
      violations: results.reduce((n, r) => n + r.violations.length, 0),
    },
    trials: results,
  };
}

export function writeReport(report: Report, file: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
}

function median(sorted: number[]): number | undefined {
  if (sorted.length === 0) return undefined;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`;
}
