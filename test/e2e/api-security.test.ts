// The API's security end to end, over real HTTP, the real Temporal dev server and worker: it refuses to
// listen beyond loopback without tokens (as a library call and as `ordinal api`), answers 401 and 403
// and changes nothing then, records the token's name in the Update that the Temporal UI shows, and two
// clients applying different specs at once with If-Match cannot lose an update.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InsecureBindError, type ApiServer } from '../../api/server.js';
import { workflowIdForSet } from '../../core/names.js';
import { createToken } from '../../infra/tokens.js';
import { startTestOrdinal, uniqueName, type TestOrdinal } from '../harness/ordinal.js';
import { temporalAddress, temporalNamespace } from '../harness/services.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/ordinal.js');

let ordinal: TestOrdinal;
let tmp: string;
let tokensFile: string;
let api: ApiServer;
let reader: string;
let writer: string;
let other: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-security-'));
  tokensFile = path.join(tmp, 'tokens.json');
  ordinal = await startTestOrdinal();
  reader = createToken(tokensFile, 'e2e-reader', 'read').token;
  writer = createToken(tokensFile, 'e2e-writer', 'write').token;
  other = createToken(tokensFile, 'e2e-other-writer', 'write').token;
  // Loopback, but not the default address: the token file alone turns authentication on.
  api = await ordinal.startApi({ host: '127.0.0.2', auth: { tokensFile, required: false } });
});

