// What the client commands print: tables, ages, durations, JSON/YAML, API errors, and the pure parts
// of `ordinal apply` (format detection, metadata.name).
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { InstanceStatus, RevisionView, SetView } from '../../core/status.js';
import { defaultApiUrl } from '../../cli/api-client.js';
import { dryRunLine } from '../../cli/apply-command.js';
import { CliError, parseNonNegativeInteger } from '../../cli/command-kit.js';
import { manifestFormat, manifestFromText } from '../../cli/manifest-input.js';
import {
  formatAge,
  formatDuration,
  formatError,
  formatJson,
  formatObject,
  formatRevisionHistory,
  formatSetDetail,
  formatSetList,
  formatTable,
  formatYaml,
  parseDuration,
  parseOutputFormat,
  setAge,
  setNotes,
} from '../../cli/format.js';

const NOW = Date.parse('2025-01-01T12:00:00Z');
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function instance(ordinal: number, overrides: Partial<InstanceStatus> = {}): InstanceStatus {
  return {
    name: `web-${ordinal}`,
    ordinal,
    address: `127.77.0.${ordinal + 1}`,
    dnsName: `web-${ordinal}.web.ordinal.internal`,
    phase: 'Running',
    ready: true,
    restarts: 0,
    revision: 'web-5f1c2e9a0b',
    incarnation: 1,
    startedAt: new Date(NOW - MINUTE).toISOString(),
    readySince: new Date(NOW - 50 * SECOND).toISOString(),
    available: true,
    cordoned: false,
    ...overrides,
  };
}

function view(name: string, overrides: { replicas?: number; ready?: number; phase?: SetView['status']['phase']; createdAgoMs?: number | null; instances?: InstanceStatus[] } = {}): SetView {
  const replicas = overrides.replicas ?? 3;
  const instances = overrides.instances ?? Array.from({ length: replicas }, (_, i) => instance(i));
  const ready = overrides.ready ?? instances.filter((i) => i.ready).length;
  return {
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: {
      name,
      generation: 1,
      creationTimestamp: overrides.createdAgoMs === null ? null : new Date(NOW - (overrides.createdAgoMs ?? 5 * MINUTE)).toISOString(),
    },
    spec: { replicas, serviceName: name, dns: { zone: 'ordinal.internal' } } as SetView['spec'],
    status: {
      phase: overrides.phase ?? 'Ready',
      observedGeneration: 1,
      replicas: instances.length,
      readyReplicas: ready,
      availableReplicas: ready,
      currentReplicas: instances.length,
      updatedReplicas: instances.length,
      currentRevision: `${name}-5f1c2e9a0b`,
      updateRevision: `${name}-5f1c2e9a0b`,
      conditions: [],
      instances,
      dns: { provider: 'embedded', zone: 'ordinal.internal', propagating: [], conflicts: [] },
    },
  };
}

describe('formatTable', () => {
  it('pads columns to the widest cell with three spaces between, and no trailing whitespace', () => {
    expect(formatTable(['NAME', 'READY', 'AGE'], [['web', '3/3', '5m'], ['database', '1/1', '10d']])).toBe(
      'NAME       READY   AGE\n' + 'web        3/3     5m\n' + 'database   1/1     10d\n',
    );
  });

  it('prints only the header for no rows', () => {
    expect(formatTable(['NAME', 'AGE'], [])).toBe('NAME   AGE\n');
  });

  it('does not pad a short last column', () => {
    const lines = formatTable(['A', 'LONG HEADER'], [['x', '']]).split('\n');
    expect(lines[1]).toBe('x');
    expect(lines.every((line) => line === line.trimEnd())).toBe(true);
  });
});

