// Runtime configuration from the environment, with the local defaults (docs/operations.md). Every component
// (worker, API, DNS server, CLI) reads the same variables so they agree on where things are.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface HostPort {
  host: string;
  port: number;
}

export interface OrdinalConfig {
  /** Where Ordinal keeps its state: Temporal's database, DNS records, instance state and logs. */
  dataDir: string;
  temporal: { address: string; namespace: string; taskQueue: string };
  /** Where `ordinal up` runs its own Temporal dev server when TEMPORAL_ADDRESS is not set. */
  devServer: { port: number; uiPort: number };
  api: HostPort;
  dns: DnsConfig;
  /** The default DNS zone the embedded server is authoritative for. */
  zone: string;
  /** Loopback pool the process driver takes instance addresses from. */
  addressPool: string;
  /** Written into every Route 53 ownership record: which Ordinal installation owns a record. */
  route53OwnerId: string;
  /**
   * The ECS/Fargate driver (sets with `template.ecs`); undefined when the worker is not configured for it.
   * On with ORDINAL_ECS=enabled or ORDINAL_ECS_ENDPOINT; credentials come from the AWS SDK's chain.
   */
  ecs?: EcsConfig;
  /**
   * ORDINAL_WORKFLOW_CACHE: how many workflows (sets and zone publishers) the worker keeps in memory;
   * undefined: sized from the heap limit (worker/workflow-cache.ts). A set out of the cache replays its
   * whole history at its next step.
   */
  workflowCache?: number;
  /**
   * ORDINAL_WORKER_METRICS=host:port: where the worker serves Prometheus metrics (GET /metrics).
   * Undefined when unset: off, except under `ordinal up`, which serves them on
   * 127.0.0.1:DEFAULTS.workerMetricsPort; false with ORDINAL_WORKER_METRICS=disabled: off everywhere.
   */
  workerMetrics?: HostPort | false;
  /** The API's bearer tokens (infra/tokens.ts). */
  auth: {
    /** ORDINAL_TOKENS_FILE, else <dataDir>/tokens.json. */
    tokensFile: string;
    /** ORDINAL_API_AUTH=required: tokens are needed even while the token file holds none. */
    required: boolean;
  };
}

/** The embedded DNS server: the host listener (`host`, `port`) and the pod listener instances resolve through. */
export interface DnsConfig extends HostPort {
  /**
   * ORDINAL_DNS_POD_ADDRESS, else the second-to-last address of ORDINAL_ADDRESS_POOL (127.77.255.254):
   * the pod listener's address, the `nameserver` of every instance's resolv.conf.
   */
  podAddress: string;
  /** ORDINAL_DNS_POD_PORT, else 53 (the only port the system resolver asks). */
  podPort: number;
  /** False with ORDINAL_DNS_POD=disabled: no pod listener. */
  podEnabled: boolean;
  /**
   * Where the pod listener forwards names outside our zones: ORDINAL_DNS_UPSTREAM, else the host's
   * /etc/resolv.conf nameservers (less our own listeners). Empty: such names get SERVFAIL.
   */
  upstreams: HostPort[];
  /**
   * ORDINAL_DNS_RECEIVERS, else the number of CPUs up to MAX_DEFAULT_DNS_RECEIVERS: processes reading
   * each listener's UDP socket (the server and receiver processes sharing it, dns/receivers.ts).
   */
  receivers: number;
}

/** The default number of DNS receivers is one per CPU, at most this many. */
export const MAX_DEFAULT_DNS_RECEIVERS = 4;
/** More would cost memory (a Node process each) for no throughput a resolver needs. */
const MAX_DNS_RECEIVERS = 64;

export interface EcsConfig {
  /** ORDINAL_ECS_REGION, else AWS_REGION, else AWS_DEFAULT_REGION, else the SDK's shared config. */
  region?: string;
  /** ORDINAL_ECS_ENDPOINT: one endpoint for ECS, EC2 and EFS (an emulator such as moto_server). */
  endpoint?: string;
  /** ORDINAL_ECS_CLUSTERS (comma-separated): where to look for a set's tasks after a restart; default every cluster. */
  clusters?: string[];
  /** ORDINAL_ECS_POLL_MS: how often watched tasks are described (default 2000). */
  pollMs?: number;
}

export const DEFAULTS = {
  dataDir: '.ordinal',
  temporalAddress: '127.0.0.1:7233',
  temporalPort: 7233,
  temporalUiPort: 8233,
  namespace: 'default',
  taskQueue: 'ordinal',
  apiHost: '127.0.0.1',
  apiPort: 7080,
  dnsHost: '127.0.0.1',
  dnsPort: 7053,
  dnsPodPort: 53,
  zone: 'ordinal.internal',
  addressPool: '127.77.0.0/16',
  route53OwnerId: 'ordinal',
  /** The worker's /metrics under `ordinal up`. */
  workerMetricsHost: '127.0.0.1',
  workerMetricsPort: 7081,
} as const;

