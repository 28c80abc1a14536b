// The Ordinal worker: runs the set workflows and their activities (instance driver, probes, DNS).
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, type WorkflowBundleOption } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { EmbeddedDnsProvider } from '../activities/dns/embedded.js';
import { ProcessDriver } from '../activities/drivers/process.js';
import { EcsDriver } from '../activities/drivers/ecs/ecs.js';
import { DriverRouter } from '../activities/drivers/router.js';
import { createRoute53Activities, setWorkflowExists } from '../activities/dns/route53/activities.js';
import { createRoute53 } from '../activities/dns/route53/client.js';
import { Route53Provider } from '../activities/dns/route53/provider.js';
import { askServerIdentity } from '../dns/identity.js';
import { DnsStore } from '../dns/store.js';
import { dataPaths, formatHostPort, installationId, type OrdinalConfig } from '../infra/config.js';
import { temporalConnectionOptions } from '../infra/temporal-connection.js';
import { installTemporalLogging, logger } from '../infra/logger.js';
import { startMetricsServer, type MetricsServer } from './metrics-server.js';
import { freePort } from '../infra/child-processes.js';
import { WORKFLOW_HISTOGRAM_BUCKETS } from '../workflows/set-metric-names.js';
import { bundleWorkflows } from './workflow-bundle.js';
import { WorkerMetrics } from './worker-metrics.js';
import { defaultWorkflowCache } from './workflow-cache.js';

/**
 * The workflow code, bundled once per process: webpack takes seconds. ORDINAL_WORKFLOW_BUNDLE names a
 * prebuilt bundle file instead (the test harness bundles once for the whole run).
 */
let bundle: Promise<WorkflowBundleOption> | undefined;
export function workflowBundle(): Promise<WorkflowBundleOption> {
  const prebuilt = process.env.ORDINAL_WORKFLOW_BUNDLE;
  if (prebuilt) return Promise.resolve({ codePath: prebuilt });
  bundle ??= bundleWorkflows({
    logger: { log: () => undefined, trace: () => undefined, debug: () => undefined, info: () => undefined, warn: (m) => logger.warn(m), error: (m) => logger.error(m) },
  }).then((code) => ({ code }));
  return bundle;
}

export interface OrdinalWorker {
  worker: Worker;
  driver: ProcessDriver;
  /** The ECS driver, when the worker is configured for it (config.ecs). */
  ecs?: EcsDriver;
  /** What the activities use: dispatches to the process or the ECS driver. */
  router: DriverRouter;
  /** Where Prometheus scrapes the worker (http://host:port/metrics), when config.workerMetrics is set. */
  metricsUrl?: string;
  /** Runs until shutdown() (or a fatal error). */
  run(): Promise<void>;
  /** Stops polling, lets running activities finish or fail over, then closes the connection. */
  shutdown(): Promise<void>;
}

