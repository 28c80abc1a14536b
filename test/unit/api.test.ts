// The HTTP API against an in-memory SetsPort, hono-style: app.request(...) with no server.
import pino from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_BODY_LIMIT_BYTES, PATCH_ATTEMPTS, createApp } from '../../api/app.js';
import {
  ErrorSchema,
  HealthSchema,
  InstanceListSchema,
  ReconcileSummarySchema,
  RevisionListSchema,
  Route53ZoneListSchema,
  SetListSchema,
  SetSchema,
} from '../../api/schemas.js';
import { SetError } from '../../api/sets.js';
import { noPublisherMessage } from '../../api/zones.js';
import { parseManifest } from '../../core/manifest.js';
import { applyManifest } from '../../core/transitions.js';
import { FAKE_NOW, FakeSets } from './fake-sets.js';
import { FakeZones } from './fake-zones.js';

const MANIFEST = {
  apiVersion: 'ordinal.dev/v1',
  kind: 'StatefulSet',
  metadata: { name: 'web', labels: { team: 'edge', tier: 'front' } },
  spec: {
    replicas: 3,
    template: {
      process: { command: ['node', 'examples/echo-server.mjs'], env: { GREETING: 'hello', MODE: 'demo' } },
      ports: [{ name: 'http', port: 8080 }],
      readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 },
    },
  },
};

const YAML_MANIFEST = `apiVersion: ordinal.dev/v1
kind: StatefulSet
metadata:
  name: web
spec:
  replicas: 2
  template:
    process:
      command: ["node", "examples/echo-server.mjs"]
      env: { GREETING: hello }
    ports: [{ name: http, port: 8080, protocol: TCP }]
`;

const JSON_TYPE = { 'content-type': 'application/json' };
const MERGE_PATCH = { 'content-type': 'application/merge-patch+json' };

let fake: FakeSets;
let zones: FakeZones;
let logLines: string[];
let app: ReturnType<typeof createApp>;

beforeEach(() => {
  fake = new FakeSets();
  zones = new FakeZones();
  logLines = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => logLines.push(line) });
  app = createApp(fake, { logger, zones });
});

function request(path: string, init: { method?: string; body?: string; headers?: Record<string, string> } = {}) {
  return app.request(path, init);
}

function put(name: string, body: unknown, headers: Record<string, string> = JSON_TYPE) {
  return request(`/v1/sets/${name}`, { method: 'PUT', body: typeof body === 'string' ? body : JSON.stringify(body), headers });
}

function patch(name: string, body: unknown, headers: Record<string, string> = MERGE_PATCH) {
  return request(`/v1/sets/${name}`, { method: 'PATCH', body: typeof body === 'string' ? body : JSON.stringify(body), headers });
}

/** Asserts the one error shape (validated with the documented schema) and returns the error. */
async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  const body = await res.json();
  const parsed = ErrorSchema.strict().safeParse(body);
  expect(parsed.success, JSON.stringify(body)).toBe(true);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'details', 'message']);
  expect(body.error.code).toBe(code);
  expect(body.error.message).not.toBe('');
  return body.error as { code: string; message: string; details: Array<{ path: string; message: string }> };
}

async function expectSet(res: Response, status: number) {
  expect(res.status).toBe(status);
  const body = await res.json();
  const parsed = SetSchema.safeParse(body);
  expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  return body as { metadata: Record<string, unknown> & { generation: number }; spec: Record<string, any>; status: any };
}

/** A change made by someone else, straight into the fake's state (as another client's apply would). */
function concurrentChange(name: string, change: (m: typeof MANIFEST) => void) {
  const manifest = structuredClone(MANIFEST);
  change(manifest);
  const parsed = parseManifest(manifest);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  applyManifest(fake.states.get(name)!, parsed.value, FAKE_NOW);
}

async function createWeb() {
  expect((await put('web', MANIFEST)).status).toBe(201);
  fake.calls.length = 0;
}

