// POST /v1/sets/{name}/preview: the would-be set and the rollout an apply would start, with the apply's
// checks and nothing applied (against the in-memory SetsPort, which previews with the workflow's core code).
import pino from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { ErrorSchema, RolloutPreviewSchema } from '../../api/schemas.js';
import { FakeSets } from './fake-sets.js';

const MANIFEST = {
  apiVersion: 'ordinal.dev/v1',
  kind: 'StatefulSet',
  metadata: { name: 'web' },
  spec: { replicas: 3, template: { process: { command: ['node', 'server.mjs'] }, ports: [{ name: 'http', port: 8080 }] } },
};
const JSON_TYPE = { 'content-type': 'application/json' };

let fake: FakeSets;
let app: ReturnType<typeof createApp>;

beforeEach(() => {
  fake = new FakeSets();
  app = createApp(fake, { logger: pino({ level: 'silent' }) });
});

function preview(name: string, body: unknown, headers: Record<string, string> = JSON_TYPE) {
  return app.request(`/v1/sets/${name}/preview`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers });
}

async function expectPreview(res: Response) {
  expect(res.status).toBe(200);
  const body = await res.json();
  const parsed = RolloutPreviewSchema.strict().safeParse(body);
  expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
  return body as { created: boolean; changed: boolean; steps: Array<{ action: string; instances: string[] }>; set: { metadata: { generation: number } } };
}

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = await res.json();
  expect(ErrorSchema.strict().safeParse(body).success, JSON.stringify(body)).toBe(true);
  expect(body.error.code).toBe(code);
}

const withReplicas = (replicas: number) => ({ ...MANIFEST, spec: { ...MANIFEST.spec, replicas } });

describe('POST /v1/sets/{name}/preview', () => {
  it('a set that does not exist is previewed as a new one, and nothing is created', async () => {
    const body = await expectPreview(await preview('web', MANIFEST));
    expect(body.created).toBe(true);
    expect(body.steps.map((s) => `${s.action} ${s.instances.join(',')}`)).toEqual(['create web-0', 'create web-1', 'create web-2']);
    expect(fake.states.has('web')).toBe(false);
    expect(fake.calls.map((c) => c.method)).toEqual(['previewRollout']);
  });

  it('a scale-down of a running set: highest first; the set is left as it was', async () => {
    await fake.apply('web', withReplicas(3));
    fake.rollOut('web');
    const before = JSON.stringify(fake.states.get('web'));
    const body = await expectPreview(await preview('web', withReplicas(1)));
    expect(body.created).toBe(false);
    expect(body.changed).toBe(true);
    expect(body.set.metadata.generation).toBe(2);
    expect(body.steps.map((s) => `${s.action} ${s.instances.join(',')}`)).toEqual(['remove web-2', 'remove web-1']);
    expect(JSON.stringify(fake.states.get('web'))).toBe(before);
  });

  it('reads YAML, and the path names the set when metadata.name is left out', async () => {
    const yaml = 'apiVersion: ordinal.dev/v1\nkind: StatefulSet\nspec:\n  replicas: 1\n  template:\n    process:\n      command: [node, server.mjs]\n';
    const body = await expectPreview(await preview('web', yaml, { 'content-type': 'application/yaml' }));
    expect(body.steps.map((s) => s.instances.join(','))).toEqual(['web-0']);
  });

  it('answers the rejections an apply would meet', async () => {
    await expectError(await preview('web', withReplicas(-1)), 400, 'InvalidManifest');
    await expectError(await preview('Web', MANIFEST), 400, 'BadRequest');
    await expectError(await preview('web', MANIFEST, { 'content-type': 'text/plain' }), 415, 'UnsupportedMediaType');
    await fake.apply('web', MANIFEST);
    await expectError(await preview('web', MANIFEST, { ...JSON_TYPE, 'if-match': '"7"' }), 409, 'Conflict');
  });

  it('is in the OpenAPI document', async () => {
    const document = await (await app.request('/openapi.json')).json();
    expect(Object.keys(document.paths['/v1/sets/{name}/preview'])).toEqual(['post']);
    expect(document.components.schemas.RolloutPreview).toBeDefined();
  });
});
