// The activities: thin adapters from the workflow's requests to the instance driver, the probes and
// the DNS provider. Each is idempotent, so Temporal may retry any of them after a crash.
import { ApplicationFailure, Context } from '@temporalio/activity';
import { instanceDnsName, instanceName, serviceDnsName } from '../core/names.js';
import { DriverError, type InstanceDriver, type InstanceHandle } from './drivers/driver.js';
import { PUBLISHED, type DnsProvider } from './dns/provider.js';
import { NO_ACTIVITY_METRICS, type ActivityMetrics, type PublishResult } from './metrics.js';
import { runProbe } from './probes.js';
import type { PublishOutcome } from '../core/dns-records.js';
import type { Activities } from './types.js';
import { createInstanceWatch } from './watch.js';

export interface ActivityDependencies {
  driver: InstanceDriver;
  /** One provider per manifest `dns.provider`; a set names the one it uses. */
  dns: { embedded: DnsProvider; route53?: DnsProvider };
  /** host:port of the embedded DNS server, handed to instances as ORDINAL_DNS_SERVER. */
  dnsServer: string;
  /** Where probe failures, start-to-Ready and DNS publishes are counted (default: nowhere). */
  metrics?: ActivityMetrics;
}

export function createActivities(deps: ActivityDependencies): Activities {
  const metrics = deps.metrics ?? NO_ACTIVITY_METRICS;
  const watch = createInstanceWatch({ driver: deps.driver, runProbe, metrics });
  return {
    async createInstance(request) {
      const identity = {
        set: request.set,
        ordinal: request.ordinal,
        name: instanceName(request.set, request.ordinal),
        dnsName: instanceDnsName(request.set, request.ordinal, request.serviceName, request.zone),
        serviceDnsName: serviceDnsName(request.serviceName, request.zone),
        dnsServer: deps.dnsServer,
      };
      let handle: InstanceHandle;
      try {
        handle = await heartbeating(() =>
          deps.driver.create({
            identity,
            incarnation: request.incarnation,
            revision: request.revision,
            template: request.template,
            volumes: request.volumes,
          }),
        );
      } catch (err) {
        // A retry cannot fix a missing program or a bad working directory: fail the create at once.
        if (err instanceof DriverError && !err.retryable) throw ApplicationFailure.nonRetryable(err.message, 'DriverError');
        throw err;
      }
      if (request.awaitReadyMs === undefined) return handle;
      // The workflow would wait for readiness next anyway: waiting here saves it a step and a round trip.
      const { template } = request;
      const { ready, notReadyReason } = await watch.awaitReady(
        {
          handle,
          ready: false,
          readinessProbe: template.readinessProbe,
          livenessProbe: template.livenessProbe,
          ...(template.ecs ? { readiness: template.ecs.readiness } : {}),
          ports: template.ports,
          dnsName: identity.dnsName,
          serviceDnsName: identity.serviceDnsName,
        },
        request.awaitReadyMs,
      );
      return { ...handle, ready, ...(notReadyReason !== undefined ? { notReadyReason } : {}) };
    },

    async deleteInstance(request) {
      // Stopping may take the whole grace period.
      await heartbeating(() => deps.driver.delete(request.set, request.ordinal, request.gracePeriodSeconds * 1000));
      // Only once the instance is confirmed gone, so nothing writes to a volume being deleted.
      if (request.deleteVolumes?.length) await deps.driver.deleteVolumes(request.set, request.ordinal, request.deleteVolumes);
    },

    async listInstances(request) {
      return deps.driver.describe(request.set);
    },

    watchInstances: (request) => watch.watchInstances(request),

    async publishRecords(request) {
      const provider = deps.dns[request.target.provider];
      if (!provider) {
        return {
          ...PUBLISHED,
          error: { code: 'ProviderUnavailable', message: `this worker has no ${request.target.provider} DNS provider`, hint: 'configure it on the worker' },
        };
      }
      const started = performance.now();
      const seconds = () => (performance.now() - started) / 1000;
      try {
        const outcome = await provider.apply(request.set, request.target, request.records, request.release ? { release: true } : {});
        metrics.dnsPublished(request.target.provider, publishResult(outcome), seconds());
        return outcome;
      } catch (err) {
        metrics.dnsPublished(request.target.provider, 'error', seconds());
        throw err;
      }
    },
  };
}

function publishResult(outcome: PublishOutcome): PublishResult {
  if (outcome.error) return 'error';
  if (outcome.conflicts.length > 0) return 'conflict';
  if (outcome.failed.length > 0) return 'rejected';
  return 'published';
}

/** Heartbeats while `work` runs, so Temporal notices a dead worker within the heartbeat timeout. */
async function heartbeating<T>(work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  context.heartbeat();
  const timer = setInterval(() => context.heartbeat(), 1_000);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
