// A manifest sent to the API (PUT, or the result of a PATCH): its format from the Content-Type, decoded,
// and validated here too, so an invalid manifest never reaches (or starts) a workflow. Every problem is
// reported at once, each with its field path.
import type { Context } from 'hono';
import { decodeManifest, type Document, type ManifestFormat } from '../core/manifest-text.js';
import { toFieldIssues, validateManifest, type FieldIssue } from '../core/manifest.js';
import type { AppEnv } from './auth.js';
import { ApiError, type ErrorCode } from './errors.js';
import { mediaType } from './request.js';
import { DryRunQuery, IfMatchHeaders, SetParams } from './schemas.js';

const YAML_TYPES = new Set(['application/yaml', 'application/x-yaml', 'text/yaml']);

export function manifestFormat(contentType: string | undefined): ManifestFormat {
  const type = mediaType(contentType);
  if (type === 'application/json') return 'json';
  if (YAML_TYPES.has(type)) return 'yaml';
  const got = type ? `not '${type}'` : 'and this request has no Content-Type';
  throw new ApiError('UnsupportedMediaType', `a manifest is sent as application/json or application/yaml, ${got}`);
}

export function decode(text: string, format: ManifestFormat, code: ErrorCode): Document {
  const decoded = decodeManifest(text, format);
  if (!decoded.ok) throw new ApiError(code, `the body is not a valid ${format === 'json' ? 'JSON' : 'YAML'} document`, decoded.issues);
  return decoded.value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Every problem of a manifest PUT (or PATCHed) to the set `name`, at once: the manifest's own field
 * errors, a metadata.name that disagrees with the path, and `pathIssues`, the path's name itself when it
 * is not a set name. metadata.name may be left out: the path names the set, so the path's problems
 * stand for it; when the body carries the same invalid name, its own issue at metadata.name does.
 * Returns the document with the name filled in, and the issues (none when it is valid).
 */
function manifestProblems(document: Document, name: string, pathIssues: FieldIssue[] = []): { document: Document; issues: FieldIssue[] } {
  const metadata = document.metadata;
  const given = isPlainObject(metadata) ? metadata.name : undefined;
  const nameFromPath = metadata === undefined || (isPlainObject(metadata) && given === undefined);
  const named = nameFromPath ? { ...document, metadata: { ...(isPlainObject(metadata) ? metadata : {}), name } } : document;
  const parsed = validateManifest(named);
  const issues = parsed.ok ? [] : parsed.issues;
  const atName = (issue: FieldIssue) => issue.path === 'metadata.name';
  if (nameFromPath) {
    // The core's issues about metadata.name are the path's, reported as such.
    return { document: named, issues: pathIssues.length > 0 ? [...pathIssues, ...issues.filter((i) => !atName(i))] : issues };
  }
  if (given === name) {
    return { document: named, issues: pathIssues.length > 0 && !issues.some(atName) ? [...pathIssues, ...issues] : issues };
  }
  const mismatch: FieldIssue[] =
    typeof given === 'string'
      ? [
          {
            path: 'metadata.name',
            message: pathIssues.length > 0 ? 'does not match the name in the path' : `must be '${name}', the name in the path (or be left out)`,
          },
        ]
      : []; // not a string (or no metadata object): the core reports it
  return { document: named, issues: [...pathIssues, ...mismatch, ...issues] };
}

/** Validates here too, so an invalid manifest never reaches (or starts) a workflow; reports every field error at once. */
export function validManifest(document: Document, name: string): Document {
  const { document: named, issues } = manifestProblems(document, name);
  if (issues.length > 0) throw new ApiError('InvalidManifest', 'the manifest is invalid', issues);
  return named;
}

/**
 * A PUT whose path does not name a set validly (upper case, too long, ...), whose dryRun or If-Match is
 * malformed: the rest of the request is validated all the same and everything wrong is answered
 * together, as 400 BadRequest (a bad path parameter, query parameter or header, as before), path first,
 * then dryRun, then the header, then the manifest. A body that cannot be decoded adds its reason; one whose Content-Type is not a
 * manifest's is not read (the path and header problems are the answer, still a 400).
 */
export async function invalidPut(c: Context<AppEnv>): Promise<ApiError | undefined> {
  const name = c.req.param('name') ?? '';
  const path = SetParams.safeParse({ name });
  const pathIssues = path.success ? [] : toFieldIssues(path.error);
  const header = IfMatchHeaders.safeParse({ 'if-match': c.req.header('if-match') });
  const headerIssues = header.success ? [] : toFieldIssues(header.error);
  const query = DryRunQuery.safeParse({ dryRun: c.req.query('dryRun') });
  const queryIssues = query.success ? [] : toFieldIssues(query.error);
  if (pathIssues.length === 0 && headerIssues.length === 0 && queryIssues.length === 0) return undefined; // not expected: the validator's own answer stands
  let format: ManifestFormat | undefined;
  try {
    format = manifestFormat(c.req.header('content-type'));
  } catch {
    format = undefined;
  }
  const decoded = format === undefined ? undefined : decodeManifest(await c.req.text(), format);
  const bodyIssues =
    decoded === undefined ? pathIssues : decoded.ok ? manifestProblems(decoded.value, name, pathIssues).issues : [...pathIssues, ...decoded.issues];
  // The name's problems (at the path parameter, or at metadata.name when the body carries the same name) come first.
  const isName = (issue: FieldIssue) => pathIssues.includes(issue) || (pathIssues.length > 0 && issue.path === 'metadata.name');
  const nameIssues = bodyIssues.filter(isName);
  const manifestIssues = bodyIssues.filter((issue) => !isName(issue));
  const invalid = [
    ...(pathIssues.length > 0 ? ["path parameter 'name'"] : []),
    ...(queryIssues.length > 0 ? ["query parameter 'dryRun'"] : []),
    ...(headerIssues.length > 0 ? ["header 'if-match'"] : []),
    ...(manifestIssues.length > 0 ? ['manifest'] : []),
  ];
  const message = `invalid ${invalid.length > 1 ? `${invalid.slice(0, -1).join(', ')} and ${invalid[invalid.length - 1]}` : invalid[0]}`;
  return new ApiError('BadRequest', message, [...nameIssues, ...queryIssues, ...headerIssues, ...manifestIssues]);
}
