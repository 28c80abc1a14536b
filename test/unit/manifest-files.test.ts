// The manifest reader of `apply -f` and `delete -f` (cli/manifest-files.ts): files, directories (sorted,
// -R), stdin, several YAML documents per file, empty documents, and every problem at once with its file
// and document.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSetManifests, setManifestsFromTexts, STDIN, type ManifestText } from '../../cli/manifest-files.js';
import { matchesSelector, parseSelector } from '../../cli/apply-command.js';

const LABEL_RULE = "must be a DNS-1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit";

function yamlSet(name: string, extra = ''): string {
  return `apiVersion: ordinal.dev/v1\nkind: StatefulSet\nmetadata: {name: ${name}}\nspec:\n  replicas: 1\n  template: {process: {command: [node]}}\n${extra}`;
}

function jsonSet(name: string): string {
  return JSON.stringify({ apiVersion: 'ordinal.dev/v1', kind: 'StatefulSet', metadata: { name }, spec: { replicas: 1, template: { process: { command: ['node'] } } } });
}

/** name@file#document for each set read, or the problems as "where: path: message" lines. */
function summary(result: Awaited<ReturnType<typeof readSetManifests>>): string[] {
  if (result.ok) return result.sets.map((s) => `${s.name}@${path.basename(s.origin.file)}#${s.origin.document}`);
  return result.problems.map((p) => `${p.where.replace(`${dir}${path.sep}`, '')}: ${p.path}: ${p.message}`);
}

let dir: string;

function write(file: string, text: string): string {
  const full = path.join(dir, file);
  fs.mkdirSync(path.dirname(full), { recursive: true });
  fs.writeFileSync(full, text);
  return full;
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-manifest-files-'));
  write('sorted/b.yaml', yamlSet('bee'));
  write('sorted/a.yml', `${yamlSet('ant')}---\n${yamlSet('ape')}`);
  write('sorted/c.json', jsonSet('cat'));
  write('sorted/notes.txt', 'not a manifest');
  write('sorted/d-sub/e.yaml', yamlSet('eel'));
  write('sorted/Z.yaml', yamlSet('zed'));
  write('empty-dir/readme.md', '# none here');
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('readSetManifests: which files, in which order', () => {
  const cases: Array<{ name: string; args: string[]; recursive?: boolean; stdin?: string; expected: string[] }> = [
    { name: 'a file', args: ['sorted/b.yaml'], expected: ['bee@b.yaml#1'] },
    { name: 'a file with two documents', args: ['sorted/a.yml'], expected: ['ant@a.yml#1', 'ape@a.yml#2'] },
    {
      name: 'a directory: its *.yaml, *.yml and *.json files by name (byte order), not its subdirectories',
      args: ['sorted'],
      expected: ['zed@Z.yaml#1', 'ant@a.yml#1', 'ape@a.yml#2', 'bee@b.yaml#1', 'cat@c.json#1'],
    },
    {
      name: '-R: a subdirectory where its name sorts',
      args: ['sorted'],
      recursive: true,
      expected: ['zed@Z.yaml#1', 'ant@a.yml#1', 'ape@a.yml#2', 'bee@b.yaml#1', 'cat@c.json#1', 'eel@e.yaml#1'],
    },
    { name: 'several -f, in the order given', args: ['sorted/c.json', 'sorted/b.yaml'], expected: ['cat@c.json#1', 'bee@b.yaml#1'] },
    { name: 'stdin (YAML)', args: ['-'], stdin: `${yamlSet('one')}---\n${yamlSet('two')}`, expected: [`one@${STDIN}#1`, `two@${STDIN}#2`] },
    { name: 'stdin (JSON, by its first character)', args: ['-'], stdin: jsonSet('js'), expected: [`js@${STDIN}#1`] },
    {
      name: 'empty documents are skipped and still counted',
      args: ['-'],
      stdin: `---\n# only a comment\n---\n${yamlSet('third')}---\n---\n${yamlSet('fifth')}---\n`,
      expected: [`third@${STDIN}#2`, `fifth@${STDIN}#4`],
    },
    { name: 'a missing file', args: ['nope.yaml'], expected: ['nope.yaml: : cannot read: no such file or directory'] },
    { name: 'a directory without manifests', args: ['empty-dir'], expected: ['empty-dir: : the directory holds no *.yaml, *.yml or *.json file'] },
    { name: 'only empty documents', args: ['-'], stdin: '---\n---\n', expected: [`${STDIN}: : no manifest found: every document is empty`] },
    { name: 'stdin twice', args: ['-', '-'], stdin: yamlSet('x'), expected: [`${STDIN}: : standard input (-) can be given only once`] },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const args = c.args.map((a) => (a === '-' ? a : path.join(dir, a)));
      const result = await readSetManifests(args, { recursive: c.recursive, readStdin: async () => c.stdin ?? '' });
      expect(summary(result)).toEqual(c.expected);
    });
  }
});

