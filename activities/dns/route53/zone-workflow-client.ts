// Talks to the zone publisher workflows (workflows/route53-zone.ts) for the Route 53 provider: submits a
// set's records to its hosted zone's publisher with update-with-start (so the first set of a zone, or
// the first after the publisher ended, starts it), which answers once recorded, then waits with the
// `outcomes` Query until they are INSYNC, or until the publisher reports conflicts, rejected changes
// or an error. An older publisher answers the submit itself once flushed: that answer is the outcome.
import { Context } from '@temporalio/activity';
import { WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateRPCTimeoutOrCancelledError, type Client } from '@temporalio/client';
import type { PublishOutcome } from '../../../core/dns-records.js';
import { KeyedSlots } from '../../keyed-slots.js';
import type { HostedZoneRef } from './client.js';
import {
  ROUTE53_ZONE_WORKFLOW_TYPE,
  outcomesQuery,
  route53ZoneWorkflowId,
  submitUpdate,
  type Route53ZoneInput,
  type Route53ZoneOptions,
  type SubmitAnswer,
  type SubmitRequest,
} from './contract.js';

import { ZoneOutcomes } from './zone-outcomes.js';

/**
 * Submits this process sends at once per zone: Temporal refuses an 11th open Update on one workflow, and
 * one is left for a reconcile. A submit is open only until recorded (older publishers: until flushed).
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
  private readonly outcomes: ZoneOutcomes;

  constructor(private readonly options: ZoneWorkflowClientOptions) {
    this.outcomes = new ZoneOutcomes((hostedZoneId, asked) =>
      options.temporal.workflow.getHandle(route53ZoneWorkflowId(hostedZoneId)).query(outcomesQuery, asked),
    );
  }

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
        let answer: SubmitAnswer;
        try {
          answer = await this.submitSlots.run(hostedZone.id, () =>
            this.options.temporal.workflow.executeUpdateWithStart(submitUpdate, { args: [{ ...request, returnWhen: 'recorded' }], startWorkflowOperation: start }),
          );
        } catch (err) {
          // Only the wait for the result was cut short, or the publisher ended as the submit arrived:
          // submitting again is harmless (latest wins) and starts it again if need be.
          if (!isWorthResubmitting(err) || attempt >= 5) throw err;
          continue;
        }
        const { recorded, ...outcome } = answer;
        if (!recorded) return outcome; // an older publisher answered once flushed
        const final = await this.outcomes.wait(hostedZone.id, request.set, recorded);
        if (final) return final;
        // The publisher that recorded the submit ended and another started: submit to it.
      }
    } finally {
      if (timer) clearInterval(timer);
    }
  }
}

function isWorthResubmitting(err: unknown): boolean {
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || err instanceof WorkflowNotFoundError) return true;
  return err instanceof Error && /already completed|workflow execution.*(completed|closed)/i.test(err.message);
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
