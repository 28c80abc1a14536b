import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { canonicalJson } from '../../core/revision.js';
import {
  API_VERSION,
  DEFAULT_ZONE,
  KIND,
  MAX_REPLICAS,
  formatPath,
  isolationOf,
  parseManifest,
  type FieldIssue,
  type Manifest,
} from '../../core/manifest.js';

// ---- helpers ----

type Doc = Record<string, any>;

/** The smallest valid manifest, fresh each time so cases can mutate it. */
function minimal(): Doc {
  return {
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web' },
    spec: { template: { process: { command: ['node', 'server.mjs'] } } },
  };
}

function valid(document: unknown): Manifest {
  const result = parseManifest(document);
  if (!result.ok) throw new Error(`expected a valid manifest, got ${JSON.stringify(result.issues)}`);
  return result.value;
}

function issuesOf(document: unknown): FieldIssue[] {
  const result = parseManifest(document);
  if (result.ok) throw new Error(`expected an invalid manifest, got ${JSON.stringify(result.value)}`);
  return result.issues;
}

type Expected = { path: string; message: string | RegExp };

const expectedIssue = (e: Expected) => ({
  path: e.path,
  message: typeof e.message === 'string' ? e.message : expect.stringMatching(e.message),
});

/** Exactly these issues, in any order. */
function expectIssues(document: unknown, expected: Expected[]): void {
  const issues = issuesOf(document);
  expect(issues, JSON.stringify(issues)).toHaveLength(expected.length);
  expect(issues).toEqual(expect.arrayContaining(expected.map(expectedIssue)));
}

const LABEL_RULE = "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit";
const PORT_NAME_RULE = "must be a port name: at most 15 lowercase letters, digits or '-', with at least one letter";
const ZONE_RULE = 'must be a DNS name: dot-separated DNS-1123 labels, at most 253 characters, no trailing dot';
const SET_NAME_TOO_LONG = 'must be at most 52 characters, so that instance names stay DNS labels';
const ONE_HANDLER = 'must have exactly one of httpGet, tcpSocket or exec';

// ---- defaults ----

