// The worker's /metrics: one Prometheus scrape gets the worker's own metrics (prom-client: the process
// and the activities') followed by the Temporal SDK's (its worker, polling and task metrics, and what
// the set workflows record through metricMeter), which the SDK's Rust core serves on a loopback port
// of its own; the two never share a metric name (ours start with ordinal_, process_ or nodejs_).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { formatHostPort, type HostPort } from '../infra/config.js';
import type { Logger } from '../infra/logger.js';

export interface MetricsServer {
  /** http://host:port/metrics */
  url: string;
  close(): Promise<void>;
}

/** How long a scrape waits for the SDK's exporter before answering with ours alone. */
const SDK_TIMEOUT_MS = 5_000;

export async function startMetricsServer(options: { listen: HostPort; registry: Registry; sdkMetricsUrl?: string; logger: Logger }): Promise<MetricsServer> {
  const { registry, sdkMetricsUrl, logger } = options;
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served here\n');
      return;
    }
    void scrape(registry, sdkMetricsUrl, logger).then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: unknown) => {
        logger.error({ err }, 'metrics scrape failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics failed; the worker log has the details\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.listen.port, options.listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${formatHostPort({ host: address.address, port: address.port })}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function scrape(registry: Registry, sdkMetricsUrl: string | undefined, logger: Logger): Promise<string> {
  const ours = await registry.metrics();
  if (!sdkMetricsUrl) return ours;
  try {
    const response = await fetch(sdkMetricsUrl, { signal: AbortSignal.timeout(SDK_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const sdk = await response.text();
    return `${ours.endsWith('\n') ? ours : `${ours}\n`}${sdk}`;
  } catch (err) {
    logger.warn({ err, sdkMetricsUrl }, "the Temporal SDK's metrics could not be read; answering the worker's own");
    return `${ours}# the Temporal SDK's metrics are missing from this scrape: ${(err as Error).message}\n`;
  }
}
