// The API's Lambda entry (api/lambda.ts) in-process, fed API Gateway payload 2.0 events (what a Lambda
// Function URL and an API Gateway HTTP API send), against the real Temporal server and worker of the
// harness, with its secrets in Secrets Manager (moto, through the real AWS SDK): the exported `handler`
// configures itself from the environment at its cold start, as on Lambda.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { defaultPayloadConverter } from '@temporalio/common';
import pino from 'pino';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler, lambdaFromEnv, type LambdaHandler } from '../../api/lambda.js';
import { workflowIdForSet } from '../../core/names.js';
import { createToken, readTokenFile } from '../../infra/tokens.js';
import { startTestOrdinal, uniqueName, type TestOrdinal } from '../harness/ordinal.js';
import { useDummyAwsConfiguration } from '../harness/route53.js';
import { motoEndpoint } from '../harness/services.js';
import { fixtureManifest, isReady, waitForSet } from '../harness/sets.js';

let ordinal: TestOrdinal;
let tmp: string;
let secrets: SecretsManagerClient;
let tokensSecretArn: string;
let tokensFile: string;
let writer: string;
let reader: string;
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  ordinal = await startTestOrdinal();
  useDummyAwsConfiguration();
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = motoEndpoint();
  secrets = new SecretsManagerClient({ endpoint: motoEndpoint() });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-lambda-'));
  // Tokens made as an operator would: `ordinal token create` into a file, its text put in the secret.
  tokensFile = path.join(tmp, 'tokens.json');
  writer = createToken(tokensFile, 'pipeline', 'write').token;
  reader = createToken(tokensFile, 'dashboard', 'read').token;
  const created = await secrets.send(new CreateSecretCommand({ Name: uniqueName('ordinal/api-tokens'), SecretString: fs.readFileSync(tokensFile, 'utf8') }));
  tokensSecretArn = created.ARN!;
  // The Lambda's environment, as infra/cdk/stack.ts sets it (tokens reread on every request here).
  Object.assign(process.env, {
    TEMPORAL_ADDRESS: ordinal.config.temporal.address,
    TEMPORAL_NAMESPACE: ordinal.config.temporal.namespace,
    ORDINAL_TASK_QUEUE: ordinal.config.temporal.taskQueue,
    ORDINAL_LAMBDA_AUTH: 'tokens',
    ORDINAL_TOKENS_SECRET: tokensSecretArn,
    ORDINAL_TOKENS_REFRESH_SECONDS: '0',
  });
});

afterAll(async () => {
  for (const close of closers) await close();
  secrets?.destroy();
  await ordinal?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

interface EventInit {
  headers?: Record<string, string>;
  body?: string;
  base64?: boolean;
  query?: string;
  iam?: { userArn: string };
}

/** A payload 2.0 event as a Function URL sends it. */
function event(method: string, rawPath: string, init: EventInit = {}) {
  const domainName = 'abcdefghij.lambda-url.eu-west-1.on.aws';
  const body = init.body === undefined ? undefined : init.base64 ? Buffer.from(init.body).toString('base64') : init.body;
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString: init.query ?? '',
    headers: { host: domainName, 'user-agent': 'ordinal-test', ...(init.headers ?? {}) },
    ...(init.query ? { queryStringParameters: Object.fromEntries(new URLSearchParams(init.query)) } : {}),
    requestContext: {
      accountId: init.iam ? '123456789012' : 'anonymous',
      apiId: 'abcdefghij',
      authentication: null,
      authorizer: init.iam ? { iam: { accessKey: 'AKIA', accountId: '123456789012', callerId: 'AROA:ci', cognitoIdentity: null, principalOrgId: null, userArn: init.iam.userArn, userId: 'AROA:ci' } } : {},
      domainName,
      domainPrefix: 'abcdefghij',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '192.0.2.10', userAgent: 'ordinal-test' },
      requestId: `req-${Math.random().toString(16).slice(2)}`,
      routeKey: '$default',
      stage: '$default',
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
    },
    body,
    isBase64Encoded: init.base64 ?? false,
  };
}

