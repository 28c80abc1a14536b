// The system the fault suite breaks: its OWN Temporal dev server (persistent SQLite file, fixed port
// once chosen, headless), so it can be stopped and started again without disturbing anyone else, and
// Ordinal in its production shape against it: `ordinal dns`, `ordinal api` and `ordinal worker` as
// separate processes sharing one data directory (test/harness/system.ts).
import dns from 'node:dns';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { RecordSet } from '../../../core/dns-records.js';
import { workflowIdForSet } from '../../../core/names.js';
import type { SetView } from '../../../core/status.js';
import { DnsStore } from '../../../dns/store.js';
import { isAlive } from '../../../infra/child-processes.js';
import { dataPaths } from '../../../infra/config.js';
import { startDevServer, type DevServer } from '../../../infra/dev-server.js';
import { logger } from '../../../infra/logger.js';
import { startSystem, type ComponentProcess, type TestSystem } from '../../harness/system.js';

export const ZONE = 'ordinal.internal';

export interface FaultSystemOptions {
  /** The prebuilt workflow bundle every worker (re)start loads. */
  workflowBundle: string;
  /** Loopback /16 for instance addresses, distinct from other suites running on the machine. */
  addressPool: string;
  log?: (message: string) => void;
}

export interface ApiResponse<T = any> {
  status: number;
  body: T;
  etag?: string;
}

/** fetch() failed without an HTTP answer: refused, reset, closed mid-way, timed out. */
export function isNetworkError(err: unknown): boolean {
  return err instanceof TypeError || (err as Error)?.name === 'TimeoutError' || (err as Error)?.name === 'AbortError';
}

export class FaultSystem {
  private constructor(
    readonly temporal: { server: DevServer; dbFile: string; port: number; dir: string },
    readonly system: TestSystem,
    private readonly dnsStore: DnsStore,
    private readonly log: (message: string) => void,
  ) {}

  static async start(options: FaultSystemOptions): Promise<FaultSystem> {
    const log = options.log ?? (() => undefined);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-faults-temporal-'));
    const dbFile = path.join(dir, 'temporal.db');
    const started = Date.now();
    const server = await startDevServer({ dbFile, uiPort: 'headless', logFile: path.join(dir, 'temporal.log') });
    const port = Number(server.address.split(':').pop());
    log(`temporal dev server on ${server.address} (db ${dbFile}) in ${Date.now() - started} ms`);
    let system: TestSystem;
    try {
      system = await startSystem({
        temporalAddress: server.address,
        temporalNamespace: 'default',
        workflowBundle: options.workflowBundle,
        addressPool: options.addressPool,
        dataDirPrefix: 'ordinal-faults-',
        // Info lines: the ignore-sigterm check reads when the driver began stopping an instance.
        env: { ORDINAL_LOG_LEVEL: 'info' },
        // The suite's own driver only looks (running()); at the end it stops what is left, and its
        // complaints about a state file the faults replaced would only be noise.
        driverLogger: logger.child({ component: 'faults-driver' }, { level: 'silent' }),
      });
    } catch (err) {
      await server.stop();
      throw err;
    }
    log(`ordinal dns, api and worker up (data in ${system.dataDir}) after ${Date.now() - started} ms`);
    const store = DnsStore.open(dataPaths(system.dataDir).dnsDb, ZONE);
    return new FaultSystem({ server, dbFile, port, dir }, system, store, log);
  }

  get dataDir(): string {
    return this.system.dataDir;
  }

  get components(): ComponentProcess[] {
    return [this.system.dns, this.system.api, this.system.worker];
  }

  /** The injected Temporal outage: stop the dev server, keep it down `downMs`, start it on the same db and port. */
  async restartTemporal(downMs: number): Promise<{ stoppedAt: number; startedAt: number }> {
    await this.temporal.server.stop();
    const stoppedAt = Date.now();
    // The outage itself is the fault: a deliberate timer, not a wait for a condition.
    await new Promise((resolve) => setTimeout(resolve, downMs));
    this.temporal.server = await startDevServer({
      dbFile: this.temporal.dbFile,
      port: this.temporal.port,
      uiPort: 'headless',
      logFile: path.join(this.temporal.dir, 'temporal.log'),
    });
    return { stoppedAt, startedAt: Date.now() };
  }