/**
 * The configuration from `env`. `readResolvConf` gives the host's /etc/resolv.conf (the default
 * upstreams when ORDINAL_DNS_UPSTREAM is not set); tests pass their own text.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
  readResolvConf: () => string = readHostResolvConf,
): OrdinalConfig {
  const dataDir = path.resolve(cwd, env.ORDINAL_DATA_DIR || DEFAULTS.dataDir);
  const addressPool = env.ORDINAL_ADDRESS_POOL || DEFAULTS.addressPool;
  return {
    dataDir,
    temporal: {
      address: env.TEMPORAL_ADDRESS || DEFAULTS.temporalAddress,
      namespace: env.TEMPORAL_NAMESPACE || DEFAULTS.namespace,
      taskQueue: env.ORDINAL_TASK_QUEUE || DEFAULTS.taskQueue,
    },
    devServer: {
      port: parsePort('ORDINAL_TEMPORAL_PORT', env.ORDINAL_TEMPORAL_PORT, DEFAULTS.temporalPort),
      uiPort: parsePort('ORDINAL_TEMPORAL_UI_PORT', env.ORDINAL_TEMPORAL_UI_PORT, DEFAULTS.temporalUiPort),
    },
    api: {
      host: env.ORDINAL_API_HOST || DEFAULTS.apiHost,
      port: parsePort('ORDINAL_API_PORT', env.ORDINAL_API_PORT, DEFAULTS.apiPort),
    },
    dns: dnsConfig(env, addressPool, readResolvConf),
    zone: env.ORDINAL_DNS_ZONE || DEFAULTS.zone,
    addressPool,
    route53OwnerId: env.ORDINAL_ROUTE53_OWNER_ID || DEFAULTS.route53OwnerId,
    ...ecsConfig(env),
    ...workflowCacheConfig(env.ORDINAL_WORKFLOW_CACHE),
    ...workerMetricsConfig(env.ORDINAL_WORKER_METRICS),
    auth: {
      tokensFile: env.ORDINAL_TOKENS_FILE ? path.resolve(cwd, env.ORDINAL_TOKENS_FILE) : path.join(dataDir, 'tokens.json'),
      required: parseAuthMode(env.ORDINAL_API_AUTH) === 'required',
    },
  };
}

function dnsConfig(env: NodeJS.ProcessEnv, addressPool: string, readResolvConf: () => string): DnsConfig {
  const host = env.ORDINAL_DNS_HOST || DEFAULTS.dnsHost;
  const port = parsePort('ORDINAL_DNS_PORT', env.ORDINAL_DNS_PORT, DEFAULTS.dnsPort);
  const mode = env.ORDINAL_DNS_POD ?? '';
  if (!['', 'enabled', 'disabled'].includes(mode)) {
    throw new Error(`ORDINAL_DNS_POD must be 'enabled' (the default) or 'disabled', got '${mode}'`);
  }
  const podEnabled = mode !== 'disabled';
  let podAddress = env.ORDINAL_DNS_POD_ADDRESS || undefined;
  if (podAddress !== undefined) {
    if (net.isIP(podAddress) === 0 || podAddress === '0.0.0.0' || podAddress === '::') {
      throw new Error(`ORDINAL_DNS_POD_ADDRESS must be one IPv4 or IPv6 address (not a wildcard), got '${podAddress}'`);
    }
  } else {
    try {
      podAddress = defaultPodDnsAddress(addressPool);
    } catch (error) {
      throw new Error(`ORDINAL_ADDRESS_POOL: ${(error as Error).message} (the pod DNS address is derived from it; or set ORDINAL_DNS_POD_ADDRESS)`);
    }
  }
  const podPort = parsePort('ORDINAL_DNS_POD_PORT', env.ORDINAL_DNS_POD_PORT, DEFAULTS.dnsPodPort);
  if (podEnabled && sameListener({ host, port }, { host: podAddress, port: podPort })) {
    throw new Error(
      `ORDINAL_DNS_POD_ADDRESS:ORDINAL_DNS_POD_PORT (${podAddress}:${podPort}) must differ from ORDINAL_DNS_HOST:ORDINAL_DNS_PORT; or set ORDINAL_DNS_POD=disabled`,
    );
  }
  const own = [{ host, port }, ...(podEnabled ? [{ host: podAddress, port: podPort }] : [])];
  let upstreams: HostPort[];
  if (env.ORDINAL_DNS_UPSTREAM) {
    upstreams = parseUpstreams(env.ORDINAL_DNS_UPSTREAM);
    const loop = upstreams.find((u) => own.some((listener) => sameListener(listener, u)));
    if (loop) throw new Error(`ORDINAL_DNS_UPSTREAM must not name this server's own listener ${formatHostPort(loop)}`);
  } else {
    upstreams = defaultUpstreams(readResolvConf(), own);
  }
  return { host, port, podAddress, podPort, podEnabled, upstreams, receivers: dnsReceivers(env.ORDINAL_DNS_RECEIVERS) };
}

function dnsReceivers(value: string | undefined): number {
  if (value === undefined || value === '') return Math.min(os.availableParallelism(), MAX_DEFAULT_DNS_RECEIVERS);
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1 || count > MAX_DNS_RECEIVERS) {
    throw new Error(`ORDINAL_DNS_RECEIVERS must be a whole number from 1 to ${MAX_DNS_RECEIVERS}, got '${value}'`);
  }
  return count;
}

/**
 * The pod DNS address a pool implies: its second-to-last address (127.77.0.0/16 -> 127.77.255.254),
 * which the process driver never hands to an instance. Throws when `pool` is not an IPv4 CIDR block
 * of at least 4 addresses.
 */
