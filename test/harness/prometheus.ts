// A real Prometheus (Debian's `prometheus`) on loopback for the metrics tests: a temporary directory,
// a 1 s scrape interval, the targets given (with a bearer token when the API needs one), and its HTTP
// API to query what it scraped.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitFor } from './services.js';

export interface ScrapeTarget {
  job: string;
  /** http://host:port/metrics */
  url: string;
  /** Sent as `Authorization: Bearer <token>` (through a credentials file, as in production). */
  bearerToken?: string;
}

/** One sample of an instant query: its labels and value. */
export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export interface TestPrometheus {
  url: string;
  /** An instant query (PromQL) through /api/v1/query. */
  query(expr: string): Promise<Sample[]>;
  /** The scrape targets' health as Prometheus sees them, by job. */
  targets(): Promise<Array<{ job: string; health: string; lastError: string }>>;
  stop(): Promise<void>;
}

export const PROMETHEUS_BIN = '/usr/bin/prometheus';

export async function startPrometheus(targets: ScrapeTarget[]): Promise<TestPrometheus> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-prometheus-'));
  const scrapeConfigs = targets.map((t, i) => {
    const url = new URL(t.url);
    const lines = [`  - job_name: ${JSON.stringify(t.job)}`, `    metrics_path: ${JSON.stringify(url.pathname)}`, `    static_configs:`, `      - targets: [${JSON.stringify(url.host)}]`];
    if (t.bearerToken) {
      const file = path.join(dir, `token-${i}`);
      fs.writeFileSync(file, t.bearerToken, { mode: 0o600 });
      lines.push('    authorization:', '      type: Bearer', `      credentials_file: ${JSON.stringify(file)}`);
    }
    return lines.join('\n');
  });
  const config = ['global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', '  evaluation_interval: 1s', 'scrape_configs:', ...scrapeConfigs].join('\n');
  fs.writeFileSync(path.join(dir, 'prometheus.yml'), `${config}\n`);

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    PROMETHEUS_BIN,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}):\n${output.slice(-2000)}`);
        return (await fetch(`${url}/-/ready`)).ok;
      },
      { timeoutMs: 30_000, message: 'prometheus to be ready' },
    );
  } catch (err) {
    await stop();
    throw err;
  }

  async function api<T>(pathAndQuery: string): Promise<T> {
    const response = await fetch(`${url}${pathAndQuery}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${pathAndQuery}: ${body.error ?? response.status}`);
    return body.data;
  }

  return {
    url,
    async query(expr) {
      const data = await api<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
      return data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async targets() {
      const data = await api<{ activeTargets: Array<{ labels: Record<string, string>; health: string; lastError: string }> }>('/api/v1/targets');
      return data.activeTargets.map((t) => ({ job: t.labels.job ?? '', health: t.health, lastError: t.lastError }));
    },
    stop,
  };
}
