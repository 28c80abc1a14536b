// The client commands as users run them: the real CLI (`node bin/ordinal.js ...`) as a child process
// against a small HTTP server that answers like the API (docs/api.md), checking argv parsing, exit codes,
// stdout/stderr and the requests sent (method, path, content type, body, token).
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseManifest } from '../../core/manifest.js';
import { plan } from '../../core/planner.js';
import type { InstanceState } from '../../core/instance.js';
import type { SetState } from '../../core/set-state.js';
import { setView, type RevisionView, type SetView } from '../../core/status.js';
import { applyPublished } from '../../core/transitions.js';
import { freePort } from '../harness/services.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin', 'ordinal.js');
/** A deadline for each CLI run; they take well under a second each. */
const RUN_TIMEOUT_MS = 30_000;

// ---- the fake API ----

interface Recorded {
  method: string;
  url: string;
  contentType?: string;
  authorization?: string;
  ifMatch?: string;
  body: string;
}

interface Reply {
  status: number;
  body?: unknown;
  /** Sent as is instead of JSON. */
  raw?: string;
  headers?: Record<string, string>;
}

type Route = (request: Recorded, count: number) => Reply;

interface FakeApi {
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

/** Answers each request with the first matching route (`'GET /v1/sets/web'`); others get a 404 in the API's shape. */
async function fakeApi(routes: Record<string, Route | Reply>): Promise<FakeApi> {
  const requests: Recorded[] = [];
  const counts = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: Recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        contentType: req.headers['content-type'],
        authorization: req.headers.authorization,
        ifMatch: req.headers['if-match'],
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      const key = `${recorded.method} ${recorded.url}`;
      const count = counts.get(key) ?? 0;
      counts.set(key, count + 1);
      const route = routes[key];
      const reply: Reply = route === undefined ? apiError(404, 'NotFound', `no route ${key}`) : typeof route === 'function' ? route(recorded, count) : route;
      if (reply.raw !== undefined) {
        res.writeHead(reply.status, reply.headers ?? { 'content-type': 'text/html' });
        res.end(reply.raw);
      } else {
        res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
        res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function apiError(status: number, code: string, message: string, details: Array<{ path: string; message: string }> = []): Reply {
  return { status, body: { error: { code, message, details } } };
}

const NOW = Date.now();

const REVISION = 'web-5f1c2e9a0b';
const OLD = 'web-0ld0ld0ld0';

/** A set as the API returns it, built by core's setView (after the DNS records are published, as the workflow does). */
function set(
  replicas: number,
  instances: Array<Partial<InstanceState> & { ordinal: number }>,
  options: {
    name?: string;
    generation?: number;
    observedGeneration?: number;
    deleting?: boolean;
    /** More spec fields (updateStrategy, progressDeadlineSeconds, template ...). */
    spec?: Record<string, unknown>;
    updateRevision?: string;
    currentRevision?: string;
    progressAt?: number;
    lastRollback?: SetState['lastRollback'];
  } = {},
): SetView {
  const name = options.name ?? 'web';
  const parsed = parseManifest({
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: { replicas, template: { process: { command: ['node', 'server.js'] } }, ...options.spec },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const revision = options.updateRevision ?? `${name}-5f1c2e9a0b`;
  const generation = options.generation ?? 1;
  const state: SetState = {
    name,
    manifest: parsed.value,
    generation,
    // Old enough that the AGE column reads the same for the whole run.
    createdAt: NOW - 3 * 24 * 3_600_000,
    updateRevision: revision,
    currentRevision: options.currentRevision ?? revision,
    revisions: [],
    instances: instances.map((i) => {
      const phase = i.phase ?? 'Running';
      const ready = i.ready ?? phase === 'Running';
      return {
        incarnation: 1,
        revision,
        phase,
        ready,
        readySince: ready ? NOW - 60_000 : undefined,
        restarts: 0,
        consecutiveFailures: 0,
        handle:
          phase === 'Running'
            ? { set: name, ordinal: i.ordinal, incarnation: 1, revision, address: `127.77.0.${i.ordinal + 1}`, pid: 1, startedAt: NOW, logPath: '' }
            : undefined,
        ...i,
      };
    }),
    publishedNames: [],
    deleting: options.deleting ?? false,
    observedGeneration: options.observedGeneration ?? generation,
    progressAt: options.progressAt,
    lastRollback: options.lastRollback,
  };
  const publish = plan(state, NOW).actions.find((a) => a.kind === 'publish');
  if (publish?.kind === 'publish') applyPublished(state, publish, NOW);
  return setView(state, NOW);
}

const ready = (ordinal: number) => ({ ordinal });
const starting = (ordinal: number) => ({ ordinal, ready: false });
const pending = (ordinal: number) => ({ ordinal, phase: 'Pending' as const, ready: false });
const crashLooping = (ordinal: number) => ({
  ordinal,
  phase: 'Pending' as const,
  ready: false,
  restarts: 3,
  consecutiveFailures: 3,
  backoffUntil: NOW + 3_600_000,
  lastError: 'the process exited with code 1',
});

// ---- running the CLI ----

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

async function ordinal(args: string[], options: { api?: FakeApi; env?: Record<string, string>; input?: string } = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['ORDINAL_API_URL', 'ORDINAL_API_HOST', 'ORDINAL_API_PORT', 'ORDINAL_TOKEN', 'ORDINAL_CONFIG', 'ORDINAL_TOKENS_FILE', 'ORDINAL_DATA_DIR']) {
    delete env[key];
  }
  // Never the config file of whoever runs the tests: an empty config folder unless a test gives one.
  env.XDG_CONFIG_HOME = path.join(tmp, 'no-config');
  if (options.api) env.ORDINAL_API_URL = options.api.url;
  Object.assign(env, options.env);
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(options.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (exitCode) => resolve(exitCode));
    });
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

let tmp: string;
const YAML_MANIFEST = `apiVersion: ordinal.dev/v1
kind: StatefulSet
metadata:
  name: web   # the set
spec:
  replicas: 3
  template:
    process:
      command: ["node", "server.js"]
`;
const JSON_MANIFEST = JSON.stringify({
  apiVersion: 'ordinal.dev/v1',
  kind: 'StatefulSet',
  metadata: { name: 'db' },
  spec: { replicas: 1, template: { process: { command: ['node', 'db.js'] } } },
});

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'ordinal-cli-'));
  await fs.writeFile(path.join(tmp, 'web.yaml'), YAML_MANIFEST);
  await fs.writeFile(path.join(tmp, 'db.json'), JSON_MANIFEST);
  await fs.writeFile(path.join(tmp, 'noname.yaml'), 'apiVersion: ordinal.dev/v1\nkind: StatefulSet\nmetadata: {}\nspec: {}\n');
  await fs.writeFile(path.join(tmp, 'manifest'), JSON_MANIFEST);
});

afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** Runs `fn` with a fake API that is closed afterwards. */
/** The watch stream requests a command made (rollout status and get -w try it before polling). */
function streamAttempts(api: FakeApi): string[] {
  return api.requests.filter((r) => /^\/v1\/sets\/[^/]+\/watch/.test(r.url)).map((r) => `${r.method} ${r.url}`);
}

/** Every other request: the reads of the set when polling. */
function polled(api: FakeApi) {
  return api.requests.filter((r) => !/^\/v1\/sets\/[^/]+\/watch/.test(r.url));
}

async function withApi<T>(routes: Record<string, Route | Reply>, fn: (api: FakeApi) => Promise<T>): Promise<T> {
  const api = await fakeApi(routes);
  try {
    return await fn(api);
  } finally {
    await api.close();
  }
}