describe('manifest: defaults of the minimal manifest', () => {
  const m = valid(minimal());

  const cases: Array<{ path: string; value: unknown; get: (m: Manifest) => unknown }> = [
    { path: 'apiVersion', value: 'ordinal.dev/v1', get: (m) => m.apiVersion },
    { path: 'kind', value: 'StatefulSet', get: (m) => m.kind },
    { path: 'metadata', value: { name: 'web' }, get: (m) => m.metadata },
    { path: 'spec.replicas', value: 1, get: (m) => m.spec.replicas },
    { path: 'spec.podManagementPolicy', value: 'OrderedReady', get: (m) => m.spec.podManagementPolicy },
    { path: 'spec.serviceName (= metadata.name)', value: 'web', get: (m) => m.spec.serviceName },
    { path: 'spec.dns.zone', value: 'ordinal.internal', get: (m) => m.spec.dns.zone },
    { path: 'spec.dns.ttl', value: 5, get: (m) => m.spec.dns.ttl },
    { path: 'spec.dns.provider', value: 'embedded', get: (m) => m.spec.dns.provider },
    { path: 'spec.template.process.env', value: {}, get: (m) => m.spec.template.process!.env },
    { path: 'spec.template.process.command', value: ['node', 'server.mjs'], get: (m) => m.spec.template.process!.command },
    { path: 'spec.template.process.workingDir', value: undefined, get: (m) => m.spec.template.process!.workingDir },
    { path: 'spec.template.ports', value: [], get: (m) => m.spec.template.ports },
    { path: 'spec.template.terminationGracePeriodSeconds', value: 30, get: (m) => m.spec.template.terminationGracePeriodSeconds },
    { path: 'spec.template.readinessProbe', value: undefined, get: (m) => m.spec.template.readinessProbe },
    { path: 'spec.template.livenessProbe', value: undefined, get: (m) => m.spec.template.livenessProbe },
  ];
  for (const c of cases) {
    it(`${c.path} defaults to ${JSON.stringify(c.value)}`, () => {
      expect(c.get(m)).toEqual(c.value);
    });
  }

  it('is exactly the documented normalized form', () => {
    expect(m).toEqual({
      apiVersion: 'ordinal.dev/v1',
      kind: 'StatefulSet',
      metadata: { name: 'web' },
      spec: {
        serviceName: 'web',
        replicas: 1,
        podManagementPolicy: 'OrderedReady',
        ordinals: { start: 0 },
        reserveOrdinals: [],
        minReadySeconds: 0,
        updateStrategy: { type: 'RollingUpdate' },
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: 600,
        autoRollback: false,
        crashLoopBackOff: { initialSeconds: 1, maxSeconds: 60, resetSeconds: 60 },
        volumeClaimTemplates: [],
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        template: {
          process: { command: ['node', 'server.mjs'], env: {} },
          ports: [],
          terminationGracePeriodSeconds: 30,
        },
        dns: { provider: 'embedded', zone: 'ordinal.internal', ttl: 5, publishNotReadyAddresses: false },
      },
    });
  });

  it('exports the constants the defaults use', () => {
    expect(API_VERSION).toBe('ordinal.dev/v1');
    expect(KIND).toBe('StatefulSet');
    expect(DEFAULT_ZONE).toBe('ordinal.internal');
    expect(MAX_REPLICAS).toBe(1000);
  });

  it('an explicit serviceName wins over metadata.name', () => {
    const d = minimal();
    d.spec.serviceName = 'web-svc';
    expect(valid(d).spec.serviceName).toBe('web-svc');
  });

  it('port protocol defaults to TCP', () => {
    const d = minimal();
    d.spec.template.ports = [{ name: 'http', port: 8080 }, { port: 9090 }];
    expect(valid(d).spec.template.ports).toEqual([
      { name: 'http', port: 8080, protocol: 'TCP' },
      { port: 9090, protocol: 'TCP' },
    ]);
  });

  const probeDefaults = {
    initialDelaySeconds: 0,
    periodSeconds: 10,
    timeoutSeconds: 1,
    successThreshold: 1,
    failureThreshold: 3,
  };

  const probeCases: Array<{ name: string; probe: Doc; expected: Doc }> = [
    {
      name: 'httpGet: path / and scheme HTTP, no headers',
      probe: { httpGet: { port: 8080 } },
      expected: { httpGet: { path: '/', port: 8080, scheme: 'HTTP', httpHeaders: [] }, ...probeDefaults },
    },
    {
      name: 'httpGet by port name',
      probe: { httpGet: { port: 'http', path: '/healthz' } },
      expected: { httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP', httpHeaders: [] }, ...probeDefaults },
    },
    {
      name: 'httpGet with HTTPS, host and headers kept',
      probe: { httpGet: { port: 8443, scheme: 'HTTPS', host: 'localhost', httpHeaders: [{ name: 'X-A', value: '1' }] } },
      expected: {
        httpGet: { path: '/', port: 8443, scheme: 'HTTPS', host: 'localhost', httpHeaders: [{ name: 'X-A', value: '1' }] },
        ...probeDefaults,
      },
    },
    { name: 'tcpSocket', probe: { tcpSocket: { port: 8080 } }, expected: { tcpSocket: { port: 8080 }, ...probeDefaults } },
    {
      name: 'exec',
      probe: { exec: { command: ['true'] } },
      expected: { exec: { command: ['true'] }, ...probeDefaults },
    },
    {
      name: 'explicit timings are kept',
      probe: { tcpSocket: { port: 8080 }, initialDelaySeconds: 5, periodSeconds: 2, timeoutSeconds: 3, successThreshold: 4, failureThreshold: 6 },
      expected: { tcpSocket: { port: 8080 }, initialDelaySeconds: 5, periodSeconds: 2, timeoutSeconds: 3, successThreshold: 4, failureThreshold: 6 },
    },
  ];
  for (const c of probeCases) {
    it(`readinessProbe defaults: ${c.name}`, () => {
      const d = minimal();
      d.spec.template.ports = [{ name: 'http', port: 8080 }];
      d.spec.template.readinessProbe = c.probe;
      expect(valid(d).spec.template.readinessProbe).toEqual(c.expected);
    });
  }

  it('livenessProbe gets the same defaults', () => {
    const d = minimal();
    d.spec.template.livenessProbe = { tcpSocket: { port: 8080 } };
    expect(valid(d).spec.template.livenessProbe).toEqual({ tcpSocket: { port: 8080 }, ...probeDefaults });
  });

  it('dns: a partial block gets the other defaults', () => {
    const d = minimal();
    d.spec.dns = { ttl: 30 };
    expect(valid(d).spec.dns).toEqual({ provider: 'embedded', zone: 'ordinal.internal', ttl: 30, publishNotReadyAddresses: false });
    d.spec.dns = { zone: 'example.test' };
    expect(valid(d).spec.dns).toEqual({ provider: 'embedded', zone: 'example.test', ttl: 5, publishNotReadyAddresses: false });
  });

  it('explicit defaults give the same manifest as omitted ones', () => {
    const d = minimal();
    d.spec.replicas = 1;
    d.spec.podManagementPolicy = 'OrderedReady';
    d.spec.serviceName = 'web';
    d.spec.dns = { provider: 'embedded', zone: 'ordinal.internal', ttl: 5 };
    d.spec.template.ports = [];
    d.spec.template.process.env = {};
    d.spec.template.terminationGracePeriodSeconds = 30;
    expect(valid(d)).toEqual(valid(minimal()));
  });

  it('does not mutate its input', () => {
    const d = minimal();
    const before = JSON.stringify(d);
    valid(d);
    expect(JSON.stringify(d)).toBe(before);
  });
});

// ---- the web example of docs/manifest.md ----

const WEB_EXAMPLE = `
apiVersion: ordinal.dev/v1
kind: StatefulSet
metadata:
  name: web                     # DNS-1123 label; instance names are web-0, web-1, ...
spec:
  serviceName: web              # DNS-1123 label; the "headless service" name
  replicas: 3
  podManagementPolicy: OrderedReady
  template:
    process:                    # the default driver: a local OS process per instance
      command: ["node", "examples/echo-server.mjs"]   # argv, never a shell string
      env: { GREETING: hello }
    ports: [{ name: http, port: 8080, protocol: TCP }]
    readinessProbe: { httpGet: { path: /healthz, port: 8080 }, periodSeconds: 1, failureThreshold: 3 }
    livenessProbe:  { tcpSocket: { port: 8080 }, periodSeconds: 2 }
  dns:
    zone: ordinal.internal      # default
    ttl: 5                      # seconds, default 5
    # provider: route53, hostedZoneId: Z123...   (Route 53 issue)
`;

describe('manifest: the web example', () => {
  it('parses, with defaults filled in', () => {
    expect(valid(parseYaml(WEB_EXAMPLE))).toEqual({
      apiVersion: 'ordinal.dev/v1',
      kind: 'StatefulSet',
      metadata: { name: 'web' },
      spec: {
        serviceName: 'web',
        replicas: 3,
        podManagementPolicy: 'OrderedReady',
        ordinals: { start: 0 },
        reserveOrdinals: [],
        minReadySeconds: 0,
        updateStrategy: { type: 'RollingUpdate' },
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: 600,
        autoRollback: false,
        crashLoopBackOff: { initialSeconds: 1, maxSeconds: 60, resetSeconds: 60 },
        volumeClaimTemplates: [],
        persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
        template: {
          process: { command: ['node', 'examples/echo-server.mjs'], env: { GREETING: 'hello' } },
          ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
          readinessProbe: {
            httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP', httpHeaders: [] },
            initialDelaySeconds: 0,
            periodSeconds: 1,
            timeoutSeconds: 1,
            successThreshold: 1,
            failureThreshold: 3,
          },
          livenessProbe: {
            tcpSocket: { port: 8080 },
            initialDelaySeconds: 0,
            periodSeconds: 2,
            timeoutSeconds: 1,
            successThreshold: 1,
            failureThreshold: 3,
          },
          terminationGracePeriodSeconds: 30,
        },
        dns: { provider: 'embedded', zone: 'ordinal.internal', ttl: 5, publishNotReadyAddresses: false },
      },
    });
  });

  it('parses the same as JSON', () => {
    expect(valid(JSON.parse(JSON.stringify(parseYaml(WEB_EXAMPLE))))).toEqual(valid(parseYaml(WEB_EXAMPLE)));
  });
});

// ---- violations ----

type Mutate = (d: Doc) => void;

const violationCases: Array<{ name: string; mutate: Mutate; issues: Expected[] }> = [
  // document shape
  { name: 'wrong apiVersion', mutate: (d) => (d.apiVersion = 'apps/v1'), issues: [{ path: 'apiVersion', message: 'must be ordinal.dev/v1' }] },
  { name: 'missing apiVersion', mutate: (d) => delete d.apiVersion, issues: [{ path: 'apiVersion', message: 'must be ordinal.dev/v1' }] },
  { name: 'wrong kind', mutate: (d) => (d.kind = 'Deployment'), issues: [{ path: 'kind', message: 'must be StatefulSet' }] },
  { name: 'lowercase kind', mutate: (d) => (d.kind = 'statefulset'), issues: [{ path: 'kind', message: 'must be StatefulSet' }] },
  { name: 'missing metadata', mutate: (d) => delete d.metadata, issues: [{ path: 'metadata', message: 'is required' }] },
  { name: 'missing metadata.name', mutate: (d) => delete d.metadata.name, issues: [{ path: 'metadata.name', message: 'is required' }] },
  { name: 'missing spec', mutate: (d) => delete d.spec, issues: [{ path: 'spec', message: 'is required' }] },
  { name: 'missing spec.template', mutate: (d) => delete d.spec.template, issues: [{ path: 'spec.template', message: 'is required' }] },
  {
    name: 'missing spec.template.process',
    mutate: (d) => delete d.spec.template.process,
    issues: [{ path: 'spec.template.process', message: 'is required: a template has exactly one of process or ecs' }],
  },
  {
    name: 'missing command',
    mutate: (d) => delete d.spec.template.process.command,
    issues: [{ path: 'spec.template.process.command', message: 'is required' }],
  },
  {
    name: 'empty command',
    mutate: (d) => (d.spec.template.process.command = []),
    issues: [{ path: 'spec.template.process.command', message: 'must name a program to run' }],
  },
  {
    name: 'command as a shell string',
    mutate: (d) => (d.spec.template.process.command = 'node server.mjs'),
    issues: [{ path: 'spec.template.process.command', message: 'must be an argv array of strings (no shell is used)' }],
  },
  {
    name: 'non-string argv item (number)',
    mutate: (d) => (d.spec.template.process.command = ['node', 8080]),
    issues: [{ path: 'spec.template.process.command[1]', message: /string/ }],
  },
  {
    name: 'non-string argv item (object)',
    mutate: (d) => (d.spec.template.process.command = [{ program: 'node' }]),
    issues: [{ path: 'spec.template.process.command[0]', message: /string/ }],
  },
  {
    name: 'empty argv item',
    mutate: (d) => (d.spec.template.process.command = ['node', '']),
    issues: [{ path: 'spec.template.process.command[1]', message: 'must not be empty' }],
  },
  {
    name: 'exec probe with an empty command',
    mutate: (d) => (d.spec.template.readinessProbe = { exec: { command: [] } }),
    issues: [{ path: 'spec.template.readinessProbe.exec.command', message: 'must name a program to run' }],
  },
  {
    name: 'empty workingDir',
    mutate: (d) => (d.spec.template.process.workingDir = ''),
    issues: [{ path: 'spec.template.process.workingDir', message: /./ }],
  },

  // names
  { name: 'set name uppercase', mutate: (d) => (d.metadata.name = 'Web'), issues: [{ path: 'metadata.name', message: LABEL_RULE }] },
  { name: 'set name underscore', mutate: (d) => (d.metadata.name = 'my_web'), issues: [{ path: 'metadata.name', message: LABEL_RULE }] },
  { name: 'set name leading -', mutate: (d) => (d.metadata.name = '-web'), issues: [{ path: 'metadata.name', message: LABEL_RULE }] },
  { name: 'set name trailing -', mutate: (d) => (d.metadata.name = 'web-'), issues: [{ path: 'metadata.name', message: LABEL_RULE }] },
  { name: 'set name with a dot', mutate: (d) => (d.metadata.name = 'web.app'), issues: [{ path: 'metadata.name', message: LABEL_RULE }] },
  { name: 'set name with a space', mutate: (d) => (d.metadata.name = 'web app'), issues: [{ path: 'metadata.name', message: LABEL_RULE }] },
  {
    name: 'set name of 53 characters',
    mutate: (d) => (d.metadata.name = 'a'.repeat(53)),
    issues: [{ path: 'metadata.name', message: SET_NAME_TOO_LONG }],
  },
  {
    name: 'set name empty',
    mutate: (d) => (d.metadata.name = ''),
    issues: [
      { path: 'metadata.name', message: 'must not be empty' },
      { path: 'metadata.name', message: LABEL_RULE },
    ],
  },
  { name: 'set name not a string', mutate: (d) => (d.metadata.name = 7), issues: [{ path: 'metadata.name', message: /string/ }] },
  {
    name: 'serviceName of 64 characters',
    mutate: (d) => (d.spec.serviceName = 's'.repeat(64)),
    issues: [{ path: 'spec.serviceName', message: LABEL_RULE }],
  },
  { name: 'serviceName uppercase', mutate: (d) => (d.spec.serviceName = 'Web'), issues: [{ path: 'spec.serviceName', message: LABEL_RULE }] },
  { name: 'serviceName underscore', mutate: (d) => (d.spec.serviceName = 'web_svc'), issues: [{ path: 'spec.serviceName', message: LABEL_RULE }] },
  { name: 'serviceName leading -', mutate: (d) => (d.spec.serviceName = '-web'), issues: [{ path: 'spec.serviceName', message: LABEL_RULE }] },
  { name: 'serviceName trailing -', mutate: (d) => (d.spec.serviceName = 'web-'), issues: [{ path: 'spec.serviceName', message: LABEL_RULE }] },

  // replicas and policy
  { name: 'replicas negative', mutate: (d) => (d.spec.replicas = -1), issues: [{ path: 'spec.replicas', message: 'must be at least 0' }] },
  { name: 'replicas fractional', mutate: (d) => (d.spec.replicas = 1.5), issues: [{ path: 'spec.replicas', message: 'must be an integer' }] },
  { name: 'replicas as a string', mutate: (d) => (d.spec.replicas = '3'), issues: [{ path: 'spec.replicas', message: 'must be a number' }] },
  { name: 'replicas null', mutate: (d) => (d.spec.replicas = null), issues: [{ path: 'spec.replicas', message: 'must be a number' }] },
  { name: 'replicas above the maximum', mutate: (d) => (d.spec.replicas = 1001), issues: [{ path: 'spec.replicas', message: 'must be at most 1000' }] },
  { name: 'replicas infinite', mutate: (d) => (d.spec.replicas = Infinity), issues: [{ path: 'spec.replicas', message: /./ }] },
  {
    name: 'podManagementPolicy neither OrderedReady nor Parallel',
    mutate: (d) => (d.spec.podManagementPolicy = 'Random'),
    issues: [{ path: 'spec.podManagementPolicy', message: 'must be OrderedReady or Parallel' }],
  },
  {
    name: 'podManagementPolicy unknown',
    mutate: (d) => (d.spec.podManagementPolicy = 'Random'),
    issues: [{ path: 'spec.podManagementPolicy', message: /must be OrderedReady/ }],
  },
  {
    name: 'terminationGracePeriodSeconds negative',
    mutate: (d) => (d.spec.template.terminationGracePeriodSeconds = -1),
    issues: [{ path: 'spec.template.terminationGracePeriodSeconds', message: 'must be at least 0' }],
  },

  // unknown fields, each at its own path
  { name: 'unknown top-level field', mutate: (d) => (d.extra = 1), issues: [{ path: 'extra', message: 'unknown field' }] },
  { name: 'unknown metadata field', mutate: (d) => (d.metadata.namespace = 'x'), issues: [{ path: 'metadata.namespace', message: 'unknown field' }] },
  { name: 'unknown spec field', mutate: (d) => (d.spec.selector = {}), issues: [{ path: 'spec.selector', message: 'unknown field' }] },
  { name: 'misspelt spec field', mutate: (d) => (d.spec.replica = 3), issues: [{ path: 'spec.replica', message: 'unknown field' }] },
  { name: 'unknown template field', mutate: (d) => (d.spec.template.containers = []), issues: [{ path: 'spec.template.containers', message: 'unknown field' }] },
  { name: 'unknown process field', mutate: (d) => (d.spec.template.process.shell = true), issues: [{ path: 'spec.template.process.shell', message: 'unknown field' }] },
  {
    name: 'unknown probe field',
    mutate: (d) => (d.spec.template.readinessProbe = { tcpSocket: { port: 80 }, periodSecond: 1 }),
    issues: [{ path: 'spec.template.readinessProbe.periodSecond', message: 'unknown field' }],
  },
  {
    name: 'unknown httpGet field',
    mutate: (d) => (d.spec.template.livenessProbe = { httpGet: { port: 80, method: 'POST' } }),
    issues: [{ path: 'spec.template.livenessProbe.httpGet.method', message: 'unknown field' }],
  },
  {
    name: 'unknown tcpSocket field',
    mutate: (d) => (d.spec.template.readinessProbe = { tcpSocket: { port: 80, tls: true } }),
    issues: [{ path: 'spec.template.readinessProbe.tcpSocket.tls', message: 'unknown field' }],
  },
  {
    name: 'unknown dns field',
    mutate: (d) => (d.spec.dns = { hostedZone: 'Z123' }),
    issues: [{ path: 'spec.dns.hostedZone', message: 'unknown field' }],
  },
  {
    name: 'unknown port field',
    mutate: (d) => (d.spec.template.ports = [{ port: 80 }, { port: 81, containerPort: 81 }]),
    issues: [{ path: 'spec.template.ports[1].containerPort', message: 'unknown field' }],
  },
  {
    name: 'two unknown fields in one object: one issue each',
    mutate: (d) => Object.assign(d.spec, { a: 1, b: 2 }),
    issues: [
      { path: 'spec.a', message: 'unknown field' },
      { path: 'spec.b', message: 'unknown field' },
    ],
  },

  // env
  {
    name: 'env value a number',
    mutate: (d) => (d.spec.template.process.env = { PORT: 8080 }),
    issues: [{ path: 'spec.template.process.env.PORT', message: 'must be a string' }],
  },
  {
    name: 'env value a boolean',
    mutate: (d) => (d.spec.template.process.env = { DEBUG: true }),
    issues: [{ path: 'spec.template.process.env.DEBUG', message: 'must be a string' }],
  },
  {
    name: 'env value null',
    mutate: (d) => (d.spec.template.process.env = { A: null }),
    issues: [{ path: 'spec.template.process.env.A', message: 'must be a string' }],
  },
  {
    name: 'env name starting with a digit',
    mutate: (d) => (d.spec.template.process.env = { '1A': 'x' }),
    issues: [{ path: 'spec.template.process.env.1A', message: /./ }],
  },
  {
    name: 'env name with a dash',
    mutate: (d) => (d.spec.template.process.env = { 'A-B': 'x' }),
    issues: [{ path: 'spec.template.process.env.A-B', message: /./ }],
  },
  {
    name: 'env name empty',
    mutate: (d) => (d.spec.template.process.env = { '': 'x' }),
    issues: [{ path: 'spec.template.process.env.', message: /./ }],
  },
  {
    name: 'env name reserved ORDINAL_SET',
    mutate: (d) => (d.spec.template.process.env = { ORDINAL_SET: 'x' }),
    issues: [{ path: 'spec.template.process.env.ORDINAL_SET', message: /./ }],
  },
  {
    name: 'env name reserved ORDINAL_ANYTHING',
    mutate: (d) => (d.spec.template.process.env = { OK: 'fine', ORDINAL_ANYTHING: 'x' }),
    issues: [{ path: 'spec.template.process.env.ORDINAL_ANYTHING', message: /./ }],
  },
  {
    name: 'env not an object',
    mutate: (d) => (d.spec.template.process.env = ['A=1']),
    issues: [{ path: 'spec.template.process.env', message: /./ }],
  },

  // ports
  { name: 'port 0', mutate: (d) => (d.spec.template.ports = [{ port: 0 }]), issues: [{ path: 'spec.template.ports[0].port', message: 'must be at least 1' }] },
  {
    name: 'port 65536',
    mutate: (d) => (d.spec.template.ports = [{ port: 65536 }]),
    issues: [{ path: 'spec.template.ports[0].port', message: 'must be at most 65535' }],
  },
  {
    name: 'port fractional',
    mutate: (d) => (d.spec.template.ports = [{ port: 80.5 }]),
    issues: [{ path: 'spec.template.ports[0].port', message: 'must be an integer' }],
  },
  {
    name: 'port as a string',
    mutate: (d) => (d.spec.template.ports = [{ port: '80' }]),
    issues: [{ path: 'spec.template.ports[0].port', message: 'must be a number' }],
  },
  { name: 'port missing', mutate: (d) => (d.spec.template.ports = [{ name: 'http' }]), issues: [{ path: 'spec.template.ports[0].port', message: 'is required' }] },
  {
    name: 'port protocol SCTP',
    mutate: (d) => (d.spec.template.ports = [{ port: 80, protocol: 'SCTP' }]),
    issues: [{ path: 'spec.template.ports[0].protocol', message: /TCP.*UDP/ }],
  },
  {
    name: 'duplicate port name',
    mutate: (d) => (d.spec.template.ports = [{ name: 'http', port: 80 }, { name: 'http', port: 81 }]),
    issues: [{ path: 'spec.template.ports[1].name', message: "duplicate port name 'http'" }],
  },
  {
    name: 'duplicate port and protocol',
    mutate: (d) => (d.spec.template.ports = [{ name: 'a', port: 80 }, { name: 'b', port: 80, protocol: 'TCP' }]),
    issues: [{ path: 'spec.template.ports[1].port', message: 'duplicate port 80/TCP' }],
  },
  {
    name: 'duplicate unnamed UDP ports',
    mutate: (d) => (d.spec.template.ports = [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'UDP' }]),
    issues: [{ path: 'spec.template.ports[1].port', message: 'duplicate port 53/UDP' }],
  },
  {
    name: 'port name of 16 characters',
    mutate: (d) => (d.spec.template.ports = [{ name: 'a'.repeat(16), port: 80 }]),
    issues: [{ path: 'spec.template.ports[0].name', message: PORT_NAME_RULE }],
  },
  {
    name: 'port name uppercase',
    mutate: (d) => (d.spec.template.ports = [{ name: 'Http', port: 80 }]),
    issues: [{ path: 'spec.template.ports[0].name', message: PORT_NAME_RULE }],
  },
  {
    name: "port name with '--'",
    mutate: (d) => (d.spec.template.ports = [{ name: 'a--b', port: 80 }]),
    issues: [{ path: 'spec.template.ports[0].name', message: PORT_NAME_RULE }],
  },
  {
    name: 'port name without a letter',
    mutate: (d) => (d.spec.template.ports = [{ name: '8080', port: 80 }]),
    issues: [{ path: 'spec.template.ports[0].name', message: PORT_NAME_RULE }],
  },
  {
    name: "port name with a leading '-'",
    mutate: (d) => (d.spec.template.ports = [{ name: '-http', port: 80 }]),
    issues: [{ path: 'spec.template.ports[0].name', message: PORT_NAME_RULE }],
  },
  {
    name: 'port name empty',
    mutate: (d) => (d.spec.template.ports = [{ name: '', port: 80 }]),
    issues: [{ path: 'spec.template.ports[0].name', message: PORT_NAME_RULE }],
  },

  // probes
  {
    name: 'probe with no handler',
    mutate: (d) => (d.spec.template.readinessProbe = { periodSeconds: 1 }),
    issues: [{ path: 'spec.template.readinessProbe', message: ONE_HANDLER }],
  },
  {
    name: 'probe with two handlers',
    mutate: (d) => (d.spec.template.readinessProbe = { httpGet: { port: 80 }, tcpSocket: { port: 80 } }),
    issues: [{ path: 'spec.template.readinessProbe', message: ONE_HANDLER }],
  },
  {
    name: 'liveness probe with three handlers',
    mutate: (d) => (d.spec.template.livenessProbe = { httpGet: { port: 80 }, tcpSocket: { port: 80 }, exec: { command: ['true'] } }),
    issues: [{ path: 'spec.template.livenessProbe', message: ONE_HANDLER }],
  },
  {
    name: 'readiness httpGet names an undeclared port',
    mutate: (d) => (d.spec.template.readinessProbe = { httpGet: { port: 'http' } }),
    issues: [{ path: 'spec.template.readinessProbe.httpGet.port', message: "names port 'http', but spec.template.ports has no port of that name" }],
  },
  {
    name: 'liveness tcpSocket names an undeclared port',
    mutate: (d) => {
      d.spec.template.ports = [{ name: 'http', port: 80 }];
      d.spec.template.livenessProbe = { tcpSocket: { port: 'admin' } };
    },
    issues: [{ path: 'spec.template.livenessProbe.tcpSocket.port', message: "names port 'admin', but spec.template.ports has no port of that name" }],
  },
  {
    name: 'liveness successThreshold 2',
    mutate: (d) => (d.spec.template.livenessProbe = { tcpSocket: { port: 80 }, successThreshold: 2 }),
    issues: [{ path: 'spec.template.livenessProbe.successThreshold', message: 'must be 1 for a liveness probe' }],
  },
  {
    name: 'probe periodSeconds 0',
    mutate: (d) => (d.spec.template.readinessProbe = { tcpSocket: { port: 80 }, periodSeconds: 0 }),
    issues: [{ path: 'spec.template.readinessProbe.periodSeconds', message: 'must be at least 1' }],
  },
  {
    name: 'probe failureThreshold 0',
    mutate: (d) => (d.spec.template.readinessProbe = { tcpSocket: { port: 80 }, failureThreshold: 0 }),
    issues: [{ path: 'spec.template.readinessProbe.failureThreshold', message: 'must be at least 1' }],
  },
  {
    name: 'probe initialDelaySeconds negative',
    mutate: (d) => (d.spec.template.readinessProbe = { tcpSocket: { port: 80 }, initialDelaySeconds: -1 }),
    issues: [{ path: 'spec.template.readinessProbe.initialDelaySeconds', message: 'must be at least 0' }],
  },
  {
    name: 'probe port 70000',
    mutate: (d) => (d.spec.template.readinessProbe = { tcpSocket: { port: 70000 } }),
    issues: [{ path: 'spec.template.readinessProbe.tcpSocket.port', message: 'must be at most 65535' }],
  },
  {
    name: "httpGet path without a leading '/'",
    mutate: (d) => (d.spec.template.readinessProbe = { httpGet: { port: 80, path: 'healthz' } }),
    issues: [{ path: 'spec.template.readinessProbe.httpGet.path', message: "must start with '/'" }],
  },
  {
    name: 'httpGet scheme ftp',
    mutate: (d) => (d.spec.template.readinessProbe = { httpGet: { port: 80, scheme: 'FTP' } }),
    issues: [{ path: 'spec.template.readinessProbe.httpGet.scheme', message: /HTTP/ }],
  },

  // dns
  { name: 'zone with a trailing dot', mutate: (d) => (d.spec.dns = { zone: 'ordinal.internal.' }), issues: [{ path: 'spec.dns.zone', message: ZONE_RULE }] },
  { name: 'zone with an empty label', mutate: (d) => (d.spec.dns = { zone: 'ordinal..internal' }), issues: [{ path: 'spec.dns.zone', message: ZONE_RULE }] },
  { name: 'zone uppercase', mutate: (d) => (d.spec.dns = { zone: 'Ordinal.Internal' }), issues: [{ path: 'spec.dns.zone', message: ZONE_RULE }] },
  { name: 'zone empty', mutate: (d) => (d.spec.dns = { zone: '' }), issues: [{ path: 'spec.dns.zone', message: ZONE_RULE }] },
  { name: 'zone with a 64-character label', mutate: (d) => (d.spec.dns = { zone: `${'a'.repeat(64)}.test` }), issues: [{ path: 'spec.dns.zone', message: ZONE_RULE }] },
  {
    name: 'zone longer than 253 characters',
    mutate: (d) => (d.spec.dns = { zone: `${'a'.repeat(63)}.`.repeat(4) + 'ab' }),
    issues: [
      { path: 'spec.dns.zone', message: ZONE_RULE },
      { path: 'spec.dns.zone', message: /would exceed 253 characters/ },
    ],
  },
  { name: 'dns ttl negative', mutate: (d) => (d.spec.dns = { ttl: -1 }), issues: [{ path: 'spec.dns.ttl', message: 'must be at least 0' }] },
  { name: 'dns ttl above a day', mutate: (d) => (d.spec.dns = { ttl: 86401 }), issues: [{ path: 'spec.dns.ttl', message: 'must be at most 86400' }] },
  { name: 'an unknown dns provider', mutate: (d) => (d.spec.dns = { provider: 'bind' }), issues: [{ path: 'spec.dns.provider', message: 'must be embedded or route53' }] },
  { name: 'hostedZoneId without route53', mutate: (d) => (d.spec.dns = { hostedZoneId: 'Z123' }), issues: [{ path: 'spec.dns.provider', message: 'must be route53 when hostedZoneId or private is set' }] },
  { name: 'a malformed hostedZoneId', mutate: (d) => (d.spec.dns = { provider: 'route53', hostedZoneId: 'zone-1' }), issues: [{ path: 'spec.dns.hostedZoneId', message: /must be a Route 53 hosted zone id/ }] },
  { name: 'private not a boolean', mutate: (d) => (d.spec.dns = { provider: 'route53', private: 'yes' }), issues: [{ path: 'spec.dns.private', message: 'must be true or false' }] },
  {
    name: 'instance DNS names longer than 253 characters',
    mutate: (d) => {
      d.metadata.name = 'a'.repeat(52);
      d.spec.serviceName = 'b'.repeat(63);
      d.spec.replicas = 1000;
      d.spec.dns = { zone: `${'c'.repeat(60)}.`.repeat(2) + 'c'.repeat(60) };
    },
    issues: [{ path: 'spec.dns.zone', message: `published DNS names such as '${'a'.repeat(40)}...' would exceed 253 characters` }],
  },

  // labels
  { name: 'label value a number', mutate: (d) => (d.metadata.labels = { tier: 1 }), issues: [{ path: 'metadata.labels.tier', message: 'must be a string' }] },
  {
    name: 'annotation value an object',
    mutate: (d) => (d.metadata.annotations = { note: { a: 1 } }),
    issues: [{ path: 'metadata.annotations.note', message: 'must be a string' }],
  },
];

