// The embedded DNS provider: publishes a set's records into the store the embedded DNS server answers
// from. Each call is idempotent, as activities must be: applying the same records twice changes nothing.
import type { DnsTarget, PublishOutcome, RecordSet } from '../../core/dns-records.js';
import type { DnsStore } from '../../dns/store.js';
import { PUBLISHED, type ApplyOptions, type DnsProvider } from './provider.js';

export class EmbeddedDnsProvider implements DnsProvider {
  constructor(private readonly store: DnsStore) {}

  /**
   * Makes `records` (all inside the target's zone) the complete list of record sets published for `set`;
   * the zone is served from then on even while the set has no record in it. With `release`, removes the
   * set's records and forgets its zone instead (the set is deleted or publishes elsewhere now).
   */
  async apply(set: string, target: DnsTarget, records: RecordSet[], options: ApplyOptions = {}): Promise<PublishOutcome> {
    if (options.release) {
      if (records.length > 0) throw new Error(`releasing ${set} from ${target.zone} with ${records.length} record sets: a release publishes none`);
      this.store.releaseSet(set);
    } else {
      this.store.replaceSetRecords(set, target.zone, records);
    }
    return PUBLISHED;
  }
}
