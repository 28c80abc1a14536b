// Scenario 3, recovery: kill -9 one instance of a Ready set, K times, each time a different instance
// (a second kill of the same instance within 60 s would be a crash loop and back off, by design), and
// time from the kill until (a) the embedded DNS server answers the instance's name with a new address
// and (b) the new incarnation answers HTTP there. The target is at most twice the bare supervisor's time.
// Baseline: a bare supervisor in the bench itself that respawns the same program on its exit event
// (at a new address, as Ordinal does) and polls it the same way: the floor of any restart.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { workflowIdForSet } from '../../core/names.js';
import { sleep } from '../../infra/child-processes.js';
import type { BenchContext } from '../lib/context.js';
import { queryA } from '../lib/dns-client.js';
import { fetchTimeline, type Timeline } from '../lib/history.js';
import { OWNER_ENV } from '../lib/procs.js';
import { row, type ScenarioResult } from '../lib/report.js';
import { INSTANT, instantManifest, waitFor, waitForReady } from '../lib/sets.js';
import { startStack } from '../lib/stack.js';
import { median, percentile, summarize } from '../lib/stats.js';

const POLL_MS = 5;
/** Target: Ordinal's recovery at most this many times the bare supervisor's, measured in the same run. */
const TARGET_RATIO = 2.0;
const RECOVERY_TIMEOUT_MS = 60_000;

interface Identity {
  name: string;
  incarnation: number;
  pid: number;
}

export async function recoveryScenario(ctx: BenchContext): Promise<ScenarioResult> {
  const { recoveryKills: kills, probePeriodSeconds } = ctx.options;
  const replicas = Math.max(kills, 2);
  const stack = await startStack(ctx, { name: 'recovery', dns: true });
  const name = 'heal';
  const samples: Array<{ ordinal: number; killAt: number; dnsMs: number; serveMs: number; totalMs: number }> = [];
  let timeline: Timeline | undefined;
  try {
    await stack.sets.apply(name, instantManifest(name, { replicas, probePeriodSeconds }));
    await waitForReady(stack.sets, name, replicas * 15_000 + 60_000, 250);
    const dnsPort = stack.dns!.port;
    for (let k = 0; k < kills; k++) {
      const ordinal = k % replicas;
      const view = await waitForReady(stack.sets, name, 120_000, 100);
      const instance = view.status.instances.find((i) => i.ordinal === ordinal)!;
      const oldAddress = instance.address!;
      const dnsName = instance.dnsName;
      const before = await getIdentity(oldAddress);
      const killAt = Date.now();
      const t0 = performance.now();
      process.kill(before.pid, 'SIGKILL');
      // (a) the name answers a new address
      let newAddress: string | undefined;
      for (;;) {
        const answer = await queryA(dnsPort, dnsName, 250).catch(() => undefined);
        const address = answer?.addresses[0];
        if (address && address !== oldAddress) {
          newAddress = address;
          break;
        }
        if (performance.now() - t0 > RECOVERY_TIMEOUT_MS) throw new Error(`${dnsName} did not move off ${oldAddress} within ${RECOVERY_TIMEOUT_MS} ms`);
        await sleep(POLL_MS);
      }
      const dnsMs = performance.now() - t0;
      // (b) a new incarnation serves there
      for (;;) {
        const now = await getIdentity(newAddress).catch(() => undefined);
        if (now && now.incarnation > before.incarnation) break;
        if (performance.now() - t0 > RECOVERY_TIMEOUT_MS) throw new Error(`no new incarnation of ${instance.name} serves at ${newAddress}`);
        await sleep(POLL_MS);
      }
      const totalMs = performance.now() - t0;
      samples.push({ ordinal, killAt, dnsMs, serveMs: totalMs - dnsMs, totalMs });
      ctx.log(`recovery ${k + 1}/${kills}: ${instance.name} back in ${totalMs.toFixed(0)} ms (DNS moved at ${dnsMs.toFixed(0)} ms)`);
    }
    timeline = await fetchTimeline(stack.client, workflowIdForSet(name));
  } finally {
    await stack.stop();
  }

  const supervisor = await supervisorBaseline(ctx, kills);
  const value = median(samples.map((s) => s.totalMs));
  const baseline = median(supervisor);
  return {
    rows: [
      row({
        name: 'recovery: kill -9 to new incarnation in DNS and serving',
        value,
        unit: 'ms',
        baseline,
        baselineLabel: 'bare supervisor respawn',
        target: `<= ${TARGET_RATIO.toFixed(1)} x bare supervisor`,
        met: value <= TARGET_RATIO * baseline,
        inR: ctx.R ? value / ctx.R : null,
        note: `median of ${kills} kills; p90 ${percentile(samples.map((s) => s.totalMs), 90).toFixed(0)} ms`,
      }),
    ],
    details: {
      kills,
      replicas,
      probePeriodSeconds,
      totalMs: summarize(samples.map((s) => s.totalMs)),
      dnsMs: summarize(samples.map((s) => s.dnsMs)),
      supervisorMs: summarize(supervisor),
      steps: timeline ? medianSteps(timeline, samples) : undefined,
      samples,
    },
  };
}

