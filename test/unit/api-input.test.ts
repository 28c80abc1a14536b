// Bad input the issue lists that test/unit/api.test.ts does not already cover: wrong types, numbers
// out of range or not integers, names and environment variables that are not allowed, prototype keys,
// YAML tags, merge keys and deep nesting, bodies that are not objects or not UTF-8, and changes that
// are partly invalid. Each is a 4xx in the error shape, never a 5xx, and nothing reaches the sets.
import { beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { ErrorSchema } from '../../api/schemas.js';
import { FakeSets } from './fake-sets.js';

const MANIFEST = {
  apiVersion: 'ordinal.dev/v1',
  kind: 'StatefulSet',
  metadata: { name: 'web' },
  spec: {
    replicas: 3,
    template: { process: { command: ['node', 'server.js'], env: { MODE: 'demo' } }, ports: [{ name: 'http', port: 8080 }] },
  },
};
const JSON_TYPE = { 'content-type': 'application/json' };
const YAML_TYPE = { 'content-type': 'application/yaml' };
const MERGE_PATCH = { 'content-type': 'application/merge-patch+json' };

let fake: FakeSets;
let app: ReturnType<typeof createApp>;

beforeEach(() => {
  fake = new FakeSets();
  app = createApp(fake);
});

function put(body: string | object, headers: Record<string, string> = JSON_TYPE, name = 'web') {
  return app.request(`/v1/sets/${name}`, { method: 'PUT', body: typeof body === 'string' ? body : JSON.stringify(body), headers });
}

function withSpec(spec: Record<string, unknown>, template: Record<string, unknown> = {}) {
  return { ...MANIFEST, spec: { ...MANIFEST.spec, ...spec, template: { ...MANIFEST.spec.template, ...template } } };
}

async function expectRefused(res: Response, status = 400, code = 'InvalidManifest') {
  expect(res.status).toBe(status);
  const body = await res.json();
  expect(ErrorSchema.strict().safeParse(body).success, JSON.stringify(body)).toBe(true);
  expect(body.error.code).toBe(code);
  expect(fake.calls.filter((c) => c.method === 'apply')).toEqual([]);
  return body.error as { message: string; details: Array<{ path: string; message: string }> };
}

describe('wrong types', () => {
  it.each([
    ['replicas as a string', withSpec({ replicas: '3' }), 'spec.replicas'],
    ['replicas as a boolean', withSpec({ replicas: true }), 'spec.replicas'],
    ['replicas as null', withSpec({ replicas: null }), 'spec.replicas'],
    ['replicas as an array', withSpec({ replicas: [3] }), 'spec.replicas'],
    ['the command as a shell string', withSpec({}, { process: { command: 'node server.js && rm -rf /' } }), 'spec.template.process.command'],
    ['an empty command', withSpec({}, { process: { command: [] } }), 'spec.template.process.command'],
    ['a command with a number', withSpec({}, { process: { command: ['node', 1] } }), 'spec.template.process.command[1]'],
    ['env as an array', withSpec({}, { process: { command: ['node'], env: ['A=1'] } }), 'spec.template.process.env'],
    ['an env value as a number', withSpec({}, { process: { command: ['node'], env: { A: 1 } } }), 'spec.template.process.env.A'],
    ['a label value as an object', { ...MANIFEST, metadata: { name: 'web', labels: { team: { nested: 'x' } } } }, 'metadata.labels.team'],
    ['a port as a string', withSpec({}, { ports: [{ name: 'http', port: '8080' }] }), 'spec.template.ports[0].port'],
    ['spec as an array', { ...MANIFEST, spec: [] }, 'spec'],
    ['metadata as a string', { ...MANIFEST, metadata: 'web' }, 'metadata'],
  ])('rejects %s naming the field', async (_label, body, path) => {
    const error = await expectRefused(await put(body));
    expect(error.details.map((d) => d.path)).toContain(path);
  });
});

describe('numbers out of range or not integers', () => {
  it.each([
    ['replicas 1001', withSpec({ replicas: 1001 }), 'spec.replicas'],
    ['replicas 1.5', withSpec({ replicas: 1.5 }), 'spec.replicas'],
    ['replicas 1e400 (infinity in JSON)', '1e400', 'spec.replicas'],
    // These two reached the core's cross-field rules, which list every wanted ordinal: a million
    // replicas threw (500), 2^53 made the process abort out of memory.
    ['replicas 1e6', withSpec({ replicas: 1e6 }), 'spec.replicas'],
    ['replicas 2^53', withSpec({ replicas: 2 ** 53 }), 'spec.replicas'],
    ['port 0', withSpec({}, { ports: [{ name: 'http', port: 0 }] }), 'spec.template.ports[0].port'],
    ['port 65536', withSpec({}, { ports: [{ name: 'http', port: 65536 }] }), 'spec.template.ports[0].port'],
    ['minReadySeconds -1', withSpec({ minReadySeconds: -1 }), 'spec.minReadySeconds'],
    ['a reserved ordinal 1.5', withSpec({ reserveOrdinals: [1.5] }), 'spec.reserveOrdinals[0]'],
    ['terminationGracePeriodSeconds 1e9', withSpec({}, { terminationGracePeriodSeconds: 1e9 }), 'spec.template.terminationGracePeriodSeconds'],
  ])('rejects %s naming the field', async (_label, body, path) => {
    const text = body === '1e400' ? JSON.stringify(withSpec({ replicas: 0 })).replace('"replicas":0', '"replicas":1e400') : body;
    const error = await expectRefused(await put(text));
    expect(error.details.map((d) => d.path)).toContain(path);
  });
});

describe('names and environment variables', () => {
  it.each([
    ['a serviceName that is not a DNS-1123 label', withSpec({ serviceName: 'Web_1' }), 'spec.serviceName'],
    ['a zone with an empty label', withSpec({ dns: { zone: 'a..b' } }), 'spec.dns.zone'],
    ['a volume named with a path', withSpec({ volumeClaimTemplates: [{ metadata: { name: '../../etc' } }] }), 'spec.volumeClaimTemplates[0].metadata.name'],
    ['a port name with a dot', withSpec({}, { ports: [{ name: 'a.b', port: 80 }] }), 'spec.template.ports[0].name'],
  ])('rejects %s', async (_label, body, path) => {
    const error = await expectRefused(await put(body));
    expect(error.details.map((d) => d.path)).toContain(path);
  });

  it.each(['1BAD', 'A-B', 'A B', 'A=B', '', 'ORDINAL_SET', 'ORDINAL_ANYTHING', 'LD_PRELOAD\u0000'])('rejects the environment variable name %j', async (name) => {
    const error = await expectRefused(await put(withSpec({}, { process: { command: ['node'], env: { [name]: 'x' } } })));
    expect(error.details.some((d) => d.path.startsWith('spec.template.process.env'))).toBe(true);
  });

  it('rejects a name in the body that is not a DNS-1123 label, even when it matches an invalid path', async () => {
    await expectRefused(await put({ ...MANIFEST, metadata: { name: 'Web' } }, JSON_TYPE, 'Web'), 400, 'BadRequest');
    const error = await expectRefused(await put({ ...MANIFEST, metadata: { name: '../web' } }));
    expect(error.details[0].path).toBe('metadata.name');
  });
});

describe('prototype keys', () => {
  it.each([
    ['metadata', '{"apiVersion": "ordinal.dev/v1", "kind": "StatefulSet", "metadata": {"name": "web", "__proto__": {"admin": true}}, "spec": {"template": {"process": {"command": ["node"]}}}}'],
    ['spec', '{"apiVersion": "ordinal.dev/v1", "kind": "StatefulSet", "metadata": {"name": "web"}, "spec": {"constructor": {"prototype": {"x": 1}}, "template": {"process": {"command": ["node"]}}}}'],
    ['the top level', '{"__proto__": {"replicas": 5}, "apiVersion": "ordinal.dev/v1", "kind": "StatefulSet", "metadata": {"name": "web"}, "spec": {"template": {"process": {"command": ["node"]}}}}'],
  ])('a __proto__ or constructor key in %s is an unknown field, and pollutes nothing', async (_label, body) => {
    await expectRefused(await put(body));
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect(({} as Record<string, unknown>).replicas).toBeUndefined();
  });
});

describe('YAML', () => {
  const base = 'apiVersion: ordinal.dev/v1\nkind: StatefulSet\nmetadata: {name: web}\n';
  it.each([
    ['a custom tag', `${base}spec:\n  replicas: !exec 3\n  template: {process: {command: [node]}}\n`, /tag/],
    ['a JavaScript function tag', `${base}spec:\n  replicas: !!js/function "function () {}"\n  template: {process: {command: [node]}}\n`, /tag/],
    ['a merge key', `base: &b {replicas: 2}\n${base}spec:\n  <<: *b\n  template: {process: {command: [node]}}\n`, /unknown field/],
    ['deeply nested sequences', `a: ${'['.repeat(5_000)}${']'.repeat(5_000)}\n`, /nested deeper than 64 levels/],
    ['deeply nested mappings', `${Array.from({ length: 200 }, (_, i) => `${' '.repeat(i)}a:`).join('\n')} 1\n`, /nested deeper than 64 levels/],
    ['a scalar with a type tag', `${base}spec:\n  replicas: !!str 3\n  template: {process: {command: [node]}}\n`, /must be a number/],
  ])('rejects %s', async (_label, body, message) => {
    const error = await expectRefused(await put(body, YAML_TYPE));
    expect(error.details.map((d) => d.message).join('\n')).toMatch(message);
  });
});

describe('bodies that are not a manifest object', () => {
  it.each([
    ['null', 'null'],
    ['a number', '42'],
    ['a string', '"web"'],
    ['bytes that are not UTF-8', Buffer.from([0xff, 0xfe, 0x7b, 0x7d])],
    ['a NUL byte', '{"apiVersion": "ordinal.dev/v1\u0000"}'],
    ['trailing garbage', `${JSON.stringify(MANIFEST)} {}`],
  ])('rejects %s', async (_label, body) => {
    const res = await app.request('/v1/sets/web', { method: 'PUT', body: body as string, headers: JSON_TYPE });
    await expectRefused(res);
  });
});

describe('PATCH: invalid input, never a partial change', () => {
  beforeEach(async () => {
    expect((await put(MANIFEST)).status).toBe(201);
    fake.calls.length = 0;
  });

  function patch(body: string | object) {
    return app.request('/v1/sets/web', { method: 'PATCH', body: typeof body === 'string' ? body : JSON.stringify(body), headers: MERGE_PATCH });
  }

  it.each([
    ['null', 'null', 'BadRequest'],
    ['an array', '[{"op": "replace", "path": "/spec/replicas", "value": 5}]', 'BadRequest'],
    ['deep nesting', `{"spec": ${'{"a": '.repeat(100)}1${'}'.repeat(100)}}`, 'BadRequest'],
    ['malformed JSON', '{"spec": {"replicas": }', 'BadRequest'],
  ])('rejects a patch that is %s', async (_label, body, code) => {
    const res = await patch(body);
    expect(res.status).toBe(400);
    expect((await res.json()).error.code).toBe(code);
    expect(fake.calls.filter((c) => c.method === 'apply')).toEqual([]);
  });

  it('rejects a huge replica count quickly, without running the cross-field rules', async () => {
    const started = Date.now();
    const error = await expectRefused(await patch({ spec: { replicas: 2 ** 53 } }));
    expect(error.details).toEqual([{ path: 'spec.replicas', message: 'must be at most 1000' }]);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('a patch with one valid and one invalid change applies neither', async () => {
    const error = await expectRefused(await patch({ spec: { replicas: 5, minReadySeconds: -1, template: { process: { env: { 'BAD-NAME': 'x' } } } } }));
    expect(error.details.map((d) => d.path).sort()).toEqual(['spec.minReadySeconds', 'spec.template.process.env.BAD-NAME']);
    const set = await (await app.request('/v1/sets/web')).json();
    expect(set.spec.replicas).toBe(3);
    expect(set.metadata.generation).toBe(1);
  });

  it('a PUT with one valid change and one unknown field applies nothing', async () => {
    await expectRefused(await put(withSpec({ replicas: 5, replica: 6 })));
    const set = await (await app.request('/v1/sets/web')).json();
    expect(set.spec.replicas).toBe(3);
  });
});
