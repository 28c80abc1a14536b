// The planner's invariants as properties. As the Kubernetes StatefulSet controller's tests check
// invariants after every step of a scenario, this drives the pure core through random event
// sequences (exits, probe results, spec changes, scaling, pause, partition, cordon, deletes, worker
// restarts, time passing) exactly as the workflow does: plan, then apply each action's result as the
// activity reports it. A small simulated world (the processes that really run, the records DNS really
// serves) is checked after every step. A failure prints the shrunk event sequence, the trace of what
// the planner did and the seed; rerun one with ORDINAL_PROPS_SEED=<seed> (and ORDINAL_PROPS_RUNS).
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { hasReadinessGate, maxUnavailableCount, parseManifest, type SetSpec } from '../../core/manifest.js';
import { instanceName, serviceDnsName } from '../../core/names.js';
import { parallelBatches, plan, type Action, type Plan } from '../../core/planner.js';
import type { InstanceHandle } from '../../activities/drivers/driver.js';
import type { InstanceState } from '../../core/instance.js';
import { initialState, type SetState } from '../../core/set-state.js';
import {
  applyChanges,
  applyCreateFailed,
  applyCreated,
  applyDeleted,
  applyManifest,
  applyPublished,
  applyRollback,
  checkApply,
  checkCordon,
  checkDeleteInstance,
  markCreating,
  markDeleting,
  noteSettled,
  requestInstanceDeletion,
  requestSetDeletion,
  setCordon,
  templateOf,
  upgradeState,
} from '../../core/transitions.js';

// Types of the activities' results, taken from the functions that read them (so these tests do not
// depend on where the types live).
/** What the process driver returns: core passes its driver-only fields through untouched. */
type Handle = InstanceHandle;
type Change = Parameters<typeof applyChanges>[1][number];

const SET = 'web';
const ZONE = 'ordinal.internal';
const SERVICE = serviceDnsName(SET, ZONE);
const START = 1_000_000;
const MAX_ORDINAL = 6;

// ---- the knobs a user turns, and the manifest they make ----

interface Knobs {
  replicas: number;
  policy: 'OrderedReady' | 'Parallel';
  strategy: 'RollingUpdate' | 'OnDelete';
  partition: number;
  maxUnavailable: number | string;
  paused: boolean;
  minReadySeconds: number;
  start: number;
  reserve: number[];
  publishNotReady: boolean;
  /** A readiness probe in the template (without one an instance is Ready once it runs). */
  probe: boolean;
  /** The template's version: a new one starts a rollout, an old one rolls back. */
  version: number;
  autoRollback: boolean;
  whenScaled: 'Retain' | 'Delete';
  /** Fixed for a run (immutable): a volume claim template, and the DNS TTL in seconds. */
  volumes: boolean;
  ttl: number;
}

function manifestDocument(k: Knobs): unknown {
  return {
    apiVersion: 'ordinal.dev/v1',
    kind: 'StatefulSet',
    metadata: { name: SET },
    spec: {
      replicas: k.replicas,
      podManagementPolicy: k.policy,
      ordinals: { start: k.start },
      reserveOrdinals: k.reserve,
      minReadySeconds: k.minReadySeconds,
      progressDeadlineSeconds: 30,
      autoRollback: k.autoRollback,
      updateStrategy:
        k.strategy === 'OnDelete'
          ? { type: 'OnDelete' }
          : { type: 'RollingUpdate', rollingUpdate: { partition: k.partition, maxUnavailable: k.maxUnavailable, paused: k.paused } },
      volumeClaimTemplates: k.volumes ? [{ metadata: { name: 'data' } }] : [],
      persistentVolumeClaimRetentionPolicy: { whenScaled: k.whenScaled, whenDeleted: 'Delete' },
      dns: { ttl: k.ttl, publishNotReadyAddresses: k.publishNotReady },
      template: {
        process: { command: ['node', 'server.mjs', `--v${k.version}`] },
        ports: [{ name: 'http', port: 8080 }],
        ...(k.probe ? { readinessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 1 } } : {}),
      },
    },
  };
}

function describeKnobs(k: Knobs): string {
  const strategy =
    k.strategy === 'OnDelete' ? 'OnDelete' : `RollingUpdate(partition=${k.partition}, maxUnavailable=${k.maxUnavailable}${k.paused ? ', paused' : ''})`;
  const extras = [
    k.start > 0 ? `start=${k.start}` : '',
    k.reserve.length > 0 ? `reserve=[${k.reserve.join(',')}]` : '',
    k.minReadySeconds > 0 ? `minReadySeconds=${k.minReadySeconds}` : '',
    k.publishNotReady ? 'publishNotReadyAddresses' : '',
    k.probe ? '' : 'no readiness probe',
    k.autoRollback ? 'autoRollback' : '',
    k.volumes ? `volumes(whenScaled=${k.whenScaled})` : '',
  ].filter(Boolean);
  return `replicas=${k.replicas} ${k.policy} ${strategy} v${k.version} ttl=${k.ttl}s${extras.length ? ' ' + extras.join(' ') : ''}`;
}

