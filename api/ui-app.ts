// The web dashboard at /ui (its routes carry the prefix, so /ui and /ui/ can differ): a static shell (HTML, CSS and plain ES modules from api/ui/, no build
// step, nothing fetched from elsewhere) that holds no data. The page reads everything from the API with the
// same bearer token as any client (api/auth.ts lets only the shell itself through without one), and
// /ui/config.json (behind authentication) tells it where the Temporal UI is.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono, type Context } from 'hono';
import { workflowIdForSet } from '../core/names.js';
import { DASHBOARD_SHELL_PATH, type AppEnv } from './auth.js';
import { ApiError } from './errors.js';

/** Where the shell's files are, next to this module. */
export const DASHBOARD_DIR = fileURLToPath(new URL('./ui/', import.meta.url));

export interface DashboardOptions {
  /** The Temporal Web UI (ORDINAL_TEMPORAL_UI_URL); without it the page shows no workflow link. */
  temporalUiUrl?: string;
  namespace: string;
  /** Default DASHBOARD_DIR. */
  dir?: string;
}

/** The dashboard's answer to GET /ui/config.json. */
export interface DashboardConfig {
  /** The Temporal UI's page of a set's workflow is this followed by the URL-encoded set name; null without a Temporal UI. */
  workflowUrlPrefix: string | null;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * Only this origin's own scripts and styles, requests only to this origin (the API), never framed: a
 * script injected through data (which the page only ever writes as text) could not run or send anything
 * elsewhere.
 */
export const DASHBOARD_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': DASHBOARD_CSP,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  // A new version of the files is picked up at the next load.
  'Cache-Control': 'no-cache',
};

export function createDashboardApp(options: DashboardOptions): Hono<AppEnv> {
  const files = readShell(options.dir ?? DASHBOARD_DIR);
  const app = new Hono<AppEnv>();

  app.use('/ui/*', async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value);
  });
  app.use('/ui', async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value);
  });

  // Relative module URLs need the trailing slash.
  app.get('/ui', (c) => c.redirect('/ui/', 301));

  app.get('/ui/config.json', (c) => {
    const workflowUrlPrefix = options.temporalUiUrl
      ? `${options.temporalUiUrl}/namespaces/${encodeURIComponent(options.namespace)}/workflows/${encodeURIComponent(workflowIdForSet(''))}`
      : null;
    return c.json({ workflowUrlPrefix } satisfies DashboardConfig, 200);
  });

  app.get('/ui/', (c) => shellFile(c, 'index.html'));
  // Any name: only the files read at start are answered (no path is ever joined from the request).
  app.get('/ui/:file', (c) => shellFile(c, c.req.param('file')));

  function shellFile(c: Context<AppEnv>, name: string): Response {
    const file = files.get(name);
    if (!file) throw new ApiError('NotFound', `the dashboard has no file '${name}'`);
    return c.body(file.body, 200, { 'Content-Type': file.type });
  }

  return app;
}

/** The shell's files, read once: only names the authentication lets through without a token. */
function readShell(dir: string): Map<string, { body: Uint8Array<ArrayBuffer>; type: string }> {
  const files = new Map<string, { body: Uint8Array<ArrayBuffer>; type: string }>();
  for (const name of fs.readdirSync(dir)) {
    const type = CONTENT_TYPES[path.extname(name)];
    if (!type || !DASHBOARD_SHELL_PATH.test(`/ui/${name}`)) continue;
    files.set(name, { body: new Uint8Array(fs.readFileSync(path.join(dir, name))), type });
  }
  if (!files.has('index.html')) throw new Error(`the dashboard's files are missing: no index.html in ${dir}`);
  return files;
}
