// One trial: a fresh set, a scenario's action, one fault at a random point, convergence within a
// deadline, the invariants, then the set deleted and checked gone. Every decision comes from the
// trial's own seeded RNG, derived from (run seed, fault kind, trial index).
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { SetView } from '../../../core/status.js';
import { FAULT_KINDS, SCENARIOS, TrialContext, type FaultKind, type ScenarioName } from './context.js';
import { FAULTS, SCENARIO_SPECS, scenarioAction } from './faults.js';
import { checkConverged, checkHistory, deleteAndCheck, waitConverged } from './invariants.js';
import { Rng, hashSeed } from './rng.js';
import { describeIntent, type Intent } from './spec.js';
import type { FaultSystem } from './system.js';
import { Timeline } from './timeline.js';

export interface TrialOptions {
  /** How long the set may take to converge after the action began (default 120 s). */
  convergeTimeoutMs?: number;
  log?: (message: string) => void;
}

export interface TrialResult {
  kind: FaultKind;
  index: number;
  seed: number;
  scenario: ScenarioName;
  set: string;
  /** The random injection delay after the action began (0 for a fault that picks its own moment). */
  delayMs: number;
  /** When the fault actually hit, after the action began. */
  injectedAtMs?: number;
  converged: boolean;
  /** From the action's start to the first moment every convergence condition held. */
  convergenceMs?: number;
  /** Why it had not converged at the deadline. */
  notConvergedBecause?: string;
  violations: string[];
  notes: string[];
  historyLength?: number;
  handovers: ReturnType<Timeline['handovers']>;
  sampler: { scans: number; maxGapMs: number };
  durationMs: number;
  /** A timeline excerpt, kept when something went wrong. */
  timeline?: string;
}

/** Which scenario trial `index` of `kind` runs: round-robin, shifted per kind so a one-trial run covers them all. */
export function scenarioFor(kind: FaultKind, index: number): ScenarioName {
  const allowed = FAULTS[kind].scenarios;
  const shift = FAULT_KINDS.indexOf(kind);
  return allowed[(index + shift) % allowed.length];
}

export function trialSeed(runSeed: number, kind: FaultKind, index: number): number {
  return hashSeed(runSeed, kind, index);
}

const ABBREV: Record<FaultKind, string> = {
  'worker-kill': 'wk',
  'api-kill': 'ak',
  'temporal-restart': 'tr',
  'dns-kill': 'dk',
  'never-ready': 'nr',
  'crash-loop': 'cl',
  'ignore-sigterm': 'is',
  'state-deleted': 'sd',
  'state-corrupted': 'sc',
};

