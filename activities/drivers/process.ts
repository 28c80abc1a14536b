// The process driver, Ordinal's default: every instance is a local OS process, started from the
// template's argv (never a shell), leading its own process group so it outlives the worker, with its
// own loopback address per incarnation. By default each incarnation is a pod (pod.ts): its own UTS and
// mount namespaces with its hostname, hosts and resolv.conf files, volumes at their mount paths and
// the template's user. Durable state lives in SQLite (<dataDir>/instances.db); every
// process also carries a private marker variable, so the driver can find its processes in /proc even
// when that state is lost. Linux only: liveness and discovery read /proc.
//
// This file is the driver's logic (what create, describe and delete decide); the parts it composes are
// in process/: the state store, /proc discovery and adoption, spawn, stop, and watch.
import fs from 'node:fs';
import { defaultPodDnsAddress } from '../../infra/config.js';
import { logger as rootLogger, type Logger } from '../../infra/logger.js';
import { KeyedSlots } from '../keyed-slots.js';
import { parsePool } from './address-pool.js';
import { DriverError, type CreateRequest, type InstanceDriver, type InstanceEntry, type InstanceExit, type InstanceHandle } from './driver.js';
import { instanceEntry } from './instance-finder.js';
import type { PodPrivileges } from './pod.js';
import { MARKER } from './proc.js';
import { Discovery, isRecordedRunning, type Found } from './process/discovery.js';
import { checkIdentity, DataDirLayout } from './process/layout.js';
import { ordinalEnv, processSpec, Spawner } from './process/spawn.js';
import { InstanceState, toHandle, type Row } from './process/state.js';
import { ForkServer } from './process/fork-server.js';
import { stopIdentity } from './process/stop.js';
import { ExitWatcher } from './process/watch.js';

export { MARKER, ordinalEnv };

export interface ProcessDriverOptions {
  dataDir: string;
  /** CIDR block inside 127.0.0.0/8 that instance addresses come from. */
  addressPool?: string;
  /** Where pods' resolv.conf sends queries (port 53): the DNS server's pod listener. Default: the pool's second-to-last address. */
  podDnsAddress?: string;
  logger?: Logger;
}

export class ProcessDriver implements InstanceDriver {
  readonly dataDir: string;
  private readonly log: Logger;
  private readonly layout: DataDirLayout;
  private readonly discovery: Discovery;
  private readonly state: InstanceState;
  private readonly watcher: ExitWatcher;
  private readonly spawner: Spawner;
  private readonly forkServer = new ForkServer();
  /** One operation at a time per identity within this worker. */
  private readonly identities = new KeyedSlots(1);

  constructor(options: ProcessDriverOptions) {
    const pool = parsePool(options.addressPool ?? '127.77.0.0/16');
    this.log = options.logger ?? rootLogger.child({ component: 'process-driver' });
    fs.mkdirSync(options.dataDir, { recursive: true });
    this.dataDir = fs.realpathSync(options.dataDir);
    const podDnsAddress = options.podDnsAddress ?? defaultPodDnsAddress(pool.cidr);
    this.layout = new DataDirLayout(this.dataDir);
    this.discovery = new Discovery(this.layout, this.log);
    this.state = new InstanceState({ dbPath: this.layout.dbPath, pool, log: this.log, recover: () => this.discovery.recover() });
    this.watcher = new ExitWatcher(this.state, this.discovery);
    this.spawner = new Spawner({
      layout: this.layout,
      state: this.state,
      discovery: this.discovery,
      watcher: this.watcher,
      forkServer: this.forkServer,
      podDnsAddress,
      log: this.log,
    });
  }

  /** Whether instances can run as pods here; the problem and its fix when not. Tries once, then remembers. */
  podSupport(): { privileges: PodPrivileges; problem?: string } {
    return this.spawner.podSupport();
  }

  async create(request: CreateRequest): Promise<InstanceHandle> {
    const { identity, incarnation, template } = request;
    const { set, ordinal } = identity;
    checkIdentity(set, ordinal);
    processSpec(request);
    if (!Number.isSafeInteger(incarnation) || incarnation < 0) {
      throw new DriverError(`incarnation must be a non-negative integer, got ${incarnation}`, false);
    }
    return this.locked(set, ordinal, async () => {
      const row = this.state.get(set, ordinal);
      if (row?.incarnation === incarnation) {
        const running = this.findIncarnation(row);
        if (running) return running;
        // It ran and has exited: a retried create must not start the same incarnation twice.
        if (row.pid !== null) return toHandle(row);
        // An intent row and nothing running: an earlier attempt died before spawning. Start it now.
      } else if (row && row.incarnation > incarnation && isRecordedRunning(row)) {
        throw new DriverError(
          `${identity.name}: incarnation ${row.incarnation} runs, refusing to replace it with older incarnation ${incarnation}`,
          false,
        );
      }
      const graceMs = row?.grace_ms ?? template.terminationGracePeriodSeconds * 1000;
      await this.stopIdentity(set, ordinal, graceMs);
      return this.spawner.spawn(request, row?.incarnation === incarnation ? row : undefined);
    });
  }

