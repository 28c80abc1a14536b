// Scenario 7, Route 53 under the account's token bucket: S sets (200) each publish the records of N
// instances (12) to ONE hosted zone at once, through Ordinal's real path: the set's publish activity
// code (Route53Provider -> ZoneWorkflowClient: update-with-start `submit` to the zone's publisher
// workflow), the publisher workflow `route53-zone/<id>` and its flush activity on Ordinal's own worker
// (a separate process, on the run's Temporal server), the AWS SDK, and the fault proxy of the tests
// (test/harness/route53-proxy.ts) enforcing Route 53's request-rate token bucket (burst 50, 10 per
// second, over every request) and AWS's strictness, in front of a real moto_server.
//
// What is counted: a set of N instances and one named port publishes N A record sets (one value each),
// the service A (N values) and the SRV (N values), each with its ownership TXT (one value): 4N + 2
// resource records (the unit of Route 53's 1,000-records-per-batch limit), 2N + 4 Change elements.
// 200 sets of 12: 10,000 resource records, 5,600 changes, 5,600 record sets.
//
// The time runs from the first submit until every set's submit has returned with its changes INSYNC,
// and counts only when moto then holds exactly the expected records (from ListResourceRecordSets
// straight to moto). Baselines:
// - the bucket's theoretical maximum: 10 batches of 1,000 records per second (computed);
// - measured in the same run, through the same proxy, bucket and moto: ONE direct call of the
//   publisher's own flushZone for all the sets at once (no Temporal): the best batching there is,
//   and what this emulated Route 53 costs by itself.
// A naive publisher (one ChangeResourceRecordSets per record set) is only computed, not run: under the
// bucket it needs at least (record sets - burst) / 10 seconds, and through this proxy each of its
// thousands of requests would also pay the strictness check's zone listing, measuring the proxy.
//
// The bench process stands in for the sets' publish activities (the same code the worker runs), and
// retries a submit that throws as that activity's retry policy would (1 s doubling to 30 s). The
// proxy's request log and the publisher's history break the time down (details in the results file).
// Diagnostic: --route53-max-in-flight N lets at most N submits wait at once (as a provider could), to
// compare with the server's limit of 10 concurrent updates per workflow.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { RecordSet } from '../../core/dns-records.js';
import { createRoute53, type Route53 } from '../../activities/dns/route53/client.js';
import { BATCH_LIMITS, batchChanges, planChanges } from '../../activities/dns/route53/plan.js';
import { Route53Provider } from '../../activities/dns/route53/provider.js';
import { flushZone } from '../../activities/dns/route53/publisher.js';
import { sleep } from '../../infra/child-processes.js';
import { route53ZoneWorkflowId } from '../../activities/dns/route53/contract.js';
import { startRoute53Proxy, type ProxiedRequest, type Route53Proxy } from '../../test/harness/route53-proxy.js';
import { MotoAdmin, expectedLines, setRecords } from '../../test/harness/route53.js';
import { startMotoServer, type MotoServer } from '../../test/tools/moto.js';
import type { BenchContext } from '../lib/context.js';
import { fetchTimeline } from '../lib/history.js';
import { cpuSecondsOf } from '../lib/procs.js';
import { row, type Row, type ScenarioResult } from '../lib/report.js';
import { startStack, type Stack } from '../lib/stack.js';
import { median, summarize } from '../lib/stats.js';

/** Route 53's default request-rate buckets (account level, and per operation): capacity 50, 10 per second. */
const BUCKET = { burst: 50, perSecond: 10 };
/** What the bucket allows at most: 10 batches of 1,000 records per second. */
const MAX_RECORDS_PER_SECOND = BUCKET.perSecond * BATCH_LIMITS.records;
const OWNER = 'ordinal';
const CREDENTIALS = { accessKeyId: 'bench', secretAccessKey: 'bench' };
/** The publish activity's retry policy (workflows/statefulset.ts): 1 s, doubling, at most 30 s. */
const RETRY = { initialMs: 1_000, maxMs: 30_000 };
/** A set whose outcome carries an AWS error publishes again after this long (docs/dns.md, Route 53). */
const ERROR_RETRY_MS = 30_000;

interface Workload {
  zone: string;
  desired: Record<string, RecordSet[]>;
  sets: number;
  instances: number;
  recordSets: number;
  /** Resource records (values), the unit of the 1,000-per-batch limit: the workload's size. */
  records: number;
  changes: number;
}

