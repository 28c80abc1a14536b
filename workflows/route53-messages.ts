// The Route 53 zone publisher's messages: shared by the workflow (handlers) and its clients (the
// Route 53 provider, tests, tools).
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { RecordSet } from '../core/dns-records.js';
import type { Route53ErrorInfo } from '../activities/dns/route53/client.js';
import type { Conflict } from '../activities/dns/route53/plan.js';
import type { FailedChange } from '../activities/dns/route53/publisher.js';

export const ROUTE53_ZONE_WORKFLOW_TYPE = 'route53Zone';

/** One publisher per hosted zone: `route53-zone/<hostedZoneId>`. */
export function route53ZoneWorkflowId(hostedZoneId: string): string {
  return `route53-zone/${hostedZoneId.replace(/^\/?hostedzone\//, '')}`;
}

export interface SubmitRequest {
  set: string;
  /** The zone's name, for logs and status. */
  zone: string;
  /** Everything the set wants published in this zone now (latest wins); empty: remove its records. */
  records: RecordSet[];
}

/** How publishing went for one set. */
export interface SetPublishResult {
  set: string;
  /** Every change to the set's records is INSYNC (Route 53 serves it from all its name servers). */
  propagated: boolean;
  /** Names whose changes Route 53 has not reported INSYNC yet. */
  propagating: string[];
  /** Names the set wants that are taken (by a foreign record, another installation or another set). */
  conflicts: Conflict[];
  /** Changes Route 53 rejected. */
  failed: FailedChange[];
  /** The flush could not run at all (credentials, access, zone): the AWS code and what to do. Retried. */
  error?: Route53ErrorInfo;
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
  /** Per set known to the publisher: its records count and last outcome. */
  sets: Record<string, SetPublishResult & { records: number; pending: boolean }>;
  /** Sets waiting for the next flush (new submits, or a retry after a failed flush). */
  pending: string[];
  lastFlush?: FlushSummary;
  lastReconcile?: ReconcileSummary;
  lastError?: Route53ErrorInfo & { at: number };
  nextReconcileAt?: number;
  nextRetryAt?: number;
}

export const submitUpdate = defineUpdate<SetPublishResult, [SubmitRequest]>('submit');
/** Runs drift repair now; with dryRun it only returns the plan. */
export const reconcileUpdate = defineUpdate<ReconcileSummary, [{ dryRun?: boolean }]>('reconcile');
export const statusQuery = defineQuery<ZoneStatus>('status');
export const pendingQuery = defineQuery<string[]>('pending');
