// The scenarios (what the set is doing) and the faults (what breaks meanwhile). A trial runs one
// scenario's action and, after a random delay from the seeded RNG, one fault, concurrently.
import fs from 'node:fs';
import type { SetView } from '../../../core/status.js';
import { resolveA } from '../../harness/sets.js';
import type { FaultKind, ScenarioName, TrialContext } from './context.js';
import type { Behaviour, Intent } from './spec.js';
import { ZONE } from './system.js';

export interface Scenario {
  name: ScenarioName;
  /** Replicas of the set before the action. */
  initialReplicas: number;
  /** The spec change the action makes (undefined: no spec change, e.g. recreation). */
  change(intent: Intent, broken?: Behaviour): Intent | undefined;
  /** The random injection delay is drawn from [0, windowMs): the phase where the action is busy. */
  windowMs: number;
}

export const SCENARIO_SPECS: Record<ScenarioName, Scenario> = {
  'scale-up': {
    name: 'scale-up',
    initialReplicas: 0,
    change: (i, broken) => ({ ...i, replicas: 3, ...(broken ? { rev: 'bad', behaviour: broken } : {}) }),
    windowMs: 5_000,
  },
  'scale-down': {
    name: 'scale-down',
    initialReplicas: 3,
    change: (i, broken) => ({ ...i, replicas: 1, ...(broken ? { rev: 'bad', behaviour: broken } : {}) }),
    windowMs: 4_000,
  },
  recreation: {
    name: 'recreation',
    initialReplicas: 3,
    change: () => undefined,
    windowMs: 3_000,
  },
  rollout: {
    name: 'rollout',
    initialReplicas: 3,
    change: (i, broken) => ({ ...i, rev: broken ? 'bad' : 'r2', ...(broken ? { behaviour: broken } : {}) }),
    windowMs: 6_000,
  },
};

