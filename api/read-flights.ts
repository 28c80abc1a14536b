// Coalesces concurrent identical reads (GET of one set, the list) into shared calls to Temporal, without
// ever answering a read with data fetched before the read arrived: a read joins a call that has not
// started yet, never one already under way. So a GET sent after a change's 2xx answer still sees that
// change (read-your-writes), while N concurrent GETs of a set cost at most two calls in flight at a time
// instead of N.
export class ReadFlights<T> {
  /** The call under way, by key. */
  private readonly running = new Map<string, Promise<T>>();
  /** The call that starts when the running one ends, shared by every read that arrived meanwhile. */
  private readonly next = new Map<string, Promise<T>>();

  read(key: string, fetch: () => Promise<T>): Promise<T> {
    const queued = this.next.get(key);
    if (queued) return queued;
    const current = this.running.get(key);
    if (!current) return this.start(key, fetch);
    const later = current.then(
      () => this.startQueued(key, fetch),
      () => this.startQueued(key, fetch),
    );
    this.next.set(key, later);
    return later;
  }

  private startQueued(key: string, fetch: () => Promise<T>): Promise<T> {
    this.next.delete(key);
    return this.start(key, fetch);
  }

  private start(key: string, fetch: () => Promise<T>): Promise<T> {
    const call = fetch();
    this.running.set(key, call);
    const done = () => {
      if (this.running.get(key) === call) this.running.delete(key);
    };
    call.then(done, done);
    return call;
  }
}