afterAll(async () => {
  await ordinal?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** A set with no instances: nothing to run, only its workflow. */
function manifest(name: string, spec: Record<string, unknown> = {}) {
  return { apiVersion: 'ordinal.dev/v1', kind: 'StatefulSet', metadata: { name }, spec: { replicas: 0, template: { process: { command: ['node', '-e', '0'] } }, ...spec } };
}

async function call(method: string, url: string, token: string | undefined, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${api.url}${url}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' } : {}),
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

/** The args of every accepted Update in the set's workflow history, as the Temporal UI shows them. */
async function acceptedUpdates(name: string): Promise<Array<{ name: string; args: Record<string, unknown> }>> {
  const history = await ordinal.client.workflow.getHandle(workflowIdForSet(name)).fetchHistory();
  return (history.events ?? [])
    .map((event) => event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest)
    .filter((request) => request != null)
    .map((request) => ({
      name: request!.input!.name!,
      args: defaultPayloadConverter.fromPayload(request!.input!.args!.payloads![0]) as Record<string, unknown>,
    }));
}

describe('binding', () => {
  it('refuses to start beyond loopback without tokens, with a message that says what to do', async () => {
    const empty = path.join(tmp, 'no-tokens.json');
    const error = await ordinal.startApi({ host: '0.0.0.0', auth: { tokensFile: empty, required: false } }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(InsecureBindError);
    expect((error as Error).message).toContain('refusing to serve the API on 0.0.0.0');
    expect((error as Error).message).toContain('ordinal token create NAME --scope write');
  });

  it('"ordinal api --host 0.0.0.0" exits 1 saying so, before it listens', async () => {
    const dataDir = path.join(tmp, 'cli-data');
    const env: NodeJS.ProcessEnv = { ...process.env, ORDINAL_DATA_DIR: dataDir, TEMPORAL_ADDRESS: temporalAddress(), TEMPORAL_NAMESPACE: temporalNamespace() };
    delete env.ORDINAL_TOKENS_FILE;
    delete env.ORDINAL_API_AUTH;
    const child = spawn(process.execPath, [BIN, 'api', '--host', '0.0.0.0', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    expect(code).toBe(1);
    expect(stdout).not.toContain('API on');
    expect(stderr).toContain(`error: refusing to serve the API on 0.0.0.0: beyond loopback (127.0.0.0/8, ::1, localhost) it needs authentication, and there is no token in ${path.join(dataDir, 'tokens.json')}`);
  });

  it('starts on a loopback address other than the default, and needs the tokens it found', async () => {
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
    expect(api.authenticated).toBe(true);
    expect((await call('GET', '/healthz', undefined)).status).toBe(200);
  });
});

describe('over real HTTP', () => {
  it('401 without a valid token and 403 without the scope, and nothing changes', async () => {
    const name = uniqueName('sec');
    for (const token of [undefined, 'ord_not-a-token']) {
      const res = await call('PUT', `/v1/sets/${name}`, token, manifest(name));
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('Unauthenticated');
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="ordinal"/);
      expect((await call('GET', '/v1/sets', token)).status).toBe(401);
    }
    const forbidden = await call('PUT', `/v1/sets/${name}`, reader, manifest(name));
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error).toMatchObject({ code: 'Forbidden', message: expect.stringContaining("'e2e-reader'") });
    // Nothing was created: no workflow was even started.
    expect((await call('GET', `/v1/sets/${name}`, reader)).status).toBe(404);
    await expect(ordinal.client.workflow.getHandle(workflowIdForSet(name)).describe()).rejects.toThrow();

    const created = await call('PUT', `/v1/sets/${name}`, writer, manifest(name));
    expect(created.status).toBe(201);
    expect((await call('DELETE', `/v1/sets/${name}`, reader)).status).toBe(403);
    expect((await call('PATCH', `/v1/sets/${name}`, undefined, { spec: { replicas: 1 } })).status).toBe(401);
    const after = await call('GET', `/v1/sets/${name}`, reader);
    expect(after.status).toBe(200);
    expect(after.body.metadata.generation).toBe(1);
    expect(after.body.metadata.deletionRequested).toBeFalsy();
    expect(after.body.spec.replicas).toBe(0);
  });

  it("records the token's name as who asked in each Update, as the workflow history (Temporal UI) shows", async () => {
    const name = uniqueName('sec');
    expect((await call('PUT', `/v1/sets/${name}`, writer, manifest(name))).status).toBe(201);
    expect((await call('PATCH', `/v1/sets/${name}`, other, { spec: { minReadySeconds: 1 } })).status).toBe(200);
    expect((await call('DELETE', `/v1/sets/${name}`, writer)).status).toBe(202);
    const updates = await acceptedUpdates(name);
    expect(updates.map((u) => [u.name, u.args.requestedBy])).toEqual([
      ['apply', 'e2e-writer'],
      ['apply', 'e2e-other-writer'],
      ['deleteSet', 'e2e-writer'],
    ]);
    expect(updates[1].args.expectedGeneration).toBe(1);
  });

  it('two clients applying different specs at once with If-Match: exactly one wins, the other gets 409, no update is lost', async () => {
    const name = uniqueName('sec');
    expect((await call('PUT', `/v1/sets/${name}`, writer, manifest(name))).status).toBe(201);
    const read = await call('GET', `/v1/sets/${name}`, reader);
    const etag = read.headers.get('etag')!;
    expect(etag).toBe('"1"');

    // Both read generation 1; both write at once, each its own spec, conditionally.
    const specs = { [writer]: { minReadySeconds: 5 }, [other]: { progressDeadlineSeconds: 300 } };
    const results = await Promise.all(
      [writer, other].map((token) => call('PUT', `/v1/sets/${name}`, token, manifest(name, specs[token]), { 'if-match': etag })),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const winner = results.findIndex((r) => r.status === 200);
    const loserToken = [writer, other][1 - winner];
    expect(results[1 - winner].body.error.code).toBe('Conflict');
    expect(results[winner].headers.get('etag')).toBe('"2"');

    // The set holds the winner's spec, not a mix and not the loser's.
    const afterRace = (await call('GET', `/v1/sets/${name}`, reader)).body;
    expect(afterRace.metadata.generation).toBe(2);
    expect(afterRace.spec).toMatchObject(specs[[writer, other][winner]]);
    expect(afterRace.spec).not.toMatchObject(specs[loserToken]);

    // The loser was told, so it reads again and reapplies on top: both changes are in, none lost.
    const retried = await call('PATCH', `/v1/sets/${name}`, loserToken, { spec: specs[loserToken] }, { 'if-match': '"2"' });
    expect(retried.status).toBe(200);
    const final = (await call('GET', `/v1/sets/${name}`, reader)).body;
    expect(final.metadata.generation).toBe(3);
    expect(final.spec).toMatchObject({ minReadySeconds: 5, progressDeadlineSeconds: 300 });
    // Generation 3: the creation, the winner and the retry changed the set; the loser's first try did not.
  });

  it('PATCHes without If-Match at once: each is merged onto the latest spec, so both land', async () => {
    const name = uniqueName('sec');
    expect((await call('PUT', `/v1/sets/${name}`, writer, manifest(name))).status).toBe(201);
    const results = await Promise.all([
      call('PATCH', `/v1/sets/${name}`, writer, { spec: { minReadySeconds: 7 } }),
      call('PATCH', `/v1/sets/${name}`, other, { spec: { revisionHistoryLimit: 4 } }),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    const final = (await call('GET', `/v1/sets/${name}`, reader)).body;
    expect(final.metadata.generation).toBe(3);
    expect(final.spec).toMatchObject({ minReadySeconds: 7, revisionHistoryLimit: 4 });
  });
});
