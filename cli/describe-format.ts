// What `ordinal describe` and `ordinal events` print, as `kubectl describe` and `kubectl get events` do:
// the set in "Key:  value" lines with its spec in short, status, conditions, instances, revisions and
// events; an events table with ages and aggregated counts. Pure functions of their inputs (the current
// time is a parameter), so they are unit-tested.
import type { EventsView, SetEvent } from '../core/events.js';
import type { Probe } from '../core/manifest.js';
import type { InstanceStatus, RevisionView, SetView } from '../core/status.js';
import { NONE, formatAge, formatRevisionHistory, formatTable, serviceDnsName, setAge } from './format.js';

/** What `ordinal describe` shows, and prints with -o json|yaml. */
export interface SetDescription {
  set: SetView;
  /** Newest first, as the API lists them. */
  revisions: RevisionView[];
  events: EventsView;
}

/** An event with the set it happened to (GET /v1/events). */
export type EventItem = SetEvent & { set: string };

const INDENT = '  ';

/** "Key:  value" lines, the values aligned; a multi-line value continues under its first line. */
export function formatFields(fields: ReadonlyArray<readonly [string, string]>, indent = ''): string {
  const width = Math.max(0, ...fields.map(([key]) => key.length + 1)) + 2;
  return fields
    .map(([key, value]) => {
      const [first, ...rest] = value.split('\n');
      const head = `${indent}${`${key}:`.padEnd(width)}${first}`.trimEnd();
      return [head, ...rest.map((line) => `${indent}${' '.repeat(width)}${line}`.trimEnd())].join('\n');
    })
    .map((line) => `${line}\n`)
    .join('');
}

/** A table indented under its section heading. */
function indented(table: string): string {
  return table
    .split('\n')
    .map((line) => (line === '' ? line : `${INDENT}${line}`))
    .join('\n');
}

/** A section: its heading, then its indented table, or `Heading:  <none>` when it has no rows. */
function section(heading: string, table: string | undefined): string {
  return table === undefined ? `${heading}:  ${NONE}\n` : `${heading}:\n${indented(table)}`;
}

/** "3m ago" for an ISO time; <unknown> for an unreadable one. */
function ago(at: string, now: number): string {
  const ms = Date.parse(at);
  return Number.isNaN(ms) ? '<unknown>' : `${formatAge(now - ms)} ago`;
}

/** An age cell: how long ago, without "ago" (kubectl's AGE and LAST SEEN); <unknown> for an unreadable time. */
function age(at: string | null | undefined, now: number): string {
  if (!at) return NONE;
  const ms = Date.parse(at);
  return Number.isNaN(ms) ? '<unknown>' : formatAge(now - ms);
}

/**
 * The LAST SEEN cell, as kubectl describe's age of an event: how long ago it last happened, and for a
 * repeated one how often and since when: `12s (x3 over 5m)`.
 */
export function lastSeen(event: Pick<SetEvent, 'count' | 'firstTimestamp' | 'lastTimestamp'>, now: number): string {
  const last = age(event.lastTimestamp, now);
  return event.count > 1 ? `${last} (x${event.count} over ${age(event.firstTimestamp, now)})` : last;
}

/** The OBJECT cell: the instance it concerns, or the set itself. */
export function eventObject(event: Pick<SetEvent, 'instance'>, set: string): string {
  return event.instance ? `instance/${event.instance}` : `set/${set}`;
}

const EVENT_HEADER = ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'] as const;

/**
 * `ordinal events SET` and describe's Events: one line per event, in the order given (oldest first).
 * Messages are printed on one line.
 */
export function formatEventTable(events: readonly SetEvent[], set: string, now: number): string {
  return formatTable(EVENT_HEADER, events.map((e) => [lastSeen(e, now), e.type, e.reason, eventObject(e, set), oneLine(e.message)]));
}