// ---- events ----

type Event =
  | { kind: 'step' }
  | { kind: 'settle' }
  | { kind: 'probe'; ordinal: number; ok: boolean }
  | { kind: 'allReady' }
  | { kind: 'exit'; ordinal: number }
  | { kind: 'liveness'; ordinal: number }
  | { kind: 'wait'; ms: number }
  | { kind: 'wake' }
  | { kind: 'spec'; change: Partial<Knobs> }
  | { kind: 'cordon'; ordinal: number; on: boolean }
  | { kind: 'deleteInstance'; ordinal: number }
  | { kind: 'restart' }
  | { kind: 'createFails'; ordinal: number }
  | { kind: 'deleteSet' };

function describeEvent(e: Event): string {
  const name = (o: number) => instanceName(SET, o);
  switch (e.kind) {
    case 'step':
      return 'step';
    case 'settle':
      return 'settle';
    case 'probe':
      return `${name(e.ordinal)} probe ${e.ok ? 'passes' : 'fails'}`;
    case 'allReady':
      return 'every probe passes';
    case 'exit':
      return `${name(e.ordinal)} exits`;
    case 'liveness':
      return `${name(e.ordinal)} fails liveness`;
    case 'wait':
      return `wait ${e.ms}ms`;
    case 'wake':
      return 'wait until wakeAt';
    case 'spec':
      return `apply ${Object.entries(e.change)
        .map(([k, v]) => `${k}=${Array.isArray(v) ? `[${v.join(',')}]` : v}`)
        .join(' ')}`;
    case 'cordon':
      return `${e.on ? 'cordon' : 'uncordon'} ${name(e.ordinal)}`;
    case 'deleteInstance':
      return `delete ${name(e.ordinal)}`;
    case 'restart':
      return 'worker restart';
    case 'createFails':
      return `next create of ${name(e.ordinal)} fails`;
    case 'deleteSet':
      return 'delete the set';
  }
}

/** Values fast-check prints as text (shrunk counterexamples read as a scenario). */
function readable<T extends object>(value: T, text: (v: T) => string): T {
  Object.defineProperty(value, fc.toStringMethod, { value: () => text(value), enumerable: false });
  return value;
}

const ordinalArb = fc.integer({ min: 0, max: MAX_ORDINAL });
const reserveArb = fc.uniqueArray(fc.integer({ min: 0, max: 5 }), { maxLength: 2 });

const knobsArb: fc.Arbitrary<Knobs> = fc
  .record({
    replicas: fc.integer({ min: 0, max: 4 }),
    policy: fc.constantFrom('OrderedReady', 'Parallel'),
    strategy: fc.constantFrom('RollingUpdate', 'RollingUpdate', 'OnDelete'),
    partition: fc.constantFrom(0, 0, 1, 2, 3),
    maxUnavailable: fc.constantFrom<number | string>(1, 1, 2, '50%'),
    paused: fc.constantFrom(false, false, false, false, true),
    minReadySeconds: fc.constantFrom(0, 0, 2),
    start: fc.constantFrom(0, 0, 1),
    reserve: fc.oneof({ arbitrary: fc.constant([]), weight: 3 }, { arbitrary: reserveArb, weight: 1 }),
    publishNotReady: fc.boolean(),
    probe: fc.constantFrom(true, true, true, false),
    version: fc.constant(0),
    autoRollback: fc.boolean(),
    whenScaled: fc.constantFrom('Retain', 'Delete'),
    volumes: fc.boolean(),
    ttl: fc.constantFrom(0, 1, 5),
  })
  .map((k) => readable(k as Knobs, describeKnobs));

const specChangeArb: fc.Arbitrary<Partial<Knobs>> = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 5 }).map((replicas) => ({ replicas })), weight: 4 },
  { arbitrary: fc.integer({ min: 0, max: 3 }).map((version) => ({ version })), weight: 4 },
  { arbitrary: fc.integer({ min: 0, max: 4 }).map((partition) => ({ partition })), weight: 2 },
  { arbitrary: fc.boolean().map((paused) => ({ paused })), weight: 1 },
  { arbitrary: fc.constantFrom<number | string>(1, 2, 3, '50%').map((maxUnavailable) => ({ maxUnavailable })), weight: 1 },
  { arbitrary: fc.constantFrom('OrderedReady' as const, 'Parallel' as const).map((policy) => ({ policy })), weight: 1 },
  { arbitrary: fc.constantFrom('RollingUpdate' as const, 'OnDelete' as const).map((strategy) => ({ strategy })), weight: 1 },
  { arbitrary: fc.constantFrom(0, 2).map((minReadySeconds) => ({ minReadySeconds })), weight: 1 },
  { arbitrary: fc.integer({ min: 0, max: 2 }).map((start) => ({ start })), weight: 1 },
  { arbitrary: reserveArb.map((reserve) => ({ reserve })), weight: 1 },
  { arbitrary: fc.boolean().map((publishNotReady) => ({ publishNotReady })), weight: 1 },
  { arbitrary: fc.boolean().map((probe) => ({ probe })), weight: 1 },
  { arbitrary: fc.constantFrom('Retain' as const, 'Delete' as const).map((whenScaled) => ({ whenScaled })), weight: 1 },
);