describe.concurrent('ordinal apply', () => {
  it('PUTs a YAML file untouched as application/yaml and prints "created" on 201, "configured" on 200', async ({ expect }) => {
    await withApi({ 'PUT /v1/sets/web': (_, n) => ({ status: n === 0 ? 201 : 200, body: set(3, []) }) }, async (api) => {
      const file = path.join(tmp, 'web.yaml');
      expect(await ordinal(['apply', '-f', file], { api })).toEqual({ code: 0, stdout: 'set web created\n', stderr: '' });
      expect(await ordinal(['apply', '--filename', file], { api })).toEqual({ code: 0, stdout: 'set web configured\n', stderr: '' });
      expect(api.requests).toHaveLength(2);
      expect(api.requests[0]).toMatchObject({ method: 'PUT', url: '/v1/sets/web', contentType: 'application/yaml', body: YAML_MANIFEST });
      expect(api.requests[0].authorization).toBeUndefined();
    });
  });

  it('PUTs a .json file as application/json', async ({ expect }) => {
    await withApi({ 'PUT /v1/sets/db': { status: 201, body: set(1, [], { name: 'db' }) } }, async (api) => {
      expect(await ordinal(['apply', '-f', path.join(tmp, 'db.json')], { api })).toEqual({ code: 0, stdout: 'set db created\n', stderr: '' });
      expect(api.requests[0]).toMatchObject({ method: 'PUT', url: '/v1/sets/db', contentType: 'application/json', body: JSON_MANIFEST });
    });
  });

  it('tells JSON from YAML by content when the extension does not say', async ({ expect }) => {
    await withApi({ 'PUT /v1/sets/db': { status: 200, body: set(1, [], { name: 'db' }) } }, async (api) => {
      expect((await ordinal(['apply', '-f', path.join(tmp, 'manifest')], { api })).code).toBe(0);
      expect(api.requests[0].contentType).toBe('application/json');
    });
  });

  it('reads standard input with -f -', async ({ expect }) => {
    await withApi(
      { 'PUT /v1/sets/web': { status: 201, body: set(3, []) }, 'PUT /v1/sets/db': { status: 200, body: set(1, [], { name: 'db' }) } },
      async (api) => {
        expect(await ordinal(['apply', '-f', '-'], { api, input: YAML_MANIFEST })).toEqual({ code: 0, stdout: 'set web created\n', stderr: '' });
        expect(await ordinal(['apply', '-f', '-'], { api, input: JSON_MANIFEST })).toEqual({ code: 0, stdout: 'set db configured\n', stderr: '' });
        expect(api.requests.map((r) => [r.url, r.contentType, r.body])).toEqual([
          ['/v1/sets/web', 'application/yaml', YAML_MANIFEST],
          ['/v1/sets/db', 'application/json', JSON_MANIFEST],
        ]);
      },
    );
  });

  it('prints the API\'s validation errors, one line per field, and exits 1', async ({ expect }) => {
    const reply = apiError(400, 'InvalidManifest', 'the manifest is invalid', [
      { path: 'spec.replicas', message: 'must be at least 0' },
      { path: 'spec.template.process.command', message: 'is required' },
    ]);
    await withApi({ 'PUT /v1/sets/web': reply }, async (api) => {
      expect(await ordinal(['apply', '-f', path.join(tmp, 'web.yaml')], { api })).toEqual({
        code: 1,
        stdout: '',
        stderr: 'error: the manifest is invalid\n  spec.replicas: must be at least 0\n  spec.template.process.command: is required\n',
      });
    });
  });

  it('names metadata.name when the file has none, with every other field error, without calling the API', async ({ expect }) => {
    await withApi({}, async (api) => {
      const file = path.join(tmp, 'noname.yaml');
      expect(await ordinal(['apply', '-f', file], { api })).toEqual({
        code: 1,
        stdout: '',
        stderr: `error: ${file} has no metadata.name: the set's name is required to apply it\n  metadata.name: is required\n  spec.template: is required\n`,
      });
      const invalid = await ordinal(['apply', '-f', '-'], { api, input: 'metadata: [unclosed\n' });
      expect(invalid.code).toBe(1);
      expect(invalid.stderr).toMatch(/^error: cannot apply standard input\n {2}invalid YAML/);
      const missing = await ordinal(['apply', '-f', path.join(tmp, 'nope.yaml')], { api });
      expect(missing).toEqual({ code: 1, stdout: '', stderr: `error: cannot read ${path.join(tmp, 'nope.yaml')}: no such file\n` });
      expect(api.requests).toEqual([]);
    });
  });

  it('a name that is not a set name: every field error with its path at once, exit 1, nothing sent (issue 16)', async ({ expect }) => {
    await withApi({}, async (api) => {
      const input = 'apiVersion: ordinal.dev/v1\nkind: StatefulSet\nmetadata: {name: Bad}\nspec:\n  replicas: two\n  template: {process: {command: [node]}, ports: [{port: 0}]}\n';
      expect(await ordinal(['apply', '-f', '-'], { api, input })).toEqual({
        code: 1,
        stdout: '',
        stderr:
          'error: cannot apply standard input: the manifest is invalid\n' +
          "  metadata.name: must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit\n" +
          '  spec.replicas: must be a number\n' +
          '  spec.template.ports[0].port: must be at least 1\n',
      });
      expect(api.requests).toEqual([]);
    });
  });

  it('requires -f', async ({ expect }) => {
    const run = await ordinal(['apply']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("error: required option '-f, --filename <file>' not specified");
  });
});

/** The header that marks the API's answer to a dry run. */
const DRY_RUN = { 'ordinal-dry-run': 'true' };

describe.concurrent('ordinal apply and delete with many manifests (issue 15)', () => {
  const twoSets = `${YAML_MANIFEST}---\n${YAML_MANIFEST.replace('name: web', 'name: db')}`;

  it('checks every set with a server dry run first: one the API would refuse stops them all, nothing applied, exit 1', async ({ expect }) => {
    const routes = {
      'PUT /v1/sets/web?dryRun=true': apiError(422, 'Immutable', 'spec.serviceName cannot change'),
      'PUT /v1/sets/db?dryRun=true': { status: 201, body: set(3, [], { name: 'db' }), headers: DRY_RUN },
    };
    await withApi(routes, async (api) => {
      expect(await ordinal(['apply', '-f', '-', '--prune', '--selector', 'app=shop'], { api, input: twoSets })).toEqual({
        code: 1,
        stdout: '',
        stderr: 'error: set web: spec.serviceName cannot change\nerror: cannot apply: the API would refuse 1 of 2 sets (web); nothing was applied\n',
      });
      expect(api.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['PUT /v1/sets/web?dryRun=true', 'PUT /v1/sets/db?dryRun=true']);
    });
  });

  it('sends each set as JSON, a line each; one the API refuses after its dry run passed is reported, the others still applied, exit 1, nothing pruned', async ({ expect }) => {
    const routes = {
      'PUT /v1/sets/web?dryRun=true': { status: 200, body: set(3, []), headers: DRY_RUN },
      'PUT /v1/sets/db?dryRun=true': { status: 201, body: set(3, [], { name: 'db' }), headers: DRY_RUN },
      // Changed in between: the real apply is refused although its dry run passed.
      'PUT /v1/sets/web': apiError(422, 'Immutable', 'spec.serviceName cannot change'),
      'PUT /v1/sets/db': { status: 201, body: set(3, [], { name: 'db' }) },
    };
    await withApi(routes, async (api) => {
      expect(await ordinal(['apply', '-f', '-', '--prune', '--selector', 'app=shop'], { api, input: twoSets })).toEqual({
        code: 1,
        stdout: 'set db created\n',
        stderr: 'error: spec.serviceName cannot change\nerror: 1 of 2 sets could not be applied (web); nothing was pruned\n',
      });
      expect(api.requests.map((r) => `${r.method} ${r.url} ${r.contentType}`)).toEqual([
        'PUT /v1/sets/web?dryRun=true application/json',
        'PUT /v1/sets/db?dryRun=true application/json',
        'PUT /v1/sets/web application/json',
        'PUT /v1/sets/db application/json',
      ]);
      expect(JSON.parse(api.requests[3].body)).toEqual(parseYaml(YAML_MANIFEST.replace('name: web', 'name: db')));
    });
  });

  it('--prune deletes the labelled sets not named, skips those already being deleted, and takes a 404 as done', async ({ expect }) => {
    const labelled = (name: string, labels: Record<string, string> | undefined, deleting = false) => {
      const view = set(1, [], { name, deleting });
      return { ...view, metadata: { ...view.metadata, ...(labels && { labels }) } };
    };
    const routes = {
      'PUT /v1/sets/web?dryRun=true': { status: 200, body: set(3, []), headers: DRY_RUN },
      'PUT /v1/sets/db?dryRun=true': { status: 200, body: set(3, [], { name: 'db' }), headers: DRY_RUN },
      'PUT /v1/sets/web': { status: 200, body: set(3, []) },
      'PUT /v1/sets/db': { status: 200, body: set(3, [], { name: 'db' }) },
      'GET /v1/sets': {
        status: 200,
        body: {
          items: [
            labelled('web', { app: 'shop' }),
            labelled('db', { app: 'shop' }),
            labelled('zz-old', { app: 'shop', tier: 'x' }),
            labelled('gone', { app: 'shop' }),
            labelled('going', { app: 'shop' }, true),
            labelled('other', { app: 'blog' }),
            labelled('plain', undefined),
          ],
        },
      },
      'DELETE /v1/sets/zz-old': { status: 202, body: {} },
      'DELETE /v1/sets/gone': apiError(404, 'NotFound', "set 'gone' does not exist"),
    };
    await withApi(routes, async (api) => {
      expect(await ordinal(['apply', '-f', '-', '--prune', '--selector', 'app=shop'], { api, input: twoSets })).toEqual({
        code: 0,
        stdout: 'set web configured\nset db configured\nset zz-old deleted (pruned)\n',
        stderr: '',
      });
      expect(api.requests.filter((r) => r.method === 'DELETE').map((r) => r.url)).toEqual(['/v1/sets/gone', '/v1/sets/zz-old']);
    });
  });

  it('--selector without --prune, and delete with both a name and -f, are errors before any request', async ({ expect }) => {
    await withApi({}, async (api) => {
      expect(await ordinal(['apply', '-f', path.join(tmp, 'web.yaml'), '--selector', 'app=shop'], { api })).toEqual({
        code: 1,
        stdout: '',
        stderr: 'error: --selector is used only with --prune\n',
      });
      expect((await ordinal(['apply', '-f', path.join(tmp, 'web.yaml'), '--prune', '--selector', 'app'], { api })).stderr).toMatch(/must be LABEL=VALUE/);
      expect(await ordinal(['delete', 'web', '-f', path.join(tmp, 'web.yaml')], { api })).toEqual({ code: 1, stdout: '', stderr: 'error: give a set name or -f, not both\n' });
      expect(await ordinal(['delete'], { api })).toEqual({ code: 1, stdout: '', stderr: 'error: which set? give its name, or -f with its manifests\n' });
      expect(api.requests).toEqual([]);
    });
  });

  it('delete -f: each set deleted, a line each; one missing is reported and the others still deleted, exit 1', async ({ expect }) => {
    const routes = {
      'DELETE /v1/sets/web': apiError(404, 'NotFound', "set 'web' does not exist"),
      'DELETE /v1/sets/db': { status: 202, body: {} },
    };
    await withApi(routes, async (api) => {
      expect(await ordinal(['delete', '-f', '-'], { api, input: twoSets })).toEqual({
        code: 1,
        stdout: 'set db deleted\n',
        stderr: "error: set 'web' does not exist\nerror: 1 of 2 sets could not be deleted (web)\n",
      });
    });
  });
});

describe.concurrent('ordinal get', () => {
  const web = set(3, [ready(0), ready(1), crashLooping(2)]);
  const db = set(1, [ready(0)], { name: 'db' });

  it('lists the sets in a table', async ({ expect }) => {
    await withApi({ 'GET /v1/sets': { status: 200, body: { items: [db, web] } } }, async (api) => {
      const run = await ordinal(['get'], { api });
      expect(run).toEqual({
        code: 0,
        stderr: '',
        stdout: [
          'NAME   READY   PHASE      REVISION         AGE',
          'db     1/1     Ready      db-5f1c2e9a0b    3d',
          'web    2/3     Degraded   web-5f1c2e9a0b   3d',
          '',
        ].join('\n'),
      });
      expect(api.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /v1/sets']);
    });
  });

  it('says on stderr when there are no sets', async ({ expect }) => {
    await withApi({ 'GET /v1/sets': { status: 200, body: { items: [] } } }, async (api) => {
      expect(await ordinal(['get'], { api })).toEqual({ code: 0, stdout: '', stderr: 'No sets found.\n' });
      expect(await ordinal(['get', '-o', 'json'], { api })).toEqual({ code: 0, stdout: '{\n  "items": []\n}\n', stderr: '' });
    });
  });

  it('prints the list as the API object in JSON and YAML', async ({ expect }) => {
    await withApi({ 'GET /v1/sets': { status: 200, body: { items: [db, web] } } }, async (api) => {
      const json = await ordinal(['get', '-o', 'json'], { api });
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual({ items: [db, web] });
      const yaml = await ordinal(['get', '--output=yaml'], { api });
      expect(yaml.code).toBe(0);
      expect(parseYaml(yaml.stdout)).toEqual({ items: [db, web] });
    });
  });

  it('shows one set, then its instances', async ({ expect }) => {
    await withApi({ 'GET /v1/sets/web': { status: 200, body: web } }, async (api) => {
      const run = await ordinal(['get', 'web'], { api });
      expect(run).toEqual({
        code: 0,
        stderr: '',
        stdout: [
          'NAME   READY   PHASE      REVISION         AGE',
          'web    2/3     Degraded   web-5f1c2e9a0b   3d',
          'Progressing=True Reconciling: waiting for web-2 to restart after a crash-loop back-off',
          'ReplicaFailure=True CrashLoopBackOff: web-2: the process exited with code 1',
          '',
          'NAME    PHASE              READY   AVAILABLE   CORDONED   ADDRESS      RESTARTS   REVISION',
          'web-0   Running            true    true        false      127.77.0.1   0          web-5f1c2e9a0b',
          'web-1   Running            true    true        false      127.77.0.2   0          web-5f1c2e9a0b',
          'web-2   CrashLoopBackOff   false   false       false      <none>       3          web-5f1c2e9a0b',
          '',
        ].join('\n'),
      });
      const json = await ordinal(['get', 'web', '-o', 'json'], { api });
      expect(JSON.parse(json.stdout)).toEqual(web);
      const yaml = await ordinal(['get', 'web', '-o', 'yaml'], { api });
      expect(parseYaml(yaml.stdout)).toEqual(web);
    });
  });

  it('exits 1 with the API\'s message for a missing set', async ({ expect }) => {
    await withApi({ 'GET /v1/sets/nope': apiError(404, 'NotFound', "set 'nope' does not exist") }, async (api) => {
      expect(await ordinal(['get', 'nope'], { api })).toEqual({ code: 1, stdout: '', stderr: "error: set 'nope' does not exist\n" });
    });
  });

  it('rejects an unknown output format before calling the API', async ({ expect }) => {
    await withApi({}, async (api) => {
      const run = await ordinal(['get', '-o', 'name'], { api });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("unknown output format 'name': use one of table, wide, json, yaml");
      expect(api.requests).toEqual([]);
    });
  });

  it('-o wide adds the DNS names; cordoned and not yet available instances and a paused rollout show', async ({ expect }) => {
    const paused = set(3, [{ ordinal: 0, revision: OLD }, { ordinal: 1, cordoned: true }, { ordinal: 2, readySince: NOW }], {
      currentRevision: OLD,
      spec: { minReadySeconds: 30, updateStrategy: { rollingUpdate: { paused: true } } },
    });
    await withApi({ 'GET /v1/sets/web': { status: 200, body: paused } }, async (api) => {
      const run = await ordinal(['get', 'web', '-o', 'wide'], { api });
      expect(run).toEqual({
        code: 0,
        stderr: '',
        stdout: [
          'NAME   READY   PHASE    REVISION         AGE   SERVICE',
          'web    3/3     Paused   web-5f1c2e9a0b   3d    web.ordinal.internal',
          'Progressing=Unknown RolloutPaused: the rollout is paused; resume it to go on',
          '',
          'NAME    PHASE     READY   AVAILABLE   CORDONED   ADDRESS      DNS NAME                     RESTARTS   REVISION',
          `web-0   Running   true    true        false      127.77.0.1   web-0.web.ordinal.internal   0          ${OLD}`,
          'web-1   Running   true    true        true       127.77.0.2   web-1.web.ordinal.internal   0          web-5f1c2e9a0b',
          'web-2   Running   true    false       false      127.77.0.3   web-2.web.ordinal.internal   0          web-5f1c2e9a0b',
          '',
        ].join('\n'),
      });
    });
  });
});

describe.concurrent('ordinal scale', () => {
  it('sends a JSON merge patch of spec.replicas', async ({ expect }) => {
    await withApi({ 'PATCH /v1/sets/web': { status: 200, body: set(5, []) } }, async (api) => {
      expect(await ordinal(['scale', 'web', '5'], { api })).toEqual({ code: 0, stdout: 'set web scaled to 5\n', stderr: '' });
      expect(await ordinal(['scale', 'web', '0'], { api })).toEqual({ code: 0, stdout: 'set web scaled to 0\n', stderr: '' });
      expect(api.requests.map((r) => [r.method, r.url, r.contentType, JSON.parse(r.body)])).toEqual([
        ['PATCH', '/v1/sets/web', 'application/merge-patch+json', { spec: { replicas: 5 } }],
        ['PATCH', '/v1/sets/web', 'application/merge-patch+json', { spec: { replicas: 0 } }],
      ]);
    });
  });

  it('validates the count locally', async ({ expect }) => {
    await withApi({}, async (api) => {
      for (const bad of ['three', '1.5', '-1']) {
        const run = await ordinal(['scale', 'web', bad], { api });
        expect(run.code, bad).toBe(1);
        expect(run.stdout).toBe('');
      }
      expect((await ordinal(['scale', 'web', '1.5'], { api })).stderr).toContain("replicas must be a non-negative integer, got '1.5'");
      expect((await ordinal(['scale', 'web'], { api })).stderr).toContain("missing required argument 'replicas'");
      expect(api.requests).toEqual([]);
    });
  });

  it('prints the API\'s field errors', async ({ expect }) => {
    const reply = apiError(400, 'InvalidManifest', 'the manifest is invalid', [{ path: 'spec.replicas', message: 'must be at most 1000' }]);
    await withApi({ 'PATCH /v1/sets/web': reply }, async (api) => {
      expect(await ordinal(['scale', 'web', '5000'], { api })).toEqual({
        code: 1,
        stdout: '',
        stderr: 'error: the manifest is invalid\n  spec.replicas: must be at most 1000\n',
      });
    });
  });
});

describe.concurrent('ordinal delete', () => {
  it('DELETEs the set', async ({ expect }) => {
    await withApi({ 'DELETE /v1/sets/web': { status: 202, body: set(3, [ready(0)], { deleting: true }) } }, async (api) => {
      expect(await ordinal(['delete', 'web'], { api })).toEqual({ code: 0, stdout: 'set web deleted\n', stderr: '' });
      expect(api.requests.map((r) => `${r.method} ${r.url} ${r.body}`)).toEqual(['DELETE /v1/sets/web ']);
    });
  });

  it('--wait polls until GET is 404, showing the instances left', async ({ expect }) => {
    const views = [set(3, [ready(0), ready(1), ready(2)], { deleting: true }), set(3, [ready(0)], { deleting: true }), set(3, [ready(0)], { deleting: true })];
    await withApi(
      {
        'DELETE /v1/sets/web': { status: 202, body: views[0] },
        'GET /v1/sets/web': (_, n) => (n < views.length ? { status: 200, body: views[n] } : apiError(404, 'NotFound', "set 'web' does not exist")),
      },
      async (api) => {
        expect(await ordinal(['delete', 'web', '--wait', '--interval', '10ms'], { api })).toEqual({
          code: 0,
          stdout: 'deleting set web: 3 instances left\ndeleting set web: 1 instance left\nset web deleted\n',
          stderr: '',
        });
        expect(api.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
          'DELETE /v1/sets/web',
          'GET /v1/sets/web',
          'GET /v1/sets/web',
          'GET /v1/sets/web',
          'GET /v1/sets/web',
        ]);
      },
    );
  });

  // Timeouts of a few seconds: the CLI starts and makes its first read within them even on a loaded
  // machine (300 ms did not always suffice, and the run then timed out before the set could be read).
  it('--wait gives up after --timeout', async ({ expect }) => {
    const view = set(3, [ready(0), ready(1)], { deleting: true });
    await withApi({ 'DELETE /v1/sets/web': { status: 202, body: view }, 'GET /v1/sets/web': { status: 200, body: view } }, async (api) => {
      expect(await ordinal(['delete', 'web', '--wait', '--timeout', '2s', '--interval', '20ms'], { api })).toEqual({
        code: 1,
        stdout: 'deleting set web: 2 instances left\n',
        stderr: 'error: timed out after 2s waiting for set web to be deleted: 2 instances left\n',
      });
    });
  });

  it('exits 1 for a set that does not exist', async ({ expect }) => {
    await withApi({ 'DELETE /v1/sets/nope': apiError(404, 'NotFound', "set 'nope' does not exist") }, async (api) => {
      expect(await ordinal(['delete', 'nope'], { api })).toEqual({ code: 1, stdout: '', stderr: "error: set 'nope' does not exist\n" });
    });
  });
});

describe.concurrent('ordinal delete-instance', () => {
  it('DELETEs one instance by ordinal', async ({ expect }) => {
    await withApi({ 'DELETE /v1/sets/web/instances/1': { status: 202, body: set(3, [ready(0), pending(1)]) } }, async (api) => {
      expect(await ordinal(['delete-instance', 'web', '1'], { api })).toEqual({
        code: 0,
        stdout: 'instance web-1 deleted; it will be recreated under the same name\n',
        stderr: '',
      });
      expect(api.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['DELETE /v1/sets/web/instances/1']);
    });
  });

  it('validates the ordinal locally and reports the API\'s errors', async ({ expect }) => {
    await withApi({ 'DELETE /v1/sets/web/instances/7': apiError(404, 'NotFound', "set 'web' has no instance web-7") }, async (api) => {
      const bad = await ordinal(['delete-instance', 'web', 'one'], { api });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain("ordinal must be a non-negative integer, got 'one'");
      expect(await ordinal(['delete-instance', 'web', '7'], { api })).toEqual({ code: 1, stdout: '', stderr: "error: set 'web' has no instance web-7\n" });
      expect(api.requests.map((r) => r.url)).toEqual(['/v1/sets/web/instances/7']);
    });
  });
});

describe.concurrent('ordinal rollout status', () => {
  it('prints progress as it changes and exits 0 once the set is Ready', async ({ expect }) => {
    const polls = [
      set(2, [], { observedGeneration: 0 }),
      set(2, [pending(0)]),
      set(2, [pending(0)]),
      set(2, [starting(0)]),
      set(2, [ready(0), pending(1)]),
      set(2, [ready(0), ready(1)]),
    ];
    await withApi({ 'GET /v1/sets/web': (_, n) => ({ status: 200, body: polls[Math.min(n, polls.length - 1)] }) }, async (api) => {
      const run = await ordinal(['rollout', 'status', 'web', '--interval', '10ms'], { api });
      expect(run).toEqual({
        code: 0,
        stderr: '',
        stdout: [
          'waiting for the controller to observe generation 1 (observed 0)',
          '0/2 instances Ready',
          'web-0: Pending',
          'waiting for web-0 to become Ready',
          'web-0: Running, not Ready (127.77.0.1)',
          'web-0: Running, Ready (127.77.0.1)',
          'web-1: Pending',
          'waiting for web-1 to become Ready',
          '1/2 instances Ready',
          'web-1: Running, Ready (127.77.0.2)',
          'set web is Ready (2/2)',
          '',
        ].join('\n'),
      });
      // The stream is tried first (the fake answers 404), then the set is polled.
      expect(streamAttempts(api)).toEqual(['GET /v1/sets/web/watch']);
      expect(polled(api)).toHaveLength(polls.length);
    });
  });

  it('exits 0 at once for a set that is already Ready', async ({ expect }) => {
    await withApi({ 'GET /v1/sets/web': { status: 200, body: set(1, [ready(0)]) } }, async (api) => {
      expect(await ordinal(['rollout', 'status', 'web'], { api })).toEqual({
        code: 0,
        stdout: 'web-0: Running, Ready (127.77.0.1)\nset web is Ready (1/1)\n',
        stderr: '',
      });
    });
  });

  it('exits 1 with the reason when the timeout passes', async ({ expect }) => {
    const view = set(3, [ready(0), ready(1), starting(2)]);
    await withApi({ 'GET /v1/sets/web': { status: 200, body: view } }, async (api) => {
      const started = Date.now();
      const run = await ordinal(['rollout', 'status', 'web', '--timeout', '2s', '--interval', '50ms'], { api });
      expect(run.code).toBe(1);
      expect(run.stderr).toBe('error: timed out after 2s: 2/3 Ready; waiting for web-2 to become Ready\n');
      expect(run.stdout).toContain('waiting for web-2 to become Ready');
      expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    });
  });

  it('fails at once, with its last exit, when an instance of the update revision crash loops', async ({ expect }) => {
    const view = set(3, [ready(0), ready(1), crashLooping(2)]);
    await withApi({ 'GET /v1/sets/web': { status: 200, body: view } }, async (api) => {
      const started = Date.now();
      const run = await ordinal(['rollout', 'status', 'web', '--timeout', '30s', '--interval', '50ms'], { api });
      expect(run.code).toBe(1);
      expect(run.stderr).toBe('error: rollout of web failed: web-2 is crash looping (restarts 3): the process exited with code 1\n');
      expect(Date.now() - started).toBeLessThan(15_000);
    });
  });

  it('accepts plain seconds for --timeout', async ({ expect }) => {
    await withApi({ 'GET /v1/sets/web': { status: 200, body: set(2, [ready(0)]) } }, async (api) => {
      const run = await ordinal(['rollout', 'status', 'web', '--timeout', '1.5', '--interval', '50ms'], { api });
      expect(run.code).toBe(1);
      expect(run.stderr).toBe('error: timed out after 1.5s: 1/2 Ready; waiting for web-1 to become Ready\n');
    });
  });

  it('exits 1 when the set does not exist', async ({ expect }) => {
    await withApi({ 'GET /v1/sets/web': apiError(404, 'NotFound', "set 'web' does not exist") }, async (api) => {
      expect(await ordinal(['rollout', 'status', 'web'], { api })).toEqual({ code: 1, stdout: '', stderr: 'error: set web does not exist\n' });
    });
  });

  it('exits 1 when the set is deleted while it watches', async ({ expect }) => {
    await withApi(
      { 'GET /v1/sets/web': (_, n) => (n === 0 ? { status: 200, body: set(2, [ready(0)]) } : apiError(404, 'NotFound', "set 'web' does not exist")) },
      async (api) => {
        const run = await ordinal(['rollout', 'status', 'web', '--interval', '10ms'], { api });
        expect(run.code).toBe(1);
        expect(run.stderr).toBe('error: set web was deleted\n');
      },
    );
  });

  it('exits 1 when the set is being deleted', async ({ expect }) => {
    await withApi({ 'GET /v1/sets/web': { status: 200, body: set(2, [ready(0)], { deleting: true }) } }, async (api) => {
      const run = await ordinal(['rollout', 'status', 'web'], { api });
      expect(run.code).toBe(1);
      expect(run.stderr).toBe('error: set web is being deleted\n');
    });
  });

  it('rides out a brief API outage after the first poll', async ({ expect }) => {
    await withApi(
      {
        'GET /v1/sets/web': (_, n) =>
          n === 0
            ? { status: 200, body: set(1, [pending(0)]) }
            : n < 3
              ? apiError(503, 'Unavailable', 'Temporal did not answer')
              : { status: 200, body: set(1, [ready(0)]) },
      },
      async (api) => {
        const run = await ordinal(['rollout', 'status', 'web', '--interval', '10ms'], { api });
        expect(run.code).toBe(0);
        expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('set web is Ready (1/1)');
        expect(run.stderr).toBe('warning: Temporal did not answer; retrying\nthe API answers again\n');
      },
    );
  });

  it('rejects a bad duration', async ({ expect }) => {
    const run = await ordinal(['rollout', 'status', 'web', '--timeout', 'soon']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("invalid duration 'soon': use e.g. 90s, 5m, 1h");
    const zero = await ordinal(['rollout', 'status', 'web', '--interval', '0']);
    expect(zero.code).toBe(1);
    expect(zero.stderr).toContain("the duration must be more than 0, got '0'");
  });
});

describe.concurrent('ordinal cordon and uncordon', () => {
  it('PUTs and DELETEs the instance\'s cordon', async ({ expect }) => {
    await withApi(
      {
        'PUT /v1/sets/web/instances/1/cordon': { status: 200, body: set(2, [ready(0), { ordinal: 1, cordoned: true }]) },
        'DELETE /v1/sets/web/instances/1/cordon': { status: 200, body: set(2, [ready(0), ready(1)]) },
      },
      async (api) => {
        expect(await ordinal(['cordon', 'web', '1'], { api })).toEqual({
          code: 0,
          stdout: 'instance web-1 cordoned: out of the service records, still running\n',
          stderr: '',
        });
        expect(await ordinal(['uncordon', 'web', '1'], { api })).toEqual({ code: 0, stdout: 'instance web-1 uncordoned\n', stderr: '' });
        expect(api.requests.map((r) => `${r.method} ${r.url} ${r.body}`)).toEqual([
          'PUT /v1/sets/web/instances/1/cordon ',
          'DELETE /v1/sets/web/instances/1/cordon ',
        ]);
      },
    );
  });

  it('validates the ordinal locally and reports the API\'s errors', async ({ expect }) => {
    await withApi(
      {
        'PUT /v1/sets/web/instances/7/cordon': apiError(404, 'NotFound', 'instance web-7 does not exist'),
        'DELETE /v1/sets/web/instances/0/cordon': apiError(409, 'Conflict', "set 'web' is being deleted"),
      },
      async (api) => {
        const bad = await ordinal(['uncordon', 'web', '-1'], { api });
        expect(bad.code).toBe(1);
        expect(bad.stderr).toMatch(/ordinal must be a non-negative integer, got '-1'|unknown option '-1'/);
        expect(await ordinal(['cordon', 'web', '7'], { api })).toEqual({ code: 1, stdout: '', stderr: 'error: instance web-7 does not exist\n' });
        expect(await ordinal(['uncordon', 'web', '0'], { api })).toEqual({ code: 1, stdout: '', stderr: "error: set 'web' is being deleted\n" });
        expect(api.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['PUT /v1/sets/web/instances/7/cordon', 'DELETE /v1/sets/web/instances/0/cordon']);
      },
    );
  });
});

describe.concurrent('ordinal rollout status: deadlines, rollbacks, pauses', () => {
  const stuck = set(2, [ready(0), crashLooping(1)], { spec: { progressDeadlineSeconds: 60 }, progressAt: NOW - 61_000 });
  const rollbackReason = `no progress for 600s on ${REVISION}; back to ${OLD}, the last revision that was fully Ready`;
  const updating = set(2, [{ ordinal: 0, revision: OLD }, { ordinal: 1, ready: false }], { currentRevision: OLD, generation: 2 });
  const rolledBack = (at: number) =>
    set(2, [{ ordinal: 0, revision: OLD }, { ordinal: 1, revision: OLD }], {
      updateRevision: OLD,
      currentRevision: OLD,
      generation: 3,
      lastRollback: { from: REVISION, to: OLD, at, reason: rollbackReason },
    });
  const paused = (flag: boolean) =>
    set(2, [{ ordinal: 0, revision: OLD }, ready(1)], { currentRevision: OLD, generation: 2, spec: { updateStrategy: { rollingUpdate: { paused: flag } } } });
  const pausedLine = 'rollout of web is paused; waiting for "ordinal rollout resume web"';

  it('exits 1 at once when the progress deadline is exceeded, with the condition\'s message', async ({ expect }) => {
    const condition = stuck.status.conditions.find((c) => c.type === 'Progressing')!;
    expect(condition.reason).toBe('ProgressDeadlineExceeded');
    await withApi({ 'GET /v1/sets/web': { status: 200, body: stuck } }, async (api) => {
      const run = await ordinal(['rollout', 'status', 'web'], { api });
      expect(run).toEqual({
        code: 1,
        stdout: 'web-0: Running, Ready (127.77.0.1)\nweb-1: CrashLoopBackOff: the process exited with code 1\n',
        stderr: `error: rollout of web failed: progress deadline exceeded: ${condition.message}\n`,
      });
      expect(condition.message).toMatch(/^no progress for 60s; /);
      // The stream is tried first (the fake answers 404), then the set is polled.
      expect(streamAttempts(api)).toEqual(['GET /v1/sets/web/watch']);
      expect(polled(api)).toHaveLength(1);
    });
  });

  it('exits 1 when the set is rolled back while it waits (told by the revision it first saw)', async ({ expect }) => {
    // The rollback's time is an hour before ours (a server clock behind): the first poll's revision tells.
    const polls = [updating, updating, rolledBack(NOW - 3_600_000)];
    await withApi({ 'GET /v1/sets/web': (_, n) => ({ status: 200, body: polls[Math.min(n, polls.length - 1)] }) }, async (api) => {
      const run = await ordinal(['rollout', 'status', 'web', '--interval', '10ms'], { api });
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(`error: rollout of web failed: rolled back from ${REVISION} to ${OLD}: ${rollbackReason}\n`);
      expect(run.stdout.split('\n')).toEqual([
        `web-0: Running, Ready (127.77.0.1), old revision ${OLD}`,
        'web-1: Running, not Ready (127.77.0.2)',
        'waiting for web-1 to become Ready',
        '1/2 instances Ready, 1/2 updated',
        'web-0: Running, Ready (127.77.0.1)',
        'web-1: Running, Ready (127.77.0.2)',
        '',
      ]);
      // The stream is tried first (the fake answers 404), then the set is polled.
      expect(streamAttempts(api)).toEqual(['GET /v1/sets/web/watch']);
      expect(polled(api)).toHaveLength(3);
    });
  });

  it('exits 1 for a rollback made after it started, but not for one made before', async ({ expect }) => {
    await withApi(
      {
        // Answered with the time of the request: after the command started.
        'GET /v1/sets/web': () => ({ status: 200, body: rolledBack(Date.now()) }),
        'GET /v1/sets/old': { status: 200, body: { ...rolledBack(NOW - 3_600_000), metadata: { ...rolledBack(NOW).metadata, name: 'old' } } },
      },
      async (api) => {
        const run = await ordinal(['rollout', 'status', 'web'], { api });
        expect(run.code).toBe(1);
        expect(run.stderr).toBe(`error: rollout of web failed: rolled back from ${REVISION} to ${OLD}: ${rollbackReason}\n`);
        const before = await ordinal(['rollout', 'status', 'old'], { api });
        expect(before.code).toBe(0);
        expect(before.stdout.trimEnd().split('\n').at(-1)).toBe('set old is Ready (2/2)');
      },
    );
  });

  it('reports a pause once and waits on it until the timeout', async ({ expect }) => {
    await withApi({ 'GET /v1/sets/web': { status: 200, body: paused(true) } }, async (api) => {
      const run = await ordinal(['rollout', 'status', 'web', '--timeout', '2s', '--interval', '20ms'], { api });
      expect(run).toEqual({
        code: 1,
        stdout: [`web-0: Running, Ready (127.77.0.1), old revision ${OLD}`, 'web-1: Running, Ready (127.77.0.2)', pausedLine, '2/2 instances Ready, 1/2 updated', ''].join('\n'),
        stderr: 'error: timed out after 2s: 2/2 Ready; waiting for the rollout to be resumed ("ordinal rollout resume web")\n',
      });
      // Polled until the timeout (how often depends on the machine's load), the pause printed once.
      expect(api.requests.length).toBeGreaterThanOrEqual(1);
    });
  });

  it('goes on once the rollout is resumed, and exits 0 when it is Ready', async ({ expect }) => {
    const done = set(2, [ready(0), ready(1)], { generation: 3 });
    const polls = [paused(true), paused(true), paused(true), { ...paused(false), metadata: { ...paused(false).metadata, generation: 3 } }, done];
    await withApi({ 'GET /v1/sets/web': (_, n) => ({ status: 200, body: polls[Math.min(n, polls.length - 1)] }) }, async (api) => {
      const run = await ordinal(['rollout', 'status', 'web', '--interval', '10ms'], { api });
      expect(run.code).toBe(0);
      expect(run.stderr).toBe('');
      expect(run.stdout.split('\n').filter((line) => line === pausedLine)).toHaveLength(1);
      expect(run.stdout.trimEnd().split('\n').slice(-2)).toEqual(['web-0: Running, Ready (127.77.0.1)', 'set web is Ready (2/2)']);
    });
  });
});

/** Revisions as GET /v1/sets/web/revisions lists them: C is the update revision, B the current one. */
const REV_A = 'web-aaaaaaaaaa';
const REV_B = 'web-bbbbbbbbbb';
const REV_C = 'web-cccccccccc';
function revisionView(number: number, name: string, flags: Partial<RevisionView> = {}): RevisionView {
  return {
    name,
    revision: number,
    generation: number,
    createdAt: new Date(NOW - (4 - number) * 3 * 24 * 3_600_000).toISOString(),
    current: false,
    update: false,
    replicas: 0,
    template: {
      process: { command: ['node', 'server.js'], env: { VERSION: name } },
      ports: [],
      terminationGracePeriodSeconds: 30,
    } as RevisionView['template'],
    ...flags,
  };
}
const HISTORY = [revisionView(3, REV_C, { update: true, replicas: 1 }), revisionView(2, REV_B, { current: true, replicas: 2 }), revisionView(1, REV_A)];

describe.concurrent('ordinal rollout history', () => {
  it('prints the revisions newest first, and the API object with -o json or yaml', async ({ expect }) => {
    await withApi({ 'GET /v1/sets/web/revisions': { status: 200, body: { items: HISTORY } } }, async (api) => {
      expect(await ordinal(['rollout', 'history', 'web'], { api })).toEqual({
        code: 0,
        stderr: '',
        stdout: [
          'REVISION   NAME             GENERATION   CREATED   CURRENT/UPDATE   REPLICAS',
          '3          web-cccccccccc   3            3d ago    update           1',
          '2          web-bbbbbbbbbb   2            6d ago    current          2',
          '1          web-aaaaaaaaaa   1            9d ago    -                0',
          '',
        ].join('\n'),
      });
      const json = await ordinal(['rollout', 'history', 'web', '-o', 'json'], { api });
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual({ items: HISTORY });
      const yaml = await ordinal(['rollout', 'history', 'web', '--output', 'yaml'], { api });
      expect(parseYaml(yaml.stdout)).toEqual({ items: HISTORY });
      expect(api.requests.map((r) => `${r.method} ${r.url}`)).toEqual(Array(3).fill('GET /v1/sets/web/revisions'));
    });
  });

  it('exits 1 for a set that does not exist, and rejects -o wide', async ({ expect }) => {
    await withApi({ 'GET /v1/sets/nope/revisions': apiError(404, 'NotFound', "set 'nope' does not exist") }, async (api) => {
      expect(await ordinal(['rollout', 'history', 'nope'], { api })).toEqual({ code: 1, stdout: '', stderr: "error: set 'nope' does not exist\n" });
      const wide = await ordinal(['rollout', 'history', 'nope', '-o', 'wide'], { api });
      expect(wide.code).toBe(1);
      expect(wide.stderr).toContain("unknown output format 'wide': use one of table, json, yaml");
      expect(api.requests).toHaveLength(1);
    });
  });
});

describe.concurrent('ordinal rollout undo', () => {
  // The spec's template has a readiness probe and a variable the older templates never had.
  const current = set(2, [ready(0), ready(1)], {
    updateRevision: REV_C,
    generation: 3,
    spec: {
      template: {
        process: { command: ['node', 'server.js'], env: { VERSION: REV_C, DEBUG: '1' } },
        ports: [{ name: 'http', port: 8080 }],
        readinessProbe: { httpGet: { path: '/healthz', port: 'http' } },
      },
    },
  });
  const routes = (patch: Reply = { status: 200, body: current }) => ({
    'GET /v1/sets/web': { status: 200, body: current },
    'GET /v1/sets/web/revisions': { status: 200, body: { items: HISTORY } },
    'PATCH /v1/sets/web': patch,
  });
  /** The merge patch that makes the template exactly revision `name`'s. */
  const patchTo = (name: string) => ({
    spec: {
      template: {
        process: { command: ['node', 'server.js'], env: { VERSION: name, DEBUG: null } },
        ports: [],
        readinessProbe: null,
        terminationGracePeriodSeconds: 30,
      },
    },
  });

  it('goes back to the previous revision: a PATCH of spec.template with If-Match on the generation read', async ({ expect }) => {
    await withApi(routes(), async (api) => {
      expect(await ordinal(['rollout', 'undo', 'web'], { api })).toEqual({ code: 0, stdout: `set web rolled back to revision 2 (${REV_B})\n`, stderr: '' });
      expect(api.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /v1/sets/web', 'GET /v1/sets/web/revisions', 'PATCH /v1/sets/web']);
      const patch = api.requests[2];
      expect(patch.contentType).toBe('application/merge-patch+json');
      expect(patch.ifMatch).toBe('"3"');
      expect(JSON.parse(patch.body)).toEqual(patchTo(REV_B));
    });
  });

  it('--to-revision takes a number or a name', async ({ expect }) => {
    await withApi(routes(), async (api) => {
      expect(await ordinal(['rollout', 'undo', 'web', '--to-revision', '1'], { api })).toEqual({ code: 0, stdout: `set web rolled back to revision 1 (${REV_A})\n`, stderr: '' });
      expect(await ordinal(['rollout', 'undo', 'web', `--to-revision=${REV_B}`], { api })).toEqual({ code: 0, stdout: `set web rolled back to revision 2 (${REV_B})\n`, stderr: '' });
      const patches = api.requests.filter((r) => r.method === 'PATCH').map((r) => JSON.parse(r.body));
      expect(patches).toEqual([patchTo(REV_A), patchTo(REV_B)]);
    });
  });

  it('refuses the update revision, an unknown revision and a set with no earlier one, without patching', async ({ expect }) => {
    const only = [revisionView(1, REV_C, { update: true, current: true })];
    await withApi(
      {
        ...routes(),
        'GET /v1/sets/new': { status: 200, body: { ...current, metadata: { ...current.metadata, name: 'new' } } },
        'GET /v1/sets/new/revisions': { status: 200, body: { items: only } },
      },
      async (api) => {
        expect(await ordinal(['rollout', 'undo', 'web', '--to-revision', '3'], { api })).toEqual({
          code: 1,
          stdout: '',
          stderr: `error: revision 3 (${REV_C}) is already the update revision of set web; nothing to undo\n`,
        });
        expect(await ordinal(['rollout', 'undo', 'web', '--to-revision', '9'], { api })).toEqual({
          code: 1,
          stdout: '',
          stderr: `error: set web has no revision 9; it has 3 (${REV_C}), 2 (${REV_B}), 1 (${REV_A}) (see "ordinal rollout history web")\n`,
        });
        expect(await ordinal(['rollout', 'undo', 'new'], { api })).toEqual({ code: 1, stdout: '', stderr: 'error: set new has no previous revision to roll back to\n' });
        expect(api.requests.filter((r) => r.method === 'PATCH')).toEqual([]);
      },
    );
  });

  it('says to retry when the set changed since it was read (409)', async ({ expect }) => {
    await withApi(routes(apiError(409, 'Conflict', "set 'web' is at generation 4, not 3")), async (api) => {
      expect(await ordinal(['rollout', 'undo', 'web'], { api })).toEqual({
        code: 1,
        stdout: '',
        stderr:
          'error: set web changed while rolling back (set \'web\' is at generation 4, not 3); nothing was rolled back: run "ordinal rollout undo web" again\n',
      });
    });
  });

  it('exits 1 for a set that does not exist or is being deleted', async ({ expect }) => {
    await withApi(
      {
        'GET /v1/sets/nope': apiError(404, 'NotFound', "set 'nope' does not exist"),
        'GET /v1/sets/web': { status: 200, body: set(1, [ready(0)], { deleting: true }) },
      },
      async (api) => {
        expect(await ordinal(['rollout', 'undo', 'nope'], { api })).toEqual({ code: 1, stdout: '', stderr: "error: set 'nope' does not exist\n" });
        expect(await ordinal(['rollout', 'undo', 'web'], { api })).toEqual({ code: 1, stdout: '', stderr: 'error: set web is being deleted\n' });
        expect(api.requests.map((r) => r.url)).toEqual(['/v1/sets/nope', '/v1/sets/web']);
      },
    );
  });
});

describe.concurrent('ordinal rollout pause and resume', () => {
  const rolling = (paused?: boolean) =>
    set(2, [ready(0), ready(1)], paused === undefined ? {} : { spec: { updateStrategy: { rollingUpdate: { paused } } } });

  it('PATCHes spec.updateStrategy.rollingUpdate.paused', async ({ expect }) => {
    await withApi(
      {
        'GET /v1/sets/web': (_, n) => ({ status: 200, body: n === 0 ? rolling() : rolling(true) }),
        'PATCH /v1/sets/web': { status: 200, body: rolling(true) },
      },
      async (api) => {
        expect(await ordinal(['rollout', 'pause', 'web'], { api })).toEqual({
          code: 0,
          stdout: 'set web paused; "ordinal rollout resume web" resumes it\n',
          stderr: '',
        });
        expect(await ordinal(['rollout', 'resume', 'web'], { api })).toEqual({ code: 0, stdout: 'set web resumed\n', stderr: '' });
        expect(api.requests.map((r) => [r.method, r.url, r.contentType, r.body ? JSON.parse(r.body) : undefined])).toEqual([
          ['GET', '/v1/sets/web', undefined, undefined],
          ['PATCH', '/v1/sets/web', 'application/merge-patch+json', { spec: { updateStrategy: { rollingUpdate: { paused: true } } } }],
          ['GET', '/v1/sets/web', undefined, undefined],
          ['PATCH', '/v1/sets/web', 'application/merge-patch+json', { spec: { updateStrategy: { rollingUpdate: { paused: false } } } }],
        ]);
      },
    );
  });

  it('says so, without patching, when there is nothing to do', async ({ expect }) => {
    await withApi(
      { 'GET /v1/sets/web': { status: 200, body: rolling(true) }, 'GET /v1/sets/db': { status: 200, body: set(1, [ready(0)], { name: 'db' }) } },
      async (api) => {
        expect(await ordinal(['rollout', 'pause', 'web'], { api })).toEqual({
          code: 0,
          stdout: 'set web is already paused; "ordinal rollout resume web" resumes it\n',
          stderr: '',
        });
        expect(await ordinal(['rollout', 'resume', 'db'], { api })).toEqual({ code: 0, stdout: 'set db is not paused\n', stderr: '' });
        expect(api.requests.map((r) => r.method)).toEqual(['GET', 'GET']);
      },
    );
  });

  it('refuses a set with the OnDelete strategy', async ({ expect }) => {
    const onDelete = set(2, [ready(0), ready(1)], { spec: { updateStrategy: { type: 'OnDelete' } } });
    await withApi({ 'GET /v1/sets/web': { status: 200, body: onDelete } }, async (api) => {
      for (const verb of ['pause', 'resume']) {
        expect(await ordinal(['rollout', verb, 'web'], { api })).toEqual({
          code: 1,
          stdout: '',
          stderr:
            `error: set web uses the OnDelete update strategy: there is no rolling update to ${verb}; ` +
            'an instance takes the update revision when you delete it ("ordinal delete-instance web ORDINAL")\n',
        });
      }
      expect(api.requests.map((r) => r.method)).toEqual(['GET', 'GET']);
    });
  });

  it('reports an API error', async ({ expect }) => {
    await withApi({ 'GET /v1/sets/nope': apiError(404, 'NotFound', "set 'nope' does not exist") }, async (api) => {
      expect(await ordinal(['rollout', 'pause', 'nope'], { api })).toEqual({ code: 1, stdout: '', stderr: "error: set 'nope' does not exist\n" });
    });
  });
});

describe.concurrent('ordinal dns zones and dns reconcile', () => {
  const ZONE_ID = 'Z0123456789ABC';
  const RECONCILE = `POST /v1/dns/route53/zones/${ZONE_ID}/reconcile`;
  const THREE_DAYS_AGO = new Date(NOW - 3 * 24 * 3_600_000).toISOString();
  const RESTORE = 'create web-0.web.example.internal A 127.77.0.1 ttl 5 (restore: deleted outside Ordinal) [set web]';

  function zone(hostedZoneId: string, name: string, extra: Record<string, unknown> = {}) {
    return { hostedZoneId, zone: name, sets: ['web'], pending: [], ...extra };
  }

  function summary(dryRun: boolean, changes: string[], extra: Record<string, unknown> = {}) {
    const count = `${changes.length} change${changes.length === 1 ? '' : 's'}`;
    const head = `reconcile hosted zone ${ZONE_ID}${dryRun ? ' (dry run: nothing applied)' : ''}: ${count}, 0 conflicts`;
    return {
      at: THREE_DAYS_AGO,
      dryRun,
      text: `${head}\n${changes.length === 0 ? 'no changes' : changes.join('\n')}`,
      planned: changes.length,
      applied: dryRun ? 0 : changes.length,
      conflicts: [],
      vanished: [],
      ...extra,
    };
  }

  const ZONES = {
    items: [
      zone('Z0AAAAAAAAAAAA', 'a.internal', {
        sets: ['a', 'b', 'c', 'd', 'e'],
        pending: ['e'],
        lastError: { code: 'AccessDenied', message: 'User is not authorized to perform route53:ChangeResourceRecordSets', hint: '', retryable: false, at: THREE_DAYS_AGO },
      }),
      zone(ZONE_ID, 'example.internal', {
        sets: ['db', 'web'],
        lastFlush: { at: THREE_DAYS_AGO, sets: ['web'], applied: 2, conflicts: 0, failed: 0, changeIds: ['C1'], durationMs: 210 },
      }),
      zone('Z0PRIVATEAAAAA', 'twice.internal'),
      zone('Z0PUBLICAAAAAA', 'twice.internal'),
    ],
  };

  it('dns zones lists the zones in a table, and the API object with -o json or yaml', async ({ expect }) => {
    await withApi({ 'GET /v1/dns/route53/zones': { status: 200, body: ZONES } }, async (api) => {
      const run = await ordinal(['dns', 'zones'], { api });
      expect(run).toEqual({
        code: 0,
        stderr: '',
        stdout: [
          'HOSTED ZONE      ZONE               SETS            PENDING   LAST FLUSH   LAST ERROR',
          'Z0AAAAAAAAAAAA   a.internal         a,b,c,+2 more   e         <none>       AccessDenied: User is not authorized to perform route53:ChangeResourceRecordSets (3d ago)',
          'Z0123456789ABC   example.internal   db,web          <none>    3d ago       <none>',
          'Z0PRIVATEAAAAA   twice.internal     web             <none>    <none>       <none>',
          'Z0PUBLICAAAAAA   twice.internal     web             <none>    <none>       <none>',
          '',
        ].join('\n'),
      });
      const json = await ordinal(['dns', 'zones', '-o', 'json'], { api });
      expect(JSON.parse(json.stdout)).toEqual(ZONES);
      const yaml = await ordinal(['dns', 'zones', '--output', 'yaml'], { api });
      expect(parseYaml(yaml.stdout)).toEqual(ZONES);
      expect(api.requests.map((r) => `${r.method} ${r.url}`)).toEqual(Array(3).fill('GET /v1/dns/route53/zones'));
    });
  });

  it('dns zones says on stderr when there are none, and rejects -o wide', async ({ expect }) => {
    await withApi({ 'GET /v1/dns/route53/zones': { status: 200, body: { items: [] } } }, async (api) => {
      expect(await ordinal(['dns', 'zones'], { api })).toEqual({ code: 0, stdout: '', stderr: 'No Route 53 zones found: no set publishes to Route 53.\n' });
      const wide = await ordinal(['dns', 'zones', '-o', 'wide'], { api });
      expect(wide.code).toBe(1);
      expect(wide.stderr).toContain("unknown output format 'wide': use one of table, json, yaml");
      expect(api.requests).toHaveLength(1);
    });
  });

  it('dns reconcile --dry-run POSTs {"dryRun": true} and prints the plan, then what would be done', async ({ expect }) => {
    await withApi({ [RECONCILE]: { status: 200, body: summary(true, [RESTORE]) } }, async (api) => {
      const run = await ordinal(['dns', 'reconcile', '--hosted-zone-id', ZONE_ID, '--dry-run'], { api });
      expect(run).toEqual({
        code: 0,
        stderr: '',
        stdout: `reconcile hosted zone ${ZONE_ID} (dry run: nothing applied): 1 change, 0 conflicts\n${RESTORE}\ndry run: 1 change planned, nothing applied\n`,
      });
      expect(api.requests.map((r) => [r.method, r.url, r.contentType, JSON.parse(r.body)])).toEqual([['POST', `/v1/dns/route53/zones/${ZONE_ID}/reconcile`, 'application/json', { dryRun: true }]]);
    });
  });

  it('dns reconcile without --dry-run applies, and takes the id with its /hostedzone/ prefix', async ({ expect }) => {
    const changes = [RESTORE, 'delete old-0.old.example.internal A 10.0.0.1 ttl 5 [set old]', 'delete old.example.internal A 10.0.0.1 ttl 5 [set old]'];
    await withApi({ [RECONCILE]: { status: 200, body: summary(false, changes, { vanished: ['old'] }) } }, async (api) => {
      const run = await ordinal(['dns', 'reconcile', '--hosted-zone-id', `/hostedzone/${ZONE_ID}`], { api });
      expect(run.code).toBe(0);
      expect(run.stdout.trimEnd().split('\n')).toEqual([`reconcile hosted zone ${ZONE_ID}: 3 changes, 0 conflicts`, ...changes, 'applied 3 changes']);
      expect(api.requests.map((r) => `${r.method} ${r.url} ${r.body}`)).toEqual([`${RECONCILE} {"dryRun":false}`]);
    });
  });

  it('dns reconcile --zone finds the id by name (any case, trailing dot or not)', async ({ expect }) => {
    await withApi({ 'GET /v1/dns/route53/zones': { status: 200, body: ZONES }, [RECONCILE]: { status: 200, body: summary(true, []) } }, async (api) => {
      const run = await ordinal(['dns', 'reconcile', '--zone', 'Example.Internal.', '--dry-run'], { api });
      expect(run.code).toBe(0);
      expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('dry run: 0 changes planned, nothing applied');
      expect(api.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /v1/dns/route53/zones', RECONCILE]);
    });
  });

  it('dns reconcile --zone refuses an ambiguous or unknown name, without reconciling anything', async ({ expect }) => {
    await withApi({ 'GET /v1/dns/route53/zones': { status: 200, body: ZONES } }, async (api) => {
      const ambiguous = await ordinal(['dns', 'reconcile', '--zone', 'twice.internal'], { api });
      expect(ambiguous).toEqual({
        code: 1,
        stdout: '',
        stderr:
          'error: zone twice.internal is ambiguous: hosted zones Z0PRIVATEAAAAA, Z0PUBLICAAAAAA have that name (a public and a private one?); ' +
          'choose one with --hosted-zone-id\n',
      });
      const unknown = await ordinal(['dns', 'reconcile', '--zone', 'nowhere.internal'], { api });
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toBe(
        'error: no Route 53 publisher for zone nowhere.internal: no set publishes there (zones with a publisher: a.internal (Z0AAAAAAAAAAAA), ' +
          `example.internal (${ZONE_ID}), twice.internal (Z0PRIVATEAAAAA), twice.internal (Z0PUBLICAAAAAA))\n`,
      );
      expect(api.requests.map((r) => r.method)).toEqual(['GET', 'GET']);
    });
    await withApi({ 'GET /v1/dns/route53/zones': { status: 200, body: { items: [] } } }, async (api) => {
      const none = await ordinal(['dns', 'reconcile', '--zone', 'example.internal'], { api });
      expect(none.code).toBe(1);
      expect(none.stderr).toBe('error: no Route 53 publisher for zone example.internal: no set publishes there (no set publishes to Route 53)\n');
    });
  });

  it('dns reconcile exits 1 on conflicts, printing the plan, then each conflict', async ({ expect }) => {
    const conflict = { set: 'web', name: 'web.example.internal', type: 'A', reason: 'web.example.internal A exists and is not owned by Ordinal' };
    const body = summary(false, [RESTORE], { conflicts: [conflict] });
    body.text += `\nconflict ${conflict.name} A: ${conflict.reason} [set web]`;
    await withApi({ [RECONCILE]: { status: 200, body } }, async (api) => {
      const run = await ordinal(['dns', 'reconcile', '--hosted-zone-id', ZONE_ID], { api });
      expect(run.code).toBe(1);
      expect(run.stdout.trimEnd().split('\n').slice(1)).toEqual([RESTORE, `conflict ${conflict.name} A: ${conflict.reason} [set web]`, 'applied 1 change']);
      expect(run.stderr).toBe(
        `error: 1 name is held by someone else in hosted zone ${ZONE_ID} (never overwritten)\n  web.example.internal A: ${conflict.reason} [set web]\n`,
      );
    });
  });

  it('dns reconcile exits 1 when the reconcile could not run, with the AWS code and what to do', async ({ expect }) => {
    const error = { code: 'AccessDenied', message: 'User is not authorized', hint: 'grant route53:ListResourceRecordSets on the zone', retryable: false };
    const body = { ...summary(true, []), text: 'reconcile failed: AccessDenied: User is not authorized', error };
    await withApi({ [RECONCILE]: { status: 200, body } }, async (api) => {
      expect(await ordinal(['dns', 'reconcile', '--hosted-zone-id', ZONE_ID, '--dry-run'], { api })).toEqual({
        code: 1,
        stdout: '',
        stderr: `error: reconcile of hosted zone ${ZONE_ID} failed: AccessDenied: User is not authorized\n  hint: grant route53:ListResourceRecordSets on the zone\n`,
      });
    });
  });

  it('dns reconcile exits 1 when changes were planned but not all applied', async ({ expect }) => {
    await withApi({ [RECONCILE]: { status: 200, body: { ...summary(false, [RESTORE, RESTORE]), applied: 1 } } }, async (api) => {
      const run = await ordinal(['dns', 'reconcile', '--hosted-zone-id', ZONE_ID], { api });
      expect(run.code).toBe(1);
      expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('applied 1 of 2 changes planned');
      expect(run.stderr).toBe(
        `error: 1 of the planned changes was not applied; "ordinal dns reconcile --hosted-zone-id ${ZONE_ID} --dry-run" shows what is left\n`,
      );
    });
  });

  it("dns reconcile reports the API's 404 for a zone without a publisher, and its 503", async ({ expect }) => {
    await withApi(
      {
        [RECONCILE]: apiError(404, 'NotFound', `no Route 53 publisher for hosted zone '${ZONE_ID}': no set publishes to it now (a zone's publisher ends once its last set is gone)`),
        'POST /v1/dns/route53/zones/Z0AAAAAAAAAAAA/reconcile': apiError(503, 'Unavailable', 'the Ordinal worker did not take the reconcile in time; is it running? (nothing was done)'),
      },
      async (api) => {
        expect(await ordinal(['dns', 'reconcile', '--hosted-zone-id', ZONE_ID], { api })).toEqual({
          code: 1,
          stdout: '',
          stderr: `error: no Route 53 publisher for hosted zone '${ZONE_ID}': no set publishes to it now (a zone's publisher ends once its last set is gone)\n`,
        });
        const unavailable = await ordinal(['dns', 'reconcile', '--hosted-zone-id', 'Z0AAAAAAAAAAAA'], { api });
        expect(unavailable.code).toBe(1);
        expect(unavailable.stderr).toContain('did not take the reconcile in time');
      },
    );
  });

  it('dns reconcile checks its options before calling the API', async ({ expect }) => {
    await withApi({}, async (api) => {
      const none = await ordinal(['dns', 'reconcile'], { api });
      expect(none).toEqual({ code: 1, stdout: '', stderr: 'error: which hosted zone? give --hosted-zone-id ID or --zone NAME ("ordinal dns zones" lists them)\n' });
      const both = await ordinal(['dns', 'reconcile', '--hosted-zone-id', ZONE_ID, '--zone', 'example.internal'], { api });
      expect(both.code).toBe(1);
      expect(both.stderr).toContain("error: option '--hosted-zone-id <id>' cannot be used with option '--zone <name>'");
      for (const id of ['z0123', 'Z-1', '/hostedzone/', 'Z'.repeat(33)]) {
        const bad = await ordinal(['dns', 'reconcile', '--hosted-zone-id', id], { api });
        expect(bad.code, id).toBe(1);
        expect(bad.stderr, id).toContain(`'${id}' is not a Route 53 hosted zone id: uppercase letters and digits, e.g. Z0123456789ABC`);
      }
      const typo = await ordinal(['dns', 'reconcile', '--hosted-zone-id', ZONE_ID, '--dryrun'], { api });
      expect(typo.code).toBe(1);
      expect(typo.stderr).toContain("unknown option '--dryrun'");
      expect(api.requests).toEqual([]);
    });
  });

  it('exits 2 when the API cannot be reached', async ({ expect }) => {
    const url = `http://127.0.0.1:${await freePort()}`;
    for (const args of [['dns', 'zones'], ['dns', 'reconcile', '--hosted-zone-id', ZONE_ID, '--dry-run']]) {
      const run = await ordinal([...args, '--api-url', url]);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toBe(`error: cannot reach the Ordinal API at ${url} (is "ordinal up" or "ordinal api" running?)\n`);
    }
  });
});

describe.concurrent('connection, token and errors', () => {
  it('exits 2 when nothing listens at the API URL', async ({ expect }) => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const expected = `error: cannot reach the Ordinal API at ${url} (is "ordinal up" or "ordinal api" running?)\n`;
    expect(await ordinal(['get', '--api-url', url])).toEqual({ code: 2, stdout: '', stderr: expected });
    expect(await ordinal(['apply', '-f', path.join(tmp, 'web.yaml')], { env: { ORDINAL_API_URL: url } })).toEqual({ code: 2, stdout: '', stderr: expected });
    expect((await ordinal(['rollout', 'status', 'web', '--api-url', url])).code).toBe(2);
    expect((await ordinal(['delete', 'web', '--api-url', url])).code).toBe(2);
  });

  it('finds the API where ORDINAL_API_PORT says "ordinal api" listens', async ({ expect }) => {
    await withApi({ 'GET /v1/sets': { status: 200, body: { items: [] } } }, async (api) => {
      const port = new URL(api.url).port;
      expect((await ordinal(['get'], { env: { ORDINAL_API_PORT: port } })).code).toBe(0);
      expect(api.requests).toHaveLength(1);
    });
  });

  it('--api-url wins over ORDINAL_API_URL', async ({ expect }) => {
    await withApi({ 'GET /v1/sets': { status: 200, body: { items: [] } } }, async (api) => {
      const run = await ordinal(['get', '--api-url', `${api.url}/`], { env: { ORDINAL_API_URL: 'http://127.0.0.1:1' } });
      expect(run.code).toBe(0);
      expect(api.requests.map((r) => r.url)).toEqual(['/v1/sets']);
    });
  });

  it('sends ORDINAL_TOKEN as a bearer token on every request', async ({ expect }) => {
    await withApi(
      {
        'PUT /v1/sets/web': { status: 201, body: set(3, []) },
        'GET /v1/sets/web': { status: 200, body: set(1, [ready(0)]) },
        'PATCH /v1/sets/web': { status: 200, body: set(2, []) },
        'DELETE /v1/sets/web/instances/0': { status: 202, body: set(1, []) },
        'PUT /v1/sets/web/instances/0/cordon': { status: 200, body: set(1, [ready(0)]) },
        'GET /v1/sets/web/revisions': { status: 200, body: { items: HISTORY } },
        'DELETE /v1/sets/web': { status: 202, body: set(1, []) },
      },
      async (api) => {
        const env = { ORDINAL_TOKEN: 's3cret' };
        for (const args of [
          ['apply', '-f', path.join(tmp, 'web.yaml')],
          ['get', 'web'],
          ['scale', 'web', '2'],
          ['delete-instance', 'web', '0'],
          ['cordon', 'web', '0'],
          ['rollout', 'status', 'web'],
          ['rollout', 'history', 'web'],
          ['delete', 'web'],
        ]) {
          expect((await ordinal(args, { api, env })).code, args.join(' ')).toBe(0);
        }
        // Eight commands; rollout status tries the watch stream first (404 here), then reads the set.
        expect(streamAttempts(api)).toEqual(['GET /v1/sets/web/watch']);
        expect(api.requests.map((r) => r.authorization)).toEqual(Array(9).fill('Bearer s3cret'));
      },
    );
  });

  it('hints at ORDINAL_TOKEN on a 401 without one', async ({ expect }) => {
    await withApi({ 'GET /v1/sets': { status: 401, body: { error: { code: 'Unauthenticated', message: 'a bearer token is required', details: [] } } } }, async (api) => {
      const configFile = path.join(tmp, 'no-config', 'ordinal', 'config.json');
      expect(await ordinal(['get'], { api })).toEqual({
        code: 1,
        stdout: '',
        stderr:
          'error: a bearer token is required\n' +
          `hint: this API needs a token: set ORDINAL_TOKEN (or --token, or "token" in ${configFile}) to one made by "ordinal token create NAME" on the API's host\n`,
      });
    });
  });

  it('reports an answer that is not the API\'s error shape', async ({ expect }) => {
    await withApi({ 'GET /v1/sets': { status: 502, raw: '<html><body>Bad Gateway</body></html>' } }, async (api) => {
      expect(await ordinal(['get'], { api })).toEqual({
        code: 1,
        stdout: '',
        stderr: 'error: the API answered 502 Bad Gateway: <html><body>Bad Gateway</body></html>\n',
      });
    });
  });

  it('documents the exit codes in the help', async ({ expect }) => {
    for (const args of [
      ['--help'],
      ['get', '--help'],
      ['rollout', 'status', '--help'],
      ['rollout', 'undo', '--help'],
      ['cordon', '--help'],
      ['dns', 'zones', '--help'],
      ['dns', 'reconcile', '--help'],
    ]) {
      const run = await ordinal(args);
      expect(run.code, args.join(' ')).toBe(0);
      expect(run.stdout).toContain('Exit codes:');
      expect(run.stdout).toMatch(/ {2}2 {2}the Ordinal API could not be reached/);
    }
    expect((await ordinal(['get', '--help'])).stdout).toContain('ORDINAL_TOKEN');
  });
});

describe.concurrent('token: --token, ORDINAL_TOKEN, the config file', () => {
  const OK = { 'GET /v1/sets': { status: 200, body: { items: [] } } };

  /** A config file in a folder of its own, with the given content and mode. */
  async function configFile(content: unknown, mode: number): Promise<string> {
    const dir = await fs.mkdtemp(path.join(tmp, 'config-'));
    const file = path.join(dir, 'config.json');
    await fs.writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
    await fs.chmod(file, mode);
    return file;
  }

  it('--token wins over ORDINAL_TOKEN, which wins over the config file', async ({ expect }) => {
    await withApi(OK, async (api) => {
      const config = await configFile({ token: 'from-file' }, 0o600);
      const env = { ORDINAL_CONFIG: config };
      expect((await ordinal(['get', '--token', 'from-flag'], { api, env: { ...env, ORDINAL_TOKEN: 'from-env' } })).code).toBe(0);
      expect((await ordinal(['get'], { api, env: { ...env, ORDINAL_TOKEN: 'from-env' } })).code).toBe(0);
      expect((await ordinal(['get'], { api, env })).code).toBe(0);
      expect(api.requests.map((r) => r.authorization)).toEqual(['Bearer from-flag', 'Bearer from-env', 'Bearer from-file']);
    });
  });

  it('reads the API URL and token from ~/.config/ordinal/config.json (XDG_CONFIG_HOME); the environment wins', async ({ expect }) => {
    await withApi(OK, async (api) => {
      const xdg = await fs.mkdtemp(path.join(tmp, 'xdg-'));
      await fs.mkdir(path.join(xdg, 'ordinal'));
      const file = path.join(xdg, 'ordinal', 'config.json');
      await fs.writeFile(file, JSON.stringify({ apiUrl: api.url, token: 'ord_config' }), { mode: 0o600 });
      const run = await ordinal(['get'], { env: { XDG_CONFIG_HOME: xdg } });
      expect(run).toEqual({ code: 0, stdout: '', stderr: 'No sets found.\n' });
      expect(api.requests.map((r) => r.authorization)).toEqual(['Bearer ord_config']);
      // ORDINAL_API_URL wins over the file's apiUrl (the file's token is still used).
      const elsewhere = `http://127.0.0.1:${await freePort()}`;
      expect((await ordinal(['get'], { env: { XDG_CONFIG_HOME: xdg, ORDINAL_API_URL: elsewhere } })).code).toBe(2);
    });
  });

  it('refuses a config file with a token that others can read, sending nothing', async ({ expect }) => {
    await withApi(OK, async (api) => {
      for (const mode of [0o644, 0o640, 0o604, 0o660]) {
        const file = await configFile({ apiUrl: api.url, token: 'ord_secret' }, mode);
        const run = await ordinal(['get'], { env: { ORDINAL_CONFIG: file } });
        expect(run.code, mode.toString(8)).toBe(1);
        expect(run.stderr).toBe(
          `error: the config file ${file} holds an API token but is open to other users (mode 0${mode.toString(8)}); run "chmod 600 ${file}" (nothing was sent)\n`,
        );
        expect(run.stderr).not.toContain('ord_secret');
      }
      // Without a token there is nothing to protect: a readable file with only apiUrl is fine.
      const open = await configFile({ apiUrl: api.url }, 0o644);
      expect((await ordinal(['get'], { env: { ORDINAL_CONFIG: open } })).code).toBe(0);
      expect(api.requests).toHaveLength(1);
    });
  });

  it('reports a missing ORDINAL_CONFIG, a malformed file and unknown fields', async ({ expect }) => {
    const missing = path.join(tmp, 'nope', 'config.json');
    expect(await ordinal(['get'], { env: { ORDINAL_CONFIG: missing } })).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: cannot read the config file ${missing} (ORDINAL_CONFIG): no such file\n`,
    });
    const broken = await configFile('{"token": ', 0o600);
    expect((await ordinal(['get'], { env: { ORDINAL_CONFIG: broken } })).stderr).toMatch(/is not valid JSON/);
    const typo = await configFile({ apiurl: 'http://x' }, 0o600);
    expect((await ordinal(['get'], { env: { ORDINAL_CONFIG: typo } })).stderr).toContain("unknown field 'apiurl'");
  });

  it('on a 401 with a token, says which token was refused', async ({ expect }) => {
    const reply = { status: 401, body: { error: { code: 'Unauthenticated', message: 'the bearer token is not valid: unknown, revoked or mistyped', details: [] } } };
    await withApi({ 'GET /v1/sets': reply }, async (api) => {
      const run = await ordinal(['get'], { api, env: { ORDINAL_TOKEN: 'ord_revoked' } });
      expect(run.code).toBe(1);
      expect(run.stderr).toBe(
        'error: the bearer token is not valid: unknown, revoked or mistyped\n' +
          'hint: the API refused the token from ORDINAL_TOKEN: revoked, mistyped, or made for another API ("ordinal token list" on its host)\n',
      );
    });
  });

  it("prints the API's 403 as it is", async ({ expect }) => {
    const message = "the token 'dashboard' has the read scope; DELETE needs the write scope";
    await withApi({ 'DELETE /v1/sets/web': { status: 403, body: { error: { code: 'Forbidden', message, details: [] } } } }, async (api) => {
      expect(await ordinal(['delete', 'web'], { api, env: { ORDINAL_TOKEN: 'ord_read' } })).toEqual({ code: 1, stdout: '', stderr: `error: ${message}\n` });
    });
  });
});

describe.concurrent('ordinal logs', () => {
  it('GETs the end of the log with ?tail and prints it as it is', async ({ expect }) => {
    const text = '--- 2025-01-01T00:00:00.000Z web-1 incarnation 1\nhello\nworld\n';
    await withApi({ 'GET /v1/sets/web/instances/1/logs?tail=200': { status: 200, raw: text, headers: { 'content-type': 'text/plain; charset=utf-8' } }, 'GET /v1/sets/web/instances/1/logs?tail=2': { status: 200, raw: 'hello\nworld\n', headers: { 'content-type': 'text/plain' } } }, async (api) => {
      expect(await ordinal(['logs', 'web', '1'], { api, env: { ORDINAL_TOKEN: 'ord_x' } })).toEqual({ code: 0, stdout: text, stderr: '' });
      expect(await ordinal(['logs', 'web', '1', '--tail', '2'], { api })).toEqual({ code: 0, stdout: 'hello\nworld\n', stderr: '' });
      expect(api.requests.map((r) => [r.method, r.url, r.authorization])).toEqual([
        ['GET', '/v1/sets/web/instances/1/logs?tail=200', 'Bearer ord_x'],
        ['GET', '/v1/sets/web/instances/1/logs?tail=2', undefined],
      ]);
    });
  });

  it("checks the ordinal and --tail before calling the API, and reports the API's 404", async ({ expect }) => {
    await withApi({ 'GET /v1/sets/web/instances/9/logs?tail=200': apiError(404, 'NotFound', 'instance web-9 has no log on this host') }, async (api) => {
      for (const args of [['logs', 'web', '-1'], ['logs', 'web', 'x'], ['logs', 'web', '0', '--tail', '10001'], ['logs', 'web', '0', '--tail', 'all']]) {
        const run = await ordinal(args, { api });
        expect(run.code, args.join(' ')).toBe(1);
        expect(run.stderr).toMatch(/error: /);
      }
      expect(api.requests).toEqual([]);
      expect(await ordinal(['logs', 'web', '9'], { api })).toEqual({ code: 1, stdout: '', stderr: 'error: instance web-9 has no log on this host\n' });
    });
  });
});

describe.concurrent('ordinal token create, list, revoke (on the data dir, not through the API)', () => {
  it('create prints the token once on stdout and stores only its hash, 0600, in <data dir>/tokens.json', async ({ expect }) => {
    const dataDir = await fs.mkdtemp(path.join(tmp, 'data-'));
    const env = { ORDINAL_DATA_DIR: dataDir };
    const created = await ordinal(['token', 'create', 'ci', '--scope', 'write'], { env });
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^ord_[A-Za-z0-9_-]{43}\n$/);
    expect(created.stderr).toContain("token 'ci' created with scope read and write");
    const token = created.stdout.trim();
    const file = path.join(dataDir, 'tokens.json');
    const stored = JSON.parse(await fs.readFile(file, 'utf8'));
    expect(stored).toEqual([{ name: 'ci', scopes: ['read', 'write'], hash: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), createdAt: expect.any(String) }]);
    expect(JSON.stringify(stored)).not.toContain(token.slice(4));
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);

    expect((await ordinal(['token', 'create', 'dashboard'], { env })).code).toBe(0);
    const list = await ordinal(['token', 'list'], { env });
    expect(list.code).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^NAME +SCOPES +CREATED$/);
    expect(list.stdout).toMatch(/\nci +read,write +\d{4}-/);
    expect(list.stdout).toMatch(/\ndashboard +read +\d{4}-/);
    expect(list.stdout).not.toContain('sha256');
    const json = JSON.parse((await ordinal(['token', 'list', '-o', 'json'], { env })).stdout);
    expect(json.items.map((t: { name: string }) => t.name)).toEqual(['ci', 'dashboard']);

    expect(await ordinal(['token', 'revoke', 'ci'], { env })).toEqual({ code: 0, stdout: "token 'ci' revoked\n", stderr: '' });
    expect(await ordinal(['token', 'revoke', 'ci'], { env })).toEqual({ code: 1, stdout: '', stderr: `error: no token named 'ci' in ${file}\n` });
    expect(JSON.parse(await fs.readFile(file, 'utf8')).map((t: { name: string }) => t.name)).toEqual(['dashboard']);
  });

  it('uses ORDINAL_TOKENS_FILE, or --tokens-file', async ({ expect }) => {
    const dir = await fs.mkdtemp(path.join(tmp, 'tokens-'));
    const viaEnv = path.join(dir, 'env.json');
    const viaFlag = path.join(dir, 'flag.json');
    expect((await ordinal(['token', 'create', 'a'], { env: { ORDINAL_TOKENS_FILE: viaEnv } })).code).toBe(0);
    expect((await ordinal(['token', 'create', 'b', '--tokens-file', viaFlag], { env: { ORDINAL_TOKENS_FILE: viaEnv } })).code).toBe(0);
    expect(JSON.parse(await fs.readFile(viaEnv, 'utf8')).map((t: { name: string }) => t.name)).toEqual(['a']);
    expect(JSON.parse(await fs.readFile(viaFlag, 'utf8')).map((t: { name: string }) => t.name)).toEqual(['b']);
  });

  it('refuses a duplicate or invalid name and an unknown scope; says so when there are no tokens', async ({ expect }) => {
    const dataDir = await fs.mkdtemp(path.join(tmp, 'data-'));
    const env = { ORDINAL_DATA_DIR: dataDir };
    expect((await ordinal(['token', 'create', 'ci'], { env })).code).toBe(0);
    const again = await ordinal(['token', 'create', 'ci'], { env });
    expect(again).toMatchObject({ code: 1, stdout: '' });
    expect(again.stderr).toContain("a token named 'ci' exists already");
    for (const name of ['api', 'a b', '../x']) {
      const run = await ordinal(['token', 'create', name], { env });
      expect(run.code, name).toBe(1);
      expect(run.stdout).toBe('');
    }
    const scope = await ordinal(['token', 'create', 'x', '--scope', 'admin'], { env });
    expect(scope.code).toBe(1);
    expect(scope.stderr).toContain('must be read or write');
    const empty = await ordinal(['token', 'list'], { env: { ORDINAL_DATA_DIR: path.join(dataDir, 'none') } });
    expect(empty).toMatchObject({ code: 0, stdout: '' });
    expect(empty.stderr).toMatch(/^No tokens in /);
  });
});
