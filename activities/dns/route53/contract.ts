// The contract of the Route 53 zone publisher workflow (workflows/route53-zone.ts): its workflow type
// and id, its input, and the Updates and Query its clients send (the Route 53 provider, the API, tests,
// tools). It is part of the workflow bundle: it imports only @temporalio/workflow definitions and types.
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { PublishOutcome, RecordSet } from '../../../core/dns-records.js';
import type { Route53ErrorInfo } from './client.js';
import type { Conflict } from './plan.js';

export const ROUTE53_ZONE_WORKFLOW_TYPE = 'route53Zone';

/** One publisher per hosted zone: `route53-zone/<hostedZoneId>`. */
export function route53ZoneWorkflowId(hostedZoneId: string): string {
  return `route53-zone/${hostedZoneId.replace(/^\/?hostedzone\//, '')}`;
}

export interface Route53ZoneOptions {
  /** After the first pending submit, wait this long for others before flushing (default 200 ms). */
  coalesceMs?: number;
  /** Drift repair period (default 5 min; 0: never, except on request). */
  reconcileIntervalMs?: number;
  /** Periodic drift repair only plans and logs (default false). */
  reconcileDryRun?: boolean;
  /** How long a flush waits for INSYNC before reporting names as still propagating (default 5 min). */
  inSyncTimeoutMs?: number;
  /** After a failed flush, retry after this long, doubling up to retryMaxMs (defaults 5 s, 5 min). */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Continue-as-new at this history length even if the server has not suggested it (default 10,000). */
  maxHistoryEvents?: number;
}

export interface Route53ZoneInput {
  hostedZoneId: string;
  /** The zone's name, for display. */
  zone: string;
  options?: Route53ZoneOptions;
  /** Carried across continue-as-new. */
  state?: Route53ZoneState;
}

/** What the publisher carries across continue-as-new. */
export interface Route53ZoneState {
  /** What each known set wants in this zone. An empty list stays until its removal has landed. */
  desired: Record<string, RecordSet[]>;
  /**
   * Last outcome per set. State carried from older runs may hold more fields per set (its name, a
   * `propagated` flag, fuller conflicts and failures): only the status Query passes them on, and the
   * set's next flush replaces them.
   */
  results: Record<string, PublishOutcome>;
  /** Sets whose latest records a failed flush did not publish: flushed again at nextRetryAt. */
  retry: string[];
  retryDelayMs?: number;
  nextRetryAt?: number;
  nextReconcileAt?: number;
  /** Changes not INSYNC yet, with the sets and names they touch. */
  unsynced: Record<string, { sets: string[]; names: string[] }>;
  lastFlush?: FlushSummary;
  lastReconcile?: ReconcileSummary;
  lastError?: Route53ErrorInfo & { at: number };
}

/** A set's submit: what it wants published in the zone now. */
export interface SubmitRequest {
  set: string;
  /** The zone's name, for logs and status. */
  zone: string;
  /** Everything the set wants published in this zone now (latest wins); empty: remove its records. */
  records: RecordSet[];
}

export interface FlushSummary {
  at: number;
  sets: string[];
  applied: number;
  conflicts: number;
  failed: number;
  changeIds: string[];
  durationMs: number;
}

export interface ReconcileSummary {
  at: number;
  dryRun: boolean;
  /** The plan, for people ("... no changes" when the zone is as wanted). */
  text: string;
  planned: number;
  applied: number;
  conflicts: Conflict[];
  /** Sets whose owned records were (or would be) deleted because the sets no longer exist. */
  vanished: string[];
  error?: Route53ErrorInfo;
}

export interface ZoneStatus {
  hostedZoneId: string;
  zone: string;
  /** Per set known to the publisher: its last outcome, how many record sets it wants, whether it waits for a flush. */
  sets: Record<string, PublishOutcome & { records: number; pending: boolean }>;
  /** Sets waiting for the next flush (new submits, or a retry after a failed flush). */
  pending: string[];
  lastFlush?: FlushSummary;
  lastReconcile?: ReconcileSummary;
  lastError?: Route53ErrorInfo & { at: number };
  nextReconcileAt?: number;
  nextRetryAt?: number;
}

/**
 * Makes the request's records everything the set publishes in the zone; resolves once a flush that
 * started after it has finished, with the set's outcome (what its publish activity returns).
 */
export const submitUpdate = defineUpdate<PublishOutcome, [SubmitRequest]>('submit');
/** Runs drift repair now; with dryRun it only returns the plan. */
export const reconcileUpdate = defineUpdate<ReconcileSummary, [{ dryRun?: boolean }]>('reconcile');
export const statusQuery = defineQuery<ZoneStatus>('status');
