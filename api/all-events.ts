// Every set's events in one list (GET /v1/events): the sets as listed, each asked for its events, a few at
// a time so a thousand sets do not make a thousand concurrent Queries; merged newest last.
import type { SetEvent } from '../core/events.js';
import type { SetsPort } from './sets-port.js';

/** An event with the set it happened to. */
export interface SetEventItem extends SetEvent {
  set: string;
}

/** How many sets are asked for their events at a time. */
export const EVENTS_FAN_OUT = 8;

/**
 * Every set's events whose lastTimestamp is after `after` (ms; all when undefined), oldest first by
 * lastTimestamp (ties by set, then seq). A set deleted between the listing and its read is left out.
 */
export async function allEvents(sets: SetsPort, after?: number): Promise<SetEventItem[]> {
  const names = (await sets.list()).map((view) => view.metadata.name);
  const lists = await mapBounded(names, EVENTS_FAN_OUT, async (set) => {
    const view = await sets.events(set);
    return (view?.items ?? []).map((event): SetEventItem => ({ set, ...event }));
  });
  return lists
    .flat()
    .filter((event) => after === undefined || Date.parse(event.lastTimestamp) > after)
    .sort((a, b) => Date.parse(a.lastTimestamp) - Date.parse(b.lastTimestamp) || a.set.localeCompare(b.set) || a.seq - b.seq);
}

/** `fn` over every item, at most `limit` at once, results in the items' order; the first failure fails all. */
async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
