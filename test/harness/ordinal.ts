// Ordinal in-process for integration tests: a worker (with the process driver), the embedded DNS
// server, SetsService and Route53ZonesService clients and the real HTTP API over them, against the
// shared Temporal server, each test file with its own data directory, task queue, DNS port and
// address pool, so test files can run side by side.
import { randomBytes } from 'node:crypto';
import dns from 'node:dns';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../api/server.js';
import type { SetsPort } from '../../api/sets-port.js';
import { SetsService } from '../../api/sets.js';
import { SetWatchHub, type SetWatchHubOptions } from '../../api/watch-hub.js';
import { Route53ZonesService } from '../../api/zones.js';
import { ProcessDriver } from '../../activities/drivers/process.js';
import { createForwarder, type Forwarder } from '../../dns/forwarder.js';
import { startDnsServer, type DnsServer } from '../../dns/server.js';
import { DnsStore } from '../../dns/store.js';
import { dataPaths, formatHostPort, installationId, loadConfig, type HostPort, type OrdinalConfig } from '../../infra/config.js';
import type { WorkflowBundleOption } from '@temporalio/worker';
import { createOrdinalWorker, type OrdinalWorker } from '../../worker/worker.js';
import { freePort, temporalAddress, temporalNamespace, workflowBundlePath } from './services.js';

let pools = 0;

/**
 * A loopback pool no other test process of this run uses: 127.<100 + 10 * vitest pool id + n>.0.0/16.
 * Two test runs on one machine at once (a developer's and CI's) collide there; give one of them
 * ORDINAL_TEST_POOL_BASE=180 so its pools (and their DNS pod listeners on port 53) lie elsewhere.
 */
export function uniqueAddressPool(): string {
  const poolId = Number(process.env.VITEST_POOL_ID ?? 1);
  const base = Number(process.env.ORDINAL_TEST_POOL_BASE ?? 100);
  const span = 250 - base;
  const second = base + ((poolId * 10 + pools++) % span);
  return `127.${second}.0.0/16`;
}

/** A set name no other test (file) uses on the shared Temporal server. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export interface TestOrdinal {
  config: OrdinalConfig;
  sets: SetsService;
  /** The Route 53 zone publishers of this task queue. */
  zones: Route53ZonesService;
  /** The real HTTP API over `sets` and `zones`, e.g. http://127.0.0.1:PORT. */
  apiUrl: string;
  /** fetch() against the API: `api('/v1/sets/web')`, JSON bodies encoded. */
  api(path: string, init?: { method?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: any }>;
  client: Client;
  /** The API's watch streams (their buffers counted in watch.stats). */
  watch: SetWatchHub;
  dnsPort: number;
  /**
   * With the podDns option: the pod listener (config.dns.podAddress, port 53), the `nameserver` of every
   * instance's resolv.conf, forwarding other names to the given upstreams.
   */
  podDns?: { address: string; port: number };
  /** A resolver pointed at the embedded DNS server. */
  resolver: dns.promises.Resolver;
  /** The running worker (replaced by restartWorker). */
  worker(): OrdinalWorker;
  stopWorker(): Promise<void>;
  startWorker(): Promise<void>;
  /** A driver on the same data dir, as a restarted worker would see it. */
  driver(): ProcessDriver;
  /**
   * Another real API server over the same Temporal, worker and data dir (closed by stop()): on another
   * host or port, with its own token settings (`auth`, default: this data dir's token file, not
   * required), or over a wrapper of `sets`. Rejects as startApiServer does (e.g. beyond loopback without tokens).
   */
  startApi(options?: { host?: string; port?: number; auth?: OrdinalConfig['auth']; sets?: SetsPort } & Pick<ApiServerOptions, 'logger' | 'watch'>): Promise<ApiServer>;
  stop(): Promise<void>;
}

export interface TestOrdinalOptions {
  workflowLimits?: { maxHistoryEvents?: number };
  /** Another workflow bundle for the worker (e.g. older workflow code); default: the run's bundle. */
  workflowBundle?: WorkflowBundleOption;
  /** More configuration, e.g. ORDINAL_ECS_ENDPOINT. */
  env?: Record<string, string>;
  /**
   * Also start the DNS server's pod listener, as `ordinal up` and `ordinal dns` do: on the pool's pod
   * address (config.dns.podAddress), port 53 (so root only), with the installation's identity, forwarding
   * names outside our zones to `upstreams` (none by default: never the machine's real resolver). Without
   * it, instances in pods cannot resolve their peers through the system resolver.
   */
  podDns?: { upstreams?: HostPort[] };
  /** The watch streams' settings (buffer limit, heartbeat, grace of a client cut off). */
  watch?: SetWatchHubOptions;
}