// Weights: mostly the workflow's own steps and probes passing, so rollouts and scaling get far;
// deleting the set is rare (it ends everything else).
const eventArb: fc.Arbitrary<Event> = fc
  .oneof(
    { arbitrary: fc.constant({ kind: 'step' as const }), weight: 60 },
    { arbitrary: fc.constant({ kind: 'settle' as const }), weight: 25 },
    { arbitrary: fc.record({ kind: fc.constant('probe' as const), ordinal: ordinalArb, ok: fc.constant(true) }), weight: 30 },
    { arbitrary: fc.record({ kind: fc.constant('probe' as const), ordinal: ordinalArb, ok: fc.constant(false) }), weight: 8 },
    { arbitrary: fc.constant({ kind: 'allReady' as const }), weight: 20 },
    { arbitrary: fc.record({ kind: fc.constant('exit' as const), ordinal: ordinalArb }), weight: 8 },
    { arbitrary: fc.record({ kind: fc.constant('liveness' as const), ordinal: ordinalArb }), weight: 4 },
    { arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.constantFrom(100, 1_000, 3_000, 10_000) }), weight: 12 },
    { arbitrary: fc.constant({ kind: 'wake' as const }), weight: 12 },
    { arbitrary: fc.record({ kind: fc.constant('spec' as const), change: specChangeArb }), weight: 30 },
    { arbitrary: fc.record({ kind: fc.constant('cordon' as const), ordinal: ordinalArb, on: fc.boolean() }), weight: 5 },
    { arbitrary: fc.record({ kind: fc.constant('deleteInstance' as const), ordinal: ordinalArb }), weight: 5 },
    { arbitrary: fc.constant({ kind: 'restart' as const }), weight: 5 },
    { arbitrary: fc.record({ kind: fc.constant('createFails' as const), ordinal: ordinalArb }), weight: 5 },
    { arbitrary: fc.constant({ kind: 'deleteSet' as const }), weight: 1 },
  )
  .map((e) => readable({ ...e } as Event, describeEvent));

// ---- the simulated world and the workflow's loop over the pure core ----

class InvariantViolation extends Error {}

interface Process {
  ordinal: number;
  incarnation: number;
  revision: string;
  address: string;
  /** Its own A record was served at some point, and when it was last withdrawn. */
  publishedEver: boolean;
  withdrawnAt?: number;
}

const CLEAN_OUTCOME = { conflicts: [], propagating: [], failed: [] };

class Simulation {
  state: SetState<Handle> = initialState<Handle>(SET);
  now = START;
  knobs: Knobs;
  /** Processes that run (the driver's truth, not the state's belief). */
  processes: Process[] = [];
  /** The records DNS serves: what the last publish sent. */
  dns: Array<{ name: string; type: string; values: string[] }> = [];
  failNextCreate = new Set<number>();
  private addresses = 0;
  readonly trace: string[] = [];

  constructor(knobs: Knobs) {
    this.knobs = { ...knobs };
    if (!this.applyKnobs(this.knobs)) throw new Error(`the initial manifest is invalid: ${describeKnobs(knobs)}`);
  }

  get spec(): SetSpec {
    return this.state.manifest!.spec;
  }

  // -- invariant helpers --

  fail(invariant: string, detail: string): never {
    throw new InvariantViolation(`${invariant}: ${detail}\n  at t=+${this.now - START}ms, ${this.describeState()}\n  trace:\n    ${this.trace.join('\n    ')}`);
  }

  describeState(): string {
    const i = this.state.instances
      .map((x) => {
        const flags = [x.phase, x.ready ? 'ready' : '', x.cordoned ? 'cordoned' : '', x.deleteRequested ? 'deleteRequested' : ''].filter(Boolean);
        return `${x.ordinal}:${flags.join('/')}:${this.version(x.revision)}#${x.incarnation}`;
      })
      .join(' ');
    const p = this.processes.map((x) => `${x.ordinal}#${x.incarnation}`).join(' ');
    return `spec ${describeKnobs(this.knobs)}${this.state.deleting ? ' (deleting)' : ''}; update ${this.version(this.state.updateRevision)}, current ${this.version(this.state.currentRevision)}; instances [${i}]; processes [${p}]`;
  }

  /** "v2" for a revision name (templates differ only in their version argument). */
  version(revision: string | undefined): string {
    if (revision === undefined) return '-';
    const found = this.state.revisions.find((r) => r.name === revision);
    return found?.template.process?.command[2]?.slice(2) ?? revision;
  }

