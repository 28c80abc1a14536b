// The instance driver interface: everything that starts, finds and stops an instance goes through it.
// The process driver (local OS processes) is the default; cloud drivers implement the same contract.
import type { Incarnation } from '../../core/instance.js';
import type { DriverKind, Template } from '../../core/manifest.js';

export type { DriverKind };

/** Who an instance is: its identity never changes across incarnations. */
export interface InstanceIdentity {
  set: string;
  ordinal: number;
  /** e.g. web-0 */
  name: string;
  /** e.g. web-0.web.ordinal.internal */
  dnsName: string;
  /** e.g. web.ordinal.internal */
  serviceDnsName: string;
  /** host:port of the embedded DNS server, given to instances so they can resolve their peers. */
  dnsServer: string;
}

export interface CreateRequest {
  identity: InstanceIdentity;
  /** Increases by one each time the identity is (re)created; (set, ordinal, incarnation) is the idempotency key. */
  incarnation: number;
  revision: string;
  template: Template;
  /** volumeClaimTemplates names: the instance gets its own volume of each, reattached across incarnations. */
  volumes?: string[];
}

/**
 * A running (or once running) incarnation of an identity, as the driver reports it: core's
 * `Incarnation` (ordinal, incarnation, revision, address, startedAt) plus what only drivers interpret.
 */
export interface InstanceHandle extends Incarnation {
  set: string;
  /** The process driver's locator: an OS pid (0 for other drivers). */
  pid: number;
  /** Which driver runs it; absent in handles recorded before there were several: the process driver. */
  driver?: DriverKind;
  /** Driver-neutral locator of other drivers: the task ARN for ECS. */
  locator?: string;
  /** ECS: the cluster (ARN) the task runs in. */
  cluster?: string;
  /** Where the instance's stdout and stderr go. */
  logPath: string;
}

export interface InstanceExit {
  handle: InstanceHandle;
  /** Exit code or signal name when the driver saw it, otherwise undefined (e.g. an adopted process). */
  exitCode?: number;
  signal?: string;
  /** What the driver knows about how it ended, for users (ECS: the stopped reason). */
  message?: string;
}

/** A container health check's verdict, as ECS reports it. */
export type HealthStatus = 'HEALTHY' | 'UNHEALTHY' | 'UNKNOWN';

export interface InstanceDriver {
  /**
   * Starts the incarnation, or returns it when it already runs (a retried create). Before starting it
   * stops any other live incarnation of the same identity and confirms it dead: at most one per identity.
   * Throws a `DriverError` with `retryable: false` for errors a retry cannot fix (e.g. no such program).
   */
  create(request: CreateRequest): Promise<InstanceHandle>;
  /** Live incarnations of a set's instances, read from the driver's durable state and checked. */
  describe(set: string): Promise<InstanceHandle[]>;
  /**
   * Stops whatever incarnation of (set, ordinal) runs: SIGTERM-like first, forcibly after the grace
   * period; resolves once it is confirmed gone. Idempotent.
   */
  delete(set: string, ordinal: number, gracePeriodMs: number): Promise<void>;
  /** Deletes the identity's volumes of these templates (after delete). Idempotent. */
  deleteVolumes(set: string, ordinal: number, templates: string[]): Promise<void>;
  /** True while the incarnation's process is alive. Cheap: called often. */
  isAlive(handle: InstanceHandle): boolean;
  /** Resolves with the first of `handles` to exit; rejects with an AbortError when `signal` aborts. */
  watch(handles: InstanceHandle[], signal: AbortSignal): Promise<InstanceExit>;
  /**
   * The instance's own health check (ECS container health check), from what `watch` last saw; undefined
   * when the driver has none. Cheap: called often.
   */
  health?(handle: InstanceHandle): HealthStatus | undefined;
  /**
   * How to run another command inside a running instance (exec probes): the argv prefix that enters it,
   * its environment and working directory; undefined when the driver cannot (ECS) or it is not running.
   */
  entry?(handle: InstanceHandle): InstanceEntry | undefined;
}

/** How to run a command inside an instance: as its user, in its namespaces, with its environment. */
export interface InstanceEntry {
  /** Put in front of the command's argv (nsenter, setpriv); empty for a plain process. */
  prefix: string[];
  env: Record<string, string>;
  cwd: string;
}

/** The driver a handle belongs to: handles recorded before there were several drivers are the process driver's. */
export function handleKind(handle: InstanceHandle): DriverKind {
  return handle.driver ?? 'process';
}

export class DriverError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'DriverError';
  }
}
