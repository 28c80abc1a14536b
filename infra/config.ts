// Runtime configuration from the environment, with the local defaults of DESIGN.md. Every component
// (worker, API, DNS server, CLI) reads the same variables so they agree on where things are.
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
  dns: HostPort;
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
  /** The API's bearer tokens (infra/tokens.ts). */
  auth: {
    /** ORDINAL_TOKENS_FILE, else <dataDir>/tokens.json. */
    tokensFile: string;
    /** ORDINAL_API_AUTH=required: tokens are needed even while the token file holds none. */
    required: boolean;
  };
}

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
  zone: 'ordinal.internal',
  addressPool: '127.77.0.0/16',
  route53OwnerId: 'ordinal',
} as const;

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): OrdinalConfig {
  const dataDir = path.resolve(cwd, env.ORDINAL_DATA_DIR || DEFAULTS.dataDir);
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
    dns: {
      host: env.ORDINAL_DNS_HOST || DEFAULTS.dnsHost,
      port: parsePort('ORDINAL_DNS_PORT', env.ORDINAL_DNS_PORT, DEFAULTS.dnsPort),
    },
    zone: env.ORDINAL_DNS_ZONE || DEFAULTS.zone,
    addressPool: env.ORDINAL_ADDRESS_POOL || DEFAULTS.addressPool,
    route53OwnerId: env.ORDINAL_ROUTE53_OWNER_ID || DEFAULTS.route53OwnerId,
    ...ecsConfig(env),
    auth: {
      tokensFile: env.ORDINAL_TOKENS_FILE ? path.resolve(cwd, env.ORDINAL_TOKENS_FILE) : path.join(dataDir, 'tokens.json'),
      required: parseAuthMode(env.ORDINAL_API_AUTH) === 'required',
    },
  };
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
