// PUT and PATCH with ?dryRun: the same checks and answer as the real request, marked as a dry run, and
// nothing applied (against the in-memory SetsPort, which previews with the workflow's own core code).
import pino from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { ErrorSchema, SetSchema } from '../../api/schemas.js';
import { FakeSets } from './fake-sets.js';

const MANIFEST = {
  apiVersion: 'ordinal.dev/v1',
  kind: 'StatefulSet',
  metadata: { name: 'web' },
  spec: { replicas: 3, template: { process: { command: ['node', 'server.mjs'] }, ports: [{ name: 'http', port: 8080 }] } },
};
const JSON_TYPE = { 'content-type': 'application/json' };
const MERGE_PATCH = { 'content-type': 'application/merge-patch+json' };

let fake: FakeSets;
let app: ReturnType<typeof createApp>;

beforeEach(() => {
  fake = new FakeSets();
  app = createApp(fake, { logger: pino({ level: 'silent' }) });
});

function put(path: string, body: unknown, headers: Record<string, string> = JSON_TYPE) {
  return app.request(path, { method: 'PUT', body: typeof body === 'string' ? body : JSON.stringify(body), headers });
}

function patch(path: string, body: unknown, headers: Record<string, string> = MERGE_PATCH) {
  return app.request(path, { method: 'PATCH', body: JSON.stringify(body), headers });
}

async function expectSet(res: Response, status: number) {
  expect(res.status).toBe(status);
  const body = await res.json();
  expect(SetSchema.safeParse(body).success).toBe(true);
  return body as { metadata: { generation: number }; spec: Record<string, any> };
}

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = await res.json();
  expect(ErrorSchema.strict().safeParse(body).success, JSON.stringify(body)).toBe(true);
  expect(body.error.code).toBe(code);
  return body.error as { message: string; details: Array<{ path: string; message: string }> };
}

async function createWeb() {
  expect((await put('/v1/sets/web', MANIFEST)).status).toBe(201);
  fake.calls.length = 0;
}

const withReplicas = (replicas: number) => ({ ...MANIFEST, spec: { ...MANIFEST.spec, replicas } });

