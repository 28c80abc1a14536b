import { describe, expect, it } from 'vitest';
import { parseManifest, type Template } from '../../core/manifest.js';
import { canonicalJson, fnv1a64, revisionName } from '../../core/revision.js';

describe('canonicalJson', () => {
  const cases: Array<{ name: string; value: unknown; expected: string }> = [
    { name: 'a string', value: 'web', expected: '"web"' },
    { name: 'a string that needs escaping', value: 'a"b\n', expected: '"a\\"b\\n"' },
    { name: 'a number', value: 42, expected: '42' },
    { name: 'a negative fraction', value: -1.5, expected: '-1.5' },
    { name: 'true', value: true, expected: 'true' },
    { name: 'null', value: null, expected: 'null' },
    { name: 'an empty object', value: {}, expected: '{}' },
    { name: 'an empty array', value: [], expected: '[]' },
    { name: 'sorted keys', value: { b: 1, a: 2, c: 3 }, expected: '{"a":2,"b":1,"c":3}' },
    { name: 'keys sorted by code unit (uppercase first)', value: { b: 1, B: 2, a: 3 }, expected: '{"B":2,"a":3,"b":1}' },
    { name: 'undefined values dropped', value: { a: 1, b: undefined, c: 3 }, expected: '{"a":1,"c":3}' },
    { name: 'only undefined values', value: { a: undefined }, expected: '{}' },
    { name: 'null values kept', value: { a: null }, expected: '{"a":null}' },
    { name: 'arrays keep their order', value: [3, 1, 2], expected: '[3,1,2]' },
    { name: 'arrays of objects: keys sorted, order kept', value: [{ y: 1, x: 2 }, { b: 1, a: 2 }], expected: '[{"x":2,"y":1},{"a":2,"b":1}]' },
    {
      name: 'nested objects are sorted at every level',
      value: { z: { d: [1, { q: 1, p: 2 }], c: 1 }, a: { y: undefined, x: 'x' } },
      expected: '{"a":{"x":"x"},"z":{"c":1,"d":[1,{"p":2,"q":1}]}}',
    },
    { name: 'keys that need escaping', value: { 'a"b': 1 }, expected: '{"a\\"b":1}' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(canonicalJson(c.value)).toBe(c.expected);
    });
  }

  const pairs: Array<{ name: string; a: unknown; b: unknown }> = [
    { name: 'two keys swapped', a: { a: 1, b: 2 }, b: { b: 2, a: 1 } },
    { name: 'nested keys swapped', a: { x: { a: 1, b: 2 }, y: 1 }, b: { y: 1, x: { b: 2, a: 1 } } },
    { name: 'keys swapped inside arrays', a: [{ a: 1, b: 2 }], b: [{ b: 2, a: 1 }] },
    { name: 'an undefined value vs a missing key', a: { a: 1, b: undefined }, b: { a: 1 } },
  ];
  for (const c of pairs) {
    it(`key order independence: ${c.name}`, () => {
      expect(canonicalJson(c.a)).toBe(canonicalJson(c.b));
    });
  }

  const different: Array<{ name: string; a: unknown; b: unknown }> = [
    { name: 'array order matters', a: [1, 2], b: [2, 1] },
    { name: 'a number vs a string', a: { a: 1 }, b: { a: '1' } },
    { name: 'null vs missing', a: { a: null }, b: {} },
    { name: 'empty array vs empty object', a: [], b: {} },
    { name: 'a different nested value', a: { a: { b: 1 } }, b: { a: { b: 2 } } },
  ];
  for (const c of different) {
    it(`distinguishes: ${c.name}`, () => {
      expect(canonicalJson(c.a)).not.toBe(canonicalJson(c.b));
    });
  }

  it('is valid JSON that parses back to an equal value', () => {
    const value = { b: [1, 'two', { d: null, c: true }], a: { e: -0.25 } };
    expect(JSON.parse(canonicalJson(value))).toEqual(value);
  });
});

