import { describe, expect, it } from 'vitest';
import { MAX_DEPTH, decodeManifest, decodeManifestDocuments, readManifestText } from '../../core/manifest-text.js';

const YAML_MANIFEST = `
apiVersion: ordinal.dev/v1
kind: StatefulSet
metadata:
  name: web
spec:
  replicas: 3
  template:
    process:
      command: ["node", "examples/echo-server.mjs"]
      env: { GREETING: hello }
    ports: [{ name: http, port: 8080, protocol: TCP }]
    readinessProbe: { httpGet: { path: /healthz, port: 8080 }, periodSeconds: 1, failureThreshold: 3 }
    livenessProbe:  { tcpSocket: { port: 8080 }, periodSeconds: 2 }
  dns:
    zone: ordinal.internal
    ttl: 5
`;

const JSON_MANIFEST = JSON.stringify({
  apiVersion: 'ordinal.dev/v1',
  kind: 'StatefulSet',
  metadata: { name: 'web' },
  spec: { replicas: 2, template: { process: { command: ['node', 'server.mjs'] } } },
});

/** The single issue of a failed decode (all decode issues are about the whole document). */
function issue(text: string, format: 'json' | 'yaml'): string {
  const result = decodeManifest(text, format);
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('unreachable');
  expect(result.issues.length).toBeGreaterThan(0);
  for (const i of result.issues) expect(i.path).toBe('');
  return result.issues.map((i) => i.message).join('\n');
}

function nested(depth: number, format: 'json' | 'yaml'): string {
  // {"a":{"a":...{}}}: `depth` objects; YAML flow syntax is the same text.
  return '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1) + (format === 'yaml' ? '\n' : '');
}

