// One instance of a set as the workflow knows it: its state, the incarnation a driver started, and the
// changes a watch reports. Core's own vocabulary: drivers build their types on these, never the reverse.

/**
 * - Pending: no process; waiting for its turn, its creation, or a crash-loop back-off to end.
 * - Running: a process is alive (see `ready`).
 * - Failed: the process failed liveness and may still run; it is stopped, then recreated. (An exit
 *   goes straight to Pending: its process is gone. Histories from before made exits Failed too.)
 * - Terminating: being stopped.
 */
export type InstancePhase = 'Pending' | 'Running' | 'Failed' | 'Terminating';

/**
 * A running (or once running) incarnation, as core reads it: the fields the planner, the transitions
 * and the status use. A driver's handle extends it with what only the driver interprets (a pid, a task
 * ARN, a log path...). Those details stay in the same flat object (the state and the activities'
 * inputs and outputs keep their JSON shape, so recorded histories replay and running sets carry on
 * across a worker upgrade); core hides them at the type level only, through the `Handle` parameter of
 * `InstanceState`, and passes them through untouched.
 */
export interface Incarnation {
  ordinal: number;
  incarnation: number;
  /** The revision of the template it runs. */
  revision: string;
  /** The address the instance binds and its DNS name points at. */
  address: string;
  /** Epoch milliseconds when this incarnation was started. */
  startedAt: number;
}

/** `Handle`: the driver's handle type; core only reads its `Incarnation` fields. */
export interface InstanceState<Handle extends Incarnation = Incarnation> {
  ordinal: number;
  /** Incarnation of the current or most recent process; 0 before the first create. */
  incarnation: number;
  /** Revision of the template the current process runs (or the next one will). */
  revision: string;
  phase: InstancePhase;
  ready: boolean;
  /** Workflow time (ms) when it last became Ready. */
  readySince?: number;
  handle?: Handle;
  /** Times the identity was recreated after a failure. */
  restarts: number;
  /** Failures in a row without a stable run in between: drives the crash-loop back-off. */
  consecutiveFailures: number;
  /** No new incarnation starts before this workflow time (ms). */
  backoffUntil?: number;
  /** The most recent error, kept for the record after a recovery. */
  lastError?: string;
  /** Why a Running instance that was Ready is not any more (its readiness probe); cleared when Ready. */
  notReadyReason?: string;
  /** A user asked to delete this instance: stop it, then recreate it under the same name. */
  deleteRequested?: boolean;
  /** Its own A record is published. */
  published?: boolean;
  /** Workflow time its own record was withdrawn; it is stopped one TTL later (ordered cutover). */
  unpublishedAt?: number;
  /** Cordoned: out of the service records, kept running (maintenance). */
  cordoned?: boolean;
}

export type InstanceChangeKind = 'ready' | 'unready' | 'exited' | 'liveness-failed';

/** What a watch saw happen to one incarnation. */
export interface InstanceChange {
  ordinal: number;
  incarnation: number;
  kind: InstanceChangeKind;
  /** For users: why (probe output, exit code). */
  message: string;
}
