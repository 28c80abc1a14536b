// Bearer-token authentication of the API, through app.request() over the in-memory fake and a real
// token file: 401 without a valid token, 403 without the scope, both before any handler runs (the fake
// sees nothing and nothing changes); /healthz and /openapi.json stay open; the token's name is who
// asked for each change.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { ErrorSchema } from '../../api/schemas.js';
import { TokenStore, createToken, revokeToken } from '../../infra/tokens.js';
import { FakeSets } from './fake-sets.js';
import { FakeZones } from './fake-zones.js';

const MANIFEST = {
  apiVersion: 'ordinal.dev/v1',
  kind: 'StatefulSet',
  metadata: { name: 'web' },
  spec: { replicas: 2, template: { process: { command: ['node', 'server.js'] } } },
};
const JSON_TYPE = { 'content-type': 'application/json' };
const ZONE_ID = 'Z0123456789ABC';

let dir: string;
let tokensFile: string;
let fake: FakeSets;
let zones: FakeZones;
let logs: string;
let logLines: string[];
let app: ReturnType<typeof createApp>;
let reader: string;
let writer: string;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-auth-'));
  tokensFile = path.join(dir, 'tokens.json');
  reader = createToken(tokensFile, 'dashboard', 'read').token;
  writer = createToken(tokensFile, 'ci', 'write').token;
  fake = new FakeSets();
  zones = new FakeZones();
  zones.addZone(ZONE_ID, 'example.internal', ['web']);
  logs = path.join(dir, 'logs');
  fs.mkdirSync(logs);
  fs.writeFileSync(path.join(logs, 'web-0.log'), 'hello\n');
  logLines = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => logLines.push(line) });
  app = createApp(fake, { logger, zones, logsDir: logs, auth: new TokenStore({ tokensFile, required: false }) });
  // A set to act on, made directly in the fake (not through the API).
  await fake.apply('web', MANIFEST, { requestedBy: 'setup' });
  fake.runInstances('web');
  fake.calls.length = 0;
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function request(method: string, url: string, token?: string, init: { body?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...init.headers };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  return app.request(url, { method, body: init.body, headers });
}

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = await res.json();
  expect(ErrorSchema.strict().safeParse(body).success, JSON.stringify(body)).toBe(true);
  expect(body.error.code).toBe(code);
  return body.error as { message: string };
}

/** Every route of the API but the open two, with a request that would succeed with a write token. */
const ROUTES: Array<{ method: string; url: string; body?: string; headers?: Record<string, string>; scope: 'read' | 'write'; ok: number }> = [
  { method: 'GET', url: '/v1/sets', scope: 'read', ok: 200 },
  { method: 'GET', url: '/v1/sets/web', scope: 'read', ok: 200 },
  { method: 'HEAD', url: '/v1/sets/web', scope: 'read', ok: 200 },
  { method: 'GET', url: '/v1/sets/web/instances', scope: 'read', ok: 200 },
  { method: 'GET', url: '/v1/sets/web/revisions', scope: 'read', ok: 200 },
  { method: 'GET', url: '/v1/sets/web/instances/0/logs', scope: 'read', ok: 200 },
  { method: 'GET', url: '/v1/dns/route53/zones', scope: 'read', ok: 200 },
  { method: 'PUT', url: '/v1/sets/web', body: JSON.stringify({ ...MANIFEST, spec: { ...MANIFEST.spec, replicas: 3 } }), headers: JSON_TYPE, scope: 'write', ok: 200 },
  { method: 'PATCH', url: '/v1/sets/web', body: '{"spec": {"replicas": 4}}', headers: { 'content-type': 'application/merge-patch+json' }, scope: 'write', ok: 200 },
  { method: 'PUT', url: '/v1/sets/web/instances/0/cordon', scope: 'write', ok: 200 },
  { method: 'DELETE', url: '/v1/sets/web/instances/0/cordon', scope: 'write', ok: 200 },
  { method: 'DELETE', url: '/v1/sets/web/instances/1', scope: 'write', ok: 202 },
  { method: 'DELETE', url: '/v1/sets/web', scope: 'write', ok: 202 },
  { method: 'POST', url: `/v1/dns/route53/zones/${ZONE_ID}/reconcile`, body: '{"dryRun": false}', headers: JSON_TYPE, scope: 'write', ok: 200 },
];
const label = (r: (typeof ROUTES)[number]) => `${r.method} ${r.url}`;

