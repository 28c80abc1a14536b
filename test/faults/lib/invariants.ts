// The invariants a trial checks, and what "converged" means. After convergence (deadline-bounded):
// the processes alive are exactly the desired ordinals, one each, running what the set reports; DNS
// answers match the Ready instances and nothing else; the set workflow's history stays bounded. After
// the set is deleted: GET is 404, and no process, DNS record or driver state row of it remains. (The
// "at most one incarnation at a time" invariant is the timeline's: timeline.ts.)
import type { SetView } from '../../../core/status.js';
import { isReady, resolveA } from '../../harness/sets.js';
import { waitUntil, type TrialContext } from './context.js';
import { describeIntent, specMatches } from './spec.js';
import { ZONE } from './system.js';

/** The set workflow's history must stay under this many events per run. */
export const HISTORY_BOUND = 3_000;

export type Convergence = { ok: true; at: number; view: SetView } | { ok: false; why: string };

/**
 * Polls until the set has converged to ctx.intent: the API reports it Ready on the latest generation
 * with every instance on the update revision, and what really runs (from /proc) is exactly one process
 * per desired ordinal, the incarnation, address and template (FAULT_REV) the set reports.
 */
export async function waitConverged(ctx: TrialContext, timeoutMs: number): Promise<Convergence> {
  const deadline = Date.now() + timeoutMs;
  let why = 'not checked yet';
  for (;;) {
    const check = await convergedNow(ctx).catch((err): Convergence => ({ ok: false, why: `GET failed: ${errorText(err)}` }));
    if (check.ok) return check;
    why = check.why;
    if (Date.now() >= deadline) return { ok: false, why };
    await sleep(250);
  }
}

async function convergedNow(ctx: TrialContext): Promise<Convergence> {
  const intent = ctx.intent;
  const view = await ctx.sys.getSet(ctx.set, 5_000);
  if (!view) return { ok: false, why: 'GET answers 404' };
  if (view.metadata.generation !== ctx.generation) return { ok: false, why: `generation ${view.metadata.generation}, expected ${ctx.generation}` };
  if (!specMatches(view, ctx.set, intent, ctx.eventsFile)) return { ok: false, why: `spec is not ${describeIntent(intent)}` };
  if (!isReady(view, intent.replicas)) {
    return { ok: false, why: `not Ready: phase ${view.status.phase}, ${view.status.readyReplicas}/${intent.replicas} ready, observed ${view.status.observedGeneration}` };
  }
  const { status } = view;
  if (status.updatedReplicas !== intent.replicas || status.currentRevision !== status.updateRevision) {
    return { ok: false, why: `rollout not complete: ${status.updatedReplicas} updated, current ${status.currentRevision}, update ${status.updateRevision}` };
  }
  if (status.instances.length !== intent.replicas || status.instances.some((i) => !i.ready || i.revision !== status.updateRevision)) {
    return { ok: false, why: 'an instance is not Ready or not on the update revision' };
  }
  if (ctx.recreated) {
    const instance = status.instances.find((i) => i.ordinal === ctx.recreated!.ordinal);
    if (!instance || instance.incarnation <= ctx.recreated.incarnationBefore) return { ok: false, why: `ordinal ${ctx.recreated.ordinal} not recreated yet` };
  }
  const live = ctx.timeline.live();
  const liveOrdinals = live.map((p) => p.ordinal).sort((a, b) => a - b);
  const desired = Array.from({ length: intent.replicas }, (_, i) => i);
  if (JSON.stringify(liveOrdinals) !== JSON.stringify(desired)) {
    return { ok: false, why: `live processes ${liveOrdinals.join(',') || 'none'}, desired ${desired.join(',') || 'none'}` };
  }
  for (const p of live) {
    const instance = status.instances.find((i) => i.ordinal === p.ordinal)!;
    if (instance.incarnation !== p.incarnation || instance.address !== p.address) {
      return { ok: false, why: `${ctx.set}-${p.ordinal}: runs incarnation ${p.incarnation} at ${p.address}, the set reports ${instance.incarnation} at ${instance.address}` };
    }
    const rev = ctx.liveRev(p.pid);
    if (rev !== intent.rev) return { ok: false, why: `${ctx.set}-${p.ordinal} runs template ${rev}, not ${intent.rev}` };
  }
  return { ok: true, at: Date.now(), view };
}

