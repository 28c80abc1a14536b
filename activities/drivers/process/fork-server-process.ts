// The fork server process (fork-server.ts starts it): it spawns the instances' processes for the worker
// and reports how each one ends. A spawn forks the spawning process, and a fork copies its page tables,
// so its cost grows with that process's memory: 10 to 40 ms in a worker that runs thousands of sets,
// with its event loop blocked meanwhile, against about 1 ms here. It exits when the worker disconnects;
// the instances keep running (they outlive the worker on purpose).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { readStat } from '../proc.js';
import type { FromForkServer, ToForkServer } from './fork-server.js';

// A terminal's Ctrl-C reaches the worker's whole process group: stopping is the worker's to decide.
process.on('SIGINT', () => undefined);
process.on('disconnect', () => process.exit(0));
process.on('message', (message: ToForkServer) => {
  if (message.type === 'spawn') start(message);
});
send({ type: 'ready' });

function start({ id, file, args, cwd, env, logPath }: Extract<ToForkServer, { type: 'spawn' }>): void {
  let fd: number;
  try {
    fd = fs.openSync(logPath, 'a');
  } catch (err) {
    return send({ type: 'failed', id, error: errorOf(err) });
  }
  let child;
  try {
    child = spawn(file, args, { cwd, env, stdio: ['ignore', fd, fd], detached: true, shell: false });
  } catch (err) {
    return send({ type: 'failed', id, error: errorOf(err) });
  } finally {
    fs.closeSync(fd); // the child has its own copy
  }
  // Read at once: until this process reaps it, the pid cannot name another process.
  const startTime = child.pid === undefined ? undefined : readStat(child.pid)?.startTime;
  let spawned = false;
  child.once('spawn', () => {
    spawned = true;
    if (child.pid === undefined || startTime === undefined) send({ type: 'failed', id, error: { message: 'the process ended before it could be seen' } });
    else send({ type: 'spawned', id, pid: child.pid, startTime });
  });
  child.on('error', (err) => {
    if (!spawned) send({ type: 'failed', id, error: errorOf(err) });
  });
  child.once('exit', (code, signal) => {
    if (spawned) send({ type: 'exited', id, code, signal });
  });
}

function send(message: FromForkServer): void {
  process.send?.(message);
}

function errorOf(err: unknown): { code?: string; message: string } {
  const e = err as NodeJS.ErrnoException;
  return { ...(e.code !== undefined ? { code: e.code } : {}), message: e.message ?? String(err) };
}
