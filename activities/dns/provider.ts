// The DNS provider interface: the embedded server's store by default, Route 53 in production.
import type { DnsTarget, PublishOutcome, RecordSet } from '../../core/dns-records.js';

export interface DnsProvider {
  /**
   * Makes the records owned by `set` at `target` exactly `records` (all inside the target's zone),
   * and reports what it came to. Idempotent. Provider errors (credentials, access) come back in the
   * outcome; only unexpected failures throw.
   */
  apply(set: string, target: DnsTarget, records: RecordSet[]): Promise<PublishOutcome>;
}

/** Nothing to report: what a provider that applies at once returns. */
export const PUBLISHED: PublishOutcome = { conflicts: [], propagating: [], failed: [] };
