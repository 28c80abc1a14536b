// moto_server: a local AWS emulator, used as the Route 53 endpoint in tests and the bench. Found or
// installed from PyPI into .tools/venv like the Temporal CLI (infra/tools.ts).
import { freePort, ManagedProcess, sleep } from '../../infra/child-processes.js';
import { logger } from '../../infra/logger.js';
import { findTool, type ToolOptions, type ToolSpec } from '../../infra/tools.js';

/** moto provides moto_server; the `server` extra pulls in its HTTP dependencies. */
export const MOTO_VERSION = '5.2.5';

const MOTO: ToolSpec = {
  bin: 'moto_server',
  envVar: 'MOTO_SERVER',
  requirement: `moto[server]==${MOTO_VERSION}`,
  label: 'moto_server (moto[server] from PyPI)',
  checkArgs: ['--help'],
};

/** Path of moto_server: $MOTO_SERVER, else `moto_server` on PATH, else .tools/venv, else installs it. */
export function findMotoServer(options: ToolOptions = {}): Promise<string> {
  return findTool(MOTO, options);
}

export interface MotoServerOptions {
  /** Path of moto_server (default: findMotoServer(), which may install it). */
  cli?: string;
  /** Port on 127.0.0.1; 0 picks a free one (default 0). */
  port?: number;
  /** How long to wait for it to answer HTTP (default 120 s). */
  deadlineMs?: number;
  /** Append its output to this file. */
  logFile?: string;
}

export interface MotoServer {
  /** 'http://127.0.0.1:PORT', for an AWS SDK's `endpoint`. */
  endpoint: string;
  port: number;
  pid: number;
  outputTail(lines?: number): string;
  /** SIGTERM, wait for exit (up to deadlineMs, default 15 s), then SIGKILL. Idempotent. */
  stop(deadlineMs?: number): Promise<void>;
}

/** Starts `moto_server -H 127.0.0.1 -p PORT` and resolves once it answers HTTP. */
export async function startMotoServer(options: MotoServerOptions = {}): Promise<MotoServer> {
  const cli = options.cli ?? (await findMotoServer());
  const host = '127.0.0.1';
  const deadlineMs = options.deadlineMs ?? 120_000;
  for (let attempt = 1; ; attempt++) {
    const port = options.port || (await freePort(host));
    const started = Date.now();
    const proc = await ManagedProcess.start(cli, ['-H', host, '-p', String(port)], {
      name: 'moto_server',
      logFile: options.logFile,
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
    });
    const endpoint = `http://${host}:${port}`;
    try {
      await waitForHttp(proc, `${endpoint}/moto-api/`, started + deadlineMs);
    } catch (err) {
      await proc.stop(5_000);
      // The port we picked was taken before moto bound it: try another.
      if (!options.port && attempt < 3 && /address already in use/i.test(proc.output.text())) continue;
      throw err;
    }
    logger.debug({ endpoint, pid: proc.pid, ms: Date.now() - started }, 'moto_server ready');
    return {
      endpoint,
      port,
      pid: proc.pid,
      outputTail: (lines?: number) => proc.output.tail(lines),
      stop: (stopDeadlineMs?: number) => proc.stop(stopDeadlineMs),
    };
  }
}

async function waitForHttp(proc: ManagedProcess, url: string, deadline: number): Promise<void> {
  let lastError = 'no attempt yet';
  let delay = 50;
  while (proc.running) {
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      throw new Error(`moto_server did not answer ${url} within the deadline; last error: ${lastError}\n${proc.describeExit()}`);
    }
    try {
      // Any HTTP response means it is serving.
      const response = await fetch(url, { signal: AbortSignal.timeout(Math.min(remaining, 5_000)) });
      await response.body?.cancel();
      // Someone else's server on a port we just picked would answer too; only ours counts.
      if (proc.running) return;
    } catch (err) {
      lastError = err instanceof Error ? `${err.message}${err.cause ? ` (${String(err.cause)})` : ''}` : String(err);
    }
    await Promise.race([sleep(delay), proc.exited]);
    delay = Math.min(delay * 2, 500);
  }
  await proc.exited;
  throw new Error(`moto_server exited before it was ready: ${proc.describeExit()}`);
}
