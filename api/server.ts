// The API's Node entry: the hono app on @hono/node-server, and the Temporal-backed sets (and Route 53
// zone publishers) it serves.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import type { OrdinalConfig } from '../infra/config.js';
import { logger as defaultLogger, type Logger } from '../infra/logger.js';
import { temporalConnectionOptions } from '../infra/temporal-connection.js';
import { createApp, type AppOptions } from './app.js';
import type { SetsPort } from './sets-port.js';
import { SetsService } from './sets.js';
import { Route53ZonesService } from './zones.js';

export interface ApiServer {
  url: string;
  port: number;
  /** Stops accepting connections and waits for requests in flight (forcibly after graceMs). */
  close(): Promise<void>;
}

export interface ApiServerOptions extends AppOptions {
  config: OrdinalConfig;
  sets: SetsPort;
  logger?: Logger;
  /** How long close() lets requests in flight finish before dropping their connections. */
  graceMs?: number;
}

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const log = (options.logger ?? defaultLogger).child({ component: 'api' });
  const app = createApp(options.sets, { bodyLimitBytes: options.bodyLimitBytes, logger: log, zones: options.zones });
  const { host, port } = options.config.api;

  // Node's http.Server (serve's default); the Http2 variants are only used when asked for.
  const server = serve({ fetch: app.fetch, hostname: host, port }) as Server;
  const address = await new Promise<AddressInfo>((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
  server.on('error', (err) => log.error({ err }, 'API server error'));

  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  log.info({ url }, 'API listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve, reject) => {
      // Keep-alive connections would hold close() open; busy ones get the grace period.
      const force = setTimeout(() => server.closeAllConnections(), options.graceMs ?? 5_000);
      server.close((err) => {
        clearTimeout(force);
        if (err) reject(err);
        else resolve();
      });
      server.closeIdleConnections();
    }));

  return { url, port: address.port, close };
}

/**
 * The sets, and the Route 53 zone publishers, over one Temporal connection as configured (address,
 * namespace, TLS, API key). The connection is lazy: the API starts while Temporal is still down and
 * answers 503 until it is reachable. Hand both to startApiServer ({ sets: service, zones }).
 */
export async function createSetsService(
  config: OrdinalConfig,
): Promise<{ service: SetsService; zones: Route53ZonesService; close(): Promise<void> }> {
  const connection = Connection.lazy(temporalConnectionOptions(config));
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const service = new SetsService(client, { taskQueue: config.temporal.taskQueue });
  const zones = new Route53ZonesService(client, { taskQueue: config.temporal.taskQueue });
  return { service, zones, close: () => connection.close() };
}
