// The worker's own Prometheus metrics (prom-client): the process's (CPU, memory, event loop, GC) and
// what the activities report through their metrics sink (activities/metrics.ts). Labels are bounded:
// set names, probe kinds, providers, outcomes and Route 53 operations, never an incarnation or address.
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ActivityMetrics, ProbeKind, PublishResult, Route53RequestOutcome } from '../activities/metrics.js';

/** Seconds: from a fast local start (tens of ms) to a slow one or an ECS task (minutes). */
const START_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Seconds: a local SQLite write (ms) to Route 53 waiting for INSYNC (about a minute). */
const PUBLISH_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 30, 60, 120];

export class WorkerMetrics implements ActivityMetrics {
  readonly registry = new Registry();
  private readonly probeFailures = new Counter({
    name: 'ordinal_probe_failures_total',
    help: 'Failed probe attempts, by set and probe (readiness or liveness); a readiness probe failing before it first passes (the program starting) is not counted.',
    labelNames: ['statefulset', 'probe'] as const,
    registers: [this.registry],
  });
  private readonly startToReady = new Histogram({
    name: 'ordinal_instance_start_to_ready_seconds',
    help: 'From an incarnation started to first seen Ready.',
    buckets: START_BUCKETS,
    registers: [this.registry],
  });
  private readonly publishes = new Counter({
    name: 'ordinal_dns_publishes_total',
    help: 'Publishes of a set\'s DNS records, by provider and result (published, conflict, rejected, error).',
    labelNames: ['provider', 'result'] as const,
    registers: [this.registry],
  });
  private readonly publishDuration = new Histogram({
    name: 'ordinal_dns_publish_duration_seconds',
    help: 'How long a publish of a set\'s DNS records took (Route 53: until INSYNC), by provider.',
    labelNames: ['provider'] as const,
    buckets: PUBLISH_BUCKETS,
    registers: [this.registry],
  });
  private readonly route53Requests = new Counter({
    name: 'ordinal_route53_requests_total',
    help: 'Route 53 API requests (each attempt), by operation and outcome (ok, throttled, error).',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly route53Throttles = new Counter({
    name: 'ordinal_route53_throttles_total',
    help: 'Route 53 API requests refused by throttling (retried with backoff), by operation.',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  probeFailed(set: string, probe: ProbeKind): void {
    this.probeFailures.inc({ statefulset: set, probe });
  }

  startedToReady(seconds: number): void {
    this.startToReady.observe(seconds);
  }

  dnsPublished(provider: string, result: PublishResult, seconds: number): void {
    this.publishes.inc({ provider, result });
    this.publishDuration.observe({ provider }, seconds);
  }

  route53Request(operation: string, outcome: Route53RequestOutcome): void {
    this.route53Requests.inc({ operation, outcome });
    if (outcome === 'throttled') this.route53Throttles.inc({ operation });
  }
}
