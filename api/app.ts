// The HTTP API as a hono app: a factory over a SetsPort, so tests call app.request(...) with a fake and
// no server. Handlers only answer the happy path; everything else is thrown and rendered by onError
// (and notFound) in the one error shape of api/errors.ts. Authentication (api/auth.ts) runs before
// everything else, so a request it refuses never reaches a handler.
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { decodeManifest, type Document, type ManifestFormat } from '../core/manifest-text.js';
import { toFieldIssues, validateManifest, type FieldIssue } from '../core/manifest.js';
import { applyMergePatch } from '../core/merge-patch.js';
import type { SetView } from '../core/status.js';
import { logger as defaultLogger, type Logger } from '../infra/logger.js';
import { UNAUTHENTICATED_REQUESTER, authMiddleware, type ApiAuth, type AppEnv } from './auth.js';
import { ApiError, errorResponse, toApiError, validationHook, type ErrorCode } from './errors.js';
import { DEFAULT_TAIL_LINES, readLogTail } from './logs.js';
import {
  cordonInstanceRoute,
  deleteInstanceRoute,
  deleteSetRoute,
  getSetRoute,
  healthRoute,
  instanceLogsRoute,
  listInstancesRoute,
  listRevisionsRoute,
  listRoute53ZonesRoute,
  listSetsRoute,
  openApiRoute,
  patchSetRoute,
  putSetRoute,
  reconcileRoute53ZoneRoute,
  uncordonInstanceRoute,
} from './routes.js';
import { IfMatchHeaders, ManifestComponent, SetParams, generationFromIfMatch, putManifestDocument } from './schemas.js';
import type { SetsPort } from './sets-port.js';
import { SetError } from './sets.js';
import type { Route53ZonesPort } from './zones-port.js';
import { bareHostedZoneId } from './zones.js';

export type { ApiAuth, AppEnv } from './auth.js';
export type { SetsPort } from './sets-port.js';
export type { Route53ZonesPort } from './zones-port.js';

export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
/** PATCH reads, merges and applies; a concurrent change in between is retried this many times in all. */
export const PATCH_ATTEMPTS = 3;
export interface AppOptions {
  bodyLimitBytes?: number;
  logger?: Logger;
  /** The Route 53 zone publishers; without them the /v1/dns/route53 routes answer 404. */
  zones?: Route53ZonesPort;
  /**
   * The bearer tokens (a TokenStore). Without it, or while it is not enabled, nothing is checked and
   * every change is recorded as requested by 'api'.
   */
  auth?: ApiAuth;
  /** The data directory's logs folder, where the worker's process driver writes instance logs; without it the logs route answers 404. */
  logsDir?: string;
}

/** Who asked for a change: the token's name, or 'api' when authentication is disabled. */
function requestedBy(c: Context<AppEnv>): string {
  return c.get('principal')?.name ?? UNAUTHENTICATED_REQUESTER;
}

const YAML_TYPES = new Set(['application/yaml', 'application/x-yaml', 'text/yaml']);
const MERGE_PATCH_TYPES = new Set(['application/merge-patch+json', 'application/json']);

