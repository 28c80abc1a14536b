// The pieces of the API's Lambda entry that need no Temporal: its settings, token records from a secret
// (reread when due, kept when a reread fails, refused before the first read), the Temporal secret's
// format, PEM contents in variables for the Temporal connection, and the handler over the in-memory
// fake answering payload 2.0 events. (test/integration/api-lambda.test.ts runs it against real Temporal.)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { IamCallers, SecretTokens, createLambdaHandler, lambdaSettings } from '../../api/lambda.js';
import { temporalEnvFromSecret } from '../../infra/aws-secrets.js';
import { loadConfig } from '../../infra/config.js';
import { temporalConnectionOptions } from '../../infra/temporal-connection.js';
import { TokenFileError, generateToken, hashToken } from '../../infra/tokens.js';
import { FakeSets } from './fake-sets.js';

const silent = pino({ level: 'silent' });

function records(...tokens: Array<[string, string, 'read' | 'write']>): string {
  return JSON.stringify(
    tokens.map(([name, token, scope]) => ({ name, scopes: scope === 'write' ? ['read', 'write'] : ['read'], hash: hashToken(token), createdAt: '2025-01-01T00:00:00.000Z' })),
  );
}

describe('lambdaSettings', () => {
  it('defaults to bearer tokens, reread every minute', () => {
    expect(lambdaSettings({})).toEqual({ auth: 'tokens', tokensSecret: undefined, temporalSecret: undefined, tokensRefreshMs: 60_000 });
    expect(lambdaSettings({ ORDINAL_LAMBDA_AUTH: 'iam', ORDINAL_TEMPORAL_SECRET: 's', ORDINAL_TOKENS_REFRESH_SECONDS: '5' })).toMatchObject({
      auth: 'iam',
      temporalSecret: 's',
      tokensRefreshMs: 5_000,
    });
  });

  it('refuses anything else, by name', () => {
    expect(() => lambdaSettings({ ORDINAL_LAMBDA_AUTH: 'none' })).toThrow(/ORDINAL_LAMBDA_AUTH must be 'tokens' \(the default\) or 'iam'/);
    expect(() => lambdaSettings({ ORDINAL_TOKENS_REFRESH_SECONDS: 'soon' })).toThrow(/ORDINAL_TOKENS_REFRESH_SECONDS/);
  });
});

describe('SecretTokens', () => {
  it('reads the records once per refresh period, keeps them when a reread fails, and refuses before the first read', async () => {
    const a = generateToken();
    const b = generateToken();
    let value = records(['ci', a, 'write']);
    let fail = false;
    let reads = 0;
    let now = 0;
    const tokens = new SecretTokens('arn:secret', {
      refreshMs: 1_000,
      logger: silent,
      now: () => now,
      readSecret: async () => {
        reads++;
        if (fail) throw new Error('throttled');
        return value;
      },
    });
    expect(tokens.enabled).toBe(true);
    expect(() => tokens.verify(a)).toThrow(TokenFileError); // fail closed before the first read

    await tokens.refresh();
    expect(tokens.verify(a)).toEqual({ name: 'ci', scopes: ['read', 'write'] });
    expect(tokens.verify(b)).toBeUndefined();

    value = records(['reader', b, 'read']);
    now = 999;
    await tokens.refresh();
    expect(reads).toBe(1); // not due yet
    now = 1_000;
    await Promise.all([tokens.refresh(), tokens.refresh()]);
    expect(reads).toBe(2); // one read for concurrent requests
    expect(tokens.verify(a)).toBeUndefined(); // revoked
    expect(tokens.verify(b)).toEqual({ name: 'reader', scopes: ['read'] });

    fail = true;
    now = 5_000;
    await tokens.refresh();
    expect(tokens.verify(b)).toEqual({ name: 'reader', scopes: ['read'] }); // kept
    await tokens.refresh();
    expect(reads).toBe(4); // and tried again on the next request
  });

  it('refuses a malformed token file in the secret, and everything without a secret', async () => {
    const broken = new SecretTokens('arn:secret', { logger: silent, readSecret: async () => '{"not": "a list"}' });
    await broken.refresh();
    expect(() => broken.verify(generateToken())).toThrow(/could not be read: the token file secret arn:secret must hold a JSON array/);
    const none = new SecretTokens(undefined, { logger: silent });
    await none.refresh();
    expect(() => none.verify(generateToken())).toThrow(/no token secret is configured/);
  });
});

describe('temporalEnvFromSecret', () => {
  it('takes the Temporal CLI variables, or a bare API key', () => {
    expect(temporalEnvFromSecret('{"TEMPORAL_API_KEY": "key"}', 's')).toEqual({ TEMPORAL_API_KEY: 'key' });
    expect(temporalEnvFromSecret(' key\n', 's')).toEqual({ TEMPORAL_API_KEY: 'key' });
    const mtls = { TEMPORAL_TLS_CLIENT_CERT_DATA: 'CERT', TEMPORAL_TLS_CLIENT_KEY_DATA: 'KEY', TEMPORAL_TLS_SERVER_NAME: 'x' };
    expect(temporalEnvFromSecret(JSON.stringify(mtls), 's')).toEqual(mtls);
  });

  it('refuses unknown keys, non-strings, empty secrets and secrets without credentials', () => {
    expect(() => temporalEnvFromSecret('{"TEMPORAL_APIKEY": "k"}', 's')).toThrow(/unknown keys TEMPORAL_APIKEY/);
    expect(() => temporalEnvFromSecret('{"TEMPORAL_API_KEY": 1}', 's')).toThrow(/must be a string/);
    expect(() => temporalEnvFromSecret('  ', 's')).toThrow(/is empty/);
    expect(() => temporalEnvFromSecret('{"TEMPORAL_TLS_CLIENT_CERT_DATA": "c"}', 's')).toThrow(/holds neither/);
  });
});

