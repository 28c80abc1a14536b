// What `ordinal describe` and `ordinal events` print: event ages and aggregated counts, the OBJECT
// column, probes and the spec in short, the LAST EXIT of an instance, empty sections, and the whole
// description of a set built by the same core code as the workflow's (through the in-memory sets).
import { describe, expect, it } from 'vitest';
import { parseTextOutput } from '../../cli/describe-command.js';
import {
  eventObject,
  formatAllEventsTable,
  formatDescription,
  formatEventTable,
  formatFields,
  formatProbe,
  lastExit,
  lastSeen,
  type SetDescription,
} from '../../cli/describe-format.js';
import type { NewEvent, SetEvent } from '../../core/events.js';
import type { Probe } from '../../core/manifest.js';
import type { InstanceStatus } from '../../core/status.js';
import { FAKE_NOW, FakeSets } from './fake-sets.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const iso = (ms: number) => new Date(ms).toISOString();

function event(overrides: Partial<SetEvent> = {}): SetEvent {
  return {
    seq: 1,
    type: 'Normal',
    reason: 'Ready',
    message: 'web-1 is Ready',
    instance: 'web-1',
    ordinal: 1,
    incarnation: 2,
    count: 1,
    firstTimestamp: iso(FAKE_NOW - 12 * SECOND),
    lastTimestamp: iso(FAKE_NOW - 12 * SECOND),
    ...overrides,
  };
}

describe('LAST SEEN: the age of the last occurrence, and of the first for a repeated event', () => {
  it.each([
    { name: 'once, 12s ago', count: 1, first: 12 * SECOND, last: 12 * SECOND, want: '12s' },
    { name: 'once, just now', count: 1, first: 0, last: 0, want: '0s' },
    { name: 'once, 3 hours ago', count: 1, first: 3 * HOUR, last: 3 * HOUR, want: '3h' },
    { name: 'three times over 5 minutes', count: 3, first: 5 * MINUTE, last: 12 * SECOND, want: '12s (x3 over 5m)' },
    { name: 'twice within a second', count: 2, first: 1 * SECOND, last: 0, want: '0s (x2 over 1s)' },
    { name: 'many times over 2 hours 5 minutes', count: 120, first: 2 * HOUR + 5 * MINUTE, last: 4 * MINUTE + 20 * SECOND, want: '4m20s (x120 over 125m)' },
    { name: 'in the future (clock skew)', count: 1, first: -5 * SECOND, last: -5 * SECOND, want: '0s' },
  ])('$name: $want', ({ count, first, last, want }) => {
    expect(lastSeen({ count, firstTimestamp: iso(FAKE_NOW - first), lastTimestamp: iso(FAKE_NOW - last) }, FAKE_NOW)).toBe(want);
  });

  it('says <unknown> for a time it cannot read', () => {
    expect(lastSeen({ count: 2, firstTimestamp: 'never', lastTimestamp: 'soon' }, FAKE_NOW)).toBe('<unknown> (x2 over <unknown>)');
  });
});

describe('OBJECT: the instance, else the set', () => {
  it.each([
    [{ instance: 'web-1' }, 'instance/web-1'],
    [{}, 'set/web'],
    [{ instance: '' }, 'set/web'],
  ])('%j -> %s', (e, want) => {
    expect(eventObject(e, 'web')).toBe(want);
  });
});

