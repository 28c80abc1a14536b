// The DNS provider interface: the embedded server's store by default, Route 53 in production.
import type { RecordSet } from '../../core/dns-records.js';

export interface DnsProvider {
  /** Makes the records owned by `set` exactly `records` (all inside `zone`). Idempotent. */
  apply(set: string, zone: string, records: RecordSet[]): Promise<void>;
  /** The records currently published for `set`. */
  read(set: string): Promise<RecordSet[]>;
}
