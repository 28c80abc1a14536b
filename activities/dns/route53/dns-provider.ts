// Route 53 as a DnsProvider: the set's publish activity hands its records to the zone's publisher
// workflow (through Route53Provider) and reports conflicts, propagation and AWS errors as an outcome.
import type { DnsTarget, PublishOutcome, RecordSet } from '../../../core/dns-records.js';
import type { DnsProvider } from '../provider.js';
import type { Route53Provider } from './provider.js';

export class Route53DnsProvider implements DnsProvider {
  constructor(private readonly route53: Route53Provider) {}

  async apply(set: string, target: DnsTarget, records: RecordSet[]): Promise<PublishOutcome> {
    const result = await this.route53.apply(set, target.zone, records, { hostedZoneId: target.hostedZoneId, private: target.private });
    const outcome: PublishOutcome = {
      conflicts: result.conflicts.map(({ name, type, reason }) => ({ name, type, reason })),
      propagating: result.propagating,
      failed: result.failed.map(({ name, type, code, message }) => ({ name, type, code, message })),
    };
    if (result.error) outcome.error = { code: result.error.code, message: result.error.message, hint: result.error.hint };
    return outcome;
  }
}