describe('GET /healthz', () => {
  it('is 200 when Temporal answers', async () => {
    const res = await request('/healthz');
    expect(res.status).toBe(200);
    expect(HealthSchema.parse(await res.json())).toEqual({ status: 'ok' });
  });

  it('is 503 Unavailable otherwise', async () => {
    fake.isHealthy = false;
    await expectError(await request('/healthz'), 503, 'Unavailable');
  });

  it('answers HEAD like GET, without a body', async () => {
    const res = await request('/healthz', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });
});

describe('PUT /v1/sets/{name}', () => {
  it('creates a set: 201, Location, ETag, the set; the apply carries the manifest and requestedBy', async () => {
    const res = await put('web', MANIFEST);
    const set = await expectSet(res, 201);
    expect(res.headers.get('location')).toBe('/v1/sets/web');
    expect(res.headers.get('etag')).toBe('"1"');
    expect(set.metadata).toMatchObject({ name: 'web', generation: 1, labels: { team: 'edge', tier: 'front' } });
    expect(set.spec).toMatchObject({ replicas: 3, serviceName: 'web', dns: { zone: 'ordinal.internal', ttl: 5 } });
    expect(fake.calls).toEqual([{ method: 'apply', args: ['web', MANIFEST, { expectedGeneration: undefined, requestedBy: 'api' }] }]);
  });

  it('updates a set: 200; the generation moves only when the spec changes', async () => {
    await createWeb();
    let res = await put('web', MANIFEST);
    expect((await expectSet(res, 200)).metadata.generation).toBe(1);
    expect(res.headers.get('etag')).toBe('"1"');
    expect(res.headers.get('location')).toBeNull();

    res = await put('web', { ...MANIFEST, spec: { ...MANIFEST.spec, replicas: 5 } });
    expect((await expectSet(res, 200)).spec.replicas).toBe(5);
    expect(res.headers.get('etag')).toBe('"2"');
  });

  it('accepts a GET-edit-PUT round trip (read-only fields are ignored)', async () => {
    await createWeb();
    const current = await (await request('/v1/sets/web')).json();
    current.spec.replicas = 4;
    const res = await put('web', current);
    expect((await expectSet(res, 200)).spec.replicas).toBe(4);
  });

  it.each(['application/yaml', 'application/x-yaml', 'text/yaml', 'application/yaml; charset=utf-8', 'Application/YAML'])(
    'reads YAML sent as %s',
    async (type) => {
      const set = await expectSet(await put('web', YAML_MANIFEST, { 'content-type': type }), 201);
      expect(set.spec.replicas).toBe(2);
      expect(set.spec.template.process.env).toEqual({ GREETING: 'hello' });
    },
  );

  it('accepts JSON with a charset parameter', async () => {
    await expectSet(await put('web', MANIFEST, { 'content-type': 'application/json; charset=utf-8' }), 201);
  });

  it('takes metadata.name from the path when the body leaves it out', async () => {
    const { name: _name, ...metadata } = MANIFEST.metadata;
    const set = await expectSet(await put('api', { ...MANIFEST, metadata }), 201);
    expect(set.metadata.name).toBe('api');
    expect(fake.calls[0].args[1]).toMatchObject({ metadata: { name: 'api' } });
  });

  it('takes the whole metadata from the path when the body has none', async () => {
    const { metadata: _metadata, ...rest } = MANIFEST;
    const set = await expectSet(await put('api', rest), 201);
    expect(set.metadata).toMatchObject({ name: 'api', generation: 1 });
  });

  it('rejects a metadata.name that differs from the path, naming the field', async () => {
    const error = await expectError(await put('other', MANIFEST), 400, 'InvalidManifest');
    expect(error.details).toEqual([{ path: 'metadata.name', message: expect.stringContaining("'other'") }]);
    expect(fake.calls).toEqual([]);
  });

  it('rejects unknown and invalid fields with a detail for each, before anything reaches Temporal', async () => {
    const body = {
      ...MANIFEST,
      metadata: { ...MANIFEST.metadata, owner: 'me' },
      spec: { ...MANIFEST.spec, replicas: -1, color: 'blue' },
    };
    const error = await expectError(await put('web', body), 400, 'InvalidManifest');
    expect(error.details).toEqual(
      expect.arrayContaining([
        { path: 'metadata.owner', message: 'unknown field' },
        { path: 'spec.color', message: 'unknown field' },
        { path: 'spec.replicas', message: 'must be at least 0' },
      ]),
    );
    expect(fake.calls).toEqual([]);
  });

  it('names missing required fields', async () => {
    const error = await expectError(await put('web', { metadata: {} }), 400, 'InvalidManifest');
    expect(error.details).toEqual(
      expect.arrayContaining([
        { path: 'apiVersion', message: expect.any(String) },
        { path: 'kind', message: expect.any(String) },
        { path: 'spec', message: 'is required' },
      ]),
    );
  });

  it('reports malformed JSON with its position', async () => {
    const error = await expectError(await put('web', '{"apiVersion": "ordinal.dev/v1",\n  "kind": }'), 400, 'InvalidManifest');
    expect(error.details).toEqual([{ path: '', message: 'invalid JSON at line 2, column 11: unexpected character "}"' }]);
  });

  it('reports YAML sent as JSON as malformed JSON', async () => {
    const error = await expectError(await put('web', YAML_MANIFEST), 400, 'InvalidManifest');
    expect(error.details[0].message).toMatch(/^invalid JSON at line 1, column 1/);
  });

  it('reports malformed YAML with its position', async () => {
    const error = await expectError(await put('web', 'metadata:\n  name: web\n labels: {}\n', { 'content-type': 'application/yaml' }), 400, 'InvalidManifest');
    expect(error.details[0]).toEqual({ path: '', message: expect.stringMatching(/^invalid YAML: .*line 3, column 1/) });
  });

  it('rejects a YAML alias bomb', async () => {
    const bomb = ['a: &a [x,x,x,x,x,x,x,x,x]', 'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]', 'd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]'].join('\n');
    const error = await expectError(await put('web', bomb, { 'content-type': 'application/yaml' }), 400, 'InvalidManifest');
    expect(error.details[0].message).toMatch(/alias/);
  });

  it('rejects several YAML documents, duplicate keys, scalars and empty bodies', async () => {
    const yaml = { 'content-type': 'application/yaml' };
    const cases: Array<[string, Record<string, string>, RegExp]> = [
      [`${YAML_MANIFEST}---\n${YAML_MANIFEST}`, yaml, /several YAML documents/],
      ['metadata: {}\nmetadata: {}\n', yaml, /unique/],
      ['{"kind": "StatefulSet", "kind": "StatefulSet"}', JSON_TYPE, /duplicate key "kind"/],
      ['web\n', yaml, /must be a YAML mapping/],
      ['["web"]', JSON_TYPE, /must be a JSON object/],
      ['', JSON_TYPE, /empty/],
      ['', yaml, /empty/],
    ];
    for (const [body, headers, message] of cases) {
      const error = await expectError(await put('web', body, headers), 400, 'InvalidManifest');
      expect(error.details[0].message).toMatch(message);
    }
  });

  it('rejects deep nesting', async () => {
    const error = await expectError(await put('web', '['.repeat(10_000) + ']'.repeat(10_000)), 400, 'InvalidManifest');
    expect(error.details[0].message).toMatch(/nested deeper than 64 levels/);
  });

  it.each([undefined, 'text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/merge-patch+json'])(
    'answers Content-Type %s with 415',
    async (type) => {
      const headers: Record<string, string> = type === undefined ? {} : { 'content-type': type };
      await expectError(await request('/v1/sets/web', { method: 'PUT', body: JSON.stringify(MANIFEST), headers }), 415, 'UnsupportedMediaType');
      expect(fake.calls).toEqual([]);
    },
  );

  describe('If-Match', () => {
    it('applies when the generation matches, quoted or bare', async () => {
      await createWeb();
      let res = await put('web', { ...MANIFEST, spec: { ...MANIFEST.spec, replicas: 4 } }, { ...JSON_TYPE, 'if-match': '"1"' });
      expect(res.headers.get('etag')).toBe('"2"');
      res = await put('web', { ...MANIFEST, spec: { ...MANIFEST.spec, replicas: 5 } }, { ...JSON_TYPE, 'If-Match': '2' });
      expect((await expectSet(res, 200)).metadata.generation).toBe(3);
      expect(fake.calls.map((c) => (c.args[2] as { expectedGeneration?: number }).expectedGeneration)).toEqual([1, 2]);
    });

    it('is 409 Conflict when stale', async () => {
      await createWeb();
      concurrentChange('web', (m) => (m.spec.replicas = 7));
      await expectError(await put('web', MANIFEST, { ...JSON_TYPE, 'if-match': '"1"' }), 409, 'Conflict');
      expect((await (await request('/v1/sets/web')).json()).spec.replicas).toBe(7);
    });

    it.each(['W/"1"', 'abc', '"01"', '-1', '*', '"1', '1.0'])('rejects the malformed value %s with 400 naming the header', async (value) => {
      await createWeb();
      const error = await expectError(await put('web', MANIFEST, { ...JSON_TYPE, 'if-match': value }), 400, 'BadRequest');
      expect(error.details.map((d) => d.path)).toEqual(['if-match']);
    });
  });
});

describe('body limit', () => {
  function paddedTo(bytes: number): string {
    const json = JSON.stringify(MANIFEST);
    return json + ' '.repeat(bytes - json.length);
  }

  it('accepts a body of exactly the limit and answers 413 one byte over it', async () => {
    const small = createApp(fake, { bodyLimitBytes: 2_048 });
    const at = await small.request('/v1/sets/web', { method: 'PUT', body: paddedTo(2_048), headers: JSON_TYPE });
    expect(at.status).toBe(201);
    const over = await small.request('/v1/sets/web', { method: 'PUT', body: paddedTo(2_049), headers: JSON_TYPE });
    await expectError(over, 413, 'PayloadTooLarge');
  });

  it('uses Content-Length when the client sends it', async () => {
    const small = createApp(fake, { bodyLimitBytes: 2_048 });
    const body = paddedTo(2_049);
    const res = await small.request('/v1/sets/web', { method: 'PATCH', body, headers: { ...MERGE_PATCH, 'content-length': String(body.length) } });
    await expectError(res, 413, 'PayloadTooLarge');
  });

  it(`defaults to ${DEFAULT_BODY_LIMIT_BYTES} bytes`, async () => {
    await expectError(await put('web', paddedTo(DEFAULT_BODY_LIMIT_BYTES + 1)), 413, 'PayloadTooLarge');
    expect((await put('web', paddedTo(DEFAULT_BODY_LIMIT_BYTES))).status).toBe(201);
  });
});

describe('GET /v1/sets and /v1/sets/{name}', () => {
  it('lists no sets', async () => {
    const res = await request('/v1/sets');
    expect(res.status).toBe(200);
    expect(SetListSchema.parse(await res.json())).toEqual({ items: [] });
  });

  it('lists sets by name', async () => {
    await put('web', MANIFEST);
    await put('api', { ...MANIFEST, metadata: { name: 'api' } });
    const res = await request('/v1/sets');
    const body = SetListSchema.parse(await res.json());
    expect(body.items.map((s) => s.metadata.name)).toEqual(['api', 'web']);
  });

  it('gets one set with its ETag', async () => {
    await createWeb();
    const res = await request('/v1/sets/web');
    const set = await expectSet(res, 200);
    expect(set.metadata).toMatchObject({ name: 'web', generation: 1, creationTimestamp: '2025-01-01T00:00:00.000Z' });
    expect(set.status).toMatchObject({ observedGeneration: 0, replicas: 0, instances: [] });
    expect(res.headers.get('etag')).toBe('"1"');
  });

  it('is 404 for a set that does not exist', async () => {
    const error = await expectError(await request('/v1/sets/nope'), 404, 'NotFound');
    expect(error.message).toContain("'nope'");
  });

  it.each([
    ['uppercase', 'Web'],
    ['underscore', 'web_1'],
    ['leading dash', '-web'],
    ['trailing dash', 'web-'],
    ['dot', 'web.internal'],
    ['53 characters', 'a'.repeat(53)],
    ['encoded traversal', '..%2F..'],
    ['encoded slash', 'web%2Fetc'],
    ['NUL', 'web%00'],
    ['space', 'web%20'],
    ['unicode', '%C3%A9'],
  ])('rejects a name with %s in the path with 400 naming it', async (_label, name) => {
    const error = await expectError(await request(`/v1/sets/${name}`), 400, 'BadRequest');
    expect(error.details.length).toBeGreaterThan(0);
    expect(error.details.every((d) => d.path === 'name')).toBe(true);
    expect(error.message).toContain("'name'");
  });

  it('accepts a name of 52 characters', async () => {
    await expectError(await request(`/v1/sets/${'a'.repeat(52)}`), 404, 'NotFound');
  });

  it('keeps an encoded traversal inside the name, where it is rejected', async () => {
    for (const path of ['/v1/sets/..%2F..%2Fhealthz', '/v1/sets/..%2f..%2f..%2fetc%2fpasswd', '/v1/sets/%2e%2e%2Fhealthz']) {
      await expectError(await request(path), 400, 'BadRequest');
    }
  });
});

describe('PATCH /v1/sets/{name}', () => {
  it('merges the patch into the manifest and applies it at the generation read', async () => {
    await createWeb();
    const res = await patch('web', { spec: { replicas: 5 } });
    const set = await expectSet(res, 200);
    expect(res.headers.get('etag')).toBe('"2"');
    expect(set.spec.replicas).toBe(5);
    expect(set.spec.template.process.command).toEqual(['node', 'examples/echo-server.mjs']);
    expect(set.metadata.labels).toEqual({ team: 'edge', tier: 'front' });
    const apply = fake.calls.find((c) => c.method === 'apply')!;
    expect(apply.args[2]).toEqual({ expectedGeneration: 1, requestedBy: 'api' });
    expect(apply.args[1]).toMatchObject({ apiVersion: 'ordinal.dev/v1', kind: 'StatefulSet', metadata: { name: 'web' } });
  });

  it('removes fields set to null', async () => {
    await createWeb();
    const set = await expectSet(
      await patch('web', { metadata: { labels: { tier: null } }, spec: { template: { process: { env: { MODE: null } }, readinessProbe: null } } }),
      200,
    );
    expect(set.metadata.labels).toEqual({ team: 'edge' });
    expect(set.spec.template.process.env).toEqual({ GREETING: 'hello' });
    expect(set.spec.template.readinessProbe).toBeUndefined();
    expect(set.metadata.generation).toBe(2);
  });

  it('replaces arrays whole', async () => {
    await createWeb();
    const set = await expectSet(await patch('web', { spec: { template: { process: { command: ['./server'] } } } }), 200);
    expect(set.spec.template.process.command).toEqual(['./server']);
  });

  it('removing all labels drops the field', async () => {
    await createWeb();
    const set = await expectSet(await patch('web', { metadata: { labels: null } }), 200);
    expect(set.metadata.labels).toBeUndefined();
  });

  it('accepts application/json too', async () => {
    await createWeb();
    await expectSet(await patch('web', { spec: { replicas: 1 } }, JSON_TYPE), 200);
  });

  it.each(['text/plain', 'application/yaml', 'application/json-patch+json'])('answers Content-Type %s with 415', async (type) => {
    await createWeb();
    await expectError(await patch('web', { spec: { replicas: 1 } }, { 'content-type': type }), 415, 'UnsupportedMediaType');
  });

  it('is 404 for a set that does not exist', async () => {
    await expectError(await patch('nope', { spec: { replicas: 1 } }), 404, 'NotFound');
    expect(fake.calls.map((c) => c.method)).toEqual(['get']);
  });

  it('rejects a result that is not a valid manifest, naming the fields', async () => {
    await createWeb();
    const error = await expectError(await patch('web', { spec: { replicas: -1, template: { colour: 'red' } } }), 400, 'InvalidManifest');
    expect(error.details).toEqual(
      expect.arrayContaining([
        { path: 'spec.replicas', message: 'must be at least 0' },
        { path: 'spec.template.colour', message: 'unknown field' },
      ]),
    );
    expect(fake.calls.map((c) => c.method)).toEqual(['get']);
  });

  it('rejects renaming the set', async () => {
    await createWeb();
    const error = await expectError(await patch('web', { metadata: { name: 'other' } }), 400, 'InvalidManifest');
    expect(error.details).toEqual([{ path: 'metadata.name', message: expect.any(String) }]);
  });

  it.each([
    ['malformed JSON', '{"spec": {"replicas": 5}', /invalid JSON at line 1, column 25/],
    ['a list', '[{"op": "replace", "path": "/spec/replicas", "value": 5}]', /must be a JSON object/],
    ['null', 'null', /must be a JSON object/],
    ['an empty body', '', /empty/],
  ])('rejects %s with 400 BadRequest', async (_label, body, message) => {
    await createWeb();
    const error = await expectError(await patch('web', body), 400, 'BadRequest');
    expect(error.details[0].message).toMatch(message);
  });

  it('retries from a fresh read when the set changed between read and apply', async () => {
    await createWeb();
    fake.beforeApply = (name) => {
      fake.beforeApply = undefined; // once
      concurrentChange(name, (m) => (m.spec.replicas = 7));
    };
    const set = await expectSet(await patch('web', { metadata: { labels: { tier: 'back' } } }), 200);
    // Both changes survive: no lost update.
    expect(set.spec.replicas).toBe(7);
    expect(set.metadata.labels).toEqual({ team: 'edge', tier: 'back' });
    expect(fake.calls.map((c) => c.method)).toEqual(['get', 'apply', 'get', 'apply']);
    expect(fake.calls.filter((c) => c.method === 'apply').map((c) => (c.args[2] as { expectedGeneration: number }).expectedGeneration)).toEqual([1, 2]);
  });

  it(`gives up with 409 after ${PATCH_ATTEMPTS} attempts`, async () => {
    await createWeb();
    let replicas = 10;
    fake.beforeApply = (name) => concurrentChange(name, (m) => (m.spec.replicas = replicas++));
    await expectError(await patch('web', { spec: { replicas: 1 } }), 409, 'Conflict');
    expect(fake.calls.filter((c) => c.method === 'apply')).toHaveLength(PATCH_ATTEMPTS);
  });

  it('with a stale If-Match answers 409 at once, without applying', async () => {
    await createWeb();
    concurrentChange('web', (m) => (m.spec.replicas = 7));
    await expectError(await patch('web', { spec: { replicas: 1 } }, { ...MERGE_PATCH, 'if-match': '"1"' }), 409, 'Conflict');
    expect(fake.calls.map((c) => c.method)).toEqual(['get']);
  });

  it('with If-Match does not retry a conflict: the client chose the generation', async () => {
    await createWeb();
    fake.beforeApply = (name) => concurrentChange(name, (m) => (m.spec.replicas = 9));
    await expectError(await patch('web', { spec: { replicas: 1 } }, { ...MERGE_PATCH, 'if-match': '1' }), 409, 'Conflict');
    expect(fake.calls.filter((c) => c.method === 'apply')).toHaveLength(1);
  });

  it('is 409 for a set being deleted, without applying', async () => {
    await createWeb();
    fake.states.get('web')!.deleting = true;
    const error = await expectError(await patch('web', { spec: { replicas: 1 } }), 409, 'Conflict');
    expect(error.message).toContain('being deleted');
    expect(fake.calls.map((c) => c.method)).toEqual(['get']);
  });

  it('with a current If-Match applies and returns the new ETag', async () => {
    await createWeb();
    const res = await patch('web', { spec: { replicas: 2 } }, { ...MERGE_PATCH, 'if-match': '"1"' });
    await expectSet(res, 200);
    expect(res.headers.get('etag')).toBe('"2"');
  });
});

describe('DELETE /v1/sets/{name}', () => {
  it('is 202 with the set, then the set is gone', async () => {
    await createWeb();
    const set = await expectSet(await request('/v1/sets/web', { method: 'DELETE' }), 202);
    expect(set.metadata.deletionRequested).toBe(true);
    expect(set.status.phase).toBe('Deleting');
    expect(fake.calls).toEqual([{ method: 'delete', args: ['web', 'api'] }]);
    await expectError(await request('/v1/sets/web'), 404, 'NotFound');
    await expectError(await request('/v1/sets/web', { method: 'DELETE' }), 404, 'NotFound');
  });

  it('is 400 for an invalid name', async () => {
    await expectError(await request('/v1/sets/NOPE', { method: 'DELETE' }), 400, 'BadRequest');
  });
});

describe('instances', () => {
  it('lists the instances of a set', async () => {
    await createWeb();
    fake.runInstances('web');
    const res = await request('/v1/sets/web/instances');
    expect(res.status).toBe(200);
    const body = InstanceListSchema.parse(await res.json());
    expect(body.items.map((i) => [i.name, i.ordinal, i.address, i.dnsName, i.phase, i.ready])).toEqual([
      ['web-0', 0, '127.77.0.1', 'web-0.web.ordinal.internal', 'Running', true],
      ['web-1', 1, '127.77.0.2', 'web-1.web.ordinal.internal', 'Running', true],
      ['web-2', 2, '127.77.0.3', 'web-2.web.ordinal.internal', 'Running', true],
    ]);
  });

  it('lists no instances of a new set, and 404 for a missing one', async () => {
    await createWeb();
    expect(await (await request('/v1/sets/web/instances')).json()).toEqual({ items: [] });
    await expectError(await request('/v1/sets/nope/instances'), 404, 'NotFound');
  });

  it('deletes an instance: 202 with the set', async () => {
    await createWeb();
    fake.runInstances('web');
    await expectSet(await request('/v1/sets/web/instances/1', { method: 'DELETE' }), 202);
    expect(fake.calls).toEqual([{ method: 'deleteInstance', args: ['web', 1, 'api'] }]);
    expect(fake.states.get('web')!.instances[1].deleteRequested).toBe(true);
  });

  it('is 404 for an instance or set that does not exist', async () => {
    await createWeb();
    fake.runInstances('web');
    const error = await expectError(await request('/v1/sets/web/instances/7', { method: 'DELETE' }), 404, 'NotFound');
    expect(error.message).toContain('web-7');
    await expectError(await request('/v1/sets/nope/instances/0', { method: 'DELETE' }), 404, 'NotFound');
  });

  it.each(['01', '-1', '1.5', 'abc', '1e3', '0x1', '+1', '%201', '1234567890'])('rejects the ordinal %s with 400 naming it', async (ordinal) => {
    await createWeb();
    const error = await expectError(await request(`/v1/sets/web/instances/${ordinal}`, { method: 'DELETE' }), 400, 'BadRequest');
    expect(error.details.map((d) => d.path)).toEqual(['ordinal']);
    expect(fake.calls).toEqual([]);
  });
});

describe('StatefulSet fields of the manifest', () => {
  /** Every field Kubernetes-style sets gained, each away from its default. */
  const FULL = {
    ...MANIFEST,
    spec: {
      ...MANIFEST.spec,
      ordinals: { start: 5 },
      reserveOrdinals: [6],
      podManagementPolicy: 'Parallel',
      minReadySeconds: 10,
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2, maxUnavailable: '50%' } },
      revisionHistoryLimit: 3,
      progressDeadlineSeconds: 120,
      autoRollback: true,
      volumeClaimTemplates: [
        { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } } },
        { metadata: { name: 'cache' } },
      ],
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete' },
      dns: { publishNotReadyAddresses: true },
    },
  };

  it('fills the defaults of a manifest that gives none of them', async () => {
    await createWeb();
    const set = await expectSet(await request('/v1/sets/web'), 200);
    expect(set.spec).toMatchObject({
      ordinals: { start: 0 },
      reserveOrdinals: [],
      podManagementPolicy: 'OrderedReady',
      minReadySeconds: 0,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      autoRollback: false,
      volumeClaimTemplates: [],
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
      dns: { provider: 'embedded', zone: 'ordinal.internal', ttl: 5, publishNotReadyAddresses: false },
    });
    // rollingUpdate stays absent unless given (so OnDelete can be patched in without removing it).
    expect(set.spec.updateStrategy).toEqual({ type: 'RollingUpdate' });
  });

  it('keeps every field given and fills the defaults inside them', async () => {
    const created = await expectSet(await put('web', FULL), 201);
    const set = await expectSet(await request('/v1/sets/web'), 200);
    expect(set.spec).toEqual(created.spec);
    expect(set.spec).toMatchObject({
      replicas: 3,
      ordinals: { start: 5 },
      reserveOrdinals: [6],
      podManagementPolicy: 'Parallel',
      minReadySeconds: 10,
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2, maxUnavailable: '50%', paused: false } },
      revisionHistoryLimit: 3,
      progressDeadlineSeconds: 120,
      autoRollback: true,
      volumeClaimTemplates: [
        { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '2Gi' } } } },
        { metadata: { name: 'cache' }, spec: { resources: { requests: { storage: '1Gi' } } } },
      ],
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
      dns: { publishNotReadyAddresses: true, zone: 'ordinal.internal' },
    });
  });

  it('survives a GET-PUT round trip unchanged: same generation, same spec', async () => {
    await put('web', FULL);
    const current = await (await request('/v1/sets/web')).json();
    const res = await put('web', current);
    const set = await expectSet(res, 200);
    expect(set.metadata.generation).toBe(1);
    expect(set.spec).toEqual(current.spec);
  });

  it('reads the fields from YAML too, a percentage as a string and a count as a number', async () => {
    const yaml = `${YAML_MANIFEST}  ordinals: { start: 1 }
  updateStrategy:
    rollingUpdate: { maxUnavailable: 25%, partition: 1 }
  persistentVolumeClaimRetentionPolicy: { whenScaled: Delete }
`;
    const set = await expectSet(await put('web', yaml, { 'content-type': 'application/yaml' }), 201);
    expect(set.spec.ordinals).toEqual({ start: 1 });
    expect(set.spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', partition: 1, paused: false } });
    expect(set.spec.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Delete' });
    const numeric = `${YAML_MANIFEST}  updateStrategy: { rollingUpdate: { maxUnavailable: 2 } }\n`;
    expect((await expectSet(await put('web', numeric, { 'content-type': 'application/yaml' }), 200)).spec.updateStrategy.rollingUpdate.maxUnavailable).toBe(2);
  });

  it('pauses and resumes a rollout with a merge patch, and switches to OnDelete once rollingUpdate is removed', async () => {
    await createWeb();
    let set = await expectSet(await patch('web', { spec: { updateStrategy: { rollingUpdate: { paused: true } } } }), 200);
    expect(set.spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { partition: 0, maxUnavailable: 1, paused: true } });
    expect(set.metadata.generation).toBe(2);
    set = await expectSet(await patch('web', { spec: { updateStrategy: { rollingUpdate: { paused: false } } } }), 200);
    expect(set.spec.updateStrategy.rollingUpdate.paused).toBe(false);

    const error = await expectError(await patch('web', { spec: { updateStrategy: { type: 'OnDelete' } } }), 400, 'InvalidManifest');
    expect(error.details).toEqual([{ path: 'spec.updateStrategy.rollingUpdate', message: 'is only allowed with type RollingUpdate' }]);
    set = await expectSet(await patch('web', { spec: { updateStrategy: { type: 'OnDelete', rollingUpdate: null } } }), 200);
    expect(set.spec.updateStrategy).toEqual({ type: 'OnDelete' });
  });

  it.each([
    ['maxUnavailable "0%"', { updateStrategy: { rollingUpdate: { maxUnavailable: '0%' } } }, 'spec.updateStrategy.rollingUpdate.maxUnavailable', 'must be a percentage from 1% to 100%'],
    ['maxUnavailable "150%"', { updateStrategy: { rollingUpdate: { maxUnavailable: '150%' } } }, 'spec.updateStrategy.rollingUpdate.maxUnavailable', 'must be a percentage from 1% to 100%'],
    ['maxUnavailable 0', { updateStrategy: { rollingUpdate: { maxUnavailable: 0 } } }, 'spec.updateStrategy.rollingUpdate.maxUnavailable', 'must be at least 1'],
    ['partition -1', { updateStrategy: { rollingUpdate: { partition: -1 } } }, 'spec.updateStrategy.rollingUpdate.partition', 'must be at least 0'],
    ['OnDelete with rollingUpdate', { updateStrategy: { type: 'OnDelete', rollingUpdate: { partition: 1 } } }, 'spec.updateStrategy.rollingUpdate', 'is only allowed with type RollingUpdate'],
    ['an unknown strategy', { updateStrategy: { type: 'Recreate' } }, 'spec.updateStrategy.type', 'must be RollingUpdate or OnDelete'],
    ['a repeated reserved ordinal', { reserveOrdinals: [1, 1] }, 'spec.reserveOrdinals', 'must not repeat an ordinal'],
    ['ordinals.start -1', { ordinals: { start: -1 } }, 'spec.ordinals.start', 'must be at least 0'],
    ['podManagementPolicy Random', { podManagementPolicy: 'Random' }, 'spec.podManagementPolicy', 'must be OrderedReady or Parallel'],
    ['progressDeadlineSeconds 0', { progressDeadlineSeconds: 0 }, 'spec.progressDeadlineSeconds', 'must be at least 1'],
    ['autoRollback "yes"', { autoRollback: 'yes' }, 'spec.autoRollback', 'must be true or false'],
    ['a volume name with "_"', { volumeClaimTemplates: [{ metadata: { name: 'my_data' } }] }, 'spec.volumeClaimTemplates[0].metadata.name', expect.stringContaining('DNS-1123 label')],
    [
      'storage "lots"',
      { volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { resources: { requests: { storage: 'lots' } } } }] },
      'spec.volumeClaimTemplates[0].spec.resources.requests.storage',
      'must be a quantity such as 1Gi or 500Mi',
    ],
    ['retention "Keep"', { persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Keep' } }, 'spec.persistentVolumeClaimRetentionPolicy.whenDeleted', 'must be Retain or Delete'],
    ['publishNotReadyAddresses "no"', { dns: { publishNotReadyAddresses: 'no' } }, 'spec.dns.publishNotReadyAddresses', 'must be true or false'],
  ] as Array<[string, Record<string, unknown>, string, unknown]>)('rejects %s with 400 naming the field', async (_label, fields, path, message) => {
    const error = await expectError(await put('web', { ...MANIFEST, spec: { ...MANIFEST.spec, ...fields } }), 400, 'InvalidManifest');
    expect(error.details).toEqual([{ path, message }]);
    expect(fake.calls).toEqual([]);
  });

  it('rejects an invalid field in a PATCH the same way', async () => {
    await createWeb();
    const error = await expectError(await patch('web', { spec: { updateStrategy: { rollingUpdate: { maxUnavailable: '150%' } } } }), 400, 'InvalidManifest');
    expect(error.details).toEqual([{ path: 'spec.updateStrategy.rollingUpdate.maxUnavailable', message: 'must be a percentage from 1% to 100%' }]);
  });

  it('refuses to change the volumes of an existing set', async () => {
    await put('web', FULL);
    const changed = { ...FULL, spec: { ...FULL.spec, volumeClaimTemplates: [{ metadata: { name: 'data' } }] } };
    const error = await expectError(await put('web', changed), 400, 'InvalidManifest');
    expect(error.details).toEqual([{ path: 'spec.volumeClaimTemplates', message: expect.stringContaining('cannot change once the set exists') }]);
  });

  it('reports available and cordoned per instance, and the Available condition', async () => {
    await createWeb();
    fake.runInstances('web');
    let set = await expectSet(await request('/v1/sets/web'), 200);
    expect(set.status.instances.map((i: { available: boolean; cordoned: boolean }) => [i.available, i.cordoned])).toEqual([
      [true, false],
      [true, false],
      [true, false],
    ]);
    expect(set.status.availableReplicas).toBe(3);
    expect(set.status.conditions).toContainEqual(expect.objectContaining({ type: 'Available', status: 'True' }));

    // Ready just now, minReadySeconds not over yet: Ready but not available; 0 of the 2 needed (3 - maxUnavailable 1).
    await patch('web', { spec: { minReadySeconds: 30 } });
    set = await expectSet(await request('/v1/sets/web'), 200);
    expect(set.status.instances.map((i: { ready: boolean; available: boolean }) => [i.ready, i.available])).toEqual([
      [true, false],
      [true, false],
      [true, false],
    ]);
    expect(set.status.availableReplicas).toBe(0);
    expect(set.status.conditions).toContainEqual({ type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: '0 available, at least 2 needed' });
  });

  it('runs instances from ordinals.start, skipping reserved ordinals', async () => {
    await put('web', { ...MANIFEST, spec: { ...MANIFEST.spec, ordinals: { start: 3 }, reserveOrdinals: [4] } });
    fake.runInstances('web');
    const body = InstanceListSchema.parse(await (await request('/v1/sets/web/instances')).json());
    expect(body.items.map((i) => [i.name, i.dnsName])).toEqual([
      ['web-3', 'web-3.web.ordinal.internal'],
      ['web-5', 'web-5.web.ordinal.internal'],
      ['web-6', 'web-6.web.ordinal.internal'],
    ]);
  });
});

