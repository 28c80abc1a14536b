// A small client of Ordinal's HTTP API (docs/api.md) over Node's global fetch. Failures come back as
// two kinds of error: ApiError (the API answered with an error) and UnreachableError (no answer).
import { DEFAULTS } from '../infra/config.js';
import type { EventsView, SetEvent } from '../core/events.js';
import type { RolloutPreview } from '../core/rollout-preview.js';
import type { RevisionView, SetView } from '../core/status.js';
import type { ReconcileView, ZoneView } from '../api/zones.js';
import { formatDuration, type ErrorDetail } from './format.js';

/** Where the CLI looks for the API when neither --api-url nor ORDINAL_API_URL says. */
export const DEFAULT_API_URL = `http://${DEFAULTS.apiHost}:${DEFAULTS.apiPort}`;

/** How long one request may take before the API counts as unreachable. */
export const REQUEST_TIMEOUT_MS = 60_000;

/**
 * How long a reconcile request may take: longer than the API's own limit (5 min, after which it answers
 * 503 saying the reconcile goes on), so that answer arrives rather than a client timeout.
 */
export const RECONCILE_TIMEOUT_MS = 6 * 60_000;

/**
 * The API's base URL: ORDINAL_API_URL, else the address `ordinal api` itself listens on when
 * ORDINAL_API_HOST / ORDINAL_API_PORT are set (so both sides agree), else http://127.0.0.1:7080.
 */
export function defaultApiUrl(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ORDINAL_API_URL) return env.ORDINAL_API_URL;
  if (!env.ORDINAL_API_HOST && !env.ORDINAL_API_PORT) return DEFAULT_API_URL;
  let host = env.ORDINAL_API_HOST || DEFAULTS.apiHost;
  // A server bound to every address is reached over loopback.
  if (host === '0.0.0.0') host = '127.0.0.1';
  if (host === '::' || host === '[::]') host = '::1';
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`;
  return `http://${host}:${env.ORDINAL_API_PORT || DEFAULTS.apiPort}`;
}

/** The API answered with an error status; `code`, `message` and `details` come from its error shape. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The API could not be reached (refused, reset, no such host, no answer in time). */
export class UnreachableError extends Error {
  constructor(
    readonly baseUrl: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      reason === 'ECONNREFUSED'
        ? `cannot reach the Ordinal API at ${baseUrl} (is "ordinal up" or "ordinal api" running?)`
        : `cannot reach the Ordinal API at ${baseUrl}: ${reason}`,
      options,
    );
    this.name = 'UnreachableError';
  }
}

export type ManifestContentType = 'application/json' | 'application/yaml';

export interface ApiClientOptions {
  baseUrl: string;
  /** Sent as `Authorization: Bearer <token>` when set. */
  token?: string;
  requestTimeoutMs?: number;
  fetch?: typeof fetch;
}

export interface ApplyOutcome {
  created: boolean;
  set: SetView;
  /** The API answered as a dry run (header Ordinal-Dry-Run: true): nothing was changed. */
  dryRun: boolean;
}