interface ProxyStats {
  requests: number;
  byOperation: Record<string, { requests: number; throttled: number; ms: number }>;
  throttled: number;
  /** ChangeResourceRecordSets that reached moto. */
  batches: number;
  /** Resource records per batch that reached moto. */
  batchRecords: number[];
  /** Time some ChangeResourceRecordSets was inside the proxy (strictness check + moto), ms. */
  changeBusyMs: number;
  /** Time any request was inside the proxy, ms. */
  busyMs: number;
}

interface Run {
  kind: 'ordinal' | 'direct';
  zoneId: string;
  ms: number;
  recordsPerSecond: number;
  proxy: ProxyStats;
  cpuSeconds: { worker?: number; temporal: number; moto: number; bench: number };
  verified: true;
  ordinal?: OrdinalDetails;
}

interface OrdinalDetails {
  /** Submits sent by the bench (the activity's attempts), and why the failed ones failed. */
  submitAttempts: number;
  submitErrors: Record<string, number>;
  /** Outcomes with an AWS error (republished after 30 s). */
  outcomeErrors: Record<string, number>;
  /** Every gRPC answer the sets' client got (0: OK), by whether its retry interceptor retried it, status and message. */
  grpcRetries: Record<string, number>;
  /** Per set: first submit to its outcome, ms. */
  submitMs: ReturnType<typeof summarize>;
  /** Updates the publisher accepted (from its history). */
  updatesAccepted: number;
  flushes: Array<{ sets: number; queuedMs: number; runMs: number; startAt: number; inputBytes: number; resultBytes: number }>;
  /** Time with a flush activity running, ms; the rest of the run is submits, coalescing, workflow tasks. */
  flushBusyMs: number;
  historyEvents: number;
}

