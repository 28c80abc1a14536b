// One probe attempt of each kind against real sockets and real processes.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PortSpec, Probe } from '../../core/manifest.js';
import { runProbe, type ProbeTarget } from '../../activities/probes.js';
import { isRunning } from '../../activities/drivers/proc.js';
import { waitFor } from '../harness/services.js';

const base = { initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 };

function httpProbe(port: number | string, extra: Partial<NonNullable<Probe['httpGet']>> = {}, timeoutSeconds = 1): Probe {
  return { ...base, timeoutSeconds, httpGet: { path: '/ok', port, scheme: 'HTTP', httpHeaders: [], ...extra } };
}
function tcpProbe(port: number | string, host?: string): Probe {
  return { ...base, tcpSocket: { port, ...(host ? { host } : {}) } };
}
function execProbe(command: string[], timeoutSeconds = 1): Probe {
  return { ...base, timeoutSeconds, exec: { command } };
}

const node = process.execPath;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-probes-'));
let server: http.Server;
let port: number;
let closedPort: number;
let lastHeaders: http.IncomingHttpHeaders = {};
const hanging: http.ServerResponse[] = [];
const target = (extra: Partial<ProbeTarget> = {}): ProbeTarget => ({ address: '127.0.0.1', ports: [], ...extra });

function handler(req: http.IncomingMessage, res: http.ServerResponse) {
  lastHeaders = req.headers;
  if (req.url === '/ok') res.writeHead(200).end('ok');
  else if (req.url === '/fail') res.writeHead(503).end('not ready');
  else if (req.url === '/redirect') res.writeHead(302, { location: 'http://elsewhere.invalid/' }).end();
  else if (req.url === '/hang') hanging.push(res); // never answers
  else res.writeHead(404).end();
}

function listen(s: net.Server, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) => s.listen(0, host, () => resolve((s.address() as net.AddressInfo).port)));
}

beforeAll(async () => {
  server = http.createServer(handler);
  port = await listen(server);
  const closed = net.createServer();
  closedPort = await listen(closed);
  await new Promise((resolve) => closed.close(resolve));
});