/** The scenario's own action: the spec change, or deleting / killing one instance. */
export async function scenarioAction(ctx: TrialContext, options: { recreateBy?: 'delete-instance' | 'kill-9'; broken?: Behaviour } = {}): Promise<void> {
  const scenario = SCENARIO_SPECS[ctx.scenario];
  if (scenario.name === 'recreation') {
    const view = await ctx.sys.getSet(ctx.set);
    const ordinal = ctx.rng.int(0, scenario.initialReplicas - 1);
    const before = view?.status.instances.find((i) => i.ordinal === ordinal)?.incarnation ?? 0;
    ctx.recreated = { ordinal, incarnationBefore: before };
    const by = options.recreateBy ?? ctx.rng.pick(['delete-instance', 'kill-9'] as const);
    ctx.notes.push(`recreation of ordinal ${ordinal} by ${by}`);
    if (by === 'kill-9') {
      if (!(await ctx.killInstance(ordinal))) ctx.violations.push(`recreation: ${ctx.set}-${ordinal} was not running to be killed`);
      return;
    }
    const res = await ctx.sys.requestRetrying('DELETE', `/v1/sets/${ctx.set}/instances/${ordinal}`);
    if (res.status !== 202) ctx.violations.push(`delete-instance ${ordinal}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
    return;
  }
  const next = scenario.change(ctx.intent, options.broken);
  if (next) await ctx.changeSpec(next, { via: ctx.rng.pick(['PUT', 'PATCH'] as const) });
}

export interface FaultSpec {
  kind: FaultKind;
  /** Scenarios this fault makes sense with. */
  scenarios: ScenarioName[];
  /** Template behaviour from the start (ignore-sigterm). */
  setupBehaviour?: Behaviour;
  /** The behaviour the scenario's change brings (a broken template), fixed later by the fault. */
  broken?: Behaviour;
  /** Draws what the fault needs before the action starts. */
  prepare?(ctx: TrialContext): void;
  /** Replaces the scenario's action (api-kill: a client loop of conditional changes). */
  act?(ctx: TrialContext): Promise<void>;
  /** Picks its own moment inside inject() rather than after the random delay (api-kill: a chosen request). */
  ownTiming?: boolean;
  /** The fault, at the random injection point. */
  inject(ctx: TrialContext): Promise<void>;
  /** Checks of its own once the set has converged. */
  check?(ctx: TrialContext, view: SetView): Promise<void>;
  /** Checks of its own on the whole timeline, once the set is deleted. */
  finalCheck?(ctx: TrialContext): void;
  /** Grace period (s) of the set's template. */
  grace?(ctx: TrialContext): number;
}

const ALL: ScenarioName[] = ['scale-up', 'scale-down', 'recreation', 'rollout'];

/** The api-kill client loop: its changes, where the kill lands, and how it went. */
interface ApiLoop {
  intents: Intent[];
  /** Index of the change during which the API is killed. */
  target: number;
  offsetMs: number;
  targetStarted: Promise<void>;
  resolveStarted: () => void;
  generationBefore: number;
  landedUnseen: number;
  networkErrors: number;
  inFlight: boolean;
}
const apiLoops = new WeakMap<TrialContext, ApiLoop>();
const dnsKillChecks = new WeakMap<TrialContext, string>();

export const FAULTS: Record<FaultKind, FaultSpec> = {
  'worker-kill': {
    kind: 'worker-kill',
    scenarios: ALL,
    async inject(ctx) {
      const downMs = ctx.faultRng.between(0, 1_000);
      const at = ctx.since();
      await ctx.sys.system.worker.kill();
      ctx.notes.push(`worker kill -9 at ${at}, down ${Math.round(downMs)} ms`);
      await sleep(downMs);
      await ctx.sys.system.worker.start();
      ctx.notes.push(`worker back at ${ctx.since()}`);
    },
  },

  'api-kill': {
    kind: 'api-kill',
    scenarios: ALL,
    ownTiming: true,
    prepare(ctx) {
      // The scenario's own change (if it makes one) among five harmless ones, sent back to back, each
      // conditional on the generation the previous one produced. The API is killed while change
      // `target` is on its way (a random moment 0-80 ms after it was sent: in flight, or just answered).
      const scenario = SCENARIO_SPECS[ctx.scenario];
      const intents: Intent[] = [];
      let next = ctx.intent;
      const ownAt = ctx.rng.int(0, 5);
      for (let i = 0; i < 6; i++) {
        if (i === ownAt) {
          const own = scenario.change(next);
          if (!own) continue;
          next = own;
        } else {
          next = { ...next, progressDeadlineSeconds: next.progressDeadlineSeconds + 1 };
        }
        intents.push(next);
      }
      const target = ctx.faultRng.int(0, intents.length - 1);
      let resolveStarted!: () => void;
      const targetStarted = new Promise<void>((resolve) => (resolveStarted = resolve));
      apiLoops.set(ctx, {
        intents,
        target,
        offsetMs: ctx.faultRng.between(0, 80),
        targetStarted,
        resolveStarted,
        generationBefore: ctx.generation,
        landedUnseen: 0,
        networkErrors: 0,
        inFlight: false,
      });
    },
    async act(ctx) {
      const loop = apiLoops.get(ctx)!;
      if (ctx.scenario === 'recreation') await scenarioAction(ctx, { recreateBy: 'kill-9' });
      for (const [i, intent] of loop.intents.entries()) {
        loop.inFlight = true;
        if (i === loop.target) loop.resolveStarted();
        const outcome = await ctx.changeSpec(intent, { via: ctx.rng.pick(['PUT', 'PATCH'] as const) });
        loop.inFlight = false;
        loop.networkErrors += outcome.networkErrors;
        if (outcome.landedUnseen) loop.landedUnseen++;
      }
    },
    async inject(ctx) {
      const loop = apiLoops.get(ctx)!;
      await Promise.race([loop.targetStarted, ctx.actionDone]);
      await sleep(loop.offsetMs);
      const downMs = ctx.faultRng.between(0, 800);
      const inFlight = loop.inFlight;
      ctx.injectedAt = Date.now();
      await ctx.sys.system.api.kill();
      ctx.notes.push(
        `api kill -9 at ${ctx.since()}, ${Math.round(loop.offsetMs)} ms after change ${loop.target + 1}/${loop.intents.length} was sent ` +
          `(${inFlight ? 'still in flight' : 'already answered'}), down ${Math.round(downMs)} ms`,
      );
      await sleep(downMs);
      await ctx.sys.system.api.start();
    },
    async check(ctx, view) {
      const loop = apiLoops.get(ctx);
      if (!loop) return;
      const delta = view.metadata.generation - loop.generationBefore;
      if (delta !== loop.intents.length) {
        ctx.violations.push(`exactly-once: ${loop.intents.length} conditional changes moved the generation by ${delta}`);
      }
      ctx.notes.push(
        `api loop: ${loop.intents.length} changes, generation +${delta}, ${loop.networkErrors} lost answers, ${loop.landedUnseen} landed unseen`,
      );
    },
  },

  'temporal-restart': {
    kind: 'temporal-restart',
    scenarios: ALL,
    async inject(ctx) {
      const downMs = ctx.faultRng.between(1_000, 3_000);
      const began = ctx.since();
      const { stoppedAt, startedAt } = await ctx.sys.restartTemporal(downMs);
      ctx.notes.push(`temporal stopped at ${began}, down ${startedAt - stoppedAt} ms (${Math.round(downMs)} ms before starting again)`);
    },
  },

  'dns-kill': {
    kind: 'dns-kill',
    scenarios: ALL,
    async inject(ctx) {
      const at = ctx.since();
      await ctx.sys.system.dns.kill();
      const killedAt = Date.now();
      await ctx.sys.system.dns.start();
      ctx.notes.push(`dns kill -9 at ${at}, back after ${Date.now() - killedAt} ms`);
      // Right after it is back, it must answer what the store holds (no warm-up, nothing stale).
      dnsKillChecks.set(ctx, await dnsMatchesStore(ctx));
    },
    async check(ctx) {
      const problem = dnsKillChecks.get(ctx);
      if (problem) ctx.violations.push(`dns right after restart: ${problem}`);
    },
  },

  'never-ready': brokenTemplate('never-ready', 'never-ready'),
  'crash-loop': brokenTemplate('crash-loop', 'crash'),

  'ignore-sigterm': {
    kind: 'ignore-sigterm',
    scenarios: ['scale-down', 'recreation', 'rollout'],
    setupBehaviour: 'ignore-sigterm',
    grace: (ctx) => ctx.rng.pick([1, 2]),
    act: (ctx) => scenarioAction(ctx, { recreateBy: 'delete-instance' }),
    async inject(ctx) {
      // A second stop at a random point: delete an instance that stays wanted (ordinal 0 always does).
      const ordinal = ctx.faultRng.int(0, Math.min(ctx.intent.replicas, 3) - 1);
      const res = await ctx.sys.requestRetrying('DELETE', `/v1/sets/${ctx.set}/instances/${ordinal}`);
      ctx.notes.push(`delete-instance ${ordinal} at ${ctx.since()}: HTTP ${res.status}`);
      if (res.status !== 202 && res.status !== 404 && res.status !== 409) {
        ctx.violations.push(`delete-instance ${ordinal}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
      }
    },
    finalCheck(ctx) {
      // SIGTERM is ignored: each stopped incarnation must have been SIGKILLed after the grace period, not
      // before. The period runs from when the driver sent SIGTERM (its 'stopping instance' log line),
      // not from when the program got round to recording it: on a loaded machine that is much later.
      const graceMs = ctx.intent.grace * 1000;
      const stops = stopTimes(ctx.sys.system.worker.output, ctx.set);
      let checked = 0;
      let fromDriver = 0;
      for (const t of ctx.timeline.incarnations()) {
        if (t.sigterm === undefined || t.exit !== undefined || t.seen?.goneAt === undefined) continue;
        checked++;
        const pid = t.seen.pid;
        const received = t.sigterm;
        const stop = stops.filter((s) => s.ordinal === t.ordinal && s.pids.includes(pid) && s.at <= received).at(-1);
        if (stop) fromDriver++;
        const sent = stop?.at ?? received;
        if (t.seen.goneAt < sent + graceMs - 100) {
          ctx.violations.push(
            `grace: ${ctx.set}-${t.ordinal}#${t.incarnation} was sent SIGTERM at ${sent} (recorded it at ${t.sigterm}) and was gone by ${t.seen.goneAt}, before its ${graceMs} ms grace period`,
          );
        }
      }
      ctx.notes.push(`${checked} SIGTERM-ignoring incarnations SIGKILLed after the grace period (${fromDriver} timed from the driver's SIGTERM)`);
    },
  },

  'state-deleted': stateFault('state-deleted'),
  'state-corrupted': stateFault('state-corrupted'),
};