describe('formatAge (kubectl HumanDuration)', () => {
  it.each([
    [0, '0s'],
    [-5 * SECOND, '0s'],
    [999, '0s'],
    [45 * SECOND, '45s'],
    [119 * SECOND, '119s'],
    [2 * MINUTE, '2m'],
    [3 * MINUTE + 20 * SECOND, '3m20s'],
    [9 * MINUTE + 59 * SECOND, '9m59s'],
    [10 * MINUTE + 30 * SECOND, '10m'],
    [179 * MINUTE, '179m'],
    [3 * HOUR, '3h'],
    [7 * HOUR + 5 * MINUTE, '7h5m'],
    [20 * HOUR, '20h'],
    [47 * HOUR, '47h'],
    [3 * DAY + 4 * HOUR, '3d4h'],
    [2 * DAY, '2d'],
    [40 * DAY, '40d'],
    [729 * DAY, '729d'],
    [(365 * 2 + 20) * DAY, '2y20d'],
    [365 * 3 * DAY, '3y'],
    [365 * 9 * DAY, '9y'],
  ])('%d ms -> %s', (ms, text) => {
    expect(formatAge(ms)).toBe(text);
  });

  it('is <unknown> for a set without (or with an unreadable) creationTimestamp', () => {
    expect(setAge(view('web', { createdAgoMs: null }), NOW)).toBe('<unknown>');
    const bad = view('web');
    bad.metadata.creationTimestamp = 'yesterday-ish';
    expect(setAge(bad, NOW)).toBe('<unknown>');
    expect(setAge(view('web', { createdAgoMs: 90 * SECOND }), NOW)).toBe('90s');
  });
});

describe('formatSetList', () => {
  it('prints NAME READY PHASE REVISION AGE, one line per set', () => {
    const text = formatSetList(
      [
        view('web', { createdAgoMs: 5 * MINUTE }),
        view('database', { replicas: 2, ready: 1, phase: 'Progressing', createdAgoMs: 3 * DAY + 4 * HOUR, instances: [instance(0), instance(1, { ready: false })] }),
      ],
      NOW,
    );
    expect(text).toBe(
      [
        'NAME       READY   PHASE         REVISION              AGE',
        'web        3/3     Ready         web-5f1c2e9a0b        5m',
        'database   1/2     Progressing   database-5f1c2e9a0b   3d4h',
        '',
      ].join('\n'),
    );
  });

  it('prints <none> for a set without an update revision (nothing applied yet)', () => {
    const v = view('web', { replicas: 0, instances: [] });
    v.status.updateRevision = null;
    expect(formatSetList([v], NOW).split('\n')[1]).toBe('web    0/0     Ready   <none>     5m');
  });
});

describe('formatSetList -o wide', () => {
  it('adds the service DNS name', () => {
    expect(formatSetList([view('web')], NOW, true)).toBe(
      ['NAME   READY   PHASE   REVISION         AGE   SERVICE', 'web    3/3     Ready   web-5f1c2e9a0b   5m    web.ordinal.internal', ''].join('\n'),
    );
  });
});