describe('setManifestsFromTexts: every problem at once, with its file and document', () => {
  const cases: Array<{ name: string; texts: ManifestText[]; expected: string[] }> = [
    {
      name: 'an unknown field in the second document',
      texts: [{ file: 'a.yaml', format: 'yaml', text: `${yamlSet('a')}---\n${yamlSet('b', 'extra: 1\n')}` }],
      expected: ['a.yaml (document 2): extra: unknown field'],
    },
    {
      name: 'field errors name the field and the rule (validateManifest, the API’s)',
      texts: [
        { file: 'x.yaml', format: 'yaml', text: `${yamlSet('ok')}---\n${yamlSet('Bad').replace('replicas: 1', 'replicas: two')}` },
        { file: 'y.json', format: 'json', text: jsonSet('fine') },
      ],
      expected: [`x.yaml (document 2): metadata.name: ${LABEL_RULE}`, 'x.yaml (document 2): spec.replicas: must be a number'],
    },
    {
      name: 'replicas above the maximum: the plain rule, as the API says it',
      texts: [{ file: 'big.yaml', format: 'yaml', text: yamlSet('big').replace('replicas: 1', 'replicas: 9007199254740993') }],
      expected: ['big.yaml (document 1): spec.replicas: must be at most 1000'],
    },
    {
      name: 'a document that cannot be decoded, and one that is not a mapping',
      texts: [{ file: 'broken.yaml', format: 'yaml', text: `metadata: [unclosed\n---\n- a list\n---\n${yamlSet('fine')}` }],
      expected: ['broken.yaml (document 1): : invalid YAML', 'broken.yaml (document 2): : the document must be a YAML mapping, not a list'],
    },
    {
      name: 'invalid JSON',
      texts: [{ file: 'bad.json', format: 'json', text: '{"metadata": ' }],
      expected: ['bad.json (document 1): : invalid JSON at line 1, column 14: unexpected end of input'],
    },
    {
      name: 'a set named twice, in one file or two: the second is the problem, naming the first',
      texts: [
        { file: 'one.yaml', format: 'yaml', text: `${yamlSet('web')}---\n${yamlSet('web')}` },
        { file: 'two.json', format: 'json', text: jsonSet('web') },
      ],
      expected: [
        'one.yaml (document 2): metadata.name: set web is also in one.yaml (document 1): each set may be named once',
        'two.json (document 1): metadata.name: set web is also in one.yaml (document 1): each set may be named once',
      ],
    },
    {
      name: 'YAML tags and aliases keep the server limits',
      texts: [{ file: 'tag.yaml', format: 'yaml', text: `${yamlSet('t')}---\nmetadata: !!binary aGk=\n` }],
      expected: ['tag.yaml (document 2): : invalid YAML'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const result = setManifestsFromTexts(c.texts);
      expect(result.ok).toBe(false);
      if (result.ok) return;
      // Decoder messages go on with positions; the start says which rule.
      expect(result.problems.map((p) => `${p.where}: ${p.path}: ${p.message}`).map((line, i) => (c.expected[i]?.endsWith(': invalid YAML') ? line.slice(0, c.expected[i].length) : line))).toEqual(c.expected);
    });
  }

  it('valid input: names, origins, the document as written and the validated manifest', () => {
    const result = setManifestsFromTexts([{ file: 'a.yaml', format: 'yaml', text: `---\n${yamlSet('a')}---\n${yamlSet('b')}` }]);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.sets.map((s) => [s.name, s.origin])).toEqual([
      ['a', { file: 'a.yaml', document: 1 }],
      ['b', { file: 'a.yaml', document: 2 }],
    ]);
    expect(result.sets[0].document).toEqual({ apiVersion: 'ordinal.dev/v1', kind: 'StatefulSet', metadata: { name: 'a' }, spec: { replicas: 1, template: { process: { command: ['node'] } } } });
    expect(result.sets[0].manifest.spec.podManagementPolicy).toBe('OrderedReady');
  });
});

describe('--selector', () => {
  const cases: Array<{ text: string; selector?: Record<string, string>; error?: RegExp }> = [
    { text: 'app=shop', selector: { app: 'shop' } },
    { text: 'app=shop,tier=db', selector: { app: 'shop', tier: 'db' } },
    { text: ' app = shop ', selector: { app: 'shop' } },
    { text: 'app', error: /must be LABEL=VALUE/ },
    { text: '=shop', error: /must be LABEL=VALUE/ },
    { text: 'app=shop,', error: /must be LABEL=VALUE/ },
    { text: 'a==b', error: /must be LABEL=VALUE/ },
  ];
  for (const c of cases) {
    it(`parses '${c.text}'`, () => {
      if (c.error) expect(() => parseSelector(c.text)).toThrow(c.error);
      else expect(parseSelector(c.text)).toEqual(c.selector);
    });
  }

  it('matches only sets carrying every label with its value', () => {
    expect(matchesSelector({ app: 'shop', tier: 'db' }, { app: 'shop' })).toBe(true);
    expect(matchesSelector({ app: 'other' }, { app: 'shop' })).toBe(false);
    expect(matchesSelector(undefined, { app: 'shop' })).toBe(false);
    expect(matchesSelector({ app: 'shop' }, { app: 'shop', tier: 'db' })).toBe(false);
  });
});
