// The Route 53 DNS provider: what a set's publish activity calls when the set publishes to Route 53. It
// finds the set's hosted zone and hands the records to the zone's publisher workflow, whose outcome
// (conflicts, names still propagating, rejected changes, AWS errors) is the publish activity's result.
import type { Client } from '@temporalio/client';
import type { DnsTarget, PublishOutcome, RecordSet } from '../../../core/dns-records.js';
import type { DnsProvider } from '../provider.js';
import { Route53Error, translateError, type HostedZoneRef, type Route53, type ZoneTarget } from './client.js';
import type { Route53ZoneOptions } from './contract.js';
import { ZoneWorkflowClient } from './zone-workflow-client.js';

export interface Route53ProviderOptions {
  temporal: Client;
  /** Task queue of the publisher workflows: the set workflows' (`ordinal`). */
  taskQueue: string;
  /** For finding hosted zones by name. */
  route53: Route53;
  /** Options a newly started publisher gets. */
  zoneOptions?: Route53ZoneOptions;
}

export class Route53Provider implements DnsProvider {
  private readonly zones = new Map<string, Promise<HostedZoneRef>>();
  private readonly zoneWorkflows: ZoneWorkflowClient;

  constructor(private readonly options: Route53ProviderOptions) {
    this.zoneWorkflows = new ZoneWorkflowClient({ temporal: options.temporal, taskQueue: options.taskQueue, zoneOptions: options.zoneOptions });
  }

  /**
   * Makes `records` everything `set` publishes in the target's hosted zone (empty: nothing) and waits for
   * the outcome. A release needs nothing more than the empty list: the publisher forgets a set once its
   * removal has landed. AWS errors come back as the outcome's `error`; Temporal errors are thrown.
   */
  async apply(set: string, target: DnsTarget, records: RecordSet[]): Promise<PublishOutcome> {
    let hostedZone: HostedZoneRef;
    try {
      hostedZone = await this.hostedZone({ zone: target.zone, hostedZoneId: target.hostedZoneId, private: target.private });
    } catch (err) {
      const { code, message, hint } = (err instanceof Route53Error ? err : translateError(err)).toInfo();
      return { conflicts: [], propagating: [], failed: [], error: { code, message, hint } };
    }
    return this.zoneWorkflows.submit(hostedZone, { set, zone: target.zone, records });
  }

  /** The hosted zone for a target, looked up once per process (a failed lookup is tried again next time). */
  private hostedZone(target: ZoneTarget): Promise<HostedZoneRef> {
    const key = JSON.stringify([target.zone.toLowerCase(), target.hostedZoneId ?? '', target.private ?? '']);
    let found = this.zones.get(key);
    if (!found) {
      found = this.options.route53.findHostedZone(target);
      found.catch(() => this.zones.delete(key));
      this.zones.set(key, found);
    }
    return found;
  }
}
