// What the client commands print: tables like kubectl's, ages, durations, JSON/YAML and API errors.
// Pure functions of their inputs (the current time is a parameter), so they are unit-tested.
import { stringify as yamlStringify } from 'yaml';
import type { InstanceStatus, SetView } from '../core/set-state.js';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Placeholder for an empty cell, as kubectl prints it. */
export const NONE = '<none>';

/**
 * Left-aligned columns separated by three spaces; the last column is not padded, so no line ends in
 * whitespace. Every line, the last included, ends with a newline.
 */
export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  return all
    .map((row) =>
      header
        .map((_, column) => {
          const cell = row[column] ?? '';
          return column === header.length - 1 ? cell : cell.padEnd(widths[column]);
        })
        .join('   ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/**
 * A compact, human age such as kubectl prints (its HumanDuration): 45s, 3m20s, 17m, 2h5m, 20h, 3d4h,
 * 40d, 1y20d, 9y. Negative ages (clock skew between hosts) print as 0s.
 */
export function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(seconds / 3600);
  const days = Math.floor(hours / 24);
  const years = Math.floor(days / 365);
  if (seconds < 120) return `${seconds}s`;
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (days < 365 * 2) return `${days}d`;
  if (days < 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

/** The age of a set from its creationTimestamp, or <unknown> when it has none (or an unreadable one). */
export function setAge(view: SetView, now: number): string {
  const created = view.metadata.creationTimestamp;
  const at = created ? Date.parse(created) : NaN;
  return Number.isNaN(at) ? '<unknown>' : formatAge(now - at);
}

/** "2/3": Ready instances over desired replicas. */
export function readyColumn(view: SetView): string {
  return `${view.status?.readyReplicas ?? 0}/${view.spec?.replicas ?? 0}`;
}

const SET_HEADER = ['NAME', 'READY', 'PHASE', 'REVISION', 'AGE'] as const;
const INSTANCE_HEADER = ['NAME', 'PHASE', 'READY', 'ADDRESS', 'DNS NAME', 'RESTARTS', 'REVISION'] as const;

function setRow(view: SetView, now: number): string[] {
  return [
    view.metadata.name,
    readyColumn(view),
    view.status?.phase ?? NONE,
    view.status?.updateRevision ?? NONE,
    setAge(view, now),
  ];
}

function instanceRow(instance: InstanceStatus): string[] {
  return [
    instance.name,
    instance.phase,
    instance.ready ? 'true' : 'false',
    instance.address ?? NONE,
    instance.dnsName,
    String(instance.restarts),
    instance.revision || NONE,
  ];
}

/** `ordinal get`: one line per set. */
export function formatSetList(views: readonly SetView[], now: number): string {
  return formatTable(SET_HEADER, views.map((view) => setRow(view, now)));
}

/** `ordinal get NAME`: the set's line, a blank line, then one line per instance. */
export function formatSetDetail(view: SetView, now: number): string {
  const instances = view.status?.instances ?? [];
  const out = formatTable(SET_HEADER, [setRow(view, now)]);
  if (instances.length === 0) return `${out}\nNo instances.\n`;
  return `${out}\n${formatTable(INSTANCE_HEADER, instances.map(instanceRow))}`;
}

/** Indented JSON with a final newline. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Block-style YAML (a final newline included). */
export function formatYaml(value: unknown): string {
  return yamlStringify(value, { lineWidth: 0 });
}

/** Prints an API object (a set, or the `{items}` list) in the chosen machine-readable format. */
export function formatObject(value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? formatJson(value) : formatYaml(value);
}

export function parseOutputFormat(text: string): OutputFormat {
  const format = text.toLowerCase();
  if ((OUTPUT_FORMATS as readonly string[]).includes(format)) return format as OutputFormat;
  throw new Error(`unknown output format '${text}': use one of ${OUTPUT_FORMATS.join(', ')}`);
}

export interface ErrorDetail {
  path: string;
  message: string;
}

/** `error: <message>` then one indented line per detail (`  spec.replicas: must be at least 0`). */
export function formatError(message: string, details: readonly ErrorDetail[] = []): string {
  const lines = [`error: ${message}`];
  for (const detail of details) {
    lines.push(detail.path ? `  ${detail.path}: ${detail.message}` : `  ${detail.message}`);
  }
  return `${lines.join('\n')}\n`;
}

const UNITS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses a duration: "90s", "5m", "1h", "1h30m", "500ms", "1.5s", or a plain number of seconds
 * ("30", "2.5"). Returns milliseconds; throws an Error that says what is accepted.
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let index = 0;
  let parts = 0;
  for (let match = part.exec(trimmed); match; match = part.exec(trimmed)) {
    total += Number(match[1]) * UNITS[match[2]];
    index = part.lastIndex;
    parts++;
  }
  if (parts === 0 || index !== trimmed.length) {
    throw new Error(`invalid duration '${text}': use e.g. 90s, 5m, 1h, 1h30m, 500ms, or a number of seconds`);
  }
  return Math.round(total);
}

/** The inverse of parseDuration for messages: 300000 -> "5m", 90000 -> "1m30s", 1500 -> "1.5s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const hours = Math.floor(ms / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = (ms % 60_000) / 1000;
  let out = '';
  if (hours) out += `${hours}h`;
  if (minutes) out += `${minutes}m`;
  if (seconds) out += `${Number.isInteger(seconds) ? seconds : seconds.toFixed(3).replace(/0+$/, '')}s`;
  return out;
}
