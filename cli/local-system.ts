// What `ordinal up`, `worker`, `api` and `dns` run. Loaded only by those commands: the client
// commands stay quick to start.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { startApiServer, createSetsService } from '../api/server.js';
import { createForwarder } from '../dns/forwarder.js';
import { startDnsServer, type DnsServer } from '../dns/server.js';
import { DnsStore } from '../dns/store.js';
import { dataPaths, formatHostPort, installationId, loadConfig, workerMetricsListener, type OrdinalConfig } from '../infra/config.js';
import { ensureSearchAttributes, startDevServer, type DevServer } from '../infra/dev-server.js';
import { logToFile, logger } from '../infra/logger.js';
import { temporalConnectionOptions } from '../infra/temporal-connection.js';
import { createOrdinalWorker } from '../worker/worker.js';
import { DEV_SERVER_HOST, explainStartFailure, portNeeds, preflightPorts, temporalUnreachableError, type PortNeed } from './port-preflight.js';
import { loadDemoManifest, type DemoManifest } from './demo-manifest.js';
import { rolloutProgress } from './rollout.js';

type Stop = () => Promise<void>;

export async function up(config: OrdinalConfig, options: { demo?: boolean; example?: string }): Promise<void> {
  // The demo's manifest first: a file that is missing or invalid stops `up` before anything starts.
  const example = options.demo ? loadDemoManifest(options.example) : undefined;
  // Before anything starts: every port it will listen on is free, and a Temporal server it is pointed
  // at answers. Otherwise one block says what is wrong (port-preflight.ts) and nothing was started.
  const needs = portNeeds(config, 'up');
  await preflightPorts(needs);
  const externalTemporal = Boolean(process.env.TEMPORAL_ADDRESS);
  if (externalTemporal) await ensureServerSearchAttributes(config, 'up');

  mkdirSync(config.dataDir, { recursive: true });
  // The terminal shows what people need; the components' logs go to a file.
  const logFile = path.join(config.dataDir, 'logs', 'ordinal.log');
  logToFile(logFile);
  const stops: Stop[] = [];
  let stopping = false;
  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping...');
    for (const stop of stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        logger.error({ err }, 'error while stopping');
      }
    }
    console.log('stopped');
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(0)));
  process.once('SIGTERM', () => void stopAll().then(() => process.exit(0)));

  // First the DNS server: should a listener fail to bind after all (taken since the check), `up` fails
  // before anything else starts.
  stops.push(await startDns(config, { quiet: true }));

  try {
    let uiUrl: string | undefined;
    if (!externalTemporal) {
      console.log('starting the Temporal dev server...');
      const server: DevServer = await startDevServer({
        dbFile: dataPaths(config.dataDir).temporalDb,
        ip: DEV_SERVER_HOST,
        port: config.devServer.port,
        uiPort: config.devServer.uiPort,
        namespace: config.temporal.namespace,
        logFile: path.join(config.dataDir, 'temporal.log'),
        detached: true,
      }).catch(async (err: unknown) => {
        throw await explainStartFailure(err, needs.filter((need) => need.component === 'temporal'));
      });
      stops.push(() => server.stop());
      uiUrl = server.uiUrl;
      // The dashboard links each set to its workflow in this UI, unless ORDINAL_TEMPORAL_UI_URL says otherwise.
      config = { ...config, temporal: { ...config.temporal, address: server.address, uiUrl: config.temporal.uiUrl ?? uiUrl } };
    }

    console.log('starting the worker (bundling workflows takes a few seconds)...');
    // Metrics are on by default here (ORDINAL_WORKER_METRICS=disabled turns them off).
    const worker = await createOrdinalWorker({ ...config, workerMetrics: workerMetricsListener(config, true) ?? false });
    const running = worker.run();
    stops.push(async () => {
      // Stop the worker first so nothing recreates instances while they are being stopped.
      await worker.shutdown();
      await running.catch(() => undefined);
      await worker.driver.stopAll(10_000);
      worker.driver.close();
      clearDnsRecords(config);
    });

    const { service, zones, watch, close } = await createSetsService(config);
    const api = await startApiServer({ config, sets: service, zones, watch, logger }).catch(async (err: unknown) => {
      await close();
      throw await explainStartFailure(err, needs.filter((need) => need.component === 'api'));
    });
    stops.push(async () => {
      await api.close();
      await close();
    });

    console.log(`
Ordinal is up (data in ${config.dataDir})
  API          ${api.url}${api.authenticated ? ' (bearer tokens required: ORDINAL_TOKEN)' : ''}
  Dashboard    ${api.url}/ui/
  Metrics      ${worker.metricsUrl ? `${worker.metricsUrl} (worker), ` : ''}${api.url}/metrics (API${api.authenticated ? ', read scope' : ''})
  DNS          ${config.dns.host}:${config.dns.port} (UDP and TCP), zone ${config.zone}${config.dns.podEnabled ? `\n  Pod DNS      ${podListenerSummary(config)}` : ''}
  Temporal     ${config.temporal.address}${uiUrl ? `\n  Temporal UI  ${uiUrl}` : ''}
  Logs         ${logFile} (instances: ${path.join(config.dataDir, 'logs')}/<name>.log)
Press Ctrl-C to stop everything (instances included).
`);

    if (example) await demo(config, service, example);
    await running;
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function demo(config: OrdinalConfig, service: Awaited<ReturnType<typeof createSetsService>>['service'], { manifest, source }: DemoManifest): Promise<void> {
  const name = manifest.metadata.name;
  const result = await service.apply(name, manifest, { requestedBy: 'ordinal up --demo' });
  console.log(`set ${name} ${result.created ? 'created' : 'configured'} from ${source}; waiting for it to be Ready...`);
  let last = '';
  for (;;) {
    const view = await service.get(name);
    if (!view) throw new Error(`set ${name} disappeared`);
    const progress = rolloutProgress(view);
    const lines = progress.lines.join('\n');
    if (lines !== last) console.log(lines);
    last = lines;
    if (progress.done) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  const spec = manifest.spec;
  const dnsPort = config.dns.port;
  const service0 = `${spec.serviceName}.${spec.dns.zone}`;
  console.log(`
Try:
  dig @127.0.0.1 -p ${dnsPort} +short ${name}-0.${service0}
  dig @127.0.0.1 -p ${dnsPort} +short ${service0}
  dig @127.0.0.1 -p ${dnsPort} +short SRV _http._tcp.${service0}
  curl -s http://$(dig @127.0.0.1 -p ${dnsPort} +short ${name}-1.${service0}):8080/
  ./bin/ordinal.js get ${name}
  kill -9 $(curl -s http://$(dig @127.0.0.1 -p ${dnsPort} +short ${name}-1.${service0}):8080/pid)
  ./bin/ordinal.js get ${name}          # ${name}-1 is back under the same name, at a new address
  ./bin/ordinal.js delete-instance ${name} 2
  ./bin/ordinal.js describe ${name}     # what happened, with its events (the dashboard shows it live)
`);
}

/** `ordinal worker`: polls until SIGINT/SIGTERM; instances keep running after it stops. */
export async function runWorker(config: OrdinalConfig): Promise<void> {
  // It binds no port, but without Temporal it has nothing to do: say so before anything starts.
  await ensureServerSearchAttributes(config, 'worker');
  mkdirSync(config.dataDir, { recursive: true });
  const worker = await createOrdinalWorker(config);
  console.log(`worker polling task queue '${config.temporal.taskQueue}' on ${config.temporal.address} (data in ${config.dataDir})`);
  if (worker.metricsUrl) console.log(`worker metrics on ${worker.metricsUrl}`);
  untilSignal(() => worker.shutdown());
  await worker.run();
}

export async function runApi(config: OrdinalConfig): Promise<void> {
  const needs = portNeeds(config, 'api');
  await preflightPorts(needs);
  untilSignal(await startApi(config, needs));
}

export async function runDns(config: OrdinalConfig): Promise<void> {
  await preflightPorts(portNeeds(config, 'dns'));
  untilSignal(await startDns(config));
}

/**
 * The DNS server's listeners over one store: the host listener (authoritative only) and, unless
 * ORDINAL_DNS_POD=disabled, the pod listener on <podAddress>:53 that instances' resolv.conf names, which
 * also forwards other names to the upstreams. A listener that cannot bind fails with a DnsBindError.
 */
async function startDns(config: OrdinalConfig, opts: { quiet?: boolean } = {}): Promise<Stop> {
  mkdirSync(config.dataDir, { recursive: true });
  const dnsLogger = logger.child({ component: 'dns' });
  const identity = installationId(config.dataDir);
  const store = DnsStore.open(dataPaths(config.dataDir).dnsDb, config.zone);
  const forwarder = createForwarder({ upstreams: config.dns.upstreams, logger: dnsLogger });
  const servers: DnsServer[] = [];
  const stop = async () => {
    forwarder.close();
    for (const server of servers.splice(0)) await server.close();
    store.close();
  };
  try {
    const { host, port, receivers } = config.dns;
    servers.push(
      await startDnsServer({ host, port, store, identity, receivers, logger: dnsLogger }).catch((err: unknown) => {
        throw dnsBindError(err, 'host', host, port);
      }),
    );
    if (config.dns.podEnabled) {
      const { podAddress, podPort } = config.dns;
      servers.push(
        await startDnsServer({ host: podAddress, port: podPort, store, forwarder, identity, receivers, logger: dnsLogger }).catch((err: unknown) => {
          throw dnsBindError(err, 'pod', podAddress, podPort);
        }),
      );
    }
    if (!opts.quiet) {
      const answering = servers[0].receivers === 1 ? '' : `, ${servers[0].receivers} processes answering UDP`;
      console.log(`DNS server on ${host}:${servers[0].udpPort} (UDP and TCP${answering}), zone ${config.zone}, records in ${config.dataDir}`);
      console.log(config.dns.podEnabled ? `DNS pod listener on ${podListenerSummary(config)}` : 'DNS pod listener disabled (ORDINAL_DNS_POD=disabled)');
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return stop;
}

function podListenerSummary(config: OrdinalConfig): string {
  const { podAddress, podPort, upstreams } = config.dns;
  const forwards = upstreams.length > 0 ? `forwards other names to ${upstreams.map(formatHostPort).join(', ')}` : 'no upstream: other names get SERVFAIL';
  return `${formatHostPort({ host: podAddress, port: podPort })} (UDP and TCP, instances' resolv.conf; ${forwards})`;
}

/**
 * A listener that could not bind, as a one-line error with the fix (server-commands prints it without a
 * stack trace); other errors pass through.
 */
export function dnsBindError(err: unknown, listener: 'host' | 'pod', host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'EACCES' && code !== 'EADDRINUSE' && code !== 'EADDRNOTAVAIL' && code !== 'EPERM') return err;
  const where = formatHostPort({ host, port });
  const cause =
    code === 'EADDRINUSE'
      ? 'the address is in use (another Ordinal installation or a local resolver listens there)'
      : code === 'EADDRNOTAVAIL'
        ? 'the address is not on this host'
        : `binding port ${port} needs privileges`;
  let fix: string;
  if (listener === 'host') {
    fix = 'set ORDINAL_DNS_HOST and ORDINAL_DNS_PORT to a free address and port';
  } else {
    const privileged =
      'run as root, or let node bind port 53: sudo setcap cap_net_bind_service=+ep $(readlink -f $(which node)), ' +
      'or sudo sysctl net.ipv4.ip_unprivileged_port_start=53';
    const elsewhere = 'set ORDINAL_DNS_POD_ADDRESS (or ORDINAL_ADDRESS_POOL) to a free address';
    const off = "or set ORDINAL_DNS_POD=disabled (sets then need 'isolation: none' in their process template)";
    fix = code === 'EACCES' || code === 'EPERM' ? `${privileged}; ${off}` : `${elsewhere}; ${off}`;
  }
  const error = new Error(`cannot listen on ${where} (UDP and TCP) for the DNS ${listener} listener (${code}): ${cause}. Fix: ${fix}`);
  error.name = 'DnsBindError';
  return error;
}

async function startApi(config: OrdinalConfig, needs: PortNeed[]): Promise<Stop> {
  const { service, zones, watch, close } = await createSetsService(config);
  const api = await startApiServer({ config, sets: service, zones, watch, logger }).catch(async (err: unknown) => {
    await close();
    throw await explainStartFailure(err, needs);
  });
  console.log(`API on ${api.url} (Temporal ${config.temporal.address}; ${api.authenticated ? `bearer tokens from ${config.auth.tokensFile}` : 'no authentication: loopback only'})`);
  return async () => {
    await api.close();
    await close();
  };
}

/** On a clean local shutdown no instance runs, so no name may resolve to one. */
function clearDnsRecords(config: OrdinalConfig): void {
  const store = DnsStore.open(dataPaths(config.dataDir).dnsDb, config.zone);
  try {
    store.clear();
  } finally {
    store.close();
  }
}

/** Registers the search attributes on the server TEMPORAL_ADDRESS names; one that cannot be reached is a TemporalUnreachableError. */
async function ensureServerSearchAttributes(config: OrdinalConfig, command: 'up' | 'worker'): Promise<void> {
  const options = temporalConnectionOptions(config);
  let connection: Connection;
  try {
    connection = await Connection.connect(options);
  } catch (err) {
    throw temporalUnreachableError(options.address, Boolean(process.env.TEMPORAL_ADDRESS), err, command);
  }
  try {
    await ensureSearchAttributes(connection, config.temporal.namespace);
  } finally {
    await connection.close();
  }
}

function untilSignal(stop: Stop): void {
  const handler = () => {
    void stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
}