export async function runTrial(sys: FaultSystem, kind: FaultKind, index: number, runSeed: number, options: TrialOptions = {}): Promise<TrialResult> {
  const began = Date.now();
  const log = options.log ?? (() => undefined);
  const seed = trialSeed(runSeed, kind, index);
  const rng = new Rng(seed);
  const fault = FAULTS[kind];
  const scenarioName = scenarioFor(kind, index);
  const scenario = SCENARIO_SPECS[scenarioName];
  const set = `${ABBREV[kind]}${index}-${scenarioName.replace(/[^a-z]/g, '').slice(0, 6)}-${randomBytes(2).toString('hex')}`;
  const eventsFile = path.join(sys.dataDir, `${set}.events`);
  const timeline = new Timeline(sys.system.driver, set, eventsFile);
  const initial: Intent = {
    replicas: scenario.initialReplicas,
    rev: 'r1',
    behaviour: fault.setupBehaviour ?? 'good',
    grace: 1,
    progressDeadlineSeconds: 600,
  };
  const ctx = new TrialContext(sys, rng, new Rng(hashSeed(seed, 'fault')), kind, scenarioName, set, eventsFile, timeline, initial, log);
  ctx.intent = { ...initial, grace: fault.grace?.(ctx) ?? 1 };
  const delayMs = fault.ownTiming ? 0 : Math.round(rng.between(0, scenario.windowMs));
  const result: TrialResult = {
    kind,
    index,
    seed,
    scenario: scenarioName,
    set,
    delayMs,
    converged: false,
    violations: ctx.violations,
    notes: ctx.notes,
    handovers: { total: 0, byExitEvent: 0, bySuiteKill: 0, bySamplerOnly: 0 },
    sampler: { scans: 0, maxGapMs: 0 },
    durationMs: 0,
  };
  timeline.start();
  try {
    // 1. The set as the scenario starts from, converged, with no fault.
    const created = await sys.requestRetrying<SetView>('PUT', `/v1/sets/${set}`, { body: ctx.manifest() });
    if (created.status !== 201 && created.status !== 200) {
      throw new Error(`creating ${set}: HTTP ${created.status} ${JSON.stringify(created.body).slice(0, 300)}`);
    }
    ctx.generation = created.body.metadata.generation;
    const setup = await waitConverged(ctx, 120_000);
    if (!setup.ok) throw new SetupError(`setup (${describeIntent(ctx.intent)}) did not converge before any fault: ${setup.why}`);
    log(`${set}: ${kind} × ${scenarioName}, seed ${seed}, set up in ${((Date.now() - began) / 1000).toFixed(1)}s; fault in ${fault.ownTiming ? 'a chosen request' : `${delayMs} ms`}`);

    // 2. The action and, at the random point, the fault.
    fault.prepare?.(ctx);
    ctx.t0 = Date.now();
    const action = fault.act ? fault.act(ctx) : scenarioAction(ctx);
    ctx.actionDone = action.then(
      () => undefined,
      () => undefined,
    );
    const injected = sleep(delayMs).then(() => {
      ctx.injectedAt = Date.now();
      return fault.inject(ctx);
    });
    const [actionOutcome, faultOutcome] = await Promise.allSettled([action, injected]);
    if (actionOutcome.status === 'rejected') ctx.violations.push(`the scenario's action failed: ${errorText(actionOutcome.reason)}`);
    if (faultOutcome.status === 'rejected') ctx.violations.push(`injecting the fault failed: ${errorText(faultOutcome.reason)}`);
    if (ctx.injectedAt !== undefined) result.injectedAtMs = ctx.injectedAt - ctx.t0;

    // 3. Convergence, within the deadline.
    const converged = await waitConverged(ctx, options.convergeTimeoutMs ?? 120_000);
    if (converged.ok) {
      result.converged = true;
      result.convergenceMs = converged.at - ctx.t0;
      await checkConverged(ctx, converged.view);
      await fault.check?.(ctx, converged.view);
    } else {
      result.notConvergedBecause = converged.why;
    }
    result.historyLength = await checkHistory(ctx);
    for (const problem of await sys.reviveCrashed()) ctx.violations.push(`component: ${problem}`);

    // 4. Delete the set: nothing of it may remain.
    await deleteAndCheck(ctx);
  } catch (err) {
    if (err instanceof SetupError) result.notConvergedBecause = err.message;
    else ctx.violations.push(`trial error: ${errorText(err)}`);
    for (const problem of await sys.reviveCrashed().catch(() => [])) ctx.violations.push(`component: ${problem}`);
    await deleteAndCheck(ctx).catch((e) => ctx.violations.push(`cleanup: ${errorText(e)}`));
  } finally {
    await timeline.stop();
  }
  fault.finalCheck?.(ctx);
  ctx.violations.push(...timeline.violations());
  result.handovers = timeline.handovers();
  result.sampler = { scans: timeline.scans, maxGapMs: timeline.maxGapMs };
  result.durationMs = Date.now() - began;
  if (!result.converged || ctx.violations.length > 0) result.timeline = timeline.excerpt();
  return result;
}

class SetupError extends Error {}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export { FAULT_KINDS, SCENARIOS };
