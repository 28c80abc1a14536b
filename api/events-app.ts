// The events resource: one set's (GET /v1/sets/{name}/events, mounted at /v1/sets) and every set's
// (GET /v1/events, mounted at /v1/events). Read from the set workflows' getEvents Query.
import { OpenAPIHono } from '@hono/zod-openapi';
import { allEvents } from './all-events.js';
import type { AppEnv } from './auth.js';
import { ApiError, validationHook } from './errors.js';
import { listEventsRoute, listSetEventsRoute } from './routes.js';
import { DEFAULT_EVENTS_LIMIT } from './schemas.js';
import type { SetsPort } from './sets-port.js';

export function createSetEventsApp(sets: SetsPort): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.openapi(listSetEventsRoute, async (c) => {
    const { name } = c.req.valid('param');
    const { since } = c.req.valid('query');
    const events = await sets.events(name, since === undefined ? undefined : Number(since));
    if (!events) throw new ApiError('NotFound', `set '${name}' does not exist`);
    return c.json(events, 200);
  });

  return app;
}

export function createEventsApp(sets: SetsPort): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.openapi(listEventsRoute, async (c) => {
    const { since, limit } = c.req.valid('query');
    const items = await allEvents(sets, since === undefined ? undefined : Date.parse(since));
    const keep = limit === undefined ? DEFAULT_EVENTS_LIMIT : Number(limit);
    // The newest: a reader that polls with ?since= catches up from the last one it saw.
    return c.json({ items: items.slice(-keep), truncated: items.length > keep }, 200);
  });

  return app;
}
