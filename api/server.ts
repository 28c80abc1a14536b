// The API's Node entry: the hono app on @hono/node-server, and the Temporal-backed sets (and Route 53
// zone publishers) it serves.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { Client, Connection } from '@temporalio/client';
import { dataPaths, type OrdinalConfig } from '../infra/config.js';
import { logger as defaultLogger, type Logger } from '../infra/logger.js';
import { temporalConnectionOptions } from '../infra/temporal-connection.js';
import { TokenStore, isLoopbackHost } from '../infra/tokens.js';
import { createApp, type AppOptions } from './app.js';
import type { SetsPort } from './sets-port.js';
import { SetsService } from './sets.js';
import { SetWatchHub } from './watch-hub.js';
import { Route53ZonesService } from './zones.js';

export interface ApiServer {
  url: string;
  port: number;
  /** Whether requests needed a bearer token when it started (they do from the first token on). */
  authenticated: boolean;
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

/** Thrown when the API would listen beyond loopback without authentication. */
export class InsecureBindError extends Error {
  constructor(host: string, tokensFile: string) {
    super(
      `refusing to serve the API on ${host}: beyond loopback (127.0.0.0/8, ::1, localhost) it needs authentication, and there is no token in ${tokensFile}. ` +
        'Create one first on this host with "ordinal token create NAME --scope write" (same ORDINAL_DATA_DIR or ORDINAL_TOKENS_FILE), ' +
        'or set ORDINAL_API_AUTH=required; or bind to loopback (the default, --host 127.0.0.1) and put a TLS reverse proxy in front.',
    );
    this.name = 'InsecureBindError';
  }
}

/**
 * The API on config.api.host:port. Its tokens come from config.auth (the token file, reread on change)
 * unless options.auth is given; it refuses to listen beyond loopback unless authentication is enabled.
 * Instance logs are read from config.dataDir's logs folder unless options.logsDir says otherwise.
 */
export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const log = (options.logger ?? defaultLogger).child({ component: 'api' });
  const { host, port } = options.config.api;
  const auth = options.auth ?? new TokenStore(options.config.auth);
  const authEnabled = auth.enabled;
  if (!isLoopbackHost(host) && !authEnabled) throw new InsecureBindError(host, options.config.auth.tokensFile);
  if (auth instanceof TokenStore && authEnabled && auth.count === 0) {
    log.warn({ tokensFile: options.config.auth.tokensFile }, 'authentication is required but there is no token yet: every request but /healthz is refused until "ordinal token create" makes one');
  }
  const app = createApp(options.sets, {
    bodyLimitBytes: options.bodyLimitBytes,
    logger: log,
    zones: options.zones,
    auth,
    logsDir: options.logsDir ?? dataPaths(options.config.dataDir).logsDir,
    dashboard: options.dashboard ?? { temporalUiUrl: options.config.temporal.uiUrl, namespace: options.config.temporal.namespace },
    watch: options.watch,
  });

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
  log.info({ url, auth: authEnabled ? 'bearer tokens' : 'none (loopback)' }, 'API listening');

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
      // Watch streams never end by themselves: end them so that close() need not wait for the grace.
      options.watch?.close();
    }));

  return { url, port: address.port, authenticated: authEnabled, close };
}

/**
 * The sets, and the Route 53 zone publishers, over one Temporal connection as configured (address,
 * namespace, TLS, API key from `env`). The connection is lazy: the API starts while Temporal is still
 * down and answers 503 until it is reachable. Hand them to startApiServer ({ sets: service, zones, watch }),
 * or to createApp (the Lambda entry, api/lambda.ts, which cannot stream and leaves the watch out).
 */
export async function createSetsService(
  config: OrdinalConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ service: SetsService; zones: Route53ZonesService; watch: SetWatchHub; close(): Promise<void> }> {
  const connection = Connection.lazy(temporalConnectionOptions(config, env));
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const service = new SetsService(client, { taskQueue: config.temporal.taskQueue });
  const zones = new Route53ZonesService(client, { taskQueue: config.temporal.taskQueue });
  const watch = new SetWatchHub(client, service);
  return {
    service,
    zones,
    watch,
    close: async () => {
      watch.close();
      await connection.close();
    },
  };
}
