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

describe('every problem at once (issue 16), not one at a time', () => {
  // Three errors: the set name (in the path, and in the body when it carries one), replicas and a port.
  const threeErrors = (metadata: Record<string, unknown> | undefined) => ({
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    ...(metadata && { metadata }),
    spec: { replicas: 'two', template: { process: { command: ['node'] }, ports: [{ name: 'http', port: 0 }] } },
  });
  const LABEL = /^must be a DNS-1123 label/;

  it('a bad name in the path and the body, replicas "two" and port 0: three details with their paths, in one 400', async () => {
    const error = await expectRefused(await put(threeErrors({ name: 'Bad' }), JSON_TYPE, 'Bad'), 400, 'BadRequest');
    expect(error.details).toEqual([
      { path: 'metadata.name', message: expect.stringMatching(LABEL) },
      { path: 'spec.replicas', message: 'must be a number' },
      { path: 'spec.template.ports[0].port', message: 'must be at least 1' },
    ]);
    expect(error.message).toBe("invalid path parameter 'name' and manifest");
  });

  it('the same as YAML', async () => {
    const yaml = 'apiVersion: ordinal.dev/v1\nkind: StatefulSet\nmetadata: {name: Bad}\nspec:\n  replicas: two\n  template: {process: {command: [node]}, ports: [{port: 0}]}\n';
    const error = await expectRefused(await put(yaml, YAML_TYPE, 'Bad'), 400, 'BadRequest');
    expect(error.details.map((d) => d.path)).toEqual(['metadata.name', 'spec.replicas', 'spec.template.ports[0].port']);
  });

  it('a body without metadata.name (or without metadata): the name is the path parameter', async () => {
    for (const body of [threeErrors({}), threeErrors(undefined)]) {
      const error = await expectRefused(await put(body, JSON_TYPE, 'Bad'), 400, 'BadRequest');
      expect(error.details).toEqual([
        { path: 'name', message: expect.stringMatching(LABEL) },
        { path: 'spec.replicas', message: 'must be a number' },
        { path: 'spec.template.ports[0].port', message: 'must be at least 1' },
      ]);
    }
  });

  it('a name too long for a set, in the path only', async () => {
    const error = await expectRefused(await put(threeErrors({}), JSON_TYPE, 'a'.repeat(53)), 400, 'BadRequest');
    expect(error.details.map((d) => d.path)).toEqual(['name', 'spec.replicas', 'spec.template.ports[0].port']);
    expect(error.details[0].message).toMatch(/at most 52 characters/);
  });

  it('a body naming another set than the bad path: both names, and the rest', async () => {
    const error = await expectRefused(await put(threeErrors({ name: 'web' }), JSON_TYPE, 'Bad'), 400, 'BadRequest');
    expect(error.details).toEqual([
      { path: 'name', message: expect.stringMatching(LABEL) },
      { path: 'metadata.name', message: 'does not match the name in the path' },
      { path: 'spec.replicas', message: 'must be a number' },
      { path: 'spec.template.ports[0].port', message: 'must be at least 1' },
    ]);
  });

  it('a malformed If-Match is listed with them, after the name', async () => {
    const error = await expectRefused(await put(threeErrors({ name: 'Bad' }), { ...JSON_TYPE, 'if-match': 'W/"1"' }, 'Bad'), 400, 'BadRequest');
    expect(error.details.map((d) => d.path)).toEqual(['metadata.name', 'if-match', 'spec.replicas', 'spec.template.ports[0].port']);
    expect(error.message).toBe("invalid path parameter 'name', header 'if-match' and manifest");
  });

  it('a malformed If-Match with a valid name does not hide the manifest errors either', async () => {
    const error = await expectRefused(await put(threeErrors({ name: 'web' }), { ...JSON_TYPE, 'if-match': 'W/"1"' }), 400, 'BadRequest');
    expect(error.details).toEqual([
      { path: 'if-match', message: expect.stringMatching(/^must be a set generation/) },
      { path: 'spec.replicas', message: 'must be a number' },
      { path: 'spec.template.ports[0].port', message: 'must be at least 1' },
    ]);
    expect(error.message).toBe("invalid header 'if-match' and manifest");
    // With a valid manifest, the header alone, as before.
    const alone = await expectRefused(await put(MANIFEST, { ...JSON_TYPE, 'if-match': 'W/"1"' }), 400, 'BadRequest');
    expect(alone.details.map((d) => d.path)).toEqual(['if-match']);
    expect(alone.message).toBe("invalid header 'if-match'");
  });

  it('a bad name with an otherwise valid manifest is the name alone, as before', async () => {
    const error = await expectRefused(await put({ ...MANIFEST, metadata: { name: 'Web' } }, JSON_TYPE, 'Web'), 400, 'BadRequest');
    expect(error.details).toEqual([{ path: 'metadata.name', message: expect.stringMatching(LABEL) }]);
    expect(error.message).toBe("invalid path parameter 'name'");
    const { metadata: _, ...withoutMetadata } = MANIFEST;
    const pathOnly = await expectRefused(await put(withoutMetadata, JSON_TYPE, 'Web'), 400, 'BadRequest');
    expect(pathOnly.details).toEqual([{ path: 'name', message: expect.stringMatching(LABEL) }]);
  });

  it('a body that is not JSON adds its reason; one that is not a manifest type is not read (still 400, the name)', async () => {
    const error = await expectRefused(await put('{"spec": ', JSON_TYPE, 'Bad'), 400, 'BadRequest');
    expect(error.details.map((d) => d.path)).toEqual(['name', '']);
    expect(error.details[1].message).toMatch(/^invalid JSON/);
    const plain = await expectRefused(await put(threeErrors({ name: 'Bad' }), { 'content-type': 'text/plain' }, 'Bad'), 400, 'BadRequest');
    expect(plain.details).toEqual([{ path: 'name', message: expect.stringMatching(LABEL) }]);
  });

  it('a valid path with a body naming another set: the mismatch and every other error', async () => {
    const error = await expectRefused(await put(threeErrors({ name: 'db' })));
    expect(error.message).toBe('the manifest is invalid');
    expect(error.details).toEqual([
      { path: 'metadata.name', message: "must be 'web', the name in the path (or be left out)" },
      { path: 'spec.replicas', message: 'must be a number' },
      { path: 'spec.template.ports[0].port', message: 'must be at least 1' },
    ]);
  });

  it('a huge replica count no longer hides the other errors', async () => {
    const body = threeErrors({ name: 'web' });
    const error = await expectRefused(await put({ ...body, spec: { ...body.spec, replicas: 2 ** 53 } }));
    expect(error.details).toEqual([
      { path: 'spec.replicas', message: 'must be at most 1000' },
      { path: 'spec.template.ports[0].port', message: 'must be at least 1' },
    ]);
  });

  it('huge ordinals are refused at once (the cross-field rules looped forever on a reserved ordinal at 2^53)', async () => {
    const started = Date.now();
    const error = await expectRefused(await put(withSpec({ replicas: 2, ordinals: { start: 2 ** 53 }, reserveOrdinals: [2 ** 53] })));
    expect(error.details.map((d) => d.path)).toEqual(['spec.ordinals.start', 'spec.ordinals.start', 'spec.reserveOrdinals[0]', 'spec.reserveOrdinals[0]']);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('a PATCH renaming the set is refused with the rest of its errors', async () => {
    expect((await put(MANIFEST)).status).toBe(201);
    fake.calls.length = 0;
    const res = await app.request('/v1/sets/web', {
      method: 'PATCH',
      body: JSON.stringify({ metadata: { name: 'db' }, spec: { replicas: 'two' } }),
      headers: MERGE_PATCH,
    });
    const error = await expectRefused(res);
    expect(error.details.map((d) => d.path)).toEqual(['metadata.name', 'spec.replicas']);
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