  async describe(set: string): Promise<InstanceHandle[]> {
    checkIdentity(set, 0);
    const live = new Map<number, InstanceHandle>();
    const rows = this.state.list(set);
    for (const row of rows) {
      if (isRecordedRunning(row)) live.set(row.ordinal, toHandle(row));
    }
    // Processes the state does not know: a lost or rebuilt state file, or a create that died between
    // spawning and recording the pid. What actually runs wins.
    for (const found of this.discovery.scan(`${set}/`)) {
      const known = live.get(found.ordinal);
      if (known?.incarnation === found.incarnation) continue;
      if (known && known.incarnation > found.incarnation) {
        this.log.error({ ...found }, 'an older incarnation still runs beside the current one; it will be stopped');
        continue;
      }
      if (this.identities.load(`${set}/${found.ordinal}`).active > 0) {
        // A create or delete of this instance is under way here: report what runs, let it keep the record.
        live.set(found.ordinal, this.discovery.handle(found));
        continue;
      }
      const intent = rows.find((r) => r.ordinal === found.ordinal && r.incarnation === found.incarnation && r.pid === null);
      if (!intent) {
        this.log.error({ ...found }, 'found a running instance that the state did not record; adopting it');
      }
      live.set(found.ordinal, toHandle(this.adopt(found, intent)));
    }
    return [...live.values()].sort((a, b) => a.ordinal - b.ordinal);
  }

  async delete(set: string, ordinal: number, gracePeriodMs: number): Promise<void> {
    checkIdentity(set, ordinal);
    await this.locked(set, ordinal, async () => {
      const row = this.state.get(set, ordinal);
      await this.stopIdentity(set, ordinal, gracePeriodMs);
      this.state.remove(set, ordinal);
      this.watcher.forget(set, ordinal);
      fs.rmSync(this.layout.podPath(set, ordinal), { recursive: true, force: true });
      if (row) this.log.info({ set, ordinal, incarnation: row.incarnation }, 'instance deleted');
    });
  }

  isAlive(handle: InstanceHandle): boolean {
    return this.watcher.isAlive(handle);
  }

  watch(handles: InstanceHandle[], signal: AbortSignal): Promise<InstanceExit> {
    return this.watcher.watch(handles, signal);
  }

  /** Every live instance process of this data dir, whatever the state says: what is really running. */
  running(): Array<{ set: string; ordinal: number; incarnation: number; pid: number; address: string }> {
    return this.discovery.scan('').map(({ set, ordinal, incarnation, pid, address }) => ({ set, ordinal, incarnation, pid, address }));
  }

  /** Stops every instance of this data dir (recorded or found in /proc), e.g. when `ordinal up` exits. */
  async stopAll(gracePeriodMs: number): Promise<void> {
    const identities = new Map<string, [string, number]>();
    for (const r of this.state.identities()) identities.set(`${r.set_name}/${r.ordinal}`, [r.set_name, r.ordinal]);
    for (const f of this.discovery.scan('')) identities.set(`${f.set}/${f.ordinal}`, [f.set, f.ordinal]);
    await Promise.all([...identities.values()].map(([set, ordinal]) => this.delete(set, ordinal, gracePeriodMs)));
  }

  /** Closes the state database and ends the fork server. Instances keep running: they outlive the worker on purpose. */
  close(): void {
    this.forkServer.close();
    this.state.close();
  }

  /**
   * How to run a command inside a running instance (exec probes): its namespaces and user when it is a
   * pod, its environment and working directory. Undefined when the incarnation is not running here.
   */
  entry(handle: InstanceHandle): InstanceEntry | undefined {
    if (!this.isAlive(handle)) return undefined;
    const dir = this.layout.podDir(handle.set, handle.ordinal, handle.incarnation);
    return instanceEntry(handle.pid, fs.existsSync(dir) ? dir : undefined);
  }

  /** `<dataDir>/volumes/<template>-<set>-<ordinal>`, as Kubernetes names a StatefulSet's claims. */
  volumePath(set: string, ordinal: number, template: string): string {
    return this.layout.volumePath(set, ordinal, template);
  }

  async deleteVolumes(set: string, ordinal: number, templates: string[]): Promise<void> {
    for (const template of templates) {
      const dir = this.volumePath(set, ordinal, template);
      if (!fs.existsSync(dir)) continue;
      await fs.promises.rm(dir, { recursive: true, force: true });
      this.log.info({ set, ordinal, volume: template, dir }, 'volume deleted');
    }
  }

  /** The running process of exactly this row's incarnation (recorded, or found by its marker), adopted. */
  private findIncarnation(row: Row): InstanceHandle | undefined {
    if (isRecordedRunning(row)) return toHandle(row);
    const found = this.discovery.scan(`${row.set_name}/${row.ordinal}/${row.incarnation}/`);
    return found[0] && toHandle(this.adopt(found[0], row));
  }

  /** Records a process found in /proc as the identity's current incarnation. */
  private adopt(found: Found, previous: Row | undefined): Row {
    const row = this.discovery.adopted(found, previous);
    this.state.put(row);
    return row;
  }

  private stopIdentity(set: string, ordinal: number, graceMs: number): Promise<void> {
    return stopIdentity({ state: this.state, discovery: this.discovery, log: this.log }, set, ordinal, graceMs);
  }

  /** Serializes operations on one identity within this worker. */
  private locked<T>(set: string, ordinal: number, fn: () => Promise<T>): Promise<T> {
    return this.identities.run(`${set}/${ordinal}`, fn);
  }
}
