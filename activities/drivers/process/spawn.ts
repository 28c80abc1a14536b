// Starting one incarnation: its intent recorded first, its environment (the ORDINAL_* variables, the
// template's env, the marker), its volumes, its pod (pod.ts: namespaces, files, user) or a plain process,
// spawned from the template's argv (never a shell) by the fork server, leading its own process group so
// it outlives the worker, its output appended to the identity's log, and its pid recorded once it runs.
import fs from 'node:fs';
import path from 'node:path';
import { expandCommand, expandEnv } from '../../../core/expand.js';
import { isolationOf, volumeEnvName, type Template } from '../../../core/manifest.js';
import type { Logger } from '../../../infra/logger.js';
import { DriverError, type CreateRequest, type InstanceHandle, type InstanceIdentity } from '../driver.js';
import { portConflicts } from '../port-holders.js';
import {
  hostSearch,
  inPodSetup,
  podLaunch,
  podPrivileges,
  podUser,
  POD_SETUP_FAILED,
  userSwitch,
  workerPrivileges,
  writePodFiles,
  type PodPrivileges,
} from '../pod.js';
import { MARKER } from '../proc.js';
import type { Discovery } from './discovery.js';
import { ForkServerSpawnError, type ForkServer, type ForkedProcess } from './fork-server.js';
import type { DataDirLayout } from './layout.js';
import type { InstanceState, Row } from './state.js';
import { podMounts, prepareVolumeDir } from './volumes.js';
import { waitUntil } from './wait-until.js';
import type { Child, ExitWatcher } from './watch.js';

/** How long create waits for a pod's setup to exec the program (it takes milliseconds). */
const POD_SETUP_TIMEOUT_MS = 10_000;

/**
 * The ORDINAL_* variables every instance gets: who it is, its own address, its DNS names, the DNS
 * server that resolves its peers, and its incarnation. Exec probes get them too.
 */
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

/** The template's process block; a template for another driver is a mistake no retry fixes. */
export function processSpec(request: CreateRequest): NonNullable<Template['process']> {
  const spec = request.template.process;
  if (!spec) throw new DriverError(`${request.identity.name}: the template has no process block: the process driver cannot run it`, false);
  return spec;
}

export interface SpawnerOptions {
  layout: DataDirLayout;
  state: InstanceState;
  discovery: Discovery;
  watcher: ExitWatcher;
  /** Spawns the processes, so that a fork does not cost in proportion to the worker's memory. */
  forkServer: ForkServer;
  /** Where pods' resolv.conf sends queries (port 53). */
  podDnsAddress: string;
  log: Logger;
}

export class Spawner {
  /** Whether this worker can make pods, found out on the first pod it starts. */
  private pods: { privileges: PodPrivileges; problem?: string } | undefined;

  constructor(private readonly options: SpawnerOptions) {}

  /** Whether instances can run as pods here; the problem and its fix when not. Tries once, then remembers. */
  podSupport(): { privileges: PodPrivileges; problem?: string } {
    this.pods ??= podPrivileges();
    return this.pods;
  }

