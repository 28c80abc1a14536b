// The HTTP API as a hono app: a factory over a SetsPort, so tests call app.request(...) with a fake and
// no server. One small app per resource (api/*-app.ts), mounted here behind the shared middleware.
// Handlers only answer the happy path; everything else is thrown and rendered by onError (and
// notFound) in the one error shape of api/errors.ts. Authentication (api/auth.ts) runs before
// everything else, so a request it refuses never reaches a handler.
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { logger as defaultLogger, type Logger } from '../infra/logger.js';
import { authMiddleware, type ApiAuth, type AppEnv } from './auth.js';
import { ApiError, errorResponse, toApiError, validationHook } from './errors.js';
import { createEventsApp, createSetEventsApp } from './events-app.js';
import { createHealthApp } from './health-app.js';
import { createInstanceLogsApp } from './instance-logs-app.js';
import { createMetricsApp } from './metrics-app.js';
import { RequestMetrics } from './request-metrics.js';
import { createOpenApiApp } from './openapi-app.js';
import { createRoute53ZonesApp } from './route53-zones-app.js';
import { createSetsApp } from './sets-app.js';
import { createDashboardApp, type DashboardOptions } from './ui-app.js';
import type { SetsPort } from './sets-port.js';
import { createWatchApp } from './watch-app.js';
import type { SetWatchPort } from './watch-hub.js';
import type { Route53ZonesPort } from './zones-port.js';

export type { ApiAuth, AppEnv } from './auth.js';
export type { SetsPort } from './sets-port.js';
export type { SetWatchPort } from './watch-hub.js';
export type { Route53ZonesPort } from './zones-port.js';
export { PATCH_ATTEMPTS } from './sets-app.js';

export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;
export interface AppOptions {
  bodyLimitBytes?: number;
  logger?: Logger;
  /** The Route 53 zone publishers; without them the /v1/dns/route53 routes answer 404. */
  zones?: Route53ZonesPort;
  /**
   * The bearer tokens (a TokenStore). Without it, or while it is not enabled, nothing is checked and
   * every change is recorded as requested by 'api'.
   */
  auth?: ApiAuth;
  /** The data directory's logs folder, where the worker's process driver writes instance logs; without it the logs route answers 404. */
  logsDir?: string;
  /** The web dashboard at /ui (api/ui-app.ts); without it /ui answers 404 (the Lambda API serves none). */
  dashboard?: DashboardOptions;
  /** The watch streams (api/watch-hub.ts); without them GET /v1/sets/{name}/watch answers 501 (the API on Lambda). */
  watch?: SetWatchPort;
  /** The request latency histogram and process metrics GET /metrics serves (default: its own). */
  metrics?: RequestMetrics;
}

export function createApp(sets: SetsPort, options: AppOptions = {}): OpenAPIHono<AppEnv> {
  const limit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const log = options.logger ?? defaultLogger;
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const metrics = options.metrics ?? new RequestMetrics();

  // First, so refused requests are timed too.
  app.use('*', metrics.middleware());
  app.use('*', authMiddleware(options.auth, log));
  app.use(
    '*',
    bodyLimit({
      maxSize: limit,
      onError: (c) => errorResponse(c, new ApiError('PayloadTooLarge', `the body is larger than ${limit} bytes`)),
    }),
  );

  // Mounted in the order the OpenAPI document lists them; the document's own route comes last.
  app.route('/', createHealthApp(sets));
  app.route('/v1/sets', createSetsApp(sets));
  app.route('/v1/sets', createInstanceLogsApp(sets, options.logsDir));
  app.route('/v1/sets', createSetEventsApp(sets));
  app.route('/v1/events', createEventsApp(sets));
  app.route('/v1/sets', createWatchApp(options.watch));
  app.route('/v1/dns/route53/zones', createRoute53ZonesApp(options.zones));
  app.route('/', createMetricsApp(sets, metrics, options.watch));
  app.route('/', createOpenApiApp(app));
  if (options.dashboard) app.route('/', createDashboardApp(options.dashboard));

  app.notFound((c) => {
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length === 0) return errorResponse(c, new ApiError('NotFound', `no route for ${c.req.method} ${truncate(c.req.path)}`));
    return errorResponse(
      c,
      new ApiError('MethodNotAllowed', `${c.req.method} is not allowed here; allowed: ${allowed.join(', ')}`, [], { Allow: allowed.join(', ') }),
    );
  });

  app.onError((err, c) => {
    const apiError = toApiError(err);
    if (apiError) return errorResponse(c, apiError);
    log.error({ err, method: c.req.method, path: c.req.path }, 'API request failed');
    return errorResponse(c, new ApiError('Internal', 'internal error; the API server log has the details'));
  });

  return app;
}

// ---- 404 or 405 ----

/** Methods the app routes for this path; hono answers both unknown paths and methods with notFound. */
function allowedMethods(app: OpenAPIHono<AppEnv>, path: string): string[] {
  const methods = new Set<string>();
  for (const route of app.routes) {
    if (route.method === 'ALL') continue; // middleware
    const pattern = new RegExp(`^${route.path.split('/').map((s) => (s.startsWith(':') ? '[^/]+' : escapeRegExp(s))).join('/')}$`);
    if (pattern.test(path)) methods.add(route.method);
  }
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function truncate(text: string, max = 200): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}
