// Ordinal as production runs it, for end-to-end tests: `ordinal dns`, `ordinal api` and `ordinal
// worker` as separate processes sharing a data directory, against the shared Temporal server (or, with
// options, any Temporal server: the fault suite runs its own). Each can be killed (-9) and restarted;
// the CLI runs as a real process too.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { ProcessDriver } from '../../activities/drivers/process.js';
import type { Logger } from '../../infra/logger.js';
import { uniqueAddressPool, uniqueName } from './ordinal.js';
import { freePort, temporalAddress, temporalNamespace, waitFor, workflowBundlePath } from './services.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(REPO, 'bin/ordinal.js');

export type Component = 'dns' | 'api' | 'worker';

export class ComponentProcess {
  private child: ChildProcess | undefined;
  output = '';
  /** How the last run ended (exit code or signal), once it has; undefined while it runs or before a start. */
  lastExit: { code: number | null; signal: NodeJS.Signals | null; at: number } | undefined;

  constructor(
    readonly component: Component,
    private readonly env: NodeJS.ProcessEnv,
    /** Printed by the component once it serves. */
    private readonly readyLine: RegExp,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** True while the last process started runs. */
  get running(): boolean {
    const child = this.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  async start(): Promise<void> {
    const outputStart = this.output.length;
    const child = spawn(process.execPath, [BIN, this.component], { env: this.env, cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.lastExit = undefined;
    child.once('exit', (code, signal) => {
      if (this.child === child) this.lastExit = { code, signal, at: Date.now() };
    });
    child.stdout!.on('data', (d) => (this.output += d));
    child.stderr!.on('data', (d) => (this.output += d));
    // Fail at once, with its output, when the component exits instead of starting.
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => reject(new Error(`ordinal ${this.component} exited (${code}) while starting:\n${this.output.slice(-3000)}`))),
    );
    exited.catch(() => undefined);
    await Promise.race([
      exited,
      waitFor(() => this.readyLine.test(this.output.slice(outputStart)), {
        timeoutMs: 90_000,
        intervalMs: 100,
        message: `ordinal ${this.component} to start`,
      }),
    ]);
  }

  /** kill -9: no clean-up at all, as a crash. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGTERM and wait. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

export interface TestSystem {
  env: NodeJS.ProcessEnv;
  dataDir: string;
  apiUrl: string;
  dnsPort: number;
  dns: ComponentProcess;
  api: ComponentProcess;
  worker: ComponentProcess;
  client: Client;
  driver: ProcessDriver;
  /** Runs the CLI; resolves with its exit code and output. */
  cli(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export interface SystemOptions {
  /** Temporal frontend, 'host:port' (default: the shared server of the vitest run). */
  temporalAddress?: string;
  /** Default: the shared server's namespace. */
  temporalNamespace?: string;
  /** A prebuilt workflow bundle for the worker (default: the one vitest's global setup built). */
  workflowBundle?: string;
  /** Loopback pool for instance addresses (default: uniqueAddressPool()). */
  addressPool?: string;
  /** Prefix of the temporary data directory's name (default 'ordinal-e2e-'). */
  dataDirPrefix?: string;
  /** Extra environment for every component and CLI run. */
  env?: NodeJS.ProcessEnv;
  /** Logger of the harness's own ProcessDriver (`driver`), e.g. a silent one. */
  driverLogger?: Logger;
}

/**
 * Starts `ordinal dns`, `ordinal api` and `ordinal worker` against the shared Temporal server, or the
 * one `options` names (which is how code outside vitest, such as the fault suite's runner, uses it).
 */
export async function startSystem(options: SystemOptions = {}): Promise<TestSystem> {
  const address = options.temporalAddress ?? temporalAddress();
  const namespace = options.temporalNamespace ?? (options.temporalAddress ? 'default' : temporalNamespace());
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), options.dataDirPrefix ?? 'ordinal-e2e-'));
  const [apiPort, dnsPort] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: namespace,
    ORDINAL_DATA_DIR: dataDir,
    ORDINAL_TASK_QUEUE: uniqueName('ordinal-e2e'),
    ORDINAL_API_PORT: String(apiPort),
    ORDINAL_DNS_PORT: String(dnsPort),
    ORDINAL_ADDRESS_POOL: options.addressPool ?? uniqueAddressPool(),
    ORDINAL_WORKFLOW_BUNDLE: options.workflowBundle ?? workflowBundlePath(),
    ORDINAL_API_URL: `http://127.0.0.1:${apiPort}`,
    ORDINAL_LOG_LEVEL: 'warn',
    ...options.env,
  };
  const dns = new ComponentProcess('dns', env, /DNS server on/);
  const api = new ComponentProcess('api', env, /API on http/);
  const worker = new ComponentProcess('worker', env, /worker polling/);
  await Promise.all([dns.start(), api.start(), worker.start()]);

  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  const driver = new ProcessDriver({ dataDir, addressPool: env.ORDINAL_ADDRESS_POOL, logger: options.driverLogger });

  return {
    env,
    dataDir,
    apiUrl: env.ORDINAL_API_URL!,
    dnsPort,
    dns,
    api,
    worker,
    client,
    driver,
    cli: (args, options = {}) => runCli(args, env, options),
    async stop() {
      for await (const execution of client.workflow.list({
        query: `TaskQueue = '${env.ORDINAL_TASK_QUEUE}' AND ExecutionStatus = 'Running'`,
      })) {
        await client.workflow.getHandle(execution.workflowId, execution.runId).terminate('test finished').catch(() => undefined);
      }
      await Promise.all([worker.stop(), api.stop(), dns.stop()]);
      await driver.stopAll(2_000);
      driver.close();
      await connection.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  options: { input?: string; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`ordinal ${args.join(' ')} did not finish in time:\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}