describe('manifest: each violation is reported at its path', () => {
  for (const c of violationCases) {
    it(c.name, () => {
      const d = minimal();
      c.mutate(d);
      expectIssues(d, c.issues);
    });
  }
});

describe('manifest: environment variable names', () => {
  const good = ['A', 'a', '_', '_A1', 'GREETING', 'lower_case', 'ORDINAL', 'ORDINALX', 'MY_ORDINAL_SET'];
  for (const name of good) {
    it(`accepts ${JSON.stringify(name)}`, () => {
      const d = minimal();
      d.spec.template.process.env = { [name]: 'v' };
      expect(valid(d).spec.template.process!.env).toEqual({ [name]: 'v' });
    });
  }

  // zod 4 nests a record key's own issue inside an `invalid_key` issue; the rule's message must surface.
  const bad: Array<{ name: string; message: string }> = [
    { name: '1A', message: 'must be an environment variable name: letters, digits and _, not starting with a digit' },
    { name: 'A-B', message: 'must be an environment variable name: letters, digits and _, not starting with a digit' },
    { name: 'A B', message: 'must be an environment variable name: letters, digits and _, not starting with a digit' },
    { name: 'ORDINAL_SET', message: 'ORDINAL_* variables are set by Ordinal itself' },
    { name: 'ORDINAL_DNS_SERVER', message: 'ORDINAL_* variables are set by Ordinal itself' },
  ];
  for (const c of bad) {
    it(`rejects ${JSON.stringify(c.name)} with a message naming the rule`, () => {
      const d = minimal();
      d.spec.template.process.env = { [c.name]: 'v' };
      expectIssues(d, [{ path: `spec.template.process.env.${c.name}`, message: c.message }]);
    });
  }
});