describe('fnv1a64', () => {
  // Reference values of 64-bit FNV-1a (for ASCII text, UTF-16 code units equal the bytes).
  const vectors: Array<[string, string]> = [
    ['', 'cbf29ce484222325'],
    ['a', 'af63dc4c8601ec8c'],
    ['b', 'af63df4c8601f1a5'],
    ['c', 'af63de4c8601eff2'],
    ['foo', 'dcb27518fed9d577'],
    ['foobar', '85944171f73967e8'],
    ['chongo was here!\n', '46810940eff5f915'],
    ['{}', '08f44b07b5901a25'],
    ['[]', '09612b07b5ecb5a5'],
  ];
  for (const [text, hash] of vectors) {
    it(`${JSON.stringify(text)} -> ${hash}`, () => {
      expect(fnv1a64(text)).toBe(hash);
    });
  }

  const shapes = ['', 'x', 'web', 'a'.repeat(1000), '\u00e9', '\u{1F600}', '\0'];
  for (const text of shapes) {
    it(`always 16 lowercase hex digits (${text.length} code units)`, () => {
      expect(fnv1a64(text)).toMatch(/^[0-9a-f]{16}$/);
    });
  }

  it('is deterministic', () => {
    expect(fnv1a64('web-template')).toBe(fnv1a64('web-template'));
  });

  it('distinguishes near-identical inputs', () => {
    expect(fnv1a64('ab')).not.toBe(fnv1a64('ba'));
    expect(fnv1a64('a')).not.toBe(fnv1a64('a\0'));
  });
});

function template(patch: Record<string, unknown> = {}): Template {
  const parsed = parseManifest({
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web' },
    spec: {
      template: {
        process: { command: ['node', 'server.mjs'], env: { A: '1', B: '2' } },
        ports: [{ name: 'http', port: 8080 }],
        ...patch,
      },
    },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return parsed.value.spec.template;
}

describe('revisionName', () => {
  it('is "<set>-<10 hex digits>"', () => {
    expect(revisionName('web', template())).toMatch(/^web-[0-9a-f]{10}$/);
    expect(revisionName('my-db', template())).toMatch(/^my-db-[0-9a-f]{10}$/);
  });

  it('is the first 10 hex digits of the hash of the canonical JSON', () => {
    const t = template();
    expect(revisionName('web', t)).toBe(`web-${fnv1a64(canonicalJson(t)).slice(0, 10)}`);
  });

  it('is stable for the same template', () => {
    expect(revisionName('web', template())).toBe(revisionName('web', template()));
  });

  const sameCases: Array<{ name: string; a: unknown; b: unknown }> = [
    {
      name: 'keys in a different order at every level',
      a: { process: { command: ['x'], env: { A: '1', B: '2' } }, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] },
      b: { ports: [{ protocol: 'TCP', port: 80, name: 'http' }], process: { env: { B: '2', A: '1' }, command: ['x'] } },
    },
    {
      name: 'an undefined optional field vs none',
      a: { process: { command: ['x'], workingDir: undefined } },
      b: { process: { command: ['x'] } },
    },
    {
      name: 'explicit defaults vs omitted ones, after parsing',
      a: template({ terminationGracePeriodSeconds: 30 }),
      b: template(),
    },
    {
      name: 'env written in another order, after parsing',
      a: template({ process: { command: ['node', 'server.mjs'], env: { B: '2', A: '1' } } }),
      b: template(),
    },
  ];
  for (const c of sameCases) {
    it(`equal for equal templates: ${c.name}`, () => {
      expect(revisionName('web', c.a)).toBe(revisionName('web', c.b));
    });
  }

  const differentCases: Array<{ name: string; patch: Record<string, unknown> }> = [
    { name: 'another command', patch: { process: { command: ['node', 'other.mjs'], env: { A: '1', B: '2' } } } },
    { name: 'argv order', patch: { process: { command: ['server.mjs', 'node'], env: { A: '1', B: '2' } } } },
    { name: 'an env value', patch: { process: { command: ['node', 'server.mjs'], env: { A: '1', B: '3' } } } },
    { name: 'an extra env variable', patch: { process: { command: ['node', 'server.mjs'], env: { A: '1', B: '2', C: '3' } } } },
    { name: 'a port number', patch: { ports: [{ name: 'http', port: 8081 }] } },
    { name: 'a port protocol', patch: { ports: [{ name: 'http', port: 8080, protocol: 'UDP' }] } },
    { name: 'a readiness probe', patch: { readinessProbe: { tcpSocket: { port: 8080 } } } },
    { name: 'the grace period', patch: { terminationGracePeriodSeconds: 5 } },
    { name: 'a working directory', patch: { process: { command: ['node', 'server.mjs'], env: { A: '1', B: '2' }, workingDir: '/srv' } } },
  ];
  for (const c of differentCases) {
    it(`different for a different template: ${c.name}`, () => {
      expect(revisionName('web', template(c.patch))).not.toBe(revisionName('web', template()));
    });
  }

  it('different sets with the same template share the hash but not the name', () => {
    const a = revisionName('web', template());
    const b = revisionName('api', template());
    expect(a).not.toBe(b);
    expect(a.slice('web-'.length)).toBe(b.slice('api-'.length));
  });
});
