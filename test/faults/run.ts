// `npm run test:faults`: the full fault-injection run. For each fault kind, --trials trials (scenario
// round-robin, injection point, victims and down times from the seeded RNG), against Ordinal in its
// production shape on a Temporal dev server of its own; prints the per-kind table and the details of
// every violation, writes test/faults/results/latest.json. Exit code 1 when a trial did not converge or
// broke an invariant.
//
//   tsx test/faults/run.ts [--trials 20] [--seed 1] [--only kind[,kind...]] [--trial INDEX] [--parallel N] [--out FILE]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bundleWorkflowCode } from '@temporalio/worker';
import { integerFlag, listFlag, readCommandLine } from '../harness/command-line.js';
import { FAULT_KINDS, type FaultKind } from './lib/context.js';
import { RESULTS_DIR, buildReport, renderFailures, renderTable, writeReport } from './lib/report.js';
import { FaultSystem } from './lib/system.js';
import { runTrial, type TrialResult } from './lib/trial.js';

const USAGE = `usage: tsx test/faults/run.ts [--trials N] [--seed S] [--only KIND[,KIND...]] [--trial INDEX] [--parallel N] [--out FILE]
  --trials N    trials per fault kind (default 20)
  --seed S      run seed (default 1); trial i of kind K uses a seed derived from (S, K, i)
  --only KINDS  fault kinds to run, comma-separated: ${FAULT_KINDS.join(', ')}
  --trial INDEX run only trial INDEX of each selected kind (to reproduce one)
  --parallel N  independent systems (each its own Temporal server, data dir and address pool) taking
                trials from one queue (default 1: one trial at a time)
  --out FILE    JSON report (default test/faults/results/latest.json)
`;

interface Options {
  trials: number;
  seed: number;
  only: FaultKind[];
  trial?: number;
  parallel: number;
  out: string;
}

function parse(argv: string[]): Options | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      trials: { type: 'string' },
      seed: { type: 'string' },
      only: { type: 'string' },
      trial: { type: 'string' },
      parallel: { type: 'string' },
      out: { type: 'string' },
    },
  });
  if (values.help) return 'help';
  return {
    trials: integerFlag('trials', values.trials, 20, 1),
    seed: integerFlag('seed', values.seed, 1, 0),
    only: values.only === undefined ? [...FAULT_KINDS] : listFlag('only', values.only, FAULT_KINDS, 'fault kind'),
    trial: values.trial === undefined ? undefined : integerFlag('trial', values.trial, 0, 0),
    parallel: integerFlag('parallel', values.parallel, 1, 1),
    out: values.out === undefined ? path.join(RESULTS_DIR, 'latest.json') : path.resolve(values.out),
  };
}

const began = Date.now();
const log = (message: string) => process.stderr.write(`[faults +${((Date.now() - began) / 1000).toFixed(1)}s] ${message}\n`);

async function main(): Promise<number> {
  const commandLine = readCommandLine(process.argv.slice(2), USAGE, parse);
  if ('exitCode' in commandLine) return commandLine.exitCode;
  const { options } = commandLine;
  if (os.platform() !== 'linux') {
    process.stderr.write('the fault suite needs Linux (the process driver and the timeline read /proc)\n');
    return 2;
  }

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-faults-run-'));
  const bundlePath = path.join(tmp, 'workflow-bundle.js');
  log('bundling the workflows');
  const { code } = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../../workflows/index.ts', import.meta.url)),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: (m) => process.stderr.write(`${m}\n`) },
  });
  fs.writeFileSync(bundlePath, code);

  const systems: FaultSystem[] = [];
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= Promise.allSettled(systems.map((sys) => sys.stop())).then(() => fs.rmSync(tmp, { recursive: true, force: true })));
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  process.once('SIGTERM', () => void stop().then(() => process.exit(143)));

  const results: TrialResult[] = [];
  const startedAt = new Date().toISOString();
  const indices = options.trial !== undefined ? [options.trial] : Array.from({ length: options.trials }, (_, i) => i);
  const queue = options.only.flatMap((kind) => indices.map((index) => ({ kind, index })));
  const meta = () => ({
    seed: options.seed,
    trialsPerKind: indices.length,
    startedAt,
    durationMs: Date.now() - began,
    parallel: options.parallel,
    machine: { cpus: os.cpus().length, loadAverage: os.loadavg() },
  });
  try {
    for (let i = 0; i < Math.min(options.parallel, queue.length); i++) {
      const prefix = options.parallel > 1 ? `[system ${i}] ` : '';
      systems.push(await FaultSystem.start({ workflowBundle: bundlePath, addressPool: `127.${62 + i}.0.0/16`, log: (m) => log(prefix + m) }));
    }
    await Promise.all(
      systems.map(async (sys) => {
        for (let job = queue.shift(); job; job = queue.shift()) {
          const { kind, index } = job;
          const result = await runTrial(sys, kind, index, options.seed, { log });
          results.push(result);
          log(
            `${kind} #${index} ${result.scenario} (fault at ${result.injectedAtMs ?? '-'} ms): ` +
              `${result.converged ? `converged in ${((result.convergenceMs ?? 0) / 1000).toFixed(1)}s` : `NOT converged: ${result.notConvergedBecause}`}, ` +
              `${result.violations.length} violations, ${(result.durationMs / 1000).toFixed(1)}s [${result.notes.join('; ')}]` +
              (result.violations.length ? `\n  ${result.violations.join('\n  ')}` : ''),
          );
          // After every trial, so an interrupted run leaves what it measured.
          writeReport(buildReport(sorted(results), meta()), options.out);
        }
      }),
    );
  } finally {
    await stop();
  }
  const report = buildReport(sorted(results), meta());
  writeReport(report, options.out);
  process.stdout.write(`\n${renderTable(report.summary)}\n\n${renderFailures(results, options.seed)}\n\n`);
  process.stdout.write(`seed ${options.seed}, ${indices.length} trials per kind, ${options.parallel} system(s), ${(report.durationMs / 60_000).toFixed(1)} min; report in ${path.relative(process.cwd(), options.out)}\n`);
  return report.totals.converged === report.totals.trials && report.totals.violations === 0 ? 0 : 1;
}

function sorted(results: TrialResult[]): TrialResult[] {
  return [...results].sort((a, b) => FAULT_KINDS.indexOf(a.kind) - FAULT_KINDS.indexOf(b.kind) || a.index - b.index);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