describe('manifest: several violations at once are all reported', () => {
  it('names, replicas, ports, probes, dns and unknown fields together', () => {
    const d = minimal();
    d.metadata.name = 'Bad_Name';
    d.metadata.uid = 'x';
    d.spec.replicas = -2;
    d.spec.template.process.command = ['node', ''];
    d.spec.template.ports = [{ name: 'http', port: 80 }, { name: 'http', port: 0 }];
    d.spec.template.livenessProbe = { tcpSocket: { port: 80 }, successThreshold: 2 };
    d.spec.template.readinessProbe = {};
    d.spec.dns = { zone: 'bad.zone.', ttl: 5, extra: true };
    expectIssues(d, [
      { path: 'metadata.name', message: LABEL_RULE },
      { path: 'metadata.uid', message: 'unknown field' },
      { path: 'spec.replicas', message: 'must be at least 0' },
      { path: 'spec.template.process.command[1]', message: 'must not be empty' },
      { path: 'spec.template.ports[1].port', message: 'must be at least 1' },
      { path: 'spec.template.ports[1].name', message: "duplicate port name 'http'" },
      { path: 'spec.template.readinessProbe', message: ONE_HANDLER },
      { path: 'spec.template.livenessProbe.successThreshold', message: 'must be 1 for a liveness probe' },
      { path: 'spec.dns.zone', message: ZONE_RULE },
      { path: 'spec.dns.extra', message: 'unknown field' },
    ]);
  });

  it('missing parts of the document each get "is required"', () => {
    expectIssues({}, [
      { path: 'apiVersion', message: 'must be ordinal.dev/v1' },
      { path: 'kind', message: 'must be StatefulSet' },
      { path: 'metadata', message: 'is required' },
      { path: 'spec', message: 'is required' },
    ]);
  });

  it('two bad ports and two bad probe ports', () => {
    const d = minimal();
    d.spec.template.ports = [{ port: 0 }, { port: 65536 }];
    d.spec.template.readinessProbe = { httpGet: { port: 'web' } };
    d.spec.template.livenessProbe = { tcpSocket: { port: 'admin' } };
    expectIssues(d, [
      { path: 'spec.template.ports[0].port', message: 'must be at least 1' },
      { path: 'spec.template.ports[1].port', message: 'must be at most 65535' },
      { path: 'spec.template.readinessProbe.httpGet.port', message: /names port 'web'/ },
      { path: 'spec.template.livenessProbe.tcpSocket.port', message: /names port 'admin'/ },
    ]);
  });

  // Template rules run on the template alone, so an error outside it does not hide them. (An error
  // inside the template, e.g. a wrong env value type, still does: zod skips refinements of an object
  // whose own fields failed.)
  const outside: Array<{ name: string; mutate: Mutate; issue: Expected }> = [
    { name: 'replicas as a string', mutate: (d) => (d.spec.replicas = '3'), issue: { path: 'spec.replicas', message: 'must be a number' } },
    { name: 'wrong apiVersion', mutate: (d) => (d.apiVersion = 'apps/v1'), issue: { path: 'apiVersion', message: 'must be ordinal.dev/v1' } },
    {
      name: 'an unknown podManagementPolicy',
      mutate: (d) => (d.spec.podManagementPolicy = 'Random'),
      issue: { path: 'spec.podManagementPolicy', message: 'must be OrderedReady or Parallel' },
    },
  ];
  for (const c of outside) {
    it(`${c.name} does not hide a duplicate port name`, () => {
      const d = minimal();
      c.mutate(d);
      d.spec.template.ports = [{ name: 'http', port: 80 }, { name: 'http', port: 81 }];
      expectIssues(d, [c.issue, { path: 'spec.template.ports[1].name', message: "duplicate port name 'http'" }]);
    });
  }
});

