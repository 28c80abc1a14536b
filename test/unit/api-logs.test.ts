// GET /v1/sets/{name}/instances/{ordinal}/logs: the end of an instance's log file in the data dir's
// logs folder, as text; 404 for a missing set or log; only regular files inside that folder are read.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../api/app.js';
import { DEFAULT_TAIL_LINES, MAX_TAIL_BYTES, instanceLogPath, readLogTail } from '../../api/logs.js';
import { ErrorSchema } from '../../api/schemas.js';
import { FakeSets } from './fake-sets.js';

let dir: string;
let logs: string;
let fake: FakeSets;
let app: ReturnType<typeof createApp>;

const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}`);

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-logs-'));
  logs = path.join(dir, 'logs');
  fs.mkdirSync(logs);
  fake = new FakeSets();
  await fake.apply('web', {
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web' },
    spec: { replicas: 2, template: { process: { command: ['node', 'server.js'] } } },
  });
  fake.calls.length = 0;
  app = createApp(fake, { logsDir: logs });
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

async function expectError(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  const body = await res.json();
  expect(ErrorSchema.strict().safeParse(body).success).toBe(true);
  expect(body.error.code).toBe(code);
  return body.error as { message: string; details: Array<{ path: string }> };
}

describe('GET /v1/sets/{name}/instances/{ordinal}/logs', () => {
  it(`answers the last ${DEFAULT_TAIL_LINES} lines as text/plain by default`, async () => {
    fs.writeFileSync(path.join(logs, 'web-0.log'), `${lines(1, 300).join('\n')}\n`);
    const res = await app.request('/v1/sets/web/instances/0/logs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(await res.text()).toBe(`${lines(101, 300).join('\n')}\n`);
    expect(fake.calls).toEqual([{ method: 'get', args: ['web'] }]);
  });

  it('answers ?tail=N lines, all of a shorter log, nothing for 0, and keeps a last line without a newline', async () => {
    fs.writeFileSync(path.join(logs, 'web-1.log'), 'a\nb\nc');
    const text = async (query: string) => (await app.request(`/v1/sets/web/instances/1/logs${query}`)).text();
    expect(await text('?tail=2')).toBe('b\nc');
    expect(await text('?tail=10000')).toBe('a\nb\nc');
    expect(await text('?tail=0')).toBe('');
    fs.writeFileSync(path.join(logs, 'web-1.log'), '');
    expect(await text('')).toBe('');
  });

  it.each(['-1', '10001', '1.5', 'abc', '01', '1e3', '', '%201', '99999999999999999999'])('rejects ?tail=%s with 400 naming it', async (tail) => {
    fs.writeFileSync(path.join(logs, 'web-0.log'), 'x\n');
    const error = await expectError(await app.request(`/v1/sets/web/instances/0/logs?tail=${tail}`), 400, 'BadRequest');
    expect(error.details.map((d) => d.path)).toEqual(['tail']);
    expect(fake.calls).toEqual([]);
  });

  it('rejects a repeated tail', async () => {
    await expectError(await app.request('/v1/sets/web/instances/0/logs?tail=1&tail=2'), 400, 'BadRequest');
  });

  it.each(['01', '-1', '1.5', 'abc', '1e3', '..%2F..%2Fetc%2Fpasswd', '0%2F..%2F..'])('rejects the ordinal %s with 400', async (ordinal) => {
    await expectError(await app.request(`/v1/sets/web/instances/${ordinal}/logs`), 400, 'BadRequest');
    expect(fake.calls).toEqual([]);
  });

  it('a dot-dot ordinal is resolved by the URL itself: another path, not a file', async () => {
    await expectError(await app.request('/v1/sets/web/instances/%2e%2e/logs'), 404, 'NotFound');
    expect(fake.calls).toEqual([]);
  });

  it.each(['..', '..%2F..%2Fsecret', 'Web', 'web.log', '%2Fetc%2Fpasswd'])('rejects the set name %s with 400', async (name) => {
    const res = await app.request(`/v1/sets/${name}/instances/0/logs`);
    expect([400, 404]).toContain(res.status);
    expect(fake.calls).toEqual([]);
  });

  it('is 404 for a set that does not exist, even when a log file is there', async () => {
    fs.writeFileSync(path.join(logs, 'gone-0.log'), 'old\n');
    const error = await expectError(await app.request('/v1/sets/gone/instances/0/logs'), 404, 'NotFound');
    expect(error.message).toContain("'gone'");
  });

  it('is 404 for an instance without a log', async () => {
    const error = await expectError(await app.request('/v1/sets/web/instances/7/logs'), 404, 'NotFound');
    expect(error.message).toContain('web-7');
  });

  it('does not follow a symbolic link, nor read a directory or a FIFO planted in the logs folder', async () => {
    const secret = path.join(dir, 'secret.txt');
    fs.writeFileSync(secret, 'secret\n');
    fs.symlinkSync(secret, path.join(logs, 'web-0.log'));
    await expectError(await app.request('/v1/sets/web/instances/0/logs'), 404, 'NotFound');
    fs.mkdirSync(path.join(logs, 'web-1.log'));
    await expectError(await app.request('/v1/sets/web/instances/1/logs'), 404, 'NotFound');
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [path.join(logs, 'web-2.log')]);
    await expectError(await app.request('/v1/sets/web/instances/2/logs'), 404, 'NotFound');
  });

  it('is 404 when the API has no data directory', async () => {
    const bare = createApp(fake);
    const error = await expectError(await bare.request('/v1/sets/web/instances/0/logs'), 404, 'NotFound');
    expect(error.message).toMatch(/no access to instance logs/);
  });

  it('is in the OpenAPI document: text/plain, the tail parameter with its bounds', async () => {
    const doc = await (await app.request('/openapi.json')).json();
    const op = doc.paths['/v1/sets/{name}/instances/{ordinal}/logs'].get;
    expect(Object.keys(op.responses['200'].content)).toEqual(['text/plain']);
    const tail = op.parameters.find((p: { name: string }) => p.name === 'tail');
    expect(tail).toMatchObject({ in: 'query', required: false, schema: { type: 'integer', minimum: 0, maximum: 10000, default: 200 } });
    expect(Object.keys(op.responses).sort()).toEqual(['200', '400', '401', '403', '404', '500', '503']);
  });
});

describe('readLogTail', () => {
  it('keeps every path inside the logs folder', () => {
    expect(instanceLogPath(logs, 'web', 0)).toBe(path.join(logs, 'web-0.log'));
    expect(instanceLogPath(logs, '../x', 0)).toBeUndefined();
    expect(instanceLogPath(logs, 'a/b', 0)).toBeUndefined();
    expect(instanceLogPath(logs, '..', 0)).toBeUndefined();
  });

  it('reads long logs from the end, in chunks, across chunk boundaries', async () => {
    const all = lines(1, 50_000);
    fs.writeFileSync(path.join(logs, 'web-0.log'), `${all.join('\n')}\n`);
    expect(await readLogTail(logs, 'web', 0, 3)).toBe('line 49998\nline 49999\nline 50000\n');
    expect(await readLogTail(logs, 'web', 0, 10_000)).toBe(`${all.slice(-10_000).join('\n')}\n`);
  });

  it(`reads at most ${MAX_TAIL_BYTES} bytes, dropping the partial line it starts in`, async () => {
    const long = 'x'.repeat(MAX_TAIL_BYTES);
    fs.writeFileSync(path.join(logs, 'web-0.log'), `first\n${long}\nsecond\nthird\n`);
    const text = (await readLogTail(logs, 'web', 0, 10))!;
    expect(text).toBe('second\nthird\n');
  });
});
