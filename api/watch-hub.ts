// The watch streams of the API process: one follower per watched set (api/set-follower.ts), shared by
// every client watching it and stopped when the last one leaves. A client that connects gets the set
// as the follower has it, then the events after its resume token (the getEvents Query), then every
// change the follower sees, each event once and in seq order.
import type { Client } from '@temporalio/client';
import type { EventsView } from '../core/events.js';
import { logger as defaultLogger, type Logger } from '../infra/logger.js';
import { SetError } from './sets.js';
import type { SetsPort } from './sets-port.js';
import { isNoAnswer } from './temporal-calls.js';
import { SetFollower, type FollowedSet, type FollowerUpdate } from './set-follower.js';
import { WatchStats } from './watch-buffer.js';
import type { WatchSink, WatchStreamOptions } from './watch-stream.js';

/** What the HTTP app needs to serve watch streams (tests may hand it a fake). */
export interface SetWatchPort {
  /** Stream options for each client (buffer limit, heartbeat). */
  readonly streamOptions: WatchStreamOptions;
  /**
   * Starts delivering the set's messages to `sink`: first the set, then the events after `since`
   * (none of the past without it), then every change. Undefined when the set does not exist; else the
   * function that stops the delivery.
   */
  subscribe(name: string, since: number | undefined, sink: WatchSink): Promise<(() => void) | undefined>;
  /** Ends every stream and stops every follower. */
  close(): void;
}

export interface SetWatchHubOptions extends WatchStreamOptions {
  logger?: Logger;
}

export class SetWatchHub implements SetWatchPort {
  readonly streamOptions: WatchStreamOptions;
  readonly stats: WatchStats;
  private readonly followers = new Map<string, { follower: SetFollower; sessions: Set<WatchSession> }>();
  private readonly log: Logger;

  /** `sets`: where the events after a resume token are read (the getEvents Query, SetsService.events). */
  constructor(
    private readonly client: Client,
    private readonly sets: Pick<SetsPort, 'events'>,
    options: SetWatchHubOptions = {},
  ) {
    this.stats = options.stats ?? new WatchStats();
    this.streamOptions = { ...options, stats: this.stats };
    this.log = (options.logger ?? defaultLogger).child({ component: 'watch' });
  }

  /** Sets followed now (one follower each, however many clients). */
  get followedSets(): number {
    return this.followers.size;
  }

  /** Whether a follower follows this set now. */
  follows(name: string): boolean {
    return this.followers.has(name);
  }

  async subscribe(name: string, since: number | undefined, sink: WatchSink): Promise<(() => void) | undefined> {
    let entry = this.followers.get(name);
    if (!entry || entry.follower.finished) {
      entry = { follower: new SetFollower(this.client, name, { logger: this.log }), sessions: new Set() };
      this.followers.set(name, entry);
    }
    const { follower, sessions } = entry;
    const session = new WatchSession(name, sink, since);
    sessions.add(session);
    const stopListening = follower.listen((update) => session.update(update));
    const unsubscribe = () => {
      stopListening();
      sessions.delete(session);
      if (sessions.size === 0 && this.followers.get(name)?.follower === follower) {
        follower.stop();
        this.followers.delete(name);
      }
    };
    let state: FollowedSet | undefined;
    try {
      await follower.started;
      // What the follower has now (a follower shared with earlier clients has moved on since it started).
      state = follower.state;
    } catch (err) {
      unsubscribe();
      if (isNoAnswer(err)) throw new SetError('Unavailable', 'Temporal did not answer in time; is it running?');
      throw err;
    }
    if (!state) {
      unsubscribe();
      return undefined;
    }
    await session.begin(state, (since) => this.events(name, since));
    return unsubscribe;
  }

  close(): void {
    for (const { follower, sessions } of this.followers.values()) {
      follower.stop();
      for (const session of sessions) session.sink.end();
    }
    this.followers.clear();
  }

  /** The set's events after `since`; undefined when they cannot be read (the stream goes on without them). */
  private async events(name: string, since: number | undefined): Promise<EventsView | undefined> {
    try {
      return await this.sets.events(name, since);
    } catch (err) {
      this.log.warn({ err, set: name }, 'cannot read the events of a watched set');
      return undefined;
    }
  }
}

/** One client's view of a follower: what it was sent, so each event goes once and in order. */
export class WatchSession {
  /** Updates that arrived while the first messages were being sent; delivered after them. */
  private pending: FollowerUpdate[] | undefined = [];
  /** The last event seq sent (or known to the client). */
  private lastSeq = 0;
  private ended = false;

  constructor(
    readonly name: string,
    readonly sink: WatchSink,
    private readonly since: number | undefined,
  ) {}

  update(update: FollowerUpdate): void {
    if (this.pending) this.pending.push(update);
    else this.deliver(update);
  }

  async begin(state: FollowedSet, events: (since: number | undefined) => Promise<EventsView | undefined>): Promise<void> {
    this.sink.send({ event: 'set', data: state.view });
    this.lastSeq = state.latestSeq ?? 0;
    if (this.since !== undefined) {
      let view = await events(this.since);
      if (view && this.since > view.latestSeq) {
        // A token newer than the set's latest event is from another set of that name (deleted and
        // created again): everything kept is sent.
        const all = await events(undefined);
        if (all) {
          this.gone(all.oldestSeq ?? all.latestSeq + 1, `the resume token ${this.since} is newer than the set's latest event ${all.latestSeq} (was the set deleted and created again?); sending every event kept`);
        }
        view = all;
      } else if (view && view.oldestSeq !== undefined && this.since < view.oldestSeq - 1) {
        this.gone(view.oldestSeq, `the events after ${this.since} up to ${view.oldestSeq - 1} are no longer kept (a set keeps its latest ones); the oldest kept is ${view.oldestSeq}`);
      }
      for (const event of view?.items ?? []) this.sink.send({ event: 'event', id: event.seq, data: event });
      this.lastSeq = Math.max(this.lastSeq, view?.latestSeq ?? 0);
    }
    const pending = this.pending ?? [];
    this.pending = undefined;
    for (const update of pending) this.deliver(update);
  }

  private gone(oldestSeq: number, message: string): void {
    this.sink.send({ event: 'gone', data: { oldestSeq, message } });
  }

  private deliver(update: FollowerUpdate): void {
    if (this.ended) return;
    switch (update.kind) {
      case 'set':
        this.sink.send({ event: 'set', data: update.view });
        return;
      case 'event':
        if (update.event.seq <= this.lastSeq) return;
        this.lastSeq = update.event.seq;
        this.sink.send({ event: 'event', id: update.event.seq, data: update.event });
        return;
      case 'deleted':
        this.ended = true;
        this.sink.send({ event: 'deleted', data: { name: this.name } });
        this.sink.end();
        return;
      case 'error':
        this.ended = true;
        this.sink.send({ event: 'error', data: { reason: update.reason, message: update.message } });
        this.sink.end();
        return;
    }
  }
}