describe('decodeManifest: JSON', () => {
  it('decodes an object', () => {
    expect(decodeManifest('{"a": [1, 2.5e3, -0, true, false, null, "x\\u00e9\\n"]}', 'json')).toEqual({
      ok: true,
      value: { a: [1, 2500, -0, true, false, null, 'xé\n'] },
    });
  });

  it('ignores a byte-order mark and surrounding whitespace', () => {
    expect(decodeManifest('\uFEFF \n {"a":1} \n', 'json')).toEqual({ ok: true, value: { a: 1 } });
  });

  it.each([
    ['{"a":}', 1, 6, "unexpected character \"}\""],
    ['{"a":1', 1, 7, 'unexpected end of input'],
    ['{"a":1,}', 1, 8, 'expected a double-quoted property name'],
    ['{\n  "a": tru\n}', 2, 8, 'unexpected character "t"'],
    ['{"a":1}x', 1, 8, 'unexpected content after the JSON value'],
    ['[1,2,]', 1, 6, 'unexpected character "]"'],
    ['{"a":1 "b":2}', 1, 8, "expected ',' or '}'"],
    ["{'a':1}", 1, 2, 'double-quoted property name'],
    ['{"a" 1}', 1, 6, "expected ':'"],
    ['{"a":"b', 1, 6, 'unterminated string'],
    ['{"a":"\\x"}', 1, 7, 'invalid escape sequence'],
    ['{"a":"\\u12g4"}', 1, 7, 'invalid \\u escape'],
    ['{"a":"tab\there"}', 1, 10, 'control characters must be escaped'],
    ['{"a":01}', 1, 6, 'invalid number'],
    ['{"a":1.}', 1, 6, 'invalid number'],
    ['{"a":NaN}', 1, 6, 'unexpected character "N"'],
    ['{"a":1}\n\n  // comment', 3, 3, 'unexpected content'],
  ])('reports %j at line %i, column %i', (text, line, column, message) => {
    const got = issue(text, 'json');
    expect(got).toContain(`invalid JSON at line ${line}, column ${column}`);
    expect(got).toContain(message);
  });

  it('never echoes a large body back in its message', () => {
    const got = issue(`{"a": "${'x'.repeat(100_000)}", }`, 'json');
    expect(got.length).toBeLessThan(200);
  });

  it('rejects duplicate keys, which JSON.parse would silently resolve', () => {
    expect(issue('{"spec": {"replicas": 1, "replicas": 5}}', 'json')).toMatch(/line 1, column 26: duplicate key "replicas"/);
    // Escapes are decoded before comparing.
    expect(issue('{"a": 1, "\\u0061": 2}', 'json')).toContain('duplicate key "a"');
    // The same key in different objects is fine.
    expect(decodeManifest('{"a": {"x": 1}, "b": {"x": 2}}', 'json').ok).toBe(true);
  });

  it(`allows ${MAX_DEPTH} levels of nesting and rejects ${MAX_DEPTH + 1}`, () => {
    expect(decodeManifest(nested(MAX_DEPTH, 'json'), 'json').ok).toBe(true);
    expect(issue(nested(MAX_DEPTH + 1, 'json'), 'json')).toBe(`the document is nested deeper than ${MAX_DEPTH} levels`);
  });

  it('rejects very deep nesting quickly, without building it', () => {
    const started = Date.now();
    expect(issue('['.repeat(500_000) + ']'.repeat(500_000), 'json')).toContain('nested deeper');
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it.each([
    ['', 'the document is empty'],
    ['  \n\t ', 'the document is empty'],
    ['[]', 'must be a JSON object, not a list'],
    ['"web"', 'must be a JSON object, not a string'],
    ['42', 'must be a JSON object, not a number'],
    ['null', 'must be a JSON object, not null'],
  ])('rejects %j: %s', (text, message) => {
    expect(issue(text, 'json')).toContain(message);
  });

  it('keeps a "__proto__" key as data, not as a prototype', () => {
    const result = decodeManifest('{"__proto__": {"polluted": true}}', 'json');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(Object.getPrototypeOf(result.value)).toBe(Object.prototype);
    expect(Object.keys(result.value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('decodeManifest: YAML', () => {
  it('decodes the web example manifest (docs/manifest.md)', () => {
    const result = decodeManifest(YAML_MANIFEST, 'yaml');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toMatchObject({ metadata: { name: 'web' }, spec: { replicas: 3, dns: { ttl: 5 } } });
  });

  it('decodes JSON too (YAML 1.2 is a superset)', () => {
    expect(decodeManifest('{"a": [1, true, null]}', 'yaml')).toEqual({ ok: true, value: { a: [1, true, null] } });
  });

  it('uses the YAML 1.2 core schema: yes/no/on are strings, not booleans', () => {
    expect(decodeManifest('a: yes\nb: on\nc: true\nd: 0x10\ne: "010"\n', 'yaml')).toEqual({
      ok: true,
      value: { a: 'yes', b: 'on', c: true, d: 16, e: '010' },
    });
  });

  it('allows a few aliases (reusing an anchor is ordinary YAML)', () => {
    expect(decodeManifest('base: &env {A: "1"}\nx: *env\ny: *env\n', 'yaml')).toEqual({
      ok: true,
      value: { base: { A: '1' }, x: { A: '1' }, y: { A: '1' } },
    });
  });

  it('rejects an alias bomb instead of expanding it', () => {
    const bomb = [
      'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]',
      'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]',
      'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]',
      'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]',
      'f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]',
      'g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]',
      'h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]',
      'i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]',
    ].join('\n');
    expect(issue(bomb, 'yaml')).toMatch(/aliases expand to too many nodes/);
  });

  it('rejects an alias to an anchor that is not defined (yet)', () => {
    expect(issue('a: *nope\n', 'yaml')).toMatch(/invalid YAML: .*alias/i);
  });

  it('rejects a self-referencing alias (a cycle) through the depth limit', () => {
    expect(issue('a: &a [*a]\n', 'yaml')).toMatch(/nested deeper|alias/);
  });

  it('rejects several documents in one stream', () => {
    expect(issue('a: 1\n---\nb: 2\n', 'yaml')).toMatch(/several YAML documents/);
    expect(issue('---\na: 1\n---\n', 'yaml')).toMatch(/several YAML documents/);
  });

  it('accepts one document with explicit start and end markers', () => {
    expect(decodeManifest('---\na: 1\n...\n', 'yaml')).toEqual({ ok: true, value: { a: 1 } });
  });

  it('rejects duplicate keys with their position', () => {
    expect(issue('spec:\n  replicas: 1\n  replicas: 5\n', 'yaml')).toMatch(/invalid YAML: Map keys must be unique at line 3, column 3/);
  });

  it.each([
    ['a: [1, 2\nb: 3\n', /invalid YAML: .* at line 2, column 1/],
    ['a:\n  b: 1\n c: 2\n', /invalid YAML: .* at line 3, column 1/],
    ['a: "unterminated\n', /invalid YAML: Missing closing "quote at line \d+, column \d+/],
    ['a:\n\tb: 1\n', /invalid YAML: .*tab/i],
  ])('reports syntax errors with line and column: %j', (text, pattern) => {
    expect(issue(text, 'yaml')).toMatch(pattern);
  });

  it.each([
    ['a: !foo bar\n'],
    ['a: !!js/function "function () {}"\n'],
    ['a: !!binary aGVsbG8=\n'],
    ['a: !!set {x, y}\n'],
    ['a: !!timestamp 2001-12-14\n'],
    ['%YAML 1.1\n---\na: !!binary aGVsbG8=\n'],
  ])('rejects tags beyond the core schema: %j', (text) => {
    expect(issue(text, 'yaml')).toMatch(/tags are not allowed/);
  });

  it('treats a `<<` merge key as an ordinary key (no YAML 1.1 merges)', () => {
    expect(decodeManifest('x: &x {a: 1}\ny:\n  <<: *x\n', 'yaml')).toEqual({ ok: true, value: { x: { a: 1 }, y: { '<<': { a: 1 } } } });
  });

  it.each([
    ['', 'the document is empty'],
    ['# only a comment\n', 'the document is empty'],
    ['---\n', 'the document is empty'],
    ['hello\n', 'must be a YAML mapping, not a string'],
    ['42\n', 'must be a YAML mapping, not a number'],
    ['~\n', 'must be a YAML mapping, not null'],
    ['- a\n- b\n', 'must be a YAML mapping, not a list'],
  ])('rejects %j: %s', (text, message) => {
    expect(issue(text, 'yaml')).toContain(message);
  });

  it(`allows ${MAX_DEPTH} levels of nesting and rejects ${MAX_DEPTH + 1}`, () => {
    expect(decodeManifest(nested(MAX_DEPTH, 'yaml'), 'yaml').ok).toBe(true);
    expect(issue(nested(MAX_DEPTH + 1, 'yaml'), 'yaml')).toBe(`the document is nested deeper than ${MAX_DEPTH} levels`);
    const block = Array.from({ length: MAX_DEPTH + 1 }, (_, i) => `${' '.repeat(i)}a:`).join('\n') + ' 1\n';
    expect(issue(block, 'yaml')).toContain('nested deeper');
  });

  it.each([
    ['flow', '['.repeat(500_000) + ']'.repeat(500_000)],
    ['compact sequences', '- '.repeat(500_000) + 'x\n'],
    ['block mappings', Array.from({ length: 1_400 }, (_, i) => `${' '.repeat(i)}a:`).join('\n') + ' 1\n'],
  ])('rejects very deep %s nesting quickly', (_kind, text) => {
    const started = Date.now();
    expect(issue(text, 'yaml')).toContain('nested deeper');
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('keeps a "__proto__" key as data', () => {
    const result = decodeManifest('__proto__: {polluted: true}\n', 'yaml');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(Object.keys(result.value)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('readManifestText', () => {
  it('reads the same manifest from YAML and JSON', () => {
    const yaml = readManifestText(YAML_MANIFEST, 'yaml');
    expect(yaml.ok).toBe(true);
    if (!yaml.ok) return;
    expect(yaml.value.spec.replicas).toBe(3);
    expect(yaml.value.spec.serviceName).toBe('web');
    const json = readManifestText(JSON.stringify(yaml.value), 'json');
    expect(json).toEqual(yaml);
  });

  it('fills defaults', () => {
    const result = readManifestText(JSON_MANIFEST, 'json');
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.spec).toMatchObject({ replicas: 2, podManagementPolicy: 'OrderedReady', dns: { zone: 'ordinal.internal', ttl: 5 } });
  });

  it('gives decode issues for bad text and field issues for a bad manifest', () => {
    expect(readManifestText('{', 'json')).toEqual({ ok: false, issues: [{ path: '', message: 'invalid JSON at line 1, column 2: unexpected end of input' }] });
    const invalid = readManifestText(YAML_MANIFEST.replace('replicas: 3', 'replicas: -1\n  color: blue'), 'yaml');
    expect(invalid.ok).toBe(false);
    if (invalid.ok) return;
    expect(invalid.issues).toEqual(
      expect.arrayContaining([
        { path: 'spec.replicas', message: 'must be at least 0' },
        { path: 'spec.color', message: 'unknown field' },
      ]),
    );
  });
});

describe('decodeManifestDocuments', () => {
  const cases: Array<{ name: string; text: string; format: 'json' | 'yaml'; count: number; indexes: number[]; ok: boolean[] }> = [
    { name: 'empty text', text: ' \n', format: 'yaml', count: 0, indexes: [], ok: [] },
    { name: 'one document', text: 'a: 1\n', format: 'yaml', count: 1, indexes: [1], ok: [true] },
    { name: 'a leading --- still makes one', text: '---\na: 1\n', format: 'yaml', count: 1, indexes: [1], ok: [true] },
    { name: 'empty documents skipped, counted', text: 'a: 1\n---\n---\nb: 2\n---\n', format: 'yaml', count: 4, indexes: [1, 3], ok: [true, true] },
    { name: 'each document its own problems', text: 'a: [\n---\n- x\n---\nc: 3\n', format: 'yaml', count: 3, indexes: [1, 2, 3], ok: [false, false, true] },
    { name: 'JSON: one document', text: '{"a": 1}', format: 'json', count: 1, indexes: [1], ok: [true] },
    { name: 'too deep: one problem for the text', text: `${'['.repeat(MAX_DEPTH * 3)}\n---\na: 1\n`, format: 'yaml', count: 1, indexes: [1], ok: [false] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const decoded = decodeManifestDocuments(c.text, c.format);
      expect(decoded.count).toBe(c.count);
      expect(decoded.documents.map((d) => d.index)).toEqual(c.indexes);
      expect(decoded.documents.map((d) => d.result.ok)).toEqual(c.ok);
    });
  }
});