export async function createOrdinalWorker(config: OrdinalConfig, options: { bundle?: WorkflowBundleOption } = {}): Promise<OrdinalWorker> {
  // The SDK's metrics exporter must be configured before the first connection (it is part of the
  // process-wide Runtime): on a free loopback port, read back by our /metrics, which serves both.
  let sdkMetricsUrl: string | undefined;
  if (config.workerMetrics) {
    const sdkPort = await freePort();
    if (installTemporalLogging({ prometheusBindAddress: `127.0.0.1:${sdkPort}`, histogramBuckets: WORKFLOW_HISTOGRAM_BUCKETS })) sdkMetricsUrl = `http://127.0.0.1:${sdkPort}/metrics`;
    else logger.warn("the Temporal SDK's runtime was installed before this worker: /metrics serves the worker's own metrics without the SDK's");
  } else {
    installTemporalLogging();
  }
  const metrics = config.workerMetrics ? new WorkerMetrics() : undefined;
  const paths = dataPaths(config.dataDir);
  const driver = new ProcessDriver({
    dataDir: config.dataDir,
    addressPool: config.addressPool,
    podDnsAddress: config.dns.podAddress,
    logger: logger.child({ component: 'driver' }),
  });
  // Said at start, not at the first instance: a set with pod isolation (the default) fails here.
  const pods = driver.podSupport();
  if (pods.problem) logger.error({ fix: pods.problem }, 'instances cannot run as pods on this host; sets with isolation: pod will fail');
  if (config.dns.podEnabled) void checkPodDns(config);
  const ecs = config.ecs ? new EcsDriver({ ...config.ecs, logger: logger.child({ component: 'ecs-driver' }) }) : undefined;
  const router = new DriverRouter({ process: driver, ecs });
  const store = DnsStore.open(paths.dnsDb, config.zone);
  const connection = await NativeConnection.connect(temporalConnectionOptions(config));
  // Route 53: activities reach the per-zone publisher workflows through a client of their own. Lazy:
  // a worker whose sets never use Route 53 never talks to AWS.
  const clientConnection = Connection.lazy(temporalConnectionOptions(config));
  const client = new Client({ connection: clientConnection, namespace: config.temporal.namespace });
  const route53 = createRoute53(metrics ? { onRequest: ({ operation, outcome }) => metrics.route53Request(operation, outcome) } : {});
  const route53Provider = new Route53Provider({ temporal: client, taskQueue: config.temporal.taskQueue, route53 });
  const workflowCache = config.workflowCache ?? defaultWorkflowCache();
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowBundle: options.bundle ?? (await workflowBundle()),
    activities: {
      ...createActivities({
        driver: router,
        dns: { embedded: new EmbeddedDnsProvider(store), route53: route53Provider },
        dnsServer: `${config.dns.host}:${config.dns.port}`,
        metrics,
      }),
      ...createRoute53Activities({ route53: () => route53, ownerId: config.route53OwnerId, isSetLive: setWorkflowExists(client) }),
    },
    // Every set should stay cached: one out of the cache replays its history at its next step.
    maxCachedWorkflows: workflowCache,
    // Each running set keeps one long watch activity (a cheap await): room for one per cached set, and
    // for the creates, deletes and just-cancelled watches beside them. A fixed 2,000 let 2,000 sets'
    // watches take every slot, so the next set's create waited for a watch to end.
    maxConcurrentActivityTaskExecutions: Math.max(2_000, workflowCache + 1_000),
    // On shutdown, running activities (mostly watches) are cancelled after this long and retried by the
    // next worker; every activity is idempotent, so a short grace is safe and makes Ctrl-C quick.
    shutdownGraceTime: '1s',
  });

  let metricsServer: MetricsServer | undefined;
  if (metrics && config.workerMetrics) {
    try {
      metricsServer = await startMetricsServer({ listen: config.workerMetrics, registry: metrics.registry, sdkMetricsUrl, logger: logger.child({ component: 'metrics' }) });
    } catch (err) {
      await connection.close();
      await clientConnection.close();
      store.close();
      ecs?.close();
      throw new Error(`cannot serve the worker's metrics on ${formatHostPort(config.workerMetrics)} (ORDINAL_WORKER_METRICS): ${(err as Error).message}`);
    }
    logger.info({ url: metricsServer.url }, 'worker metrics listening');
  }

  let running: Promise<void> | undefined;
  return {
    worker,
    driver,
    ecs,
    router,
    ...(metricsServer ? { metricsUrl: metricsServer.url } : {}),
    run() {
      // The driver stays open: whoever runs the worker may still stop instances through it.
      running ??= worker.run().finally(async () => {
        await connection.close();
        await clientConnection.close();
        await metricsServer?.close();
        store.close();
        ecs?.close();
      });
      return running;
    },
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}

/**
 * Pods resolve names through the DNS server's pod listener: says so when the one at that address is
 * missing or another installation's (its id.server answer), since instances would then not find peers.
 */
async function checkPodDns(config: OrdinalConfig): Promise<void> {
  const { podAddress, podPort } = config.dns;
  const expected = installationId(config.dataDir);
  // `ordinal up` starts the DNS server first; a separate `ordinal dns` may come up a little later.
  for (let attempt = 0; attempt < 3; attempt++) {
    const identity = await askServerIdentity(podAddress, podPort, 1000);
    if (identity === expected) return;
    if (identity !== undefined) {
      logger.error(
        { podAddress, podPort, identity, expected },
        'the DNS server at the pod address belongs to another Ordinal installation (another data directory): instances would resolve its names; give each installation its own ORDINAL_ADDRESS_POOL or ORDINAL_DNS_POD_ADDRESS',
      );
      return;
    }
  }
  logger.warn({ podAddress, podPort }, 'no DNS server answers at the pod address: instances cannot resolve their peers by name until `ordinal dns` (or `ordinal up`) runs with the same settings');
}
