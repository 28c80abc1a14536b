// A watch stream client for tests: opens GET /v1/sets/{name}/watch and collects its messages as they
// arrive (parsed by the CLI's SSE parser), so a test can wait for the message it expects.
import { SseParser, type SseEvent } from '../../cli/sse-parser.js';
import { waitFor } from './services.js';

export interface WatchClient {
  status: number;
  /** Every message so far, in order. */
  messages: SseEvent[];
  /** Heartbeat comments seen. */
  heartbeats: number;
  /** Resolves when the server ends the stream (or it fails). */
  ended: Promise<void>;
  /** Waits until a message satisfies `predicate`; returns it. */
  next(predicate: (message: SseEvent) => boolean, options?: { timeoutMs?: number; message?: string }): Promise<SseEvent>;
  close(): void;
}

export async function openWatch(apiUrl: string, name: string, options: { since?: number; lastEventId?: string; headers?: Record<string, string> } = {}): Promise<WatchClient> {
  const abort = new AbortController();
  const query = options.since === undefined ? '' : `?since=${options.since}`;
  const headers: Record<string, string> = { accept: 'text/event-stream', ...options.headers };
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
  const response = await fetch(`${apiUrl}/v1/sets/${name}/watch${query}`, { headers, signal: abort.signal });
  const client: WatchClient = {
    status: response.status,
    messages: [],
    heartbeats: 0,
    ended: Promise.resolve(),
    next: (predicate, waitOptions = {}) => {
      let seen = 0;
      return waitFor(
        async () => {
          for (; seen < client.messages.length; seen++) if (predicate(client.messages[seen]!)) return client.messages[seen];
          return undefined;
        },
        { timeoutMs: waitOptions.timeoutMs ?? 60_000, intervalMs: 20, message: waitOptions.message ?? 'a watch message' },
      );
    },
    close: () => abort.abort(),
  };
  if (!response.ok || !response.body) {
    client.messages.push({ event: 'http', data: await response.text() });
    return client;
  }
  const parser = new SseParser();
  const decoder = new TextDecoder();
  const body = response.body;
  client.ended = (async () => {
    try {
      for await (const chunk of body) {
        for (const item of parser.feed(decoder.decode(chunk, { stream: true }))) {
          if (item.kind === 'message') client.messages.push(item.message);
          else client.heartbeats += 1;
        }
      }
    } catch {
      // aborted by close(), or the connection dropped
    }
  })();
  return client;
}

/** The `set` messages' views. */
export function setViews<T = any>(messages: readonly SseEvent[]): T[] {
  return messages.filter((m) => m.event === 'set').map((m) => JSON.parse(m.data) as T);
}
