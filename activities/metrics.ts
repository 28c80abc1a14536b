// What the activities count and time, as a small sink the worker passes in (worker/worker-metrics.ts
// writes it to Prometheus); activities and tests without Prometheus use NO_ACTIVITY_METRICS. Every
// label is from a small fixed set or the set's name: never an incarnation, an address or a message.

export type ProbeKind = 'readiness' | 'liveness';

/** How a publish ended: applied, a name someone else holds, a change the provider refused, or an error. */
export type PublishResult = 'published' | 'conflict' | 'rejected' | 'error';

/** How one Route 53 API request ended. */
export type Route53RequestOutcome = 'ok' | 'throttled' | 'error';

export interface ActivityMetrics {
  /** A probe attempt failed (a readiness probe's attempts before it first passes, at start, are not counted). */
  probeFailed(set: string, probe: ProbeKind): void;
  /** An incarnation was first seen Ready this long after it started. */
  startedToReady(seconds: number): void;
  /** A publish of a set's records ended, after this long. */
  dnsPublished(provider: string, result: PublishResult, seconds: number): void;
  /** One Route 53 API request (each attempt of a retried call counts). */
  route53Request(operation: string, outcome: Route53RequestOutcome): void;
}

export const NO_ACTIVITY_METRICS: ActivityMetrics = {
  probeFailed: () => undefined,
  startedToReady: () => undefined,
  dnsPublished: () => undefined,
  route53Request: () => undefined,
};
