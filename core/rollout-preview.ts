// What an apply would set in motion: the rollout the planner would carry out, worked out by running the
// same planner and transitions as the workflow on a copy of the state, as if every instance became
// Ready at once and nothing failed. Pure: the workflow answers it from a query, the API for a new set.
import { desiredRecords } from './dns-records.js';
import type { Incarnation, InstanceState } from './instance.js';
import { desiredOrdinals, maxUnavailableCount, type SetSpec } from './manifest.js';
import { instanceName } from './names.js';
import { parallelBatches, plan, type Action } from './planner.js';
import type { SetState } from './set-state.js';
import { setView, type SetView } from './status.js';
import {
  applyChanges,
  applyCreated,
  applyDeleted,
  applyManifest,
  applyPublished,
  checkApply,
  markCreating,
  markDeleting,
  noteSettled,
  type Checked,
} from './transitions.js';

/** One step of the rollout: instances that change together (one planner decision). */
export interface RolloutStep {
  /** create: a new ordinal; replace: stopped and started again on `toRevision`; remove: its ordinal goes. */
  action: 'create' | 'replace' | 'remove';
  /** Instance names, in the order the planner gives them. */
  instances: string[];
  ordinals: number[];
  /** replace: the revision the instances ran before. */
  fromRevision?: string;
  /** create, replace: the revision they run after. */
  toRevision?: string;
}

export interface RolloutPreview {
  /** The set as the apply would answer it. */
  set: SetView;
  /** The apply would create the set. */
  created: boolean;
  /** The apply would change the spec (a new generation). */
  changed: boolean;
  /** The update revision before the apply (undefined for a new set) and after it. */
  fromRevision?: string;
  toRevision: string;
  /** In order; a step's instances change at once. */
  steps: RolloutStep[];
  /** What shaped the steps (policy, partition, maxUnavailable, paused, OnDelete, minReadySeconds). */
  constraints: string[];
  /** Instances left on a revision other than the update revision once the steps are done. */
  kept: Array<{ instance: string; revision: string }>;
  /** DNS names (record name and type, "web-3.web.ordinal.internal A") that would appear or go. */
  dns: { added: string[]; removed: string[] };
  /** False when the simulation gave up before the rollout settled (it should not happen). */
  complete: boolean;
}

/** A bound on planner rounds: a rollout of any size the manifest allows settles long before. */
const MAX_ROUNDS = 10_000;

/**
 * The rollout an apply of `document` would start: the same checks as the apply (a rejection is
 * answered as the apply would meet it), then the planner run to completion on a copy; `state` is
 * never changed (a query handler calls this).
 */
export function previewRollout(state: SetState, document: unknown, expectedGeneration: number | undefined, now: number): Checked<RolloutPreview> {
  const checked = checkApply(state, document, expectedGeneration);
  if (!checked.ok) return { ok: false, rejection: checked.rejection };
  // The state is durable JSON (carried across continue-as-new), so a JSON copy is a full one.
  const sim = JSON.parse(JSON.stringify(state)) as SetState;
  const fromRevision = state.updateRevision;
  const before = dnsNames(state);
  const generation = sim.generation;
  const { created } = applyManifest(sim, checked.value, now);
  const set = setView(sim, now);
  const spec = sim.manifest!.spec;
  const constraints = constraintsOf(sim, spec);

  // Only what the preview assumes differs from the real run: no deadline, so no automatic rollback.
  sim.manifest = { ...sim.manifest!, spec: { ...spec, autoRollback: false } };
  sim.progressAt = undefined;
  // Every instance that runs is Ready (for minReadySeconds) and every DNS change is published.
  for (const i of sim.instances) {
    if (i.phase === 'Running' && !i.ready) Object.assign(i, { ready: true, readySince: now, notReadyReason: undefined });
  }
  const { steps, complete } = simulate(sim, now);
  const toRevision = sim.updateRevision!;
  const wanted = new Set(desiredOrdinals(spec));
  const kept = sim.instances
    .filter((i) => wanted.has(i.ordinal) && i.revision !== toRevision)
    .map((i) => ({ instance: instanceName(sim.name, i.ordinal), revision: i.revision }));
  const after = dnsNames(sim);
  return {
    ok: true,
    value: {
      set,
      created,
      changed: sim.generation !== generation,
      ...(fromRevision !== undefined && { fromRevision }),
      toRevision,
      steps,
      constraints,
      kept,
      dns: { added: after.filter((n) => !before.includes(n)), removed: before.filter((n) => !after.includes(n)) },
      complete,
    },
  };
}

