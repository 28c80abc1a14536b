// GET /openapi.json: the OpenAPI 3.1 document of the whole API, generated from the route definitions
// (api/routes.ts) once, on the first request. Open to anyone (api/auth.ts lets it through).
import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './auth.js';
import { validationHook } from './errors.js';
import { openApiRoute } from './routes.js';
import { ManifestComponent, putManifestDocument } from './schemas.js';

/** `documented`: the app whose routes the document describes; mount this app on it last. */
export function createOpenApiApp(documented: OpenAPIHono<AppEnv>): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

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
    document ??= openApiDocument(documented);
    return c.json(document, 200);
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
