// Reads the manifests a `-f` argument names, as kubectl does: a file, a directory (its *.yaml, *.yml
// and *.json files, by name; with `recursive`, its subdirectories' too) or `-` (standard input). A YAML
// file may hold several documents separated by `---`. Every document is decoded and validated with the
// API's own rules, and every problem of every input is reported at once, so a command can refuse the
// whole input before it changes anything.
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { decodeManifestDocuments, type Document, type ManifestFormat } from '../core/manifest-text.js';
import { validateManifest, type Manifest } from '../core/manifest.js';

/** The name `-` stands for in messages. */
export const STDIN = 'standard input';

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** Where a document came from, for messages: "dir/web.yaml (document 2)". */
export interface ManifestOrigin {
  /** The file as found (the argument joined with the name inside a directory), or "standard input". */
  file: string;
  /** 1-based position of the document in its file, counting empty documents too. */
  document: number;
}

/** One set manifest of the input. */
export interface SetManifest {
  name: string;
  origin: ManifestOrigin;
  /** The document as written (what to send: the API fills in the defaults itself). */
  document: Document;
  /** The document validated, with defaults filled in. */
  manifest: Manifest;
}

/** One thing wrong with the input; `path` is the field ("" for the whole document or file). */
export interface ManifestProblem {
  /** "dir/web.yaml (document 2)", or the file alone when it could not be read. */
  where: string;
  path: string;
  message: string;
}

export type ManifestsResult = { ok: true; sets: SetManifest[] } | { ok: false; problems: ManifestProblem[] };

/** A file's text, with the format it is read in. */
export interface ManifestText {
  file: string;
  text: string;
  format: ManifestFormat;
}

export interface ReadOptions {
  /** Also read the files of subdirectories of a directory argument. */
  recursive?: boolean;
  /** Reads standard input (tests give their own). */
  readStdin?: () => Promise<string>;
}

export function describeOrigin(origin: ManifestOrigin): string {
  return `${origin.file} (document ${origin.document})`;
}

/** Reads, decodes and validates every manifest of every argument: every set, or every problem. */
export async function readSetManifests(args: readonly string[], options: ReadOptions = {}): Promise<ManifestsResult> {
  const texts = await readManifestTexts(args, options);
  if (!texts.ok) return texts;
  return setManifestsFromTexts(texts.texts);
}

/** The texts of every argument's files, in order; a directory's sorted by name. */
export async function readManifestTexts(
  args: readonly string[],
  options: ReadOptions = {},
): Promise<{ ok: true; texts: ManifestText[] } | { ok: false; problems: ManifestProblem[] }> {
  const texts: ManifestText[] = [];
  const problems: ManifestProblem[] = [];
  let stdinRead = false;
  for (const arg of args) {
    if (arg === '-') {
      if (stdinRead) {
        problems.push({ where: STDIN, path: '', message: 'standard input (-) can be given only once' });
        continue;
      }
      stdinRead = true;
      const text = await (options.readStdin ?? readStdin)();
      texts.push({ file: STDIN, text, format: formatOf(text) });
      continue;
    }
    let files: string[];
    try {
      files = (await stat(arg)).isDirectory() ? await manifestFilesIn(arg, options.recursive === true) : [arg];
    } catch (err) {
      problems.push({ where: arg, path: '', message: `cannot read: ${readError(err)}` });
      continue;
    }
    if (files.length === 0) problems.push({ where: arg, path: '', message: 'the directory holds no *.yaml, *.yml or *.json file' });
    for (const file of files) {
      try {
        const text = await readFile(file, 'utf8');
        texts.push({ file, text, format: formatOf(text, file) });
      } catch (err) {
        problems.push({ where: file, path: '', message: `cannot read: ${readError(err)}` });
      }
    }
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, texts };
}

/**
 * Pure part of readSetManifests: every document decoded and validated (validateManifest, as the API
 * does), and no set named twice. An input without any document is a problem too: there is nothing to do.
 */
export function setManifestsFromTexts(texts: readonly ManifestText[]): ManifestsResult {
  const sets: SetManifest[] = [];
  const problems: ManifestProblem[] = [];
  const seen = new Map<string, ManifestOrigin>();
  for (const { file, text, format } of texts) {
    for (const { index, result } of decodeManifestDocuments(text, format).documents) {
      const origin = { file, document: index };
      const where = describeOrigin(origin);
      const validated = result.ok ? validateManifest(result.value) : result;
      if (!validated.ok) {
        for (const issue of validated.issues) problems.push({ where, path: issue.path, message: issue.message });
        continue;
      }
      const name = validated.value.metadata.name;
      const first = seen.get(name);
      if (first !== undefined) {
        problems.push({ where, path: 'metadata.name', message: `set ${name} is also in ${describeOrigin(first)}: each set may be named once` });
        continue;
      }
      seen.set(name, origin);
      sets.push({ name, origin, document: result.ok ? result.value : {}, manifest: validated.value });
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  if (sets.length === 0) {
    const where = texts.length === 0 ? 'input' : texts.map((t) => t.file).join(', ');
    return { ok: false, problems: [{ where, path: '', message: 'no manifest found: every document is empty' }] };
  }
  return { ok: true, sets };
}

/** JSON for .json files, YAML for .yaml/.yml; otherwise JSON when the text starts with '{'. */
export function formatOf(text: string, file?: string): ManifestFormat {
  const extension = file ? path.extname(file).toLowerCase() : '';
  if (extension === '.json') return 'json';
  if (extension === '.yaml' || extension === '.yml') return 'yaml';
  return text.trimStart().startsWith('{') ? 'json' : 'yaml';
}

/** The manifest files of a directory, sorted by name (byte order, as `ls` in the C locale); when recursive, a subdirectory's files where its name sorts. */
async function manifestFilesIn(dir: string, recursive: boolean): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (recursive) files.push(...(await manifestFilesIn(full, true)));
    } else if (MANIFEST_EXTENSIONS.has(path.extname(entry.name).toLowerCase()) && (entry.isFile() || (await isFile(full)))) {
      files.push(full);
    }
  }
  return files;
}

/** A symbolic link to a file counts as the file. */
async function isFile(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

function readError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
}

/** All of standard input, as UTF-8. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
