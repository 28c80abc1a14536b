// The local Temporal server: `temporal server start-dev` with a persistent SQLite file and Ordinal's
// search attributes, started as a child process and awaited until a real client can use it.
import net from 'node:net';
import { Connection } from '@temporalio/client';
import { freePort, ManagedProcess, sleep } from './child-processes.js';
import { logger } from './logger.js';
import { findTemporalCli } from './tools.js';

export type SearchAttributeType = 'Text' | 'Keyword' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';

/** The search attributes Ordinal's workflows upsert (docs/operations.md, Temporal search attributes). */
export const ORDINAL_SEARCH_ATTRIBUTES: Readonly<Record<string, SearchAttributeType>> = Object.freeze({
  OrdinalSet: 'Keyword',
  OrdinalReplicas: 'Int',
  OrdinalReadyReplicas: 'Int',
  OrdinalPhase: 'Keyword',
});

/** temporal.api.enums.v1.IndexedValueType, by name. */
const INDEXED_VALUE_TYPE: Record<SearchAttributeType, number> = {
  Text: 1,
  Keyword: 2,
  Int: 3,
  Double: 4,
  Bool: 5,
  Datetime: 6,
  KeywordList: 7,
};
const TYPE_NAME = new Map<number, SearchAttributeType>(
  Object.entries(INDEXED_VALUE_TYPE).map(([name, value]) => [value, name as SearchAttributeType]),
);

/**
 * The server keeps everything in one SQLite file behind one history shard, so its write rate bounds
 * how many sets it runs (each running watch heartbeats, each a write). SQLite's default rollback
 * journal syncs several times per transaction; a write-ahead log syncs once per commit, with the
 * same durability (synchronous=FULL). Measured in docs/benchmarks.md (many-small).
 */
const SQLITE_PRAGMAS = ['--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=full'];

export interface DevServerOptions {
  /** Path of the Temporal CLI (default: findTemporalCli(), which may install it). */
  cli?: string;
  /** SQLite file that keeps namespaces, workflows and search attributes across restarts. */
  dbFile: string;
  /** Address the gRPC frontend (and UI) bind to (default 127.0.0.1). */
  ip?: string;
  /** gRPC port; 0 picks a free one (default 0). */
  port?: number;
  /** UI port; 0 picks a free one; 'headless' disables the UI (default 0). */
  uiPort?: number | 'headless';
  /** Namespace to create at start and to wait for (default 'default', which always exists). */
  namespace?: string;
  /** Append the server's output to this file (it is always kept in memory, for error messages). */
  logFile?: string;
  /** Search attributes to register and wait for (default ORDINAL_SEARCH_ATTRIBUTES). */
  searchAttributes?: Readonly<Record<string, SearchAttributeType>>;
  /** How long to wait for the server to be usable (default 120 s: machines can be slow). */
  deadlineMs?: number;
  /** Server log level (default 'warn'). */
  logLevel?: 'debug' | 'info' | 'warn' | 'error' | 'never';
  /** Own process group, so a terminal's Ctrl-C does not reach it and the caller decides when to stop it. */
  detached?: boolean;
  /** Extra arguments for `temporal server start-dev`, e.g. ['--dynamic-config-value', 'K=V']. */
  extraArgs?: string[];
}

export interface DevServer {
  /** gRPC address, 'host:port'. */
  address: string;
  /** Web UI URL, unless headless. */
  uiUrl?: string;
  namespace: string;
  pid: number;
  dbFile: string;
  /** Last lines of the server's output. */
  outputTail(lines?: number): string;
  /** SIGTERM, wait for exit (up to deadlineMs, default 15 s), then SIGKILL. Idempotent. */
  stop(deadlineMs?: number): Promise<void>;
}

/** Starts `temporal server start-dev` and resolves once a client can use it and its search attributes exist. */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const cli = options.cli ?? (await findTemporalCli());
  // A port we pick can be taken by someone else before the server binds it; retry with fresh ones.
  const autoPorts = !options.port || options.uiPort === 0 || options.uiPort === undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(cli, options);
    } catch (err) {
      if (!(err instanceof PortInUseError) || !autoPorts || attempt >= 3) throw err;
      logger.debug({ err: err.message, attempt }, 'dev server port was taken, retrying with other ports');
    }
  }
}

class PortInUseError extends Error {}

