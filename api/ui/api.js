// The API, as any client calls it: same origin, the bearer token (if any) from this tab's sessionStorage
// in the Authorization header (never in a URL), errors in the API's shape. A 401 or 403 is announced to
// the page (the 'ordinal:auth' event), which asks for a token and shows the API's own message.
const TOKEN_KEY = 'ordinal.token';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function storeToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** The request headers every call sends. */
export function authHeaders(extra = {}) {
  const token = storedToken();
  return { ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra };
}

/** An ApiError from a response that is not ok, with the API's message when it sent one. */
export async function errorFrom(res) {
  let body;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const error = new ApiError(res.status, body?.error?.code ?? String(res.status), body?.error?.message ?? `${res.status} ${res.statusText}`);
  if (res.status === 401 || res.status === 403) window.dispatchEvent(new CustomEvent('ordinal:auth', { detail: error }));
  return error;
}

/**
 * One call: request('GET', '/v1/sets'). With `ifMatch` (a generation) a change is refused (409) when the
 * set changed since it was read. Answers the body and the generation of the ETag, if any.
 */
export async function request(method, path, { body, ifMatch, contentType = 'application/json', signal } = {}) {
  const headers = authHeaders({ accept: 'application/json' });
  if (ifMatch !== undefined) headers['if-match'] = `"${ifMatch}"`;
  if (body !== undefined) headers['content-type'] = contentType;
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    cache: 'no-store',
    credentials: 'omit',
  });
  if (!res.ok) throw await errorFrom(res);
  const text = await res.text();
  return { data: text ? JSON.parse(text) : undefined, etag: res.headers.get('etag') };
}

export const setPath = (name) => `/v1/sets/${encodeURIComponent(name)}`;