describe('GET /v1/sets/{name}/revisions', () => {
  type Revision = { name: string; revision: number; generation: number; createdAt: string; current: boolean; update: boolean; replicas: number; template: any };

  async function revisions(name = 'web'): Promise<Revision[]> {
    const res = await request(`/v1/sets/${name}/revisions`);
    expect(res.status).toBe(200);
    const body = await res.json();
    const parsed = RevisionListSchema.strict().safeParse(body);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    return body.items;
  }

  const withGreeting = (greeting: string) => ({ spec: { template: { process: { env: { GREETING: greeting } } } } });

  it('lists the one revision of a new set: current and update, with its template as the spec has it', async () => {
    await createWeb();
    const set = await (await request('/v1/sets/web')).json();
    expect(await revisions()).toEqual([
      {
        name: set.status.updateRevision,
        revision: 1,
        generation: 1,
        createdAt: '2025-01-01T00:00:00.000Z',
        current: true,
        update: true,
        replicas: 0,
        template: set.spec.template,
      },
    ]);
    expect(set.status.updateRevision).toMatch(/^web-[0-9a-f]{10}$/);
    expect(fake.calls.map((c) => c.method)).toEqual(['get', 'revisions']);
  });

  it('adds a revision for a template change, newest first; current moves once it is rolled out', async () => {
    await createWeb();
    fake.runInstances('web');
    const first = (await revisions())[0];
    const updated = await expectSet(await patch('web', withGreeting('bonjour')), 200);

    let items = await revisions();
    expect(items.map((r) => [r.revision, r.name, r.generation, r.current, r.update, r.replicas])).toEqual([
      [2, updated.status.updateRevision, 2, false, true, 0],
      [1, first.name, 1, true, false, 3],
    ]);
    expect(items[0].template.process.env).toEqual({ GREETING: 'bonjour', MODE: 'demo' });
    expect(items[1].template.process.env).toEqual({ GREETING: 'hello', MODE: 'demo' });

    fake.rollOut('web');
    items = await revisions();
    expect(items.map((r) => [r.revision, r.current, r.update, r.replicas])).toEqual([
      [2, true, true, 3],
      [1, false, false, 0],
    ]);
  });

  it('adds none for a change outside the template', async () => {
    await createWeb();
    await patch('web', { spec: { replicas: 5 } });
    expect((await revisions()).map((r) => r.revision)).toEqual([1]);
  });

  it('gives a template seen before its old name and the next number, as Kubernetes does', async () => {
    await createWeb();
    const a = (await revisions())[0].name;
    await patch('web', withGreeting('bonjour'));
    await patch('web', withGreeting('hello'));
    const items = await revisions();
    expect(items.map((r) => [r.revision, r.name === a, r.update])).toEqual([
      [3, true, true],
      [2, false, false],
    ]);
  });

  it('is 404 for a set that does not exist, 400 for an invalid name', async () => {
    const error = await expectError(await request('/v1/sets/nope/revisions'), 404, 'NotFound');
    expect(error.message).toContain("'nope'");
    const bad = await expectError(await request('/v1/sets/Web/revisions'), 400, 'BadRequest');
    expect(bad.details.map((d) => d.path)).toEqual(['name']);
    expect(fake.calls.map((c) => c.method)).toEqual(['revisions']);
  });
});

