// The embedded DNS provider: publishes a set's records into the store the embedded DNS server answers
// from. Each call is idempotent, as activities must be: applying the same records twice changes nothing.
import type { DnsTarget, PublishOutcome, RecordSet } from '../../core/dns-records.js';
import type { DnsStore } from '../../dns/store.js';
import { PUBLISHED, type DnsProvider } from './provider.js';

export class EmbeddedDnsProvider implements DnsProvider {
  constructor(private readonly store: DnsStore) {}

  /** Makes `records` (all inside the target's zone) the complete list of record sets published for `set`. */
  async apply(set: string, target: DnsTarget, records: RecordSet[]): Promise<PublishOutcome> {
    this.store.replaceSetRecords(set, target.zone, records);
    return PUBLISHED;
  }

  /** What is published for `set` now. */
  async read(set: string): Promise<RecordSet[]> {
    return this.store.readSetRecords(set);
  }
}