export async function route53Scenario(ctx: BenchContext): Promise<ScenarioResult> {
  const { route53Sets: sets, route53Instances: instances, repeats } = ctx.options;
  // The SDK's notice about Node versions after 2026 is noise here (the tests silence it too).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const moto = await startMotoServer({ logFile: path.join(ctx.tmp, 'logs', 'moto.log') });
  const stopMoto = ctx.cleanup.add('moto_server', () => moto.stop());
  let proxy: Route53Proxy | undefined;
  let stack: Stack | undefined;
  let closeConnection: (() => Promise<void>) | undefined;
  const admin = new MotoAdmin(moto.endpoint);
  try {
    proxy = await startRoute53Proxy(moto.endpoint, { tokenBucket: BUCKET, log: true });
    stack = await startStack(ctx, {
      name: 'route53',
      env: {
        AWS_ENDPOINT_URL_ROUTE_53: proxy.endpoint,
        AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
        AWS_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ORDINAL_ROUTE53_OWNER_ID: OWNER,
      },
    });
    // The sets' side: what their publish activity runs, on a client of its own whose gRPC retries
    // (Temporal's defaults) are counted.
    const grpcRetries: Record<string, number> = {};
    const defaults = defaultGrpcRetryOptions();
    const connection = await Connection.connect({
      address: ctx.temporalAddress,
      interceptors: [
        makeGrpcRetryInterceptor({
          delayFunction: defaults.delayFunction,
          retryableDecider(attempt, status) {
            const retry = defaults.retryableDecider(attempt, status);
            const key = `${retry ? 'retried' : 'returned'}: ${status.code} ${String(status.details ?? '').replace(/\d+/g, 'N').slice(0, 120)}`;
            grpcRetries[key] = (grpcRetries[key] ?? 0) + 1;
            return retry;
          },
        }),
      ],
    });
    closeConnection = ctx.cleanup.add('route53 bench connection', () => connection.close());
    const client = new Client({ connection, namespace: ctx.namespace });
    const route53 = createRoute53({ client: { endpoint: proxy.endpoint, region: 'us-east-1', credentials: CREDENTIALS } });
    const provider = new Route53Provider({ temporal: client, taskQueue: stack.taskQueue, route53 });
    const env = { ctx, moto, proxy, stack, admin, route53, provider, client, grpcRetries };

    // Warm-up, on a zone of its own: the worker loads the workflow bundle, every connection opens.
    const warm = await workload(admin, 1, 2);
    await runOrdinal(env, warm);
    ctx.log('route53: warm-up published and verified');

    const runs: Run[] = [];
    for (let i = 0; i < repeats; i++) {
      // Alternate the order: a machine that gets busier does not favour one side.
      const order: Array<'ordinal' | 'direct'> = i % 2 === 0 ? ['ordinal', 'direct'] : ['direct', 'ordinal'];
      for (const kind of order) {
        const w = await workload(admin, sets, instances);
        const run = kind === 'ordinal' ? await runOrdinal(env, w) : await runDirect(env, w);
        runs.push(run);
        ctx.log(
          `route53 ${kind} ${i + 1}/${repeats}: ${w.records.toLocaleString('en-US')} records of ${sets} sets in ${(run.ms / 1000).toFixed(1)} s ` +
            `(${run.recordsPerSecond.toFixed(0)} records/s, ${run.proxy.batches} batches, ${run.proxy.requests} requests, ${run.proxy.throttled} throttled` +
            (run.ordinal ? `, ${run.ordinal.flushes.length} flushes, ${run.ordinal.submitAttempts - sets} submits retried` : '') +
            '); zone verified',
        );
      }
    }

    const sample = await workload(admin, sets, instances, false);
    const ordinal = runs.filter((r) => r.kind === 'ordinal');
    const direct = runs.filter((r) => r.kind === 'direct');
    const med = (list: Run[], f: (r: Run) => number) => median(list.map(f));
    const ordinalMs = med(ordinal, (r) => r.ms);
    const directMs = med(direct, (r) => r.ms);
    const theoreticalMs = (sample.records / MAX_RECORDS_PER_SECOND) * 1000;
    const fewestBatches = Math.ceil(sample.records / BATCH_LIMITS.records);
    const plannedBatches = batchChanges(planChanges({ current: [], ownerId: OWNER, desired: new Map(Object.entries(sample.desired)) }).groups).length;
    const naive = {
      requests: sample.recordSets / 2,
      minSeconds: Math.max(0, sample.recordSets / 2 - BUCKET.burst) / BUCKET.perSecond,
      note: 'one ChangeResourceRecordSets per record set and its ownership TXT; GetChange and listing not counted',
    };
    const capped = ctx.options.route53MaxInFlight ? `, at most ${ctx.options.route53MaxInFlight} submits at once (diagnostic)` : '';
    const size = `${sets} sets x ${instances} instances, ${sample.records.toLocaleString('en-US')} records${capped}`;
    const ordinalRate = (sample.records / ordinalMs) * 1000;
    const directRate = (sample.records / directMs) * 1000;
    const rows: Row[] = [
      row({
        name: `route53: ${size} published, all INSYNC`,
        value: ordinalMs / 1000,
        unit: 's',
        baseline: theoreticalMs / 1000,
        baselineLabel: `bucket maximum: ${BUCKET.perSecond} batches of ${BATCH_LIMITS.records.toLocaleString('en-US')} records per s`,
        target: null,
        met: null,
        note: `median of ${ordinal.length}; a naive publisher (one request per record set) needs >= ${naive.minSeconds.toFixed(0)} s under the same bucket (computed)`,
      }),
      row({
        name: 'route53: records per second (ratio: share of the bucket maximum)',
        value: ordinalRate,
        unit: 'records/s',
        baseline: MAX_RECORDS_PER_SECOND,
        baselineLabel: 'bucket maximum',
        target: null,
        met: null,
      }),
      row({
        name: 'route53: records per second against one direct flush of the same records (no Temporal)',
        value: ordinalRate,
        unit: 'records/s',
        baseline: directRate,
        baselineLabel: `flushZone once, same proxy and bucket: ${(directMs / 1000).toFixed(1)} s against Ordinal's ${(ordinalMs / 1000).toFixed(1)} s`,
        target: '>= 0.5 x direct flush',
        met: ordinalRate >= 0.5 * directRate,
      }),
      row({
        name: 'route53: ChangeResourceRecordSets batches',
        value: med(ordinal, (r) => r.proxy.batches),
        unit: 'batches',
        baseline: med(direct, (r) => r.proxy.batches),
        baselineLabel: `one flush; fewest possible ${fewestBatches}`,
        target: null,
        met: null,
      }),
      row({
        name: 'route53: API requests (all operations)',
        value: med(ordinal, (r) => r.proxy.requests),
        unit: 'requests',
        baseline: med(direct, (r) => r.proxy.requests),
        baselineLabel: 'one flush',
        target: null,
        met: null,
      }),
      row({
        name: 'route53: throttled responses',
        value: med(ordinal, (r) => r.proxy.throttled),
        unit: 'responses',
        baseline: med(direct, (r) => r.proxy.throttled),
        baselineLabel: 'one flush',
        ratio: null,
        target: null,
        met: null,
      }),
    ];
    return {
      rows,
      details: {
        workload: { sets, instances, recordSets: sample.recordSets, records: sample.records, changes: sample.changes, recordsPerSet: 4 * instances + 2 },
        bucket: BUCKET,
        maxRecordsPerSecond: MAX_RECORDS_PER_SECOND,
        theoreticalMs,
        shareOfMaximum: ordinalRate / MAX_RECORDS_PER_SECOND,
        fewestBatches,
        plannedBatchesOneFlush: plannedBatches,
        naive,
        ordinal: summarize(ordinal.map((r) => r.ms)),
        direct: summarize(direct.map((r) => r.ms)),
        runs,
      },
    };
  } finally {
    admin.close();
    await closeConnection?.();
    await stack?.stop();
    await proxy?.close();
    await stopMoto();
  }
}