/** Right at convergence: DNS must tell the truth (every Ready instance, the service, nothing for gone instances). */
export async function checkConverged(ctx: TrialContext, view: SetView): Promise<void> {
  const service = `${ctx.set}.${ZONE}`;
  const ready = view.status.instances.filter((i) => i.ready);
  const expected = new Map<string, string[]>();
  for (const i of ready) expected.set(i.dnsName, [i.address!]);
  expected.set(service, ready.filter((i) => !i.cordoned).map((i) => i.address!).sort());
  for (let ordinal = 0; ordinal < 4; ordinal++) {
    const name = `${ctx.set}-${ordinal}.${service}`;
    if (!expected.has(name)) expected.set(name, []);
  }
  const problems = await dnsMismatches(ctx, expected);
  if (problems.length) ctx.violations.push(`dns at convergence: ${problems.join('; ')}`);
}

/** Compares A answers over UDP with `expected` (name -> sorted addresses); retries query errors a few times. */
async function dnsMismatches(ctx: TrialContext, expected: Map<string, string[]>): Promise<string[]> {
  let problems: string[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    problems = [];
    let errors = 0;
    const resolver = ctx.sys.resolver();
    for (const [name, want] of expected) {
      try {
        const got = await resolveA(resolver, name);
        if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`${name} answers ${JSON.stringify(got)}, expected ${JSON.stringify(want)}`);
      } catch (err) {
        errors++;
        problems.push(`${name}: ${(err as NodeJS.ErrnoException).code ?? errorText(err)}`);
      }
    }
    if (errors === 0) return problems;
  }
  return problems;
}

/** DELETE the set; once GET is 404, no process, DNS record or driver state row of it may remain. */
export async function deleteAndCheck(ctx: TrialContext): Promise<void> {
  const { sys, set } = ctx;
  const res = await sys.requestRetrying('DELETE', `/v1/sets/${set}`);
  if (res.status !== 202 && res.status !== 404 && res.status !== 409) {
    ctx.violations.push(`delete: HTTP ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
  }
  const gone = await waitUntil(async () => (await sys.getSet(set).catch(() => 'error')) === undefined, 120_000, 250);
  if (!gone) {
    ctx.violations.push('delete: GET did not answer 404 within 120 s');
    return;
  }
  const orphans = ctx.timeline.live();
  if (orphans.length) {
    const later = await waitUntil(() => ctx.timeline.live().length === 0, 10_000);
    ctx.violations.push(
      `orphan: after the set was deleted (GET 404) ${orphans.map((p) => `${set}-${p.ordinal}#${p.incarnation} (pid ${p.pid})`).join(', ')} still ran` +
        (later ? ' (gone within 10 s)' : ' (still there 10 s later)'),
    );
  }
  // Every record the set publishes is at or below its service name: none may be left.
  const service = `${set}.${ZONE}`;
  if (sys.storeHoldsNamesUnder(service)) {
    const records = sys.storedRecords([service, `_http._tcp.${service}`, ...[0, 1, 2, 3].map((o) => `${set}-${o}.${service}`)]);
    ctx.violations.push(`orphan: DNS records of the deleted set remain under ${service}: ${records.map((r) => `${r.name} ${r.type}`).join(', ') || '(at other names)'}`);
  }
  const expected = new Map<string, string[]>([[service, []], ...[0, 1, 2, 3].map((o) => [`${set}-${o}.${service}`, []] as [string, string[]])]);
  const problems = await dnsMismatches(ctx, expected);
  if (problems.length) ctx.violations.push(`orphan: DNS still answers for the deleted set: ${problems.join('; ')}`);
  const state = sys.stateRows(set);
  if ('error' in state) ctx.notes.push(`driver state unreadable after delete: ${state.error}`);
  else if (state.rows.length) {
    ctx.violations.push(`orphan: the driver's state still records ${state.rows.map((r) => `${set}-${r.ordinal}#${r.incarnation}`).join(', ')}`);
  }
}

/** The set workflow's current run must stay under HISTORY_BOUND events; returns its length. */
export async function checkHistory(ctx: TrialContext): Promise<number | undefined> {
  try {
    const length = await ctx.sys.historyLength(ctx.set);
    if (length >= HISTORY_BOUND) ctx.violations.push(`history: the set workflow's run has ${length} events (bound ${HISTORY_BOUND})`);
    return length;
  } catch (err) {
    ctx.notes.push(`could not describe the workflow: ${errorText(err)}`);
    return undefined;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
