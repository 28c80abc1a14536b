// `npm run bench`: measures Ordinal against its limits and its peers, side by side, in one run, and
// prints a table and writes bench/results/latest.json. See docs/benchmarks.md. Flags: --help.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCommandLine } from '../test/harness/command-line.js';
import { createContext, type BenchContext } from './lib/context.js';
import { machineInfo, toolVersion } from './lib/machine.js';
import { SCENARIOS, USAGE, parseOptions, type ScenarioName } from './lib/options.js';
import { Cleanup, OWNER_ENV, REPO_ROOT, reapOwn, reapStale } from './lib/procs.js';
import { renderProfile, summarizeProfile } from './lib/profile.js';
import { renderTable, writeResults, type Row, type ScenarioResult } from './lib/report.js';
import { apiListScenario } from './scenarios/api-list.js';
import { apiScenario } from './scenarios/api.js';
import { dnsScenario, findDnsTools } from './scenarios/dns.js';
import { floorScenario } from './scenarios/floor.js';
import { manySetsScenario, manySmallSetsScenario } from './scenarios/many-sets.js';
import { recoveryScenario } from './scenarios/recovery.js';
import { route53Scenario } from './scenarios/route53.js';
import { scaleupScenario } from './scenarios/scaleup.js';

const RUNNERS: Record<ScenarioName, (ctx: BenchContext) => Promise<ScenarioResult>> = {
  floor: floorScenario,
  scaleup: scaleupScenario,
  recovery: recoveryScenario,
  many: manySetsScenario,
  'many-small': manySmallSetsScenario,
  api: apiScenario,
  'api-list': apiListScenario,
  dns: dnsScenario,
  route53: route53Scenario,
};
/** Scenarios whose figures are also given as multiples of R: they need scenario 1 in the same run. */
/** On Ctrl-C, how long each clean-up step may take before the next runs. */
const SIGNAL_STEP_TIMEOUT_MS = 60_000;
const NEEDS_R: ScenarioName[] = ['scaleup', 'recovery', 'many', 'many-small', 'api'];

const began = Date.now();
const log = (message: string) => process.stderr.write(`[bench +${((Date.now() - began) / 1000).toFixed(1)}s] ${message}\n`);

async function main(): Promise<number> {
  const commandLine = readCommandLine(process.argv.slice(2), USAGE, parseOptions);
  if ('exitCode' in commandLine) return commandLine.exitCode;
  const { options } = commandLine;
  if (os.platform() !== 'linux') {
    process.stderr.write('the bench needs Linux (Ordinal\'s process driver reads /proc)\n');
    return 2;
  }
  const selected = new Set(options.only);
  if (options.only.some((s) => NEEDS_R.includes(s)) && !selected.has('floor')) {
    log('scenario floor runs too: the others are reported as multiples of its R');
    selected.add('floor');
  }

  // Everything started from here on carries the owner mark (instances inherit it through the worker).
  process.env[OWNER_ENV] = String(process.pid);
  const cleanup = new Cleanup();
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    // tsx passes a terminal's Ctrl-C on too: a second signal changes nothing, the clean-up is bounded.
    if (interrupted) return;
    interrupted = true;
    log(`${signal}: stopping everything the bench started`);
    // Each step gets a bounded time (deleting thousands of sets would not end soon); whatever is still
    // running afterwards carries this run's owner mark and is killed.
    void cleanup
      .runAll(log, SIGNAL_STEP_TIMEOUT_MS)
      .finally(() => {
        const killed = reapOwn();
        if (killed > 0) log(`killed ${killed} processes the clean-up left`);
        process.exit(130);
      });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const stale = await reapStale();
  if (stale.processes || stale.folders) log(`removed what an earlier run left: ${stale.processes} processes, ${stale.folders} folders`);

  const rows: Row[] = [];
  const details: Record<string, unknown> = {};
  const failures: Array<{ scenario: string; error: string }> = [];
  const startedAt = new Date().toISOString();
  let machine;
  try {
    log(`options: ${JSON.stringify(options)}`);
    const ctx = await createContext(options, cleanup, log);
    const dnsTools = findDnsTools();
    machine = machineInfo({
      temporalCli: toolVersion(ctx.temporalCli, ['--version']),
      dnsperf: dnsTools.dnsperf ? toolVersion(dnsTools.dnsperf, ['-h'], /^Version .*/m) : undefined,
      dnsmasq: dnsTools.dnsmasq ? toolVersion(dnsTools.dnsmasq, ['--version']) : undefined,
    });
    for (const name of SCENARIOS) {
      if (!selected.has(name) || interrupted) continue;
      const t = Date.now();
      log(`scenario ${name}: starting`);
      try {
        const result = await RUNNERS[name](ctx);
        rows.push(...result.rows);
        details[name] = result.details;
        log(`scenario ${name}: done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
      } catch (err) {
        const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
        failures.push({ scenario: name, error: message });
        log(`scenario ${name} FAILED after ${((Date.now() - t) / 1000).toFixed(1)} s: ${message}`);
        if (name === 'floor') log('without R the other Temporal figures are reported without their multiple of R');
      }
    }
  } finally {
    await cleanup.runAll(log);
  }
  if (interrupted) return 130;

  const out = path.resolve(REPO_ROOT, options.out);
  writeResults(out, {
    machine: machine ?? machineInfo(),
    options,
    startedAt,
    durationSeconds: (Date.now() - began) / 1000,
    scenarios: rows,
    failures,
    details,
  });
  if (options.profile) writeProfileSummary(path.join(REPO_ROOT, 'bench/results/profiles'));
  process.stdout.write(`\n${renderTable(rows)}\n\n`);
  if (failures.length) process.stdout.write(`FAILED: ${failures.map((f) => f.scenario).join(', ')} (errors in ${path.relative(process.cwd(), out)})\n`);
  process.stdout.write(`results: ${path.relative(process.cwd(), out)} (${((Date.now() - began) / 1000).toFixed(0)} s)\n`);
  return failures.length ? 1 : 0;
}

/** Summaries of every CPU profile written with --profile (one folder per process, a file per thread). */
function writeProfileSummary(dir: string): void {
  if (!fs.existsSync(dir)) return;
  const parts: string[] = [];
  for (const folder of fs.readdirSync(dir).sort()) {
    const full = path.join(dir, folder);
    if (!fs.statSync(full).isDirectory()) continue;
    for (const file of fs.readdirSync(full).filter((f) => f.endsWith('.cpuprofile')).sort()) {
      parts.push(`[${folder}] ${renderProfile(summarizeProfile(path.join(full, file)))}`);
    }
  }
  fs.writeFileSync(path.join(dir, 'summary.txt'), `${parts.join('\n\n')}\n`);
  log(`CPU profile summaries: ${path.relative(process.cwd(), path.join(dir, 'summary.txt'))}`);
}

process.exit(await main());
