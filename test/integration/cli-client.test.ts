// The client commands as users run them: the real CLI (`node bin/ordinal.js ...`) as a child process
// against a small HTTP server that answers like the API (DESIGN.md), checking argv parsing, exit codes,
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
import { setView, type InstanceState, type SetView } from '../../core/set-state.js';
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

/** A set as the API returns it, built by core's setView. */
function set(
  replicas: number,
  instances: Array<Partial<InstanceState> & { ordinal: number }>,
  options: { name?: string; generation?: number; observedGeneration?: number; deleting?: boolean } = {},
): SetView {
  const name = options.name ?? 'web';
  const parsed = parseManifest({
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name },
    spec: { replicas, template: { process: { command: ['node', 'server.js'] } } },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  const revision = `${name}-5f1c2e9a0b`;
  const generation = options.generation ?? 1;
  return setView(
    {
      name,
      manifest: parsed.value,
      generation,
      // Old enough that the AGE column reads the same for the whole run.
      createdAt: NOW - 3 * 24 * 3_600_000,
      updateRevision: revision,
      currentRevision: revision,
      revisions: [],
      instances: instances.map((i) => {
        const phase = i.phase ?? 'Running';
        return {
          incarnation: 1,
          revision,
          phase,
          ready: phase === 'Running',
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
    },
    NOW,
  );
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
  for (const key of ['ORDINAL_API_URL', 'ORDINAL_API_HOST', 'ORDINAL_API_PORT', 'ORDINAL_TOKEN']) delete env[key];
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

  it('names metadata.name when the file has none, without calling the API', async ({ expect }) => {
    await withApi({}, async (api) => {
      const file = path.join(tmp, 'noname.yaml');
      expect(await ordinal(['apply', '-f', file], { api })).toEqual({
        code: 1,
        stdout: '',
        stderr: `error: ${file} has no metadata.name: the set's name is required to apply it\n  metadata.name: is required\n`,
      });
      const invalid = await ordinal(['apply', '-f', '-'], { api, input: 'metadata: [unclosed\n' });
      expect(invalid.code).toBe(1);
      expect(invalid.stderr).toMatch(/^error: cannot apply standard input\n {2}invalid YAML/);
      const missing = await ordinal(['apply', '-f', path.join(tmp, 'nope.yaml')], { api });
      expect(missing).toEqual({ code: 1, stdout: '', stderr: `error: cannot read ${path.join(tmp, 'nope.yaml')}: no such file\n` });
      expect(api.requests).toEqual([]);
    });
  });

  it('requires -f', async ({ expect }) => {
    const run = await ordinal(['apply']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("error: required option '-f, --filename <file>' not specified");
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
          '',
          'NAME    PHASE              READY   ADDRESS      DNS NAME                     RESTARTS   REVISION',
          'web-0   Running            true    127.77.0.1   web-0.web.ordinal.internal   0          web-5f1c2e9a0b',
          'web-1   Running            true    127.77.0.2   web-1.web.ordinal.internal   0          web-5f1c2e9a0b',
          'web-2   CrashLoopBackOff   false   <none>       web-2.web.ordinal.internal   3          web-5f1c2e9a0b',
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
      const run = await ordinal(['get', '-o', 'wide'], { api });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("unknown output format 'wide': use one of table, json, yaml");
      expect(api.requests).toEqual([]);
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

  it('--wait gives up after --timeout', async ({ expect }) => {
    const view = set(3, [ready(0), ready(1)], { deleting: true });
    await withApi({ 'DELETE /v1/sets/web': { status: 202, body: view }, 'GET /v1/sets/web': { status: 200, body: view } }, async (api) => {
      expect(await ordinal(['delete', 'web', '--wait', '--timeout', '300ms', '--interval', '20ms'], { api })).toEqual({
        code: 1,
        stdout: 'deleting set web: 2 instances left\n',
        stderr: 'error: timed out after 300ms waiting for set web to be deleted: 2 instances left\n',
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
      expect(api.requests).toHaveLength(polls.length);
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
    const view = set(3, [ready(0), ready(1), crashLooping(2)]);
    await withApi({ 'GET /v1/sets/web': { status: 200, body: view } }, async (api) => {
      const started = Date.now();
      const run = await ordinal(['rollout', 'status', 'web', '--timeout', '500ms', '--interval', '50ms'], { api });
      expect(run).toEqual({
        code: 1,
        stdout: [
          'web-0: Running, Ready (127.77.0.1)',
          'web-1: Running, Ready (127.77.0.2)',
          'web-2: CrashLoopBackOff: the process exited with code 1',
          'waiting for web-2 to become Ready',
          '2/3 instances Ready',
          '',
        ].join('\n'),
        stderr: 'error: timed out after 500ms: 2/3 Ready; web-2: CrashLoopBackOff: the process exited with code 1\n',
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    });
  });

  it('accepts plain seconds for --timeout', async ({ expect }) => {
    await withApi({ 'GET /v1/sets/web': { status: 200, body: set(2, [ready(0)]) } }, async (api) => {
      const run = await ordinal(['rollout', 'status', 'web', '--timeout', '0.3', '--interval', '50ms'], { api });
      expect(run.code).toBe(1);
      expect(run.stderr).toBe('error: timed out after 300ms: 1/2 Ready; waiting for web-1 to become Ready\n');
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
        'DELETE /v1/sets/web': { status: 202, body: set(1, []) },
      },
      async (api) => {
        const env = { ORDINAL_TOKEN: 's3cret' };
        for (const args of [['apply', '-f', path.join(tmp, 'web.yaml')], ['get', 'web'], ['scale', 'web', '2'], ['delete-instance', 'web', '0'], ['rollout', 'status', 'web'], ['delete', 'web']]) {
          expect((await ordinal(args, { api, env })).code, args.join(' ')).toBe(0);
        }
        expect(api.requests.map((r) => r.authorization)).toEqual(Array(6).fill('Bearer s3cret'));
      },
    );
  });

  it('hints at ORDINAL_TOKEN on a 401 without one', async ({ expect }) => {
    await withApi({ 'GET /v1/sets': { status: 401, body: { error: { code: 'Unauthorized', message: 'a bearer token is required', details: [] } } } }, async (api) => {
      expect(await ordinal(['get'], { api })).toEqual({
        code: 1,
        stdout: '',
        stderr: 'error: a bearer token is required\nhint: set ORDINAL_TOKEN to the API token\n',
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
    for (const args of [['--help'], ['get', '--help'], ['rollout', 'status', '--help']]) {
      const run = await ordinal(args);
      expect(run.code, args.join(' ')).toBe(0);
      expect(run.stdout).toContain('Exit codes:');
      expect(run.stdout).toMatch(/ {2}2 {2}the Ordinal API could not be reached/);
    }
    expect((await ordinal(['get', '--help'])).stdout).toContain('ORDINAL_TOKEN');
  });
});
