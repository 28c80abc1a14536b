// Following a set over the API's watch stream (GET /v1/sets/NAME/watch): each change of the set and
// each new event is handed to a step as it happens, with a tick between messages so a step can act on
// time passing (a stability window). A stream that drops is reconnected once with the resume token
// (the last event id), so nothing still kept is missed. When there is no stream to use (an API without
// the route, the API on Lambda answering 501, a drop that cannot be resumed), the caller polls instead
// (cli/set-polling.ts): watchSet says so rather than failing.
import type { SetEvent } from '../core/events.js';
import type { SetView } from '../core/status.js';
import type { ApiClient } from './api-client.js';
import { SseParser, type SseEvent } from './sse-parser.js';

export type WatchItem =
  | { kind: 'set'; view: SetView }
  | { kind: 'event'; event: SetEvent }
  /** Events after the resume token were lost (no longer kept); what follows is complete again. */
  | { kind: 'gone'; message: string }
  | { kind: 'deleted' }
  /** No message for a tick: time passed. */
  | { kind: 'tick' };

export type WatchOutcome =
  /** The step said it is done. */
  | 'done'
  /** The deadline passed first. */
  | 'timeout'
  /** There is no stream to follow (see above): poll instead. */
  | 'unavailable';

export interface WatchOptions {
  /** Absolute time (ms) after which watchSet returns 'timeout'; Infinity for none. */
  deadline: number;
  /** Longest time between two calls of the step (a tick when no message came). */
  tickMs: number;
  /** Told when the stream dropped and is being resumed, or cannot be (then polling takes over). */
  onDrop?: (resumed: boolean, reason: string) => void;
  /**
   * A stream silent for this long (not even a heartbeat, which the API sends every 15 s) counts as
   * dropped: a connection can die without a word (default 45 s).
   */
  idleMs?: number;
  /** The resume token to start from ('0': every event the set keeps); without it, only events from now on. */
  since?: string;
}

/**
 * Calls `step` with every item of the set's watch stream until it returns true ('done'), the deadline
 * passes ('timeout'), or the stream is unavailable ('unavailable'; the set being deleted ends the stream
 * with a 'deleted' item, so a step that does not stop there gets 'unavailable' next, and polls).
 * A step that throws ends the watch with its error.
 */
export async function watchSet(client: ApiClient, name: string, options: WatchOptions, step: (item: WatchItem) => boolean): Promise<WatchOutcome> {
  let since = options.since;
  let resuming = false;
  for (;;) {
    const abort = new AbortController();
    let body: ReadableStream<Uint8Array>;
    try {
      body = await client.watch(name, { since, signal: abort.signal });
    } catch (err) {
      if (resuming) options.onDrop?.(false, (err as Error).message);
      return 'unavailable';
    }
    const reader = body.getReader();
    const parser = new SseParser();
    const decoder = new TextDecoder();
    let pending: Promise<ReadableStreamReadResult<Uint8Array>> | undefined;
    let ended: string | undefined;
    let heardAt = Date.now();
    const idleMs = options.idleMs ?? 45_000;
    try {
      for (;;) {
        const left = options.deadline - Date.now();
        if (left <= 0) return 'timeout';
        pending ??= reader.read();
        let timer: NodeJS.Timeout | undefined;
        const tick = new Promise<'tick'>((resolve) => (timer = setTimeout(() => resolve('tick'), Math.min(options.tickMs, left, idleMs))));
        let next: ReadableStreamReadResult<Uint8Array> | 'tick';
        try {
          next = await Promise.race([pending, tick]);
        } catch (err) {
          ended = (err as Error).message;
          break;
        } finally {
          clearTimeout(timer);
        }
        if (next === 'tick') {
          if (Date.now() - heardAt >= idleMs) {
            ended = `nothing heard for ${Math.round(idleMs / 1000)} s`;
            break;
          }
          if (step({ kind: 'tick' })) return 'done';
          continue;
        }
        pending = undefined;
        heardAt = Date.now();
        if (next.done) {
          ended = 'the API ended the stream';
          break;
        }
        for (const item of parser.feed(decoder.decode(next.value, { stream: true }))) {
          if (item.kind !== 'message') continue;
          if (item.message.id !== undefined) since = item.message.id;
          const watchItem = toItem(item.message);
          if (watchItem === 'error') {
            ended = errorMessage(item.message);
            continue;
          }
          if (watchItem && step(watchItem)) return 'done';
          resuming = false;
        }
        if (ended) break;
      }
    } finally {
      abort.abort();
      reader.cancel().catch(() => undefined);
    }
    // Dropped: resume once from the last event id; a stream that drops again right away is not relied on.
    if (resuming) {
      options.onDrop?.(false, ended ?? 'the stream ended');
      return 'unavailable';
    }
    options.onDrop?.(true, ended ?? 'the stream ended');
    resuming = true;
  }
}

function toItem(message: SseEvent): WatchItem | 'error' | undefined {
  switch (message.event) {
    case 'set':
      return { kind: 'set', view: JSON.parse(message.data) as SetView };
    case 'event':
      return { kind: 'event', event: JSON.parse(message.data) as SetEvent };
    case 'gone':
      return { kind: 'gone', message: (JSON.parse(message.data) as { message?: string }).message ?? 'some events were lost' };
    case 'deleted':
      return { kind: 'deleted' };
    case 'error':
      return 'error';
    default:
      return undefined; // a message of a newer API: ignored
  }
}

function errorMessage(message: SseEvent): string {
  try {
    const { reason, message: text } = JSON.parse(message.data) as { reason?: string; message?: string };
    return `${reason ?? 'error'}: ${text ?? ''}`;
  } catch {
    return message.data;
  }
}