describe('manifest: the name with the rest (issue 16)', () => {
  it('a bad name, replicas "two" and port 0: three issues with their paths', () => {
    const d = minimal();
    d.metadata.name = 'Bad';
    d.spec.replicas = 'two';
    d.spec.template.ports = [{ name: 'http', port: 0 }];
    expectIssues(d, [
      { path: 'metadata.name', message: LABEL_RULE },
      { path: 'spec.replicas', message: 'must be a number' },
      { path: 'spec.template.ports[0].port', message: 'must be at least 1' },
    ]);
  });

  it('a name that is not a string says so; a missing one is required, with the rest', () => {
    const d = minimal();
    d.metadata.name = 5;
    d.spec.replicas = 'two';
    expectIssues(d, [
      { path: 'metadata.name', message: 'must be a string' },
      { path: 'spec.replicas', message: 'must be a number' },
    ]);
    delete d.metadata.name;
    expectIssues(d, [
      { path: 'metadata.name', message: 'is required' },
      { path: 'spec.replicas', message: 'must be a number' },
    ]);
  });
});

describe('manifest: ordinals far out of range cost nothing to check', () => {
  // The cross-field rules run though replicas or ordinals broke their range: they listed every wanted
  // ordinal (2^53 replicas ran out of memory) and looped forever past a reserved ordinal at 2^53.
  const cases: Array<{ name: string; mutate: Mutate; issues: Expected[] }> = [
    {
      name: 'replicas 2^53',
      mutate: (d) => (d.spec.replicas = 2 ** 53),
      issues: [
        { path: 'spec.replicas', message: 'must be an integer' },
        { path: 'spec.replicas', message: `must be at most ${MAX_REPLICAS}` },
      ],
    },
    { name: 'replicas 1.5e6', mutate: (d) => (d.spec.replicas = 1.5e6), issues: [{ path: 'spec.replicas', message: `must be at most ${MAX_REPLICAS}` }] },
    {
      name: 'ordinals.start and a reserved ordinal at 2^53',
      mutate: (d) => {
        d.spec.replicas = 2;
        d.spec.ordinals = { start: 2 ** 53 };
        d.spec.reserveOrdinals = [2 ** 53];
      },
      issues: [
        { path: 'spec.ordinals.start', message: 'must be an integer' },
        { path: 'spec.ordinals.start', message: 'must be at most 100000' },
        { path: 'spec.reserveOrdinals[0]', message: 'must be an integer' },
        { path: 'spec.reserveOrdinals[0]', message: 'must be at most 100000' },
      ],
    },
  ];
  for (const c of cases) {
    it(`${c.name}: its own issues, at once`, () => {
      const d = minimal();
      c.mutate(d);
      const started = Date.now();
      expectIssues(d, c.issues);
      expect(Date.now() - started).toBeLessThan(1_000);
    });
  }

  it('ordinals in range still have their DNS names checked', () => {
    const d = minimal();
    d.metadata.name = 'a'.repeat(52);
    d.spec.replicas = MAX_REPLICAS;
    d.spec.ordinals = { start: 100_000 };
    d.spec.dns = { zone: `${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(60)}` };
    expect(issuesOf(d).map((i) => i.path)).toEqual(['spec.dns.zone']);
  });
});

describe('manifest: documents that are not objects', () => {
  const cases: Array<{ name: string; document: unknown; message: string | RegExp }> = [
    { name: 'undefined', document: undefined, message: 'is required' },
    { name: 'null', document: null, message: /object/ },
    { name: 'an array', document: [], message: /object/ },
    { name: 'a string', document: 'apiVersion: ordinal.dev/v1', message: /object/ },
    { name: 'a number', document: 42, message: /object/ },
  ];
  for (const c of cases) {
    it(`${c.name}: one issue for the whole document`, () => {
      expectIssues(c.document, [{ path: '', message: c.message }]);
    });
  }
});