  wanted(): number[] {
    const reserved = new Set(this.spec.reserveOrdinals);
    const out: number[] = [];
    for (let o = this.spec.ordinals.start; out.length < this.spec.replicas; o++) if (!reserved.has(o)) out.push(o);
    return out;
  }

  instance(ordinal: number): InstanceState | undefined {
    return this.state.instances.find((i) => i.ordinal === ordinal);
  }

  available(i: InstanceState | undefined): boolean {
    return i !== undefined && i.phase === 'Running' && i.ready && i.readySince !== undefined && this.now >= i.readySince + this.spec.minReadySeconds * 1000;
  }

  alive(ordinal: number): Process[] {
    return this.processes.filter((p) => p.ordinal === ordinal);
  }

  /** Ordinal -> address of the instances' own A records DNS serves. */
  servedInstances(): Map<number, string> {
    const out = new Map<number, string>();
    for (const r of this.dns) {
      const m = r.type === 'A' ? new RegExp(`^${SET}-(\\d+)\\.`).exec(r.name) : null;
      if (m) out.set(Number(m[1]), r.values[0]!);
    }
    return out;
  }

  // -- the user's requests, through the same checks as the workflow's update validators --

  applyKnobs(knobs: Knobs): boolean {
    const checked = checkApply(this.state, manifestDocument(knobs));
    if (!checked.ok) return false;
    applyManifest(this.state, checked.value, this.now);
    return true;
  }

  // -- the workflow loop: one iteration --

  step(): Plan {
    this.state.observedGeneration = this.state.generation;
    const next = plan(this.state, this.now);
    if (next.settled && next.actions.length === 0) noteSettled(this.state);
    if (next.actions.length > 0) this.trace.push(`  plan: ${next.actions.map(describeAction).join(', ')}`);
    this.checkPlan(next);
    if (next.done) return next;
    // As the workflow: batches run concurrently; each action's synchronous part (marking) runs first.
    for (const batch of parallelBatches(next.actions)) {
      for (const action of batch) this.begin(action);
      for (const action of batch) this.finish(action);
    }
    this.checkInstances();
    return next;
  }

  /** Steps until the loop would wait for a change; a loop that never waits is a bug. */
  settle(): Plan {
    for (let i = 0; i < 300; i++) {
      const next = this.step();
      if (next.done || next.actions.length === 0) return next;
    }
    this.fail('no busy loop', 'the planner kept acting for 300 steps without an external change');
  }

  begin(action: Action): void {
    switch (action.kind) {
      case 'create':
        markCreating(this.state, action);
        return;
      case 'delete': {
        const instance = this.instance(action.ordinal);
        markDeleting(this.state, action.ordinal);
        // The workflow reads the grace period from the instance's template.
        templateOf(this.state, instance?.revision ?? this.state.updateRevision!);
        return;
      }
      case 'rollback':
        applyRollback(this.state, action, this.now);
        return;
      case 'publish':
        return;
    }
  }

  finish(action: Action): void {
    switch (action.kind) {
      case 'create': {
        const running = this.alive(action.ordinal);
        if (running.length > 0) {
          this.fail(
            'at most one incarnation per ordinal',
            `create ${instanceName(SET, action.ordinal)}#${action.incarnation} while #${running.map((p) => p.incarnation).join(', #')} still runs`,
          );
        }
        templateOf(this.state, action.revision);
        if (this.failNextCreate.delete(action.ordinal)) {
          applyCreateFailed(this.state, action, 'no such program', this.now);
          return;
        }
        const n = this.addresses++;
        const address = `10.${action.ordinal}.${n >> 8}.${n & 255}`;
        this.processes.push({ ordinal: action.ordinal, incarnation: action.incarnation, revision: action.revision, address, publishedEver: false });
        const handle: Handle = { set: SET, ordinal: action.ordinal, incarnation: action.incarnation, revision: action.revision, address, pid: 1000 + n, startedAt: this.now, logPath: '/dev/null' };
        applyCreated(this.state, action, handle);
        return;
      }
      case 'delete':
        // The delete activity returns once the process is confirmed gone.
        this.processes = this.processes.filter((p) => p.ordinal !== action.ordinal);
        applyDeleted(this.state, action, this.now);
        return;
      case 'publish': {
        this.dns = action.records.map((r) => ({ name: r.name, type: r.type, values: [...r.values] }));
        const served = this.servedInstances();
        for (const p of this.processes) {
          if (served.get(p.ordinal) === p.address) {
            p.publishedEver = true;
            p.withdrawnAt = undefined;
          } else if (p.publishedEver && p.withdrawnAt === undefined) {
            p.withdrawnAt = this.now;
          }
        }
        applyPublished(this.state, action, this.now, CLEAN_OUTCOME);
        return;
      }
      case 'rollback':
        return;
    }
  }

  // -- the invariants of one decision, checked before it is carried out --