  /**
   * Components (and the Temporal server) that died without the suite killing them: each is reported and
   * started again, so one trial's casualty does not fail the next.
   */
  async reviveCrashed(): Promise<string[]> {
    const problems: string[] = [];
    for (const component of this.components) {
      if (component.running) continue;
      const exit = component.lastExit;
      problems.push(
        `ordinal ${component.component} exited on its own (code ${exit?.code ?? '?'}, signal ${exit?.signal ?? 'none'}); last output:\n` +
          component.output.slice(-1500),
      );
      await component.start();
    }
    if (!isAlive(this.temporal.server.pid)) {
      problems.push(`the Temporal dev server died on its own:\n${this.temporal.server.outputTail(20)}`);
      this.temporal.server = await startDevServer({
        dbFile: this.temporal.dbFile,
        port: this.temporal.port,
        uiPort: 'headless',
        logFile: path.join(this.temporal.dir, 'temporal.log'),
      });
    }
    return problems;
  }

  /** One HTTP request to `ordinal api`; throws on network errors (the caller decides about retrying). */
  async request<T = any>(
    method: string,
    urlPath: string,
    options: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
  ): Promise<ApiResponse<T>> {
    const res = await fetch(`${this.system.apiUrl}${urlPath}`, {
      method,
      headers: {
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...options.headers,
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 45_000),
    });
    const text = await res.text();
    let body: unknown = undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    return { status: res.status, body: body as T, etag: res.headers.get('etag') ?? undefined };
  }

  /**
   * A request retried while the API, Temporal or the worker is away (network errors, 502-504), until
   * `deadlineMs`. For requests whose repetition does not matter to the trial: reads, the unconditional
   * PUT that creates the set, deleting the set or an instance (a second delete-instance only recreates
   * it once more). Spec changes go through TrialContext.changeSpec, which is conditional.
   */
  async requestRetrying<T = any>(
    method: string,
    urlPath: string,
    options: { body?: unknown; headers?: Record<string, string>; deadlineMs?: number } = {},
  ): Promise<ApiResponse<T>> {
    const deadline = Date.now() + (options.deadlineMs ?? 90_000);
    let delay = 100;
    let last = '';
    for (;;) {
      try {
        const res = await this.request<T>(method, urlPath, options);
        if (res.status < 502 || res.status > 504) return res;
        last = `HTTP ${res.status}: ${JSON.stringify(res.body)?.slice(0, 300)}`;
      } catch (err) {
        if (!isNetworkError(err)) throw err;
        last = `${(err as Error).message} (${(err as { cause?: { code?: string } }).cause?.code ?? 'no code'})`;
      }
      if (Date.now() + delay > deadline) throw new Error(`${method} ${urlPath}: no answer before the deadline; last: ${last}`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 1_000);
    }
  }

  /** GET the set (retrying while components are away); undefined on 404. */
  async getSet(name: string, deadlineMs = 90_000): Promise<SetView | undefined> {
    const res = await this.requestRetrying<SetView>('GET', `/v1/sets/${name}`, { deadlineMs });
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new Error(`GET ${name}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
    return res.body;
  }

  /** A resolver pointed at `ordinal dns`; a fresh one per use, so no answer comes from c-ares' cache. */
  resolver(): dns.promises.Resolver {
    const resolver = new dns.promises.Resolver({ timeout: 1000, tries: 2 });
    resolver.setServers([`127.0.0.1:${this.system.dnsPort}`]);
    return resolver;
  }

  /** What the embedded DNS store holds at each of `names` (what the DNS server answers from), in that order. */
  storedRecords(names: readonly string[]): RecordSet[] {
    return names.flatMap((name) => this.dnsStore.lookup(name));
  }

  /** True while the store holds any record at or below `name` (the DNS server answers NOERROR for it). */
  storeHoldsNamesUnder(name: string): boolean {
    return this.dnsStore.nameExists(name);
  }

  /** The process driver's durable state rows of `set`, read from a separate connection; an error as text. */
  stateRows(set: string): { rows: Array<{ ordinal: number; incarnation: number; pid: number | null }> } | { error: string } {
    const file = dataPaths(this.system.dataDir).instancesDb;
    let db: Database.Database | undefined;
    try {
      db = new Database(file, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 5000');
      const rows = db.prepare('SELECT ordinal, incarnation, pid FROM instances WHERE set_name = ? ORDER BY ordinal').all(set);
      return { rows: rows as Array<{ ordinal: number; incarnation: number; pid: number | null }> };
    } catch (err) {
      return { error: `${(err as { code?: string }).code ?? ''} ${(err as Error).message}`.trim() };
    } finally {
      db?.close();
    }
  }

  /** The set workflow's current run: its history length (the bound the suite checks). */
  async historyLength(set: string): Promise<number> {
    const description = await this.system.client.workflow.getHandle(workflowIdForSet(set)).describe();
    return description.historyLength;
  }

  async stop(): Promise<void> {
    try {
      await this.system.stop();
    } finally {
      this.dnsStore.close();
      await this.temporal.server.stop();
      fs.rmSync(this.temporal.dir, { recursive: true, force: true });
      this.log('fault system stopped');
    }
  }
}
