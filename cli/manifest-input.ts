// The manifests a command sends to the API (apply, delete -f, diff), from its -f arguments: one file
// holding one document is sent as written, and the API reports its errors; anything more is read and
// validated whole by manifest-files.ts first, every problem reported as one CliError.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { decodeManifest, decodeManifestDocuments } from '../core/manifest-text.js';
import { parseManifest } from '../core/manifest.js';
import { DNS1123_LABEL, SET_NAME_MAX } from '../core/names.js';
import type { ManifestContentType } from './api-client.js';
import { CliError } from './command-kit.js';
import { readManifestTexts, readStdin, setManifestsFromTexts, STDIN, type ManifestProblem, type ManifestText } from './manifest-files.js';

/** One set's manifest, as it is sent to the API. */
export interface ManifestFile {
  name: string;
  text: string;
  contentType: ManifestContentType;
}

/** The help of -f for apply and delete. */
export const FILENAME_HELP = 'a manifest file, a directory of them (*.yaml, *.yml, *.json, by name), or - for standard input; may be given several times';

/**
 * The sets to apply (or diff). One file (or stdin) holding one document is read as before: sent as
 * written, its errors reported as the API reports them. Anything more goes through the manifest reader:
 * every document validated first, every problem listed, nothing applied unless all are valid.
 */
export async function readManifestInput(files: string[], recursive: boolean, verb: 'apply' | 'diff' = 'apply'): Promise<ManifestFile[]> {
  if (files.length === 1 && !(await isDirectory(files[0]))) {
    const file = files[0];
    const text = await readManifestText(file);
    const format = manifestFormat(text, file === '-' ? undefined : file);
    if (decodeManifestDocuments(text, format).count <= 1) return [manifestFromText(text, file === '-' ? STDIN : file, file === '-' ? undefined : file)];
    return setsOf([{ file: file === '-' ? STDIN : file, text, format }], verb);
  }
  return readSetsOf(files, recursive, verb);
}

/** Every set of the input, each sent as JSON (the document as written); or every problem, as a CliError. */
export async function readSetsOf(files: string[], recursive: boolean, verb: ManifestVerb): Promise<ManifestFile[]> {
  const texts = await readManifestTexts(files, { recursive });
  if (!texts.ok) throw problemsError(texts.problems, verb);
  return setsOf(texts.texts, verb);
}

export type ManifestVerb = 'apply' | 'delete' | 'diff';

const NOTHING_DONE: Record<ManifestVerb, string> = { apply: 'nothing was applied', delete: 'nothing was deleted', diff: 'nothing was previewed' };

function setsOf(texts: ManifestText[], verb: ManifestVerb): ManifestFile[] {
  const read = setManifestsFromTexts(texts);
  if (!read.ok) throw problemsError(read.problems, verb);
  return read.sets.map((set) => ({ name: set.name, text: JSON.stringify(set.document), contentType: 'application/json' }));
}

function problemsError(problems: ManifestProblem[], verb: ManifestVerb): CliError {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return new CliError(
    `cannot ${verb}: ${count} in the manifests; ${NOTHING_DONE[verb]}`,
    problems.map((p) => ({ path: p.path === '' ? p.where : `${p.where}: ${p.path}`, message: p.message })),
  );
}

async function isDirectory(file: string): Promise<boolean> {
  if (file === '-') return false;
  try {
    return (await stat(file)).isDirectory();
  } catch {
    return false;
  }
}

/** The text of a manifest file, or of stdin for "-". */
async function readManifestText(file: string): Promise<string> {
  const source = file === '-' ? STDIN : file;
  try {
    return file === '-' ? await readStdin() : await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
    throw new CliError(`cannot read ${source}: ${reason}`);
  }
}

/**
 * Pure part of reading one manifest: the format (by extension, else by content) and the set's name. A manifest
 * with a usable name is sent as it is: the API validates it and lists every field error. One whose
 * metadata.name is missing or not a set name (a DNS-1123 label of at most 52 characters) cannot be sent
 * (the name is the URL), so it is validated here with the core's rules, the API's own, and every field
 * error is reported at once, the name's among them.
 */
export function manifestFromText(text: string, source: string, file?: string): ManifestFile {
  const format = manifestFormat(text, file);
  // Decoded with the same limits as the server.
  const decoded = decodeManifest(text, format);
  if (!decoded.ok) throw new CliError(`cannot apply ${source}`, decoded.issues);
  const document = decoded.value;
  const metadata = document.metadata;
  const name = metadata !== null && typeof metadata === 'object' ? (metadata as { name?: unknown }).name : undefined;
  if (typeof name === 'string' && isSetName(name)) {
    return { name, text, contentType: format === 'json' ? 'application/json' : 'application/yaml' };
  }
  const parsed = parseManifest(document);
  const issues = parsed.ok ? [] : parsed.issues;
  if (!issues.some((issue) => issue.path === 'metadata.name' || issue.path === 'metadata')) {
    // Not expected (the core has the same rule); the name must be in the list all the same.
    const problem = name === undefined || name === '' ? 'is required' : typeof name === 'string' ? 'must be a set name' : 'must be a string';
    issues.unshift({ path: 'metadata.name', message: problem });
  }
  const message =
    typeof name === 'string' && name !== ''
      ? `cannot apply ${source}: the manifest is invalid`
      : `${source} has no metadata.name: the set's name is required to apply it`;
  throw new CliError(message, issues);
}

/** What the API takes as a set name in its path (core/names.ts; the manifest's metadata.name rule). */
function isSetName(name: string): boolean {
  return name.length <= SET_NAME_MAX && DNS1123_LABEL.test(name);
}

/** JSON for .json files, YAML for .yaml/.yml; otherwise JSON when the text starts with '{'. */
export function manifestFormat(text: string, file?: string): 'json' | 'yaml' {
  const extension = file ? path.extname(file).toLowerCase() : '';
  if (extension === '.json') return 'json';
  if (extension === '.yaml' || extension === '.yml') return 'yaml';
  return text.trimStart().startsWith('{') ? 'json' : 'yaml';
}