describe('manifest: boundaries that are accepted', () => {
  const cases: Array<{ name: string; mutate: Mutate; check?: (m: Manifest) => void }> = [
    { name: 'set name of 52 characters', mutate: (d) => (d.metadata.name = 'a'.repeat(52)) },
    { name: 'set name of one character', mutate: (d) => (d.metadata.name = 'a') },
    { name: 'set name of digits only', mutate: (d) => (d.metadata.name = '123') },
    { name: 'set name with inner dashes', mutate: (d) => (d.metadata.name = 'my--web-1') },
    { name: 'serviceName of 63 characters', mutate: (d) => (d.spec.serviceName = 's'.repeat(63)) },
    { name: 'replicas 0', mutate: (d) => (d.spec.replicas = 0), check: (m) => expect(m.spec.replicas).toBe(0) },
    { name: 'replicas 1000', mutate: (d) => (d.spec.replicas = 1000), check: (m) => expect(m.spec.replicas).toBe(1000) },
    { name: 'replicas 3.0 (an integer)', mutate: (d) => (d.spec.replicas = 3.0), check: (m) => expect(m.spec.replicas).toBe(3) },
    { name: 'port 1 and 65535', mutate: (d) => (d.spec.template.ports = [{ port: 1 }, { port: 65535 }]) },
    { name: 'port name of 15 characters', mutate: (d) => (d.spec.template.ports = [{ name: 'a'.repeat(15), port: 80 }]) },
    { name: 'port name with digits and a dash', mutate: (d) => (d.spec.template.ports = [{ name: 'h2-c1', port: 80 }]) },
    {
      name: 'the same port number for TCP and UDP',
      mutate: (d) => (d.spec.template.ports = [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }]),
    },
    { name: 'several unnamed ports', mutate: (d) => (d.spec.template.ports = [{ port: 80 }, { port: 81 }]) },
    {
      name: 'probe by declared port name',
      mutate: (d) => {
        d.spec.template.ports = [{ name: 'http', port: 80 }];
        d.spec.template.readinessProbe = { httpGet: { port: 'http' } };
        d.spec.template.livenessProbe = { tcpSocket: { port: 'http' } };
      },
    },
    { name: 'readiness successThreshold 2', mutate: (d) => (d.spec.template.readinessProbe = { tcpSocket: { port: 80 }, successThreshold: 2 }) },
    { name: 'liveness successThreshold 1 explicitly', mutate: (d) => (d.spec.template.livenessProbe = { tcpSocket: { port: 80 }, successThreshold: 1 }) },
    { name: 'a single-label zone', mutate: (d) => (d.spec.dns = { zone: 'internal' }), check: (m) => expect(m.spec.dns.zone).toBe('internal') },
    { name: 'zone with digits and dashes', mutate: (d) => (d.spec.dns = { zone: 'svc-1.example-2.test' }) },
    { name: 'ttl 0', mutate: (d) => (d.spec.dns = { ttl: 0 }) },
    { name: 'terminationGracePeriodSeconds 0', mutate: (d) => (d.spec.template.terminationGracePeriodSeconds = 0) },
    { name: 'workingDir', mutate: (d) => (d.spec.template.process.workingDir = 'examples'), check: (m) => expect(m.spec.template.process!.workingDir).toBe('examples') },
    { name: 'empty env value', mutate: (d) => (d.spec.template.process.env = { EMPTY: '' }) },
    { name: 'argv with spaces inside an item', mutate: (d) => (d.spec.template.process.command = ['sh', '-c', 'echo hi there']) },
    {
      // name 52 + "-9" = 54, + ".", 63, "." = 119, + zone of 134 = 253 exactly.
      name: 'instance DNS names of exactly 253 characters',
      mutate: (d) => {
        d.metadata.name = 'a'.repeat(52);
        d.spec.serviceName = 'b'.repeat(63);
        d.spec.replicas = 10;
        d.spec.dns = { zone: `${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(6)}` };
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = minimal();
      c.mutate(d);
      const m = valid(d);
      c.check?.(m);
    });
  }

  it('instance DNS names of 254 characters are rejected (one more replica digit)', () => {
    const d = minimal();
    d.metadata.name = 'a'.repeat(52);
    d.spec.serviceName = 'b'.repeat(63);
    d.spec.replicas = 11; // highest ordinal 10: one character longer than the accepted case above
    d.spec.dns = { zone: `${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(6)}` };
    expectIssues(d, [{ path: 'spec.dns.zone', message: /would exceed 253 characters/ }]);
  });

  it('instance DNS names of 254 characters are rejected (one more zone character)', () => {
    const d = minimal();
    d.metadata.name = 'a'.repeat(52);
    d.spec.serviceName = 'b'.repeat(63);
    d.spec.replicas = 10;
    d.spec.dns = { zone: `${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(7)}` };
    expectIssues(d, [{ path: 'spec.dns.zone', message: /would exceed 253 characters/ }]);
  });
});

describe('manifest: every published DNS name stays within 253 characters', () => {
  // With a short set name and a long port name, the SRV name "_<port>._tcp.<service>.<zone>" is the
  // longest name the set publishes.
  it('rejects a manifest whose SRV names would exceed 253 characters', () => {
    const d = minimal();
    d.metadata.name = 'a';
    d.spec.serviceName = 'b'.repeat(63);
    d.spec.dns = { zone: `${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(57)}` };
    d.spec.template.ports = [{ name: 'abcdefghijklmno', port: 80 }];
    expectIssues(d, [{ path: 'spec.dns.zone', message: /exceed 253 characters/ }]);
  });

  it('the same manifest without a named port is fine', () => {
    const d = minimal();
    d.metadata.name = 'a';
    d.spec.serviceName = 'b'.repeat(63);
    d.spec.dns = { zone: `${'c'.repeat(63)}.${'d'.repeat(63)}.${'e'.repeat(57)}` };
    d.spec.template.ports = [{ port: 80 }];
    valid(d);
  });
});

describe('manifest: read-only fields and metadata', () => {
  const readOnly: Array<{ name: string; mutate: Mutate }> = [
    { name: 'metadata.generation', mutate: (d) => (d.metadata.generation = 4) },
    { name: 'metadata.resourceVersion', mutate: (d) => (d.metadata.resourceVersion = '17') },
    { name: 'metadata.creationTimestamp', mutate: (d) => (d.metadata.creationTimestamp = '2024-01-01T00:00:00.000Z') },
    { name: 'status', mutate: (d) => (d.status = { replicas: 3, readyReplicas: 2, conditions: [] }) },
    { name: 'metadata.generation of another type', mutate: (d) => (d.metadata.generation = 'seven') },
    {
      name: 'all of them at once',
      mutate: (d) => {
        d.metadata.generation = 4;
        d.metadata.resourceVersion = '17';
        d.metadata.creationTimestamp = '2024-01-01T00:00:00.000Z';
        d.status = { phase: 'Ready' };
      },
    },
  ];
  for (const c of readOnly) {
    it(`${c.name} is accepted and dropped`, () => {
      const d = minimal();
      c.mutate(d);
      const m = valid(d) as Record<string, any>;
      expect(m.metadata).toEqual({ name: 'web' });
      expect(m).not.toHaveProperty('status');
      expect(m).toEqual(valid(minimal()));
    });
  }

  it('labels and annotations are kept', () => {
    const d = minimal();
    d.metadata.labels = { app: 'web', tier: 'frontend' };
    d.metadata.annotations = { 'ordinal.dev/owner': 'team-a', note: '' };
    d.metadata.generation = 2;
    expect(valid(d).metadata).toEqual({
      name: 'web',
      labels: { app: 'web', tier: 'frontend' },
      annotations: { 'ordinal.dev/owner': 'team-a', note: '' },
    });
  });

  it('a GET-shaped document round-trips to the same manifest', () => {
    const first = valid(parseYaml(WEB_EXAMPLE));
    const got = { ...first, metadata: { ...first.metadata, generation: 3, creationTimestamp: '2024-01-01T00:00:00.000Z' }, status: { replicas: 3 } };
    expect(valid(got)).toEqual(first);
  });
});

