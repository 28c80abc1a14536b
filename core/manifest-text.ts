// Manifest text (JSON or YAML) to a plain document, defensively: the text comes from the network.
// Pure: no I/O. Every issue has path "" (the whole document) and a message naming the rule broken.
import YAML from 'yaml';
import { parseManifest, type FieldIssue, type Manifest, type ParseResult } from './manifest.js';

export type ManifestFormat = 'json' | 'yaml';

/** Containers nested deeper than this are rejected: no manifest needs it, and deep input costs stack. */
export const MAX_DEPTH = 64;
/** YAML alias expansions allowed per document: enough for reusing an anchor, far too few for an alias bomb. */
export const MAX_ALIAS_COUNT = 50;

export type Document = Record<string, unknown>;

/** Decodes manifest text into a document: one JSON object or one YAML mapping. */
export function decodeManifest(text: string, format: ManifestFormat): ParseResult<Document> {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (source.trim() === '') return fail('the document is empty');
  const decoded = format === 'json' ? decodeJson(source) : decodeYaml(source);
  if (!decoded.ok) return decoded;
  return asManifestDocument(decoded.value, format);
}

/** A decoded value that may be a manifest: a mapping, within the depth limit. */
function asManifestDocument(value: unknown, format: ManifestFormat): ParseResult<Document> {
  if (depthExceeds(value, MAX_DEPTH)) return fail(DEPTH_MESSAGE);
  if (!isPlainObject(value)) {
    return fail(`the document must be ${format === 'json' ? 'a JSON object' : 'a YAML mapping'}, not ${describe(value)}`);
  }
  return { ok: true, value };
}

/** One document of a text that may hold several: its 1-based position in the text, and what it decoded to. */
export interface DecodedDocument {
  /** 1-based, counting every document of the text (empty ones too), so it matches what a reader counts. */
  index: number;
  result: ParseResult<Document>;
}

/** The documents of a text that may hold several. */
export interface DecodedDocuments {
  /** How many documents the text holds, empty ones included. */
  count: number;
  /** The documents that are not empty, in order. */
  documents: DecodedDocument[];
}

/**
 * Decodes text that may hold several manifests (YAML documents separated by `---`; a JSON text is one
 * document), each with the same limits as decodeManifest. Empty documents are skipped, so an empty text
 * gives none. A problem with the whole text (nesting too deep to parse) is reported as document 1.
 */
export function decodeManifestDocuments(text: string, format: ManifestFormat): DecodedDocuments {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (source.trim() === '') return { count: 0, documents: [] };
  if (format === 'json') return { count: 1, documents: [{ index: 1, result: decodeManifest(source, 'json') }] };
  if (yamlTooDeep(source)) return { count: 1, documents: [{ index: 1, result: fail(DEPTH_MESSAGE) }] };
  const parsed = YAML.parseAllDocuments(source, YAML_OPTIONS);
  const documents: DecodedDocument[] = [];
  parsed.forEach((document, i) => {
    const value = decodeYamlDocument(document);
    if (value === undefined) return;
    documents.push({ index: i + 1, result: value.ok ? asManifestDocument(value.value, 'yaml') : value });
  });
  return { count: parsed.length, documents };
}

/** Decodes and validates manifest text: the manifest with defaults filled, or every issue found. */
export function readManifestText(text: string, format: ManifestFormat): ParseResult<Manifest> {
  const decoded = decodeManifest(text, format);
  return decoded.ok ? parseManifest(decoded.value) : decoded;
}

const DEPTH_MESSAGE = `the document is nested deeper than ${MAX_DEPTH} levels`;

function fail(...messages: string[]): { ok: false; issues: FieldIssue[] } {
  return { ok: false, issues: messages.map((message) => ({ path: '', message })) };
}

// ---- JSON ----