export function createApp(sets: SetsPort, options: AppOptions = {}): OpenAPIHono<AppEnv> {
  const limit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const log = options.logger ?? defaultLogger;
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.use('*', authMiddleware(options.auth, log));
  app.use(
    '*',
    bodyLimit({
      maxSize: limit,
      onError: (c) => errorResponse(c, new ApiError('PayloadTooLarge', `the body is larger than ${limit} bytes`)),
    }),
  );

  app.openapi(healthRoute, async (c) => {
    if (!(await sets.healthy())) throw new ApiError('Unavailable', 'Temporal does not answer');
    return c.json({ status: 'ok' as const }, 200);
  });

  app.openapi(
    putSetRoute,
    async (c) => {
      const { name } = c.req.valid('param');
      const expectedGeneration = generationFromIfMatch(c.req.valid('header')['if-match']);
      const format = manifestFormat(c.req.header('content-type'));
      const manifest = validManifest(decode(await c.req.text(), format, 'InvalidManifest'), name);
      const { set, created } = await sets.apply(name, manifest, { expectedGeneration, requestedBy: requestedBy(c) });
      c.header('ETag', etag(set));
      if (created) {
        c.header('Location', `/v1/sets/${name}`);
        return c.json(set, 201);
      }
      return c.json(set, 200);
    },
    // A name in the path that is not a set name, or a malformed If-Match, does not stop the validation
    // there: the rest, body included, is checked as well, so one answer lists every problem (issue 16).
    async (result, c) => {
      const everything = (result.target === 'param' || result.target === 'header') && !result.success ? await invalidPut(c) : undefined;
      return (everything ? errorResponse(c, everything) : validationHook(result, c)) as never;
    },
  );

  app.openapi(listSetsRoute, async (c) => c.json({ items: await sets.list() }, 200));

  app.openapi(getSetRoute, async (c) => {
    const { name } = c.req.valid('param');
    const set = await getOrThrow(sets, name);
    c.header('ETag', etag(set));
    return c.json(set, 200);
  });

  app.openapi(patchSetRoute, async (c) => {
    const { name } = c.req.valid('param');
    const ifMatch = generationFromIfMatch(c.req.valid('header')['if-match']);
    const type = mediaType(c.req.header('content-type'));
    if (!MERGE_PATCH_TYPES.has(type)) {
      const got = type ? `not '${type}'` : 'and this request has no Content-Type';
      throw new ApiError('UnsupportedMediaType', `PATCH takes a JSON merge patch (Content-Type: application/merge-patch+json), ${got}`);
    }
    const patch = decode(await c.req.text(), 'json', 'BadRequest');
    const set = await patchSet(sets, name, patch, ifMatch, requestedBy(c));
    c.header('ETag', etag(set));
    return c.json(set, 200);
  });

  app.openapi(deleteSetRoute, async (c) => {
    const { name } = c.req.valid('param');
    return c.json(await sets.delete(name, requestedBy(c)), 202);
  });

  app.openapi(listInstancesRoute, async (c) => {
    const { name } = c.req.valid('param');
    const set = await getOrThrow(sets, name);
    return c.json({ items: set.status.instances }, 200);
  });

  app.openapi(deleteInstanceRoute, async (c) => {
    const { name, ordinal } = c.req.valid('param');
    return c.json(await sets.deleteInstance(name, Number(ordinal), requestedBy(c)), 202);
  });

  app.openapi(listRevisionsRoute, async (c) => {
    const { name } = c.req.valid('param');
    const items = await sets.revisions(name);
    if (!items) throw new ApiError('NotFound', `set '${name}' does not exist`);
    return c.json({ items }, 200);
  });

  app.openapi(cordonInstanceRoute, async (c) => {
    const { name, ordinal } = c.req.valid('param');
    const set = await sets.cordon(name, Number(ordinal), true, requestedBy(c));
    c.header('ETag', etag(set));
    return c.json(set, 200);
  });

  app.openapi(uncordonInstanceRoute, async (c) => {
    const { name, ordinal } = c.req.valid('param');
    const set = await sets.cordon(name, Number(ordinal), false, requestedBy(c));
    c.header('ETag', etag(set));
    return c.json(set, 200);
  });

  app.openapi(instanceLogsRoute, async (c) => {
    const { name, ordinal } = c.req.valid('param');
    const { tail } = c.req.valid('query');
    await getOrThrow(sets, name);
    const lines = tail === undefined ? DEFAULT_TAIL_LINES : Number(tail);
    const text = options.logsDir === undefined ? undefined : await readLogTail(options.logsDir, name, Number(ordinal), lines);
    if (text === undefined) {
      throw new ApiError(
        'NotFound',
        options.logsDir === undefined
          ? 'this API server has no access to instance logs: it was started without a data directory'
          : `instance ${name}-${ordinal} has no log on this host (it never ran, or the API does not share the worker's data directory)`,
      );
    }
    return c.text(text, 200, { 'Content-Type': 'text/plain; charset=utf-8' });
  });

  const zones = (): Route53ZonesPort => {
    if (!options.zones) throw new ApiError('NotFound', 'no Route 53 publisher is reachable through this API server: it was started without the Route 53 zones service');
    return options.zones;
  };

  app.openapi(listRoute53ZonesRoute, async (c) => c.json({ items: await zones().list() }, 200));

  // The body is optional JSON; say what is expected rather than a bare 415 (zod-openapi's own check).
  app.use('/v1/dns/route53/zones/:hostedZoneId/reconcile', async (c, next) => {
    const type = mediaType(c.req.header('content-type'));
    const hasBody = Number(c.req.header('content-length') ?? 0) > 0 || c.req.header('transfer-encoding') !== undefined;
    if (c.req.method === 'POST' && (type ? type !== 'application/json' : hasBody)) {
      const got = type ? `not '${type}'` : 'and this request has no Content-Type';
      throw new ApiError('UnsupportedMediaType', `the body of a reconcile is JSON (Content-Type: application/json), e.g. {"dryRun": true}, ${got}`);
    }
    await next();
  });

  app.openapi(reconcileRoute53ZoneRoute, async (c) => {
    const { hostedZoneId } = c.req.valid('param');
    const { dryRun } = c.req.valid('json');
    return c.json(await zones().reconcile(bareHostedZoneId(hostedZoneId), dryRun === true), 200);
  });

  // Bodies are decoded by the core, so the manifest is a $ref to a component registered here.
  app.openAPIRegistry.register('Manifest', ManifestComponent);
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description:
      'A token from "ordinal token create NAME [--scope read|write]" on the API\'s host. Needed once the API has tokens ' +
      '(always when it listens beyond loopback): GET needs the read scope, PUT, PATCH, DELETE and POST the write scope.',
  });
  let document: Record<string, unknown> | undefined;
  app.openapi(openApiRoute, (c) => {
    document ??= openApiDocument(app);
    return c.json(document, 200);
  });

  app.notFound((c) => {
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length === 0) return errorResponse(c, new ApiError('NotFound', `no route for ${c.req.method} ${truncate(c.req.path)}`));
    return errorResponse(
      c,
      new ApiError('MethodNotAllowed', `${c.req.method} is not allowed here; allowed: ${allowed.join(', ')}`, [], { Allow: allowed.join(', ') }),
    );
  });

  app.onError((err, c) => {
    const apiError = toApiError(err);
    if (apiError) return errorResponse(c, apiError);
    log.error({ err, method: c.req.method, path: c.req.path }, 'API request failed');
    return errorResponse(c, new ApiError('Internal', 'internal error; the API server log has the details'));
  });

  return app;
}

