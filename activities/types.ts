// The activities' contract, as the workflow sees it. Types only: the workflow bundle never loads
// activity code.
import type { DnsTarget, PublishOutcome, RecordSet } from '../core/dns-records.js';
import type { InstanceChange } from '../core/instance.js';
import type { PortSpec, Probe, Template } from '../core/manifest.js';
import type { InstanceHandle } from './drivers/driver.js';

export type { InstanceChange } from '../core/instance.js';

export interface CreateInstanceRequest {
  set: string;
  ordinal: number;
  incarnation: number;
  revision: string;
  serviceName: string;
  zone: string;
  template: Template;
  /** Names of the set's volumeClaimTemplates: each instance gets (and keeps) its own volume of each. */
  volumes: string[];
  /**
   * Once started, wait up to this long for the instance to be Ready (the watch's probes, heartbeating)
   * and say so in `ready`. Absent (requests of earlier workflow code): return once started, as before.
   */
  awaitReadyMs?: number;
}

/** What a create returns: the incarnation's handle, and with `awaitReadyMs` whether it became Ready. */
export type CreatedInstance = InstanceHandle & {
  /** Only with `awaitReadyMs`: Ready before the wait ended (false: not yet, exited or failing; the watch takes over). */
  ready?: boolean;
  /** Only when not Ready: the last failed readiness attempt's output (none when no attempt failed). */
  notReadyReason?: string;
};

export interface DeleteInstanceRequest {
  set: string;
  ordinal: number;
  gracePeriodSeconds: number;
  /** Volumes (template names) to delete once the instance is gone; [] keeps them (Retain). */
  deleteVolumes: string[];
}

export interface WatchedInstance {
  handle: InstanceHandle;
  /** What the workflow believes now; a change from this is reported. */
  ready: boolean;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  /** ECS templates: 'healthCheck' makes the container health check (HEALTHY) decide readiness instead of probes. */
  readiness?: 'probes' | 'healthCheck';
  ports: PortSpec[];
  dnsName: string;
  serviceDnsName: string;
}

export interface WatchRequest {
  set: string;
  instances: WatchedInstance[];
  /** Return with no change after this long, so the workflow can look around (continue-as-new...). */
  maxWaitMs: number;
}

export interface PublishRequest {
  set: string;
  target: DnsTarget;
  records: RecordSet[];
  /** The set leaves `target` (deleted or moved; `records` is empty): the embedded store forgets its zone. */
  release?: boolean;
}

export interface Activities {
  /** Starts an incarnation (idempotent per set/ordinal/incarnation) and returns its handle. */
  createInstance(request: CreateInstanceRequest): Promise<CreatedInstance>;
  /** Stops any incarnation of the identity; resolves once it is confirmed gone. */
  deleteInstance(request: DeleteInstanceRequest): Promise<void>;
  /** Live incarnations of the set's instances, for adoption when a set workflow starts. */
  listInstances(request: { set: string }): Promise<InstanceHandle[]>;
  /** Watches processes and probes; returns the changes as soon as there is at least one. */
  watchInstances(request: WatchRequest): Promise<InstanceChange[]>;
  /** Makes the set's published records exactly `records` (idempotent); Route 53 waits until INSYNC. */
  publishRecords(request: PublishRequest): Promise<PublishOutcome>;
}