interface Env {
  ctx: BenchContext;
  moto: MotoServer;
  proxy: Route53Proxy;
  stack: Stack;
  admin: MotoAdmin;
  route53: Route53;
  provider: Route53Provider;
  client: Client;
  grpcRetries: Record<string, number>;
}

/** A fresh hosted zone (unless `create` is false) and the records `sets` sets of `instances` want there. */
async function workload(admin: MotoAdmin, sets: number, instances: number, create = true): Promise<Workload & { zoneId: string }> {
  const zone = `r53b-${randomBytes(3).toString('hex')}.internal`;
  const zoneId = create ? await admin.createZone(zone) : '';
  const desired: Record<string, RecordSet[]> = {};
  for (let s = 0; s < sets; s++) {
    const set = `s${String(s).padStart(3, '0')}`;
    const addresses = Array.from({ length: instances }, (_, i) => `10.${Math.floor(s / 250)}.${s % 250}.${i + 1}`);
    desired[set] = setRecords(set, zone, addresses);
  }
  const all = Object.values(desired).flat();
  const recordSets = all.length * 2;
  const records = all.reduce((n, r) => n + r.values.length + 1, 0);
  return { zone, zoneId, desired, sets, instances, recordSets, records, changes: recordSets };
}

/** The sets publish at once through Ordinal: every submit sent together, each retried as its activity would be. */
async function runOrdinal(env: Env, w: Workload & { zoneId: string }): Promise<Run> {
  const { ctx, proxy, stack, provider } = env;
  await settle(env);
  for (const key of Object.keys(env.grpcRetries)) delete env.grpcRetries[key];
  const cpu = cpuNow(env);
  const deadline = Date.now() + Math.max(180_000, w.sets * 4_000);
  const submitErrors: Record<string, number> = {};
  const outcomeErrors: Record<string, number> = {};
  let attempts = 0;
  const t0 = performance.now();
  const started = Date.now();
  let done = 0;
  const progress = setInterval(() => {
    ctx.log(`route53: ${done} of ${w.sets} sets published after ${((performance.now() - t0) / 1000).toFixed(0)} s, ${attempts} submits, ${env.proxy.requests.length} API requests`);
  }, 15_000);
  // Diagnostic (--route53-max-in-flight): a cap on submits at once, as a provider could keep itself.
  const gate = semaphore(ctx.options.route53MaxInFlight || Infinity);
  /** One set's publish activity: attempts until its records are INSYNC, retried as Temporal would. */
  const publish = async (set: string, records: RecordSet[]): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      attempts++;
      let outcome: Awaited<ReturnType<Route53Provider['apply']>> | undefined;
      try {
        outcome = await provider.apply(set, { provider: 'route53', zone: w.zone }, records);
      } catch (err) {
        // The activity fails and Temporal retries it.
        count(submitErrors, err instanceof Error ? `${err.name}: ${err.message}` : String(err));
      }
      if (outcome && !outcome.error) {
        if (outcome.conflicts.length || outcome.failed.length || outcome.propagating.length) {
          throw new Error(`set ${set}: unexpected outcome ${JSON.stringify(outcome).slice(0, 400)}`);
        }
        return;
      }
      let wait = Math.min(RETRY.initialMs * 2 ** (attempt - 1), RETRY.maxMs);
      if (outcome?.error) {
        // The set reports the error in its DNSReady condition and publishes again later.
        count(outcomeErrors, `${outcome.error.code}: ${outcome.error.message}`);
        wait = ERROR_RETRY_MS;
      }
      if (Date.now() + wait > deadline) throw new Error(`set ${set} not published within ${(deadline - started) / 1000} s (${attempt} attempts)`);
      await sleep(wait);
    }
  };
  const perSet = await Promise.all(
    Object.entries(w.desired).map(async ([set, records]) => {
      const begin = performance.now();
      const release = await gate();
      try {
        await publish(set, records);
      } finally {
        release();
      }
      done++;
      return performance.now() - begin;
    }),
  ).finally(() => clearInterval(progress));
  const ms = performance.now() - t0;
  const cpuSeconds = cpuSince(env, cpu);
  const proxyStats = proxyStatsOf(proxy.requests, proxy.batches.filter((b) => b.zoneId === w.zoneId));
  await verify(env, w);

  const workflowId = route53ZoneWorkflowId(w.zoneId);
  const ordinal: OrdinalDetails = {
    submitAttempts: attempts,
    submitErrors,
    outcomeErrors,
    grpcRetries: { ...env.grpcRetries },
    submitMs: summarize(perSet),
    ...(await publisherHistory(stack, workflowId)),
  };
  // Done with this zone: its publisher would otherwise repair drift in 5 minutes, during a later run.
  await stack.client.workflow.getHandle(workflowId).terminate('bench run finished').catch(() => undefined);
  if (Object.keys(submitErrors).length) ctx.log(`route53: submits that failed and were retried: ${JSON.stringify(submitErrors)}`);
  return { kind: 'ordinal', zoneId: w.zoneId, ms, recordsPerSecond: (w.records / ms) * 1000, proxy: proxyStats, cpuSeconds, verified: true, ordinal };
}