describe('formatSetDetail', () => {
  const degraded = () =>
    view('web', {
      ready: 1,
      phase: 'Degraded',
      instances: [
        instance(0),
        instance(1, { phase: 'CrashLoopBackOff', ready: false, available: false, address: null, restarts: 4, lastError: 'the process exited with code 1' }),
      ],
      replicas: 2,
    });

  it('prints the set line, a blank line, then NAME PHASE READY AVAILABLE CORDONED ADDRESS RESTARTS REVISION', () => {
    const text = formatSetDetail(degraded(), NOW);
    expect(text).toBe(
      [
        'NAME   READY   PHASE      REVISION         AGE',
        'web    1/2     Degraded   web-5f1c2e9a0b   5m',
        '',
        'NAME    PHASE              READY   AVAILABLE   CORDONED   ADDRESS      RESTARTS   REVISION',
        'web-0   Running            true    true        false      127.77.0.1   0          web-5f1c2e9a0b',
        'web-1   CrashLoopBackOff   false   false       false      <none>       4          web-5f1c2e9a0b',
        '',
      ].join('\n'),
    );
  });

  it('shows Ready but not yet available instances, and cordoned ones', () => {
    const v = view('web', {
      instances: [instance(0), instance(1, { available: false }), instance(2, { cordoned: true })],
    });
    const rows = formatSetDetail(v, NOW).split('\n').slice(4, 7);
    expect(rows).toEqual([
      'web-0   Running   true    true        false      127.77.0.1   0          web-5f1c2e9a0b',
      'web-1   Running   true    false       false      127.77.0.2   0          web-5f1c2e9a0b',
      'web-2   Running   true    true        true       127.77.0.3   0          web-5f1c2e9a0b',
    ]);
  });

  it('stays within 100 columns for a typical set, even with a crash loop, many restarts and a rollout note', () => {
    const v = degraded();
    v.status.instances[0].address = '127.77.0.254';
    v.status.instances.push(instance(2, { restarts: 120, cordoned: true, address: '127.77.0.100' }));
    v.status.conditions = [{ type: 'ReplicaFailure', status: 'True', reason: 'CrashLoopBackOff', message: 'web-1: the process exited with code 1' }];
    const lines = formatSetDetail(v, NOW).split('\n');
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(100);
  });

  it('-o wide adds the DNS names', () => {
    expect(formatSetDetail(degraded(), NOW, true)).toBe(
      [
        'NAME   READY   PHASE      REVISION         AGE   SERVICE',
        'web    1/2     Degraded   web-5f1c2e9a0b   5m    web.ordinal.internal',
        '',
        'NAME    PHASE              READY   AVAILABLE   CORDONED   ADDRESS      DNS NAME                     RESTARTS   REVISION',
        'web-0   Running            true    true        false      127.77.0.1   web-0.web.ordinal.internal   0          web-5f1c2e9a0b',
        'web-1   CrashLoopBackOff   false   false       false      <none>       web-1.web.ordinal.internal   4          web-5f1c2e9a0b',
        '',
      ].join('\n'),
    );
  });

  it('prints <none> for fields an older server does not send', () => {
    const old = instance(0) as Partial<InstanceStatus>;
    delete old.available;
    delete old.cordoned;
    const rows = formatSetDetail(view('web', { replicas: 1, instances: [old as InstanceStatus] }), NOW).split('\n');
    expect(rows[4]).toBe('web-0   Running   true    <none>      <none>     127.77.0.1   0          web-5f1c2e9a0b');
  });

  it('says so when the set has no instances', () => {
    expect(formatSetDetail(view('web', { replicas: 0, instances: [] }), NOW)).toMatch(/\n\nNo instances\.\n$/);
  });

  it('shows what needs attention under the set line: the rollout, availability, failures, the last rollback', () => {
    const v = view('web', { phase: 'Paused' });
    v.status.conditions = [
      { type: 'Ready', status: 'False', reason: 'RolloutPaused', message: '3 Ready, 3 wanted' },
      { type: 'Progressing', status: 'Unknown', reason: 'RolloutPaused', message: 'the rollout is paused; resume it to go on' },
      { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: '3 available, at least 2 needed' },
    ];
    v.status.lastRollback = { from: 'web-bad0bad0ba', to: 'web-5f1c2e9a0b', at: new Date(NOW - 4 * HOUR).toISOString(), reason: 'no progress for 600s' };
    expect(formatSetDetail(v, NOW).split('\n').slice(0, 5)).toEqual([
      'NAME   READY   PHASE    REVISION         AGE',
      'web    3/3     Paused   web-5f1c2e9a0b   5m',
      'Progressing=Unknown RolloutPaused: the rollout is paused; resume it to go on',
      'Last rollback: web-bad0bad0ba to web-5f1c2e9a0b, 4h ago: no progress for 600s',
      '',
    ]);
  });
});