export async function startTestOrdinal(options: TestOrdinalOptions = {}): Promise<TestOrdinal> {
  process.env.ORDINAL_WORKFLOW_BUNDLE ??= workflowBundlePath();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-it-'));
  const dnsPort = await freePort();
  const config = loadConfig({
    ORDINAL_DATA_DIR: dataDir,
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_NAMESPACE: temporalNamespace(),
    ORDINAL_TASK_QUEUE: uniqueName('ordinal-test'),
    ORDINAL_DNS_PORT: String(dnsPort),
    ORDINAL_ADDRESS_POOL: uniqueAddressPool(),
    // Forwarding goes only where a test says: never to the host's resolv.conf nameservers.
    ORDINAL_DNS_UPSTREAM: options.podDns?.upstreams?.length ? options.podDns.upstreams.map(formatHostPort).join(',') : 'none',
    ...options.env,
  });

  const store = DnsStore.open(dataPaths(dataDir).dnsDb, config.zone);
  const dnsServer: DnsServer = await startDnsServer({ host: '127.0.0.1', port: dnsPort, store });
  let forwarder: Forwarder | undefined;
  let podServer: DnsServer | undefined;
  if (options.podDns) {
    forwarder = createForwarder({ upstreams: config.dns.upstreams });
    podServer = await startDnsServer({
      host: config.dns.podAddress,
      port: config.dns.podPort,
      store,
      forwarder,
      identity: installationId(dataDir),
    }).catch(async (err: unknown) => {
      forwarder?.close();
      await dnsServer.close();
      store.close();
      throw new Error(`cannot start the pod DNS listener on ${config.dns.podAddress}:${config.dns.podPort} (the podDns option needs root): ${(err as Error).message}`, { cause: err });
    });
  }
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const sets = new SetsService(client, { taskQueue: config.temporal.taskQueue, workflowLimits: options.workflowLimits });
  const zones = new Route53ZonesService(client, { taskQueue: config.temporal.taskQueue });
  const watch = new SetWatchHub(client, sets, options.watch);
  const apiServer = await startApiServer({ config: { ...config, api: { host: '127.0.0.1', port: 0 } }, sets, zones, watch });
  const api: TestOrdinal['api'] = async (path, init = {}) => {
    const res = await fetch(`${apiServer.url}${path}`, {
      method: init.method ?? 'GET',
      headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
      body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const resolver = new dns.promises.Resolver({ timeout: 1000, tries: 2 });
  resolver.setServers([`127.0.0.1:${dnsPort}`]);

  let worker: OrdinalWorker | undefined;
  let running: Promise<void> | undefined;
  const startWorker = async () => {
    worker = await createOrdinalWorker(config, { bundle: options.workflowBundle });
    running = worker.run();
  };
  const stopWorker = async () => {
    await worker?.shutdown();
    await running?.catch(() => undefined);
    worker?.driver.close();
    worker = undefined;
  };
  await startWorker();
  const driver = new ProcessDriver({ dataDir, addressPool: config.addressPool });
  const extraApis: ApiServer[] = [];
  const startApi: TestOrdinal['startApi'] = async (options = {}) => {
    const server = await startApiServer({
      config: { ...config, api: { host: options.host ?? '127.0.0.1', port: options.port ?? 0 }, auth: options.auth ?? config.auth },
      sets: options.sets ?? sets,
      zones,
      watch: options.watch,
      logger: options.logger,
    });
    extraApis.push(server);
    return server;
  };

  return {
    config,
    sets,
    zones,
    apiUrl: apiServer.url,
    api,
    client,
    watch,
    dnsPort,
    podDns: podServer ? { address: config.dns.podAddress, port: podServer.udpPort } : undefined,
    resolver,
    worker: () => worker!,
    stopWorker,
    startWorker,
    driver: () => driver,
    startApi,
    async stop() {
      // Leave no set workflow behind on the shared server: they would wait forever for this worker.
      for await (const execution of client.workflow.list({
        query: `TaskQueue = '${config.temporal.taskQueue}' AND ExecutionStatus = 'Running'`,
      })) {
        await client.workflow.getHandle(execution.workflowId, execution.runId).terminate('test finished').catch(() => undefined);
      }
      await stopWorker();
      await apiServer.close();
      await Promise.all(extraApis.map((server) => server.close()));
      await driver.stopAll(2_000);
      driver.close();
      forwarder?.close();
      await podServer?.close();
      await dnsServer.close();
      store.close();
      await connection.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