/** The baseline: the publisher's own flush, called once for every set, straight from the bench. */
async function runDirect(env: Env, w: Workload & { zoneId: string }): Promise<Run> {
  const { proxy, route53 } = env;
  await settle(env);
  const cpu = cpuNow(env);
  const t0 = performance.now();
  // As the provider does first: find the zone by name.
  const zone = await route53.findHostedZone({ zone: w.zone });
  const result = await flushZone(route53, OWNER, { zoneId: zone.id, desired: w.desired });
  const ms = performance.now() - t0;
  const cpuSeconds = cpuSince(env, cpu);
  if (result.failed.length || result.conflicts.length || Object.values(result.changes).some((s) => s !== 'INSYNC')) {
    throw new Error(`direct flush: ${result.failed.length} failed, ${result.conflicts.length} conflicts, changes ${JSON.stringify(result.changes)}`);
  }
  const proxyStats = proxyStatsOf(proxy.requests, proxy.batches.filter((b) => b.zoneId === w.zoneId));
  await verify(env, w);
  return { kind: 'direct', zoneId: w.zoneId, ms, recordsPerSecond: (w.records / ms) * 1000, proxy: proxyStats, cpuSeconds, verified: true };
}

/** Before a measured run: a full bucket (as an idle account has), empty logs, a short pause. */
async function settle(env: Env): Promise<void> {
  await sleep(2_000);
  env.proxy.configure({ tokenBucket: BUCKET });
  env.proxy.resetCounts();
}

/** moto must hold exactly the records wanted, each with its ownership TXT, and nothing else. */
async function verify(env: Env, w: Workload & { zoneId: string }): Promise<void> {
  const want = expectedLines(OWNER, w.desired);
  const have = await env.admin.lines(w.zoneId);
  const wanted = new Set(want);
  const had = new Set(have);
  const missing = want.filter((l) => !had.has(l));
  const extra = have.filter((l) => !wanted.has(l));
  if (missing.length || extra.length || want.length !== have.length) {
    throw new Error(
      `zone ${w.zone} does not hold what was published: ${have.length} record sets, ${want.length} wanted; ` +
        `missing ${missing.length} (${missing.slice(0, 3).join('; ')}), unexpected ${extra.length} (${extra.slice(0, 3).join('; ')})`,
    );
  }
}