describe('temporalConnectionOptions with PEM contents', () => {
  const config = loadConfig({ TEMPORAL_ADDRESS: 'ns.a1b2c.tmprl.cloud:7233' });

  it('takes the certificate and key from _DATA variables, as ECS injects them from Secrets Manager', () => {
    const options = temporalConnectionOptions(config, { TEMPORAL_TLS_CLIENT_CERT_DATA: 'CERT', TEMPORAL_TLS_CLIENT_KEY_DATA: 'KEY', TEMPORAL_TLS_SERVER_CA_CERT_DATA: 'CA' });
    expect(options).toEqual({
      address: 'ns.a1b2c.tmprl.cloud:7233',
      tls: { clientCertPair: { crt: Buffer.from('CERT'), key: Buffer.from('KEY') }, serverRootCACertificate: Buffer.from('CA') },
    });
  });

  it('mixes files and contents, but not both for one PEM, and never a certificate without its key', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-pem-'));
    const cert = path.join(dir, 'client.pem');
    fs.writeFileSync(cert, 'FILECERT');
    expect(temporalConnectionOptions(config, { TEMPORAL_TLS_CLIENT_CERT_PATH: cert, TEMPORAL_TLS_CLIENT_KEY_DATA: 'KEY' }).tls).toEqual({
      clientCertPair: { crt: Buffer.from('FILECERT'), key: Buffer.from('KEY') },
    });
    expect(() => temporalConnectionOptions(config, { TEMPORAL_TLS_CLIENT_CERT_PATH: cert, TEMPORAL_TLS_CLIENT_CERT_DATA: 'C', TEMPORAL_TLS_CLIENT_KEY_DATA: 'K' })).toThrow(
      /TEMPORAL_TLS_CLIENT_CERT_PATH or TEMPORAL_TLS_CLIENT_CERT_DATA, not both/,
    );
    expect(() => temporalConnectionOptions(config, { TEMPORAL_TLS_CLIENT_CERT_DATA: 'C' })).toThrow(/must be set together/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an API key alone means TLS with the system roots', () => {
    expect(temporalConnectionOptions(config, { TEMPORAL_API_KEY: 'k' })).toEqual({ address: 'ns.a1b2c.tmprl.cloud:7233', tls: true, apiKey: 'k' });
  });
});

describe('the handler over the fake sets', () => {
  const event = (method: string, rawPath: string, headers: Record<string, string> = {}, authorizer: Record<string, unknown> = {}) =>
    ({
      version: '2.0',
      routeKey: '$default',
      rawPath,
      rawQueryString: '',
      headers: { host: 'abc.lambda-url.eu-west-1.on.aws', ...headers },
      requestContext: {
        accountId: '123456789012',
        apiId: 'abc',
        authorizer,
        domainName: 'abc.lambda-url.eu-west-1.on.aws',
        domainPrefix: 'abc',
        http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 't' },
        requestId: 'r',
        routeKey: '$default',
        stage: '$default',
        time: '',
        timeEpoch: 0,
      },
      isBase64Encoded: false,
      body: null,
    }) as never;

  it('refreshes the tokens before each request and never applies the loopback rule behind a Function URL', async () => {
    const token = generateToken();
    let reads = 0;
    const auth = new SecretTokens('s', { refreshMs: 0, logger: silent, readSecret: async () => (reads++, records(['ci', token, 'read'])) });
    const handler = createLambdaHandler({ sets: new FakeSets(), auth, logger: silent });
    const ok = await handler(event('GET', '/v1/sets', { authorization: `Bearer ${token}` }));
    expect(ok.statusCode).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ items: [] });
    expect((await handler(event('GET', '/v1/sets'))).statusCode).toBe(401);
    expect(reads).toBe(2);
  });

  it('in IAM mode, takes the caller from the request context and ignores a forged Authorization header', async () => {
    const handler = createLambdaHandler({ sets: new FakeSets(), auth: new IamCallers(), logger: silent });
    const arn = 'arn:aws:iam::123456789012:role/deployer';
    expect((await handler(event('GET', '/v1/sets', {}, { iam: { userArn: arn } }))).statusCode).toBe(200);
    expect((await handler(event('GET', '/v1/sets', { authorization: 'Bearer ord_x' }))).statusCode).toBe(401);
  });

  it('answers the watch stream 501, saying to poll: Lambda does not stream responses', async () => {
    const handler = createLambdaHandler({ sets: new FakeSets(), auth: new IamCallers(), logger: silent });
    const arn = 'arn:aws:iam::123456789012:role/viewer';
    const res = await handler(event('GET', '/v1/sets/web/watch', {}, { iam: { userArn: arn } }));
    expect(res.statusCode).toBe(501);
    expect(JSON.parse(res.body).error).toMatchObject({ code: 'NotImplemented', message: expect.stringMatching(/Lambda.*poll GET \/v1\/sets\/\{name\}/) });
  });
});
