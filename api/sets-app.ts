// The sets resource, mounted at /v1/sets: apply (PUT), preview (POST .../preview), get, list, merge-patch, delete, and a set's
// instances (list, recreate, cordon) and revisions. Handlers answer the happy path; every failure is
// thrown and rendered by the main app's error handler.
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Document } from '../core/manifest-text.js';
import { applyMergePatch } from '../core/merge-patch.js';
import type { SetView } from '../core/status.js';
import type { AppEnv } from './auth.js';
import { ApiError, errorResponse, validationHook } from './errors.js';
import { decode, invalidPut, manifestFormat, validManifest } from './manifest-request.js';
import { mediaType, requestedBy } from './request.js';
import {
  cordonInstanceRoute,
  deleteInstanceRoute,
  deleteSetRoute,
  getSetRoute,
  listInstancesRoute,
  listRevisionsRoute,
  listSetsRoute,
  patchSetRoute,
  previewSetRoute,
  putSetRoute,
  uncordonInstanceRoute,
} from './routes.js';
import { generationFromIfMatch } from './schemas.js';
import { getOrThrow, type SetsPort } from './sets-port.js';
import { SetError } from './sets.js';

/** PATCH reads, merges and applies; a concurrent change in between is retried this many times in all. */
export const PATCH_ATTEMPTS = 3;

const MERGE_PATCH_TYPES = new Set(['application/merge-patch+json', 'application/json']);

/** Marks the answer of a dry run (?dryRun=true): the set as it would become, nothing changed. */
export const DRY_RUN_HEADER = 'Ordinal-Dry-Run';

export function createSetsApp(sets: SetsPort): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.openapi(
    putSetRoute,
    async (c) => {
      const { name } = c.req.valid('param');
      const dryRun = c.req.valid('query').dryRun !== undefined;
      const expectedGeneration = generationFromIfMatch(c.req.valid('header')['if-match']);
      const format = manifestFormat(c.req.header('content-type'));
      const manifest = validManifest(decode(await c.req.text(), format, 'InvalidManifest'), name);
      const options = { expectedGeneration, requestedBy: requestedBy(c) };
      const { set, created } = dryRun ? await sets.previewApply(name, manifest, options) : await sets.apply(name, manifest, options);
      if (dryRun) c.header(DRY_RUN_HEADER, 'true');
      c.header('ETag', etag(set));
      if (created) {
        c.header('Location', `/v1/sets/${name}`);
        return c.json(set, 201);
      }
      return c.json(set, 200);
    },
    // A name in the path that is not a set name, a malformed If-Match or dryRun, does not stop the
    // validation there: the rest, body included, is checked as well, so one answer lists every problem (issue 16).
    async (result, c) => {
      const everything =
        (result.target === 'param' || result.target === 'header' || result.target === 'query') && !result.success ? await invalidPut(c) : undefined;
      return (everything ? errorResponse(c, everything) : validationHook(result, c)) as never;
    },
  );

  app.openapi(previewSetRoute, async (c) => {
    const { name } = c.req.valid('param');
    const expectedGeneration = generationFromIfMatch(c.req.valid('header')['if-match']);
    const manifest = validManifest(decode(await c.req.text(), manifestFormat(c.req.header('content-type')), 'InvalidManifest'), name);
    return c.json(await sets.previewRollout(name, manifest, { expectedGeneration, requestedBy: requestedBy(c) }), 200);
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
    const dryRun = c.req.valid('query').dryRun !== undefined;
    const ifMatch = generationFromIfMatch(c.req.valid('header')['if-match']);
    const type = mediaType(c.req.header('content-type'));
    if (!MERGE_PATCH_TYPES.has(type)) {
      const got = type ? `not '${type}'` : 'and this request has no Content-Type';
      throw new ApiError('UnsupportedMediaType', `PATCH takes a JSON merge patch (Content-Type: application/merge-patch+json), ${got}`);
    }
    const patch = decode(await c.req.text(), 'json', 'BadRequest');
    const set = await patchSet(sets, name, patch, ifMatch, requestedBy(c), dryRun);
    if (dryRun) c.header(DRY_RUN_HEADER, 'true');
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

  return app;
}

/**
 * Read, merge, apply with the generation read: a change in between is a Conflict rather than a lost
 * update, and is retried from a fresh read. With If-Match the client chose the generation, so its
 * Conflict is final. A dry run does all of it but the apply, which it only previews.
 */
async function patchSet(
  sets: SetsPort,
  name: string,
  patch: Document,
  ifMatch: number | undefined,
  requestedBy: string,
  dryRun: boolean,
): Promise<SetView> {
  for (let attempt = 1; ; attempt++) {
    const current = await getOrThrow(sets, name);
    if (ifMatch !== undefined && ifMatch !== current.metadata.generation) {
      throw new ApiError('Conflict', `set '${name}' is at generation ${current.metadata.generation}, not ${ifMatch}`);
    }
    if (current.metadata.deletionRequested) throw new ApiError('Conflict', `set '${name}' is being deleted`);
    const merged = applyMergePatch(manifestOf(current), patch) as Document;
    const manifest = validManifest(merged, name);
    try {
      const options = { expectedGeneration: current.metadata.generation, requestedBy };
      const { set } = dryRun ? await sets.previewApply(name, manifest, options) : await sets.apply(name, manifest, options);
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
