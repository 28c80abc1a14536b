// One probe attempt (httpGet, tcpSocket or exec), with Kubernetes' meaning of success, bounded by the
// probe's timeoutSeconds. Periods and thresholds are not here: core/probe-state.ts counts the attempts.
import { spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { PortSpec, Probe } from '../core/manifest.js';

export interface ProbeTarget {
  /** The instance's address: the default host of httpGet and tcpSocket probes. */
  address: string;
  /** The template's ports, to resolve named probe ports. */
  ports: PortSpec[];
  /** Extra environment for exec probes (the instance's ORDINAL_* variables), over the worker's own. */
  env?: Record<string, string>;
  /** Working directory for exec probes (the instance's); the worker's when absent. */
  cwd?: string;
  /**
   * How to run an exec probe inside the instance (its namespaces, user, environment and directory),
   * as the driver knows it; without one, exec probes run beside it on the worker's host with `env`.
   */
  entry?: { prefix: string[]; env: Record<string, string>; cwd: string };
}

export interface ProbeResult {
  ok: boolean;
  /** For a status line: what was tried and what happened. */
  message: string;
}

/** Most output of an exec probe kept in its message. */
const MAX_OUTPUT = 512;

/**
 * Runs one attempt of `probe` against an instance. Never rejects for a failing probe (the result says
 * so); rejects with an AbortError only when `signal` aborts, so a cancelled attempt is not counted.
 */
export function runProbe(probe: Probe, target: ProbeTarget, signal?: AbortSignal): Promise<ProbeResult> {
  const seconds = probe.timeoutSeconds;
  const timeoutMs = seconds * 1000;
  if (probe.httpGet) {
    const h = probe.httpGet;
    const port = resolvePort(h.port, target.ports);
    if (typeof port === 'string') return Promise.resolve({ ok: false, message: port });
    const host = h.host ?? target.address;
    const url = `${h.scheme.toLowerCase()}://${net.isIPv6(host) ? `[${host}]` : host}:${port}${h.path}`;
    return bounded(timeoutMs, signal, `HTTP GET ${url}: timed out after ${seconds}s`, (stop) =>
      httpGet(h.scheme, host, port, h.path, h.httpHeaders, url, stop),
    );
  }
  if (probe.tcpSocket) {
    const port = resolvePort(probe.tcpSocket.port, target.ports);
    if (typeof port === 'string') return Promise.resolve({ ok: false, message: port });
    const host = probe.tcpSocket.host ?? target.address;
    const hostPort = `${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
    return bounded(timeoutMs, signal, `connect ${hostPort}: timed out after ${seconds}s`, (stop) =>
      tcpConnect(host, port, hostPort, stop),
    );
  }
  if (probe.exec) {
    const command = probe.exec.command;
    return bounded(timeoutMs, signal, `exec timed out after ${seconds}s`, (stop) => execCommand(command, target, stop));
  }
  return Promise.resolve({ ok: false, message: 'the probe has no httpGet, tcpSocket or exec handler' });
}

/** A port number, or a message saying why the named port cannot be resolved. */
function resolvePort(ref: number | string, ports: PortSpec[]): number | string {
  if (typeof ref === 'number') return ref;
  const port = ports.find((p) => p.name === ref);
  return port ? port.port : `port '${ref}' is not one of the template's named ports`;
}

/**
 * Runs `attempt`, resolving with a failure after `timeoutMs` and rejecting when `signal` aborts; either
 * way `attempt`'s stop signal fires so it can release its socket or process.
 */
function bounded(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  timedOut: string,
  attempt: (stop: AbortSignal) => Promise<ProbeResult>,
): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const stop = new AbortController();
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      stop.abort();
      outcome();
    };
    const onAbort = () => settle(() => reject(abortError(signal)));
    const timer = setTimeout(() => settle(() => resolve({ ok: false, message: timedOut })), timeoutMs);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    attempt(stop.signal).then(
      (result) => settle(() => resolve(result)),
      (err: unknown) => settle(() => resolve({ ok: false, message: err instanceof Error ? err.message : String(err) })),
    );
  });
}

