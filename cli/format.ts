// What the client commands print: tables like kubectl's, ages, durations, JSON/YAML and API errors.
// Pure functions of their inputs (the current time is a parameter), so they are unit-tested.
import { stringify as yamlStringify } from 'yaml';
import type { Condition, InstanceStatus, RevisionView, SetView } from '../core/status.js';
import type { ReconcileView, ZoneView } from '../api/zones.js';

/** `wide` is the table with more columns, as kubectl's `-o wide`. */
export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml'] as const;
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
/**
 * AVAILABLE: Ready for minReadySeconds; CORDONED: out of the service records. The instance's DNS name
 * (NAME.service.zone) is in the `wide` table, so the default one stays within 100 columns.
 */
const INSTANCE_HEADER = ['NAME', 'PHASE', 'READY', 'AVAILABLE', 'CORDONED', 'ADDRESS', 'RESTARTS', 'REVISION'] as const;
const INSTANCE_HEADER_WIDE = ['NAME', 'PHASE', 'READY', 'AVAILABLE', 'CORDONED', 'ADDRESS', 'DNS NAME', 'RESTARTS', 'REVISION'] as const;

function setRow(view: SetView, now: number, wide = false): string[] {
  const row = [
    view.metadata.name,
    readyColumn(view),
    view.status?.phase ?? NONE,
    view.status?.updateRevision ?? NONE,
    setAge(view, now),
  ];
  if (wide) row.push(serviceDnsName(view));
  return row;
}

/** `web.ordinal.internal`: the service's name, under which each instance is NAME.web.ordinal.internal. */
export function serviceDnsName(view: SetView): string {
  const service = view.spec?.serviceName;
  const zone = view.spec?.dns?.zone;
  return service && zone ? `${service}.${zone}` : NONE;
}

/** A boolean cell; a field an older server does not send shows as <none>. */
function flag(value: boolean | undefined): string {
  return value === undefined ? NONE : value ? 'true' : 'false';
}

function instanceRow(instance: InstanceStatus, wide: boolean): string[] {
  const row = [
    instance.name,
    instance.phase,
    flag(instance.ready),
    flag(instance.available),
    flag(instance.cordoned),
    instance.address ?? NONE,
  ];
  if (wide) row.push(instance.dnsName);
  row.push(String(instance.restarts), instance.revision || NONE);
  return row;
}

/** `ordinal get`: one line per set; `wide` adds the service's DNS name. */
export function formatSetList(views: readonly SetView[], now: number, wide = false): string {
  const header = wide ? [...SET_HEADER, 'SERVICE'] : SET_HEADER;
  return formatTable(header, views.map((view) => setRow(view, now, wide)));
}

/**
 * What needs attention, one line each, under the set's line: a rollout that is not complete (the
 * Progressing condition: reconciling, paused, past its deadline, rolling back), too few available
 * instances, a failing instance, DNS trouble (a provider error, names someone else holds), and the
 * last automatic rollback.
 */
export function setNotes(view: SetView, now: number): string[] {
  const conditions = view.status?.conditions ?? [];
  const notes: string[] = [];
  const show = (c: Condition | undefined) => {
    if (c) notes.push(`${c.type}=${c.status} ${c.reason}${c.message ? `: ${c.message}` : ''}`);
  };
  const progressing = conditions.find((c) => c.type === 'Progressing');
  if (progressing && progressing.reason !== 'RolloutComplete') show(progressing);
  const available = conditions.find((c) => c.type === 'Available');
  if (available && available.status !== 'True') show(available);
  show(conditions.find((c) => c.type === 'ReplicaFailure' && c.status === 'True'));
  show(conditions.find((c) => c.type === 'DNSReady' && c.status !== 'True'));
  show(conditions.find((c) => c.type === 'DNSConflict' && c.status === 'True'));
  const rollback = view.status?.lastRollback;
  if (rollback) {
    const at = Date.parse(rollback.at);
    const when = Number.isNaN(at) ? rollback.at : `${formatAge(now - at)} ago`;
    notes.push(`Last rollback: ${rollback.from} to ${rollback.to}, ${when}: ${rollback.reason}`);
  }
  return notes;
}

/**
 * `ordinal get NAME`: the set's line and what needs attention, a blank line, then one line per
 * instance; `wide` adds the DNS names.
 */