function openApiDocument(app: OpenAPIHono<AppEnv>): Record<string, unknown> {
  const document = app.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'Ordinal',
      version: 'v1',
      description: 'Kubernetes StatefulSets without Kubernetes: ordered, named, self-healing instance sets on Temporal.',
    },
    security: [{ bearerAuth: [] }],
  }) as unknown as { components: { schemas: Record<string, Record<string, unknown>> } };
  const schemas = document.components.schemas;
  schemas.Manifest = putManifestDocument(schemas.Manifest);
  return document as unknown as Record<string, unknown>;
}

// ---- request handling helpers ----

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

function manifestFormat(contentType: string | undefined): ManifestFormat {
  const type = mediaType(contentType);
  if (type === 'application/json') return 'json';
  if (YAML_TYPES.has(type)) return 'yaml';
  const got = type ? `not '${type}'` : 'and this request has no Content-Type';
  throw new ApiError('UnsupportedMediaType', `a manifest is sent as application/json or application/yaml, ${got}`);
}

function decode(text: string, format: ManifestFormat, code: ErrorCode): Document {
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
function validManifest(document: Document, name: string): Document {
  const { document: named, issues } = manifestProblems(document, name);
  if (issues.length > 0) throw new ApiError('InvalidManifest', 'the manifest is invalid', issues);
  return named;
}

/**
 * A PUT whose path does not name a set validly (upper case, too long, ...) or whose If-Match is
 * malformed: the rest of the request is validated all the same and everything wrong is answered
 * together, as 400 BadRequest (a bad path parameter or header, as before), path first, then the header,
 * then the manifest. A body that cannot be decoded adds its reason; one whose Content-Type is not a
 * manifest's is not read (the path and header problems are the answer, still a 400).
 */
async function invalidPut(c: Context<AppEnv>): Promise<ApiError | undefined> {
  const name = c.req.param('name') ?? '';
  const path = SetParams.safeParse({ name });
  const pathIssues = path.success ? [] : toFieldIssues(path.error);
  const header = IfMatchHeaders.safeParse({ 'if-match': c.req.header('if-match') });
  const headerIssues = header.success ? [] : toFieldIssues(header.error);
  if (pathIssues.length === 0 && headerIssues.length === 0) return undefined; // not expected: the validator's own answer stands
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
    ...(headerIssues.length > 0 ? ["header 'if-match'"] : []),
    ...(manifestIssues.length > 0 ? ['manifest'] : []),
  ];
  const message = `invalid ${invalid.length > 1 ? `${invalid.slice(0, -1).join(', ')} and ${invalid[invalid.length - 1]}` : invalid[0]}`;
  return new ApiError('BadRequest', message, [...nameIssues, ...headerIssues, ...manifestIssues]);
}

