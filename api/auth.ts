// Bearer-token authentication of the API (tokens: infra/tokens.ts). When it is enabled, every request
// but GET /healthz and GET /openapi.json needs `Authorization: Bearer <token>`: reads (GET, HEAD,
// OPTIONS) need the read scope, everything else the write scope. A request without a valid token is
// answered 401, one whose token lacks the scope 403, both in the error shape and before any handler
// runs, so nothing changes. The token's name is recorded as `requestedBy` of every change it makes.
//
// Without tokens (loopback only), requests must be addressed to a loopback name (Host: 127.0.0.1,
// localhost, [::1]): a web page that rebinds its own DNS name to 127.0.0.1 (DNS rebinding) would
// otherwise be same-origin with the API in a local browser and could apply a manifest, which runs a
// program; a reverse proxy that forwards another name to an API without tokens is refused the same way.
import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from '../infra/logger.js';
import { isLoopbackHost, type Principal, type Scope } from '../infra/tokens.js';
import { ApiError } from './errors.js';

export type { Principal, Scope } from '../infra/tokens.js';

/** What the API needs from the token store: TokenStore, or an in-memory stand-in in tests. */
export interface ApiAuth {
  /** Whether requests need a token; may throw when the token file cannot be read (then 503). */
  readonly enabled: boolean;
  /** The token's principal, or undefined for an unknown or revoked token; may throw like `enabled`. */
  verify(token: string): Principal | undefined;
  /**
   * The principal that the platform in front of the API has already authenticated, read from the
   * request (the IAM caller of a Lambda Function URL with AWS_IAM auth, see api/lambda.ts); undefined
   * when there is none, and then the bearer token decides.
   */
  platformPrincipal?(c: Context<AppEnv>): Principal | undefined;
}

/** The hono environment of the app: who made the request, when authentication is enabled. */
export interface AppEnv {
  Variables: { principal: Principal | undefined };
}

/** What a change is recorded as when authentication is disabled (loopback without tokens). */
export const UNAUTHENTICATED_REQUESTER = 'api';

/** Routes anyone may read: a load balancer's health check, and the API's own description. */
const OPEN_PATHS = new Set(['/healthz', '/openapi.json']);
/**
 * The dashboard's shell (api/ui-app.ts): its page, scripts and styles hold no data, and the page must load
 * to ask for a token. Its data (and /ui/config.json) needs a token as any other read.
 */
export const DASHBOARD_SHELL_PATH = /^\/ui(?:\/(?:[a-z0-9-]+\.(?:html|js|css|svg))?)?$/;
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const REALM = 'Bearer realm="ordinal"';
/** Longer than any token; a longer header is not hashed at all. */
const MAX_TOKEN_LENGTH = 512;

/** The scope a request needs: read for GET, HEAD and OPTIONS, write for anything else. */
export function scopeFor(method: string): Scope {
  return READ_METHODS.has(method.toUpperCase()) ? 'read' : 'write';
}

export function authMiddleware(auth: ApiAuth | undefined, log: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('principal', undefined);
    const method = c.req.method.toUpperCase();
    if ((OPEN_PATHS.has(c.req.path) || DASHBOARD_SHELL_PATH.test(c.req.path)) && (method === 'GET' || method === 'HEAD')) return next();
    const principal = auth?.platformPrincipal?.(c) ?? (auth ? authenticate(auth, c.req.header('authorization'), log) : undefined);
    if (principal === undefined) {
      // Authentication is off: only requests addressed to this machine by a loopback name.
      const host = requestHost(c.req.url, c.req.header('host'));
      if (!isLoopbackHost(host)) {
        throw new ApiError(
          'Forbidden',
          `this API has no tokens, so it answers only requests addressed to a loopback name (127.0.0.1, localhost, [::1]), not to '${host}': ` +
            'create a token ("ordinal token create NAME") to serve it under other names, e.g. behind a reverse proxy',
        );
      }
      return next();
    }
    const needed = scopeFor(method);
    if (!principal.scopes.includes(needed)) {
      throw new ApiError(
        'Forbidden',
        `the token '${principal.name}' has the ${principal.scopes.join(' and ')} scope; ${method} needs the ${needed} scope ` +
          `(a token with it: "ordinal token create NAME --scope ${needed}" on the API's host)`,
        [],
        { 'WWW-Authenticate': `${REALM}, error="insufficient_scope", scope="${needed}"` },
      );
    }
    c.set('principal', principal);
    return next();
  };
}

/** The host name the request was addressed to: its Host header (as the URL carries it), without the port. */
function requestHost(url: string, header: string | undefined): string {
  const raw = header ?? new URL(url).host;
  try {
    return new URL(`http://${raw}`).hostname;
  } catch {
    return raw;
  }
}

/** The request's principal; undefined when authentication is disabled; 401 without a valid token. */
function authenticate(auth: ApiAuth, header: string | undefined, log: Logger): Principal | undefined {
  try {
    if (!auth.enabled) return undefined;
    const match = header === undefined ? null : /^Bearer +([\x21-\x7e]+) *$/i.exec(header);
    if (!match) {
      const message =
        header === undefined
          ? 'this API needs a bearer token: send "Authorization: Bearer <token>" (the CLI sends ORDINAL_TOKEN; "ordinal token create NAME" makes one on the API\'s host)'
          : 'the Authorization header must be "Bearer <token>"';
      throw new ApiError('Unauthenticated', message, [], { 'WWW-Authenticate': REALM });
    }
    const token = match[1];
    const principal = token.length <= MAX_TOKEN_LENGTH ? auth.verify(token) : undefined;
    if (!principal) {
      throw new ApiError('Unauthenticated', 'the bearer token is not valid: unknown, revoked or mistyped', [], {
        'WWW-Authenticate': `${REALM}, error="invalid_token"`,
      });
    }
    return principal;
  } catch (err) {
    if (err instanceof ApiError) throw err;
    // The token file is unreadable or malformed: fail closed, and say where to look.
    log.error({ err }, 'cannot check API tokens');
    throw new ApiError('Unavailable', 'the API cannot check tokens now: its token file cannot be read (the API server log says why)');
  }
}