describe('formatPath', () => {
  const cases: Array<{ path: PropertyKey[]; expected: string }> = [
    { path: [], expected: '' },
    { path: ['spec'], expected: 'spec' },
    { path: ['spec', 'replicas'], expected: 'spec.replicas' },
    { path: ['spec', 'template', 'ports', 0, 'port'], expected: 'spec.template.ports[0].port' },
    { path: ['spec', 'template', 'ports', 12, 'name'], expected: 'spec.template.ports[12].name' },
    { path: ['spec', 'template', 'process', 'command', 1], expected: 'spec.template.process.command[1]' },
    { path: [0], expected: '[0]' },
    { path: [0, 'a'], expected: '[0].a' },
    { path: ['a', 0, 1], expected: 'a[0][1]' },
    { path: ['env', 'GREETING'], expected: 'env.GREETING' },
    { path: ['labels', 'ordinal.dev/owner'], expected: 'labels.ordinal.dev/owner' },
    { path: ['a', '0'], expected: 'a.0' },
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c.path)} -> ${JSON.stringify(c.expected)}`, () => {
      expect(formatPath(c.path)).toBe(c.expected);
    });
  }

  it('symbols are written by their description', () => {
    expect(formatPath(['a', Symbol('s')])).toBe('a.Symbol(s)');
  });
});

// ---- the driver: exactly one of process and ecs (the ecs fields: test/unit/ecs-manifest.test.ts) ----

describe('manifest: a template names exactly one driver', () => {
  const ecs = { cluster: 'prod', image: 'redis:7', subnets: ['subnet-0123456789abcdef0'] };

  it('accepts ecs instead of process', () => {
    const d = minimal();
    delete d.spec.template.process;
    d.spec.template.ecs = ecs;
    const m = valid(d);
    expect(m.spec.template.process).toBeUndefined();
    expect(m.spec.template.ecs).toMatchObject({ ...ecs, cpu: 256, memory: 512, readiness: 'probes' });
  });

  it('refuses both, naming ecs', () => {
    const d = minimal();
    d.spec.template.ecs = ecs;
    expectIssues(d, [{ path: 'spec.template.ecs', message: 'must not be given together with process: a template has exactly one of process or ecs' }]);
  });

  it('refuses neither, naming process', () => {
    const d = minimal();
    delete d.spec.template.process;
    expectIssues(d, [{ path: 'spec.template.process', message: 'is required: a template has exactly one of process or ecs' }]);
  });

  it('reports an invalid ecs block field by field', () => {
    const d = minimal();
    delete d.spec.template.process;
    d.spec.template.ecs = { ...ecs, subnets: [], cpu: 512, memory: 512 };
    expectIssues(d, [
      { path: 'spec.template.ecs.subnets', message: 'must list at least one subnet' },
      { path: 'spec.template.ecs.memory', message: /with cpu 512, memory must be 1024 to 4096 MiB/ },
    ]);
    d.spec.template.ecs = { ...ecs, cpu: 512, memory: 512 };
    expectIssues(d, [{ path: 'spec.template.ecs.memory', message: /with cpu 512, memory must be 1024 to 4096 MiB/ }]);
  });
});

// ---- the process driver's pod: isolation, volumeMounts, securityContext ----

describe('manifest: isolation, volumeMounts and securityContext are not filled in', () => {
  it('a template without them parses to one without them', () => {
    const m = valid(minimal());
    expect(m.spec.template.process).toEqual({ command: ['node', 'server.mjs'], env: {} });
    expect(m.spec.template.process).not.toHaveProperty('isolation');
    expect(m.spec.template.process).not.toHaveProperty('volumeMounts');
    expect(m.spec.template).not.toHaveProperty('securityContext');
  });

  it("so an existing template's revision content is unchanged", () => {
    expect(canonicalJson(valid(minimal()).spec.template)).toBe(
      '{"ports":[],"process":{"command":["node","server.mjs"],"env":{}},"terminationGracePeriodSeconds":30}',
    );
  });

  it('a mount without readOnly or subPath gets neither', () => {
    const d = minimal();
    d.spec.volumeClaimTemplates = [{ metadata: { name: 'data' } }];
    d.spec.template.process.volumeMounts = [{ name: 'data', mountPath: '/data' }];
    expect(valid(d).spec.template.process!.volumeMounts).toEqual([{ name: 'data', mountPath: '/data' }]);
  });

  it('a securityContext with one field keeps only that field', () => {
    const d = minimal();
    d.spec.template.securityContext = { runAsUser: 1000 };
    expect(valid(d).spec.template.securityContext).toEqual({ runAsUser: 1000 });
  });
});

describe('isolationOf', () => {
  it.each([
    [{}, 'pod'],
    [{ isolation: undefined }, 'pod'],
    [{ isolation: 'pod' as const }, 'pod'],
    [{ isolation: 'none' as const }, 'none'],
  ])('%j -> %s', (process, expected) => {
    expect(isolationOf(process)).toBe(expected);
  });

  it('reads a parsed template', () => {
    expect(isolationOf(valid(minimal()).spec.template.process!)).toBe('pod');
  });
});

/** A set with volume templates data and logs, for mounts to name. */
function withVolumes(): Doc {
  const d = minimal();
  d.spec.volumeClaimTemplates = [{ metadata: { name: 'data' } }, { metadata: { name: 'logs' } }];
  return d;
}

const mount = (mountPath: string, extra: Record<string, unknown> = {}) => ({ name: 'data', mountPath, ...extra });

describe('manifest: pod fields that are accepted', () => {
  const cases: Array<{ name: string; mutate: Mutate; check?: (m: Manifest) => void }> = [
    { name: 'isolation pod', mutate: (d) => (d.spec.template.process.isolation = 'pod'), check: (m) => expect(m.spec.template.process!.isolation).toBe('pod') },
    { name: 'isolation none', mutate: (d) => (d.spec.template.process.isolation = 'none'), check: (m) => expect(isolationOf(m.spec.template.process!)).toBe('none') },
    { name: 'isolation none with an empty volumeMounts', mutate: (d) => Object.assign(d.spec.template.process, { isolation: 'none', volumeMounts: [] }) },
    { name: 'an empty volumeMounts', mutate: (d) => (d.spec.template.process.volumeMounts = []), check: (m) => expect(m.spec.template.process!.volumeMounts).toEqual([]) },
    {
      name: 'every mount field',
      mutate: (d) => (d.spec.template.process.volumeMounts = [mount('/var/lib/data', { readOnly: true, subPath: 'pg/main' })]),
      check: (m) => expect(m.spec.template.process!.volumeMounts).toEqual([{ name: 'data', mountPath: '/var/lib/data', readOnly: true, subPath: 'pg/main' }]),
    },
    { name: 'isolation pod with mounts', mutate: (d) => Object.assign(d.spec.template.process, { isolation: 'pod', volumeMounts: [mount('/data')] }) },
    { name: 'readOnly false', mutate: (d) => (d.spec.template.process.volumeMounts = [mount('/data', { readOnly: false })]) },
    { name: 'the same volume at two paths', mutate: (d) => (d.spec.template.process.volumeMounts = [mount('/a'), mount('/b', { subPath: 'b' })]) },
    { name: 'a mount under another mount (as Kubernetes)', mutate: (d) => (d.spec.template.process.volumeMounts = [mount('/data'), { name: 'logs', mountPath: '/data/logs' }]) },
    { name: 'both volumes', mutate: (d) => (d.spec.template.process.volumeMounts = [mount('/data'), { name: 'logs', mountPath: '/var/log/app' }]) },
    { name: 'a mount path with spaces and dots in names', mutate: (d) => (d.spec.template.process.volumeMounts = [mount('/srv/my data/.hidden/a..b')]) },
    { name: 'a mount path of 4096 characters', mutate: (d) => (d.spec.template.process.volumeMounts = [mount(`/${'a'.repeat(4095)}`)]) },
    { name: 'mount paths beside the reserved ones', mutate: (d) => (d.spec.template.process.volumeMounts = [mount('/procfs'), mount('/system'), mount('/devices'), mount('/etc'), mount('/etc/hosts.d'), mount('/etc/resolv.conf.d')]) },
    { name: '16 mounts', mutate: (d) => (d.spec.template.process.volumeMounts = Array.from({ length: 16 }, (_, i) => mount(`/m${i}`))) },
    { name: 'an empty subPath (the volume root, as Kubernetes)', mutate: (d) => (d.spec.template.process.volumeMounts = [mount('/data', { subPath: '' })]) },
    { name: 'a subPath with . and dotted names', mutate: (d) => (d.spec.template.process.volumeMounts = [mount('/data', { subPath: './a/..b/c..' })]) },
    { name: 'securityContext with every field', mutate: (d) => (d.spec.template.securityContext = { runAsUser: 1000, runAsGroup: 1000, fsGroup: 2000, runAsNonRoot: true }) },
    { name: 'an empty securityContext', mutate: (d) => (d.spec.template.securityContext = {}), check: (m) => expect(m.spec.template.securityContext).toEqual({}) },
    { name: 'runAsUser 0 (root) without runAsNonRoot', mutate: (d) => (d.spec.template.securityContext = { runAsUser: 0, runAsGroup: 0, fsGroup: 0 }) },
    { name: 'runAsNonRoot false without runAsUser', mutate: (d) => (d.spec.template.securityContext = { runAsNonRoot: false }) },
    { name: 'ids of 2147483647', mutate: (d) => (d.spec.template.securityContext = { runAsUser: 2147483647, runAsGroup: 2147483647, fsGroup: 2147483647 }) },
    { name: 'securityContext with isolation none', mutate: (d) => Object.assign(d.spec.template, { securityContext: { runAsUser: 1000 }, process: { ...d.spec.template.process, isolation: 'none' } }) },
    { name: '$(VAR) references in command and env (expanded when the instance starts)', mutate: (d) => Object.assign(d.spec.template.process, { command: ['redis-server', '--dir', '$(DIR)'], env: { DIR: '/data/$(ORDINAL_NAME)' } }) },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = withVolumes();
      c.mutate(d);
      const m = valid(d);
      c.check?.(m);
    });
  }
});

const ID_RULE = 'must be an integer from 0 to 2147483647';
const MOUNTS = 'spec.template.process.volumeMounts';

describe('manifest: pod field violations are reported at their path', () => {
  const mountPathCases: Array<[string, unknown, string]> = [
    ['relative', 'data', 'must be an absolute path'],
    ['empty', '', 'must be an absolute path'],
    ['a number', 5, 'must be an absolute path'],
    ['4097 characters', `/${'a'.repeat(4096)}`, 'must be at most 4096 characters'],
    ['with a NUL', '/data\0x', 'must not contain a NUL or line break character'],
    ['with a newline', '/data\nx', 'must not contain a NUL or line break character'],
    ['with a carriage return', '/data\r', 'must not contain a NUL or line break character'],
    ['the root', '/', "must not be '/': a volume cannot replace the pod's root"],
    ['with //', '/var//data', "must be a normalized path: no '//'"],
    ['starting with //', '//data', "must be a normalized path: no '//'"],
    ['with a trailing /', '/data/', "must be a normalized path: no trailing '/'"],
    ['with a . segment', '/var/./data', "must be a normalized path: no '.' or '..' segment"],
    ['ending in .', '/var/.', "must be a normalized path: no '.' or '..' segment"],
    ['with a .. segment', '/var/../etc', "must be a normalized path: no '.' or '..' segment"],
    ['/..', '/..', "must be a normalized path: no '.' or '..' segment"],
    ['/proc', '/proc', "must not be /proc or under it: reserved for the system's own file system"],
    ['under /proc', '/proc/sys/net', "must not be /proc or under it: reserved for the system's own file system"],
    ['/sys', '/sys', "must not be /sys or under it: reserved for the system's own file system"],
    ['under /sys', '/sys/fs/cgroup', "must not be /sys or under it: reserved for the system's own file system"],
    ['/dev', '/dev', "must not be /dev or under it: reserved for the system's own file system"],
    ['under /dev', '/dev/shm', "must not be /dev or under it: reserved for the system's own file system"],
    ['/etc/hosts', '/etc/hosts', 'must not be /etc/hosts: Ordinal writes it for the pod'],
    ['/etc/hostname', '/etc/hostname', 'must not be /etc/hostname: Ordinal writes it for the pod'],
    ['/etc/resolv.conf', '/etc/resolv.conf', 'must not be /etc/resolv.conf: Ordinal writes it for the pod'],
    ['under /etc/hosts', '/etc/hosts/x', 'must not be /etc/hosts: Ordinal writes it for the pod'],
  ];
  it.each(mountPathCases)('mountPath %s', (_name, mountPath, message) => {
    const d = withVolumes();
    d.spec.template.process.volumeMounts = [{ name: 'data', mountPath }];
    expectIssues(d, [{ path: `${MOUNTS}[0].mountPath`, message }]);
  });

  const subPathCases: Array<[string, unknown, string]> = [
    ['absolute', '/pg', 'must be a relative path'],
    ['the root', '/', 'must be a relative path'],
    ['a number', 1, 'must be a relative path'],
    ['..', '..', "must not contain a '..' segment"],
    ['climbing out', '../other', "must not contain a '..' segment"],
    ['climbing inside', 'a/../b', "must not contain a '..' segment"],
    ['ending in ..', 'a/..', "must not contain a '..' segment"],
    ['with a NUL', 'a\0', 'must not contain a NUL or line break character'],
    ['with a newline', 'a\nb', 'must not contain a NUL or line break character'],
    ['4097 characters', 'a'.repeat(4097), 'must be at most 4096 characters'],
  ];
  it.each(subPathCases)('subPath %s', (_name, subPath, message) => {
    const d = withVolumes();
    d.spec.template.process.volumeMounts = [{ name: 'data', mountPath: '/data', subPath }];
    expectIssues(d, [{ path: `${MOUNTS}[0].subPath`, message }]);
  });

  const idCases: Array<[string, unknown]> = [
    ['negative', -1],
    ['too large', 2147483648],
    ['a fraction', 1000.5],
    ['a string', '1000'],
    ['a user name', 'postgres'],
    ['null', null],
  ];
  for (const field of ['runAsUser', 'runAsGroup', 'fsGroup'] as const) {
    it.each(idCases)(`securityContext.${field} %s`, (_name, value) => {
      const d = minimal();
      d.spec.template.securityContext = { [field]: value };
      expectIssues(d, [{ path: `spec.template.securityContext.${field}`, message: ID_RULE }]);
    });
  }

  const cases: Array<{ name: string; mutate: Mutate; issues: Expected[] }> = [
    { name: 'an unknown isolation', mutate: (d) => (d.spec.template.process.isolation = 'container'), issues: [{ path: 'spec.template.process.isolation', message: 'must be pod or none' }] },
    { name: 'isolation with a capital letter', mutate: (d) => (d.spec.template.process.isolation = 'Pod'), issues: [{ path: 'spec.template.process.isolation', message: 'must be pod or none' }] },
    { name: 'isolation true', mutate: (d) => (d.spec.template.process.isolation = true), issues: [{ path: 'spec.template.process.isolation', message: 'must be pod or none' }] },
    {
      name: 'isolation none with a mount',
      mutate: (d) => Object.assign(d.spec.template.process, { isolation: 'none', volumeMounts: [mount('/data')] }),
      issues: [{ path: MOUNTS, message: 'needs isolation: pod: a plain process has no mount namespace; read ORDINAL_VOLUME_<NAME> instead' }],
    },
    { name: 'volumeMounts not an array', mutate: (d) => (d.spec.template.process.volumeMounts = { name: 'data' }), issues: [{ path: MOUNTS, message: /expected array/ }] },
    {
      name: '17 mounts',
      mutate: (d) => (d.spec.template.process.volumeMounts = Array.from({ length: 17 }, (_, i) => mount(`/m${i}`))),
      issues: [{ path: MOUNTS, message: 'must list at most 16 mounts' }],
    },
    {
      name: 'a mount of an unknown volume',
      mutate: (d) => (d.spec.template.process.volumeMounts = [mount('/data'), { name: 'cache', mountPath: '/cache' }]),
      issues: [{ path: `${MOUNTS}[1].name`, message: "names volume 'cache', but spec.volumeClaimTemplates has no template of that name" }],
    },
    {
      name: 'a mount in a set without volumeClaimTemplates',
      mutate: (d) => {
        d.spec.volumeClaimTemplates = [];
        d.spec.template.process.volumeMounts = [mount('/data')];
      },
      issues: [{ path: `${MOUNTS}[0].name`, message: "names volume 'data', but spec.volumeClaimTemplates has no template of that name" }],
    },
    { name: 'a mount name that is not a DNS label', mutate: (d) => (d.spec.template.process.volumeMounts = [{ name: 'Data', mountPath: '/data' }]), issues: [{ path: `${MOUNTS}[0].name`, message: LABEL_RULE }] },
    { name: 'an empty mount name', mutate: (d) => (d.spec.template.process.volumeMounts = [{ name: '', mountPath: '/data' }]), issues: [{ path: `${MOUNTS}[0].name`, message: 'must not be empty' }] },
    { name: 'a mount without a name', mutate: (d) => (d.spec.template.process.volumeMounts = [{ mountPath: '/data' }]), issues: [{ path: `${MOUNTS}[0].name`, message: 'is required' }] },
    { name: 'a mount without a mountPath', mutate: (d) => (d.spec.template.process.volumeMounts = [{ name: 'data' }]), issues: [{ path: `${MOUNTS}[0].mountPath`, message: 'is required' }] },
    { name: 'readOnly not a boolean', mutate: (d) => (d.spec.template.process.volumeMounts = [mount('/data', { readOnly: 'yes' })]), issues: [{ path: `${MOUNTS}[0].readOnly`, message: 'must be true or false' }] },
    {
      name: 'an unknown mount field (Kubernetes mountPropagation)',
      mutate: (d) => (d.spec.template.process.volumeMounts = [mount('/data', { mountPropagation: 'None' })]),
      issues: [{ path: `${MOUNTS}[0].mountPropagation`, message: 'unknown field' }],
    },
    {
      name: 'two mounts at one path',
      mutate: (d) => (d.spec.template.process.volumeMounts = [mount('/data'), { name: 'logs', mountPath: '/data' }]),
      issues: [{ path: `${MOUNTS}[1].mountPath`, message: "duplicate mount path '/data'" }],
    },
    {
      name: 'three mounts at one path',
      mutate: (d) => (d.spec.template.process.volumeMounts = [mount('/x'), mount('/x', { subPath: 'a' }), mount('/x', { subPath: 'b' })]),
      issues: [
        { path: `${MOUNTS}[1].mountPath`, message: "duplicate mount path '/x'" },
        { path: `${MOUNTS}[2].mountPath`, message: "duplicate mount path '/x'" },
      ],
    },
    {
      name: 'runAsNonRoot with runAsUser 0',
      mutate: (d) => (d.spec.template.securityContext = { runAsNonRoot: true, runAsUser: 0 }),
      issues: [{ path: 'spec.template.securityContext.runAsUser', message: 'must not be 0 (root) when runAsNonRoot is true' }],
    },
    {
      name: 'runAsNonRoot without runAsUser',
      mutate: (d) => (d.spec.template.securityContext = { runAsNonRoot: true, runAsGroup: 1000 }),
      issues: [{ path: 'spec.template.securityContext.runAsNonRoot', message: "needs runAsUser: Ordinal does not read an image's user" }],
    },
    { name: 'runAsNonRoot not a boolean', mutate: (d) => (d.spec.template.securityContext = { runAsNonRoot: 'true' }), issues: [{ path: 'spec.template.securityContext.runAsNonRoot', message: 'must be true or false' }] },
    {
      name: 'an unknown securityContext field (Kubernetes privileged)',
      mutate: (d) => (d.spec.template.securityContext = { runAsUser: 1000, privileged: true }),
      issues: [{ path: 'spec.template.securityContext.privileged', message: 'unknown field' }],
    },
    { name: 'securityContext not an object', mutate: (d) => (d.spec.template.securityContext = 1000), issues: [{ path: 'spec.template.securityContext', message: /expected object/ }] },
    {
      name: 'securityContext with ecs',
      mutate: (d) => {
        delete d.spec.template.process;
        d.spec.volumeClaimTemplates = [];
        d.spec.template.ecs = { cluster: 'prod', image: 'redis:7', subnets: ['subnet-0123456789abcdef0'] };
        d.spec.template.securityContext = { runAsUser: 1000 };
      },
      issues: [{ path: 'spec.template.securityContext', message: 'is not available with ecs yet: set the user in the image' }],
    },
    {
      name: 'every pod rule at once',
      mutate: (d) => {
        d.spec.template.process.isolation = 'none';
        d.spec.template.process.volumeMounts = [mount('/data'), { name: 'cache', mountPath: '/data' }];
        d.spec.template.securityContext = { runAsNonRoot: true, runAsUser: 0 };
      },
      issues: [
        { path: MOUNTS, message: /^needs isolation: pod/ },
        { path: `${MOUNTS}[1].mountPath`, message: "duplicate mount path '/data'" },
        { path: `${MOUNTS}[1].name`, message: /names volume 'cache'/ },
        { path: 'spec.template.securityContext.runAsUser', message: 'must not be 0 (root) when runAsNonRoot is true' },
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = withVolumes();
      c.mutate(d);
      expectIssues(d, c.issues);
    });
  }
});
