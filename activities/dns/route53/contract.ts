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
  /**
   * After the first pending submit, wait this long for others before flushing, and again while more
   * keep arriving (default 200 ms), but no longer than maxCoalesceMs in all (default 2 s).
   */
  coalesceMs?: number;
  maxCoalesceMs?: number;
  /**
   * A publisher whose zone no set uses any more (nothing wanted, pending or propagating) ends after
   * this long without a submit (default 5 min; 0: never); the next submit starts it again.
   */
  idleEndMs?: number;
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
  /** The last submit counter handed out (receipts of recorded submits carry theirs). */
  serial?: number;
  /** Per set: its latest submit's serial, and the latest serial a finished flush covered. */
  serials?: Record<string, { submitted: number; flushed: number }>;
  /**
   * The key under which the worker that ran the last flush or reconcile keeps the zone's records as
   * they are after it (see zone-view.ts); undefined when the next flush must list the zone.
   */
  view?: string;
}

/** A set's submit: what it wants published in the zone now. */
export interface SubmitRequest {
  set: string;
  /** The zone's name, for logs and status. */
  zone: string;
  /** Everything the set wants published in this zone now (latest wins); empty: remove its records. */
  records: RecordSet[];
  /**
   * 'recorded': answer as soon as the publisher has recorded the records (a receipt), and let the caller
   * wait for the outcome with the `outcomes` Query. Absent (older callers): answer once flushed.
   */
  returnWhen?: 'recorded';
}

/** Where to find a recorded submit's outcome: the publisher run chain and the submit's serial. */
export interface SubmitReceipt {
  /** The first run id of the publisher's chain of runs (it changes when the publisher ends and starts again). */
  chain: string;
  serial: number;
}

/**
 * What `submit` answers: the set's outcome, final unless `recorded` is set (then it is the last outcome
 * known, and the final one comes from the `outcomes` Query once a flush covered the submit).
 */
export type SubmitAnswer = PublishOutcome & { recorded?: SubmitReceipt };

/** The `outcomes` Query: per asked submit, its set's outcome once a flush covered it, else null. */
export interface OutcomesAnswer {
  chain: string;
  outcomes: Array<PublishOutcome | null>;
}

export interface FlushSummary {
  at: number;
  sets: string[];
  applied: number;
  conflicts: number;
  failed: number;
  changeIds: string[];
  durationMs: number;
  /** Whether the flush listed the zone (false: it planned from the records the worker kept). */
  listed?: boolean;
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
 * Makes the request's records everything the set publishes in the zone. With `returnWhen: 'recorded'`
 * it answers at once with a receipt; otherwise it resolves once a flush that started after it has
 * finished, with the set's outcome (what its publish activity returns).
 */
export const submitUpdate = defineUpdate<SubmitAnswer, [SubmitRequest]>('submit');
/** The outcomes of recorded submits (a Query: waiting sets do not hold Updates open). */
export const outcomesQuery = defineQuery<OutcomesAnswer, [Array<{ set: string; serial: number }>]>('outcomes');
/** Runs drift repair now; with dryRun it only returns the plan. */
export const reconcileUpdate = defineUpdate<ReconcileSummary, [{ dryRun?: boolean }]>('reconcile');
export const statusQuery = defineQuery<ZoneStatus>('status');
