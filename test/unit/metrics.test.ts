// The metrics' names, types and labels: the API's /metrics (set gauges named as kube-state-metrics names
// them, request latency by route pattern), the worker's activity metrics, the set workflow's restarts and
// recovery, and ORDINAL_WORKER_METRICS. Labels stay bounded: no incarnation, address or path.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { MetricMeter, MetricTags } from '@temporalio/common';
import { createApp } from '../../api/app.js';
import { routePattern } from '../../api/request-metrics.js';
import { setMetricsText } from '../../api/set-metrics.js';
import type { SetEvent } from '../../core/events.js';
import { setView } from '../../core/status.js';
import { loadConfig } from '../../infra/config.js';
import { TokenStore, createToken } from '../../infra/tokens.js';
import { WorkerMetrics } from '../../worker/worker-metrics.js';
import { RECOVERY_METRIC, RESTARTS_METRIC, SetMetrics } from '../../workflows/set-metrics.js';
import { FakeSets } from './fake-sets.js';
import { NOW, setWith } from './set-fixtures.js';

/** `name{labels} value` lines of Prometheus text, as [series, value]. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

function labelNames(text: string, metric: string): Set<string> {
  const names = new Set<string>();
  for (const series of samples(text).keys()) {
    const match = /^([a-z_]+)(?:\{(.*)\})?$/.exec(series);
    if (!match || (match[1] !== metric && !match[1].startsWith(`${metric}_`))) continue;
    for (const pair of (match[2] ?? '').split(/,(?=[a-z_]+=")/)) if (pair) names.add(pair.split('=')[0]);
  }
  return names;
}

describe('set metrics (API)', () => {
  const view = setView(setWith(3, { 0: 'ready', 1: 'crashloop', 2: 'ready' }), NOW);

  it('names the gauges as kube-state-metrics does, from the set view', async () => {
    const text = await setMetricsText([view]);
    const s = samples(text);
    expect(s.get('ordinal_statefulset_replicas{statefulset="web"}')).toBe(3);
    expect(s.get('ordinal_statefulset_status_replicas_ready{statefulset="web"}')).toBe(view.status.readyReplicas);
    expect(s.get('ordinal_statefulset_status_replicas_available{statefulset="web"}')).toBe(view.status.availableReplicas);
    expect(s.get('ordinal_statefulset_status_replicas_current{statefulset="web"}')).toBe(view.status.currentReplicas);
    expect(s.get('ordinal_statefulset_status_replicas_updated{statefulset="web"}')).toBe(view.status.updatedReplicas);
    expect(s.get('ordinal_statefulset_status_observed_generation{statefulset="web"}')).toBe(view.status.observedGeneration);
    expect(s.get('ordinal_statefulset_metadata_generation{statefulset="web"}')).toBe(view.metadata.generation);
    expect(s.get(`ordinal_statefulset_status_phase{statefulset="web",phase="${view.status.phase}"}`)).toBe(1);
    expect([...s].filter(([k, v]) => k.startsWith('ordinal_statefulset_status_phase{') && v === 1)).toHaveLength(1);
    expect(s.get('ordinal_statefulset_status_condition{statefulset="web",condition="Ready",status="False"}')).toBe(1);
    expect(s.get('ordinal_statefulset_status_condition{statefulset="web",condition="Ready",status="True"}')).toBe(0);
    const crashlooping = view.status.instances[1];
    expect(crashlooping.restarts).toBeGreaterThan(0);
    expect(s.get('ordinal_instance_restarts_total{statefulset="web",instance_name="web-1"}')).toBe(crashlooping.restarts);
    expect(s.get('ordinal_instance_ready{statefulset="web",instance_name="web-0"}')).toBe(1);
    expect(text).toContain('# TYPE ordinal_instance_restarts_total counter');
    expect(text).toContain('# TYPE ordinal_statefulset_replicas gauge');
  });

  it('labels only by set, phase, condition and instance name: one series per instance at most', async () => {
    const text = await setMetricsText([view]);
    expect(labelNames(text, 'ordinal_instance_restarts')).toEqual(new Set(['statefulset', 'instance_name']));
    expect(labelNames(text, 'ordinal_statefulset_status_condition')).toEqual(new Set(['statefulset', 'condition', 'status']));
    const restartSeries = [...samples(text).keys()].filter((k) => k.startsWith('ordinal_instance_restarts_total'));
    expect(restartSeries).toHaveLength(3);
    for (const address of view.status.instances.map((i) => i.address).filter((a) => a !== null)) expect(text).not.toContain(address!);
  });

  it('drops a set that is gone at the next scrape', async () => {
    expect(await setMetricsText([])).not.toContain('statefulset="web"');
  });
});

describe('GET /metrics (API)', () => {
  it('serves the sets and the request latency by route pattern, method and status class', async () => {
    const sets = new FakeSets();
    const app = createApp(sets);
    const manifest = { apiVersion: 'ordinal.dev/v1', kind: 'StatefulSet', metadata: { name: 'db' }, spec: { replicas: 2, template: { process: { command: ['node', 'x.mjs'] } } } };
    expect((await app.request('http://127.0.0.1/v1/sets/db', { method: 'PUT', body: JSON.stringify(manifest), headers: { 'content-type': 'application/json' } })).status).toBe(201);
    expect((await app.request('http://127.0.0.1/v1/sets/nope')).status).toBe(404);
    expect((await app.request('http://127.0.0.1/no/such/route')).status).toBe(404);
    const response = await app.request('http://127.0.0.1/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const s = samples(await response.text());
    expect(s.get('ordinal_statefulset_replicas{statefulset="db"}')).toBe(2);
    expect(s.get('ordinal_api_request_duration_seconds_count{route="/v1/sets/:name",method="PUT",status="2xx"}')).toBe(1);
    expect(s.get('ordinal_api_request_duration_seconds_count{route="/v1/sets/:name",method="GET",status="4xx"}')).toBe(1);
    expect(s.get('ordinal_api_request_duration_seconds_count{route="unmatched",method="GET",status="4xx"}')).toBe(1);
    expect([...s.keys()].some((k) => k.includes('/v1/sets/db') || k.includes('/no/such'))).toBe(false);
    expect([...s.keys()].some((k) => k.startsWith('process_cpu_user_seconds_total'))).toBe(true);
  });

  it('needs a token of the read scope when tokens are on', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-metrics-'));
    try {
      const tokensFile = path.join(dir, 'tokens.json');
      const reader = createToken(tokensFile, 'prometheus', 'read');
      const store = new TokenStore({ tokensFile, required: false });
      const app = createApp(new FakeSets(), { auth: store });
      expect((await app.request('http://127.0.0.1/metrics')).status).toBe(401);
      const ok = await app.request('http://127.0.0.1/metrics', { headers: { authorization: `Bearer ${reader.token}` } });
      expect(ok.status).toBe(200);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes the route pattern of the handler, not of middleware', () => {
    expect(routePattern([{ method: 'ALL', path: '*' }, { method: 'GET', path: '/v1/sets/:name' }])).toBe('/v1/sets/:name');
    expect(routePattern([{ method: 'ALL', path: '*' }])).toBe('unmatched');
  });
});

describe('worker metrics (activities)', () => {
  it('counts with bounded labels', async () => {
    const metrics = new WorkerMetrics();
    metrics.probeFailed('web', 'liveness');
    metrics.probeFailed('web', 'liveness');
    metrics.startedToReady(0.3);
    metrics.dnsPublished('embedded', 'published', 0.002);
    metrics.route53Request('ChangeResourceRecordSets', 'throttled');
    metrics.route53Request('ChangeResourceRecordSets', 'ok');
    const text = await metrics.registry.metrics();
    const s = samples(text);
    expect(s.get('ordinal_probe_failures_total{statefulset="web",probe="liveness"}')).toBe(2);
    expect(s.get('ordinal_instance_start_to_ready_seconds_count')).toBe(1);
    expect(s.get('ordinal_instance_start_to_ready_seconds_bucket{le="0.5"}')).toBe(1);
    expect(s.get('ordinal_dns_publishes_total{provider="embedded",result="published"}')).toBe(1);
    expect(s.get('ordinal_dns_publish_duration_seconds_count{provider="embedded"}')).toBe(1);
    expect(s.get('ordinal_route53_requests_total{operation="ChangeResourceRecordSets",outcome="throttled"}')).toBe(1);
    expect(s.get('ordinal_route53_throttles_total{operation="ChangeResourceRecordSets"}')).toBe(1);
    expect(labelNames(text, 'ordinal_instance_start_to_ready_seconds')).toEqual(new Set(['le']));
    for (const series of s.keys()) expect(series.startsWith('ordinal_') || series.startsWith('process_') || series.startsWith('nodejs_')).toBe(true);
  });
});

/** A MetricMeter that records what the workflow emits. */
function recordingMeter() {
  const counted: Array<{ name: string; value: number; tags: MetricTags }> = [];
  const recorded: Array<{ name: string; value: number; tags: MetricTags }> = [];
  const meter = {
    createCounter: (name: string) => ({ add: (value: number, tags: MetricTags = {}) => counted.push({ name, value, tags }) }),
    createHistogram: (name: string) => ({ record: (value: number, tags: MetricTags = {}) => recorded.push({ name, value, tags }) }),
  } as unknown as MetricMeter;
  return { meter, counted, recorded };
}

