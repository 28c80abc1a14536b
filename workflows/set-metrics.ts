// The set workflow's metrics, from the events it records: restarts by reason, and the recovery time of
// an instance (its failure seen, to its next incarnation Ready and published in DNS). Emitted through
// the workflow's metricMeter, which the SDK drops on replay and which issues no command, so replaying a
// history is unchanged. The worker's /metrics serves them with the SDK's own (worker/metrics-server.ts).
import { metricMeter } from '@temporalio/workflow';
import type { MetricMeter } from '@temporalio/common';
import type { EventReason, SetEvent } from '../core/events.js';
import { RECOVERY_METRIC, RESTARTS_METRIC } from './set-metric-names.js';

export { RECOVERY_METRIC, RESTARTS_METRIC } from './set-metric-names.js';

/** Event reasons that end an incarnation by failure: each is one restart of the instance. */
export const RESTART_REASONS: ReadonlySet<EventReason> = new Set(['Exited', 'LivenessFailed', 'CreateFailed']);


/** Remembered aggregated events (their last count); more than this and the oldest are forgotten. */
const MAX_REMEMBERED = 256;

interface Failure {
  /** Workflow time (ms) the first failure of the outage was recorded. */
  at: number;
  /** The incarnation that failed: only a later one's Ready and published ends the outage. */
  incarnation: number;
  /** Of the incarnation that may end it: when it was seen Ready, and published. */
  readyAt?: number;
  readyIncarnation?: number;
  publishedAt?: number;
  publishedIncarnation?: number;
}

export class SetMetrics {
  private readonly restarts;
  private readonly recovery;
  /** Count last seen of each aggregated event, so a repeat counted on it adds only the difference. */
  private readonly counts = new Map<string, number>();
  /** Per instance name: its outage under way. */
  private readonly failures = new Map<string, Failure>();

  constructor(
    private readonly set: string,
    meter: MetricMeter = metricMeter,
  ) {
    // Counters get _total and histograms their unit as suffix in Prometheus (the SDK's exporter options).
    this.restarts = meter.createCounter(RESTARTS_METRIC, undefined, 'Instance restarts: its incarnation exited, failed liveness or failed to start, by set and reason');
    this.recovery = meter.createHistogram(
      RECOVERY_METRIC,
      'float',
      'seconds',
      'From an instance failure seen to its next incarnation Ready and published in DNS',
    );
  }

  /** The events newly recorded (or counted again) since the last call, oldest first. */
  record(events: readonly SetEvent[]): void {
    for (const event of events) {
      const added = this.newOccurrences(event);
      if (added === 0 || event.instance === undefined) continue;
      const at = Date.parse(event.lastTimestamp);
      if (RESTART_REASONS.has(event.reason)) {
        this.restarts.add(added, { statefulset: this.set, reason: event.reason });
        if (!this.failures.has(event.instance)) this.failures.set(event.instance, { at, incarnation: event.incarnation ?? 0 });
      } else if (event.reason === 'Ready' || event.reason === 'DNSPublished') {
        this.recovered(event.instance, event.reason, event.incarnation ?? 0, at);
      }
    }
  }

  private recovered(instance: string, reason: 'Ready' | 'DNSPublished', incarnation: number, at: number): void {
    const failure = this.failures.get(instance);
    if (!failure || incarnation <= failure.incarnation) return;
    if (reason === 'Ready') {
      failure.readyAt = at;
      failure.readyIncarnation = incarnation;
    } else {
      failure.publishedAt = at;
      failure.publishedIncarnation = incarnation;
    }
    if (failure.readyIncarnation === incarnation && failure.publishedIncarnation === incarnation) {
      // No set label: a histogram's buckets per set would multiply its series by the number of sets.
      this.recovery.record(Math.max(0, Math.max(failure.readyAt!, failure.publishedAt!) - failure.at) / 1000);
      this.failures.delete(instance);
    }
  }

  /** How many occurrences of `event` this call adds: 1 for a new one, the difference for a repeat. */
  private newOccurrences(event: SetEvent): number {
    const key = [event.reason, event.instance ?? '', event.incarnation ?? '', event.message, event.firstTimestamp].join('\u0000');
    const seen = this.counts.get(key) ?? 0;
    if (event.count <= seen) return 0;
    this.counts.delete(key);
    this.counts.set(key, event.count);
    if (this.counts.size > MAX_REMEMBERED) this.counts.delete(this.counts.keys().next().value!);
    return event.count - seen;
  }
}
