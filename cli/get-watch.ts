// `ordinal get -w`: after the set's line, one more line each time it changes, as `kubectl get -w`;
// with -o json or yaml, the whole object each time. A set is followed over the watch stream, so every
// change shows; without a stream (an older API, the API on Lambda) it is polled. Without a name, the
// list is polled (there is no stream of every set) and a line printed for each set that changed. It
// runs until interrupted, or until the watched set is deleted.
import { setTimeout as sleep } from 'node:timers/promises';
import type { SetView } from '../core/status.js';
import { ApiError, type ApiClient } from './api-client.js';
import { CliError, out } from './command-kit.js';
import { formatObject, formatSetList, type OutputFormat } from './format.js';
import { pollSet } from './set-polling.js';
import { watchSet } from './set-watch.js';

/** How often `get -w` polls when there is no stream. */
export const GET_WATCH_INTERVAL_MS = 2_000;

/** Prints a set's changes: its line (or object) when it differs from the one printed before. */
export class SetChangePrinter {
  private header = false;
  private readonly last = new Map<string, string>();

  constructor(
    private readonly format: OutputFormat,
    private readonly print: (text: string) => void = (text) => out(text, ''),
  ) {}

  show(view: SetView, now: number = Date.now()): void {
    const name = view.metadata.name;
    if (this.format === 'json' || this.format === 'yaml') {
      const text = formatObject(view, this.format);
      if (this.last.get(name) !== text) this.print(text);
      this.last.set(name, text);
      return;
    }
    const [headerLine, row] = formatSetList([view], now, this.format === 'wide').trimEnd().split('\n');
    // A line for a change of the line, not of the clock: AGE (and its padding) is left out of the comparison.
    const key = formatSetList([{ ...view, metadata: { ...view.metadata, creationTimestamp: null } }], now, this.format === 'wide');
    if (this.last.get(name) === key) return;
    this.last.set(name, key);
    if (!this.header) this.print(`${headerLine}\n`);
    this.header = true;
    this.print(`${row}\n`);
  }
}

export async function getWatch(client: ApiClient, name: string | undefined, format: OutputFormat): Promise<void> {
  const printer = new SetChangePrinter(format);
  if (name === undefined) {
    for (;;) {
      const { items } = await client.list();
      for (const view of items ?? []) printer.show(view);
      await sleep(GET_WATCH_INTERVAL_MS);
    }
  }
  let seen = false;
  const outcome = await watchSet(
    client,
    name,
    { deadline: Infinity, tickMs: 60_000, onDrop: (resumed, reason) => process.stderr.write(`warning: the watch stream dropped (${reason}); ${resumed ? 'resuming' : 'polling instead'}\n`) },
    (item) => {
      if (item.kind === 'set') {
        seen = true;
        printer.show(item.view);
      } else if (item.kind === 'deleted') {
        return true;
      }
      return false;
    },
  );
  if (outcome === 'done') {
    process.stderr.write(`set ${name} was deleted\n`);
    return;
  }
  // No stream: poll until the set is gone.
  await pollSet(
    client,
    name,
    0,
    GET_WATCH_INTERVAL_MS,
    ({ view }, first) => {
      if (view === undefined) {
        if (first && !seen) throw new ApiError(404, 'NotFound', `set '${name}' does not exist`);
        process.stderr.write(`set ${name} was deleted\n`);
        return true;
      }
      seen = true;
      printer.show(view);
      return false;
    },
    () => {
      throw new CliError('unreachable: no timeout');
    },
  );
}
