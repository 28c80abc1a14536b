// The HTTP API as a hono app: a factory over a SetsPort, so tests call app.request(...) with a fake and
// no server. Handlers only answer the happy path; everything else is thrown and rendered by onError
// (and notFound) in the one error shape of api/errors.ts. Authentication (api/auth.ts) runs before
// everything else, so a request it refuses never reaches a handler.
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { decodeManifest, type Document, type ManifestFormat } from '../core/manifest-text.js';
import { MAX_REPLICAS, parseManifest } from '../core/manifest.js';
import { applyMergePatch } from '../core/merge-patch.js';
import type { SetView } from '../core/set-state.js';
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
import { ManifestComponent, generationFromIfMatch, putManifestDocument } from './schemas.js';
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

  app.openapi(putSetRoute, async (c) => {
    const { name } = c.req.valid('param');
    const expectedGeneration = generationFromIfMatch(c.req.valid('header')['if-match']);
    const format = manifestFormat(c.req.header('content-type'));
    const manifest = validManifest(withName(decode(await c.req.text(), format, 'InvalidManifest'), name));
    const { set, created } = await sets.apply(name, manifest, { expectedGeneration, requestedBy: requestedBy(c) });
    c.header('ETag', etag(set));
    if (created) {
      c.header('Location', `/v1/sets/${name}`);
      return c.json(set, 201);
    }
    return c.json(set, 200);
  });

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

/** metadata.name may be left out (the path names the set), but must not disagree with the path. */
function withName(document: Document, name: string): Document {
  const metadata = document.metadata;
  if (metadata === undefined) return { ...document, metadata: { name } };
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) return document; // the schema reports it
  const given = (metadata as Record<string, unknown>).name;
  if (given === undefined) return { ...document, metadata: { ...metadata, name } };
  if (given !== name) {
    throw new ApiError('InvalidManifest', 'metadata.name does not match the name in the path', [
      { path: 'metadata.name', message: `must be '${name}', the name in the path (or be left out)` },
    ]);
  }
  return document;
}

/** Validates here too, so an invalid manifest never reaches (or starts) a workflow. */
function validManifest(document: Document): Document {
  refuseHugeReplicas(document);
  const parsed = parseManifest(document);
  if (!parsed.ok) throw new ApiError('InvalidManifest', 'the manifest is invalid', parsed.issues);
  return document;
}

/**
 * The core's cross-field rules list every wanted ordinal, and run even when spec.replicas has already
 * failed its range check: 2^53 replicas made the API process abort (out of memory), a million made it
 * answer 500 (Math.max of a million arguments). Refused here, with the core's own message, before the
 * core sees it. (The core itself should skip those rules while a field they read is invalid.)
 */
function refuseHugeReplicas(document: Document): void {
  const spec = document.spec;
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) return;
  const replicas = (spec as Record<string, unknown>).replicas;
  if (typeof replicas === 'number' && replicas > MAX_REPLICAS) {
    throw new ApiError('InvalidManifest', 'the manifest is invalid', [{ path: 'spec.replicas', message: `must be at most ${MAX_REPLICAS}` }]);
  }
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
    const manifest = validManifest(withName(merged, name));
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
