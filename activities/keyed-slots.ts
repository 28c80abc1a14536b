// At most N concurrent operations per key, the others waiting in arrival order. The drivers use one
// slot per identity (set/ordinal), so operations on one instance never interleave within a worker.
// The Route 53 zone workflow client uses 8 per hosted zone: each set's submit is a Workflow Update (open
// until the publisher has recorded it; with an older publisher, until its flush is INSYNC), and Temporal
// refuses more than 10 open Updates per workflow (history.maxInFlightUpdates); refused submits would be
// retried with back-off, so without a cap a burst of sets (200 at once) spends its time being refused.
export class KeyedSlots {
  private readonly keys = new Map<string, { active: number; waiting: Array<() => void> }>();

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  }

  /** Runs `fn` once one of `key`'s slots is free; the slot is released when it settles. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let entry = this.keys.get(key);
    if (!entry) {
      entry = { active: 0, waiting: [] };
      this.keys.set(key, entry);
    }
    if (entry.active < this.limit) entry.active++;
    else await new Promise<void>((resolve) => entry.waiting.push(resolve)); // the releaser hands its slot over
    try {
      return await fn();
    } finally {
      const next = entry.waiting.shift();
      if (next) next();
      else if (--entry.active === 0) this.keys.delete(key);
    }
  }

  /** Operations running and waiting for `key` (for tests and diagnostics). */
  load(key: string): { active: number; waiting: number } {
    const entry = this.keys.get(key);
    return { active: entry?.active ?? 0, waiting: entry?.waiting.length ?? 0 };
  }
}
