// Waits for the outcomes of recorded submits (see the `outcomes` Query of workflows/route53-zone.ts):
// one polling loop per hosted zone in this process asks for every waiting set at once, quickly at
// first and more slowly while nothing changes, so hundreds of waiting sets cost two Queries a second.
import { WorkflowNotFoundError } from '@temporalio/client';
import type { PublishOutcome } from '../../../core/dns-records.js';
import type { OutcomesAnswer, SubmitReceipt } from './contract.js';

export type AskOutcomes = (hostedZoneId: string, asked: Array<{ set: string; serial: number }>) => Promise<OutcomesAnswer>;

interface Waiter {
  set: string;
  receipt: SubmitReceipt;
  resolve: (outcome: PublishOutcome | undefined) => void;
  reject: (err: unknown) => void;
}

export interface ZoneOutcomesOptions {
  /** Pause before the first Query after a new waiter, growing by half up to maxMs (defaults 100 ms, 500 ms). */
  initialMs?: number;
  maxMs?: number;
  /** Consecutive failed Queries before the waiters fail (and their activities are retried) (default 20). */
  maxFailures?: number;
}

export class ZoneOutcomes {
  private readonly zones = new Map<string, { waiters: Waiter[]; fresh: boolean }>();
  private readonly pause: { initialMs: number; maxMs: number; maxFailures: number };

  constructor(
    private readonly ask: AskOutcomes,
    options: ZoneOutcomesOptions = {},
  ) {
    this.pause = { initialMs: 100, maxMs: 500, maxFailures: 20, ...options };
  }

  /**
   * The set's outcome once a flush covered the submit of `receipt`; undefined when the publisher is
   * another chain of runs than the one that recorded it (it ended and started again): submit again.
   */
  wait(hostedZoneId: string, set: string, receipt: SubmitReceipt): Promise<PublishOutcome | undefined> {
    return new Promise((resolve, reject) => {
      let zone = this.zones.get(hostedZoneId);
      const waiter = { set, receipt, resolve, reject };
      if (zone) {
        zone.waiters.push(waiter);
        zone.fresh = true;
        return;
      }
      zone = { waiters: [waiter], fresh: true };
      this.zones.set(hostedZoneId, zone);
      void this.poll(hostedZoneId, zone);
    });
  }

  private async poll(hostedZoneId: string, zone: { waiters: Waiter[]; fresh: boolean }): Promise<void> {
    let pause = this.pause.initialMs;
    let failures = 0;
    try {
      while (zone.waiters.length > 0) {
        await sleep(pause);
        zone.fresh = false;
        const asked = [...zone.waiters];
        let answer: OutcomesAnswer;
        try {
          answer = await this.ask(hostedZoneId, asked.map((w) => ({ set: w.set, serial: w.receipt.serial })));
          failures = 0;
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) {
            // No publisher at all any more: whatever it recorded is gone with it; submit again.
            settle(zone, asked, () => undefined);
            continue;
          }
          if (++failures >= this.pause.maxFailures) {
            for (const w of asked) w.reject(err);
            zone.waiters = zone.waiters.filter((w) => !asked.includes(w));
          }
          pause = Math.min(pause * 1.5, this.pause.maxMs);
          continue;
        }
        const done = settle(zone, asked, (w, i) => (w.receipt.chain !== answer.chain ? undefined : (answer.outcomes[i] ?? null)));
        pause = done > 0 || zone.fresh ? this.pause.initialMs : Math.min(pause * 1.5, this.pause.maxMs);
      }
    } finally {
      this.zones.delete(hostedZoneId);
    }
  }
}

/** Resolves the asked waiters `outcome` has an answer for (null: not yet); returns how many. */
function settle(zone: { waiters: Waiter[] }, asked: Waiter[], outcome: (w: Waiter, i: number) => PublishOutcome | undefined | null): number {
  const resolved = new Set<Waiter>();
  asked.forEach((w, i) => {
    const answer = outcome(w, i);
    if (answer === null) return;
    w.resolve(answer);
    resolved.add(w);
  });
  zone.waiters = zone.waiters.filter((w) => !resolved.has(w));
  return resolved.size;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