export function formatSetDetail(view: SetView, now: number, wide = false): string {
  const instances = view.status?.instances ?? [];
  const header = wide ? [...SET_HEADER, 'SERVICE'] : SET_HEADER;
  const out = formatTable(header, [setRow(view, now, wide)]) + setNotes(view, now).map((line) => `${line}\n`).join('');
  if (instances.length === 0) return `${out}\nNo instances.\n`;
  return `${out}\n${formatTable(wide ? INSTANCE_HEADER_WIDE : INSTANCE_HEADER, instances.map((i) => instanceRow(i, wide)))}`;
}

const HISTORY_HEADER = ['REVISION', 'NAME', 'GENERATION', 'CREATED', 'CURRENT/UPDATE', 'REPLICAS'] as const;

/** The CURRENT/UPDATE cell: which of the set's two revisions this one is, if any. */
function revisionRole(revision: RevisionView): string {
  const roles = [revision.current && 'current', revision.update && 'update'].filter(Boolean);
  return roles.length > 0 ? roles.join(',') : '-';
}

/** `ordinal rollout history NAME`: one line per revision, newest first (as the API lists them). */
export function formatRevisionHistory(revisions: readonly RevisionView[], now: number): string {
  const rows = [...revisions]
    .sort((a, b) => b.revision - a.revision)
    .map((r) => {
      const created = Date.parse(r.createdAt);
      return [
        String(r.revision),
        r.name,
        String(r.generation),
        Number.isNaN(created) ? '<unknown>' : `${formatAge(now - created)} ago`,
        revisionRole(r),
        String(r.replicas),
      ];
    });
  return formatTable(HISTORY_HEADER, rows);
}

const ZONE_HEADER = ['HOSTED ZONE', 'ZONE', 'SETS', 'PENDING', 'LAST FLUSH', 'LAST ERROR'] as const;

/** Up to `max` names, then how many more: `a,b,c,+17 more`. */
function namesCell(names: readonly string[] | undefined, max = 3): string {
  if (!names || names.length === 0) return NONE;
  if (names.length <= max) return names.join(',');
  return `${names.slice(0, max).join(',')},+${names.length - max} more`;
}

/** `12s ago` for an ISO time; <none> without one. */
function agoCell(at: string | undefined, now: number): string {
  if (!at) return NONE;
  const ms = Date.parse(at);
  return Number.isNaN(ms) ? at : `${formatAge(now - ms)} ago`;
}

function zoneErrorCell(error: ZoneView['lastError'], now: number): string {
  if (!error) return NONE;
  const message = error.message.length > 80 ? `${error.message.slice(0, 77)}...` : error.message;
  return `${error.code}: ${message} (${agoCell(error.at, now)})`;
}

/** `ordinal dns zones`: one line per Route 53 hosted zone with a publisher. */
export function formatZoneList(zones: readonly ZoneView[], now: number): string {
  return formatTable(
    ZONE_HEADER,
    zones.map((z) => [z.hostedZoneId, z.zone, namesCell(z.sets), namesCell(z.pending), agoCell(z.lastFlush?.at, now), zoneErrorCell(z.lastError, now)]),
  );
}

function changes(n: number): string {
  return `${n} ${n === 1 ? 'change' : 'changes'}`;
}

/**
 * The last line of `ordinal dns reconcile`: `dry run: 3 changes planned, nothing applied`,
 * `applied 3 changes`, or `applied 2 of 3 changes planned` when some were not applied.
 */
export function reconcileOutcome(summary: Pick<ReconcileView, 'dryRun' | 'planned' | 'applied'>): string {
  if (summary.dryRun) return `dry run: ${changes(summary.planned)} planned, nothing applied`;
  if (summary.applied === summary.planned) return `applied ${changes(summary.applied)}`;
  return `applied ${summary.applied} of ${changes(summary.planned)} planned`;
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

export function parseOutputFormat(text: string, allowed: readonly OutputFormat[] = OUTPUT_FORMATS): OutputFormat {
  const format = text.toLowerCase();
  if ((allowed as readonly string[]).includes(format)) return format as OutputFormat;
  throw new Error(`unknown output format '${text}': use one of ${allowed.join(', ')}`);
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

/** The inverse of parseDuration for messages (in core/, which the rollout decisions share with infra/cdk/). */
export { formatDuration } from '../core/duration.js';