  /**
   * Starts the request's incarnation, nothing else of its identity running. `intent` is the identity's
   * row when it is this incarnation's intent (an earlier attempt died before spawning): its address is kept.
   */
  async spawn(request: CreateRequest, intent: Row | undefined): Promise<InstanceHandle> {
    const { layout, state, discovery, watcher, forkServer, log } = this.options;
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
    const logPath = layout.logPath(set, ordinal);
    const graceMs = template.terminationGracePeriodSeconds * 1000;
    const startedAt = Date.now();

    // The intent row goes in before the spawn, so a crash in between leaves a record (and the marker
    // lets a retry find the process).
    const address = state.recordIntent(
      { set_name: set, ordinal, incarnation, revision, started_at: startedAt, log_path: logPath, grace_ms: graceMs },
      intent?.address,
    );

    // The instance's variables, then the template's env expanded against them (and earlier entries),
    // as Kubernetes does; the command sees all of them.
    const instanceVars: Record<string, string> = ordinalEnv(identity, incarnation, address);
    for (const volume of request.volumes ?? []) {
      const dir = layout.volumePath(set, ordinal, volume);
      prepareVolumeDir(dir, user, privileges);
      instanceVars[volumeEnvName(volume)] = dir;
    }
    const templateEnv = expandEnv(spec.env, instanceVars);
    const command = expandCommand(spec.command, { ...instanceVars, ...templateEnv });
    const marker = discovery.marker(set, ordinal, incarnation, revision);
    const env: Record<string, string> = {};
    // The worker's own ORDINAL_* settings are not the instance's business (and must not fake a marker).
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('ORDINAL_')) env[k] = v;
    Object.assign(env, templateEnv, instanceVars, { [MARKER]: marker });
    const failed = (error: DriverError): DriverError => {
      state.removeIntent(set, ordinal);
      fs.mkdirSync(layout.logsDir, { recursive: true });
      fs.appendFileSync(logPath, `--- failed to start: ${error.message}\n`);
      return error;
    };
    // Checked here: inside a pod, exec's own failure would only be an exit code of the setup script.
    const program = findProgram(command[0]!, cwd, env.PATH);
    if (typeof program !== 'string') throw failed(spawnError(identity.name, command[0]!, cwd, program));

    let argv: string[];
    if (isolation === 'pod') {
      const dir = layout.podDir(set, ordinal, incarnation);
      // Earlier incarnations are stopped by now: their pod files go.
      fs.rmSync(layout.podPath(set, ordinal), { recursive: true, force: true });
      const mounts = podMounts(request, layout, user, privileges);
      // pod.json keeps the environment for exec probes and `ordinal exec`: without the marker, as probes are no instance.
      const { [MARKER]: _marker, ...entryEnv } = env;
      const pod = { identity, address, dir, marker, nameserver: this.options.podDnsAddress, hostSearch: hostSearch(), mounts, user, cwd, env: entryEnv };
      writePodFiles(pod, privileges);
      argv = podLaunch(pod, command, privileges);
    } else {
      argv = [...(user !== undefined && privileges.mode === 'root' ? userSwitch(user, privileges) : []), ...command];
    }

    fs.mkdirSync(layout.logsDir, { recursive: true });
    fs.appendFileSync(
      logPath,
      `--- ${new Date(startedAt).toISOString()} ${identity.name} incarnation ${incarnation} revision ${revision} ` +
        `address ${address}${isolation === 'pod' ? ' (pod)' : ''}: ${JSON.stringify(command)}\n`,
    );
    let forked: ForkedProcess;
    try {
      forked = await forkServer.spawn({ file: argv[0]!, args: argv.slice(1), cwd, env, logPath });
    } catch (err) {
      // Only the system's refusal is final; the fork server going away is worth a retry.
      if (err instanceof ForkServerSpawnError) throw failed(spawnError(identity.name, argv[0]!, cwd, err));
      throw new DriverError(`${identity.name}: ${(err as Error).message}`, true);
    }
    const entry: Child = { pid: forked.pid, onExit: new Set() };
    const ports = template.ports.filter((p) => p.protocol === 'TCP').map((p) => p.port);
    forked.onExit((exit) => {
      // Undefined: the fork server died first, so how it ended is unknown; the watch reads /proc instead.
      if (exit === undefined) return;
      entry.exit = exit.code !== null ? { exitCode: exit.code } : { signal: exit.signal ?? undefined };
      const message = exitExplanation(exit.code, isolation, logPath, ports, address);
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
    watcher.track({ set, ordinal, incarnation }, entry);
    state.recordPid(set, ordinal, incarnation, forked.pid, forked.startTime);
    // A pod is started once its setup has exec'd the program: until then its setup's own short-lived
    // helpers (hostname, mount) run beside it with its marker.
    if (isolation === 'pod') await waitUntil(() => entry.exit !== undefined || !inPodSetup(forked.pid), POD_SETUP_TIMEOUT_MS, 5);
    log.info({ set, ordinal, incarnation, pid: forked.pid, address, command, isolation }, 'instance started');
    return { set, ordinal, incarnation, revision, address, pid: forked.pid, startedAt, logPath };
  }
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

function isDirectory(dir: string): boolean {
  try {
    return fs.statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
