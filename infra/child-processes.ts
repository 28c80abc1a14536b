// The small process toolkit the launchers share (the Temporal dev server here, moto_server and the
// bench's processes in test/ and bench/): run a command to completion, free ports, a managed child
// process that keeps the tail of its output, and a stop() that escalates from SIGTERM to SIGKILL.
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as fsConstants, createWriteStream, type WriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { logger } from './logger.js';

/** True when `file` is a regular file this process may execute. */
export async function isExecutable(file: string): Promise<boolean> {
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) return false;
    await fs.access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `bin` in the folders of env.PATH. */
export async function searchPath(bin: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, bin);
    if (await isExecutable(file)) return file;
  }
  return undefined;
}

/** True when `file args` runs and exits 0 (within a minute). */
export async function runs(file: string, args: string[]): Promise<boolean> {
  const result = await run(file, args, { timeoutMs: 60_000 }).catch(() => undefined);
  return result?.code === 0;
}

/** True while a process with this pid exists (EPERM: it exists, owned by someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Runs a command to completion; resolves with its exit code and the tail of its output. */
export function run(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; echo?: boolean } = {},
): Promise<{ code: number | null; output: string; tail: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
    });
    const output = new OutputTail(256 * 1024);
    const onData = (chunk: Buffer) => {
      output.push(chunk);
      if (options.echo) process.stderr.write(chunk);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output: output.text(), tail: output.tail(40) }));
  });
}

/** Keeps the last `limit` bytes of a stream of output. */
export class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly limit = 64 * 1024) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }

  /** The last `lines` lines, for error messages. */
  tail(lines = 30): string {
    return this.text().trimEnd().split('\n').slice(-lines).join('\n');
  }
}

/** A free TCP port on `host`, from the OS. (Another process may take it before you bind it.) */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('could not get a free port'))));
    });
  });
}

export interface ManagedProcessOptions {
  /** Name used in log lines and error messages. */
  name: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Also append all output to this file. */
  logFile?: string;
  /** Run in its own process group, so a terminal's Ctrl-C reaches only the parent, which stops it. */
  detached?: boolean;
  /**
   * Get SIGTERM if this process dies without stopping it (killed, crashed), so no server is left
   * behind. Linux only, through util-linux's `setpriv --pdeathsig`; elsewhere a no-op. Default true.
   */
  dieWithParent?: boolean;
}

/**
 * A long-running child process: keeps the tail of its output (and optionally a log file), knows
 * whether it has exited, and stops with SIGTERM, then SIGKILL after a deadline.
 */
export class ManagedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly output = new OutputTail();
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitStatus: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private log: WriteStream | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly name: string,
    child: ChildProcess,
    log: WriteStream | undefined,
  ) {
    this.child = child;
    this.pid = child.pid!;
    this.log = log;
    const onData = (chunk: Buffer) => {
      this.output.push(chunk);
      this.log?.write(chunk);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    this.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        this.exitStatus = { code, signal };
        this.log?.end();
        logger.debug({ name, pid: this.pid, code, signal }, 'process exited');
        resolve(this.exitStatus);
      });
    });
  }

  /** Starts `file args`; rejects if it cannot be started at all (ENOENT, EACCES). */
  static async start(file: string, args: string[], options: ManagedProcessOptions): Promise<ManagedProcess> {
    let log: WriteStream | undefined;
    if (options.logFile) {
      await fs.mkdir(path.dirname(options.logFile), { recursive: true });
      log = createWriteStream(options.logFile, { flags: 'a' });
      await new Promise<void>((resolve, reject) => {
        log!.once('open', () => resolve());
        log!.once('error', reject);
      });
    }
    // setpriv execs the command, so the pid is the server's own; but a missing command would be
    // reported by setpriv rather than as ENOENT, so check that first.
    const setpriv = options.dieWithParent === false ? undefined : await findSetpriv();
    if (setpriv && file.includes(path.sep) && !(await isExecutable(file))) {
      log?.end();
      throw new Error(`cannot start ${options.name}: ${file} is not an executable file`);
    }
    const [command, argv] = setpriv ? [setpriv, ['--pdeathsig', 'SIGTERM', '--', file, ...args]] : [file, args];
    const child = spawn(command, argv, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: options.detached ?? false,
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => {
        log?.end();
        reject(new Error(`cannot start ${options.name} (${file}): ${err.message}`, { cause: err }));
      });
    });
    logger.debug({ name: options.name, pid: child.pid, file, args }, 'process started');
    return new ManagedProcess(options.name, child, log);
  }

  get running(): boolean {
    return this.exitStatus === undefined;
  }

  /** A description of how it exited plus the tail of its output, for error messages. */
  describeExit(): string {
    const status = this.exitStatus;
    const how = !status ? 'is still running' : status.signal ? `was killed by ${status.signal}` : `exited with code ${status.code}`;
    const tail = this.output.tail(30);
    return `${this.name} (pid ${this.pid}) ${how}${tail ? `; last output:\n${tail}` : ' with no output'}`;
  }

  /** SIGTERM, wait up to `deadlineMs` for exit, then SIGKILL and wait. Safe to call repeatedly. */
  stop(deadlineMs = 15_000): Promise<void> {
    this.stopping ??= this.doStop(deadlineMs);
    return this.stopping;
  }

  private async doStop(deadlineMs: number): Promise<void> {
    if (!this.running) return;
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      this.exited.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), deadlineMs))),
    ]);
    clearTimeout(timer);
    if (timedOut) {
      logger.debug({ name: this.name, pid: this.pid, deadlineMs }, 'process did not stop in time, killing it');
      this.signal('SIGKILL');
      await this.exited;
    }
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      this.child.kill(signal);
    } catch {
      // already gone
    }
  }
}

let setprivPath: Promise<string | undefined> | undefined;

/** util-linux's setpriv, if this is Linux and it is installed. */
function findSetpriv(): Promise<string | undefined> {
  setprivPath ??=
    process.platform !== 'linux'
      ? Promise.resolve(undefined)
      : (async () => {
          const candidate = (await searchPath('setpriv', process.env)) ?? '/usr/bin/setpriv';
          return (await isExecutable(candidate)) && (await runs(candidate, ['--help'])) ? candidate : undefined;
        })();
  return setprivPath;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