describe('setNotes', () => {
  it('has nothing to say about a set whose rollout is complete', () => {
    const v = view('web');
    v.status.conditions = [
      { type: 'Ready', status: 'True', reason: 'AllReplicasReady', message: '3 of 3 instances Ready' },
      { type: 'Progressing', status: 'True', reason: 'RolloutComplete', message: 'web-5f1c2e9a0b is rolled out' },
      { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: '3 available, at least 2 needed' },
    ];
    expect(setNotes(v, NOW)).toEqual([]);
  });

  it('names a stuck rollout, too few available instances and a failing instance', () => {
    const v = view('web', { phase: 'Degraded' });
    v.status.conditions = [
      { type: 'Ready', status: 'False', reason: 'ReplicasNotReady', message: '2 Ready, 3 wanted' },
      { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'no progress for 600s; waiting for web-2 to become Ready' },
      { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: '1 available, at least 2 needed' },
      { type: 'ReplicaFailure', status: 'True', reason: 'CrashLoopBackOff', message: 'web-2: the process exited with code 1' },
    ];
    expect(setNotes(v, NOW)).toEqual([
      'Progressing=False ProgressDeadlineExceeded: no progress for 600s; waiting for web-2 to become Ready',
      'Available=False MinimumReplicasUnavailable: 1 available, at least 2 needed',
      'ReplicaFailure=True CrashLoopBackOff: web-2: the process exited with code 1',
    ]);
  });

  it('names DNS trouble: a provider error and names someone else holds', () => {
    const v = view('web', { phase: 'Degraded' });
    v.status.conditions = [
      { type: 'DNSReady', status: 'False', reason: 'AccessDenied', message: 'Route 53 refused the change; check the credentials' },
      { type: 'DNSConflict', status: 'True', reason: 'NameTaken', message: 'web-0.web.example.com A: owned by another set' },
    ];
    expect(setNotes(v, NOW)).toEqual([
      'DNSReady=False AccessDenied: Route 53 refused the change; check the credentials',
      'DNSConflict=True NameTaken: web-0.web.example.com A: owned by another set',
    ]);
    v.status.conditions = [{ type: 'DNSReady', status: 'True', reason: 'Published', message: 'every name is published' }];
    expect(setNotes(v, NOW)).toEqual([]);
  });

  it('prints an unreadable rollback time as it came', () => {
    const v = view('web');
    v.status.lastRollback = { from: 'a', to: 'b', at: 'yesterday', reason: 'r' };
    expect(setNotes(v, NOW)).toEqual(['Last rollback: a to b, yesterday: r']);
  });
});

describe('formatRevisionHistory', () => {
  const template = { process: { command: ['node', 'server.js'], env: {} }, ports: [], terminationGracePeriodSeconds: 30 } as RevisionView['template'];
  const revision = (n: number, overrides: Partial<RevisionView> = {}): RevisionView => ({
    name: `web-${String(n).repeat(10)}`,
    revision: n,
    generation: n,
    createdAt: new Date(NOW - (10 - n) * HOUR).toISOString(),
    current: false,
    update: false,
    replicas: 0,
    template,
    ...overrides,
  });

  it('prints REVISION NAME GENERATION CREATED CURRENT/UPDATE REPLICAS, newest first', () => {
    const text = formatRevisionHistory(
      [revision(1), revision(3, { update: true, replicas: 1, generation: 5 }), revision(2, { current: true, replicas: 2 })],
      NOW,
    );
    expect(text).toBe(
      [
        'REVISION   NAME             GENERATION   CREATED   CURRENT/UPDATE   REPLICAS',
        '3          web-3333333333   5            7h ago    update           1',
        '2          web-2222222222   2            8h ago    current          2',
        '1          web-1111111111   1            9h ago    -                0',
        '',
      ].join('\n'),
    );
  });

  it('marks a revision that is both current and update', () => {
    expect(formatRevisionHistory([revision(1, { current: true, update: true, replicas: 3 })], NOW).split('\n')[1]).toBe(
      '1          web-1111111111   1            9h ago    current,update   3',
    );
  });

  it('prints <unknown> for an unreadable creation time', () => {
    expect(formatRevisionHistory([revision(1, { createdAt: 'x' })], NOW).split('\n')[1]).toContain('<unknown>');
  });
});

