// The watch stream, mounted at /v1/sets: GET /{name}/watch answers text/event-stream (api/watch-stream.ts)
// fed by the API process's watch hub (api/watch-hub.ts). Without a hub (the API on AWS Lambda, whose
// responses are not streamed) it answers 501, and clients poll instead.
import type { ServerResponse } from 'node:http';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from './auth.js';
import { ApiError, validationHook } from './errors.js';
import { watchSetRoute } from './routes.js';
import type { SetWatchPort } from './watch-hub.js';
import { WatchStream } from './watch-stream.js';

export function createWatchApp(watch: SetWatchPort | undefined): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.openapi(watchSetRoute, async (c) => {
    const { name } = c.req.valid('param');
    if (!watch) {
      throw new ApiError(
        'NotImplemented',
        'this API server cannot stream a watch (on AWS Lambda responses are not streamed): poll GET /v1/sets/{name} instead; ' +
          '"ordinal get -w" and "ordinal rollout status" do so by themselves',
      );
    }
    const token = c.req.valid('header')['last-event-id'] ?? c.req.valid('query').since;
    const since = token === undefined ? undefined : Number(token);
    const stream = new WatchStream(watch.streamOptions);
    let unsubscribe: (() => void) | undefined;
    try {
      unsubscribe = await watch.subscribe(name, since, stream);
    } catch (err) {
      stream.close();
      void stream.readable.cancel();
      throw err;
    }
    if (!unsubscribe) {
      void stream.readable.cancel();
      throw new ApiError('NotFound', `set '${name}' does not exist`);
    }
    stream.onClose(unsubscribe);
    // On Node (hono's node-server) the response is at hand: a client cut off that does not take its
    // last message in time loses its connection, and with it what Node still holds for it.
    const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
    stream.onCutOffExpired(() => {
      if (outgoing && !outgoing.writableFinished) outgoing.destroy();
    });
    return c.body(stream.readable, 200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      'X-Accel-Buffering': 'no',
    }) as never;
  });

  return app;
}