/** `ordinal events`: every set's events, with a SET column first, in the order given (newest last). */
export function formatAllEventsTable(events: readonly EventItem[], now: number): string {
  return formatTable(
    ['SET', ...EVENT_HEADER],
    events.map((e) => [e.set, lastSeen(e, now), e.type, e.reason, eventObject(e, e.set), oneLine(e.message)]),
  );
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

// ---- describe ----

/** `kubectl describe`'s probe line: `http-get http://:http/healthz delay=0s timeout=1s period=10s #success=1 #failure=3`. */
export function formatProbe(probe: Probe | undefined): string {
  if (!probe) return NONE;
  let handler = '';
  if (probe.httpGet) {
    const { scheme, host, port, path } = probe.httpGet;
    handler = `http-get ${scheme.toLowerCase()}://${host ?? ''}:${port}${path ?? '/'}`;
  } else if (probe.tcpSocket) {
    handler = `tcp-socket ${probe.tcpSocket.host ?? ''}:${probe.tcpSocket.port}`;
  } else if (probe.exec) {
    handler = `exec [${probe.exec.command.join(' ')}]`;
  }
  return (
    `${handler} delay=${probe.initialDelaySeconds}s timeout=${probe.timeoutSeconds}s period=${probe.periodSeconds}s ` +
    `#success=${probe.successThreshold} #failure=${probe.failureThreshold}`
  );
}

/** An argv as one would type it: arguments with blanks or quotes in single quotes. */
function commandLine(argv: readonly string[]): string {
  return argv.map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`)).join(' ');
}

function labelLines(map: Record<string, string> | undefined): string {
  const entries = Object.entries(map ?? {});
  return entries.length === 0 ? NONE : entries.map(([k, v]) => `${k}=${v}`).join('\n');
}

function updateStrategy(spec: SetView['spec']): string {
  const strategy = spec.updateStrategy;
  if (!strategy || strategy.type === 'OnDelete') return strategy?.type ?? NONE;
  const rolling = strategy.rollingUpdate;
  const partition = rolling?.partition ?? 0;
  const maxUnavailable = rolling?.maxUnavailable ?? 1;
  return `RollingUpdate (partition ${partition}, maxUnavailable ${maxUnavailable}${rolling?.paused ? ', paused' : ''})`;
}

/** The spec in short: what runs, where it is named, how it is rolled out and probed. */
function specFields(view: SetView): Array<[string, string]> {
  const { spec } = view;
  const template = spec.template;
  const fields: Array<[string, string]> = [];
  fields.push(['Replicas', `${spec.replicas} desired`]);
  fields.push(['Service', spec.serviceName ? `${spec.serviceName} (${serviceDnsName(view)})` : NONE]);
  const dns = spec.dns;
  fields.push(['DNS', dns ? `${dns.provider}, zone ${dns.zone}, ttl ${dns.ttl}s${dns.publishNotReadyAddresses ? ', publishes not-Ready addresses' : ''}` : NONE]);
  if (template.process) fields.push(['Program', commandLine(template.process.command)]);
  if (template.ecs) fields.push(['Image', `${template.ecs.image} (ECS cluster ${template.ecs.cluster})`]);
  const ports = template.ports ?? [];
  fields.push(['Ports', ports.length === 0 ? NONE : ports.map((p) => `${p.name ? `${p.name} ` : ''}${p.port}/${p.protocol}`).join(', ')]);
  fields.push(['Pod Management', spec.podManagementPolicy]);
  fields.push(['Update Strategy', updateStrategy(spec)]);
  fields.push(['Min Ready Seconds', String(spec.minReadySeconds)]);
  fields.push(['Readiness', formatProbe(template.readinessProbe)]);
  fields.push(['Liveness', formatProbe(template.livenessProbe)]);
  return fields;
}

function statusFields(view: SetView): Array<[string, string]> {
  const s = view.status;
  return [
    ['Phase', s.phase],
    [
      'Replicas',
      `${s.replicas} total | ${s.readyReplicas} ready | ${s.availableReplicas} available | ${s.currentReplicas} current | ${s.updatedReplicas} updated`,
    ],
    ['Observed Generation', String(s.observedGeneration)],
    ['Current Revision', s.currentRevision ?? NONE],
    ['Update Revision', s.updateRevision ?? NONE],
  ];
}

/**
 * The LAST EXIT cell: the instance's latest Exited event (its message and when), else the last error the
 * set recorded for it (older events may have been dropped), else <none>.
 */
export function lastExit(instance: InstanceStatus, events: readonly SetEvent[], now: number): string {
  const exit = events.filter((e) => e.reason === 'Exited' && e.instance === instance.name).at(-1);
  // The row names the instance already: "web-1 the process was killed by SIGKILL" reads as what happened.
  if (exit) {
    const message = oneLine(exit.message);
    const what = message.startsWith(`${instance.name} `) ? message.slice(instance.name.length + 1) : message;
    return `${what} (${ago(exit.lastTimestamp, now)})`;
  }
  return instance.lastError ? oneLine(instance.lastError) : NONE;
}

const INSTANCE_HEADER = ['NAME', 'PHASE', 'READY', 'ADDRESS', 'DNS NAME', 'INCARNATION', 'RESTARTS', 'AGE', 'REVISION', 'LAST EXIT'] as const;

function phaseCell(instance: InstanceStatus, now: number): string {
  const notes: string[] = [];
  if (instance.cordoned) notes.push('cordoned');
  if (instance.nextRestartAt) {
    const at = Date.parse(instance.nextRestartAt);
    if (!Number.isNaN(at)) notes.push(`restart in ${formatAge(at - now)}`);
  }
  return notes.length === 0 ? instance.phase : `${instance.phase} (${notes.join(', ')})`;
}

function instanceTable(instances: readonly InstanceStatus[], events: readonly SetEvent[], now: number): string | undefined {
  if (instances.length === 0) return undefined;
  return formatTable(
    INSTANCE_HEADER,
    instances.map((i) => [
      i.name,
      phaseCell(i, now),
      i.ready ? 'true' : 'false',
      i.address ?? NONE,
      i.dnsName,
      String(i.incarnation),
      String(i.restarts),
      age(i.startedAt, now),
      i.revision || NONE,
      lastExit(i, events, now),
    ]),
  );
}

function conditionTable(view: SetView): string | undefined {
  const conditions = view.status.conditions;
  if (conditions.length === 0) return undefined;
  return formatTable(
    ['TYPE', 'STATUS', 'REASON', 'MESSAGE'],
    conditions.map((c) => [c.type, c.status, c.reason, oneLine(c.message) || NONE]),
  );
}

/** `ordinal describe SET`: the set as `kubectl describe` shows a StatefulSet, with its instances and events. */
export function formatDescription(description: SetDescription, now: number): string {
  const { set: view, revisions, events } = description;
  const { metadata } = view;
  const created = metadata.creationTimestamp ? `${metadata.creationTimestamp} (${setAge(view, now)} ago)` : NONE;
  const head: Array<[string, string]> = [
    ['Name', metadata.name],
    ['Labels', labelLines(metadata.labels)],
    ['Annotations', labelLines(metadata.annotations)],
    ['Created', created],
    ['Generation', String(metadata.generation)],
  ];
  if (metadata.deletionRequested) head.push(['Deletion', 'requested: its instances are stopping, highest ordinal first']);
  const parts = [
    formatFields([...head, ...specFields(view)]),
    `Status:\n${formatFields(statusFields(view), INDENT)}`,
    section('Conditions', conditionTable(view)),
    section('Instances', instanceTable(view.status.instances, events.items, now)),
    section('Revisions', revisions.length === 0 ? undefined : formatRevisionHistory(revisions, now)),
    section('Events', events.items.length === 0 ? undefined : formatEventTable(events.items, metadata.name, now)),
  ];
  return parts.join('');
}