function getIdentity(address: string): Promise<Identity> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: address, port: 8080, path: '/', agent: false, timeout: 500 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
        try {
          resolve(JSON.parse(body) as Identity);
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

/**
 * The median recovery, step by step: for each kill, the activities that closed between the kill and
 * the recovery, in order, with their start and end relative to the kill.
 */
function medianSteps(timeline: Timeline, samples: Array<{ killAt: number; totalMs: number }>) {
  const perKill = samples.map((s) =>
    timeline.activities
      .filter((a) => a.closed !== undefined && a.closed >= s.killAt && a.closed <= s.killAt + s.totalMs + 50)
      .sort((a, b) => a.closed! - b.closed!)
      .map((a) => ({ step: a.summary?.replace(/ [a-z0-9-]+-\d+.*$/, '') ?? a.type, type: a.type, from: a.scheduled - s.killAt, to: a.closed! - s.killAt })),
  );
  const shape = perKill[0]?.map((s) => s.type).join(',');
  const same = perKill.filter((k) => k.map((s) => s.type).join(',') === shape);
  return {
    sequence: perKill[0]?.map((s, i) => ({
      type: s.type,
      step: s.step,
      fromMs: median(same.map((k) => k[i].from)),
      toMs: median(same.map((k) => k[i].to)),
    })),
    killsWithThisSequence: same.length,
  };
}

/** Kill -9 and respawn-on-exit of the same program, at a new address each time: the recovery floor. */
async function supervisorBaseline(ctx: BenchContext, kills: number): Promise<number[]> {
  const pool = ctx.nextPool().split('.').slice(0, 2).join('.');
  let next = 1;
  const nextAddress = () => `${pool}.0.${next++}`;
  let current: { child: ChildProcess; address: string } | undefined;
  const start = (address: string) => {
    const child = spawn(process.execPath, [INSTANT], {
      env: { ...process.env, ORDINAL_ADDRESS: address, ORDINAL_NAME: 'supervised-0', ORDINAL_INCARNATION: String(next), [OWNER_ENV]: String(process.pid) },
      stdio: 'ignore',
    });
    current = { child, address };
    return current;
  };
  const results: number[] = [];
  try {
    const first = start(nextAddress());
    await waitFor(() => getIdentity(first.address), { timeoutMs: 30_000, intervalMs: POLL_MS, message: 'the supervised program' });
    for (let k = 0; k < kills; k++) {
      const victim = current!;
      const address = nextAddress();
      const restarted = new Promise<{ address: string }>((resolve) => victim.child.once('exit', () => resolve(start(address))));
      const t0 = performance.now();
      victim.child.kill('SIGKILL');
      await restarted;
      await waitFor(() => getIdentity(address), { timeoutMs: 30_000, intervalMs: POLL_MS, message: 'the respawned program' });
      results.push(performance.now() - t0);
    }
  } finally {
    current?.child.kill('SIGKILL');
  }
  ctx.log(`recovery baseline (bare supervisor): median ${median(results).toFixed(0)} ms over ${kills} kills`);
  return results;
}
