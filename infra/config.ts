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
  /** The API's bearer tokens (infra/tokens.ts). */
  auth: {
    /** ORDINAL_TOKENS_FILE, else <dataDir>/tokens.json. */
    tokensFile: string;
    /** ORDINAL_API_AUTH=required: tokens are needed even while the token file holds none. */
    required: boolean;
  };
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
    auth: {
      tokensFile: env.ORDINAL_TOKENS_FILE ? path.resolve(cwd, env.ORDINAL_TOKENS_FILE) : path.join(dataDir, 'tokens.json'),
      required: parseAuthMode(env.ORDINAL_API_AUTH) === 'required',
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