describe('cordon and uncordon', () => {
  const cordon = (path: string, method: 'PUT' | 'DELETE' = 'PUT') => request(`/v1/sets/${path}/cordon`, { method });

  it('PUT cordons an instance: 200 with the set and its ETag', async () => {
    await createWeb();
    fake.runInstances('web');
    const res = await cordon('web/instances/1');
    const set = await expectSet(res, 200);
    expect(res.headers.get('etag')).toBe('"1"');
    expect(set.status.instances.map((i: { name: string; cordoned: boolean }) => [i.name, i.cordoned])).toEqual([
      ['web-0', false],
      ['web-1', true],
      ['web-2', false],
    ]);
    expect(fake.calls).toEqual([{ method: 'cordon', args: ['web', 1, true, 'api'] }]);
    expect(fake.states.get('web')!.instances[1].cordoned).toBe(true);
    // The spec is untouched: cordoning is not a change of the set's generation.
    expect(set.metadata.generation).toBe(1);
  });

  it('is idempotent, and DELETE uncordons', async () => {
    await createWeb();
    fake.runInstances('web');
    await expectSet(await cordon('web/instances/2'), 200);
    expect((await expectSet(await cordon('web/instances/2'), 200)).status.instances[2].cordoned).toBe(true);
    const set = await expectSet(await cordon('web/instances/2', 'DELETE'), 200);
    expect(set.status.instances[2].cordoned).toBe(false);
    expect((await expectSet(await cordon('web/instances/2', 'DELETE'), 200)).status.instances[2].cordoned).toBe(false);
    expect(fake.calls.map((c) => c.args[2])).toEqual([true, true, false, false]);
  });

  it.each(['PUT', 'DELETE'] as const)('%s is 404 for an instance or set that does not exist', async (method) => {
    await createWeb();
    fake.runInstances('web');
    const error = await expectError(await cordon('web/instances/7', method), 404, 'NotFound');
    expect(error.message).toContain('web-7');
    await expectError(await cordon('nope/instances/0', method), 404, 'NotFound');
  });

  it('is 404 for an instance of a set that has none yet', async () => {
    await createWeb();
    await expectError(await cordon('web/instances/0'), 404, 'NotFound');
  });

  it.each(['PUT', 'DELETE'] as const)('%s is 409 while the set is being deleted', async (method) => {
    await createWeb();
    fake.runInstances('web');
    fake.states.get('web')!.deleting = true;
    const error = await expectError(await cordon('web/instances/0', method), 409, 'Conflict');
    expect(error.message).toContain('being deleted');
  });

  it.each(['01', '-1', '1.5', 'abc', '1e3', '+1', '%201', '1234567890'])('rejects the ordinal %s with 400 naming it', async (ordinal) => {
    await createWeb();
    for (const method of ['PUT', 'DELETE'] as const) {
      const error = await expectError(await cordon(`web/instances/${ordinal}`, method), 400, 'BadRequest');
      expect(error.details.map((d) => d.path)).toEqual(['ordinal']);
    }
    expect(fake.calls).toEqual([]);
  });

  it('rejects an invalid set name with 400 naming it', async () => {
    const error = await expectError(await cordon('WEB/instances/0'), 400, 'BadRequest');
    expect(error.details.map((d) => d.path)).toEqual(['name']);
  });

  it('maps a BadRequest from the sets to 400', async () => {
    fake.failWith = new SetError('BadRequest', 'ordinal must be a non-negative integer', [{ path: 'ordinal', message: 'must be a non-negative integer' }]);
    const error = await expectError(await cordon('web/instances/0'), 400, 'BadRequest');
    expect(error.details).toEqual([{ path: 'ordinal', message: 'must be a non-negative integer' }]);
  });
});

