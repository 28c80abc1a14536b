// What handlers read from a request besides its validated parameters: the media type of its body and
// who sent it.
import type { Context } from 'hono';
import { UNAUTHENTICATED_REQUESTER, type AppEnv } from './auth.js';

/** The Content-Type without its parameters, lower case; '' when there is none. */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

/** Who asked for a change: the token's name, or 'api' when authentication is disabled. */
export function requestedBy(c: Context<AppEnv>): string {
  return c.get('principal')?.name ?? UNAUTHENTICATED_REQUESTER;
}