/** The workflow's loop on `sim`: plan, carry out each action as its activity would report it, again. */
function simulate(sim: SetState, start: number): { steps: RolloutStep[]; complete: boolean } {
  const steps: RolloutStep[] = [];
  /** Ordinal -> the replace step waiting for its instance to start again. */
  const replacing = new Map<number, RolloutStep>();
  let now = start;
  let addresses = 0;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    sim.observedGeneration = sim.generation;
    const next = plan(sim, now);
    if (next.settled && next.actions.length === 0) noteSettled(sim);
    const work = next.actions.filter((a) => a.kind === 'create' || a.kind === 'delete');
    if (next.actions.some((a) => a.kind === 'rollback')) return { steps, complete: false };
    if (next.actions.length === 0) {
      // Waiting: on time (minReadySeconds, a DNS TTL) it goes on then; on anything else it is done.
      if (next.wakeAt === undefined || next.settled) return { steps, complete: true };
      now = Math.max(now, next.wakeAt);
      continue;
    }
    record(sim, work, steps, replacing);
    for (const batch of parallelBatches(next.actions)) {
      for (const action of batch) begin(sim, action);
      for (const action of batch) {
        if (action.kind === 'create') {
          const n = addresses++;
          const handle: Incarnation = { ordinal: action.ordinal, incarnation: action.incarnation, revision: action.revision, address: `0.0.${n >> 8}.${n & 255}`, startedAt: now };
          applyCreated(sim, action, handle);
          applyChanges(sim, [{ ordinal: action.ordinal, incarnation: action.incarnation, kind: 'ready', message: 'preview' }], now);
        } else if (action.kind === 'delete') {
          applyDeleted(sim, action, now);
        } else if (action.kind === 'publish') {
          applyPublished(sim, action, now);
        }
      }
    }
  }
  return { steps, complete: false };
}

function begin(sim: SetState, action: Action): void {
  if (action.kind === 'create') markCreating(sim, action);
  else if (action.kind === 'delete') markDeleting(sim, action.ordinal);
}

/** Turns one planner decision into steps: stops that come back are replacements, shown once. */
function record(sim: SetState, actions: Action[], steps: RolloutStep[], replacing: Map<number, RolloutStep>): void {
  const name = (o: number) => instanceName(sim.name, o);
  const removed: number[] = [];
  const stopped: Array<{ ordinal: number; revision: string }> = [];
  const createdByRevision = new Map<string, number[]>();
  for (const action of actions) {
    if (action.kind === 'delete') {
      if (action.remove) removed.push(action.ordinal);
      else stopped.push({ ordinal: action.ordinal, revision: sim.instances.find((i) => i.ordinal === action.ordinal)?.revision ?? '' });
    } else if (action.kind === 'create') {
      const waiting = replacing.get(action.ordinal);
      if (waiting) {
        waiting.toRevision = action.revision;
        replacing.delete(action.ordinal);
      } else {
        createdByRevision.set(action.revision, [...(createdByRevision.get(action.revision) ?? []), action.ordinal]);
      }
    }
  }
  // A stop's revision "to" is the one its ordinal is created with next; grouped by where it comes from.
  const byFrom = new Map<string, number[]>();
  for (const s of stopped) byFrom.set(s.revision, [...(byFrom.get(s.revision) ?? []), s.ordinal]);
  for (const [fromRevision, ordinals] of byFrom) {
    const step: RolloutStep = { action: 'replace', instances: ordinals.map(name), ordinals, fromRevision };
    for (const o of ordinals) replacing.set(o, step);
    steps.push(step);
  }
  for (const [toRevision, ordinals] of createdByRevision) steps.push({ action: 'create', instances: ordinals.map(name), ordinals, toRevision });
  if (removed.length > 0) steps.push({ action: 'remove', instances: removed.map(name), ordinals: removed });
}

/** The spec's rules that decide the order and pace, in words. */
function constraintsOf(sim: SetState, spec: SetSpec): string[] {
  const out: string[] = [];
  if (spec.podManagementPolicy === 'Parallel') {
    out.push('Parallel: instances are created and removed together, without waiting for one another');
  } else {
    out.push('OrderedReady: one instance at a time, created lowest ordinal first, removed highest first, each once the one before is Ready');
  }
  const rolling = spec.updateStrategy.rollingUpdate;
  if (spec.updateStrategy.type === 'OnDelete') {
    out.push(`OnDelete: no instance is replaced until it is deleted; new ones run ${sim.updateRevision}`);
  } else {
    if (rolling?.paused) out.push('paused: no instance is replaced until the rollout is resumed');
    const partition = rolling?.partition ?? 0;
    if (partition > 0) {
      const below = desiredOrdinals(spec).filter((o) => o < partition);
      const keep = below.length > 0 ? `${below.map((o) => instanceName(sim.name, o)).join(', ')} ${below.length === 1 ? 'keeps' : 'keep'}` : 'ordinals below it keep';
      out.push(`partition ${partition}: ${keep} revision ${sim.currentRevision ?? sim.updateRevision}`);
    }
    const budget = maxUnavailableCount(spec);
    if (budget > 1) out.push(`maxUnavailable ${rolling?.maxUnavailable ?? budget}: up to ${budget} instances replaced at once`);
  }
  if (spec.minReadySeconds > 0) out.push(`minReadySeconds ${spec.minReadySeconds}: an instance counts once Ready for ${spec.minReadySeconds}s`);
  return out;
}

/** The DNS names a set serves with each of its instances Ready ("name type"), sorted. */
function dnsNames(state: SetState): string[] {
  const spec = state.manifest?.spec;
  if (!spec) return [];
  const wanted = new Set(desiredOrdinals(spec));
  const instances = state.instances
    .filter((i: InstanceState) => wanted.has(i.ordinal) || i.phase === 'Running')
    .map((i) => ({ ordinal: i.ordinal, address: '0.0.0.0', inService: !i.cordoned }));
  const records = desiredRecords({ set: state.name, serviceName: spec.serviceName, zone: spec.dns.zone, ttl: spec.dns.ttl, ports: spec.template.ports, instances });
  return [...new Set(records.map((r) => `${r.name} ${r.type}`))].sort();
}
