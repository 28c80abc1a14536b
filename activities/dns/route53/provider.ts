// The Route 53 DNS provider: what a set's publish activity calls. It hands the set's records to the
// zone's durable publisher workflow (update-with-start, so the first set of a zone starts it) and
// waits until they are INSYNC, or until the publisher reports conflicts, rejected changes or an error.
import { Context } from '@temporalio/activity';
import { WithStartWorkflowOperation, WorkflowUpdateRPCTimeoutOrCancelledError, type Client } from '@temporalio/client';
import type { RecordSet } from '../../../core/dns-records.js';
import {
  ROUTE53_ZONE_WORKFLOW_TYPE,
  route53ZoneWorkflowId,
  submitUpdate,
  type Route53ZoneInput,
  type Route53ZoneOptions,
  type SetPublishResult,
} from './contract.js';
import { Route53Error, translateError, type HostedZoneRef, type Route53, type Route53ErrorInfo, type ZoneTarget } from './client.js';
import { DEFAULT_OWNER_ID } from './ownership.js';
import type { Conflict } from './plan.js';
import { readSetRecords, type FailedChange } from './publisher.js';
import { KeyedSlots } from '../../keyed-slots.js';

/**
 * Submits this process keeps open per zone: Temporal refuses an 11th open Update on one workflow, and one
 * is left for a reconcile. Sets beyond it wait here, in order, and join a later flush.
 */
export const SUBMITS_IN_FLIGHT_PER_ZONE = 8;

/** What publishing a set's records came to. */
export interface PublishResult {
  /** Names the set wants that are taken: for a `DNSConflict` condition naming each record. */
  conflicts: Conflict[];
  /** Names whose changes Route 53 has not reported INSYNC yet: status shows them as propagating. */
  propagating: string[];
  /** Changes Route 53 rejected. */
  failed: FailedChange[];
  /** Publishing could not run (credentials, access, zone): AWS code, message and what to do. */
  error?: Route53ErrorInfo;
}

export interface Route53ProviderOptions {
  temporal: Client;
  /** Task queue of the publisher workflows: the set workflows' (`ordinal`). */
  taskQueue: string;
  /** For finding hosted zones by name and reading records. */
  route53: Route53;
  /** This installation's owner id (as given to createRoute53Activities). */
  ownerId?: string;
  /** Options a newly started publisher gets. */
  zoneOptions?: Route53ZoneOptions;
}

/** Where a set's records go when its manifest says more than the zone name. */
export type Route53Target = Omit<ZoneTarget, 'zone'>;

/**
 * DnsProvider-like: `apply` returns a PublishResult instead of void (the DnsProvider interface is to
 * be extended to return it), and takes the manifest's hosted zone choice.
 */
export class Route53Provider {
  private readonly zones = new Map<string, Promise<HostedZoneRef>>();
  private readonly submitSlots = new KeyedSlots(SUBMITS_IN_FLIGHT_PER_ZONE);
  /** The hosted zone each set last published to, for read(). */
  private readonly setZones = new Map<string, string>();

  constructor(private readonly options: Route53ProviderOptions) {}

  /**
   * Makes `records` everything `set` publishes in `zone` (empty: nothing) and waits for the outcome.
   * AWS errors come back as `error`, not as exceptions; Temporal errors are thrown.
   */
  async apply(set: string, zone: string, records: RecordSet[], target: Route53Target = {}): Promise<PublishResult> {
    let hostedZone: HostedZoneRef;
    try {
      hostedZone = await this.hostedZone({ zone, ...target });
    } catch (err) {
      return { conflicts: [], propagating: [], failed: [], error: (err instanceof Route53Error ? err : translateError(err)).toInfo() };
    }
    this.setZones.set(set, hostedZone.id);
    const result = await this.submit(hostedZone, { set, zone, records });
    return { conflicts: result.conflicts, propagating: result.propagating, failed: result.failed, error: result.error };
  }

  /** The records the zone holds for `set` (of this installation), where it last published. */
  async read(set: string): Promise<RecordSet[]> {
    const zoneId = this.setZones.get(set);
    if (!zoneId) return [];
    return readSetRecords(this.options.route53, this.options.ownerId ?? DEFAULT_OWNER_ID, zoneId, set);
  }

  /** The hosted zone for a target, looked up once per process (a failed lookup is tried again next time). */
  hostedZone(target: ZoneTarget): Promise<HostedZoneRef> {
    const key = JSON.stringify([target.zone.toLowerCase(), target.hostedZoneId ?? '', target.private ?? '']);
    let found = this.zones.get(key);
    if (!found) {
      found = this.options.route53.findHostedZone(target);
      found.catch(() => this.zones.delete(key));
      this.zones.set(key, found);
    }
    return found;
  }

  private async submit(hostedZone: HostedZoneRef, request: { set: string; zone: string; records: RecordSet[] }): Promise<SetPublishResult> {
    const heartbeat = activityHeartbeat();
    const timer = heartbeat ? setInterval(heartbeat, 5_000) : undefined;
    try {
      for (let attempt = 1; ; attempt++) {
        const input: Route53ZoneInput = { hostedZoneId: hostedZone.id, zone: hostedZone.name, options: this.options.zoneOptions };
        const start = new WithStartWorkflowOperation(ROUTE53_ZONE_WORKFLOW_TYPE, {
          workflowId: route53ZoneWorkflowId(hostedZone.id),
          taskQueue: this.options.taskQueue,
          args: [input],
          workflowIdConflictPolicy: 'USE_EXISTING',
        });
        try {
          return await this.submitSlots.run(hostedZone.id, () =>
            this.options.temporal.workflow.executeUpdateWithStart(submitUpdate, { args: [request], startWorkflowOperation: start }),
          );
        } catch (err) {
          // Only the wait for the result was cut short; submitting again is harmless (latest wins).
          if (!(err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) || attempt >= 5) throw err;
        }
      }
    } finally {
      if (timer) clearInterval(timer);
    }
  }
}

/** Heartbeats the current activity, if there is one: waiting for INSYNC may take a while. */
function activityHeartbeat(): (() => void) | undefined {
  try {
    const context = Context.current();
    return () => context.heartbeat();
  } catch {
    return undefined;
  }
}