  checkPlan(next: Plan): void {
    const spec = this.spec;
    const actions = next.actions;
    const wanted = this.wanted();
    const wantedSet = new Set(wanted);
    const ordered = spec.podManagementPolicy === 'OrderedReady';
    const rolling = spec.updateStrategy.type === 'RollingUpdate';
    const partition = spec.updateStrategy.rollingUpdate?.partition ?? 0;
    const paused = spec.updateStrategy.rollingUpdate?.paused === true;
    const creates = actions.filter((a): a is Extract<Action, { kind: 'create' }> => a.kind === 'create');
    const deletes = actions.filter((a): a is Extract<Action, { kind: 'delete' }> => a.kind === 'delete');
    const served = this.servedInstances();
    const name = (o: number) => instanceName(SET, o);

    if (actions.some((a) => a.kind === 'publish') && actions.length > 1) this.fail('publish alone', 'a publish came with other actions');

    // DNS: whenever the planner acts on instances or waits, what DNS serves is current: every name
    // resolves to a running process that is Ready (or running, with publishNotReadyAddresses) and is
    // not about to be stopped; the service records leave cordoned instances out.
    if (!actions.some((a) => a.kind === 'publish' || a.kind === 'rollback')) {
      const stopping = new Set(deletes.map((a) => a.ordinal));
      const servable = (o: number, address: string, inService: boolean): string | undefined => {
        const i = this.instance(o);
        if (!this.alive(o).some((p) => p.address === address)) return `no process of ${name(o)} has ${address}`;
        if (!i || i.phase !== 'Running' || i.handle?.address !== address) return `${name(o)} is ${i?.phase ?? 'gone'}`;
        if (!i.ready && !spec.dns.publishNotReadyAddresses) return `${name(o)} is not Ready`;
        if (stopping.has(o)) return `${name(o)} is about to be stopped`;
        if (inService && i.cordoned) return `${name(o)} is cordoned`;
        return undefined;
      };
      for (const [o, address] of served) {
        const why = servable(o, address, false);
        if (why) this.fail('DNS names resolve only to Ready instances', `${name(o)} resolves to ${address}, but ${why}`);
      }
      for (const r of this.dns) {
        if (r.type === 'A' && r.name === SERVICE) {
          for (const address of r.values) {
            const owner = this.processes.find((p) => p.address === address);
            const why = owner ? servable(owner.ordinal, address, true) : 'no process has it';
            if (why) this.fail('DNS names resolve only to Ready instances', `${SERVICE} lists ${address}, but ${why}`);
          }
        }
        if (r.type === 'SRV') {
          for (const value of r.values) {
            const o = Number(new RegExp(`^0 \\d+ \\d+ ${SET}-(\\d+)\\.`).exec(value)?.[1]);
            const address = served.get(o);
            const why = address === undefined ? 'its name does not resolve' : servable(o, address, true);
            if (why) this.fail('DNS names resolve only to Ready instances', `${r.name} targets ${name(o)}, but ${why}`);
          }
        }
      }
    }

    // Ordered cutover: an instance whose name was served is stopped only one TTL after it was withdrawn
    // (a failed one is cleaned up at once).
    for (const d of deletes) {
      if (d.reason === 'failed') continue;
      for (const p of this.alive(d.ordinal)) {
        if (!p.publishedEver) continue;
        if (p.withdrawnAt === undefined || this.now < p.withdrawnAt + spec.dns.ttl * 1000) {
          this.fail('stop one TTL after the record is withdrawn', `${name(d.ordinal)} is stopped (${d.reason}) ${p.withdrawnAt === undefined ? 'while its name is served' : `${this.now - p.withdrawnAt}ms after its record was withdrawn`}, TTL ${spec.dns.ttl}s`);
        }
      }
    }

    for (const c of creates) {
      if (this.state.deleting) this.fail('nothing is created while the set is deleted', `create ${name(c.ordinal)}`);
      if (!wantedSet.has(c.ordinal)) this.fail('only wanted ordinals are created', `create ${name(c.ordinal)}; wanted [${wanted.join(',')}]`);
      const before = this.instance(c.ordinal)?.incarnation ?? 0;
      if (c.incarnation <= before) this.fail('incarnations increase', `create ${name(c.ordinal)}#${c.incarnation} after #${before}`);
      // OrderedReady: every lower wanted ordinal is Ready (for minReadySeconds), runs, and is published.
      if (ordered) {
        for (const w of wanted.filter((w) => w < c.ordinal)) {
          const i = this.instance(w);
          const why = !i
            ? 'does not exist'
            : !this.available(i)
              ? i.phase === 'Running' && i.ready
                ? 'has not been Ready for minReadySeconds'
                : `is ${i.phase}${i.phase === 'Running' ? ', not Ready' : ''}`
              : !this.alive(w).some((p) => p.incarnation === i.incarnation)
                ? 'has no process'
                : served.get(w) !== i.handle?.address
                  ? 'is not published'
                  : undefined;
          if (why) this.fail('OrderedReady starts an ordinal only after its predecessors are Ready', `create ${name(c.ordinal)} while ${name(w)} ${why}`);
        }
      }
      // A new incarnation below the partition keeps the current revision.
      if (rolling && !paused && c.ordinal < partition) {
        const expected = this.state.currentRevision ?? this.state.updateRevision;
        if (c.revision !== expected) {
          this.fail('a rollout never replaces ordinals below the partition', `create ${name(c.ordinal)} on ${this.version(c.revision)}, below partition ${partition} (current ${this.version(expected)})`);
        }
      }
    }

    // OrderedReady: one action at a time, except a rolling update's replacements within maxUnavailable.
    if (ordered && actions.length > 1) {
      const updates = deletes.filter((d) => d.reason === 'update');
      if (updates.length !== actions.length || updates.length > maxUnavailableCount(spec)) {
        this.fail('OrderedReady acts on one instance at a time', `${actions.length} actions at once`);
      }
    }

    for (const d of deletes) {
      // Only a scale-down or the set's deletion drops an identity; volumes go only as the policy says.
      const removes = d.reason === 'scale-down' || d.reason === 'set-deleted';
      if (d.remove !== removes) this.fail('only scale-down and set deletion drop an identity', `delete ${name(d.ordinal)} (${d.reason}) remove=${d.remove}`);
      const policy = spec.persistentVolumeClaimRetentionPolicy;
      const deleteVolumes =
        spec.volumeClaimTemplates.length > 0 &&
        ((d.reason === 'scale-down' && policy.whenScaled === 'Delete') || (d.reason === 'set-deleted' && policy.whenDeleted === 'Delete'));
      if (d.deleteVolumes !== deleteVolumes) this.fail('volumes are deleted only as the retention policy says', `delete ${name(d.ordinal)} (${d.reason}) deleteVolumes=${d.deleteVolumes}`);
      if (d.reason === 'set-deleted' && !this.state.deleting) this.fail('only scale-down and set deletion drop an identity', `set-deleted while the set is not deleted`);
      if (d.reason === 'scale-down' && wantedSet.has(d.ordinal)) this.fail('only unwanted ordinals are scaled down', `delete ${name(d.ordinal)}; wanted [${wanted.join(',')}]`);
      if (d.reason === 'update') {
        const i = this.instance(d.ordinal);
        if (!rolling) this.fail('OnDelete replaces nothing by itself', `delete ${name(d.ordinal)} (update)`);
        if (paused) this.fail('a paused rollout replaces nothing', `delete ${name(d.ordinal)} (update)`);
        if (d.ordinal < partition) this.fail('a rollout never replaces ordinals below the partition', `delete ${name(d.ordinal)} (update) below partition ${partition}`);
        if (i?.revision === this.state.updateRevision) this.fail('a rollout replaces only outdated instances', `delete ${name(d.ordinal)} (update), already on ${this.version(i?.revision)}`);
      }
    }

    // Scale-down: OrderedReady removes the highest unwanted ordinal, alone, once every wanted one is
    // Available; Parallel removes every unwanted one at once.
    const scaleDowns = deletes.filter((d) => d.reason === 'scale-down');
    if (scaleDowns.length > 0) {
      const unwanted = this.state.instances.filter((i) => !wantedSet.has(i.ordinal)).map((i) => i.ordinal);
      if (ordered) {
        const highest = Math.max(...unwanted);
        if (scaleDowns.length > 1 || scaleDowns[0]!.ordinal !== highest) {
          this.fail('OrderedReady scales down the highest ordinal first, one at a time', `delete ${scaleDowns.map((d) => name(d.ordinal)).join(', ')}; unwanted [${unwanted.join(',')}]`);
        }
        const unavailable = wanted.filter((w) => !this.available(this.instance(w)));
        if (unavailable.length > 0) {
          this.fail('OrderedReady scales down only while every wanted instance is Available', `delete ${name(highest)} while ${unavailable.map(name).join(', ')} not Available`);
        }
      } else {
        // All at once, but for the ordered cutover: one whose record was withdrawn less than a TTL ago
        // waits (the planner goes by the state's record of it, even once its process is gone).
        const deleted = new Set(scaleDowns.map((d) => d.ordinal));
        const ttlMs = spec.dns.ttl * 1000;
        const cooling = (o: number) => {
          const withdrawn = this.instance(o)?.unpublishedAt;
          return (withdrawn !== undefined && this.now < withdrawn + ttlMs) || this.alive(o).some((p) => p.publishedEver && (p.withdrawnAt === undefined || this.now < p.withdrawnAt + ttlMs));
        };
        const left = unwanted.filter((o) => !deleted.has(o) && !cooling(o));
        if (left.length > 0) {
          this.fail('Parallel scales down every unwanted ordinal at once', `delete ${scaleDowns.map((d) => name(d.ordinal)).join(', ')}; unwanted [${unwanted.join(',')}]`);
        }
      }
    }

    // maxUnavailable (with minReadySeconds deciding Available): replacing Available instances never
    // takes more than maxUnavailable wanted instances out. Replacing one that is not Available costs
    // nothing (no stuck rollouts).
    const replaced = deletes.filter((d) => d.reason === 'update' && this.available(this.instance(d.ordinal)));
    if (replaced.length > 0) {
      const unavailable = wanted.filter((w) => !this.available(this.instance(w)));
      const budget = maxUnavailableCount(spec);
      if (unavailable.length + replaced.length > budget) {
        this.fail(
          'a rolling update keeps at most maxUnavailable instances unavailable',
          `replace ${replaced.map((d) => name(d.ordinal)).join(', ')} while ${unavailable.map(name).join(', ') || 'none'} unavailable; maxUnavailable ${budget}`,
        );
      }
    }
  }