function proxyStatsOf(requests: ProxiedRequest[], batches: Route53Proxy['batches']): ProxyStats {
  const byOperation: ProxyStats['byOperation'] = {};
  let throttled = 0;
  for (const r of requests) {
    const op = (byOperation[r.operation] ??= { requests: 0, throttled: 0, ms: 0 });
    op.requests++;
    op.ms += r.end - r.start;
    if (r.code === 'Throttling') {
      op.throttled++;
      throttled++;
    }
  }
  return {
    requests: requests.length,
    byOperation,
    throttled,
    batches: batches.length,
    batchRecords: batches.map((b) => b.changes.reduce((n, c) => n + Math.max(c.values.length, 1) * (c.action === 'UPSERT' ? 2 : 1), 0)),
    changeBusyMs: unionMs(requests.filter((r) => r.operation === 'ChangeResourceRecordSets')),
    busyMs: unionMs(requests),
  };
}

/** The publisher's own account of the run: updates accepted, and each flush (sets, wait, duration, payloads). */
async function publisherHistory(stack: Stack, workflowId: string): Promise<Omit<OrdinalDetails, 'submitAttempts' | 'submitErrors' | 'outcomeErrors' | 'grpcRetries' | 'submitMs'>> {
  const [history, timeline] = await Promise.all([stack.client.workflow.getHandle(workflowId).fetchHistory(), fetchTimeline(stack.client, workflowId)]);
  const events = history.events ?? [];
  const size = (payloads: Array<{ data?: Uint8Array | null }> | null | undefined) => (payloads ?? []).reduce((n, p) => n + (p.data?.length ?? 0), 0);
  const inputs: number[] = [];
  const results = new Map<string, number>();
  for (const e of events) {
    if (e.activityTaskScheduledEventAttributes) inputs.push(size(e.activityTaskScheduledEventAttributes.input?.payloads));
    if (e.activityTaskCompletedEventAttributes) results.set(String(e.activityTaskCompletedEventAttributes.scheduledEventId), size(e.activityTaskCompletedEventAttributes.result?.payloads));
  }
  const scheduledIds = events.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => String(e.eventId));
  const flushes = timeline.activities
    .map((a, i) => ({ a, input: inputs[i] ?? 0, result: results.get(scheduledIds[i]) ?? 0 }))
    .filter(({ a }) => a.type === 'route53FlushZone')
    .map(({ a, input, result }) => ({
      sets: Number(/publish (\d+) set/.exec(a.summary ?? '')?.[1] ?? NaN),
      queuedMs: (a.started ?? a.scheduled) - a.scheduled,
      runMs: (a.closed ?? a.scheduled) - (a.started ?? a.scheduled),
      startAt: a.scheduled,
      inputBytes: input,
      resultBytes: result,
    }));
  const flushBusyMs = unionMs(timeline.activities.filter((a) => a.type === 'route53FlushZone' && a.closed !== undefined).map((a) => ({ start: a.scheduled, end: a.closed! })));
  return {
    updatesAccepted: events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length,
    flushes,
    flushBusyMs,
    historyEvents: events.length,
  };
}

function cpuNow(env: Env) {
  return {
    worker: cpuSecondsOf(env.stack.worker.pid),
    temporal: cpuSecondsOf(env.ctx.temporalPid),
    moto: cpuSecondsOf(env.moto.pid),
    bench: process.cpuUsage(),
  };
}

function cpuSince(env: Env, before: ReturnType<typeof cpuNow>): Run['cpuSeconds'] {
  const now = cpuNow(env);
  const bench = process.cpuUsage(before.bench);
  return {
    worker: now.worker - before.worker,
    temporal: now.temporal - before.temporal,
    moto: now.moto - before.moto,
    bench: (bench.user + bench.system) / 1e6,
  };
}

/** Total length of the union of [start, end] intervals, ms. */
function unionMs(intervals: Array<{ start: number; end: number }>): number {
  const sorted = [...intervals].sort((a, b) => a.start - b.start);
  let total = 0;
  let from = -Infinity;
  let to = -Infinity;
  for (const { start, end } of sorted) {
    if (start > to) {
      if (to > from) total += to - from;
      from = start;
      to = end;
    } else if (end > to) to = end;
  }
  if (to > from) total += to - from;
  return total;
}

/** At most `limit` holders at once; acquiring resolves to the release function. */
function semaphore(limit: number): () => Promise<() => void> {
  let active = 0;
  const waiting: Array<() => void> = [];
  // A release hands its place straight to the next waiter, if any.
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else active--;
  };
  return async () => {
    if (active < limit) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    return release;
  };
}

function count(map: Record<string, number>, message: string): void {
  const key = message.replace(/\d+/g, 'N').slice(0, 200);
  map[key] = (map[key] ?? 0) + 1;
}
