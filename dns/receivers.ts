// More than one core for one listener: the server starts receiver processes (receiver-process.ts) and
// hands each its UDP socket. They all read the same socket (the kernel gives each datagram to one
// reader), so no client is tied to a process, which SO_REUSEPORT's per-client hashing would do, and it
// works on every Node version we support (dgram's reusePort needs Node >= 22.12). Threads cannot share
// a socket in Node: processes can. TCP stays in the server process. A receiver that dies is started
// again; their logs go through the server's logger.
import { fork, type ChildProcess } from 'node:child_process';
import type dgram from 'node:dgram';
import readline from 'node:readline';
import type { Logger } from '../infra/logger.js';
import { helperExecArgv, siblingScript } from '../infra/node-child.js';
import type { AnswerOptions } from './answer.js';
import type { ForwarderSettings } from './forwarder.js';

/** Everything a receiver process needs to answer as the server does; sent with the socket. */
export interface ReceiverSpec {
  storeFile: string;
  defaultZone: string;
  answerOptions: AnswerOptions;
  /** The pod listener's forwarding, when it has one. */
  forwarder?: ForwarderSettings;
}

export type ToReceiver = { type: 'serve'; spec: ReceiverSpec };
type FromReceiver = { type: 'ready' };

export interface ReceiverGroup {
  /** Processes that have taken the socket and answer from it (not counting the server itself). */
  readonly ready: number;
  /** Their process ids, ready or starting. */
  readonly pids: number[];
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const RESTART_DELAY_MS = 1_000;
const STOP_TIMEOUT_MS = 5_000;
// The receiver runs the same sources as the server.
const RECEIVER_SCRIPT = siblingScript(import.meta.url, 'receiver-process');

/**
 * Starts `count` receiver processes on `udp` and resolves once each answers from it or failed to start
 * (logged: the server and the others serve without it). Never rejects.
 */
export async function startReceivers(count: number, udp: dgram.Socket, spec: ReceiverSpec, logger?: Logger): Promise<ReceiverGroup> {
  const children = new Set<ChildProcess>();
  let ready = 0;
  let closed = false;

  function start(): Promise<void> {
    const child = fork(RECEIVER_SCRIPT, [], {
      execArgv: helperExecArgv(RECEIVER_SCRIPT),
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    children.add(child);
    relayLogs(child, logger);
    let isReady = false;
    child.once('exit', (code, signal) => {
      children.delete(child);
      if (isReady) ready--;
      if (closed) return;
      logger?.error({ receiver: child.pid, code, signal }, 'dns receiver process exited; starting another');
      setTimeout(() => {
        if (!closed) void start();
      }, RESTART_DELAY_MS).unref();
    });
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        logger?.warn({ receiver: child.pid }, `dns receiver process not ready within ${READY_TIMEOUT_MS} ms; stopping it`);
        child.kill('SIGKILL');
        resolve();
      }, READY_TIMEOUT_MS);
      child.on('message', (message: FromReceiver) => {
        if (message.type !== 'ready' || isReady) return;
        isReady = true;
        ready++;
        clearTimeout(timer);
        resolve();
      });
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      const serve: ToReceiver = { type: 'serve', spec };
      child.send(serve, udp, (error) => {
        if (error) logger?.warn({ err: error, receiver: child.pid }, 'dns receiver process did not get the socket');
      });
    });
  }

  await Promise.all(Array.from({ length: count }, () => start()));
  return {
    get ready() {
      return ready;
    },
    get pids() {
      return [...children].flatMap((child) => (child.pid === undefined ? [] : [child.pid]));
    },
    async close() {
      closed = true;
      await Promise.all(
        [...children].map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              // Disconnecting ends it; a receiver stuck past the deadline is killed.
              const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
              child.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              if (child.connected) child.disconnect();
              else child.kill('SIGTERM');
            }),
        ),
      );
    },
  };
}

/** A receiver's log lines (pino's JSON on its stderr) through the server's logger, at their level. */
function relayLogs(child: ChildProcess, logger: Logger | undefined): void {
  if (child.stderr === null) return;
  const lines = readline.createInterface({ input: child.stderr, crlfDelay: Infinity });
  lines.on('line', (line) => {
    if (logger === undefined) return;
    let entry: { level?: number; msg?: string; [key: string]: unknown };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      logger.warn({ receiver: child.pid, output: line }, 'dns receiver output');
      return;
    }
    const { level, msg, time: _time, pid: _pid, component: _component, ...fields } = entry;
    const name = (typeof level === 'number' ? logger.levels.labels[level] : undefined) ?? 'info';
    (logger[name as 'info'] ?? logger.info).call(logger, { receiver: child.pid, ...fields }, msg ?? '');
  });
}
