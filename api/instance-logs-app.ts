// An instance's log, mounted at /v1/sets: the end of what its processes wrote, read from the data
// directory the API shares with the worker.
import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './auth.js';
import { ApiError, validationHook } from './errors.js';
import { DEFAULT_TAIL_LINES, readLogTail } from './logs.js';
import { instanceLogsRoute } from './routes.js';
import { getOrThrow, type SetsPort } from './sets-port.js';

/** `logsDir`: the data directory's logs folder; without it the route answers 404. */
export function createInstanceLogsApp(sets: SetsPort, logsDir: string | undefined): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.openapi(instanceLogsRoute, async (c) => {
    const { name, ordinal } = c.req.valid('param');
    const { tail } = c.req.valid('query');
    await getOrThrow(sets, name);
    const lines = tail === undefined ? DEFAULT_TAIL_LINES : Number(tail);
    const text = logsDir === undefined ? undefined : await readLogTail(logsDir, name, Number(ordinal), lines);
    if (text === undefined) {
      throw new ApiError(
        'NotFound',
        logsDir === undefined
          ? 'this API server has no access to instance logs: it was started without a data directory'
          : `instance ${name}-${ordinal} has no log on this host (it never ran, or the API does not share the worker's data directory)`,
      );
    }
    return c.text(text, 200, { 'Content-Type': 'text/plain; charset=utf-8' });
  });

  return app;
}