  /** The state agrees with the world: every Running instance is the one process of its ordinal. */
  checkInstances(): void {
    const ordinals = this.state.instances.map((i) => i.ordinal);
    if (new Set(ordinals).size !== ordinals.length) this.fail('one instance per ordinal', `state lists [${ordinals.join(',')}]`);
    for (const o of new Set(this.processes.map((p) => p.ordinal))) {
      const alive = this.alive(o);
      if (alive.length > 1) this.fail('at most one incarnation per ordinal', `${instanceName(SET, o)} runs #${alive.map((p) => p.incarnation).join(', #')}`);
      const i = this.instance(o);
      // A process the state does not know about would never be stopped (a liveness failure leaves a
      // Failed instance's process running until it is cleaned up).
      if (!i || (i.phase !== 'Running' && i.phase !== 'Failed') || i.incarnation !== alive[0]!.incarnation) {
        this.fail('every process is known to the state', `${instanceName(SET, o)}#${alive[0]!.incarnation} runs, the state says ${i ? `${i.phase}#${i.incarnation}` : 'nothing'}`);
      }
    }
  }

  // -- what happens between the workflow's steps --

  event(e: Event): void {
    this.trace.push(describeEvent(e));
    switch (e.kind) {
      case 'step':
        this.step();
        return;
      case 'settle':
        this.settle();
        return;
      case 'probe':
        this.probe(e.ordinal, e.ok);
        return;
      case 'allReady':
        for (const i of [...this.state.instances]) this.probe(i.ordinal, true);
        return;
      case 'exit': {
        const p = this.alive(e.ordinal)[0];
        if (!p) return;
        this.processes = this.processes.filter((x) => x !== p);
        this.report(p, 'exited', 'the process exited with code 1');
        return;
      }
      case 'liveness': {
        const p = this.alive(e.ordinal)[0];
        if (p) this.report(p, 'liveness-failed', 'liveness probe failed 3 times');
        return;
      }
      case 'wait':
        this.now += e.ms;
        return;
      case 'wake': {
        const wakeAt = plan(this.state, this.now).wakeAt;
        if (wakeAt !== undefined && wakeAt > this.now) this.now = wakeAt;
        return;
      }
      case 'spec': {
        if (!this.state.manifest || this.state.deleting) return;
        const knobs = { ...this.knobs, ...e.change };
        if (this.applyKnobs(knobs)) this.knobs = knobs;
        else throw new Error(`the manifest for ${describeKnobs(knobs)} is invalid`);
        return;
      }
      case 'cordon':
        if (!checkCordon(this.state, e.ordinal)) setCordon(this.state, e.ordinal, e.on);
        return;
      case 'deleteInstance':
        if (!checkDeleteInstance(this.state, e.ordinal)) requestInstanceDeletion(this.state, e.ordinal);
        return;
      case 'restart': {
        // The state the workflow carries (continue-as-new, a new worker) is JSON: the decisions stay the same.
        const before = JSON.stringify(plan(this.state, this.now));
        this.state = JSON.parse(JSON.stringify(this.state)) as SetState<Handle>;
        upgradeState(this.state);
        const after = JSON.stringify(plan(this.state, this.now));
        if (before !== after) this.fail('the state survives a restart', `plan before ${before}, after ${after}`);
        return;
      }
      case 'createFails':
        this.failNextCreate.add(e.ordinal);
        return;
      case 'deleteSet':
        if (this.state.manifest) requestSetDeletion(this.state);
        return;
    }
  }

  /** A probe result, as the watch reports it: only a flip of a watched (Running) instance. */
  probe(ordinal: number, ok: boolean): void {
    const i = this.instance(ordinal);
    if (!i || i.phase !== 'Running' || !i.handle || i.ready === ok) return;
    if (!hasReadinessGate(templateOf(this.state, i.revision))) return;
    const p = this.alive(ordinal).find((x) => x.address === i.handle!.address);
    if (!p) return;
    this.report(p, ok ? 'ready' : 'unready', ok ? 'probe passed' : 'readiness probe failed: HTTP 503');
  }

  report(p: Process, kind: Change['kind'], message: string): void {
    // As the workflow applies them (histories from before applied exits as Failed, as liveness failures are).
    applyChanges(this.state, [{ ordinal: p.ordinal, incarnation: p.incarnation, kind, message }], this.now, { exitsNeedNoStop: true });
  }

  // -- the end: with no more trouble, every set converges --

  heal(): void {
    this.trace.push('heal: no more failures, every probe passes');
    this.failNextCreate.clear();
    for (let round = 0; round < 200; round++) {
      const last = this.settle();
      if (last.done) return this.checkDeleted();
      let changed = false;
      for (const i of [...this.state.instances]) {
        if (i.phase === 'Running' && !i.ready) {
          this.probe(i.ordinal, true);
          changed ||= this.instance(i.ordinal)?.ready === true;
        }
      }
      if (changed) continue;
      const next = plan(this.state, this.now);
      if (next.actions.length === 0 && next.settled) return this.state.deleting ? this.fail('a deleted set ends', 'it settled instead') : this.checkConverged();
      this.now = next.wakeAt !== undefined && next.wakeAt > this.now ? next.wakeAt : this.now + 1_000;
    }
    this.fail('a healthy set converges', 'still not settled after 200 rounds');
  }

  checkConverged(): void {
    const spec = this.spec;
    const wanted = this.wanted();
    const name = (o: number) => instanceName(SET, o);
    const ordinals = this.state.instances.map((i) => i.ordinal);
    if (ordinals.join(',') !== wanted.join(',')) this.fail('a healthy set converges', `instances [${ordinals.join(',')}], wanted [${wanted.join(',')}]`);
    const running = [...new Set(this.processes.map((p) => p.ordinal))].sort((a, b) => a - b);
    if (running.join(',') !== wanted.join(',')) this.fail('a healthy set converges', `processes of [${running.join(',')}], wanted [${wanted.join(',')}]`);
    const partition = spec.updateStrategy.rollingUpdate?.partition ?? 0;
    const rollingOn = spec.updateStrategy.type === 'RollingUpdate' && spec.updateStrategy.rollingUpdate?.paused !== true;
    const served = this.servedInstances();
    for (const o of wanted) {
      const i = this.instance(o)!;
      if (!this.available(i)) this.fail('a healthy set converges', `${name(o)} is not Available`);
      if (rollingOn && o >= partition && i.revision !== this.state.updateRevision) {
        this.fail('a rollout completes at and above the partition', `${name(o)} runs ${this.version(i.revision)}, update ${this.version(this.state.updateRevision)}`);
      }
      if (served.get(o) !== i.handle?.address) this.fail('a healthy set converges', `${name(o)} is not published`);
    }
    if (served.size !== wanted.length) this.fail('a healthy set converges', `DNS serves [${[...served.keys()].join(',')}]`);
  }

  checkDeleted(): void {
    if (this.processes.length > 0 || this.state.instances.length > 0) this.fail('a deleted set leaves nothing', `processes ${this.processes.length}, instances ${this.state.instances.length}`);
    if (this.dns.length > 0) this.fail('a deleted set leaves nothing', `DNS serves ${this.dns.map((r) => r.name).join(', ')}`);
  }
}

function describeAction(a: Action): string {
  const name = (o: number) => instanceName(SET, o);
  switch (a.kind) {
    case 'create':
      return `create ${name(a.ordinal)}#${a.incarnation}`;
    case 'delete':
      return `delete ${name(a.ordinal)} (${a.reason}${a.deleteVolumes ? ', volumes' : ''})`;
    case 'publish':
      return `publish [${a.published.join(',')}]`;
    case 'rollback':
      return 'rollback';
  }
}

// ---- the properties ----

const seedFromEnv = process.env.ORDINAL_PROPS_SEED;
const runsFromEnv = process.env.ORDINAL_PROPS_RUNS;
const parameters = (numRuns: number): fc.Parameters<[Knobs, Event[]]> => ({
  numRuns: runsFromEnv ? Number(runsFromEnv) : numRuns,
  ...(seedFromEnv ? { seed: Number(seedFromEnv) } : {}),
});

/** Long runs (ORDINAL_PROPS_RUNS) need more than the default five seconds. */
const TIMEOUT_MS = runsFromEnv ? 600_000 : 30_000;

function run(knobs: Knobs, events: Event[], options: { heal: boolean }): void {
  const sim = new Simulation(knobs);
  for (const e of events) sim.event(e);
  if (options.heal) sim.heal();
}

describe('planner properties: invariants after every step of random event sequences', () => {
  it('OrderedReady, partition, DNS, scale-down, maxUnavailable, cutover and restarts hold at every step', () => {
    fc.assert(
      fc.property(knobsArb, fc.array(eventArb, { maxLength: 80, size: 'max' }), (knobs, events) => run(knobs, events, { heal: false })),
      parameters(150),
    );
  }, TIMEOUT_MS);

  it('with no more failures, every set converges (or, deleted, leaves nothing)', () => {
    fc.assert(
      fc.property(knobsArb, fc.array(eventArb, { maxLength: 60, size: 'max' }), (knobs, events) => run(knobs, events, { heal: true })),
      parameters(100),
    );
  }, TIMEOUT_MS);
});