describe('without a token', () => {
  it.each(ROUTES.map((r) => [label(r), r] as const))('%s is 401 Unauthenticated with WWW-Authenticate, and the handler never runs', async (_label, route) => {
    const res = await request(route.method, route.url, undefined, route);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="ordinal"');
    if (route.method !== 'HEAD') {
      const error = await expectError(res, 401, 'Unauthenticated');
      expect(error.message).toMatch(/ordinal token create/);
    }
    expect(fake.calls).toEqual([]);
    expect(zones.calls).toEqual([]);
  });

  it('nothing changed: the set is as it was', async () => {
    for (const route of ROUTES) await request(route.method, route.url, undefined, route);
    const set = await (await request('GET', '/v1/sets/web', reader)).json();
    expect(set.metadata.generation).toBe(1);
    expect(set.spec.replicas).toBe(2);
    expect(set.status.instances.map((i: { cordoned: boolean }) => i.cordoned)).toEqual([false, false]);
  });

  it.each([
    ['GET', '/healthz'],
    ['HEAD', '/healthz'],
    ['GET', '/openapi.json'],
    ['HEAD', '/openapi.json'],
  ])('%s %s stays open', async (method, url) => {
    expect((await request(method, url)).status).toBe(200);
  });

  it('an unknown route or method is 401 too: nothing is told about the API without a token', async () => {
    await expectError(await request('GET', '/v1/nope'), 401, 'Unauthenticated');
    await expectError(await request('POST', '/v1/sets'), 401, 'Unauthenticated');
    await expectError(await request('POST', '/healthz'), 401, 'Unauthenticated');
  });

  it('a huge body is refused with 401 without being read', async () => {
    const res = await request('PUT', '/v1/sets/web', undefined, { body: 'x'.repeat(2 * 1024 * 1024), headers: JSON_TYPE });
    await expectError(res, 401, 'Unauthenticated');
    expect(fake.calls).toEqual([]);
  });
});

describe('with a token that is not valid', () => {
  it.each([
    ['an unknown token', 'Bearer ord_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'],
    ['a truncated token', 'TRUNCATED'],
    ['another scheme', 'Basic Y2k6c2VjcmV0'],
    ['an empty bearer', 'Bearer '],
    ['two tokens', 'BEARER_TWO'],
    ['a token too long to be one', `Bearer ord_${'A'.repeat(600)}`],
  ])('%s is 401 and nothing runs', async (_label, header) => {
    const value = header === 'TRUNCATED' ? `Bearer ${writer.slice(0, -2)}` : header === 'BEARER_TWO' ? `Bearer ${writer} ${writer}` : header;
    const res = await app.request('/v1/sets/web', { method: 'DELETE', headers: { authorization: value } });
    await expectError(res, 401, 'Unauthenticated');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="ordinal"/);
    expect(fake.calls).toEqual([]);
  });

  it('an unknown token is told apart from a missing one (error="invalid_token")', async () => {
    const res = await request('GET', '/v1/sets', 'ord_nope');
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="ordinal", error="invalid_token"');
    expect((await expectError(res, 401, 'Unauthenticated')).message).toMatch(/not valid/);
  });

  it('the scheme is case-insensitive', async () => {
    expect((await app.request('/v1/sets', { headers: { authorization: `bearer ${reader}` } })).status).toBe(200);
  });

  it('a revoked token is refused from the next request on, without a restart', async () => {
    expect((await request('GET', '/v1/sets', writer)).status).toBe(200);
    revokeToken(tokensFile, 'ci');
    await expectError(await request('DELETE', '/v1/sets/web', writer), 401, 'Unauthenticated');
    expect(fake.calls.map((c) => c.method)).toEqual(['list']);
    // Revoking every token keeps the API locked, not open.
    revokeToken(tokensFile, 'dashboard');
    await expectError(await request('GET', '/v1/sets'), 401, 'Unauthenticated');
  });
});

describe('with a read token', () => {
  it.each(ROUTES.filter((r) => r.scope === 'read').map((r) => [label(r), r] as const))('%s is allowed', async (_label, route) => {
    expect((await request(route.method, route.url, reader, route)).status).toBe(route.ok);
  });

  it.each(ROUTES.filter((r) => r.scope === 'write').map((r) => [label(r), r] as const))(
    '%s is 403 Forbidden naming the scope, and nothing runs',
    async (_label, route) => {
      const res = await request(route.method, route.url, reader, route);
      const error = await expectError(res, 403, 'Forbidden');
      expect(error.message).toContain("'dashboard'");
      expect(error.message).toContain('write scope');
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="ordinal", error="insufficient_scope", scope="write"');
      expect(fake.calls).toEqual([]);
      expect(zones.calls).toEqual([]);
    },
  );

  it('nothing changes on 403', async () => {
    for (const route of ROUTES.filter((r) => r.scope === 'write')) await request(route.method, route.url, reader, route);
    const set = await (await request('GET', '/v1/sets/web', reader)).json();
    expect(set.metadata).toMatchObject({ generation: 1 });
    expect(set.metadata.deletionRequested).toBeUndefined();
    expect(set.spec.replicas).toBe(2);
    expect(set.status.instances.map((i: { cordoned: boolean }) => i.cordoned)).toEqual([false, false]);
    expect(fake.states.get('web')!.instances.every((i) => !i.deleteRequested)).toBe(true);
  });
});