describe('formatProbe, as kubectl describe prints probes', () => {
  const base = { initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 };
  it.each<[string, Probe | undefined, string]>([
    ['none', undefined, '<none>'],
    [
      'httpGet on a named port',
      { ...base, httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP', httpHeaders: [] } },
      'http-get http://:http/healthz delay=0s timeout=1s period=10s #success=1 #failure=3',
    ],
    [
      'httpGet over HTTPS with a host',
      { ...base, initialDelaySeconds: 5, httpGet: { path: '/ready', port: 8443, host: 'localhost', scheme: 'HTTPS', httpHeaders: [] } },
      'http-get https://localhost:8443/ready delay=5s timeout=1s period=10s #success=1 #failure=3',
    ],
    ['tcpSocket', { ...base, periodSeconds: 2, tcpSocket: { port: 5432 } }, 'tcp-socket :5432 delay=0s timeout=1s period=2s #success=1 #failure=3'],
    [
      'exec',
      { ...base, failureThreshold: 5, exec: { command: ['pg_isready', '-q'] } },
      'exec [pg_isready -q] delay=0s timeout=1s period=10s #success=1 #failure=5',
    ],
  ])('%s', (_, probe, want) => {
    expect(formatProbe(probe)).toBe(want);
  });
});

describe('LAST EXIT of an instance', () => {
  const instance = (overrides: Partial<InstanceStatus> = {}) => ({ name: 'web-1', lastError: undefined, ...overrides }) as InstanceStatus;
  const exited = (seq: number, message: string, agoMs: number, name = 'web-1') =>
    event({ seq, reason: 'Exited', type: 'Warning', message, instance: name, lastTimestamp: iso(FAKE_NOW - agoMs), firstTimestamp: iso(FAKE_NOW - agoMs) });

  it.each([
    { name: 'no exit, no error', i: instance(), events: [], want: '<none>' },
    { name: 'its one Exited event, with its age', i: instance(), events: [exited(3, 'the process exited with code 3', 40 * SECOND)], want: 'the process exited with code 3 (40s ago)' },
    {
      name: 'the latest of several',
      i: instance(),
      events: [exited(1, 'the process exited with code 1', 5 * MINUTE), exited(4, 'the process was killed by signal SIGKILL', 20 * SECOND)],
      want: 'the process was killed by signal SIGKILL (20s ago)',
    },
    { name: "another instance's exit is not its own", i: instance(), events: [exited(2, 'the process exited with code 1', 1 * SECOND, 'web-10')], want: '<none>' },
    { name: 'an event other than Exited is not an exit', i: instance(), events: [event({ reason: 'BackOff', message: 'restarting in 2s' })], want: '<none>' },
    { name: 'without an Exited event kept, the last error', i: instance({ lastError: 'the process exited with code 2' }), events: [], want: 'the process exited with code 2' },
    {
      name: "without the instance's name the row shows already",
      i: instance(),
      events: [exited(1, 'web-1 the process was killed by SIGKILL', 3 * SECOND)],
      want: 'the process was killed by SIGKILL (3s ago)',
    },
    { name: "another instance's name is kept", i: instance(), events: [exited(1, 'web-10 is not web-1', 3 * SECOND)], want: 'web-10 is not web-1 (3s ago)' },
    { name: 'a multi-line message on one line', i: instance(), events: [exited(1, 'exited\n  with code 1', 2 * SECOND)], want: 'exited with code 1 (2s ago)' },
  ])('$name', ({ i, events, want }) => {
    expect(lastExit(i, events, FAKE_NOW)).toBe(want);
  });
});

describe('the events tables', () => {
  it("prints a set's events in the order given, kubectl style, without trailing blanks", () => {
    const text = formatEventTable(
      [
        event({ seq: 1, type: 'Normal', reason: 'Scaled', message: 'scaled from 0 to 2', instance: undefined, firstTimestamp: iso(FAKE_NOW - 10 * MINUTE), lastTimestamp: iso(FAKE_NOW - 10 * MINUTE) }),
        event({ seq: 3, type: 'Warning', reason: 'Exited', message: 'the process was killed by signal SIGKILL', count: 3, firstTimestamp: iso(FAKE_NOW - 5 * MINUTE) }),
      ],
      'web',
      FAKE_NOW,
    );
    expect(text).toBe(
      'LAST SEEN          TYPE      REASON   OBJECT           MESSAGE\n' +
        '10m                Normal    Scaled   set/web          scaled from 0 to 2\n' +
        '12s (x3 over 5m)   Warning   Exited   instance/web-1   the process was killed by signal SIGKILL\n',
    );
  });

  it("prints every set's events with a SET column first", () => {
    const text = formatAllEventsTable(
      [
        { ...event({ reason: 'Created', message: 'created db-0', instance: 'db-0' }), set: 'db' },
        { ...event({ reason: 'RolloutCompleted', message: 'revision web-1a2b is rolled out', instance: undefined }), set: 'web' },
      ],
      FAKE_NOW,
    );
    expect(text).toBe(
      'SET   LAST SEEN   TYPE     REASON             OBJECT          MESSAGE\n' +
        'db    12s         Normal   Created            instance/db-0   created db-0\n' +
        'web   12s         Normal   RolloutCompleted   set/web         revision web-1a2b is rolled out\n',
    );
  });

  it('prints only the header for no events (the commands say "No events found." instead)', () => {
    expect(formatEventTable([], 'web', FAKE_NOW)).toBe('LAST SEEN   TYPE   REASON   OBJECT   MESSAGE\n');
  });
});

describe('formatFields', () => {
  it('aligns the values, continues a multi-line value under its first line, and indents', () => {
    expect(
      formatFields(
        [
          ['Name', 'web'],
          ['Labels', 'a=1\nb=2'],
          ['Empty', ''],
        ],
        '  ',
      ),
    ).toBe('  Name:    web\n  Labels:  a=1\n           b=2\n  Empty:\n');
  });
});

describe('-o of describe and events', () => {
  it.each([
    ['text', 'text'],
    ['table', 'text'],
    ['JSON', 'json'],
    ['yaml', 'yaml'],
  ])('%s -> %s', (given, want) => {
    expect(parseTextOutput(given)).toBe(want);
  });

  it.each(['wide', 'xml', ''])('refuses %j, naming the formats', (given) => {
    expect(() => parseTextOutput(given)).toThrow(`unknown output format '${given}': use one of text, json, yaml`);
  });
});

describe('formatDescription', () => {
  const manifest = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}) => ({
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', ...metadata },
    spec: { replicas: 2, template: { process: { command: ['node', 'server.js'] } }, ...spec },
  });

  async function described(fake: FakeSets, events: NewEvent[][] = []): Promise<SetDescription> {
    events.forEach((batch, i) => fake.recordEvents('web', batch, FAKE_NOW - (events.length - i) * MINUTE));
    return { set: (await fake.get('web'))!, revisions: (await fake.revisions('web'))!, events: (await fake.events('web'))! };
  }

  it('shows a running set: spec in short, status, conditions, instances, revisions and events', async () => {
    const fake = new FakeSets();
    await fake.apply(
      'web',
      manifest(
        {
          template: {
            process: { command: ['node', 'server.js', '--say', 'hi there'] },
            ports: [{ name: 'http', port: 8080 }],
            readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
          },
        },
        { labels: { team: 'edge', tier: 'front' } },
      ),
    );
    fake.rollOut('web');
    const sigkill: NewEvent = { type: 'Warning', reason: 'Exited', message: 'the process was killed by signal SIGKILL', instance: 'web-1', ordinal: 1, incarnation: 1 };
    const description = await described(fake, [[{ type: 'Normal', reason: 'Scaled', message: 'scaled from 0 to 2' }], [sigkill], [sigkill]]);
    const text = formatDescription(description, FAKE_NOW + 30 * SECOND);
    const revision = description.set.status.updateRevision!;
    expect(text).toBe(
      [
        'Name:               web',
        'Labels:             team=edge',
        '                    tier=front',
        'Annotations:        <none>',
        'Created:            2025-01-01T00:00:00.000Z (30s ago)',
        'Generation:         1',
        'Replicas:           2 desired',
        'Service:            web (web.ordinal.internal)',
        'DNS:                embedded, zone ordinal.internal, ttl 5s',
        "Program:            node server.js --say 'hi there'",
        'Ports:              http 8080/TCP',
        'Pod Management:     OrderedReady',
        'Update Strategy:    RollingUpdate (partition 0, maxUnavailable 1)',
        'Min Ready Seconds:  0',
        'Readiness:          http-get http://:http/healthz delay=0s timeout=1s period=1s #success=1 #failure=3',
        'Liveness:           <none>',
        'Status:',
        `  Phase:                ${description.set.status.phase}`,
        '  Replicas:             2 total | 2 ready | 2 available | 2 current | 2 updated',
        '  Observed Generation:  1',
        `  Current Revision:     ${revision}`,
        `  Update Revision:      ${revision}`,
        'Conditions:',
        ...formatTableLines(description),
        'Instances:',
        `  NAME    PHASE     READY   ADDRESS      DNS NAME                     INCARNATION   RESTARTS   AGE   REVISION         LAST EXIT`,
        `  web-0   Running   true    127.77.0.1   web-0.web.ordinal.internal   1             0          30s   ${revision}   <none>`,
        `  web-1   Running   true    127.77.0.2   web-1.web.ordinal.internal   1             0          30s   ${revision}   the process was killed by signal SIGKILL (90s ago)`,
        'Revisions:',
        '  REVISION   NAME             GENERATION   CREATED   CURRENT/UPDATE   REPLICAS',
        `  1          ${revision}   1            30s ago   current,update   2`,
        'Events:',
        '  LAST SEEN             TYPE      REASON   OBJECT           MESSAGE',
        '  3m30s                 Normal    Scaled   set/web          scaled from 0 to 2',
        '  90s (x2 over 2m30s)   Warning   Exited   instance/web-1   the process was killed by signal SIGKILL',
        '',
      ].join('\n'),
    );
  });

  /** The conditions table as the core computes it for this set: one line each, indented. */
  function formatTableLines(description: SetDescription): string[] {
    const conditions = description.set.status.conditions;
    expect(conditions.length).toBeGreaterThan(0);
    const section = formatDescription(description, FAKE_NOW).split('Conditions:\n')[1].split('Instances:')[0];
    const lines = section.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ {2}TYPE +STATUS +REASON +MESSAGE$/);
    expect(lines.slice(1).map((l) => l.trim().split(/\s{3,}/)[0])).toEqual(conditions.map((c) => c.type));
    return lines;
  }

  it('says <none> for every empty section of a new set with no instances, revisions or events', async () => {
    const fake = new FakeSets();
    await fake.apply('web', manifest({ replicas: 0 }));
    const text = formatDescription({ ...(await described(fake)), revisions: [] }, FAKE_NOW);
    expect(text).toContain('\nInstances:  <none>\nRevisions:  <none>\nEvents:  <none>\n');
    expect(text).toMatch(/\nReadiness: +<none>\nLiveness: +<none>\n/);
    expect(text).toMatch(/\nPorts: +<none>\n/);
    expect(text.endsWith('Events:  <none>\n')).toBe(true);
  });

  it('shows the update strategy as given: OnDelete, a paused rollout with a partition', async () => {
    const onDelete = new FakeSets();
    await onDelete.apply('web', manifest({ updateStrategy: { type: 'OnDelete' }, podManagementPolicy: 'Parallel' }));
    const text = formatDescription(await described(onDelete), FAKE_NOW);
    expect(text).toMatch(/\nUpdate Strategy: +OnDelete\n/);
    expect(text).toMatch(/\nPod Management: +Parallel\n/);
    const paused = new FakeSets();
    await paused.apply('web', manifest({ updateStrategy: { rollingUpdate: { partition: 1, maxUnavailable: '50%', paused: true } } }));
    expect(formatDescription(await described(paused), FAKE_NOW)).toMatch(/\nUpdate Strategy: +RollingUpdate \(partition 1, maxUnavailable 50%, paused\)\n/);
  });

  it('marks a cordoned instance, one waiting to restart, and a set being deleted', async () => {
    const fake = new FakeSets();
    await fake.apply('web', manifest({}));
    fake.rollOut('web');
    const description = await described(fake);
    const [web0, web1] = description.set.status.instances;
    description.set.status.instances = [
      { ...web0, cordoned: true },
      { ...web1, phase: 'CrashLoopBackOff', ready: false, startedAt: null, restarts: 4, nextRestartAt: iso(FAKE_NOW + 8 * SECOND), lastError: 'the process exited with code 3' },
    ];
    description.set.metadata.deletionRequested = true;
    const text = formatDescription(description, FAKE_NOW);
    expect(text).toMatch(/\n {2}web-0 +Running \(cordoned\) +true /);
    expect(text).toMatch(/\n {2}web-1 +CrashLoopBackOff \(restart in 8s\) +false +127\.77\.0\.2 .* 4 +<none> +\S+ +the process exited with code 3\n/);
    expect(text).toMatch(/\nDeletion: +requested: its instances are stopping, highest ordinal first\n/);
  });
});