export class ApiClient {
  readonly baseUrl: string;
  private readonly token?: string;
  private readonly requestTimeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: ApiClientOptions) {
    this.baseUrl = normalizeBaseUrl(options.baseUrl);
    this.token = options.token || undefined;
    this.requestTimeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    this.fetchImpl = options.fetch ?? fetch;
  }

  /**
   * PUT /v1/sets/{name} with the manifest text exactly as read (the server reports its own paths); with
   * `dryRun`, ?dryRun=true: the server checks it and answers the set as it would become, changing nothing.
   */
  async apply(name: string, manifest: string, contentType: ManifestContentType, options: { dryRun?: boolean } = {}): Promise<ApplyOutcome> {
    const path = options.dryRun ? `${setPath(name)}?dryRun=true` : setPath(name);
    const { status, body, headers } = await this.request('PUT', path, { body: manifest, contentType });
    return { created: status === 201, set: body as SetView, dryRun: headers.get('ordinal-dry-run') === 'true' };
  }

  /**
   * POST /v1/sets/{name}/preview with the manifest text as read: the set the apply would make and the
   * rollout it would start, step by step; nothing is changed.
   */
  async previewRollout(name: string, manifest: string, contentType: ManifestContentType): Promise<RolloutPreview> {
    const { body } = await this.request('POST', `${setPath(name)}/preview`, { body: manifest, contentType });
    return body as RolloutPreview;
  }

  async list(): Promise<{ items: SetView[] }> {
    const { body } = await this.request('GET', '/v1/sets');
    return body as { items: SetView[] };
  }

  async get(name: string, timeoutMs?: number): Promise<SetView> {
    const { body } = await this.request('GET', setPath(name), { timeoutMs });
    return body as SetView;
  }

  /** The set, or undefined when the API answers 404. */
  async find(name: string, timeoutMs?: number): Promise<SetView | undefined> {
    try {
      return await this.get(name, timeoutMs);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  /**
   * PATCH /v1/sets/{name} with a JSON merge patch (RFC 7396). With `ifMatch` (a generation) the API
   * applies it only if the set is still at that generation, else answers 409.
   */
  async patch(name: string, patch: unknown, options: { ifMatch?: number } = {}): Promise<SetView> {
    const { body } = await this.request('PATCH', setPath(name), {
      body: JSON.stringify(patch),
      contentType: 'application/merge-patch+json',
      ifMatch: options.ifMatch,
    });
    return body as SetView;
  }

  /** GET /v1/sets/{name}/revisions: newest first. */
  async revisions(name: string): Promise<{ items: RevisionView[] }> {
    const { body } = await this.request('GET', `${setPath(name)}/revisions`);
    return body as { items: RevisionView[] };
  }

  /** GET /v1/sets/{name}/events[?since=N]: the set's events after seq N (every one kept without it), oldest first. */
  async events(name: string, since?: number): Promise<EventsView> {
    const { body } = await this.request('GET', `${setPath(name)}/events${since === undefined ? '' : `?since=${since}`}`);
    return body as EventsView;
  }

  /** GET /v1/events: every set's events, each with its set, newest last (the newest 500; truncated: older left out). */
  async allEvents(): Promise<{ items: Array<SetEvent & { set: string }>; truncated?: boolean }> {
    const { body } = await this.request('GET', '/v1/events');
    return body as { items: Array<SetEvent & { set: string }>; truncated?: boolean };
  }

  /** PUT (cordon) or DELETE (uncordon) /v1/sets/{name}/instances/{ordinal}/cordon. */
  async cordon(name: string, ordinal: number, cordoned: boolean): Promise<SetView> {
    const { body } = await this.request(cordoned ? 'PUT' : 'DELETE', `${setPath(name)}/instances/${ordinal}/cordon`);
    return body as SetView;
  }

  async delete(name: string): Promise<unknown> {
    const { body } = await this.request('DELETE', setPath(name));
    return body;
  }

  async deleteInstance(name: string, ordinal: number): Promise<unknown> {
    const { body } = await this.request('DELETE', `${setPath(name)}/instances/${ordinal}`);
    return body;
  }

  /** GET /v1/dns/route53/zones: the hosted zones with a publisher, by zone name. */
  async zones(): Promise<{ items: ZoneView[] }> {
    const { body } = await this.request('GET', '/v1/dns/route53/zones');
    return body as { items: ZoneView[] };
  }

  /**
   * POST /v1/dns/route53/zones/{hostedZoneId}/reconcile: drift repair now, or only its plan. A real one
   * waits until Route 53 has applied the changes, so it may take longer than other requests.
   */
  async reconcile(hostedZoneId: string, dryRun: boolean, timeoutMs = RECONCILE_TIMEOUT_MS): Promise<ReconcileView> {
    const { body } = await this.request('POST', `/v1/dns/route53/zones/${encodeURIComponent(hostedZoneId)}/reconcile`, {
      body: JSON.stringify({ dryRun }),
      contentType: 'application/json',
      timeoutMs,
    });
    return body as ReconcileView;
  }

  /** GET /v1/sets/{name}/instances/{ordinal}/logs?tail=N: the end of the instance's log, as text. */
  async logs(name: string, ordinal: number, tail: number): Promise<string> {
    const { text } = await this.requestText('GET', `${setPath(name)}/instances/${ordinal}/logs?tail=${tail}`, { accept: 'text/plain, application/json' });
    return text;
  }

  /**
   * GET /v1/sets/{name}/watch: the open stream of server-sent events, its body read by the caller
   * (cli/set-watch.ts). `since`: the resume token, sent as Last-Event-ID. An error answer (404, 501 ...)
   * is thrown as an ApiError, no answer within the request timeout as an UnreachableError.
   */
  async watch(name: string, options: { since?: string; signal?: AbortSignal } = {}): Promise<ReadableStream<Uint8Array>> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (options.since !== undefined) headers['last-event-id'] = options.since;
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    // The request timeout bounds the wait for the answer's head only; the stream runs until it ends
    // or `signal` aborts it.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new DOMException('timed out', 'TimeoutError')), this.requestTimeoutMs);
    if (options.signal?.aborted) abort.abort(options.signal.reason);
    options.signal?.addEventListener('abort', () => abort.abort(options.signal!.reason), { once: true });
    let response: Response;
    try {
      response = await this.fetchImpl(`${this.baseUrl}${setPath(name)}/watch`, { headers, signal: abort.signal });
    } catch (err) {
      throw new UnreachableError(this.baseUrl, networkReason(abort.signal.reason ?? err, this.requestTimeoutMs), { cause: err });
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok || !response.body) {
      const text = await response.text().catch(() => '');
      throw toApiError(response, parseJson(text), text);
    }
    return response.body;
  }

  async request(
    method: string,
    path: string,
    options: { body?: string; contentType?: string; timeoutMs?: number; ifMatch?: number } = {},
  ): Promise<{ status: number; body: unknown; headers: Headers }> {
    const { status, text, headers } = await this.requestText(method, path, options);
    return { status, body: parseJson(text), headers };
  }

  /** A request whose successful answer is returned as text; an error answer is thrown as an ApiError. */
  private async requestText(
    method: string,
    path: string,
    options: { body?: string; contentType?: string; timeoutMs?: number; ifMatch?: number; accept?: string } = {},
  ): Promise<{ status: number; text: string; headers: Headers }> {
    const headers: Record<string, string> = { accept: options.accept ?? 'application/json' };
    if (options.contentType) headers['content-type'] = options.contentType;
    if (options.ifMatch !== undefined) headers['if-match'] = `"${options.ifMatch}"`;
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
    let response: Response;
    let text: string;
    try {
      response = await this.fetchImpl(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: options.body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (err) {
      throw new UnreachableError(this.baseUrl, networkReason(err, timeoutMs), { cause: err });
    }
    if (response.ok) return { status: response.status, text, headers: response.headers };
    throw toApiError(response, parseJson(text), text);
  }
}

function setPath(name: string): string {
  return `/v1/sets/${encodeURIComponent(name)}`;
}

function normalizeBaseUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`invalid API URL '${raw}': use e.g. ${DEFAULT_API_URL}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`invalid API URL '${raw}': it must start with http:// or https://`);
  }
  return url.href.replace(/\/+$/, '');
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function toApiError(response: Response, body: unknown, text: string): ApiError {
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (error && typeof error.message === 'string') {
    const details = Array.isArray(error.details)
      ? error.details
          .filter((d): d is { path?: unknown; message: string } => typeof d?.message === 'string')
          .map((d) => ({ path: typeof d.path === 'string' ? d.path : '', message: d.message }))
      : [];
    return new ApiError(response.status, typeof error.code === 'string' ? error.code : String(response.status), error.message, details);
  }
  // Not the API's error shape (a proxy, or something else on that port): say what came back.
  const excerpt = text.trim().replace(/\s+/g, ' ').slice(0, 200);
  const statusText = response.statusText ? ` ${response.statusText}` : '';
  return new ApiError(
    response.status,
    String(response.status),
    `the API answered ${response.status}${statusText}${excerpt ? `: ${excerpt}` : ''}`,
  );
}

/** A short reason for a failed fetch: the system error code when there is one. */
function networkReason(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return `no answer within ${formatDuration(timeoutMs)}`;
  }
  let current: unknown = err;
  for (let depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return code;
    // AggregateError (several addresses tried): take the first system error.
    const inner = (current as { errors?: unknown[] }).errors;
    current = Array.isArray(inner) && inner.length > 0 ? inner[0] : (current as { cause?: unknown }).cause;
  }
  return err instanceof Error ? (err.cause instanceof Error ? err.cause.message : err.message) : String(err);
}
