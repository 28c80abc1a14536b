// The embedded DNS provider: publishes a set's records into the store the embedded DNS server answers
// from. Each call is idempotent, as activities must be: applying the same records twice changes nothing.
import type { RecordSet } from '../../core/dns-records.js';
import type { DnsStore } from '../../dns/store.js';
import type { DnsProvider } from './provider.js';

export class EmbeddedDnsProvider implements DnsProvider {
  constructor(private readonly store: DnsStore) {}

  /** Makes `records` (all inside `zone`) the complete list of record sets published for `set`. */
  async apply(set: string, zone: string, records: RecordSet[]): Promise<void> {
    this.store.replaceSetRecords(set, zone, records);
  }

  /** What is published for `set` now. */
  async read(set: string): Promise<RecordSet[]> {
    return this.store.readSetRecords(set);
  }
}