async function getOrThrow(sets: SetsPort, name: string): Promise<SetView> {
  const set = await sets.get(name);
  if (!set) throw new ApiError('NotFound', `set '${name}' does not exist`);
  return set;
}

/**
 * Read, merge, apply with the generation read: a change in between is a Conflict rather than a lost
 * update, and is retried from a fresh read. With If-Match the client chose the generation, so its
 * Conflict is final.
 */
async function patchSet(sets: SetsPort, name: string, patch: Document, ifMatch: number | undefined, requestedBy: string): Promise<SetView> {
  for (let attempt = 1; ; attempt++) {
    const current = await getOrThrow(sets, name);
    if (ifMatch !== undefined && ifMatch !== current.metadata.generation) {
      throw new ApiError('Conflict', `set '${name}' is at generation ${current.metadata.generation}, not ${ifMatch}`);
    }
    if (current.metadata.deletionRequested) throw new ApiError('Conflict', `set '${name}' is being deleted`);
    const merged = applyMergePatch(manifestOf(current), patch) as Document;
    const manifest = validManifest(merged, name);
    try {
      const { set } = await sets.apply(name, manifest, { expectedGeneration: current.metadata.generation, requestedBy });
      return set;
    } catch (err) {
      const retry = ifMatch === undefined && err instanceof SetError && err.code === 'Conflict' && attempt < PATCH_ATTEMPTS;
      if (!retry) throw err;
    }
  }
}

/** The manifest part of a set: what a merge patch applies to. */
function manifestOf(set: SetView): Document {
  const { name, labels, annotations } = set.metadata;
  return {
    apiVersion: set.apiVersion,
    kind: set.kind,
    metadata: { name, ...(labels && { labels }), ...(annotations && { annotations }) },
    spec: set.spec,
  };
}

function etag(set: SetView): string {
  return `"${set.metadata.generation}"`;
}

// ---- 404 or 405 ----

/** Methods the app routes for this path; hono answers both unknown paths and methods with notFound. */
function allowedMethods(app: OpenAPIHono<AppEnv>, path: string): string[] {
  const methods = new Set<string>();
  for (const route of app.routes) {
    if (route.method === 'ALL') continue; // middleware
    const pattern = new RegExp(`^${route.path.split('/').map((s) => (s.startsWith(':') ? '[^/]+' : escapeRegExp(s))).join('/')}$`);
    if (pattern.test(path)) methods.add(route.method);
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function truncate(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
