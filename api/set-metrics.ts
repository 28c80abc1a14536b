// The sets as Prometheus metrics, named as kube-state-metrics names them for StatefulSets
// (kube_statefulset_* -> ordinal_statefulset_*), computed at scrape time from one listing of the sets.
// Labels: the set's name, its phase or condition (small fixed sets), and per instance its name (at most
// the set's replicas): never an incarnation or an address.
import { Counter, Gauge, Registry } from 'prom-client';
import type { ConditionStatus, SetPhase, SetView } from '../core/status.js';

export const SET_PHASES: readonly SetPhase[] = ['Pending', 'Progressing', 'Ready', 'Degraded', 'Paused', 'Deleting'];
const CONDITION_STATUSES: readonly ConditionStatus[] = ['True', 'False', 'Unknown'];

/** Prometheus text of every set's metrics. A fresh registry per scrape: sets that are gone disappear. */
export async function setMetricsText(sets: readonly SetView[]): Promise<string> {
  const registry = new Registry();
  const gauge = (name: string, help: string, labelNames: string[] = []) =>
    new Gauge({ name, help, labelNames: ['statefulset', ...labelNames], registers: [registry] });
  const replicas = gauge('ordinal_statefulset_replicas', 'Desired instances (spec.replicas)');
  const statusReplicas = gauge('ordinal_statefulset_status_replicas', 'Instances the set has (status.replicas), as many as are being scaled away included');
  const ready = gauge('ordinal_statefulset_status_replicas_ready', 'Running instances that are Ready');
  const available = gauge('ordinal_statefulset_status_replicas_available', 'Running instances Ready for at least minReadySeconds');
  const current = gauge('ordinal_statefulset_status_replicas_current', 'Running instances of the current revision');
  const updated = gauge('ordinal_statefulset_status_replicas_updated', 'Running instances of the update revision');
  const observed = gauge('ordinal_statefulset_status_observed_generation', 'The generation the workflow has acted on');
  const generation = gauge('ordinal_statefulset_metadata_generation', 'The generation of the spec (each accepted change of it adds one)');
  const phase = gauge('ordinal_statefulset_status_phase', "The set's phase: 1 for the phase it is in, 0 for the others", ['phase']);
  const condition = gauge('ordinal_statefulset_status_condition', "The set's conditions: 1 for the status each condition has, 0 for the other statuses", ['condition', 'status']);
  const instanceReady = gauge('ordinal_instance_ready', 'Whether the instance is Ready (1) or not (0)', ['instance_name']);
  const restarts = new Counter({
    name: 'ordinal_instance_restarts_total',
    help: 'Restarts of the instance (its incarnations replaced after a failure), as the set status counts them',
    labelNames: ['statefulset', 'instance_name'],
    registers: [registry],
  });

  for (const set of sets) {
    const statefulset = set.metadata.name;
    const status = set.status;
    replicas.set({ statefulset }, set.spec.replicas);
    statusReplicas.set({ statefulset }, status.replicas);
    ready.set({ statefulset }, status.readyReplicas);
    available.set({ statefulset }, status.availableReplicas);
    current.set({ statefulset }, status.currentReplicas);
    updated.set({ statefulset }, status.updatedReplicas);
    observed.set({ statefulset }, status.observedGeneration);
    generation.set({ statefulset }, set.metadata.generation);
    for (const p of SET_PHASES) phase.set({ statefulset, phase: p }, p === status.phase ? 1 : 0);
    for (const c of status.conditions) {
      for (const s of CONDITION_STATUSES) condition.set({ statefulset, condition: c.type, status: s }, s === c.status ? 1 : 0);
    }
    for (const instance of status.instances) {
      instanceReady.set({ statefulset, instance_name: instance.name }, instance.ready ? 1 : 0);
      restarts.inc({ statefulset, instance_name: instance.name }, instance.restarts);
    }
  }
  return registry.metrics();
}
