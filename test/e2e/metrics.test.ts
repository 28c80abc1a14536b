// Prometheus metrics end to end: a real Prometheus (Debian's) scrapes the worker's /metrics and the
// API's (with a read-scope bearer token: tokens are on) of Ordinal run as production runs it, and the
// test reads what Prometheus stored: the set's ready gauge, and after a kill -9 of an instance its
// restarts (the API's per-instance counter, the workflow's counter by reason), with the worker's activity
// metrics and the Temporal SDK's own worker metrics in the same scrape. The shipped alert rules pass
// `promtool check rules` and `promtool test rules`.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../infra/tokens.js';
import { uniqueName } from '../harness/ordinal.js';
import { startPrometheus, type TestPrometheus } from '../harness/prometheus.js';
import { fixtureManifest } from '../harness/sets.js';
import { freePort, waitFor } from '../harness/services.js';
import { REPO, startSystem, type TestSystem } from '../harness/system.js';

const run = promisify(execFile);
const RULES = path.join(REPO, 'infra/prometheus');

let system: TestSystem;
let prometheus: TestPrometheus;
let tokensDir: string;
let writer: string;
let reader: string;

beforeAll(async () => {
  tokensDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-metrics-tokens-'));
  const tokensFile = path.join(tokensDir, 'tokens.json');
  writer = createToken(tokensFile, 'ci', 'write').token;
  reader = createToken(tokensFile, 'prometheus', 'read').token;
  const workerMetrics = `127.0.0.1:${await freePort()}`;
  system = await startSystem({ env: { ORDINAL_TOKENS_FILE: tokensFile, ORDINAL_TOKEN: writer, ORDINAL_WORKER_METRICS: workerMetrics } });
  expect(system.worker.output).toContain(`worker metrics on http://${workerMetrics}/metrics`);
  prometheus = await startPrometheus([
    { job: 'ordinal-worker', url: `http://${workerMetrics}/metrics` },
    { job: 'ordinal-api', url: `${system.apiUrl}/metrics`, bearerToken: reader },
  ]);
}, 180_000);

afterAll(async () => {
  await prometheus?.stop();
  await system?.stop();
  if (tokensDir) fs.rmSync(tokensDir, { recursive: true, force: true });
});

/** The value of a query that should give one sample, once it does and `accept` holds for it. */
function valueOf(expr: string, accept: (value: number) => boolean, timeoutMs = 60_000): Promise<number> {
  return waitFor(
    async () => {
      const samples = await prometheus.query(expr);
      if (samples.length !== 1) return undefined;
      return accept(samples[0]!.value) ? samples[0]!.value : undefined;
    },
    { timeoutMs, intervalMs: 250, message: `${expr} in Prometheus` },
  );
}

