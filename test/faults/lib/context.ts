// What a trial's scenario and fault work with: the system, the set, its intended spec, the timeline,
// and the client-side operations every one of them uses (conditional spec changes that survive any
// fault, instance kills the timeline knows about).
import fs from 'node:fs';
import path from 'node:path';
import type { SetView } from '../../../core/status.js';
import { readEnviron } from '../../../activities/drivers/proc.js';
import type { Rng } from './rng.js';
import { describeIntent, manifestFor, specMatches, type Intent } from './spec.js';
import { isNetworkError, type FaultSystem } from './system.js';
import type { KillMark, Timeline } from './timeline.js';

export const FAULT_KINDS = [
  'worker-kill',
  'api-kill',
  'temporal-restart',
  'dns-kill',
  'never-ready',
  'crash-loop',
  'ignore-sigterm',
  'state-deleted',
  'state-corrupted',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const SCENARIOS = ['scale-up', 'scale-down', 'recreation', 'rollout'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** How one conditional change went. */
export interface ChangeOutcome {
  intent: Intent;
  via: 'PUT' | 'PATCH';
  attempts: number;
  /** Attempts that got no HTTP answer (the API was killed under them, or was down). */
  networkErrors: number;
  /** The change had landed on an attempt whose answer was lost: a retry got 409 and the spec read back matched. */
  landedUnseen: boolean;
  /** The generation it produced. */
  generation?: number;
}

export class TrialContext {
  readonly violations: string[] = [];
  readonly notes: string[] = [];
  /** The set's generation as this client last saw it change (every change is conditional on it). */
  generation = 0;
  /** When the scenario's action began: convergence time counts from here. */
  t0 = 0;
  /** When the fault actually hit. */
  injectedAt: number | undefined;
  /** Resolves when the scenario's own action is done (a fault that changes the spec waits for it). */
  actionDone: Promise<void> = Promise.resolve();
  /** Ordinal recreated by the recreation scenario, and its incarnation before. */
  recreated: { ordinal: number; incarnationBefore: number } | undefined;
  /** Worker output length when the fault hit (to look for the clear error it must log). */
  workerOutputMark = 0;

  constructor(
    readonly sys: FaultSystem,
    /** The scenario's draws (and everything drawn before the action starts). */
    readonly rng: Rng,
    /** The fault's draws: a stream of its own, so the draw order does not depend on timing. */
    readonly faultRng: Rng,
    readonly kind: FaultKind,
    readonly scenario: ScenarioName,
    readonly set: string,
    readonly eventsFile: string,
    readonly timeline: Timeline,
    /** What the set must converge to; scenarios and faults update it as they change the spec. */
    public intent: Intent,
    private readonly logger: (message: string) => void,
  ) {}

  log(message: string): void {
    this.logger(`${this.set}: ${message}`);
  }

  since(): string {
    return `${((Date.now() - this.t0) / 1000).toFixed(2)}s`;
  }

  manifest(intent: Intent = this.intent) {
    return manifestFor(this.set, intent, this.eventsFile);
  }

  /**
   * Changes the spec to `intent`, conditionally on the generation this client last saw (If-Match), as a
   * careful client does: on a lost answer (network error, 502-504) it sends the same conditional request
   * again; a 409 then means either someone else changed the set or an earlier attempt landed, which a
   * read tells apart (the generation moved by one and the spec is ours). So a change lands exactly once.
   */
  async changeSpec(intent: Intent, options: { via?: 'PUT' | 'PATCH'; deadlineMs?: number } = {}): Promise<ChangeOutcome> {
    const via = options.via ?? 'PUT';
    const expected = this.generation;
    const outcome: ChangeOutcome = { intent, via, attempts: 0, networkErrors: 0, landedUnseen: false };
    const deadline = Date.now() + (options.deadlineMs ?? 90_000);
    const body = via === 'PUT' ? this.manifest(intent) : mergePatch(this.manifest(this.intent), this.manifest(intent));
    const headers = {
      'if-match': `"${expected}"`,
      ...(via === 'PATCH' ? { 'content-type': 'application/merge-patch+json' } : {}),
    };
    let delay = 100;
    for (;;) {
      if (Date.now() > deadline) {
        this.violations.push(`change to ${describeIntent(intent)} never got an answer (${outcome.attempts} attempts)`);
        return outcome;
      }
      outcome.attempts++;
      let res: Awaited<ReturnType<FaultSystem['request']>> | undefined;
      try {
        res = await this.sys.request(via, `/v1/sets/${this.set}`, { body, headers });
      } catch (err) {
        if (!isNetworkError(err)) throw err;
        outcome.networkErrors++;
      }
      if (res && (res.status === 200 || res.status === 201)) {
        const generation = (res.body as SetView).metadata.generation;
        if (generation !== expected + 1) {
          this.violations.push(`exactly-once: a change conditional on generation ${expected} produced generation ${generation}`);
        }
        this.generation = generation;
        this.intent = intent;
        outcome.generation = generation;
        return outcome;
      }
      if (res && res.status === 409) {
        const view = await this.sys.getSet(this.set);
        if (view && view.metadata.generation === expected + 1 && specMatches(view, this.set, intent, this.eventsFile)) {
          outcome.landedUnseen = true;
          this.generation = expected + 1;
          this.intent = intent;
          outcome.generation = expected + 1;
          return outcome;
        }
        this.violations.push(
          `exactly-once: change to ${describeIntent(intent)} conditional on generation ${expected} was refused (409: ` +
            `${JSON.stringify(res.body).slice(0, 200)}) and the set is at generation ${view?.metadata.generation} ` +
            `${view && specMatches(view, this.set, intent, this.eventsFile) ? 'with' : 'without'} the intended spec`,
        );
        return outcome;
      }
      if (res && res.status !== 500 && (res.status < 502 || res.status > 504)) {
        this.violations.push(`change to ${describeIntent(intent)}: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
        return outcome;
      }
      if (res?.status === 500) this.notes.push(`HTTP 500 on a change: ${JSON.stringify(res.body).slice(0, 200)}`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 1_000);
    }
  }

  /** kill -9 of one live instance of the set (its whole process group); recorded on the timeline. */
  async killInstance(ordinal?: number): Promise<KillMark | undefined> {
    const live = this.timeline.live().filter((p) => ordinal === undefined || p.ordinal === ordinal);
    if (live.length === 0) return undefined;
    const victim = ordinal === undefined ? this.faultRng.pick(live.sort((a, b) => a.ordinal - b.ordinal)) : live[0];
    const mark: KillMark = { ordinal: victim.ordinal, incarnation: victim.incarnation, pid: victim.pid, t: Date.now() };
    this.timeline.markKill(mark);
    for (const target of [-victim.pid, victim.pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // already gone, or no such group
      }
    }
    await waitUntil(() => !this.timeline.live().some((p) => p.pid === victim.pid), 10_000);
    return mark;
  }

  /** Waits until at least one instance of the set runs (a fault that needs a victim). */
  async someInstanceRuns(timeoutMs = 30_000): Promise<boolean> {
    return waitUntil(() => this.timeline.live().length > 0, timeoutMs);
  }

  /** FAULT_REV of a live process, read from /proc: which template it really runs. */
  liveRev(pid: number): string | undefined {
    return readEnviron(pid)?.get('FAULT_REV');
  }

  workerOutputSinceFault(): string {
    return this.sys.system.worker.output.slice(this.workerOutputMark);
  }

  stateFile(): string {
    return path.join(fs.realpathSync(this.sys.dataDir), 'instances.db');
  }
}

/** Polls `condition` every 25 ms until it holds (true) or `timeoutMs` passes (false). */
export async function waitUntil(condition: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 25): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** An RFC 7386 merge patch turning `from` into `to` (objects merged, arrays and scalars replaced). */
export function mergePatch(from: unknown, to: unknown): unknown {
  if (!isObject(from) || !isObject(to)) return to;
  const patch: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(from), ...Object.keys(to)])) {
    if (!(key in to)) patch[key] = null;
    else if (!(key in from)) patch[key] = to[key];
    else if (JSON.stringify(from[key]) !== JSON.stringify(to[key])) patch[key] = mergePatch(from[key], to[key]);
  }
  return patch;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