async function startOnce(cli: string, options: DevServerOptions): Promise<DevServer> {
  const ip = options.ip ?? '127.0.0.1';
  const namespace = options.namespace ?? 'default';
  const searchAttributes = options.searchAttributes ?? ORDINAL_SEARCH_ATTRIBUTES;
  const deadlineMs = options.deadlineMs ?? 120_000;
  const port = options.port || (await freePort(ip));
  const uiPort =
    options.uiPort === 'headless' ? undefined : options.uiPort || (await freePortOtherThan(ip, [port]));

  const args = ['server', 'start-dev', '--db-filename', options.dbFile, '--ip', ip, '--port', String(port), ...SQLITE_PRAGMAS];
  args.push(...(uiPort === undefined ? ['--headless'] : ['--ui-port', String(uiPort)]));
  if (namespace !== 'default') args.push('--namespace', namespace);
  for (const [name, type] of Object.entries(searchAttributes)) args.push('--search-attribute', `${name}=${type}`);
  args.push('--log-level', options.logLevel ?? 'warn', ...(options.extraArgs ?? []));

  // With a fixed port, a server already listening there (another dev server) would answer our
  // readiness checks while ours fails to bind: refuse up front instead.
  if (options.port) await assertPortFree(ip, port, 'gRPC');
  if (typeof options.uiPort === 'number' && options.uiPort) await assertPortFree(ip, options.uiPort, 'UI');

  const started = Date.now();
  const proc = await ManagedProcess.start(cli, args, {
    name: 'temporal dev server',
    logFile: options.logFile,
    detached: options.detached,
  });
  const address = `${formatHost(ip)}:${port}`;
  try {
    await waitUntilUsable(proc, address, namespace, searchAttributes, started + deadlineMs);
  } catch (err) {
    await proc.stop(5_000);
    if (/address already in use/i.test(proc.output.text())) throw new PortInUseError(proc.describeExit());
    throw err;
  }
  if (!proc.running) throw new Error(`temporal dev server exited right after it was ready: ${proc.describeExit()}`);
  logger.debug({ address, pid: proc.pid, ms: Date.now() - started, dbFile: options.dbFile }, 'temporal dev server ready');
  return {
    address,
    uiUrl: uiPort === undefined ? undefined : `http://${formatHost(ip)}:${uiPort}`,
    namespace,
    pid: proc.pid,
    dbFile: options.dbFile,
    outputTail: (lines?: number) => proc.output.tail(lines),
    stop: (stopDeadlineMs?: number) => proc.stop(stopDeadlineMs),
  };
}

async function assertPortFree(host: string, port: number, what: string): Promise<void> {
  const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
  if (error?.code === 'EADDRINUSE') {
    throw new Error(`cannot start the temporal dev server: ${what} port ${host}:${port} is already in use (another Temporal server?)`);
  }
  if (error) throw new Error(`cannot start the temporal dev server on ${host}:${port}: ${error.message}`);
}

async function freePortOtherThan(host: string, taken: number[]): Promise<number> {
  for (;;) {
    const port = await freePort(host);
    if (!taken.includes(port)) return port;
  }
}

function formatHost(ip: string): string {
  return ip.includes(':') ? `[${ip}]` : ip;
}

/**
 * Polls until the server answers getSystemInfo and describeNamespace and lists every wanted search
 * attribute with its type. Fails early, with the server's output, if the process exits.
 */
async function waitUntilUsable(
  proc: ManagedProcess,
  address: string,
  namespace: string,
  searchAttributes: Readonly<Record<string, SearchAttributeType>>,
  deadline: number,
): Promise<void> {
  let lastError = 'no attempt yet';
  let delay = 50;
  const exited = proc.exited.then(() => 'exited' as const);
  while (proc.running) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new Error(
        `temporal dev server at ${address} was not usable within the deadline; last error: ${lastError}\n` +
          proc.describeExit(),
      );
    }
    const attempt = checkUsable(address, namespace, searchAttributes, Math.min(remaining, 10_000)).then(
      (missing) => (missing ? `not ready yet: ${missing}` : 'ok'),
      (err: unknown) => (err instanceof Error ? err.message : String(err)),
    );
    const outcome = await Promise.race([attempt, exited]);
    if (outcome === 'ok') return;
    if (outcome === 'exited') break;
    lastError = outcome;
    await Promise.race([sleep(Math.min(delay, Math.max(0, deadline - Date.now()))), exited]);
    delay = Math.min(delay * 2, 1_000);
  }
  await proc.exited;
  throw new Error(`temporal dev server exited before it was ready: ${proc.describeExit()}`);
}

