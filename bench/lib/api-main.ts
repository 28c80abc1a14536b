// The API process for scenario 5: Ordinal's hono app (createApp over the Temporal-backed SetsService,
// as `ordinal api` serves it) plus one bare route on the same app and the same Node server, the
// baselines: GET /bench/bare/{name} answers the same JSON body from memory, without asking Temporal, and
// GET /bench/bare-list the same list as GET /v1/sets.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { createApp } from '../../api/app.js';
import { createSetsService } from '../../api/server.js';
import { loadConfig } from '../../infra/config.js';
import { logger } from '../../infra/logger.js';

const config = loadConfig();
const { service, close } = await createSetsService(config);
const app = createApp(service, { logger: logger.child({ component: 'api' }) });

const bodies = new Map<string, unknown>();
app.get('/bench/bare/:name', async (c) => {
  const name = c.req.param('name');
  let body = bodies.get(name);
  if (body === undefined) {
    // Filled once (the bench warms it up before measuring), then served from memory.
    body = await service.get(name);
    bodies.set(name, body ?? null);
  }
  return c.json(body ?? {});
});

// The list's baseline: the same list, read once, then answered from memory.
let list: unknown;
app.get('/bench/bare-list', async (c) => {
  list ??= { items: await service.list() };
  return c.json(list);
});

const server = serve({ fetch: app.fetch, hostname: config.api.host, port: config.api.port }) as Server;
const address = await new Promise<AddressInfo>((resolve, reject) => {
  server.once('error', reject);
  server.once('listening', () => resolve(server.address() as AddressInfo));
});
const stop = () => {
  server.close(() => void close().finally(() => process.exit(0)));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdout.write(`bench api listening on http://${address.address}:${address.port}\n`);