/**
 * JSON.parse reports errors without a usable position (and echoes the input back), so a strict
 * RFC 8259 scanner runs first: it finds the first error with its line and column, stops at the depth
 * limit before any value is built, and rejects duplicate keys (JSON.parse silently keeps the last).
 */
function decodeJson(text: string): ParseResult<unknown> {
  const error = scanJson(text);
  if (error) {
    const { line, column } = lineColumn(text, error.offset);
    return fail(error.depth ? DEPTH_MESSAGE : `invalid JSON at line ${line}, column ${column}: ${error.message}`);
  }
  return { ok: true, value: JSON.parse(text) };
}

interface ScanError {
  offset: number;
  message: string;
  depth?: boolean;
}

type Expect = 'value' | 'valueOrClose' | 'key' | 'keyOrClose' | 'colon' | 'commaOrClose';

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;

/** Iterative (no recursion), so any nesting in the input costs no stack. */
function scanJson(text: string): ScanError | undefined {
  const stack: Array<{ object: boolean; keys: Set<string> }> = [];
  let expect: Expect = 'value';
  let i = 0;
  for (;;) {
    WHITESPACE.lastIndex = i;
    WHITESPACE.test(text);
    i = WHITESPACE.lastIndex;
    if (i >= text.length) {
      return stack.length === 0 && expect === 'commaOrClose' ? undefined : { offset: i, message: 'unexpected end of input' };
    }
    const ch = text[i];
    const top = stack[stack.length - 1];
    switch (expect) {
      case 'value':
      case 'valueOrClose': {
        if (ch === ']' && expect === 'valueOrClose') {
          stack.pop();
          i += 1;
          expect = 'commaOrClose';
        } else if (ch === '{' || ch === '[') {
          if (stack.length >= MAX_DEPTH) return { offset: i, message: DEPTH_MESSAGE, depth: true };
          stack.push({ object: ch === '{', keys: new Set() });
          i += 1;
          expect = ch === '{' ? 'keyOrClose' : 'valueOrClose';
        } else {
          const end = scanScalar(text, i);
          if (typeof end !== 'number') return end;
          i = end;
          expect = 'commaOrClose';
        }
        break;
      }
      case 'key':
      case 'keyOrClose': {
        if (ch === '}' && expect === 'keyOrClose') {
          stack.pop();
          i += 1;
          expect = 'commaOrClose';
          break;
        }
        if (ch !== '"') {
          return { offset: i, message: expect === 'key' ? 'expected a double-quoted property name (no trailing commas)' : "expected a double-quoted property name or '}'" };
        }
        const end = scanString(text, i);
        if (typeof end !== 'number') return end;
        const key = JSON.parse(text.slice(i, end)) as string;
        if (top.keys.has(key)) return { offset: i, message: `duplicate key ${JSON.stringify(key)} (keys must be unique)` };
        top.keys.add(key);
        i = end;
        expect = 'colon';
        break;
      }
      case 'colon':
        if (ch !== ':') return { offset: i, message: "expected ':' after a property name" };
        i += 1;
        expect = 'value';
        break;
      case 'commaOrClose': {
        if (!top) return { offset: i, message: 'unexpected content after the JSON value' };
        const close = top.object ? '}' : ']';
        if (ch === ',') {
          expect = top.object ? 'key' : 'value';
        } else if (ch === close) {
          stack.pop();
        } else {
          return { offset: i, message: `expected ',' or '${close}'` };
        }
        i += 1;
        break;
      }
    }
  }
}

/** The end offset of the string, number or literal at `start`, or the error. */
function scanScalar(text: string, start: number): number | ScanError {
  const ch = text[start];
  if (ch === '"') return scanString(text, start);
  for (const literal of ['true', 'false', 'null']) {
    if (text.startsWith(literal, start)) return start + literal.length;
  }
  NUMBER.lastIndex = start;
  if (NUMBER.test(text)) {
    const end = NUMBER.lastIndex;
    if (/[0-9A-Za-z.+-]/.test(text[end] ?? '')) return { offset: start, message: 'invalid number' };
    return end;
  }
  return { offset: start, message: `unexpected character ${JSON.stringify(ch)}` };
}

