// The Route 53 hosted zones sets publish to, mounted at /v1/dns/route53/zones: list them with their
// publishers, reconcile one now.
import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './auth.js';
import { ApiError, validationHook } from './errors.js';
import { mediaType } from './request.js';
import { listRoute53ZonesRoute, reconcileRoute53ZoneRoute } from './routes.js';
import type { Route53ZonesPort } from './zones-port.js';
import { bareHostedZoneId } from './zones.js';

/** Without `publishers` (the Route 53 zones service) every route answers 404. */
export function createRoute53ZonesApp(publishers: Route53ZonesPort | undefined): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  const zones = (): Route53ZonesPort => {
    if (!publishers) throw new ApiError('NotFound', 'no Route 53 publisher is reachable through this API server: it was started without the Route 53 zones service');
    return publishers;
  };

  app.openapi(listRoute53ZonesRoute, async (c) => c.json({ items: await zones().list() }, 200));

  // The body is optional JSON; say what is expected rather than a bare 415 (zod-openapi's own check).
  app.use('/:hostedZoneId/reconcile', async (c, next) => {
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

  return app;
}
