// The DNS provider interface: the embedded server's store by default, Route 53 in production.
import type { DnsTarget, PublishOutcome, RecordSet } from '../../core/dns-records.js';

export interface DnsProvider {
  /**
   * Makes the records owned by `set` at `target` exactly `records` (all inside the target's zone),
   * and reports what it came to. Idempotent. Provider errors (credentials, access) come back in the
   * outcome; only unexpected failures throw.
   */
  apply(set: string, target: DnsTarget, records: RecordSet[], options?: ApplyOptions): Promise<PublishOutcome>;
}

export interface ApplyOptions {
  /**
   * The set leaves `target` (it is deleted, or moved elsewhere): `records` is empty, and a provider that
   * keeps per-set state there (the embedded store's served zones) forgets the set.
   */
  release?: boolean;
}

/** Nothing to report: what a provider that applies at once returns. */
export const PUBLISHED: PublishOutcome = { conflicts: [], propagating: [], failed: [] };