/** One readiness check; resolves with a description of what is missing, or undefined when usable. */
async function checkUsable(
  address: string,
  namespace: string,
  searchAttributes: Readonly<Record<string, SearchAttributeType>>,
  timeoutMs: number,
): Promise<string | undefined> {
  const connection = Connection.lazy({ address, connectTimeout: timeoutMs });
  try {
    await connection.ensureConnected();
    return await connection.withDeadline(Date.now() + timeoutMs, async () => {
      await connection.workflowService.getSystemInfo({});
      await connection.workflowService.describeNamespace({ namespace });
      const problems = diffSearchAttributes(await listCustomSearchAttributes(connection, namespace), searchAttributes);
      return problems.length ? problems.join('; ') : undefined;
    });
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** The custom search attributes of `namespace`, by name, with their type names. */
export async function listCustomSearchAttributes(
  connection: Connection,
  namespace: string,
): Promise<Record<string, SearchAttributeType | string>> {
  const response = await connection.operatorService.listSearchAttributes({ namespace });
  const result: Record<string, SearchAttributeType | string> = {};
  for (const [name, type] of Object.entries(response.customAttributes ?? {})) result[name] = typeName(type);
  return result;
}

function typeName(value: unknown): SearchAttributeType | string {
  if (typeof value === 'number') return TYPE_NAME.get(value) ?? `type ${value}`;
  // Enums decoded as strings: INDEXED_VALUE_TYPE_KEYWORD_LIST -> KeywordList
  const raw = String(value).replace(/^INDEXED_VALUE_TYPE_/, '');
  const match = Object.keys(INDEXED_VALUE_TYPE).find((name) => name.toUpperCase() === raw.replace(/_/g, ''));
  return match ?? raw;
}

function diffSearchAttributes(
  existing: Record<string, string>,
  wanted: Readonly<Record<string, SearchAttributeType>>,
): string[] {
  const problems: string[] = [];
  for (const [name, type] of Object.entries(wanted)) {
    if (!(name in existing)) problems.push(`search attribute ${name} is missing`);
    else if (existing[name] !== type) problems.push(`search attribute ${name} is ${existing[name]}, not ${type}`);
  }
  return problems;
}

/**
 * Registers Ordinal's search attributes (or `wanted`) on `namespace` of an existing Temporal server
 * where they are missing, and waits until they are listed. Fails if one exists with another type.
 * Needs the operator service (a self-hosted server; Temporal Cloud registers them through its own API).
 */
export async function ensureSearchAttributes(
  connection: Connection,
  namespace: string,
  wanted: Readonly<Record<string, SearchAttributeType>> = ORDINAL_SEARCH_ATTRIBUTES,
  options: { deadlineMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.deadlineMs ?? 60_000);
  const existing = await listCustomSearchAttributes(connection, namespace);
  const conflicts = Object.entries(wanted).filter(([name, type]) => name in existing && existing[name] !== type);
  if (conflicts.length) {
    throw new Error(
      `search attributes on namespace ${namespace} have the wrong type: ` +
        conflicts.map(([name, type]) => `${name} is ${existing[name]}, Ordinal needs ${type}`).join('; '),
    );
  }
  const missing = Object.entries(wanted).filter(([name]) => !(name in existing));
  if (!missing.length) return;
  logger.debug({ namespace, missing: missing.map(([name]) => name) }, 'adding search attributes');
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map(([name, type]) => [name, INDEXED_VALUE_TYPE[type]])),
    });
  } catch (err) {
    // ALREADY_EXISTS (6): someone else added them concurrently; the check below settles it.
    if ((err as { code?: number }).code !== 6) {
      throw new Error(
        `cannot add search attributes ${missing.map(([name, type]) => `${name}=${type}`).join(', ')} ` +
          `to namespace ${namespace}: ${(err as Error).message} ` +
          '(on Temporal Cloud, add them once with "tcld namespace search-attributes add" or in the Cloud UI)',
        { cause: err },
      );
    }
  }
  for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
    const problems = diffSearchAttributes(await listCustomSearchAttributes(connection, namespace), wanted);
    if (!problems.length) return;
    if (Date.now() > deadline) throw new Error(`search attributes not registered in time: ${problems.join('; ')}`);
    await sleep(delay);
  }
}
