// The process driver, Ordinal's default: every instance is a local OS process, started from the
// template's argv (never a shell), leading its own process group so it outlives the worker, with its
// own loopback address per incarnation. By default each incarnation is a pod (pod.ts): its own UTS and
// mount namespaces with its hostname, hosts and resolv.conf files, volumes at their mount paths and
// the template's user. Durable state lives in SQLite (<dataDir>/instances.db); every
// process also carries a private marker variable, so the driver can find its processes in /proc even
// when that state is lost. Linux only: liveness and discovery read /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { expandCommand, expandEnv } from '../../core/expand.js';
import { isolationOf, volumeEnvName, type Template } from '../../core/manifest.js';
import { isDns1123Label } from '../../core/names.js';
import { dataPaths, defaultPodDnsAddress } from '../../infra/config.js';
import { logger as rootLogger, type Logger } from '../../infra/logger.js';
import { allocate, offsetOf, parsePool, type AddressPool } from './address-pool.js';
import {
  DriverError,
  type CreateRequest,
  type InstanceDriver,
  type InstanceEntry,
  type InstanceExit,
  type InstanceHandle,
  type InstanceIdentity,
} from './driver.js';
import { instanceEntry } from './instance-finder.js';
import { portConflicts } from './port-holders.js';
import {
  inPodSetup,
  hostSearch,
  podLaunch,
  podPrivileges,
  podUser,
  POD_SETUP_FAILED,
  userSwitch,
  workerPrivileges,
  writePodFiles,
  type PodMount,
  type PodPrivileges,
  type PodUser,
} from './pod.js';
import { findMarked, isRunning, MARKER, readEnviron, readStat, signalGroup, type MarkedProcess } from './proc.js';

export { MARKER };
import { KeyedSlots } from '../keyed-slots.js';

export interface ProcessDriverOptions {
  dataDir: string;
  /** CIDR block inside 127.0.0.0/8 that instance addresses come from. */
  addressPool?: string;
  /** Where pods' resolv.conf sends queries (port 53): the DNS server's pod listener. Default: the pool's second-to-last address. */
  podDnsAddress?: string;
  logger?: Logger;
}

/** How long a process may take to vanish after SIGKILL before we call it stuck (e.g. in disk sleep). */
const KILL_TIMEOUT_MS = 10_000;
const WATCH_POLL_MS = 100;
/** A safety net only: our own children report their exit at once. */
const CHILD_WATCH_POLL_MS = 1_000;
/** How long watch waits for Node to report the exit code of a child seen dead. */
const EXIT_REPORT_WAIT_MS = 1_000;
const STOP_POLL_MS = 20;
/** How long create waits for a pod's setup to exec the program (it takes milliseconds). */
const POD_SETUP_TIMEOUT_MS = 10_000;

/** The ORDINAL_* variables every instance gets (DESIGN.md); exec probes get them too. */
export function ordinalEnv(identity: InstanceIdentity, incarnation: number, address: string): Record<string, string> {
  return {
    ORDINAL_SET: identity.set,
    ORDINAL_NAME: identity.name,
    ORDINAL_INDEX: String(identity.ordinal),
    ORDINAL_ADDRESS: address,
    ORDINAL_DNS_NAME: identity.dnsName,
    ORDINAL_SERVICE_DNS_NAME: identity.serviceDnsName,
    ORDINAL_DNS_SERVER: identity.dnsServer,
    ORDINAL_INCARNATION: String(incarnation),
  };
}

