// GET /healthz: whether the API can reach Temporal. Open to anyone (api/auth.ts lets it through).
import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './auth.js';
import { ApiError, validationHook } from './errors.js';
import { healthRoute } from './routes.js';
import type { SetsPort } from './sets-port.js';

export function createHealthApp(sets: SetsPort): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.openapi(healthRoute, async (c) => {
    if (!(await sets.healthy())) throw new ApiError('Unavailable', 'Temporal does not answer');
    return c.json({ status: 'ok' as const }, 200);
  });

  return app;
}