describe('JSON and YAML', () => {
  const list = { items: [view('web')] };

  it('prints indented JSON with a final newline that parses back to the same object', () => {
    const text = formatJson(list);
    expect(text.endsWith('}\n')).toBe(true);
    expect(text).toContain('\n  "items": [');
    expect(JSON.parse(text)).toEqual(list);
    expect(formatObject(list, 'json')).toBe(text);
  });

  it('prints block YAML that parses back to the same object, nulls included', () => {
    const v = view('web', { createdAgoMs: null });
    const text = formatYaml(v);
    expect(text).toMatch(/^apiVersion: ordinal\.dev\/v1\nkind: StatefulSet\nmetadata:\n {2}name: web\n/);
    expect(text).toContain('creationTimestamp: null');
    expect(parseYaml(text)).toEqual(v);
    expect(formatObject(v, 'yaml')).toBe(text);
  });

  it('does not fold long strings', () => {
    const long = 'x'.repeat(300);
    expect(formatYaml({ message: long })).toBe(`message: ${long}\n`);
  });
});

describe('parseOutputFormat', () => {
  it.each(['table', 'wide', 'json', 'yaml', 'JSON'])('accepts %s', (text) => {
    expect(parseOutputFormat(text)).toBe(text.toLowerCase());
  });
  it('rejects others, naming the choices', () => {
    expect(() => parseOutputFormat('name')).toThrow("unknown output format 'name': use one of table, wide, json, yaml");
    expect(() => parseOutputFormat('wide', ['table', 'json', 'yaml'])).toThrow("unknown output format 'wide': use one of table, json, yaml");
  });
});

describe('formatError', () => {
  it('prints the message, then one indented line per detail', () => {
    expect(
      formatError('the manifest is invalid', [
        { path: 'spec.replicas', message: 'must be at least 0' },
        { path: 'spec.template.ports[0].port', message: 'must be at most 65535' },
        { path: '', message: 'the document is empty' },
      ]),
    ).toBe(
      'error: the manifest is invalid\n' +
        '  spec.replicas: must be at least 0\n' +
        '  spec.template.ports[0].port: must be at most 65535\n' +
        '  the document is empty\n',
    );
  });
  it('prints one line without details', () => {
    expect(formatError("set 'web' does not exist")).toBe("error: set 'web' does not exist\n");
  });
});

