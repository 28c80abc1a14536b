// One watch client's stream: the messages of the set it watches, encoded as server-sent events
// (api/sse.ts) into a bounded buffer (api/watch-buffer.ts) that its connection drains as fast as the
// client reads. Nothing is read ahead: the stream hands the connection one chunk each time it asks
// (highWaterMark 0), so what a slow client has not taken stays in the buffer, counted. A client whose
// buffer would pass the limit is cut off: the buffer is dropped, an `error` message (reason SlowClient)
// is the last thing queued, and the connection is destroyed if it has not taken it within a grace
// period. A comment line every heartbeat keeps proxies from closing an idle stream.
import type { SetEvent } from '../core/events.js';
import type { SetView } from '../core/status.js';
import { encodeSse, encodeSseComment } from './sse.js';
import { BoundedBuffer, WatchStats } from './watch-buffer.js';

/** What the watch stream sends (docs/api.md, "Watching a set"). */
export type WatchMessage =
  | { event: 'set'; data: SetView }
  | { event: 'event'; id: number; data: SetEvent }
  | { event: 'gone'; data: { oldestSeq: number; message: string } }
  | { event: 'deleted'; data: { name: string } }
  | { event: 'error'; data: { reason: string; message: string } };

/** Where the watch hub delivers a client's messages. */
export interface WatchSink {
  send(message: WatchMessage): void;
  /** No more messages: the stream ends once what is queued is taken. */
  end(): void;
}

export interface WatchStreamOptions {
  /** The most bytes held for one client (default 1 MiB). */
  bufferLimitBytes?: number;
  /** Time between heartbeat comments (default 15 s). */
  heartbeatMs?: number;
  /** How long a client that was cut off has to take its last message before its connection is destroyed (default 5 s). */
  cutOffGraceMs?: number;
  stats?: WatchStats;
}

export const DEFAULT_WATCH_BUFFER_BYTES = 1024 * 1024;
export const DEFAULT_HEARTBEAT_MS = 15_000;
export const DEFAULT_CUT_OFF_GRACE_MS = 5_000;

const encoder = new TextEncoder();

export function encodeWatchMessage(message: WatchMessage): Uint8Array {
  const id = message.event === 'event' ? message.id : undefined;
  return encoder.encode(encodeSse({ event: message.event, id, data: JSON.stringify(message.data) }));
}

export class WatchStream implements WatchSink {
  readonly readable: ReadableStream<Uint8Array>;
  private readonly buffer: BoundedBuffer;
  private readonly stats: WatchStats;
  private readonly heartbeat: NodeJS.Timeout;
  private wake: (() => void) | undefined;
  /** No more messages will be queued. */
  private ending = false;
  private finished = false;
  private closeListeners: Array<() => void> = [];
  private cutOffListeners: Array<() => void> = [];

  constructor(private readonly options: WatchStreamOptions = {}) {
    this.stats = options.stats ?? new WatchStats();
    this.buffer = new BoundedBuffer(options.bufferLimitBytes ?? DEFAULT_WATCH_BUFFER_BYTES, this.stats);
    this.stats.clients += 1;
    this.heartbeat = setInterval(() => this.queue(encoder.encode(encodeSseComment('heartbeat'))), options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
    this.heartbeat.unref();
    this.readable = new ReadableStream<Uint8Array>(
      {
        pull: (controller) => this.pull(controller),
        cancel: () => this.finish(),
      },
      { highWaterMark: 0 },
    );
  }

  /** Called once when the stream is over, however it ended (done, cut off, client gone). */
  onClose(listener: () => void): void {
    this.closeListeners.push(listener);
  }

  /** Called when the client is cut off, after its grace period, if its connection has not taken the last message. */
  onCutOffExpired(listener: () => void): void {
    this.cutOffListeners.push(listener);
  }

  get bufferedBytes(): number {
    return this.buffer.bytes;
  }

  send(message: WatchMessage): void {
    this.queue(encodeWatchMessage(message));
  }

  end(): void {
    this.ending = true;
    this.wakeUp();
  }

  /** Ends the stream now, sending nothing more (the server is closing). */
  close(): void {
    this.buffer.clear();
    this.end();
  }

  private queue(chunk: Uint8Array): void {
    if (this.ending) return;
    if (this.buffer.push(chunk)) {
      this.wakeUp();
      return;
    }
    this.cutOff();
  }

  private cutOff(): void {
    this.stats.slowClientsCutOff += 1;
    this.buffer.clear();
    this.buffer.force(
      encodeWatchMessage({
        event: 'error',
        data: {
          reason: 'SlowClient',
          message: `the client did not read the stream fast enough (more than ${this.buffer.limitBytes} bytes waiting); reconnect with the last event id`,
        },
      }),
    );
    this.ending = true;
    this.notifyClose();
    this.wakeUp();
    const grace = setTimeout(() => {
      for (const listener of this.cutOffListeners) listener();
      this.finish();
    }, this.options.cutOffGraceMs ?? DEFAULT_CUT_OFF_GRACE_MS);
    grace.unref();
  }

  private async pull(controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    for (;;) {
      const chunk = this.buffer.shift();
      if (chunk) {
        controller.enqueue(chunk);
        return;
      }
      if (this.ending || this.finished) {
        if (!this.finished) controller.close(); // a cancelled stream is closed already
        this.finish();
        return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Frees what is held; idempotent. */
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.ending = true;
    clearInterval(this.heartbeat);
    this.buffer.clear();
    this.stats.clients -= 1;
    this.notifyClose();
    this.wakeUp();
  }

  private notifyClose(): void {
    const listeners = this.closeListeners;
    this.closeListeners = [];
    for (const listener of listeners) listener();
  }
}