/** A rollout (or scaling) to a template that never becomes Ready or exits at once, then a fix. */
function brokenTemplate(kind: 'never-ready' | 'crash-loop', broken: Behaviour): FaultSpec {
  return {
    kind,
    scenarios: ['scale-up', 'scale-down', 'rollout'],
    broken,
    act: (ctx) => scenarioAction(ctx, { broken }),
    async inject(ctx) {
      // The fix comes at the random point, but after the broken change itself was applied.
      await ctx.actionDone;
      const fixed: Intent = { ...ctx.intent, rev: 'fix', behaviour: 'good' };
      const outcome = await ctx.changeSpec(fixed, { via: ctx.faultRng.pick(['PUT', 'PATCH'] as const) });
      ctx.notes.push(`fix applied at ${ctx.since()} (generation ${outcome.generation})`);
    },
    async check(ctx) {
      // Nothing may still run the broken template (the live check compares FAULT_REV too).
      const broken = ctx.timeline.live().filter((p) => ctx.liveRev(p.pid) === 'bad');
      if (broken.length) ctx.violations.push(`broken template still runs: ${broken.map((p) => `${ctx.set}-${p.ordinal}`).join(', ')}`);
    },
  };
}

/** The driver's durable state deleted or corrupted while instances run, then one instance kill -9'd. */
function stateFault(kind: 'state-deleted' | 'state-corrupted'): FaultSpec {
  const variants = new WeakMap<TrialContext, string>();
  return {
    kind,
    scenarios: ALL,
    async inject(ctx) {
      await ctx.someInstanceRuns();
      const file = ctx.stateFile();
      ctx.injectedAt = Date.now();
      ctx.workerOutputMark = ctx.sys.system.worker.output.length;
      if (kind === 'state-deleted') {
        for (const suffix of ['', '-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
        variants.set(ctx, 'deleted');
      } else if (ctx.faultRng.chance(0.5)) {
        // Replaced by garbage (a new file): the running worker's driver notices the change.
        const garbage = randomBytes(ctx, 16_384);
        fs.writeFileSync(`${file}.garbage`, garbage);
        fs.renameSync(`${file}.garbage`, file);
        for (const suffix of ['-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
        variants.set(ctx, 'replaced by garbage');
      } else {
        // Overwritten in place (the same file): a running SQLite connection keeps reading its cached
        // pages and never sees it, so this is what the next worker finds after a crash of this one.
        await ctx.sys.system.worker.kill();
        const size = Math.max(fs.statSync(file).size, 4096);
        fs.writeFileSync(file, randomBytes(ctx, size));
        for (const suffix of ['-wal', '-shm']) fs.rmSync(file + suffix, { force: true });
        await ctx.sys.system.worker.start();
        variants.set(ctx, 'overwritten in place, worker kill -9 and restarted');
      }
      const victim = await ctx.killInstance();
      ctx.notes.push(
        `state ${variants.get(ctx)} at ${ctx.since()}; kill -9 ${victim ? `${ctx.set}-${victim.ordinal}#${victim.incarnation}` : '(no instance ran)'}`,
      );
    },
    async check(ctx) {
      const output = ctx.workerOutputSinceFault();
      const clear = /instance state file was removed or replaced|instance state is corrupt/.exec(output);
      if (!clear) ctx.violations.push(`state ${variants.get(ctx)}: the worker logged no clear error about its state file`);
      else ctx.notes.push(`worker said: "${clear[0]}"`);
    },
  };
}

function randomBytes(ctx: TrialContext, size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = Math.floor(ctx.faultRng.float() * 256);
  return bytes;
}

/**
 * The DNS server's A answers for the set's names against the store it serves from, with the store read
 * before and after the queries (a change in between is retried): '' when they match, else the problem.
 */
export async function dnsMatchesStore(ctx: TrialContext): Promise<string> {
  const service = `${ctx.set}.${ZONE}`;
  const names = [service, ...[0, 1, 2, 3].map((o) => `${ctx.set}-${o}.${service}`)];
  let problem = '';
  for (let attempt = 0; attempt < 10; attempt++) {
    const before = JSON.stringify(ctx.sys.storedRecords(names));
    const resolver = ctx.sys.resolver();
    const answers = new Map<string, string[] | string>();
    for (const name of names) {
      try {
        answers.set(name, await resolveA(resolver, name));
      } catch (err) {
        answers.set(name, `error ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    const records = ctx.sys.storedRecords(names);
    if (JSON.stringify(records) !== before) continue; // the worker published meanwhile: look again
    problem = '';
    for (const name of names) {
      const stored = records.find((r) => r.type === 'A' && r.name.replace(/\.$/, '') === name);
      const want = stored ? [...stored.values].sort() : [];
      const got = answers.get(name);
      if (JSON.stringify(got) !== JSON.stringify(want)) problem += `${name}: answered ${JSON.stringify(got)}, store holds ${JSON.stringify(want)}; `;
    }
    if (!problem.includes('error')) return problem;
    await sleep(200); // a query timed out on a loaded machine: ask again
  }
  return problem || 'the store kept changing while the answers were read';
}

/** When the worker's driver began stopping each instance of `set` ('stopping instance' lines: before it sends SIGTERM). */
function stopTimes(workerOutput: string, set: string): Array<{ ordinal: number; pids: number[]; at: number }> {
  const stops: Array<{ ordinal: number; pids: number[]; at: number }> = [];
  for (const line of workerOutput.split('\n')) {
    if (!line.includes('"stopping instance"') || !line.includes(set)) continue;
    try {
      const entry = JSON.parse(line) as { set?: string; ordinal?: number; pids?: number[]; time?: number };
      if (entry.set === set && typeof entry.ordinal === 'number' && Array.isArray(entry.pids) && typeof entry.time === 'number') {
        stops.push({ ordinal: entry.ordinal, pids: entry.pids, at: entry.time });
      }
    } catch {
      // not a log line of ours
    }
  }
  return stops;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
