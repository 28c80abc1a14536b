// The worker's /metrics listener: our registry followed by the Temporal SDK exporter's text in one
// answer, ours alone (with a comment saying why) when the SDK's cannot be read, and nothing else served.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startMetricsServer, type MetricsServer } from '../../worker/metrics-server.js';

const SDK_TEXT = '# HELP temporal_worker_start_total x\n# TYPE temporal_worker_start_total counter\ntemporal_worker_start_total{task_queue="q"} 1\n';
const silent = pino({ level: 'silent' });
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function registry(): Registry {
  const r = new Registry();
  new Counter({ name: 'ordinal_test_total', help: 'x', registers: [r] }).inc(2);
  return r;
}

async function fakeSdk(): Promise<string> {
  const server = http.createServer((_, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(SDK_TEXT));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}

async function start(sdkMetricsUrl?: string): Promise<MetricsServer> {
  const server = await startMetricsServer({ listen: { host: '127.0.0.1', port: 0 }, registry: registry(), sdkMetricsUrl, logger: silent });
  cleanups.push(() => server.close());
  return server;
}

describe('worker /metrics', () => {
  it("answers ours, then the SDK's, in one scrape", async () => {
    const server = await start(await fakeSdk());
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const response = await fetch(server.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toMatch(/^ordinal_test_total 2$/m);
    expect(text.endsWith(SDK_TEXT)).toBe(true);
    expect(text.indexOf('ordinal_test_total')).toBeLessThan(text.indexOf('temporal_worker_start_total'));
  });

  it("answers ours with a comment when the SDK's exporter does not answer", async () => {
    const server = await start('http://127.0.0.1:9/metrics');
    const response = await fetch(server.url);
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toMatch(/^ordinal_test_total 2$/m);
    expect(text).toMatch(/^# the Temporal SDK's metrics are missing from this scrape: /m);
  });

  it('serves only GET and HEAD /metrics', async () => {
    const server = await start();
    const base = server.url.replace(/\/metrics$/, '');
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(server.url, { method: 'POST' })).status).toBe(404);
    const head = await fetch(server.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });
});