describe('PUT /v1/sets/{name}?dryRun', () => {
  it.each(['true', 'All'])('dryRun=%s of a new set answers 201 with the would-be set, marked, and creates nothing', async (value) => {
    const res = await put(`/v1/sets/web?dryRun=${value}`, MANIFEST);
    const set = await expectSet(res, 201);
    expect(set.metadata.generation).toBe(1);
    expect(res.headers.get('ordinal-dry-run')).toBe('true');
    expect(res.headers.get('etag')).toBe('"1"');
    expect(res.headers.get('location')).toBe('/v1/sets/web');
    expect(fake.calls.map((c) => c.method)).toEqual(['previewApply']);
    expect(fake.states.has('web')).toBe(false);
    expect((await app.request('/v1/sets/web')).status).toBe(404);
  });

  it('of a change answers 200 with the would-be generation and leaves the set as it was', async () => {
    await createWeb();
    const res = await put('/v1/sets/web?dryRun=true', withReplicas(5));
    const set = await expectSet(res, 200);
    expect([set.metadata.generation, set.spec.replicas]).toEqual([2, 5]);
    expect(res.headers.get('etag')).toBe('"2"');
    expect(res.headers.get('ordinal-dry-run')).toBe('true');
    const now = await expectSet(await app.request('/v1/sets/web'), 200);
    expect([now.metadata.generation, now.spec.replicas]).toEqual([1, 3]);
    expect(fake.calls.map((c) => c.method)).toEqual(['previewApply', 'get']);
  });

  it('a real PUT carries no dry-run header', async () => {
    const res = await put('/v1/sets/web', MANIFEST);
    expect(res.status).toBe(201);
    expect(res.headers.get('ordinal-dry-run')).toBeNull();
  });

  it('is refused as the real PUT would be: an immutable field, a stale If-Match, an invalid manifest', async () => {
    await createWeb();
    const immutable = await expectError(await put('/v1/sets/web?dryRun=true', { ...MANIFEST, spec: { ...MANIFEST.spec, serviceName: 'x' } }), 400, 'InvalidManifest');
    expect(immutable.details.map((d) => d.path)).toEqual(['spec.serviceName']);
    const stale = await expectError(await put('/v1/sets/web?dryRun=true', withReplicas(4), { ...JSON_TYPE, 'if-match': '"7"' }), 409, 'Conflict');
    expect(stale.message).toMatch(/generation 1, not 7/);
    const invalid = await expectError(await put('/v1/sets/web?dryRun=true', withReplicas(-1)), 400, 'InvalidManifest');
    expect(invalid.details.map((d) => d.path)).toEqual(['spec.replicas']);
    expect(fake.calls.every((c) => c.method === 'previewApply')).toBe(true);
    expect((await expectSet(await app.request('/v1/sets/web'), 200)).metadata.generation).toBe(1);
  });

  it('of a set being deleted is 409, as the real PUT', async () => {
    await createWeb();
    fake.states.get('web')!.deleting = true;
    expect((await expectError(await put('/v1/sets/web?dryRun=true', withReplicas(4)), 409, 'Conflict')).message).toMatch(/being deleted/);
  });

  it.each(['false', '', 'TRUE', 'all', '1', 'yes'])('rejects dryRun=%j with 400 naming the parameter and its values, before anything', async (value) => {
    const error = await expectError(await put(`/v1/sets/web?dryRun=${value}`, MANIFEST), 400, 'BadRequest');
    expect(error.message).toContain("query parameter 'dryRun'");
    expect(error.details).toEqual([{ path: 'dryRun', message: expect.stringMatching(/'true' or 'All'/) }]);
    expect(fake.calls).toEqual([]);
  });

  it('reports a bad dryRun together with the other problems of the request', async () => {
    const error = await expectError(await put('/v1/sets/Web?dryRun=no', withReplicas(-1), { ...JSON_TYPE, 'if-match': 'x' }), 400, 'BadRequest');
    expect(error.details.map((d) => d.path)).toEqual(['name', 'metadata.name', 'dryRun', 'if-match', 'spec.replicas']);
    expect(error.message).toBe("invalid path parameter 'name', query parameter 'dryRun', header 'if-match' and manifest");
    expect(fake.calls).toEqual([]);
  });
});

describe('PATCH /v1/sets/{name}?dryRun', () => {
  it('answers the patched set as it would be, and applies nothing', async () => {
    await createWeb();
    const res = await patch('/v1/sets/web?dryRun=All', { spec: { replicas: 6 } });
    const set = await expectSet(res, 200);
    expect([set.metadata.generation, set.spec.replicas]).toEqual([2, 6]);
    expect(res.headers.get('ordinal-dry-run')).toBe('true');
    expect(fake.calls.map((c) => c.method)).toEqual(['get', 'previewApply']);
    expect((await expectSet(await app.request('/v1/sets/web'), 200)).spec.replicas).toBe(3);
  });

  it('is refused as the real PATCH would be: a stale If-Match, an immutable field, a set that does not exist', async () => {
    await createWeb();
    await expectError(await patch('/v1/sets/web?dryRun=true', { spec: { replicas: 6 } }, { ...MERGE_PATCH, 'if-match': '"3"' }), 409, 'Conflict');
    await expectError(await patch('/v1/sets/web?dryRun=true', { spec: { serviceName: 'x' } }), 400, 'InvalidManifest');
    await expectError(await patch('/v1/sets/nope?dryRun=true', { spec: { replicas: 6 } }), 404, 'NotFound');
    expect(fake.calls.some((c) => c.method === 'apply')).toBe(false);
  });

  it('rejects another dryRun value with 400 naming the parameter', async () => {
    await createWeb();
    const error = await expectError(await patch('/v1/sets/web?dryRun=false', { spec: { replicas: 6 } }), 400, 'BadRequest');
    expect(error.details.map((d) => d.path)).toEqual(['dryRun']);
    expect(fake.calls).toEqual([]);
  });
});