afterAll(async () => {
  for (const res of hanging) res.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('httpGet', () => {
  it('passes on 2xx and 3xx, as Kubernetes does', async () => {
    expect(await runProbe(httpProbe(port), target())).toEqual({ ok: true, message: `HTTP GET http://127.0.0.1:${port}/ok: 200 OK` });
    expect(await runProbe(httpProbe(port, { path: '/redirect' }), target())).toMatchObject({ ok: true, message: expect.stringContaining(': 302') });
  });

  it('fails on 4xx and 5xx, saying which status', async () => {
    expect(await runProbe(httpProbe(port, { path: '/fail' }), target())).toEqual({
      ok: false,
      message: `HTTP GET http://127.0.0.1:${port}/fail: 503 Service Unavailable`,
    });
    expect(await runProbe(httpProbe(port, { path: '/missing' }), target())).toMatchObject({ ok: false, message: expect.stringContaining(': 404') });
  });

  it('fails when nothing listens', async () => {
    expect(await runProbe(httpProbe(closedPort), target())).toEqual({
      ok: false,
      message: `HTTP GET http://127.0.0.1:${closedPort}/ok: connect ECONNREFUSED 127.0.0.1:${closedPort}`,
    });
  });

  it('fails after timeoutSeconds when the server does not answer', async () => {
    const started = Date.now();
    const result = await runProbe(httpProbe(port, { path: '/hang' }, 1), target());
    const elapsed = Date.now() - started;
    expect(result).toEqual({ ok: false, message: `HTTP GET http://127.0.0.1:${port}/hang: timed out after 1s` });
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(3_000);
  });

  it('sends the Host header and the probe headers', async () => {
    await runProbe(httpProbe(port), target());
    expect(lastHeaders.host).toBe(`127.0.0.1:${port}`);
    const headers = [
      { name: 'Host', value: 'web-0.web.ordinal.internal' },
      { name: 'X-Probe', value: 'yes' },
    ];
    expect((await runProbe(httpProbe(port, { httpHeaders: headers }), target())).ok).toBe(true);
    expect(lastHeaders.host).toBe('web-0.web.ordinal.internal');
    expect(lastHeaders['x-probe']).toBe('yes');
  });

  it('resolves a named port through the template ports, and says when the name is unknown', async () => {
    const ports: PortSpec[] = [{ name: 'http', port, protocol: 'TCP' }];
    expect(await runProbe(httpProbe('http'), target({ ports }))).toMatchObject({ ok: true });
    expect(await runProbe(httpProbe('admin'), target({ ports }))).toEqual({
      ok: false,
      message: "port 'admin' is not one of the template's named ports",
    });
  });

  it('targets the instance address by default, or the probe host', async () => {
    const own = http.createServer(handler);
    const ownPort = await listen(own, '127.79.0.9');
    try {
      expect(await runProbe(httpProbe(ownPort), target({ address: '127.79.0.9' }))).toMatchObject({ ok: true });
      expect(await runProbe(httpProbe(ownPort), target({ address: '127.79.0.10' }))).toMatchObject({
        ok: false,
        message: expect.stringContaining('ECONNREFUSED'),
      });
      expect(await runProbe(httpProbe(ownPort, { host: '127.79.0.9' }), target({ address: '127.79.0.10' }))).toMatchObject({ ok: true });
    } finally {
      await new Promise((resolve) => own.close(resolve));
    }
  });

  it('speaks HTTPS without verifying the certificate', async () => {
    const key = path.join(tmp, 'key.pem');
    const cert = path.join(tmp, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=test'], {
      stdio: 'ignore',
    });
    const secure = https.createServer({ key: fs.readFileSync(key), cert: fs.readFileSync(cert) }, handler);
    const securePort = await listen(secure);
    try {
      expect(await runProbe(httpProbe(securePort, { scheme: 'HTTPS' }), target())).toEqual({
        ok: true,
        message: `HTTP GET https://127.0.0.1:${securePort}/ok: 200 OK`,
      });
    } finally {
      await new Promise((resolve) => secure.close(resolve));
    }
  });

  it('rejects with AbortError when the caller aborts, without waiting for the timeout', async () => {
    const abort = new AbortController();
    const attempt = runProbe(httpProbe(port, { path: '/hang' }, 30), target(), abort.signal);
    setImmediate(() => abort.abort());
    await expect(attempt).rejects.toMatchObject({ name: 'AbortError' });
    abort.abort();
    await expect(runProbe(httpProbe(port), target(), abort.signal)).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('tcpSocket', () => {
  it('passes when the port accepts a connection', async () => {
    expect(await runProbe(tcpProbe(port), target())).toEqual({ ok: true, message: `connected to 127.0.0.1:${port}` });
  });

  it('fails when nothing listens', async () => {
    expect(await runProbe(tcpProbe(closedPort), target())).toEqual({
      ok: false,
      message: `connect ECONNREFUSED 127.0.0.1:${closedPort}`,
    });
  });

  it('resolves named ports and honours the probe host', async () => {
    const ports: PortSpec[] = [{ name: 'db', port, protocol: 'TCP' }];
    expect(await runProbe(tcpProbe('db', '127.0.0.1'), target({ address: '127.79.0.10', ports }))).toMatchObject({ ok: true });
    expect(await runProbe(tcpProbe('nope'), target({ ports }))).toMatchObject({ ok: false, message: expect.stringContaining("'nope'") });
  });
});

describe('exec', () => {
  it('passes on exit code 0', async () => {
    expect(await runProbe(execProbe([node, '-e', 'console.log("fine")']), target())).toMatchObject({
      ok: true,
      message: expect.stringContaining('exit code 0: fine'),
    });
  });

  it('fails on another exit code, with the output', async () => {
    const result = await runProbe(execProbe([node, '-e', 'console.error("db down"); process.exit(3)']), target());
    expect(result).toMatchObject({ ok: false, message: expect.stringMatching(/exit code 3: db down$/) });
  });

  it('runs the argv without a shell and with the target environment', async () => {
    const script = 'process.exit(process.argv[1] === "$(false); exit 1" && process.env.ORDINAL_NAME === "web-0" && process.env.PATH ? 0 : 1)';
    const result = await runProbe(execProbe([node, '-e', script, '$(false); exit 1']), target({ env: { ORDINAL_NAME: 'web-0' } }));
    expect(result.ok).toBe(true);
  });

  it('runs in the target working directory', async () => {
    const result = await runProbe(execProbe([node, '-e', 'console.log(process.cwd())']), target({ cwd: tmp }));
    expect(result.message).toContain(fs.realpathSync(tmp));
  });

  it('says when the command does not exist', async () => {
    expect(await runProbe(execProbe(['no-such-probe-command']), target())).toEqual({
      ok: false,
      message: "exec: command 'no-such-probe-command' not found",
    });
  });

  it('times out after timeoutSeconds and kills the command', async () => {
    const pidFile = path.join(tmp, 'exec.pid');
    const script = `require("fs").writeFileSync(${JSON.stringify(pidFile)}, String(process.pid)); setInterval(() => {}, 1000)`;
    const started = Date.now();
    const result = await runProbe(execProbe([node, '-e', script], 1), target());
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(result).toEqual({ ok: false, message: 'exec timed out after 1s' });
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    await waitFor(() => !isRunning(pid, null), { timeoutMs: 5_000, message: 'the timed-out exec probe to be killed' });
  });
});