describe.sequential('Prometheus metrics', () => {
  it('scrapes both targets: the API with a bearer token, the worker with the Temporal SDK metrics in the same scrape', async () => {
    await waitFor(
      async () => {
        const targets = await prometheus.targets();
        return targets.length === 2 && targets.every((t) => t.health === 'up') ? targets : undefined;
      },
      { timeoutMs: 30_000, message: 'both targets up' },
    );
    // The SDK's worker metrics (polling, slots) come through the worker's own /metrics.
    expect(await valueOf('count({job="ordinal-worker", __name__=~"temporal_.+"})', (v) => v > 0)).toBeGreaterThan(0);
    expect(await valueOf('process_resident_memory_bytes{job="ordinal-worker"}', (v) => v > 0)).toBeGreaterThan(0);
    expect(await valueOf('process_resident_memory_bytes{job="ordinal-api"}', (v) => v > 0)).toBeGreaterThan(0);
    // Without the token the API refuses the scrape.
    expect((await fetch(`${system.apiUrl}/metrics`)).status).toBe(401);
  });

  const name = uniqueName('prom');
  const set = `statefulset="${name}"`;

  it('shows the set Ready, and after a kill -9 the restart, with the activities\' metrics and the API\'s latency', async () => {
    const put = await fetch(`${system.apiUrl}/v1/sets/${name}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/json' },
      body: JSON.stringify(fixtureManifest(name, { replicas: 2 })),
    });
    expect(put.status).toBe(201);
    expect(await valueOf(`ordinal_statefulset_status_replicas_ready{${set}}`, (v) => v === 2)).toBe(2);
    expect(await valueOf(`ordinal_statefulset_replicas{${set}}`, () => true)).toBe(2);
    expect(await valueOf(`ordinal_statefulset_status_phase{${set}, phase="Ready"}`, (v) => v === 1)).toBe(1);
    expect(await valueOf(`ordinal_statefulset_status_condition{${set}, condition="Ready", status="True"}`, (v) => v === 1)).toBe(1);
    expect(await valueOf(`ordinal_instance_restarts_total{${set}, instance_name="${name}-1"}`, () => true)).toBe(0);

    const [victim] = (await system.driver.describe(name)).filter((h) => h.ordinal === 1);
    process.kill(victim!.pid, 'SIGKILL');

    // The API's per-instance counter, from the set's status.
    expect(await valueOf(`ordinal_instance_restarts_total{${set}, instance_name="${name}-1"}`, (v) => v >= 1)).toBe(1);
    expect(await valueOf(`ordinal_instance_restarts_total{${set}, instance_name="${name}-0"}`, () => true)).toBe(0);
    expect(await valueOf(`ordinal_statefulset_status_replicas_ready{${set}}`, (v) => v === 2)).toBe(2);

    // The activities' metrics: start-to-Ready of the three incarnations, the embedded DNS publishes.
    expect(await valueOf('ordinal_instance_start_to_ready_seconds_count', (v) => v >= 3)).toBeGreaterThanOrEqual(3);
    expect(await valueOf('ordinal_dns_publishes_total{provider="embedded", result="published"}', (v) => v >= 3)).toBeGreaterThanOrEqual(3);
    // The API's latency, by route pattern: the set's name is not a label.
    expect(await valueOf('sum(ordinal_api_request_duration_seconds_count{route="/v1/sets/:name", method="PUT", status="2xx"})', (v) => v >= 1)).toBe(1);
    expect(await prometheus.query(`{route=~".*${name}.*"}`)).toEqual([]);
  });

  const flaky = uniqueName('promprobe');

  it('counts failing probes by set and kind, and the restart they cause', async () => {
    const unhealthy = path.join(tokensDir, `${flaky}-{name}.unhealthy`);
    const manifest = fixtureManifest(flaky, {
      replicas: 1,
      args: ['--unhealthy-file', unhealthy],
      livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1, failureThreshold: 3 },
    });
    const put = await fetch(`${system.apiUrl}/v1/sets/${flaky}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${writer}`, 'content-type': 'application/json' },
      body: JSON.stringify(manifest),
    });
    expect(put.status).toBe(201);
    const labels = `statefulset="${flaky}"`;
    expect(await valueOf(`ordinal_instance_ready{${labels}, instance_name="${flaky}-0"}`, (v) => v === 1)).toBe(1);
    // Starting (the readiness probe failing until the program listens) is not a readiness failure.
    expect(await prometheus.query(`ordinal_probe_failures_total{${labels}, probe="readiness"}`)).toEqual([]);

    fs.writeFileSync(unhealthy.replace('{name}', `${flaky}-0`), '');
    expect(await valueOf(`ordinal_probe_failures_total{${labels}, probe="liveness"}`, (v) => v >= 1)).toBeGreaterThanOrEqual(1);
    expect(await valueOf(`ordinal_probe_failures_total{${labels}, probe="readiness"}`, (v) => v >= 1)).toBeGreaterThanOrEqual(1);
    // Three liveness failures in a row: the instance is replaced, which the API counts as a restart.
    expect(await valueOf(`ordinal_instance_restarts_total{${labels}, instance_name="${flaky}-0"}`, (v) => v >= 1)).toBeGreaterThanOrEqual(1);
    fs.rmSync(unhealthy.replace('{name}', `${flaky}-0`));
    expect(await valueOf(`ordinal_statefulset_status_replicas_ready{${labels}}`, (v) => v === 1)).toBe(1);
  });

  // The set workflow records these through workflows/set-metrics.ts once statefulset.ts calls it with
  // the events it records (the lead wires that call; until then there is nothing to scrape).
  it('counts the restart by reason in the workflow and times the recovery', async () => {
    expect(await valueOf(`ordinal_restarts_total{${set}, reason="Exited"}`, (v) => v >= 1)).toBe(1);
    expect(await valueOf(`ordinal_restarts_total{statefulset="${flaky}", reason="LivenessFailed"}`, (v) => v >= 1)).toBeGreaterThanOrEqual(1);
    // Failure seen to the new incarnation Ready and published: a recovery for each set (the kill -9, the
    // liveness failure), each of a plausible length (the recovery histogram has no set label).
    expect(await valueOf('sum(ordinal_instance_recovery_seconds_count)', (v) => v >= 2)).toBe(2);
    const mean = await valueOf('sum(ordinal_instance_recovery_seconds_sum) / sum(ordinal_instance_recovery_seconds_count)', () => true);
    expect(mean).toBeGreaterThan(0);
    expect(mean).toBeLessThan(60);
    // Its buckets reach the minutes a long back-off takes (the SDK's default stops at 10 s).
    expect(await valueOf('sum(ordinal_instance_recovery_seconds_bucket{le="300"})', (v) => v >= 2)).toBe(2);
    expect(await valueOf('sum(ordinal_instance_recovery_seconds_bucket{le="600"})', (v) => v >= 2)).toBe(2);
  });

  it('ships alert rules that promtool accepts and whose tests pass', async () => {
    const checked = await run('promtool', ['check', 'rules', path.join(RULES, 'alerts.yml')]);
    expect(checked.stdout).toMatch(/SUCCESS: \d+ rules found/);
    const tested = await run('promtool', ['test', 'rules', path.join(RULES, 'alerts.test.yml')]);
    expect(tested.stdout).toMatch(/SUCCESS/);
  });

  it('ships an example scrape config that promtool accepts (with its token file in place)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-scrape-example-'));
    try {
      const token = path.join(dir, 'ordinal-token');
      fs.writeFileSync(token, reader);
      const example = fs.readFileSync(path.join(RULES, 'scrape.example.yml'), 'utf8');
      expect(example).toContain('/etc/prometheus/ordinal-token');
      fs.writeFileSync(path.join(dir, 'prometheus.yml'), example.replace('/etc/prometheus/ordinal-token', token));
      fs.copyFileSync(path.join(RULES, 'alerts.yml'), path.join(dir, 'alerts.yml'));
      const checked = await run('promtool', ['check', 'config', path.join(dir, 'prometheus.yml')]);
      expect(checked.stdout).toMatch(/SUCCESS: 1 rule files found/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
