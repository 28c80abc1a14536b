// The worker's side of the fork server (fork-server-process.ts): instances are spawned by a small
// long-lived process instead of the worker itself, since a fork costs in proportion to the forking
// process's memory. Started on the first spawn, started again after it dies. Should it die, the
// instances it started keep running; only their exit codes are lost, and the watch finds their exits
// in /proc instead.
import { fork, type ChildProcess } from 'node:child_process';
import { helperExecArgv, siblingScript } from '../../../infra/node-child.js';
import { FORK_SERVER_VARIABLE } from '../proc.js';

export type ToForkServer = { type: 'spawn'; id: number; file: string; args: string[]; cwd: string; env: Record<string, string>; logPath: string };

export type FromForkServer =
  | { type: 'ready' }
  | { type: 'spawned'; id: number; pid: number; startTime: string }
  | { type: 'failed'; id: number; error: { code?: string; message: string } }
  | { type: 'exited'; id: number; code: number | null; signal: NodeJS.Signals | null };

/** How a spawned process ended; undefined when the fork server died first and nobody could tell. */
export type ForkedExit = { code: number | null; signal: NodeJS.Signals | null } | undefined;

export interface ForkedProcess {
  pid: number;
  /** Its /proc start time, read before it could be reaped: with the pid, it names the process for good. */
  startTime: string;
  /** Called once, when it ends (or when its end can no longer be known). */
  onExit(listener: (exit: ForkedExit) => void): void;
}

/** The spawn failed; `code` is the system's (ENOENT, EACCES...). */
export class ForkServerSpawnError extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = 'ForkServerSpawnError';
  }
}

const READY_TIMEOUT_MS = 30_000;
const SERVER_SCRIPT = siblingScript(import.meta.url, 'fork-server-process');

interface Pending {
  resolve(forked: ForkedProcess): void;
  reject(error: Error): void;
}

interface Running {
  listeners: Array<(exit: ForkedExit) => void>;
  exit?: { value: ForkedExit };
}

export class ForkServer {
  private server: Promise<ChildProcess> | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly running = new Map<number, Running>();
  private closed = false;

  /** Spawns `file` with `args`, detached (its own process group), its output appended to `logPath`. */
  async spawn(request: Omit<Extract<ToForkServer, { type: 'spawn' }>, 'type' | 'id'>): Promise<ForkedProcess> {
    if (this.closed) throw new Error('the fork server is closed');
    const server = await this.ensureServer();
    const id = this.nextId++;
    return new Promise<ForkedProcess>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.refWhileBusy(server);
      server.send({ type: 'spawn', id, ...request } satisfies ToForkServer, (error) => {
        if (error) this.settle(id, (p) => p.reject(new Error(`the fork server did not take the request: ${error.message}`)));
      });
    });
  }

  /** Ends the fork server; the processes it started keep running. */
  close(): void {
    this.closed = true;
    void this.server?.then((child) => {
      if (child.connected) child.disconnect();
    });
  }

  private ensureServer(): Promise<ChildProcess> {
    this.server ??= this.startServer().catch((err: unknown) => {
      this.server = undefined;
      throw err;
    });
    return this.server;
  }

  private startServer(): Promise<ChildProcess> {
    const child = fork(SERVER_SCRIPT, [], {
      execArgv: helperExecArgv(SERVER_SCRIPT),
      // Its children carry this until they exec: a /proc scan does not take them for strangers meanwhile.
      env: { ...process.env, [FORK_SERVER_VARIABLE]: '1' },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.on('message', (message: FromForkServer) => this.onMessage(message));
    return new Promise<ChildProcess>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the fork server did not start within ${READY_TIMEOUT_MS / 1000} s`));
      }, READY_TIMEOUT_MS);
      child.on('message', (message: FromForkServer) => {
        if (message.type !== 'ready') return;
        clearTimeout(timer);
        this.refWhileBusy(child);
        resolve(child);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the fork server exited (${signal ?? `code ${code}`})`));
        this.onServerExit();
      });
    });
  }

  private onMessage(message: FromForkServer): void {
    switch (message.type) {
      case 'spawned': {
        const running: Running = { listeners: [] };
        this.running.set(message.id, running);
        const id = message.id;
        this.settle(id, (p) =>
          p.resolve({
            pid: message.pid,
            startTime: message.startTime,
            onExit: (listener) => {
              if (running.exit) listener(running.exit.value);
              else running.listeners.push(listener);
            },
          }),
        );
        return;
      }
      case 'failed':
        this.settle(message.id, (p) => p.reject(new ForkServerSpawnError(message.error.message, message.error.code)));
        return;
      case 'exited':
        this.end(message.id, { code: message.code, signal: message.signal });
        return;
    }
  }

  /** Its children are orphans now: nobody can report how they end. Requests in flight fail (retried). */
  private onServerExit(): void {
    this.server = undefined;
    for (const id of [...this.pending.keys()]) this.settle(id, (p) => p.reject(new Error('the fork server exited before it answered')));
    for (const id of [...this.running.keys()]) this.end(id, undefined);
  }

  private settle(id: number, how: (pending: Pending) => void): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    how(pending);
    void this.server?.then((child) => this.refWhileBusy(child)).catch(() => undefined);
  }

  private end(id: number, exit: ForkedExit): void {
    const running = this.running.get(id);
    if (!running) return;
    this.running.delete(id);
    running.exit = { value: exit };
    for (const listener of running.listeners.splice(0)) listener(exit);
  }

  /** The fork server keeps the worker alive only while a spawn waits for its answer. */
  private refWhileBusy(child: ChildProcess): void {
    const busy = this.pending.size > 0;
    const handles = [child, child.channel] as Array<{ ref?: () => void; unref?: () => void } | null | undefined>;
    for (const handle of handles) busy ? handle?.ref?.() : handle?.unref?.();
  }
}
