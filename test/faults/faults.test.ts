// The fast subset of the fault-injection suite, for CI: one trial per fault kind with a fixed seed
// (each kind on a different scenario), sequential, against one system of its own (a Temporal dev
// server the suite can stop and restart, and `ordinal dns`, `ordinal api`, `ordinal worker` as
// separate processes). Every trial must converge and break no invariant. The full run, with a report
// per fault kind, is `npm run test:faults` (test/faults/run.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MARKER, ProcessDriver } from '../../activities/drivers/process.js';
import { FIXTURE, readEvents } from '../harness/sets.js';
import { waitFor, workflowBundlePath } from '../harness/services.js';
import { FAULT_KINDS } from './lib/context.js';
import { RESULTS_DIR, buildReport, renderFailures, renderTable, writeReport } from './lib/report.js';
import { FaultSystem } from './lib/system.js';
import { Timeline } from './lib/timeline.js';
import { runTrial, type TrialResult } from './lib/trial.js';

const SEED = 1;
const verbose = Boolean(process.env.ORDINAL_TEST_VERBOSE);
const began = Date.now();
const log = (message: string) => {
  if (verbose) process.stderr.write(`[faults +${((Date.now() - began) / 1000).toFixed(1)}s] ${message}\n`);
};

let sys: FaultSystem;
const results: TrialResult[] = [];

beforeAll(async () => {
  sys = await FaultSystem.start({ workflowBundle: workflowBundlePath(), addressPool: '127.61.0.0/16', log });
});

afterAll(async () => {
  await sys?.stop();
  if (results.length === 0) return;
  const report = buildReport(results, {
    seed: SEED,
    trialsPerKind: 1,
    startedAt: new Date(began).toISOString(),
    durationMs: Date.now() - began,
    parallel: 1,
    machine: { cpus: (await import('node:os')).cpus().length, loadAverage: (await import('node:os')).loadavg() },
  });
  writeReport(report, `${RESULTS_DIR}/ci.json`);
  console.log(`fault injection, fast subset (seed ${SEED}):\n${renderTable(report.summary)}`);
});

describe('the timeline recorder', () => {
  it('proves an overlap of two incarnations of one identity, and accepts a clean handover', async () => {
    // Fake instances carrying the driver's marker, started by hand: ordinal 0 gets a second incarnation
    // while the first runs (what Ordinal must never do), ordinal 1 a successor after its predecessor exited.
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-faults-selftest-'));
    const driver = new ProcessDriver({ dataDir, addressPool: '127.60.0.0/16' });
    const scope = createHash('sha256').update(fs.realpathSync(dataDir)).digest('hex').slice(0, 12);
    const events = path.join(dataDir, 'dup.events');
    const children: ChildProcess[] = [];
    const start = (ordinal: number, incarnation: number) => {
      const child = spawn(process.execPath, [FIXTURE, '--events', events], {
        env: { ...process.env, [MARKER]: `${scope}/dup/${ordinal}/${incarnation}/rev`, ORDINAL_NAME: `dup-${ordinal}`, ORDINAL_INCARNATION: String(incarnation) },
        stdio: 'ignore',
      });
      children.push(child);
      return child;
    };
    const started = (ordinal: number, incarnation: number) =>
      waitFor(() => readEvents(events).some((e) => e.event === 'start' && e.name === `dup-${ordinal}` && e.incarnation === incarnation), {
        message: `dup-${ordinal}#${incarnation} to start`,
      });
    const timeline = new Timeline(driver, 'dup', events);
    timeline.start();
    let violations: string[] = [];
    let handovers: ReturnType<Timeline['handovers']> | undefined;
    try {
      const first = start(1, 1);
      await started(1, 1);
      start(0, 1);
      await started(0, 1);
      start(0, 2);
      await started(0, 2);
      await waitFor(() => timeline.scans > 5 && timeline.live().length === 3, { message: 'three fake instances seen' });
      first.kill('SIGTERM');
      await waitFor(() => readEvents(events).some((e) => e.event === 'exit' && e.name === 'dup-1'), { message: 'dup-1#1 to exit' });
      // The fixture records its exit just before it dies: wait for the process itself to be gone, or a
      // loaded machine can keep it alive (and sampled) after its successor started.
      await waitFor(() => first.exitCode !== null || first.signalCode !== null, { message: 'dup-1#1 to be gone' });
      start(1, 2);
      await started(1, 2);
    } finally {
      for (const child of children) child.kill('SIGKILL');
      await waitFor(() => timeline.live().length === 0, { message: 'fake instances gone' });
      await timeline.stop();
      violations = timeline.violations();
      handovers = timeline.handovers();
      driver.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
    expect(violations.some((v) => v.includes('the sampler saw dup-0 incarnations 1 and 2 alive at once'))).toBe(true);
    expect(violations.some((v) => v.startsWith('at-most-one: dup-0 incarnation 2 was alive at'))).toBe(true);
    expect(violations.filter((v) => v.includes('dup-1'))).toEqual([]);
    expect(handovers).toMatchObject({ total: 2, byExitEvent: 1 });
  });
});

describe.sequential('fault injection, one trial per fault kind', () => {
  for (const kind of FAULT_KINDS) {
    it(`${kind}: the set converges, at most one incarnation per identity, DNS tells the truth, nothing left behind`, async () => {
      const result = await runTrial(sys, kind, 0, SEED, { convergeTimeoutMs: 90_000, log });
      results.push(result);
      log(`${kind} ${result.scenario}: ${result.converged ? `converged in ${result.convergenceMs} ms` : 'NOT converged'} [${result.notes.join('; ')}]`);
      const details = renderFailures([result], SEED);
      expect(result.violations, details).toEqual([]);
      expect(result.converged, details).toBe(true);
    }, 200_000);
  }
});