describe('errors everywhere have the one shape', () => {
  it.each(['/', '/nope', '/v1', '/v1/sets/web/unknown', '/v1/sets/web/instances/0/log', '/v1/sets/', '/v1/sets/web/revisions/1', '/v1/sets/web/cordon'])('unknown route %s is 404', async (path) => {
    await expectError(await request(path), 404, 'NotFound');
  });

  it.each([
    ['POST', '/v1/sets/web', 'GET, PUT, PATCH, DELETE, HEAD'],
    ['POST', '/v1/sets', 'GET, HEAD'],
    ['DELETE', '/v1/sets', 'GET, HEAD'],
    ['PUT', '/healthz', 'GET, HEAD'],
    ['GET', '/v1/sets/web/instances/0', 'DELETE'],
    ['GET', '/v1/sets/web/instances/0/cordon', 'PUT, DELETE'],
    ['POST', '/v1/sets/web/instances/0/cordon', 'PUT, DELETE'],
    ['DELETE', '/v1/sets/web/revisions', 'GET, HEAD'],
    ['PATCH', '/openapi.json', 'GET, HEAD'],
  ])('%s %s is 405 with Allow', async (method, path, allow) => {
    const res = await request(path, { method });
    await expectError(res, 405, 'MethodNotAllowed');
    expect(res.headers.get('allow')!.split(', ').sort()).toEqual(allow.split(', ').sort());
  });

  it('maps Unavailable from the sets to 503', async () => {
    fake.failWith = new SetError('Unavailable', 'Temporal or the Ordinal worker did not answer in time; is the worker running?');
    for (const [method, path] of [
      ['GET', '/v1/sets'],
      ['GET', '/v1/sets/web'],
      ['DELETE', '/v1/sets/web'],
      ['GET', '/v1/sets/web/instances'],
      ['GET', '/v1/sets/web/revisions'],
      ['PUT', '/v1/sets/web/instances/0/cordon'],
      ['DELETE', '/v1/sets/web/instances/0/cordon'],
    ]) {
      const error = await expectError(await request(path, { method }), 503, 'Unavailable');
      expect(error.message).toMatch(/worker/);
    }
    await expectError(await put('web', MANIFEST), 503, 'Unavailable');
  });

  it('maps an InvalidManifest rejection from the workflow to 400 with its details', async () => {
    fake.failWith = new SetError('InvalidManifest', 'the manifest is invalid', [{ path: 'spec.replicas', message: 'too many' }]);
    const error = await expectError(await put('web', MANIFEST), 400, 'InvalidManifest');
    expect(error.details).toEqual([{ path: 'spec.replicas', message: 'too many' }]);
  });

  it('maps a Conflict (e.g. a set being deleted) to 409', async () => {
    await createWeb();
    fake.states.get('web')!.deleting = true;
    await expectError(await put('web', MANIFEST), 409, 'Conflict');
  });

  it('answers an unexpected error with a generic 500 and logs it', async () => {
    fake.failWith = new Error('connection string postgres://secret');
    const res = await request('/v1/sets');
    const error = await expectError(res, 500, 'Internal');
    expect(error.message).not.toContain('secret');
    expect(logLines.join('')).toContain('connection string postgres://secret');
  });
});