interface Row {
  set_name: string;
  ordinal: number;
  incarnation: number;
  revision: string;
  address: string;
  /** NULL while the spawn is in flight: the intent row written before spawning. */
  pid: number | null;
  start_time: string | null;
  started_at: number;
  log_path: string;
  /** The incarnation's own grace period, used when a newer create has to replace it; NULL when unknown. */
  grace_ms: number | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS instances (
  set_name TEXT NOT NULL,
  ordinal INTEGER NOT NULL,
  incarnation INTEGER NOT NULL,
  revision TEXT NOT NULL,
  address TEXT NOT NULL,
  pid INTEGER,
  start_time TEXT,
  started_at INTEGER NOT NULL,
  log_path TEXT NOT NULL,
  grace_ms INTEGER,
  PRIMARY KEY (set_name, ordinal)
) STRICT;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
`;

/** What we keep about a child this process spawned: its exit, as soon as Node reaps it. */
interface Child {
  child: ChildProcess;
  pid: number;
  exit?: { exitCode?: number; signal?: string; message?: string };
  onExit: Set<() => void>;
}

/** One live incarnation found in /proc (its group leader when it has several processes). */
interface Found {
  set: string;
  ordinal: number;
  incarnation: number;
  revision: string;
  address: string;
  pid: number;
  startTime: string;
}

export class ProcessDriver implements InstanceDriver {
  readonly dataDir: string;
  private readonly dbPath: string;
  private readonly logsDir: string;
  private readonly pool: AddressPool;
  private readonly log: Logger;
  /** Distinguishes this data dir's processes from those of other data dirs on the same machine. */
  private readonly scope: string;
  private db!: Database.Database;
  private dbInode = 0;
  private readonly children = new Map<string, Child>();
  /** Start times of live incarnations, by identity, incarnation and pid: isAlive without SQLite. */
  private readonly startTimes = new Map<string, string>();
  /** One operation at a time per identity within this worker. */
  private readonly identities = new KeyedSlots(1);
  private readonly podDnsAddress: string;
  private readonly podsDir: string;
  /** Whether this worker can make pods, found out on the first pod it starts. */
  private pods: { privileges: PodPrivileges; problem?: string } | undefined;

  constructor(options: ProcessDriverOptions) {
    this.pool = parsePool(options.addressPool ?? '127.77.0.0/16');
    this.log = options.logger ?? rootLogger.child({ component: 'process-driver' });
    fs.mkdirSync(options.dataDir, { recursive: true });
    this.dataDir = fs.realpathSync(options.dataDir);
    const paths = dataPaths(this.dataDir);
    this.dbPath = paths.instancesDb;
    this.logsDir = paths.logsDir;
    this.podsDir = path.join(this.dataDir, 'pods');
    this.scope = createHash('sha256').update(this.dataDir).digest('hex').slice(0, 12);
    this.podDnsAddress = options.podDnsAddress ?? defaultPodDnsAddress(this.pool.cidr);
    this.openDb();
  }

  /** Whether instances can run as pods here; the problem and its fix when not. Tries once, then remembers. */
  podSupport(): { privileges: PodPrivileges; problem?: string } {
    this.pods ??= podPrivileges();
    return this.pods;
  }

  async create(request: CreateRequest): Promise<InstanceHandle> {
    const { identity, incarnation, revision, template } = request;
    const { set, ordinal } = identity;
    checkIdentity(set, ordinal);
    processSpec(request);
    if (!Number.isSafeInteger(incarnation) || incarnation < 0) {
      throw new DriverError(`incarnation must be a non-negative integer, got ${incarnation}`, false);
    }
    return this.locked(set, ordinal, async () => {
      const row = this.getRow(set, ordinal);
      if (row?.incarnation === incarnation) {
        const running = this.findIncarnation(row);
        if (running) return running;
        // It ran and has exited: a retried create must not start the same incarnation twice.
        if (row.pid !== null) return toHandle(row);
        // An intent row and nothing running: an earlier attempt died before spawning. Start it now.
      } else if (row && row.incarnation > incarnation && this.rowIsRunning(row)) {
        throw new DriverError(
          `${identity.name}: incarnation ${row.incarnation} runs, refusing to replace it with older incarnation ${incarnation}`,
          false,
        );
      }
      const graceMs = row?.grace_ms ?? template.terminationGracePeriodSeconds * 1000;
      await this.stopIdentity(set, ordinal, graceMs);
      return this.spawnInstance(request, row?.incarnation === incarnation ? row : undefined);
    });
  }

  async describe(set: string): Promise<InstanceHandle[]> {
    checkIdentity(set, 0);
    const live = new Map<number, InstanceHandle>();
    const rows = this.withDb((db) =>
      db.prepare('SELECT * FROM instances WHERE set_name = ? ORDER BY ordinal').all(set),
    ) as Row[];
    for (const row of rows) {
      if (row.pid !== null && isRunning(row.pid, row.start_time)) live.set(row.ordinal, toHandle(row));
    }
    // Processes the state does not know: a lost or rebuilt state file, or a create that died between
    // spawning and recording the pid. What actually runs wins.
    for (const found of this.scan(`${set}/`)) {
      const known = live.get(found.ordinal);
      if (known?.incarnation === found.incarnation) continue;
      if (known && known.incarnation > found.incarnation) {
        this.log.error({ ...found }, 'an older incarnation still runs beside the current one; it will be stopped');
        continue;
      }
      if (this.identities.load(`${set}/${found.ordinal}`).active > 0) {
        // A create or delete of this instance is under way here: report what runs, let it keep the record.
        live.set(found.ordinal, foundHandle(found, this.logPath(set, found.ordinal)));
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
      const row = this.getRow(set, ordinal);
      await this.stopIdentity(set, ordinal, gracePeriodMs);
      this.withDb((db) => db.prepare('DELETE FROM instances WHERE set_name = ? AND ordinal = ?').run(set, ordinal));
      for (const key of this.children.keys()) if (key.startsWith(`${set}/${ordinal}/`)) this.children.delete(key);
      for (const key of this.startTimes.keys()) if (key.startsWith(`${set}/${ordinal}/`)) this.startTimes.delete(key);
      fs.rmSync(this.podPath(set, ordinal), { recursive: true, force: true });
      if (row) this.log.info({ set, ordinal, incarnation: row.incarnation }, 'instance deleted');
    });
  }

  isAlive(handle: InstanceHandle): boolean {
    const child = this.children.get(childKey(handle));
    if (child?.pid === handle.pid && child.exit) return false;
    // Hot path (every watch tick): a start time seen before identifies the process without the database.
    const key = `${childKey(handle)}#${handle.pid}`;
    const known = this.startTimes.get(key);
    if (known !== undefined) {
      if (isRunning(handle.pid, known)) return true;
      this.startTimes.delete(key);
      return false;
    }
    let row: Row | undefined;
    try {
      row = this.getRow(handle.set, handle.ordinal);
    } catch {
      row = undefined; // unreadable state: fall back to the marker below
    }
    if (row && row.incarnation === handle.incarnation && row.pid === handle.pid) {
      const alive = isRunning(row.pid, row.start_time);
      if (alive && row.start_time) this.startTimes.set(key, row.start_time);
      return alive;
    }
    // No record of this exact incarnation: trust the pid only if it carries our marker.
    const marker = readEnviron(handle.pid)?.get(MARKER);
    return marker?.startsWith(this.markerPrefix(handle.set, handle.ordinal, handle.incarnation)) === true && isRunning(handle.pid, null);
  }

  watch(handles: InstanceHandle[], signal: AbortSignal): Promise<InstanceExit> {
    return new Promise((resolve, reject) => {
      const cleanups: Array<() => void> = [];
      let done = false;
      const finish = (outcome: () => void) => {
        if (done) return;
        done = true;
        for (const cleanup of cleanups) cleanup();
        outcome();
      };
      const exited = (handle: InstanceHandle) =>
        finish(() => {
          const exit = this.children.get(childKey(handle));
          resolve({ handle, ...(exit?.pid === handle.pid ? exit.exit : undefined) });
        });
      let reaping = false;
      const check = (): boolean => {
        if (reaping) return true;
        const gone = handles.find((h) => !this.isAlive(h));
        if (!gone) return false;
        const child = this.children.get(childKey(gone));
        if (child?.pid === gone.pid && !child.exit) {
          reaping = true;
          // Dead but not reaped yet (a zombie): Node reports the exit code in a moment; wait for it.
          const listener = () => exited(gone);
          child.onExit.add(listener);
          const timer = setTimeout(listener, EXIT_REPORT_WAIT_MS);
          cleanups.push(() => {
            child.onExit.delete(listener);
            clearTimeout(timer);
          });
        } else {
          exited(gone);
        }
        return true;
      };
      const onAbort = () => finish(() => reject(abortError(signal)));
      if (signal.aborted) return onAbort();
      if (check()) return;
      // Our own children report their exit at once; adopted processes (spawned by an earlier worker)
      // are not our children, so they are polled.
      for (const handle of handles) {
        const child = this.children.get(childKey(handle));
        if (child?.pid !== handle.pid) continue;
        const listener = () => exited(handle);
        child.onExit.add(listener);
        cleanups.push(() => child.onExit.delete(listener));
      }
      // Children we spawned report their exit; only adopted processes need polling quickly.
      const adopted = handles.some((h) => this.children.get(childKey(h))?.pid !== h.pid);
      const timer = setInterval(check, adopted ? WATCH_POLL_MS : CHILD_WATCH_POLL_MS);
      cleanups.push(() => clearInterval(timer));
      signal.addEventListener('abort', onAbort, { once: true });
      cleanups.push(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** Every live instance process of this data dir, whatever the state says: what is really running. */
  running(): Array<{ set: string; ordinal: number; incarnation: number; pid: number; address: string }> {
    return this.scan('').map(({ set, ordinal, incarnation, pid, address }) => ({ set, ordinal, incarnation, pid, address }));
  }

  /** Stops every instance of this data dir (recorded or found in /proc), e.g. when `ordinal up` exits. */
  async stopAll(gracePeriodMs: number): Promise<void> {
    const identities = new Map<string, [string, number]>();
    const rows = this.withDb((db) => db.prepare('SELECT set_name, ordinal FROM instances').all()) as Row[];
    for (const r of rows) identities.set(`${r.set_name}/${r.ordinal}`, [r.set_name, r.ordinal]);
    for (const f of this.scan('')) identities.set(`${f.set}/${f.ordinal}`, [f.set, f.ordinal]);
    await Promise.all([...identities.values()].map(([set, ordinal]) => this.delete(set, ordinal, gracePeriodMs)));
  }

  /** Closes the state database. Instances keep running: they outlive the worker on purpose. */
  close(): void {
    if (this.db.open) this.db.close();
  }

  // --- creating ---

  private async spawnInstance(request: CreateRequest, intent: Row | undefined): Promise<InstanceHandle> {
    const { identity, incarnation, revision, template } = request;
    const { set, ordinal } = identity;
    const spec = processSpec(request);
    const cwd = path.resolve(process.cwd(), spec.workingDir ?? '.');
    if (!isDirectory(cwd)) {
      throw new DriverError(`${identity.name}: working directory '${cwd}' does not exist or is not a directory`, false);
    }
    const isolation = isolationOf(spec);
    const pods = isolation === 'pod' ? this.podSupport() : undefined;
    if (pods?.problem) throw new DriverError(`${identity.name}: ${pods.problem}`, false);
    const privileges = pods?.privileges ?? workerPrivileges();
    const user = podUser(template, privileges, identity.name);
    const logPath = this.logPath(set, ordinal);
    const graceMs = template.terminationGracePeriodSeconds * 1000;
    const startedAt = Date.now();

    // The intent row goes in before the spawn, so a crash in between leaves a record (and the marker
    // lets a retry find the process).
    const address = this.withDb((db) =>
      db
        .transaction(() => {
          const address = intent?.address ?? this.allocateAddress(db);
          db.prepare(
            `INSERT OR REPLACE INTO instances (set_name, ordinal, incarnation, revision, address, pid, start_time, started_at, log_path, grace_ms)
             VALUES (?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?)`,
          ).run(set, ordinal, incarnation, revision, address, startedAt, logPath, graceMs);
          return address;
        })
        .immediate(),
    );

    // The instance's variables, then the template's env expanded against them (and earlier entries),
    // as Kubernetes does; the command sees all of them.
    const instanceVars: Record<string, string> = ordinalEnv(identity, incarnation, address);
    // Each volume is a directory of its own per identity: it outlives incarnations (reattached on
    // recreation and on scaling back up) until the retention policy deletes it.
    for (const volume of request.volumes ?? []) {
      const dir = this.volumePath(set, ordinal, volume);
      const created = !fs.existsSync(dir);
      fs.mkdirSync(dir, { recursive: true });
      if (privileges.mode === 'root' && user !== undefined) ownVolume(dir, user, created);
      instanceVars[volumeEnvName(volume)] = dir;
    }
    const templateEnv = expandEnv(spec.env, instanceVars);
    const command = expandCommand(spec.command, { ...instanceVars, ...templateEnv });
    const marker = `${this.markerPrefix(set, ordinal, incarnation)}${revision}`;
    const env: Record<string, string> = {};
    // The worker's own ORDINAL_* settings are not the instance's business (and must not fake a marker).
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('ORDINAL_')) env[k] = v;
    Object.assign(env, templateEnv, instanceVars, { [MARKER]: marker });
    const failed = (error: DriverError): DriverError => {
      this.withDb((db) => db.prepare('DELETE FROM instances WHERE set_name = ? AND ordinal = ? AND pid IS NULL').run(set, ordinal));
      fs.mkdirSync(this.logsDir, { recursive: true });
      fs.appendFileSync(logPath, `--- failed to start: ${error.message}\n`);
      return error;
    };
    // Checked here: inside a pod, exec's own failure would only be an exit code of the setup script.
    const program = findProgram(command[0]!, cwd, env.PATH);
    if (typeof program !== 'string') throw failed(spawnError(identity.name, command[0]!, cwd, program));

    let argv: string[];
    if (isolation === 'pod') {
      const dir = path.join(this.podPath(set, ordinal), String(incarnation));
      // Earlier incarnations are stopped by now: their pod files go.
      fs.rmSync(this.podPath(set, ordinal), { recursive: true, force: true });
      const mounts = this.mountsOf(request, user, privileges);
      // pod.json keeps the environment for exec probes and `ordinal exec`: without the marker, as probes are no instance.
      const { [MARKER]: _marker, ...entryEnv } = env;
      const pod = { identity, address, dir, marker, nameserver: this.podDnsAddress, hostSearch: hostSearch(), mounts, user, cwd, env: entryEnv };
      writePodFiles(pod, privileges);
      argv = podLaunch(pod, command, privileges);
    } else {
      argv = [...(user !== undefined && privileges.mode === 'root' ? userSwitch(user, privileges) : []), ...command];
    }

    fs.mkdirSync(this.logsDir, { recursive: true });
    const fd = fs.openSync(logPath, 'a');
    let child: ChildProcess;
    try {
      fs.writeSync(
        fd,
        `--- ${new Date(startedAt).toISOString()} ${identity.name} incarnation ${incarnation} revision ${revision} ` +
          `address ${address}${isolation === 'pod' ? ' (pod)' : ''}: ${JSON.stringify(command)}\n`,
      );
      child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['ignore', fd, fd], detached: true, shell: false });
    } finally {
      fs.closeSync(fd); // the child has its own copy
    }

    // Read the start time at once: the pid stays ours (at worst a zombie) until Node reaps it. Keep the
    // ChildProcess: Node reaps it on exit (no zombies) and tells us how it ended.
    const stat = child.pid === undefined ? undefined : readStat(child.pid);
    const entry: Child = { child, pid: child.pid ?? 0, onExit: new Set() };
    const ports = template.ports.filter((p) => p.protocol === 'TCP').map((p) => p.port);
    child.once('exit', (code, signal) => {
      entry.exit = code !== null ? { exitCode: code } : { signal: signal ?? undefined };
      const message = exitExplanation(code, isolation, logPath, ports, address);
      if (message !== undefined) {
        entry.exit.message = message;
        try {
          fs.appendFileSync(logPath, `--- ${message}\n`);
        } catch {
          // the log is for users; the exit is reported anyway
        }
      }
      for (const listener of entry.onExit) listener();
    });
    child.unref(); // instances must not keep the worker alive
    const failure = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', resolve);
    });
    child.on('error', (err) => this.log.warn({ err, set, ordinal }, 'instance process error'));
    if (failure || child.pid === undefined || !stat) throw failed(spawnError(identity.name, argv[0]!, cwd, failure));

    this.children.set(`${set}/${ordinal}/${incarnation}`, entry);

    this.withDb((db) =>
      db
        .prepare('UPDATE instances SET pid = ?, start_time = ? WHERE set_name = ? AND ordinal = ? AND incarnation = ?')
        .run(child.pid, stat.startTime, set, ordinal, incarnation),
    );
    // A pod is started once its setup has exec'd the program: until then its setup's own short-lived
    // helpers (hostname, mount) run beside it with its marker.
    if (isolation === 'pod') await waitUntil(() => entry.exit !== undefined || !inPodSetup(child.pid!), POD_SETUP_TIMEOUT_MS, 5);
    this.log.info({ set, ordinal, incarnation, pid: child.pid, address, command, isolation }, 'instance started');
    return { set, ordinal, incarnation, revision, address, pid: child.pid, startedAt, logPath };
  }

  /** The template's volumeMounts as host directories (the identity's volumes, or subPaths in them) and pod paths. */
  private mountsOf(request: CreateRequest, user: PodUser | undefined, privileges: PodPrivileges): PodMount[] {
    const mounts = request.template.process?.volumeMounts ?? [];
    return mounts.map((m) => {
      if (!(request.volumes ?? []).includes(m.name)) {
        throw new DriverError(`${request.identity.name}: volumeMount '${m.name}' names no volumeClaimTemplate of the set`, false);
      }
      let source = this.volumePath(request.identity.set, request.identity.ordinal, m.name);
      if (m.subPath) {
        source = this.confined(path.join(source, m.subPath));
        const created = !fs.existsSync(source);
        fs.mkdirSync(source, { recursive: true });
        if (privileges.mode === 'root' && user !== undefined) ownVolume(source, user, created);
      }
      return { source, target: m.mountPath, readOnly: m.readOnly === true };
    });
  }

  /**
   * How to run a command inside a running instance (exec probes): its namespaces and user when it is a
   * pod, its environment and working directory. Undefined when the incarnation is not running here.
   */
  entry(handle: InstanceHandle): InstanceEntry | undefined {
    if (!this.isAlive(handle)) return undefined;
    const dir = path.join(this.podPath(handle.set, handle.ordinal), String(handle.incarnation));
    return instanceEntry(handle.pid, fs.existsSync(dir) ? dir : undefined);
  }

  /** Next address from the pool, skipping those recorded for any instance; runs inside a write transaction. */
  private allocateAddress(db: Database.Database): string {
    const cursor = Number(db.prepare("SELECT value FROM meta WHERE key = 'address_cursor'").pluck().get() ?? 0);
    const inUse = new Set(db.prepare('SELECT address FROM instances').pluck().all() as string[]);
    let picked: { address: string; cursor: number };
    try {
      picked = allocate(this.pool, cursor, inUse);
    } catch (err) {
      throw new DriverError((err as Error).message, true);
    }
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('address_cursor', ?)").run(String(picked.cursor));
    return picked.address;
  }

  /** The running process of exactly this row's incarnation (recorded, or found by its marker), adopted. */
  private findIncarnation(row: Row): InstanceHandle | undefined {
    if (row.pid !== null && isRunning(row.pid, row.start_time)) return toHandle(row);
    const found = this.scan(`${row.set_name}/${row.ordinal}/${row.incarnation}/`);
    return found[0] && toHandle(this.adopt(found[0], row));
  }

  /** Records a process found in /proc as the identity's current incarnation. */
  private adopt(found: Found, previous: Row | undefined): Row {
    const row: Row = {
      set_name: found.set,
      ordinal: found.ordinal,
      incarnation: found.incarnation,
      revision: found.revision,
      address: found.address,
      pid: found.pid,
      start_time: found.startTime,
      started_at: previous?.started_at ?? startedAtOf(found.startTime),
      log_path: this.logPath(found.set, found.ordinal),
      grace_ms: previous?.incarnation === found.incarnation ? previous.grace_ms : null,
    };
    this.withDb((db) =>
      db
        .prepare(
          `INSERT OR REPLACE INTO instances (set_name, ordinal, incarnation, revision, address, pid, start_time, started_at, log_path, grace_ms)
           VALUES (@set_name, @ordinal, @incarnation, @revision, @address, @pid, @start_time, @started_at, @log_path, @grace_ms)`,
        )
        .run(row),
    );
    return row;
  }

  // --- stopping ---

  /**
   * Stops every process of (set, ordinal), whatever its incarnation: the recorded leader and anything
   * carrying the identity's marker. SIGTERM to each process group, SIGKILL after the grace period;
   * returns once all are confirmed gone.
   */
  private async stopIdentity(set: string, ordinal: number, graceMs: number): Promise<void> {
    const row = this.getRow(set, ordinal);
    // A few rounds, in case a process forked while it was being stopped.
    for (let round = 0; round < 3; round++) {
      const targets = new Map<number, string>(); // pid -> start time
      const groups = new Set<number>();
      if (row?.pid != null && isRunning(row.pid, row.start_time)) {
        targets.set(row.pid, row.start_time!);
        groups.add(row.pid); // it leads its own group (spawned detached)
      }
      for (const p of findMarked(MARKER, `${this.scope}/${set}/${ordinal}/`)) {
        targets.set(p.pid, p.startTime);
        if (p.pgid > 1) groups.add(p.pgid);
      }
      if (targets.size === 0) return;
      const allGone = () => [...targets].every(([pid, start]) => !isRunning(pid, start));
      this.log.info({ set, ordinal, pids: [...targets.keys()], graceMs }, 'stopping instance');
      if (graceMs > 0) {
        for (const pgid of groups) signalGroup(pgid, 'SIGTERM');
        for (const pid of targets.keys()) signalGroup(pid, 'SIGTERM');
        if (await waitUntil(allGone, graceMs, STOP_POLL_MS)) continue;
        this.log.warn({ set, ordinal, graceMs }, 'instance outlived its grace period; killing it');
      }
      for (const pgid of groups) signalGroup(pgid, 'SIGKILL');
      for (const pid of targets.keys()) signalGroup(pid, 'SIGKILL');
      if (!(await waitUntil(allGone, KILL_TIMEOUT_MS, STOP_POLL_MS))) {
        throw new DriverError(`${set}-${ordinal}: processes ${[...targets.keys()].join(', ')} survived SIGKILL`, true);
      }
    }
    if (findMarked(MARKER, `${this.scope}/${set}/${ordinal}/`).length > 0) {
      throw new DriverError(`${set}-${ordinal}: processes keep appearing while it is being stopped`, true);
    }
  }

  // --- /proc discovery ---

  private markerPrefix(set: string, ordinal: number, incarnation: number): string {
    return `${this.scope}/${set}/${ordinal}/${incarnation}/`;
  }

  /**
   * Live incarnations of this data dir whose marker starts with `<scope>/<prefix>`, one per incarnation:
   * its process group leader, or its oldest process when the leader is gone.
   */
  private scan(prefix: string): Found[] {
    const byKey = new Map<string, MarkedProcess>();
    for (const p of findMarked(MARKER, `${this.scope}/${prefix}`)) {
      const key = p.marker.split('/').slice(0, 4).join('/');
      const best = byKey.get(key);
      if (!best || (p.pid === p.pgid && best.pid !== best.pgid) || (p.pid < best.pid && best.pid !== best.pgid)) {
        byKey.set(key, p);
      }
    }
    const found: Found[] = [];
    for (const p of byKey.values()) {
      const [, set, ordinal, incarnation, ...revision] = p.marker.split('/');
      if (!set || !isDns1123Label(set) || !/^[0-9]+$/.test(ordinal ?? '') || !/^[0-9]+$/.test(incarnation ?? '')) continue;
      found.push({
        set,
        ordinal: Number(ordinal),
        incarnation: Number(incarnation),
        revision: revision.join('/'),
        address: p.env.get('ORDINAL_ADDRESS') ?? '',
        pid: p.pid,
        startTime: p.startTime,
      });
    }
    return found.sort((a, b) => a.ordinal - b.ordinal || b.incarnation - a.incarnation);
  }

  // --- state ---

  private getRow(set: string, ordinal: number): Row | undefined {
    return this.withDb(
      (db) => db.prepare('SELECT * FROM instances WHERE set_name = ? AND ordinal = ?').get(set, ordinal) as Row | undefined,
    );
  }

  private rowIsRunning(row: Row): boolean {
    return row.pid !== null && isRunning(row.pid, row.start_time);
  }

  /**
   * Runs a statement against the state, reopening it when the file was removed or replaced, and moving
   * it aside and rebuilding it from /proc when it is corrupt.
   */
  private withDb<T>(fn: (db: Database.Database) => T): T {
    let inode = 0;
    try {
      inode = fs.statSync(this.dbPath).ino;
    } catch {
      // removed: reopened below
    }
    if (inode !== this.dbInode) {
      this.log.error({ path: this.dbPath }, 'instance state file was removed or replaced; rebuilding it from the running processes');
      this.db.close();
      this.openDb();
    }
    try {
      return fn(this.db);
    } catch (err) {
      if (!isCorrupt(err)) throw err;
      this.db.close();
      this.quarantine(err);
      this.openDb();
      return fn(this.db);
    }
  }

  private openDb(): void {
    try {
      this.db = this.connect();
    } catch (err) {
      if (!isCorrupt(err)) throw err;
      this.quarantine(err);
      this.db = this.connect();
    }
    this.dbInode = fs.statSync(this.dbPath).ino;
    // A fresh state file (first start, or after removal or corruption): record what already runs.
    const initialized = this.db.prepare("SELECT 1 FROM meta WHERE key = 'initialized'").get();
    if (!initialized) {
      this.rebuild();
      this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('initialized', ?)").run(new Date().toISOString());
    }
  }

  private connect(): Database.Database {
    const db = new Database(this.dbPath);
    try {
      db.pragma('busy_timeout = 5000');
      db.pragma('journal_mode = WAL');
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw Object.assign(new Error(`quick_check: ${String(check)}`), { code: 'SQLITE_CORRUPT' });
      db.exec(SCHEMA);
      return db;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  private quarantine(err: unknown): void {
    const aside = `${this.dbPath}.corrupt-${Date.now()}`;
    this.log.error(
      { err, path: this.dbPath, movedTo: aside },
      'instance state is corrupt; moving it aside and rebuilding it from the running processes',
    );
    for (const suffix of ['', '-wal', '-shm']) {
      try {
        fs.renameSync(this.dbPath + suffix, aside + suffix);
      } catch {
        // not there
      }
    }
  }

  /** Fills an empty state with every marked process of this data dir, and moves the address cursor past them. */
  private rebuild(): void {
    const found = this.scan('');
    const seen = new Set<string>();
    let cursor = 0;
    for (const f of found) {
      if (seen.has(`${f.set}/${f.ordinal}`)) continue; // sorted newest incarnation first
      seen.add(`${f.set}/${f.ordinal}`);
      this.log.error({ ...f }, 'adopting a running instance that the state did not record');
      this.db
        .prepare(
          `INSERT OR REPLACE INTO instances (set_name, ordinal, incarnation, revision, address, pid, start_time, started_at, log_path, grace_ms)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)`,
        )
        .run(f.set, f.ordinal, f.incarnation, f.revision, f.address, f.pid, f.startTime, startedAtOf(f.startTime), this.logPath(f.set, f.ordinal));
      cursor = Math.max(cursor, (offsetOf(this.pool, f.address) ?? -1) + 1);
    }
    if (found.length > 0) {
      this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('address_cursor', ?)").run(String(cursor));
    }
  }

  /** Serializes operations on one identity within this worker. */
  private locked<T>(set: string, ordinal: number, fn: () => Promise<T>): Promise<T> {
    return this.identities.run(`${set}/${ordinal}`, fn);
  }

  /** `<dataDir>/volumes/<template>-<set>-<ordinal>`, as Kubernetes names a StatefulSet's claims. */
  volumePath(set: string, ordinal: number, template: string): string {
    checkIdentity(set, ordinal);
    if (!isDns1123Label(template)) throw new DriverError(`invalid volume name '${template}': must be a DNS-1123 label`, false);
    return this.confined(path.join(this.dataDir, 'volumes', `${template}-${set}-${ordinal}`));
  }

  async deleteVolumes(set: string, ordinal: number, templates: string[]): Promise<void> {
    for (const template of templates) {
      const dir = this.volumePath(set, ordinal, template);
      if (!fs.existsSync(dir)) continue;
      await fs.promises.rm(dir, { recursive: true, force: true });
      this.log.info({ set, ordinal, volume: template, dir }, 'volume deleted');
    }
  }

  /** `<dataDir>/pods/<set>-<ordinal>`: the current incarnation's pod files, in a directory named by its number. */
  private podPath(set: string, ordinal: number): string {
    return this.confined(path.join(this.podsDir, `${set}-${ordinal}`));
  }

  /** One log file per identity, appended to by every incarnation. */
  private logPath(set: string, ordinal: number): string {
    return this.confined(path.join(this.logsDir, `${set}-${ordinal}.log`));
  }

  /** Every file the driver writes must stay inside the data dir (set names are checked too; belt and braces). */
  private confined(file: string): string {
    const relative = path.relative(this.dataDir, file);
    if (relative.startsWith('..') || path.isAbsolute(relative)) {
      throw new DriverError(`refusing to write '${file}' outside the data directory ${this.dataDir}`, false);
    }
    return file;
  }
}

/** The template's process block; a template for another driver is a mistake no retry fixes. */
function processSpec(request: CreateRequest): NonNullable<Template['process']> {
  const spec = request.template.process;
  if (!spec) throw new DriverError(`${request.identity.name}: the template has no process block: the process driver cannot run it`, false);
  return spec;
}

function checkIdentity(set: string, ordinal: number): void {
  if (typeof set !== 'string' || !isDns1123Label(set)) {
    throw new DriverError(`invalid set name '${set}': must be a DNS-1123 label`, false);
  }
  if (!Number.isSafeInteger(ordinal) || ordinal < 0) {
    throw new DriverError(`invalid ordinal ${ordinal}: must be a non-negative integer`, false);
  }
}

function childKey(h: { set: string; ordinal: number; incarnation: number }): string {
  return `${h.set}/${h.ordinal}/${h.incarnation}`;
}

function foundHandle(found: Found, logPath: string): InstanceHandle {
  const { set, ordinal, incarnation, revision, address, pid } = found;
  return { set, ordinal, incarnation, revision, address, pid, startedAt: startedAtOf(found.startTime), logPath };
}

function toHandle(row: Row): InstanceHandle {
  return {
    set: row.set_name,
    ordinal: row.ordinal,
    incarnation: row.incarnation,
    revision: row.revision,
    address: row.address,
    pid: row.pid ?? 0,
    startedAt: row.started_at,
    logPath: row.log_path,
  };
}

function spawnError(name: string, program: string, cwd: string, err: NodeJS.ErrnoException | undefined): DriverError {
  switch (err?.code) {
    case 'ENOENT':
      return new DriverError(`${name}: command '${program}' not found${program.includes('/') ? ` (from ${cwd})` : ' on PATH'}`, false);
    case 'EACCES':
      return new DriverError(`${name}: command '${program}' is not executable (permission denied)`, false);
    case 'ENOTDIR':
    case 'ELOOP':
    case 'ENAMETOOLONG':
      return new DriverError(`${name}: command '${program}' cannot be run: ${err.message}`, false);
    default:
      return new DriverError(`${name}: could not start '${program}': ${err?.message ?? 'unknown error'}`, true);
  }
}



/**
 * Volume ownership for the template's user, as Kubernetes applies it: a new volume belongs to runAsUser;
 * with fsGroup, everything in it gets that group, group read-write, and setgid directories.
 */
function ownVolume(dir: string, user: PodUser, created: boolean): void {
  if (created) fs.chownSync(dir, user.uid, user.gid);
  const group = user.groups[0];
  if (group === undefined) return;
  const walk = (file: string) => {
    const stat = fs.lstatSync(file);
    if (stat.isSymbolicLink()) return;
    fs.chownSync(file, stat.uid, group);
    fs.chmodSync(file, (stat.mode & 0o7777) | 0o060 | (stat.isDirectory() ? 0o2010 : 0));
    if (stat.isDirectory()) for (const name of fs.readdirSync(file)) walk(path.join(file, name));
  };
  walk(dir);
}

/** The program's path as exec would find it (PATH, or relative to the working directory), or why not. */
function findProgram(program: string, cwd: string, pathVariable: string | undefined): string | NodeJS.ErrnoException {
  const candidates = program.includes('/')
    ? [path.resolve(cwd, program)]
    : (pathVariable ?? '/usr/local/bin:/usr/bin:/bin').split(':').filter(Boolean).map((dir) => path.join(path.resolve(cwd, dir), program));
  let denied = false;
  for (const file of candidates) {
    try {
      if (!fs.statSync(file).isFile()) continue;
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EACCES') denied = true;
    }
  }
  return Object.assign(new Error(`${program}: not found`), { code: denied ? 'EACCES' : 'ENOENT' });
}

/** What users should know about an exit the exit code alone does not say: a failed pod setup, a port held by another process. */
function exitExplanation(code: number | null, isolation: 'pod' | 'none', logPath: string, ports: number[], address: string): string | undefined {
  if (code === POD_SETUP_FAILED && isolation === 'pod') {
    const line = lastLines(logPath).reverse().find((l) => l.startsWith('ordinal: pod setup failed:'));
    if (line) return line.replace(/^ordinal: /, '');
  }
  if (code === null || code === 0) return undefined;
  return portConflicts(ports, address)[0];
}

function lastLines(file: string): string[] {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const length = Math.min(size, 4096);
      const buffer = Buffer.alloc(length);
      fs.readSync(fd, buffer, 0, length, size - length);
      return buffer.toString('utf8').split('\n');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return [];
  }
}

function isCorrupt(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

function isDirectory(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

let bootTimeMs: number | undefined;
/** Epoch ms of a process start, from its /proc start time (ticks since boot; USER_HZ is 100 on Linux). */
function startedAtOf(startTime: string): number {
  if (bootTimeMs === undefined) {
    const btime = /^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'));
    bootTimeMs = btime ? Number(btime[1]) * 1000 : 0;
  }
  return bootTimeMs + Number(startTime) * 10;
}

/** Polls `condition` until it holds (true) or `timeoutMs` passes (false). */
async function waitUntil(condition: () => boolean, timeoutMs: number, intervalMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (condition()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(1, deadline - Date.now()))));
  }
}

function abortError(signal: AbortSignal): Error {
  const error = new Error('watch aborted', { cause: signal.reason });
  error.name = 'AbortError';
  return error;
}