/** Success is a status from 200 to 399, as Kubernetes has it (redirects are not followed). */
function httpGet(
  scheme: 'HTTP' | 'HTTPS',
  host: string,
  port: number,
  path: string,
  httpHeaders: Array<{ name: string; value: string }>,
  url: string,
  stop: AbortSignal,
): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { 'user-agent': 'ordinal-probe', accept: '*/*' };
    // A probe's own headers win, Host included (Node sets Host from host:port otherwise).
    for (const { name, value } of httpHeaders) headers[name.toLowerCase()] = value;
    const request = (scheme === 'HTTPS' ? https : http).request({
      host,
      port,
      path,
      method: 'GET',
      headers,
      agent: false,
      // Kubernetes does not verify certificates in probes: instances often use self-signed ones.
      rejectUnauthorized: false,
      signal: stop,
    });
    request.on('response', (response) => {
      const status = response.statusCode ?? 0;
      response.destroy(); // the status is all we need
      const ok = status >= 200 && status < 400;
      resolve({ ok, message: `HTTP GET ${url}: ${status}${response.statusMessage ? ` ${response.statusMessage}` : ''}` });
    });
    request.on('error', (err) => resolve({ ok: false, message: `HTTP GET ${url}: ${err.message}` }));
    request.end();
  });
}

function tcpConnect(host: string, port: number, hostPort: string, stop: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (result: ProbeResult) => {
      socket.destroy();
      stop.removeEventListener('abort', onStop);
      resolve(result);
    };
    const onStop = () => socket.destroy();
    stop.addEventListener('abort', onStop, { once: true });
    socket.once('connect', () => done({ ok: true, message: `connected to ${hostPort}` }));
    // Node's messages already read well: "connect ECONNREFUSED 127.77.0.3:8080".
    socket.once('error', (err) => done({ ok: false, message: err.message }));
  });
}

/** Success is exit code 0. The argv runs without a shell, in its own process group, killed on timeout. */
function execCommand(command: string[], target: ProbeTarget, stop: AbortSignal): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const shown = command.join(' ');
    const argv = [...(target.entry?.prefix ?? []), ...command];
    const child = spawn(argv[0]!, argv.slice(1), {
      shell: false,
      detached: true,
      cwd: target.entry?.cwd ?? target.cwd,
      env: target.entry ? probeEnv(target.entry.env, {}) : probeEnv(process.env, target.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      if (output.length < MAX_OUTPUT) output += chunk.toString('utf8');
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);

    const kill = () => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      try {
        process.kill(-child.pid, 'SIGKILL'); // the whole group: the command may have children
      } catch {
        // already gone
      }
    };
    stop.addEventListener('abort', kill, { once: true });

    child.once('error', (err: NodeJS.ErrnoException) => {
      stop.removeEventListener('abort', kill);
      const message =
        err.code === 'ENOENT'
          ? `exec: command '${command[0]}' not found`
          : err.code === 'EACCES'
            ? `exec: command '${command[0]}' is not executable (permission denied)`
            : `exec ${shown}: ${err.message}`;
      resolve({ ok: false, message });
    });
    child.once('exit', (code, signal) => {
      stop.removeEventListener('abort', kill);
      // Give the pipes a moment to drain, but do not wait on a background child that holds them open.
      const finish = () => {
        clearTimeout(drain);
        child.stdout?.destroy();
        child.stderr?.destroy();
        const text = output.trim().slice(0, MAX_OUTPUT);
        const suffix = text ? `: ${text}` : '';
        if (code === 0) resolve({ ok: true, message: `exec ${shown}: exit code 0${suffix}` });
        else if (code !== null) resolve({ ok: false, message: `exec ${shown}: exit code ${code}${suffix}` });
        else resolve({ ok: false, message: `exec ${shown}: killed by ${signal}${suffix}` });
      };
      const drain = setTimeout(finish, 100);
      child.once('close', finish);
    });
  });
}

/** An environment plus the target's, minus the instance marker: a probe is not an instance process. */
function probeEnv(base: NodeJS.ProcessEnv, extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env = { ...base, ...extra };
  delete env.ORDINAL_INSTANCE_KEY;
  return env;
}

function abortError(signal: AbortSignal | undefined): Error {
  const error = new Error('probe aborted', { cause: signal?.reason });
  error.name = 'AbortError';
  return error;
}
