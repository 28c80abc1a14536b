// The Route 53 activities the per-zone publisher workflow runs. Each is idempotent (it plans against
// the zone as listed, or as this worker's last flush left it when the publisher says nothing of ours
// changed it since; a retry after a crash lists, and redoes only what is missing) and heartbeats
// while it waits for Route 53.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { workflowIdForSet } from '../../../core/names.js';
import { Route53Error, translateError, type HostedZoneRef, type Route53, type Route53ErrorInfo, type ZoneTarget } from './client.js';
import { DEFAULT_OWNER_ID, isValidOwnerId } from './ownership.js';
import { flushZone, reconcileZone, type FailedChange, type FlushRequest, type FlushResult, type ReconcileRequest, type ReconcileResult } from './publisher.js';
import { ZoneViews } from './zone-view.js';

export interface Route53ActivityDependencies {
  /** Makes the Route 53 client; called once, on first use. */
  route53: () => Route53;
  /** This installation's owner id, written into every ownership record (default 'ordinal'). */
  ownerId?: string;
  /**
   * Whether a set that a zone's publisher does not know still exists: reconcile keeps its records,
   * and deletes those of sets that do not. Usually setWorkflowExists(client). Required: a publisher
   * that starts afresh must not take sets it has not heard from yet for deleted ones.
   */
  isSetLive: (set: string) => Promise<boolean>;
}

export interface Route53Activities {
  /** The hosted zone for a zone name (or checks a given id). */
  route53FindZone(target: ZoneTarget): Promise<HostedZoneRef>;
  /** Brings the records of the sets in `desired` to what they want; waits for INSYNC. */
  route53FlushZone(request: FlushRequest): Promise<FlushResult>;
  /** Drift repair over every set of the zone (dry run: the plan only). */
  route53ReconcileZone(request: Omit<ReconcileRequest, 'liveSets'>): Promise<ReconcileResult>;
}

export function createRoute53Activities(deps: Route53ActivityDependencies): Route53Activities {
  const ownerId = deps.ownerId ?? DEFAULT_OWNER_ID;
  if (!isValidOwnerId(ownerId)) throw new Error(`invalid Route 53 owner id '${ownerId}': letters, digits, '.', '_', '-', at most 63`);
  let client: Route53 | undefined;
  const route53 = () => (client ??= deps.route53());
  // The zones' records as this worker's last flush or reconcile left them (see zone-view.ts).
  const views = new ZoneViews();
  const contradicted = (zoneId: string) => (failed: FailedChange) =>
    Context.current().log.warn(`Route 53 rejected a change that a fresh listing contradicts: ${failed.name} ${failed.type}: ${failed.code}: ${failed.message}`, {
      hostedZoneId: zoneId,
      set: failed.set,
    });

  return {
    async route53FindZone(target) {
      return run(() => route53().findHostedZone(target));
    },

    async route53FlushZone(request) {
      return run((heartbeat) => flushZone(route53(), ownerId, request, { onProgress: heartbeat, views, onContradiction: contradicted(request.zoneId) }));
    },

    async route53ReconcileZone(request) {
      const result = await run((heartbeat) =>
        reconcileZone(route53(), ownerId, { ...request, liveSets: deps.isSetLive }, { onProgress: heartbeat, views, onContradiction: contradicted(request.zoneId) }),
      );
      // What drift repair did (or, in a dry run, would do) is for people: print it in the worker's log.
      if (result.dryRun || result.planned > 0 || result.conflicts.length > 0) {
        Context.current().log.info(result.text, { hostedZoneId: request.zoneId, dryRun: result.dryRun });
      }
      return result;
    },
  };
}

/** A set exists while its workflow (statefulset/<set>) runs. */
export function setWorkflowExists(client: Client): (set: string) => Promise<boolean> {
  return async (set) => {
    try {
      const description = await client.workflow.getHandle(workflowIdForSet(set)).describe();
      return description.status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  };
}

/**
 * Runs `work` heartbeating every few seconds, and turns a Route53Error into an ApplicationFailure of
 * type `code` whose details carry the hint: retryable ones are retried by Temporal, the others
 * (credentials, access, a wrong zone) fail at once and the publisher reports them.
 */
async function run<T>(work: (heartbeat: () => void) => Promise<T>): Promise<T> {
  const context = Context.current();
  const heartbeat = () => context.heartbeat();
  heartbeat();
  const timer = setInterval(heartbeat, 5_000);
  try {
    return await work(heartbeat);
  } catch (err) {
    const error = err instanceof Route53Error ? err : translateError(err);
    const info: Route53ErrorInfo = error.toInfo();
    const message = info.hint ? `${info.message} (${info.hint})` : info.message;
    throw ApplicationFailure.create({ type: info.code, message, details: [info], nonRetryable: !info.retryable, cause: err instanceof Error ? err : undefined });
  } finally {
    clearInterval(timer);
  }
}