describe('durations', () => {
  it.each([
    ['90s', 90 * SECOND],
    ['5m', 5 * MINUTE],
    ['1h', HOUR],
    ['1h30m', 90 * MINUTE],
    ['2m30s', 150 * SECOND],
    ['500ms', 500],
    ['1.5s', 1500],
    ['1d', DAY],
    ['30', 30 * SECOND],
    ['2.5', 2500],
    ['0', 0],
    [' 10s ', 10 * SECOND],
  ])('parses %j as %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', 'abc', '5x', '-5s', '5 m', 'm5', '1h 30m', '5s5', '1e3'])('rejects %j', (text) => {
    expect(() => parseDuration(text)).toThrow(/invalid duration .*: use e\.g\. 90s, 5m, 1h/);
  });

  it.each([
    [300_000, '5m'],
    [90_000, '1m30s'],
    [1_500, '1.5s'],
    [3_600_000, '1h'],
    [5_400_000, '1h30m'],
    [250, '250ms'],
    [1_000, '1s'],
  ])('formats %d ms as %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});

describe('apply: reading a manifest', () => {
  const yaml = 'apiVersion: ordinal.dev/v1\nkind: StatefulSet\nmetadata:\n  name: web\nspec:\n  replicas: 3\n';
  const json = JSON.stringify({ apiVersion: 'ordinal.dev/v1', kind: 'StatefulSet', metadata: { name: 'web' }, spec: {} });

  it('chooses the format by extension, else by content', () => {
    expect(manifestFormat(json, 'web.json')).toBe('json');
    expect(manifestFormat(yaml, 'web.yaml')).toBe('yaml');
    expect(manifestFormat(yaml, 'web.YML')).toBe('yaml');
    expect(manifestFormat('  \n{"a": 1}', 'web.txt')).toBe('json');
    expect(manifestFormat('{"a": 1}')).toBe('json');
    expect(manifestFormat(yaml)).toBe('yaml');
    // A YAML file whose content looks like JSON is still sent as YAML.
    expect(manifestFormat('{a: 1}', 'x.yaml')).toBe('yaml');
  });

  it('keeps the text untouched and finds metadata.name', () => {
    expect(manifestFromText(yaml, 'web.yaml', 'web.yaml')).toEqual({ name: 'web', text: yaml, contentType: 'application/yaml' });
    expect(manifestFromText(json, 'standard input')).toEqual({ name: 'web', text: json, contentType: 'application/json' });
    // Invalid fields are the server's to report: only the name matters here.
    expect(manifestFromText('metadata: {name: db}\nspec: {replicas: -1}\n', 'x').name).toBe('db');
  });

  function cliError(fn: () => unknown): CliError {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(CliError);
      return err as CliError;
    }
    throw new Error('expected a CliError');
  }

  it('names the missing field among every other field error (issue 16: not one at a time)', () => {
    const err = cliError(() => manifestFromText('apiVersion: ordinal.dev/v1\nkind: StatefulSet\nmetadata: {}\nspec: {}\n', 'web.yaml', 'web.yaml'));
    expect(err.message).toBe("web.yaml has no metadata.name: the set's name is required to apply it");
    expect(err.details).toEqual([
      { path: 'metadata.name', message: 'is required' },
      { path: 'spec.template', message: 'is required' },
    ]);
    // No metadata at all: that is the field named.
    expect(cliError(() => manifestFromText('apiVersion: ordinal.dev/v1\nspec: {}\n', 'web.yaml', 'web.yaml')).details).toEqual([
      { path: 'kind', message: 'must be StatefulSet' },
      { path: 'metadata', message: 'is required' },
      { path: 'spec.template', message: 'is required' },
    ]);
    expect(cliError(() => manifestFromText('{"metadata": {"name": 5}}', 'x.json', 'x.json')).details).toEqual([
      { path: 'apiVersion', message: 'must be ordinal.dev/v1' },
      { path: 'kind', message: 'must be StatefulSet' },
      { path: 'metadata.name', message: 'must be a string' },
      { path: 'spec', message: 'is required' },
    ]);
    const empty = cliError(() => manifestFromText('metadata:\n  name: ""\n', 'x'));
    expect(empty.message).toBe("x has no metadata.name: the set's name is required to apply it");
    expect(empty.details.map((d) => d.path)).toEqual(['apiVersion', 'kind', 'metadata.name', 'metadata.name', 'spec']);
  });

  it('validates a manifest whose name is not a set name, and lists every field error with its path', () => {
    const text = [
      'apiVersion: ordinal.dev/v1',
      'kind: StatefulSet',
      'metadata: {name: Bad}',
      'spec:',
      '  replicas: two',
      '  template:',
      '    process: {command: [node]}',
      '    ports: [{name: http, port: 0}]',
      '',
    ].join('\n');
    const err = cliError(() => manifestFromText(text, 'bad.yaml', 'bad.yaml'));
    expect(err.message).toBe('cannot apply bad.yaml: the manifest is invalid');
    expect(err.details).toEqual([
      { path: 'metadata.name', message: expect.stringMatching(/^must be a DNS-1123 label/) },
      { path: 'spec.replicas', message: 'must be a number' },
      { path: 'spec.template.ports[0].port', message: 'must be at least 1' },
    ]);
    // Too long for a set name (52), though a DNS label (63): not sent either.
    const long = cliError(() => manifestFromText(text.replace('name: Bad', `name: ${'a'.repeat(53)}`), 'long.yaml', 'long.yaml'));
    expect(long.details.map((d) => d.path)).toEqual(['metadata.name', 'spec.replicas', 'spec.template.ports[0].port']);
    expect(long.details[0].message).toMatch(/at most 52 characters/);
    // A valid name of 52 is sent as it is: the API reports the rest.
    expect(manifestFromText(text.replace('name: Bad', `name: ${'a'.repeat(52)}`), 'ok.yaml', 'ok.yaml').name).toBe('a'.repeat(52));
  });

  it('rejects empty files, syntax errors, non-objects and several documents, with the decoder\'s reasons', () => {
    expect(cliError(() => manifestFromText(' \n', 'web.yaml')).message).toBe('cannot apply web.yaml');
    expect(cliError(() => manifestFromText(' \n', 'web.yaml')).details).toEqual([{ path: '', message: 'the document is empty' }]);
    const json = cliError(() => manifestFromText('{"metadata": ', 'x.json', 'x.json'));
    expect(json.message).toBe('cannot apply x.json');
    expect(json.details[0].message).toMatch(/^invalid JSON at line 1, column \d+/);
    const yamlError = cliError(() => manifestFromText('metadata:\n  name: web\n   bad: [\n', 'x.yaml', 'x.yaml'));
    expect(yamlError.details[0].message).toMatch(/^invalid YAML/);
    expect(cliError(() => manifestFromText('- a\n- b\n', 'x.yaml')).details[0].message).toMatch(/must be a YAML mapping, not a list/);
    expect(cliError(() => manifestFromText('just text', 'x')).details[0].message).toMatch(/must be a YAML mapping/);
    expect(cliError(() => manifestFromText(`${yaml}---\n${yaml}`, 'x.yaml')).details[0].message).toMatch(/several YAML documents/);
    // A leading document marker is one document.
    expect(manifestFromText(`---\n${yaml}`, 'x.yaml').name).toBe('web');
  });
});

describe('apply --dry-run: the line', () => {
  const at = (generation: number, metadata: Record<string, unknown> = {}): SetView => {
    const v = view('web');
    return { ...v, metadata: { ...v.metadata, ...metadata, generation } };
  };

  it.each([
    ['a new set', true, undefined, at(1), 'set web created (server dry run)'],
    ['a spec change', false, at(3), at(4), 'set web configured (server dry run): generation 3 -> 4'],
    ['the same manifest', false, at(3), at(3), 'set web unchanged (server dry run)'],
    ['a label change only', false, at(3), at(3, { labels: { team: 'edge' } }), 'set web configured (server dry run)'],
    ['a set created meanwhile', false, undefined, at(1), 'set web configured (server dry run)'],
  ])('%s', (_case, created, before, after, line) => {
    expect(dryRunLine('web', created, before, after)).toBe(line);
  });
});

describe('arguments', () => {
  it.each([
    ['0', 0],
    ['3', 3],
    ['007', 7],
  ])('accepts %j as %d', (text, n) => {
    expect(parseNonNegativeInteger(text, 'replicas')).toBe(n);
  });
  it.each(['-1', '1.5', 'three', '', '1e3', '0x10', '99999999999999999999'])('rejects %j', (text) => {
    expect(() => parseNonNegativeInteger(text, 'replicas')).toThrow(`replicas must be a non-negative integer, got '${text}'`);
  });
});

describe('defaultApiUrl', () => {
  it('prefers ORDINAL_API_URL, then where "ordinal api" listens, then the default', () => {
    expect(defaultApiUrl({})).toBe('http://127.0.0.1:7080');
    expect(defaultApiUrl({ ORDINAL_API_URL: 'https://ordinal.example.com', ORDINAL_API_PORT: '9000' })).toBe('https://ordinal.example.com');
    expect(defaultApiUrl({ ORDINAL_API_PORT: '9000' })).toBe('http://127.0.0.1:9000');
    expect(defaultApiUrl({ ORDINAL_API_HOST: '0.0.0.0' })).toBe('http://127.0.0.1:7080');
    expect(defaultApiUrl({ ORDINAL_API_HOST: '::', ORDINAL_API_PORT: '81' })).toBe('http://[::1]:81');
    expect(defaultApiUrl({ ORDINAL_API_HOST: '10.0.0.5' })).toBe('http://10.0.0.5:7080');
  });
});