export function defaultPodDnsAddress(pool: string): string {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(pool.trim());
  const octets = match ? match.slice(1, 5).map(Number) : [];
  const prefix = match ? Number(match[5]) : NaN;
  if (!match || octets.some((o) => o > 255) || !(prefix >= 0 && prefix <= 30)) {
    throw new Error(`'${pool}' is not an IPv4 CIDR block of at least 4 addresses, such as 127.77.0.0/16`);
  }
  const size = 2 ** (32 - prefix);
  const address = octets.reduce((n, o) => n * 256 + o, 0);
  const network = address - (address % size);
  const n = network + size - 2;
  return [Math.floor(n / 2 ** 24) % 256, Math.floor(n / 2 ** 16) % 256, Math.floor(n / 256) % 256, n % 256].join('.');
}

/**
 * Parses ORDINAL_DNS_UPSTREAM: comma-separated `ip`, `ip:port`, IPv6 `ip` or `[ip]:port` (port 53 when
 * none), or `none` for no upstream. Throws an error naming the variable and the bad entry.
 */
export function parseUpstreams(value: string, variable = 'ORDINAL_DNS_UPSTREAM'): HostPort[] {
  if (value.trim() === 'none') return [];
  const upstreams: HostPort[] = [];
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const upstream = parseHostPort(entry);
    if (upstream === undefined) {
      throw new Error(`${variable} must be comma-separated IP addresses with optional ports (1.1.1.1, 10.0.0.2:5353, [2001:db8::1]:53) or 'none', got '${entry}'`);
    }
    upstreams.push(upstream);
  }
  if (upstreams.length === 0) throw new Error(`${variable} names no upstream; use 'none' for no forwarding`);
  return upstreams;
}

function parseHostPort(entry: string): HostPort | undefined {
  let host: string;
  let port = '53';
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) {
    host = bracketed[1];
    port = bracketed[2] ?? port;
    if (!net.isIPv6(host)) return undefined;
  } else if (net.isIPv6(entry)) {
    host = entry;
  } else {
    const colon = entry.lastIndexOf(':');
    host = colon < 0 ? entry : entry.slice(0, colon);
    if (colon >= 0) port = entry.slice(colon + 1);
    if (!net.isIPv4(host)) return undefined;
  }
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return undefined;
  return { host, port: Number(port) };
}

/** The `nameserver` addresses of resolv.conf text (port 53), in order; lines that are not an IP are skipped, as glibc does. */
export function resolvConfNameservers(text: string): HostPort[] {
  const servers: HostPort[] = [];
  for (const line of text.split('\n')) {
    const [keyword, address] = line.trim().split(/\s+/);
    if (keyword === 'nameserver' && address !== undefined && net.isIP(address) !== 0) servers.push({ host: address, port: 53 });
  }
  return servers;
}

/**
 * The default upstreams: resolv.conf's nameservers, less any of `ownListeners` (a host whose resolv.conf
 * names our pod listener must not make us forward to ourselves).
 */
export function defaultUpstreams(resolvConf: string, ownListeners: readonly HostPort[]): HostPort[] {
  return resolvConfNameservers(resolvConf).filter((server) => !ownListeners.some((own) => sameListener(own, server)));
}

