// The dashboard's shell at /ui, through app.request(): its files are served with the Content-Security-Policy
// and the other security headers, without a token (they hold no data) even when tokens are on, while its
// config and every datum the page reads still need one; nothing outside the shell's files is served; the
// Lambda API (no dashboard option) serves none.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { DASHBOARD_CSP } from '../../api/ui-app.js';
import { TokenStore, createToken } from '../../infra/tokens.js';
import { FakeSets } from './fake-sets.js';

let dir: string;
let reader: string;
let app: ReturnType<typeof createApp>;
const silent = pino({ level: 'silent' });

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-dashboard-'));
  const tokensFile = path.join(dir, 'tokens.json');
  reader = createToken(tokensFile, 'viewer', 'read').token;
  app = createApp(new FakeSets(), {
    logger: silent,
    auth: new TokenStore({ tokensFile, required: false }),
    dashboard: { temporalUiUrl: 'http://127.0.0.1:8233', namespace: 'default' },
  });
});

afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const get = (url: string, token?: string) => app.request(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });

describe('the dashboard shell', () => {
  it('serves the page and its modules without a token, with the security headers', async () => {
    for (const [file, type] of [['/ui/', 'text/html'], ['/ui/app.js', 'text/javascript'], ['/ui/style.css', 'text/css'], ['/ui/watch.js', 'text/javascript']]) {
      const res = await get(file);
      expect(res.status, file).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
      expect(res.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    }
    const page = await (await get('/ui/')).text();
    expect(page).toContain('<script type="module" src="app.js"></script>');
    // Only this origin: no script, style or connection elsewhere.
    expect(DASHBOARD_CSP).toContain("script-src 'self'");
    expect(DASHBOARD_CSP).toContain("connect-src 'self'");
    expect(DASHBOARD_CSP).toContain("frame-ancestors 'none'");
  });

  it('redirects /ui to /ui/ (the modules are relative to it)', async () => {
    const res = await get('/ui');
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('/ui/');
  });

  it('serves nothing but its own files', async () => {
    for (const url of ['/ui/nothing.js', '/ui/../package.json', '/ui/%2e%2e%2fpackage.json', '/ui/sub/app.js', '/ui/index.ts']) {
      const res = await get(url, reader);
      expect(res.status, url).toBe(404);
    }
  });

  it('keeps its config and the data behind the token', async () => {
    const refused = await get('/ui/config.json');
    expect(refused.status).toBe(401);
    expect((await get('/v1/sets')).status).toBe(401);
    const config = await get('/ui/config.json', reader);
    expect(config.status).toBe(200);
    expect(await config.json()).toEqual({ workflowUrlPrefix: 'http://127.0.0.1:8233/namespaces/default/workflows/statefulset%2F' });
  });

  it('is not served without the dashboard option (the Lambda API)', async () => {
    const bare = createApp(new FakeSets(), { logger: silent });
    expect((await bare.request('/ui/', { headers: { host: '127.0.0.1' } })).status).toBe(404);
  });
});
