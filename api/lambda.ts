// The API on AWS Lambda: the same hono app as `ordinal api` (createApp over the Temporal-backed sets of
// api/server.ts), through hono's AWS Lambda adapter, behind a Lambda Function URL (infra/cdk/). It
// takes API Gateway payload 2.0 events, which Function URLs and API Gateway HTTP APIs both send.
//
// At cold start it reads its settings from the environment, the Temporal credentials from Secrets
// Manager (ORDINAL_TEMPORAL_SECRET, see infra/aws-secrets.ts) and connects the Temporal client lazily.
// There is no data directory on Lambda, so there is no token file either. Authentication is one of:
//
// - `tokens` (ORDINAL_LAMBDA_AUTH, the default): the Function URL is public (auth NONE) and the app
//   requires bearer tokens, always (there is no unauthenticated mode on Lambda). The token records
//   (names, scopes and SHA-256 hashes, exactly the token file's format: `ordinal token create` makes
//   them) live in the Secrets Manager secret ORDINAL_TOKENS_SECRET, reread every
//   ORDINAL_TOKENS_REFRESH_SECONDS (default 60), so a token added or revoked there takes effect within
//   that time without a deployment. Without the secret, or before it could be read once, every request
//   but /healthz and /openapi.json is refused (503): it fails closed.
// - `iam`: the Function URL has AWS_IAM auth, so only requests signed by an IAM principal allowed
//   lambda:InvokeFunctionUrl reach the function; that principal (its ARN, from the request context
//   Lambda fills in) is who made the change, with the read and write scopes. Bearer tokens are not
//   used (a request without the IAM context is refused 401).
import type { Context } from 'hono';
import { handle, type LambdaContext, type LambdaEvent } from 'hono/aws-lambda';
import { readSecret as defaultReadSecret, temporalEnvFromSecret, type ReadSecret } from '../infra/aws-secrets.js';
import { loadConfig } from '../infra/config.js';
import { logger as defaultLogger, type Logger } from '../infra/logger.js';
import { TokenFileError, findToken, parseTokenFile, type Principal, type TokenRecord } from '../infra/tokens.js';
import { createApp, type ApiAuth, type AppEnv, type AppOptions } from './app.js';
import { createSetsService } from './server.js';
import type { SetsPort } from './sets-port.js';
import type { Route53ZonesPort } from './zones-port.js';

export type LambdaAuthMode = 'tokens' | 'iam';

export interface LambdaSettings {
  auth: LambdaAuthMode;
  /** ARN or name of the secret holding the token records (tokens mode). */
  tokensSecret?: string;
  /** ARN or name of the secret holding the Temporal credentials. */
  temporalSecret?: string;
  /** How long token records read from the secret are used before they are read again. */
  tokensRefreshMs: number;
}

/** The Lambda's own variables: ORDINAL_LAMBDA_AUTH, ORDINAL_TOKENS_SECRET, ORDINAL_TEMPORAL_SECRET, ORDINAL_TOKENS_REFRESH_SECONDS. */
export function lambdaSettings(env: NodeJS.ProcessEnv = process.env): LambdaSettings {
  const auth = env.ORDINAL_LAMBDA_AUTH || 'tokens';
  if (auth !== 'tokens' && auth !== 'iam') throw new Error(`ORDINAL_LAMBDA_AUTH must be 'tokens' (the default) or 'iam', got '${auth}'`);
  const refresh = env.ORDINAL_TOKENS_REFRESH_SECONDS ? Number(env.ORDINAL_TOKENS_REFRESH_SECONDS) : 60;
  if (!Number.isFinite(refresh) || refresh < 0 || refresh > 3600) {
    throw new Error(`ORDINAL_TOKENS_REFRESH_SECONDS must be a number of seconds from 0 to 3600, got '${env.ORDINAL_TOKENS_REFRESH_SECONDS}'`);
  }
  return {
    auth,
    tokensSecret: env.ORDINAL_TOKENS_SECRET || undefined,
    temporalSecret: env.ORDINAL_TEMPORAL_SECRET || undefined,
    tokensRefreshMs: refresh * 1000,
  };
}

/** What refreshes itself between requests (the token records); the handler awaits it before each one. */
export interface RefreshingAuth extends ApiAuth {
  refresh?(): Promise<void>;
}

/**
 * Bearer tokens whose records live in a secret (the token file's JSON), always required. Reread when
 * older than `refreshMs`; when a reread fails, the records read last stay in use (and it is tried again
 * on the next request); before the first successful read every request is refused (503).
 */
export class SecretTokens implements RefreshingAuth {
  readonly enabled = true;
  private records: TokenRecord[] | undefined;
  private readAt = -Infinity;
  private lastError: Error | undefined;
  private reading: Promise<void> | undefined;

  constructor(
    private readonly secretId: string | undefined,
    private readonly options: { readSecret?: ReadSecret; refreshMs?: number; logger?: Logger; now?: () => number } = {},
  ) {}

  async refresh(): Promise<void> {
    const now = this.options.now ?? Date.now;
    if (this.secretId === undefined || now() - this.readAt < (this.options.refreshMs ?? 60_000)) return;
    this.reading ??= this.read(this.secretId).finally(() => (this.reading = undefined));
    await this.reading;
  }