let seq = 0;
function event(reason: SetEvent['reason'], instance: string, incarnation: number, at: number, extra: Partial<SetEvent> = {}): SetEvent {
  const time = new Date(at).toISOString();
  return { seq: ++seq, type: 'Normal', reason, message: `${instance} ${reason} ${incarnation}`, instance, ordinal: Number(instance.split('-')[1]), incarnation, count: 1, firstTimestamp: time, lastTimestamp: time, ...extra };
}

describe('SetMetrics (workflow)', () => {
  const t0 = Date.parse('2026-01-01T00:00:00Z');

  it('counts restarts by reason, with the set as the only other label', () => {
    const { meter, counted } = recordingMeter();
    const metrics = new SetMetrics('db', meter);
    metrics.record([event('Exited', 'db-1', 1, t0), event('Stopped', 'db-1', 1, t0), event('LivenessFailed', 'db-2', 3, t0), event('CreateFailed', 'db-0', 2, t0)]);
    expect(counted).toEqual([
      { name: RESTARTS_METRIC, value: 1, tags: { statefulset: 'db', reason: 'Exited' } },
      { name: RESTARTS_METRIC, value: 1, tags: { statefulset: 'db', reason: 'LivenessFailed' } },
      { name: RESTARTS_METRIC, value: 1, tags: { statefulset: 'db', reason: 'CreateFailed' } },
    ]);
  });

  it('adds only the new occurrences of an event counted again', () => {
    const { meter, counted } = recordingMeter();
    const metrics = new SetMetrics('db', meter);
    const first = event('CreateFailed', 'db-0', 2, t0);
    metrics.record([first]);
    metrics.record([{ ...first, seq: ++seq, count: 3, lastTimestamp: new Date(t0 + 5000).toISOString() }]);
    metrics.record([{ ...first, seq: ++seq, count: 3 }]);
    expect(counted.map((c) => c.value)).toEqual([1, 2]);
  });

  it('records recovery from the failure seen to the next incarnation Ready and published', () => {
    const { meter, recorded } = recordingMeter();
    const metrics = new SetMetrics('db', meter);
    metrics.record([event('Exited', 'db-1', 1, t0)]);
    // A second failure of the same outage (crash loop) does not restart the clock.
    metrics.record([event('Exited', 'db-1', 2, t0 + 1000)]);
    // The old incarnation's publish (its withdrawal raced) ends nothing.
    metrics.record([event('DNSPublished', 'db-1', 1, t0 + 1100)]);
    metrics.record([event('Ready', 'db-1', 3, t0 + 2000)]);
    expect(recorded).toEqual([]);
    metrics.record([event('DNSPublished', 'db-1', 3, t0 + 2500)]);
    expect(recorded).toEqual([{ name: RECOVERY_METRIC, value: 2.5, tags: {} }]);
    // Later Ready and publishes (no failure under way) record nothing.
    metrics.record([event('Ready', 'db-1', 4, t0 + 9000), event('DNSPublished', 'db-1', 4, t0 + 9000)]);
    expect(recorded).toHaveLength(1);
  });
});

describe('ORDINAL_WORKER_METRICS', () => {
  it('is off when unset, a listener with host:port, off everywhere with disabled', () => {
    expect(loadConfig({}, '/tmp', () => '').workerMetrics).toBeUndefined();
    expect(loadConfig({ ORDINAL_WORKER_METRICS: '127.0.0.1:7081' }, '/tmp', () => '').workerMetrics).toEqual({ host: '127.0.0.1', port: 7081 });
    expect(loadConfig({ ORDINAL_WORKER_METRICS: '[::1]:0' }, '/tmp', () => '').workerMetrics).toEqual({ host: '::1', port: 0 });
    expect(loadConfig({ ORDINAL_WORKER_METRICS: 'disabled' }, '/tmp', () => '').workerMetrics).toBe(false);
    expect(() => loadConfig({ ORDINAL_WORKER_METRICS: '7081' }, '/tmp', () => '')).toThrow(/ORDINAL_WORKER_METRICS must be host:port/);
    expect(() => loadConfig({ ORDINAL_WORKER_METRICS: 'localhost:99999' }, '/tmp', () => '')).toThrow(/ORDINAL_WORKER_METRICS/);
  });
});
