// Talks to the zone publisher workflows (workflows/route53-zone.ts) for the Route 53 provider: submits a
// set's records to its hosted zone's publisher with update-with-start (so the first set of a zone starts
// it) and waits until they are INSYNC, or until the publisher reports conflicts, rejected changes or an error.
import { Context } from '@temporalio/activity';
import { WithStartWorkflowOperation, WorkflowUpdateRPCTimeoutOrCancelledError, type Client } from '@temporalio/client';
import type { PublishOutcome } from '../../../core/dns-records.js';
import { KeyedSlots } from '../../keyed-slots.js';
import type { HostedZoneRef } from './client.js';
import {
  ROUTE53_ZONE_WORKFLOW_TYPE,
  route53ZoneWorkflowId,
  submitUpdate,
  type Route53ZoneInput,
  type Route53ZoneOptions,
  type SubmitRequest,
} from './contract.js';

/**
 * Submits this process keeps open per zone: Temporal refuses an 11th open Update on one workflow, and one
 * is left for a reconcile. Sets beyond it wait here, in order, and join a later flush.
 */
export const SUBMITS_IN_FLIGHT_PER_ZONE = 8;

export interface ZoneWorkflowClientOptions {
  temporal: Client;
  /** Task queue of the publisher workflows: the set workflows' (`ordinal`). */
  taskQueue: string;
  /** Options a newly started publisher gets. */
  zoneOptions?: Route53ZoneOptions;
}

export class ZoneWorkflowClient {
  private readonly submitSlots = new KeyedSlots(SUBMITS_IN_FLIGHT_PER_ZONE);

  constructor(private readonly options: ZoneWorkflowClientOptions) {}

  /** Hands `request` to the hosted zone's publisher (starting it if need be) and returns the set's outcome. */
  async submit(hostedZone: HostedZoneRef, request: SubmitRequest): Promise<PublishOutcome> {
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
