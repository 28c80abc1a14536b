// Ordinal as production runs it, for end-to-end tests: `ordinal dns`, `ordinal api` and `ordinal
// worker` as separate processes sharing a data directory, against the shared Temporal server. Each
// can be killed (-9) and restarted; the CLI runs as a real process too.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { ProcessDriver } from '../../activities/drivers/process.js';
import { uniqueAddressPool, uniqueName } from './ordinal.js';
import { freePort, temporalAddress, temporalNamespace, waitFor, workflowBundlePath } from './services.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(REPO, 'bin/ordinal.js');

export type Component = 'dns' | 'api' | 'worker';

export class ComponentProcess {
  private child: ChildProcess | undefined;
  output = '';

  constructor(
    readonly component: Component,
    private readonly env: NodeJS.ProcessEnv,
    /** Printed by the component once it serves. */
    private readonly readyLine: RegExp,
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const outputStart = this.output.length;
    const child = spawn(process.execPath, [BIN, this.component], { env: this.env, cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
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

export async function startSystem(): Promise<TestSystem> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-e2e-'));
  const [apiPort, dnsPort] = [await freePort(), await freePort()];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: temporalAddress(),
    TEMPORAL_NAMESPACE: temporalNamespace(),
    ORDINAL_DATA_DIR: dataDir,
    ORDINAL_TASK_QUEUE: uniqueName('ordinal-e2e'),
    ORDINAL_API_PORT: String(apiPort),
    ORDINAL_DNS_PORT: String(dnsPort),
    ORDINAL_ADDRESS_POOL: uniqueAddressPool(),
    ORDINAL_WORKFLOW_BUNDLE: workflowBundlePath(),
    ORDINAL_API_URL: `http://127.0.0.1:${apiPort}`,
    ORDINAL_LOG_LEVEL: 'warn',
  };
  const dns = new ComponentProcess('dns', env, /DNS server on/);
  const api = new ComponentProcess('api', env, /API on http/);
  const worker = new ComponentProcess('worker', env, /worker polling/);
  await Promise.all([dns.start(), api.start(), worker.start()]);

  const connection = await Connection.connect({ address: temporalAddress() });
  const client = new Client({ connection, namespace: temporalNamespace() });
  const driver = new ProcessDriver({ dataDir, addressPool: env.ORDINAL_ADDRESS_POOL });

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