describe('GET /openapi.json', () => {
  async function document() {
    const res = await request('/openapi.json');
    expect(res.status).toBe(200);
    return (await res.json()) as {
      openapi: string;
      info: { title: string; version: string };
      paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }>; requestBody?: any; responses: Record<string, any> }>>;
      components: { schemas: Record<string, any> };
    };
  }

  it('is OpenAPI 3.1 with every route of the API', async () => {
    const doc = await document();
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('Ordinal');
    const operations = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));
    expect(operations.sort()).toEqual(
      [
        'GET /healthz',
        'PUT /v1/sets/{name}',
        'GET /v1/sets',
        'GET /v1/sets/{name}',
        'PATCH /v1/sets/{name}',
        'DELETE /v1/sets/{name}',
        'POST /v1/sets/{name}/preview',
        'GET /v1/sets/{name}/instances',
        'DELETE /v1/sets/{name}/instances/{ordinal}',
        'GET /v1/sets/{name}/revisions',
        'PUT /v1/sets/{name}/instances/{ordinal}/cordon',
        'DELETE /v1/sets/{name}/instances/{ordinal}/cordon',
        'GET /v1/sets/{name}/instances/{ordinal}/logs',
        'GET /v1/sets/{name}/watch',
        'GET /v1/sets/{name}/events',
        'GET /v1/events',
        'GET /v1/dns/route53/zones',
        'POST /v1/dns/route53/zones/{hostedZoneId}/reconcile',
        'GET /openapi.json',
      ].sort(),
    );
  });

  it('names the component schemas and every $ref resolves', async () => {
    const doc = await document();
    for (const name of [
      'Manifest',
      'Set',
      'SetMetadata',
      'SetSpec',
      'Template',
      'SetStatus',
      'Condition',
      'InstanceStatus',
      'SetList',
      'InstanceList',
      'Revision',
      'RevisionList',
      'Error',
      'FieldIssue',
      'Health',
      'Route53Zone',
      'Route53ZoneList',
      'FlushSummary',
      'ReconcileSummary',
      'ReconcileRequest',
      'Route53Error',
      'Route53Conflict',
    ]) {
      expect(doc.components.schemas[name], name).toBeDefined();
    }
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) {
      const name = ref.replace(/^"\$ref":"#\/components\/schemas\//, '').replace(/"$/, '');
      expect(doc.components.schemas[name], ref).toBeDefined();
    }
  });

  it('declares the path parameters, If-Match, request bodies and error responses', async () => {
    const doc = await document();
    for (const [path, item] of Object.entries(doc.paths)) {
      const placeholders = [...path.matchAll(/{(\w+)}/g)].map((m) => m[1]);
      for (const [method, operation] of Object.entries(item)) {
        const declared = (operation.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
        expect(declared.sort(), `${method} ${path}`).toEqual(placeholders.sort());
        expect(operation.responses['500'], `${method} ${path}`).toBeDefined();
        for (const [status, response] of Object.entries(operation.responses)) {
          if (Number(status) >= 400) expect(response.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
        }
      }
    }
    const put = doc.paths['/v1/sets/{name}'].put;
    expect(put.parameters!.map((p) => `${p.in}:${p.name}`)).toContain('header:if-match');
    expect(Object.keys(put.requestBody.content)).toEqual(['application/json', 'application/yaml']);
    expect(Object.keys(put.responses).sort()).toEqual(['200', '201', '400', '401', '403', '409', '413', '415', '500', '503']);
    expect(put.responses['200'].headers.ETag).toBeDefined();
    const patchOp = doc.paths['/v1/sets/{name}'].patch;
    expect(Object.keys(patchOp.requestBody.content)).toEqual(['application/merge-patch+json', 'application/json']);
  });

  it('documents the revisions and cordon routes', async () => {
    const doc = await document();
    const revisions = doc.paths['/v1/sets/{name}/revisions'].get;
    expect(Object.keys(revisions.responses).sort()).toEqual(['200', '400', '401', '403', '404', '500', '503']);
    expect(revisions.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/RevisionList' });
    for (const method of ['put', 'delete']) {
      const operation = doc.paths['/v1/sets/{name}/instances/{ordinal}/cordon'][method];
      expect(operation.requestBody, method).toBeUndefined();
      expect(Object.keys(operation.responses).sort(), method).toEqual(['200', '400', '401', '403', '404', '409', '500', '503']);
      expect(operation.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Set' });
      expect(operation.responses['200'].headers.ETag).toBeDefined();
    }
    const { Revision, RevisionList, SetSpec } = doc.components.schemas;
    expect(RevisionList.properties.items.items).toEqual({ $ref: '#/components/schemas/Revision' });
    expect(Revision.required.sort()).toEqual(['createdAt', 'current', 'generation', 'name', 'replicas', 'revision', 'template', 'update']);
    // One template schema, shared by the spec and the revisions.
    expect(Revision.properties.template).toEqual({ $ref: '#/components/schemas/Template' });
    expect(SetSpec.properties.template).toEqual({ $ref: '#/components/schemas/Template' });
    // A template has exactly one of process and ecs (checked by the core): both are documented, neither is required alone.
    expect(Object.keys(doc.components.schemas.Template.properties)).toEqual(expect.arrayContaining(['process', 'ecs']));
    expect(doc.components.schemas.Template.required ?? []).not.toContain('process');
  });

  it('describes nullable and optional fields as the responses have them', async () => {
    const { components } = await document();
    const instance = components.schemas.InstanceStatus;
    expect(instance.properties.address.type).toEqual(['string', 'null']);
    expect(instance.required).not.toContain('lastError');
    expect(instance.required).not.toContain('nextRestartAt');
    expect(components.schemas.SetStatus.properties.currentRevision.type).toEqual(['string', 'null']);
    expect(components.schemas.SetMetadata.properties.creationTimestamp.type).toEqual(['string', 'null']);
    expect(components.schemas.SetMetadata.required).not.toContain('deletionRequested');
    expect(components.schemas.Manifest.properties.spec.properties.replicas).toMatchObject({ type: 'integer', minimum: 0, maximum: 1000 });
  });

  it('describes the status as it is now: Paused, Available, lastRollback, available and cordoned', async () => {
    const { components } = await document();
    const status = components.schemas.SetStatus;
    expect(status.properties.phase.enum).toEqual(['Pending', 'Progressing', 'Ready', 'Degraded', 'Paused', 'Deleting']);
    expect(status.required).not.toContain('lastRollback');
    expect(status.properties.lastRollback.required.sort()).toEqual(['at', 'from', 'reason', 'to']);
    expect(components.schemas.Condition.properties.type.enum).toEqual(['Ready', 'Progressing', 'Available', 'ReplicaFailure', 'DNSReady', 'DNSConflict']);
    expect(status.required).toContain('dns');
    expect(components.schemas.InstanceStatus.required).toEqual(expect.arrayContaining(['available', 'cordoned']));
    const spec = components.schemas.SetSpec.properties;
    expect(spec.updateStrategy.properties.type.enum).toEqual(['RollingUpdate', 'OnDelete']);
    expect(spec.podManagementPolicy.enum).toEqual(['OrderedReady', 'Parallel']);
  });
});

describe('Route 53 zones', () => {
  const ZONE_ID = 'Z0123456789ABC';
  const RESTORE = `create web-0.web.example.internal A 127.77.0.1 ttl 5 (restore: deleted outside Ordinal) [set web]`;

  function reconcile(hostedZoneId: string, body?: unknown, headers: Record<string, string> = body === undefined ? {} : JSON_TYPE) {
    return request(`/v1/dns/route53/zones/${hostedZoneId}/reconcile`, {
      method: 'POST',
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      headers,
    });
  }

  async function expectSummary(res: Response) {
    expect(res.status).toBe(200);
    const body = await res.json();
    const parsed = ReconcileSummarySchema.strict().safeParse(body);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    return parsed.data!;
  }

  beforeEach(() => {
    zones.addZone(ZONE_ID, 'example.internal', ['web', 'db'], {
      pending: ['db'],
      lastFlush: { at: '2025-01-01T00:00:00.000Z', sets: ['db', 'web'], applied: 4, conflicts: 0, failed: 0, changeIds: ['C1'], durationMs: 230 },
    });
    zones.drift.set(ZONE_ID, { changes: [RESTORE] });
  });

  describe('GET /v1/dns/route53/zones', () => {
    it('lists the zones with a publisher: their sets, pending sets and last flush, times as ISO strings', async () => {
      zones.addZone('Z0AAAAAAAAAAAA', 'a.internal', [], {
        lastError: { code: 'AccessDenied', message: 'not allowed', hint: 'grant route53:ChangeResourceRecordSets', retryable: false, at: '2025-01-01T00:00:00.000Z' },
      });
      const res = await request('/v1/dns/route53/zones');
      expect(res.status).toBe(200);
      const body = Route53ZoneListSchema.parse(await res.json());
      expect(body.items.map((z) => z.zone)).toEqual(['a.internal', 'example.internal']);
      expect(body.items[1]).toEqual({
        hostedZoneId: ZONE_ID,
        zone: 'example.internal',
        sets: ['db', 'web'],
        pending: ['db'],
        lastFlush: { at: '2025-01-01T00:00:00.000Z', sets: ['db', 'web'], applied: 4, conflicts: 0, failed: 0, changeIds: ['C1'], durationMs: 230 },
      });
      expect(body.items[0].lastError).toMatchObject({ code: 'AccessDenied', at: '2025-01-01T00:00:00.000Z' });
      expect(zones.calls).toEqual([{ method: 'list', args: [] }]);
    });

    it('lists no zones', async () => {
      zones.zones.clear();
      const res = await request('/v1/dns/route53/zones');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ items: [] });
    });
  });

  describe('POST /v1/dns/route53/zones/{hostedZoneId}/reconcile', () => {
    it('without a body applies the repair and returns the summary; the zone shows it as its lastReconcile', async () => {
      const summary = await expectSummary(await reconcile(ZONE_ID));
      expect(summary).toMatchObject({ dryRun: false, planned: 1, applied: 1, conflicts: [], vanished: [], at: new Date(FAKE_NOW).toISOString() });
      expect(summary.text.split('\n')).toEqual([`reconcile hosted zone ${ZONE_ID}: 1 change, 0 conflicts`, RESTORE]);
      expect(zones.calls).toEqual([{ method: 'reconcile', args: [ZONE_ID, false] }]);
      const listed = await (await request('/v1/dns/route53/zones')).json();
      expect(listed.items[0].lastReconcile).toEqual(summary);
    });

    it('with {"dryRun": true} only plans: nothing applied, and the drift is still there afterwards', async () => {
      const dry = await expectSummary(await reconcile(ZONE_ID, { dryRun: true }));
      expect(dry).toMatchObject({ dryRun: true, planned: 1, applied: 0 });
      expect(dry.text).toContain('(dry run: nothing applied)');
      expect(dry.text).toContain(RESTORE);
      expect((await expectSummary(await reconcile(ZONE_ID, { dryRun: false }))).applied).toBe(1);
      expect((await expectSummary(await reconcile(ZONE_ID, {}))).planned).toBe(0);
      expect(zones.calls.map((c) => c.args)).toEqual([
        [ZONE_ID, true],
        [ZONE_ID, false],
        [ZONE_ID, false],
      ]);
    });

    it('accepts JSON with a charset, and the id with its /hostedzone/ prefix (URL-encoded)', async () => {
      await expectSummary(await reconcile(ZONE_ID, { dryRun: true }, { 'content-type': 'application/json; charset=utf-8' }));
      await expectSummary(await reconcile(encodeURIComponent(`/hostedzone/${ZONE_ID}`), { dryRun: true }));
      expect(zones.calls.map((c) => c.args)).toEqual([
        [ZONE_ID, true],
        [ZONE_ID, true],
      ]);
    });

    it('returns conflicts, vanished sets and an AWS error as the summary has them', async () => {
      const conflict = { set: 'web', name: 'web.example.internal', type: 'A', reason: 'web.example.internal A exists and is not owned by Ordinal' };
      zones.drift.set(ZONE_ID, { changes: [RESTORE], conflicts: [conflict], vanished: ['old'] });
      const summary = await expectSummary(await reconcile(ZONE_ID));
      expect(summary.conflicts).toEqual([conflict]);
      expect(summary.vanished).toEqual(['old']);

      zones.drift.set(ZONE_ID, { changes: [], error: { code: 'AccessDenied', message: 'not allowed', hint: 'grant it', retryable: false } });
      const failed = await expectSummary(await reconcile(ZONE_ID));
      expect(failed.error).toEqual({ code: 'AccessDenied', message: 'not allowed', hint: 'grant it', retryable: false });
    });

    it('is 404 for a hosted zone no set has published to, without starting anything', async () => {
      const error = await expectError(await reconcile('ZNOSUCHZONE1'), 404, 'NotFound');
      expect(error.message).toBe(noPublisherMessage('ZNOSUCHZONE1'));
      expect(zones.zones.has('ZNOSUCHZONE1')).toBe(false);
    });

    it.each(['z0123456789abc', 'Z-1', 'Z'.repeat(33), encodeURIComponent('/hostedzone/'), encodeURIComponent('/hostedzone/z1'), encodeURIComponent('hostedzone/Z1/..'), '%20Z1'])(
      'is 400 naming the path parameter for the id %s, before anything is asked',
      async (id) => {
        const error = await expectError(await reconcile(id, { dryRun: true }), 400, 'BadRequest');
        expect(error.message).toBe("invalid path parameter 'hostedZoneId'");
        expect(error.details).toEqual([{ path: 'hostedZoneId', message: expect.stringMatching(/Route 53 hosted zone id/) }]);
        expect(zones.calls).toEqual([]);
      },
    );

    it.each([
      ['{"dryRun": "yes"}', 'dryRun', /boolean/],
      ['{"dryrun": true}', 'dryrun', /unknown field/],
      ['{"dryRun": true, "force": true}', 'force', /unknown field/],
    ])('is 400 naming the field for the body %s: a misspelt dry run never applies', async (body, path, message) => {
      const error = await expectError(await reconcile(ZONE_ID, body), 400, 'BadRequest');
      expect(error.message).toBe(`invalid body '${path}'`);
      expect(error.details).toEqual([{ path, message: expect.stringMatching(message) }]);
      expect(zones.calls).toEqual([]);
    });

    it('is 400 for a body that is not a JSON object', async () => {
      for (const body of ['{"dryRun": tru', '[]', 'true']) {
        await expectError(await reconcile(ZONE_ID, body), 400, 'BadRequest');
      }
      expect(zones.calls).toEqual([]);
    });

    it('is 415 for a body that is not JSON, saying what is expected', async () => {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/yaml']) {
        const error = await expectError(await reconcile(ZONE_ID, 'dryRun=true', { 'content-type': type }), 415, 'UnsupportedMediaType');
        expect(error.message).toContain('application/json');
        expect(error.message).toContain(type);
      }
      expect(zones.calls).toEqual([]);
    });

    it('is 413 for a body over the limit', async () => {
      const small = createApp(fake, { zones, bodyLimitBytes: 64 });
      const res = await small.request(`/v1/dns/route53/zones/${ZONE_ID}/reconcile`, { method: 'POST', body: JSON.stringify({ dryRun: true, pad: 'x'.repeat(100) }), headers: JSON_TYPE });
      await expectError(res, 413, 'PayloadTooLarge');
    });
  });

  it('maps Unavailable from the zones to 503 and an unexpected error to a logged 500', async () => {
    zones.failWith = new SetError('Unavailable', 'Temporal or the Ordinal worker did not answer in time; is the worker running?');
    expect((await expectError(await request('/v1/dns/route53/zones'), 503, 'Unavailable')).message).toMatch(/worker/);
    expect((await expectError(await reconcile(ZONE_ID), 503, 'Unavailable')).message).toMatch(/worker/);

    zones.failWith = new Error('boom: arn:aws:iam::123456789012:secret');
    const error = await expectError(await reconcile(ZONE_ID, { dryRun: true }), 500, 'Internal');
    expect(error.message).not.toContain('secret');
    expect(logLines.join('')).toContain('boom: arn:aws:iam::123456789012:secret');
  });

  it.each([
    ['GET', `/v1/dns/route53/zones/${ZONE_ID}/reconcile`, 'POST'],
    ['PUT', `/v1/dns/route53/zones/${ZONE_ID}/reconcile`, 'POST'],
    ['POST', '/v1/dns/route53/zones', 'GET, HEAD'],
    ['DELETE', '/v1/dns/route53/zones', 'GET, HEAD'],
  ])('%s %s is 405 with Allow', async (method, path, allow) => {
    const res = await request(path, { method });
    await expectError(res, 405, 'MethodNotAllowed');
    expect(res.headers.get('allow')!.split(', ').sort()).toEqual(allow.split(', ').sort());
  });

  it.each(['/v1/dns', '/v1/dns/route53', `/v1/dns/route53/zones/${ZONE_ID}`, `/v1/dns/route53/zones/${ZONE_ID}/plan`])('unknown route %s is 404', async (path) => {
    await expectError(await request(path), 404, 'NotFound');
  });

  it('without a zones service, the routes answer 404 in the error shape (ids are still validated)', async () => {
    const bare = createApp(fake, { logger: pino({ level: 'silent' }) });
    for (const res of [
      await bare.request('/v1/dns/route53/zones'),
      await bare.request(`/v1/dns/route53/zones/${ZONE_ID}/reconcile`, { method: 'POST' }),
      await bare.request(`/v1/dns/route53/zones/${ZONE_ID}/reconcile`, { method: 'POST', body: '{"dryRun": true}', headers: JSON_TYPE }),
    ]) {
      const error = await expectError(res, 404, 'NotFound');
      expect(error.message).toMatch(/^no Route 53 publisher/);
    }
    await expectError(await bare.request('/v1/dns/route53/zones/nope/reconcile', { method: 'POST' }), 400, 'BadRequest');
    // The document is the same with or without the service.
    const doc = await (await bare.request('/openapi.json')).json();
    expect(Object.keys(doc.paths)).toContain('/v1/dns/route53/zones/{hostedZoneId}/reconcile');
  });

  it('is in the OpenAPI document: the path parameter, an optional strict body, the responses and their schemas', async () => {
    const doc = await (await request('/openapi.json')).json();
    const list = doc.paths['/v1/dns/route53/zones'].get;
    expect(Object.keys(list.responses).sort()).toEqual(['200', '401', '403', '404', '500', '503']);
    expect(list.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Route53ZoneList' });

    const op = doc.paths['/v1/dns/route53/zones/{hostedZoneId}/reconcile'].post;
    expect(op.parameters).toEqual([expect.objectContaining({ name: 'hostedZoneId', in: 'path', required: true })]);
    expect(op.parameters[0].schema.pattern).toBeDefined();
    expect(op.requestBody.required).toBe(false);
    expect(op.requestBody.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ReconcileRequest' });
    expect(Object.keys(op.responses).sort()).toEqual(['200', '400', '401', '403', '404', '413', '415', '500', '503']);
    expect(op.responses['200'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/ReconcileSummary' });

    const { ReconcileRequest, ReconcileSummary, Route53Zone, Route53ZoneList } = doc.components.schemas;
    expect(ReconcileRequest).toMatchObject({ type: 'object', additionalProperties: false, properties: { dryRun: { type: 'boolean' } } });
    expect(ReconcileRequest.required ?? []).toEqual([]);
    expect(ReconcileSummary.required.sort()).toEqual(['applied', 'at', 'conflicts', 'dryRun', 'planned', 'text', 'vanished']);
    expect(ReconcileSummary.properties.at.format).toBe('date-time');
    expect(ReconcileSummary.properties.conflicts.items).toEqual({ $ref: '#/components/schemas/Route53Conflict' });
    expect(Route53Zone.required.sort()).toEqual(['hostedZoneId', 'pending', 'sets', 'zone']);
    expect(Route53Zone.properties.lastReconcile).toEqual({ $ref: '#/components/schemas/ReconcileSummary' });
    expect(Route53ZoneList.properties.items.items).toEqual({ $ref: '#/components/schemas/Route53Zone' });
  });
});