/** True when a listener on `a` receives what is sent to `b` (a wildcard listener receives every loopback address). */
function sameListener(a: HostPort, b: HostPort): boolean {
  if (a.port !== b.port) return false;
  const wildcard = a.host === '0.0.0.0' || a.host === '::' || a.host === '';
  if (wildcard) return isLoopbackAddress(b.host);
  return a.host === b.host || (a.host === 'localhost' && isLoopbackAddress(b.host));
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback addresses. */
export function isLoopbackAddress(address: string): boolean {
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return (net.isIPv4(v4) && v4.startsWith('127.')) || address === '::1' || address === '0:0:0:0:0:0:0:1';
}

export function formatHostPort({ host, port }: HostPort): string {
  return net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
}

function readHostResolvConf(): string {
  try {
    return fs.readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}

/**
 * What identifies this installation (its data directory, wherever it is reached from): the embedded
 * DNS server answers it to `id.server` CH TXT, so a worker can tell its own pod listener from another's.
 */
export function installationId(dataDir: string): string {
  let real: string;
  try {
    real = fs.realpathSync(dataDir);
  } catch {
    real = path.resolve(dataDir);
  }
  return `ordinal-${createHash('sha256').update(real).digest('hex').slice(0, 16)}`;
}

/**
 * Where the worker serves /metrics: ORDINAL_WORKER_METRICS; when unset, nowhere, except under `ordinal
 * up` (`localSystem`), which serves them on 127.0.0.1:7081.
 */
export function workerMetricsListener(config: OrdinalConfig, localSystem: boolean): HostPort | undefined {
  if (config.workerMetrics === false) return undefined;
  if (config.workerMetrics === undefined) return localSystem ? { host: DEFAULTS.workerMetricsHost, port: DEFAULTS.workerMetricsPort } : undefined;
  return config.workerMetrics;
}

function workerMetricsConfig(value: string | undefined): { workerMetrics?: HostPort | false } {
  if (value === undefined || value === '') return {};
  if (value === 'disabled') return { workerMetrics: false };
  const match = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new Error(`ORDINAL_WORKER_METRICS must be host:port (127.0.0.1:7081, [::1]:7081, 0.0.0.0:7081; port 0: any free port) or 'disabled', got '${value}'`);
  }
  return { workerMetrics: { host: match[1] ?? match[2], port } };
}

function workflowCacheConfig(value: string | undefined): { workflowCache?: number } {
  if (value === undefined || value === '') return {};
  const n = Number(value);
  if (!Number.isInteger(n) || n < 2 || n > 1_000_000) throw new Error(`ORDINAL_WORKFLOW_CACHE must be an integer from 2 to 1000000 (workflows kept in memory), got '${value}'`);
  return { workflowCache: n };
}

function ecsConfig(env: NodeJS.ProcessEnv): { ecs?: EcsConfig } {
  const mode = env.ORDINAL_ECS ?? '';
  if (!['', 'enabled', 'disabled'].includes(mode)) {
    throw new Error(`ORDINAL_ECS must be 'enabled' or 'disabled' (the default, unless ORDINAL_ECS_ENDPOINT is set), got '${mode}'`);
  }
  const endpoint = env.ORDINAL_ECS_ENDPOINT || undefined;
  if (mode === 'disabled' || (mode === '' && !endpoint)) return {};
  if (endpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(endpoint)) {
    throw new Error(`ORDINAL_ECS_ENDPOINT must be an http(s) URL, got '${endpoint}'`);
  }
  const region = env.ORDINAL_ECS_REGION || env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
  const clusters = (env.ORDINAL_ECS_CLUSTERS ?? '')
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  const poll = env.ORDINAL_ECS_POLL_MS;
  let pollMs: number | undefined;
  if (poll !== undefined && poll !== '') {
    pollMs = Number(poll);
    if (!Number.isInteger(pollMs) || pollMs < 10 || pollMs > 600_000) throw new Error(`ORDINAL_ECS_POLL_MS must be an integer from 10 to 600000, got '${poll}'`);
  }
  return {
    ecs: {
      ...(region ? { region } : {}),
      ...(endpoint ? { endpoint } : {}),
      ...(clusters.length > 0 ? { clusters } : {}),
      ...(pollMs !== undefined ? { pollMs } : {}),
    },
  };
}

function parseAuthMode(value: string | undefined): 'auto' | 'required' {
  if (value === undefined || value === '' || value === 'auto') return 'auto';
  if (value === 'required') return 'required';
  throw new Error(`ORDINAL_API_AUTH must be 'required' or 'auto' (the default: tokens are needed once the token file holds one), got '${value}'`);
}

/** Files and folders inside the data directory. */
export function dataPaths(dataDir: string) {
  return {
    temporalDb: path.join(dataDir, 'temporal.db'),
    dnsDb: path.join(dataDir, 'dns.db'),
    instancesDb: path.join(dataDir, 'instances.db'),
    logsDir: path.join(dataDir, 'logs'),
    tokensFile: path.join(dataDir, 'tokens.json'),
  };
}

function parsePort(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`${name} must be a port number from 0 to 65535, got '${value}'`);
  }
  return port;
}