  verify(token: string): Principal | undefined {
    if (this.records === undefined) {
      throw new TokenFileError(
        this.secretId === undefined
          ? 'no token secret is configured (ORDINAL_TOKENS_SECRET): every request is refused'
          : `the token secret ${this.secretId} could not be read: ${this.lastError?.message ?? 'not read yet'}`,
      );
    }
    const record = findToken(this.records, token);
    return record ? { name: record.name, scopes: record.scopes } : undefined;
  }

  private async read(secretId: string): Promise<void> {
    try {
      const text = await (this.options.readSecret ?? defaultReadSecret)(secretId);
      this.records = parseTokenFile(text, `secret ${secretId}`);
      this.readAt = (this.options.now ?? Date.now)();
      this.lastError = undefined;
    } catch (err) {
      this.lastError = err as Error;
      (this.options.logger ?? defaultLogger).error(
        { err, secret: secretId, keeping: this.records?.length },
        this.records ? 'cannot reread the token secret; keeping the tokens read before' : 'cannot read the token secret; refusing requests',
      );
    }
  }
}

/** The request context Lambda adds to payload 2.0 events of a Function URL (or HTTP API route) with AWS_IAM auth. */
interface IamAuthorizer {
  iam?: { userArn?: string; callerId?: string; accountId?: string };
}

/** The IAM caller Lambda authenticated, with both scopes: IAM decides who may invoke the function at all. */
export class IamCallers implements RefreshingAuth {
  readonly enabled = true;

  verify(): Principal | undefined {
    return undefined;
  }

  platformPrincipal(c: Context<AppEnv>): Principal | undefined {
    const env = c.env as { event?: { requestContext?: { authorizer?: IamAuthorizer } } } | undefined;
    const iam = env?.event?.requestContext?.authorizer?.iam;
    const name = iam?.userArn || iam?.callerId;
    return name ? { name, scopes: ['read', 'write'] } : undefined;
  }
}

export type LambdaHandler = (event: LambdaEvent, context?: LambdaContext) => ReturnType<ReturnType<typeof handle>>;

export interface LambdaHandlerOptions extends Pick<AppOptions, 'bodyLimitBytes' | 'logger'> {
  sets: SetsPort;
  zones?: Route53ZonesPort;
  auth: RefreshingAuth;
}

/**
 * The app of api/app.ts (no logs directory: instance logs are not on this host) as a Lambda handler,
 * refreshing the token records before each request when they are due.
 */
export function createLambdaHandler(options: LambdaHandlerOptions): LambdaHandler {
  const app = createApp(options.sets, { zones: options.zones, auth: options.auth, logger: options.logger, bodyLimitBytes: options.bodyLimitBytes });
  const serve = handle(app);
  return async (event, context) => {
    await options.auth.refresh?.();
    return serve(event, context);
  };
}

/** What lambdaFromEnv needs from outside (tests replace readSecret). */
export interface LambdaDeps {
  readSecret?: ReadSecret;
  logger?: Logger;
}

/**
 * The handler as configured by the environment: Temporal (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * ORDINAL_TASK_QUEUE, and the credentials of ORDINAL_TEMPORAL_SECRET or of the usual TEMPORAL_*
 * variables) and authentication (lambdaSettings).
 */
export async function lambdaFromEnv(env: NodeJS.ProcessEnv = process.env, deps: LambdaDeps = {}): Promise<{ handler: LambdaHandler; close(): Promise<void> }> {
  const log = (deps.logger ?? defaultLogger).child({ component: 'api-lambda' });
  const settings = lambdaSettings(env);
  const read = deps.readSecret ?? defaultReadSecret;
  const temporalEnv = settings.temporalSecret ? temporalEnvFromSecret(await read(settings.temporalSecret), settings.temporalSecret) : {};
  const connectionEnv = { ...env, ...temporalEnv };
  const config = loadConfig(connectionEnv);
  const { service, zones, close } = await createSetsService(config, connectionEnv);
  const auth =
    settings.auth === 'iam' ? new IamCallers() : new SecretTokens(settings.tokensSecret, { readSecret: read, refreshMs: settings.tokensRefreshMs, logger: log });
  if (settings.auth === 'tokens' && settings.tokensSecret === undefined) {
    log.error('ORDINAL_TOKENS_SECRET is not set: every request but /healthz and /openapi.json is refused');
  }
  log.info({ temporal: config.temporal.address, namespace: config.temporal.namespace, auth: settings.auth }, 'API on Lambda ready');
  return { handler: createLambdaHandler({ sets: service, zones, auth, logger: log }), close };
}

let coldStart: Promise<LambdaHandler> | undefined;

/**
 * The Lambda entry point (handler `index.handler` of the bundle). The first invocation of a sandbox
 * builds the app from the environment; a failure there is retried by the next invocation.
 */
export const handler: LambdaHandler = async (event, context) => {
  coldStart ??= lambdaFromEnv().then(
    ({ handler }) => handler,
    (err: unknown) => {
      coldStart = undefined;
      throw err;
    },
  );
  return (await coldStart)(event, context);
};
