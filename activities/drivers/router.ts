// The instance driver the activities use: dispatches to the process driver or the ECS driver, so the
// workflow and the planner stay the same for both. create goes by the template (process or ecs); the
// calls that only name a set (describe, delete, deleteVolumes) go to the driver the set is known to use,
// or, when this worker has not seen the set yet, to every configured driver (each is idempotent and
// finds nothing for a set that is not its own); handle calls go by the handle's driver.
import { templateKind, type DriverKind } from '../../core/manifest.js';
import {
  DriverError,
  handleKind,
  type CreateRequest,
  type HealthStatus,
  type InstanceEntry,
  type InstanceDriver,
  type InstanceExit,
  type InstanceHandle,
} from './driver.js';

export interface DriverRouterOptions {
  process: InstanceDriver;
  /** Absent when the worker is not configured for ECS: an ecs set then fails with a clear error. */
  ecs?: InstanceDriver;
  /** Reported when a set needs a driver this worker does not have. */
  missingHint?: Partial<Record<DriverKind, string>>;
}

export class DriverRouter implements InstanceDriver {
  private readonly drivers: Partial<Record<DriverKind, InstanceDriver>>;
  /** The driver each set uses, as seen in creates and handles. */
  private readonly kinds = new Map<string, DriverKind>();
  private readonly hints: Partial<Record<DriverKind, string>>;

  constructor(options: DriverRouterOptions) {
    this.drivers = { process: options.process, ...(options.ecs ? { ecs: options.ecs } : {}) };
    this.hints = options.missingHint ?? {};
  }

  /** The driver for a kind; a non-retryable error when this worker has none. */
  driverFor(kind: DriverKind, name: string): InstanceDriver {
    const driver = this.drivers[kind];
    if (!driver) {
      const hint = this.hints[kind] ?? (kind === 'ecs' ? 'configure the ECS driver on the worker (ORDINAL_ECS=enabled and AWS credentials and region)' : '');
      throw new DriverError(`${name}: this worker has no ${kind} driver${hint ? `: ${hint}` : ''}`, false);
    }
    return driver;
  }

  async create(request: CreateRequest): Promise<InstanceHandle> {
    const kind = templateKind(request.template);
    const driver = this.driverFor(kind, request.identity.name);
    this.kinds.set(request.identity.set, kind);
    const handle = await driver.create(request);
    return kind === 'process' || handle.driver ? handle : { ...handle, driver: kind };
  }

  async describe(set: string): Promise<InstanceHandle[]> {
    const handles: InstanceHandle[] = [];
    for (const [kind, driver] of this.candidates(set)) {
      const found = await driver.describe(set);
      if (found.length > 0) this.kinds.set(set, kind);
      handles.push(...found.map((h) => (kind === 'process' || h.driver ? h : { ...h, driver: kind })));
    }
    return handles.sort((a, b) => a.ordinal - b.ordinal);
  }

  async delete(set: string, ordinal: number, gracePeriodMs: number): Promise<void> {
    // Every candidate must confirm: at most one incarnation per identity, whichever driver ran it.
    for (const [, driver] of this.candidates(set)) await driver.delete(set, ordinal, gracePeriodMs);
  }

  async deleteVolumes(set: string, ordinal: number, templates: string[]): Promise<void> {
    for (const [, driver] of this.candidates(set)) await driver.deleteVolumes(set, ordinal, templates);
  }

  isAlive(handle: InstanceHandle): boolean {
    const driver = this.drivers[handleKind(handle)];
    // A handle of a driver this worker lacks: it cannot tell; the create of such sets fails instead.
    if (!driver) return true;
    this.kinds.set(handle.set, handleKind(handle));
    return driver.isAlive(handle);
  }

  entry(handle: InstanceHandle): InstanceEntry | undefined {
    return this.drivers[handleKind(handle)]?.entry?.(handle);
  }

  health(handle: InstanceHandle): HealthStatus | undefined {
    return this.drivers[handleKind(handle)]?.health?.(handle);
  }

  watch(handles: InstanceHandle[], signal: AbortSignal): Promise<InstanceExit> {
    const byKind = new Map<DriverKind, InstanceHandle[]>();
    for (const handle of handles) {
      const kind = handleKind(handle);
      if (!this.drivers[kind]) continue;
      this.kinds.set(handle.set, kind);
      byKind.set(kind, [...(byKind.get(kind) ?? []), handle]);
    }
    if (byKind.size === 1) {
      const [[kind, mine]] = [...byKind];
      return this.drivers[kind]!.watch(mine, signal);
    }
    // Several drivers (or none): the first exit wins, the other watches are stopped.
    return new Promise((resolve, reject) => {
      const inner = new AbortController();
      const onAbort = () => inner.abort(signal.reason);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      const finish = (settle: () => void) => {
        signal.removeEventListener('abort', onAbort);
        inner.abort();
        settle();
      };
      if (byKind.size === 0) {
        inner.signal.addEventListener('abort', () => finish(() => reject(abortError(signal))), { once: true });
        if (inner.signal.aborted) finish(() => reject(abortError(signal)));
        return;
      }
      for (const [kind, mine] of byKind) {
        this.drivers[kind]!.watch(mine, inner.signal).then(
          (exit) => finish(() => resolve(exit)),
          (err) => finish(() => reject(signal.aborted ? abortError(signal) : err)),
        );
      }
    });
  }

  /** The drivers to ask about a set: the one it is known to use, else every configured one. */
  private candidates(set: string): Array<[DriverKind, InstanceDriver]> {
    const kind = this.kinds.get(set);
    const known = kind ? this.drivers[kind] : undefined;
    if (kind && known) return [[kind, known]];
    return Object.entries(this.drivers) as Array<[DriverKind, InstanceDriver]>;
  }
}

function abortError(signal: AbortSignal): Error {
  const error = new Error('watch aborted', { cause: signal.reason });
  error.name = 'AbortError';
  return error;
}
