// The names and buckets of the set workflow's metrics (workflows/set-metrics.ts). Pure, no imports: the
// worker reads the buckets when it installs the SDK's metrics exporter, before any workflow runs.

/** Counter: instance restarts by set and reason (Prometheus: ordinal_restarts_total). */
export const RESTARTS_METRIC = 'ordinal_restarts';
/** Histogram, seconds: failure seen to the next incarnation Ready and published (ordinal_instance_recovery_seconds). */
export const RECOVERY_METRIC = 'ordinal_instance_recovery';

/** Seconds: a local restart (under a second) to one waiting out a long back-off (minutes). */
export const WORKFLOW_HISTOGRAM_BUCKETS: Record<string, number[]> = {
  [RECOVERY_METRIC]: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
};