describe('with a write token', () => {
  it.each(ROUTES.map((r) => [label(r), r] as const))('%s is allowed', async (_label, route) => {
    expect((await request(route.method, route.url, writer, route)).status).toBe(route.ok);
  });

  it("records the token's name as who asked, on every change that reaches the sets", async () => {
    for (const route of ROUTES.filter((r) => r.scope === 'write')) {
      expect((await request(route.method, route.url, writer, route)).status, label(route)).toBe(route.ok);
    }
    const changes = fake.calls.filter((c) => c.method !== 'get' && c.method !== 'list');
    expect(changes.map((c) => c.method)).toEqual(['apply', 'apply', 'cordon', 'cordon', 'deleteInstance', 'delete']);
    expect(changes[0].args[2]).toEqual({ expectedGeneration: undefined, requestedBy: 'ci' });
    expect(changes[1].args[2]).toEqual({ expectedGeneration: 2, requestedBy: 'ci' });
    expect(changes[2].args).toEqual(['web', 0, true, 'ci']);
    expect(changes[3].args).toEqual(['web', 0, false, 'ci']);
    expect(changes[4].args).toEqual(['web', 1, 'ci']);
    expect(changes[5].args).toEqual(['web', 'ci']);
  });
});

describe('when authentication is off or required', () => {
  it('without tokens (and not required) nothing is checked and changes are recorded as requested by "api"', async () => {
    const open = createApp(fake, { auth: new TokenStore({ tokensFile: path.join(dir, 'none.json'), required: false }) });
    const res = await open.request('/v1/sets/web', { method: 'PATCH', body: '{"spec": {"replicas": 3}}', headers: { 'content-type': 'application/merge-patch+json' } });
    expect(res.status).toBe(200);
    expect(fake.calls.find((c) => c.method === 'apply')!.args[2]).toEqual({ expectedGeneration: 1, requestedBy: 'api' });
    // A token sent anyway is not looked at.
    expect((await open.request('/v1/sets', { headers: { authorization: 'Bearer whatever' } })).status).toBe(200);
  });

  it('ORDINAL_API_AUTH=required with no token file refuses everything but the open routes', async () => {
    const locked = createApp(fake, { auth: new TokenStore({ tokensFile: path.join(dir, 'none.json'), required: true }) });
    expect((await locked.request('/v1/sets')).status).toBe(401);
    expect((await locked.request('/healthz')).status).toBe(200);
  });

  it('a token file that cannot be read fails closed: 503, logged, nothing runs', async () => {
    fs.writeFileSync(tokensFile, 'not json', { mode: 0o600 });
    const error = await expectError(await request('DELETE', '/v1/sets/web', writer), 503, 'Unavailable');
    expect(error.message).toMatch(/token file/);
    expect(fake.calls).toEqual([]);
    expect(logLines.join('')).toMatch(/cannot check API tokens/);
    // The open routes still answer.
    expect((await request('GET', '/healthz')).status).toBe(200);
  });
});

describe('without tokens, only requests addressed to a loopback name (DNS rebinding)', () => {
  let open: ReturnType<typeof createApp>;
  beforeEach(() => {
    open = createApp(fake, { auth: new TokenStore({ tokensFile: path.join(dir, 'none.json'), required: false }) });
  });

  it.each(['127.0.0.1:7080', 'localhost:7080', 'LOCALHOST', '[::1]:7080', '127.0.0.2'])('Host: %s is served', async (host) => {
    expect((await open.request('http://x/v1/sets', { headers: { host } })).status).toBe(200);
  });

  it.each(['evil.example', 'evil.example:7080', '10.0.0.5:7080', '0.0.0.0', 'localhost.evil.example'])('Host: %s is 403 and nothing runs', async (host) => {
    const res = await open.request('http://x/v1/sets/web', { method: 'DELETE', headers: { host } });
    const error = await expectError(res, 403, 'Forbidden');
    expect(error.message).toContain('loopback name');
    expect(error.message).toContain('ordinal token create');
    expect(fake.calls).toEqual([]);
  });

  it('the open routes stay open, and with a token any name is served', async () => {
    expect((await open.request('http://x/healthz', { headers: { host: 'evil.example' } })).status).toBe(200);
    expect((await app.request('http://x/v1/sets', { headers: { host: 'ordinal.example.com', authorization: `Bearer ${reader}` } })).status).toBe(200);
  });
});

describe('the OpenAPI document', () => {
  it('declares the bearer scheme for every route but /healthz and /openapi.json, with 401 and 403', async () => {
    const doc = await (await request('GET', '/openapi.json')).json();
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearerAuth: [] }]);
    for (const [url, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, operation] of Object.entries(item)) {
        const open = url === '/healthz' || url === '/openapi.json';
        if (open) {
          expect(operation.security, `${method} ${url}`).toEqual([]);
          expect(operation.responses['401'], `${method} ${url}`).toBeUndefined();
        } else {
          expect(operation.security, `${method} ${url}`).toBeUndefined();
          expect(Object.keys(operation.responses), `${method} ${url}`).toEqual(expect.arrayContaining(['401', '403']));
          expect(operation.responses['401'].headers['WWW-Authenticate']).toBeDefined();
          expect(operation.responses['403'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
        }
      }
    }
    expect(doc.components.schemas.Error.properties.error.properties.code.enum).toEqual(expect.arrayContaining(['Unauthenticated', 'Forbidden']));
  });
});