async function call(fn: LambdaHandler, method: string, rawPath: string, init: EventInit & { token?: string } = {}) {
  const headers = { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...init.headers };
  const result = await fn(event(method, rawPath, { ...init, headers }) as never);
  const text = result.isBase64Encoded ? Buffer.from(result.body, 'base64').toString('utf8') : result.body;
  const type = result.headers?.['content-type'] ?? '';
  return { status: result.statusCode, headers: result.headers as Record<string, string>, body: type.includes('json') && text ? JSON.parse(text) : text };
}

async function acceptedUpdates(name: string): Promise<Array<{ name: string; requestedBy: unknown }>> {
  const history = await ordinal.client.workflow.getHandle(workflowIdForSet(name)).fetchHistory();
  return (history.events ?? [])
    .map((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest)
    .filter((r) => r != null)
    .map((r) => ({ name: r!.input!.name!, requestedBy: (defaultPayloadConverter.fromPayload(r!.input!.args!.payloads![0]) as { requestedBy?: string }).requestedBy }));
}

describe('the Lambda handler, bearer tokens from Secrets Manager', () => {
  it('applies a set (YAML body) through an event, and the real worker makes it Ready', async () => {
    const name = uniqueName('lambda');
    const manifest = stringify(fixtureManifest(name, { replicas: 1 }));
    const put = await call(handler, 'PUT', `/v1/sets/${name}`, { token: writer, body: manifest, headers: { 'content-type': 'application/yaml' } });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    expect(put.headers.location).toBe(`/v1/sets/${name}`);
    expect(put.headers.etag).toBe('"1"');
    expect(put.body).toMatchObject({ metadata: { name, generation: 1 }, spec: { replicas: 1 } });

    await waitForSet(ordinal.sets, name, (view) => isReady(view, 1), { message: `${name} Ready` });
    const get = await call(handler, 'GET', `/v1/sets/${name}`, { token: reader });
    expect(get.status).toBe(200);
    expect(get.headers.etag).toBe('"1"');
    expect(get.body.status).toMatchObject({ readyReplicas: 1, replicas: 1 });
    expect(get.body.status.instances[0]).toMatchObject({ name: `${name}-0`, ready: true });
    // The token's name is who asked, in the workflow history.
    expect(await acceptedUpdates(name)).toEqual([{ name: 'apply', requestedBy: 'pipeline' }]);

    // A base64-encoded body (as Function URLs send some bodies) and a query string.
    const patch = await call(handler, 'PATCH', `/v1/sets/${name}`, {
      token: writer,
      body: JSON.stringify({ spec: { replicas: 2 } }),
      base64: true,
      headers: { 'content-type': 'application/merge-patch+json' },
    });
    expect(patch.status, JSON.stringify(patch.body)).toBe(200);
    expect(patch.body.spec.replicas).toBe(2);
    const list = await call(handler, 'GET', '/v1/sets', { token: reader });
    expect(list.status).toBe(200);
    expect(list.body.items.map((s: { metadata: { name: string } }) => s.metadata.name)).toContain(name);
  });

  it('answers 404 for a set that does not exist, in the error shape', async () => {
    const res = await call(handler, 'GET', `/v1/sets/${uniqueName('missing')}`, { token: reader });
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toContain('application/json');
    expect(res.body).toEqual({ error: { code: 'NotFound', message: expect.stringContaining('does not exist'), details: [] } });
  });

  it('answers 400 for an invalid manifest, naming the field, and starts nothing', async () => {
    const name = uniqueName('invalid');
    const manifest = { ...fixtureManifest(name, { replicas: 1 }), spec: { replicas: -1, template: { process: { command: ['x'] } } } };
    const res = await call(handler, 'PUT', `/v1/sets/${name}`, { token: writer, body: JSON.stringify(manifest), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'InvalidManifest', details: [expect.objectContaining({ path: 'spec.replicas' })] });
    expect(await ordinal.sets.get(name)).toBeUndefined();
    const bad = await call(handler, 'PUT', `/v1/sets/${name}`, { token: writer, body: '{', headers: { 'content-type': 'application/json' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('InvalidManifest');
  });

  it('refuses requests without a valid token (401), or without the scope (403), before anything runs', async () => {
    const name = uniqueName('refused');
    const body = JSON.stringify(fixtureManifest(name, { replicas: 1 }));
    const json = { 'content-type': 'application/json' };
    const none = await call(handler, 'PUT', `/v1/sets/${name}`, { body, headers: json });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="ordinal"');
    expect(none.body.error.code).toBe('Unauthenticated');
    const wrong = await call(handler, 'GET', '/v1/sets', { token: 'ord_not-a-real-token' });
    expect(wrong.status).toBe(401);
    const readOnly = await call(handler, 'PUT', `/v1/sets/${name}`, { token: reader, body, headers: json });
    expect(readOnly.status).toBe(403);
    expect(readOnly.body.error.code).toBe('Forbidden');
    expect(await ordinal.sets.get(name)).toBeUndefined();
    // Health and the API's description stay open; health reaches the real Temporal.
    expect((await call(handler, 'GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect((await call(handler, 'GET', '/openapi.json')).body.info.title).toBe('Ordinal');
  });

  it('takes a token revoked in the secret out of use at its next reread, and one added into use', async () => {
    const own = await lambdaFromEnv({ ...process.env }); // a second sandbox, same secret
    closers.push(own.close);
    const ci = createToken(tokensFile, 'ci-temp', 'read').token;
    await secrets.send(new PutSecretValueCommand({ SecretId: tokensSecretArn, SecretString: fs.readFileSync(tokensFile, 'utf8') }));
    expect((await call(own.handler, 'GET', '/v1/sets', { token: ci })).status).toBe(200);
    const left = readTokenFile(tokensFile).filter((t) => t.name !== 'ci-temp');
    await secrets.send(new PutSecretValueCommand({ SecretId: tokensSecretArn, SecretString: JSON.stringify(left) }));
    expect((await call(own.handler, 'GET', '/v1/sets', { token: ci })).status).toBe(401);
    expect((await call(own.handler, 'GET', '/v1/sets', { token: reader })).status).toBe(200);
  });

  it('fails closed when the token secret cannot be read: 503, nothing served', async () => {
    const broken = await lambdaFromEnv({ ...process.env, ORDINAL_TOKENS_SECRET: 'ordinal/no-such-secret' }, { logger: pino({ level: 'silent' }) });
    closers.push(broken.close);
    const res = await call(broken.handler, 'GET', '/v1/sets', { token: writer });
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('Unavailable');
  });

  it('reads the Temporal credentials from their secret at cold start, and refuses a malformed one', async () => {
    const bad = await secrets.send(new CreateSecretCommand({ Name: uniqueName('ordinal/temporal'), SecretString: JSON.stringify({ TEMPORAL_PASSWORD: 'x' }) }));
    await expect(lambdaFromEnv({ ...process.env, ORDINAL_TEMPORAL_SECRET: bad.ARN! })).rejects.toThrow(/unknown keys TEMPORAL_PASSWORD/);
  });
});

describe('the Lambda handler, IAM auth of the Function URL', () => {
  let iam: LambdaHandler;

  beforeAll(async () => {
    const lambda = await lambdaFromEnv({ ...process.env, ORDINAL_LAMBDA_AUTH: 'iam', ORDINAL_TOKENS_SECRET: '' });
    closers.push(lambda.close);
    iam = lambda.handler;
  });

  it('serves the IAM caller Lambda authenticated, and records its ARN as who asked', async () => {
    const userArn = 'arn:aws:sts::123456789012:assumed-role/deployer/ci-run-42';
    const name = uniqueName('iam');
    const put = await call(iam, 'PUT', `/v1/sets/${name}`, {
      iam: { userArn },
      body: JSON.stringify(fixtureManifest(name, { replicas: 0 })),
      headers: { 'content-type': 'application/json' },
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    expect((await call(iam, 'GET', `/v1/sets/${name}`, { iam: { userArn } })).status).toBe(200);
    expect(await acceptedUpdates(name)).toEqual([{ name: 'apply', requestedBy: userArn }]);
  });

  it('refuses a request without the IAM context (a Function URL not set to AWS_IAM), bearer token or not', async () => {
    expect((await call(iam, 'GET', '/v1/sets')).status).toBe(401);
    expect((await call(iam, 'GET', '/v1/sets', { token: writer })).status).toBe(401);
  });
});