function scanString(text: string, start: number): number | ScanError {
  let i = start + 1;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code === 0x22) return i + 1; // closing quote
    if (code < 0x20) return { offset: i, message: 'control characters must be escaped in strings' };
    if (code === 0x5c) {
      const next = text[i + 1];
      if (next === 'u') {
        if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(i + 2, i + 6))) return { offset: i, message: 'invalid \\u escape' };
        i += 6;
        continue;
      }
      if (next === undefined || !'"\\/bfnrt'.includes(next)) return { offset: i, message: 'invalid escape sequence' };
      i += 2;
      continue;
    }
    i += 1;
  }
  return { offset: start, message: 'unterminated string' };
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line += 1;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

// ---- YAML ----

const YAML_OPTIONS = {
  version: '1.2',
  // Plain data only: no custom tags, no YAML 1.1 extras (!!binary, !!set, ...), no `<<` merge keys.
  schema: 'core',
  resolveKnownTags: false,
  merge: false,
  uniqueKeys: true,
  strict: true,
  prettyErrors: true,
  logLevel: 'silent',
} as const;

function decodeYaml(text: string): ParseResult<unknown> {
  // The yaml composer recurses per nesting level and slows down sharply on deep input, so bound the
  // structure on the (iterative) parser's stack first; the exact limit is checked on the value later.
  if (yamlTooDeep(text)) return fail(DEPTH_MESSAGE);

  const documents = YAML.parseAllDocuments(text, YAML_OPTIONS);
  if (documents.length === 0) return fail('the document is empty');
  if (documents.length > 1) return fail('the text holds several YAML documents; send exactly one manifest, without `---` separators between documents');
  return decodeYamlDocument(documents[0]) ?? fail('the document is empty');
}

/** One parsed YAML document as plain data; undefined when it is empty. */
function decodeYamlDocument(document: YAML.Document.Parsed): ParseResult<unknown> | undefined {
  const problems = [...document.errors, ...document.warnings];
  if (problems.length > 0) {
    return fail(...problems.map((p) => `invalid YAML: ${firstLine(p.message)}${p.code === 'TAG_RESOLVE_FAILED' ? ' (tags are not allowed)' : ''}`));
  }
  const contents = document.contents;
  if (contents === null || (YAML.isScalar(contents) && contents.source === '')) return undefined;
  try {
    return { ok: true, value: document.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/excessive alias count/i.test(message)) {
      return fail(`invalid YAML: aliases expand to too many nodes (at most ${MAX_ALIAS_COUNT} alias expansions are allowed)`);
    }
    return fail(`invalid YAML: ${firstLine(message)}`);
  }
}

function yamlTooDeep(text: string): boolean {
  // The parser's stack holds the document and each open collection (and a pending scalar or two).
  const limit = MAX_DEPTH * 2;
  const lexer = new YAML.Lexer();
  const parser = new YAML.Parser();
  for (const lexeme of lexer.lex(text)) {
    for (const _token of parser.next(lexeme)) {
      // The finished top-level tokens are not needed: only the depth is.
    }
    if (parser.stack.length > limit) return true;
  }
  return false;
}

/** The yaml library's messages end with a code excerpt; the first line holds the rule and position. */
function firstLine(message: string): string {
  return message.split('\n')[0].replace(/:$/, '');
}

// ---- shared ----

function isPlainObject(value: unknown): value is Document {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when containers nest more than `max` deep; stops there, so cycles (YAML aliases) end too. */
function depthExceeds(value: unknown, max: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (max === 0) return true;
  const children = Array.isArray(value) ? value : Object.values(value);
  return children.some((child) => depthExceeds(child, max - 1));
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return `a ${typeof value}`;
}
