// Before `ordinal up`, `api` or `dns` starts anything, every port it will listen on is bound briefly
// (TCP listen, UDP bind, then closed). Every conflict is collected, with who holds the port where the
// system can tell and the variable that moves it, and reported as one block: exit 1, no stack trace,
// nothing started. The components' own bind error handling stays as the safety net for a port taken
// between this check and their start. `ordinal worker` binds nothing but needs Temporal: a server it
// cannot reach is reported the same way (temporalUnreachableError).
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import { workerMetricsListener, type OrdinalConfig } from '../infra/config.js';
import { addressesOverlap, findPortHolders, userName, type PortHolders, type ProcessInfo, type Protocol } from '../activities/drivers/proc-sockets.js';

export type { Protocol } from '../activities/drivers/proc-sockets.js';

/** Where `ordinal up` runs its Temporal dev server (gRPC and UI). */
export const DEV_SERVER_HOST = '127.0.0.1';

/** One listener a command needs. */
export interface PortNeed {
  /** The component that listens there. */
  component: 'api' | 'dns' | 'temporal' | 'worker';
  /** What listens there, for people: 'API', 'DNS host listener', ... */
  what: string;
  host: string;
  /** 0: the system picks a free port, so there is nothing to check. */
  port: number;
  protocols: Protocol[];
  /** The variable that moves it. */
  variable: string;
  /** What to do when the port is in use, when it needs privileges, when the address is not this host's. */
  fixes: { inUse: string; privileged: string; notLocal: string };
}

export type ServerCommand = 'up' | 'api' | 'dns';

const SETCAP = 'sudo setcap cap_net_bind_service=+ep $(readlink -f $(which node))';
const POD_OFF = "or set ORDINAL_DNS_POD=disabled (sets then need 'isolation: none' in their process template)";

/** How to bind a port below the unprivileged range (ip_unprivileged_port_start). */
function privilegedFix(port: number): string {
  return `run as root, or let node bind it: ${SETCAP}, or sudo sysctl net.ipv4.ip_unprivileged_port_start=${port}`;
}

/**
 * The listeners `command` opens with `config`: `up` all of them (the Temporal dev server's gRPC and UI
 * ports unless TEMPORAL_ADDRESS names a server to use), `api` the API, `dns` both DNS listeners (the pod
 * listener unless ORDINAL_DNS_POD=disabled). Ports of 0 are left out (any free port will do).
 */
export function portNeeds(config: OrdinalConfig, command: ServerCommand, env: NodeJS.ProcessEnv = process.env): PortNeed[] {
  const needs: PortNeed[] = [];
  if (command === 'up' || command === 'api') {
    const flag = command === 'api' ? ' (--port)' : '';
    needs.push({
      component: 'api',
      what: 'API',
      host: config.api.host,
      port: config.api.port,
      protocols: ['tcp'],
      variable: 'ORDINAL_API_PORT',
      fixes: {
        inUse: `stop it, or set ORDINAL_API_PORT${flag} to a free port`,
        privileged: `${privilegedFix(config.api.port)}; or set ORDINAL_API_PORT${flag} to a higher port`,
        notLocal: `set ORDINAL_API_HOST${command === 'api' ? ' (--host)' : ''} to an address of this host`,
      },
    });
  }
  if (command === 'up' || command === 'dns') {
    const { dns } = config;
    needs.push({
      component: 'dns',
      what: 'DNS host listener',
      host: dns.host,
      port: dns.port,
      protocols: ['udp', 'tcp'],
      variable: 'ORDINAL_DNS_PORT',
      fixes: {
        inUse: 'stop it, or set ORDINAL_DNS_PORT to a free port',
        privileged: `${privilegedFix(dns.port)}; or set ORDINAL_DNS_PORT to a higher port`,
        notLocal: 'set ORDINAL_DNS_HOST to an address of this host',
      },
    });
    if (dns.podEnabled) {
      needs.push({
        component: 'dns',
        what: 'DNS pod listener',
        host: dns.podAddress,
        port: dns.podPort,
        protocols: ['udp', 'tcp'],
        variable: 'ORDINAL_DNS_POD_PORT',
        fixes: {
          inUse:
            'stop it (another Ordinal installation on the same address pool, or a local resolver), or set ORDINAL_DNS_POD_ADDRESS ' +
            `(or ORDINAL_ADDRESS_POOL) to a free address; ${POD_OFF}`,
          privileged: `${privilegedFix(dns.podPort)}; ${POD_OFF}`,
          notLocal: `set ORDINAL_DNS_POD_ADDRESS (or ORDINAL_ADDRESS_POOL) to an address of this host; ${POD_OFF}`,
        },
      });
    }
  }
  const metrics = command === 'up' ? workerMetricsListener(config, true) : undefined;
  if (metrics) {
    needs.push({
      component: 'worker',
      what: 'worker metrics',
      host: metrics.host,
      port: metrics.port,
      protocols: ['tcp'],
      variable: 'ORDINAL_WORKER_METRICS',
      fixes: {
        inUse: "stop it, or set ORDINAL_WORKER_METRICS to another host:port (or 'disabled')",
        privileged: `${privilegedFix(metrics.port)}; or set ORDINAL_WORKER_METRICS to a higher port`,
        notLocal: 'set ORDINAL_WORKER_METRICS to an address of this host',
      },
    });
  }
  if (command === 'up' && !env.TEMPORAL_ADDRESS) {
    const useExisting = 'or set TEMPORAL_ADDRESS to use a Temporal server that already runs';
    for (const [what, port, variable] of [
      ['Temporal dev server', config.devServer.port, 'ORDINAL_TEMPORAL_PORT'],
      ['Temporal UI', config.devServer.uiPort, 'ORDINAL_TEMPORAL_UI_PORT'],
    ] as const) {
      needs.push({
        component: 'temporal',
        what,
        host: DEV_SERVER_HOST,
        port,
        protocols: ['tcp'],
        variable,
        fixes: {
          inUse: `stop it, or set ${variable} to a free port; ${useExisting}`,
          privileged: `${privilegedFix(port)}; or set ${variable} to a higher port`,
          notLocal: useExisting,
        },
      });
    }
  }
  return needs.filter((need) => need.port !== 0);
}

export type ConflictKind = 'in-use' | 'privileged' | 'not-local' | 'clash' | 'other';

export interface PortConflict {
  need: PortNeed;
  kind: ConflictKind;
  /** The protocols the problem is about. */
  protocols: Protocol[];
  /** in-use: who holds it, as far as the system can tell; hidden holders by owner (uid and name). */
  holders?: { processes: ProcessInfo[]; hiddenUsers: Array<{ uid: number; name?: string }> };
  /** privileged: the first port unprivileged users may bind (net.ipv4.ip_unprivileged_port_start). */
  unprivilegedPortStart?: number;
  /** clash: the other listener configured on the same port. */
  other?: PortNeed;
  /** other: the error. */
  detail?: string;
}

/** The kind of problem a bind error code is. */
export function conflictKind(code: string | undefined): ConflictKind {
  if (code === 'EADDRINUSE') return 'in-use';
  if (code === 'EACCES' || code === 'EPERM') return 'privileged';
  if (code === 'EADDRNOTAVAIL') return 'not-local';
  return 'other';
}

const upper = (protocols: readonly Protocol[]) => protocols.map((p) => p.toUpperCase()).join(' and ');
const hostPort = (host: string, port: number) => (net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`);

/** Who holds a port, in words: pids and command lines, else the owner, else that the system cannot tell. */
export function describeHolders(holders: PortConflict['holders']): string {
  const parts = (holders?.processes ?? []).slice(0, 3).map((p) => `pid ${p.pid} (${p.command})${p.pid === process.pid ? ' [this process]' : ''}`);
  const more = (holders?.processes.length ?? 0) - parts.length;
  if (more > 0) parts.push(`${more} more`);
  for (const user of holders?.hiddenUsers ?? []) {
    parts.push(`a process of ${user.name ? `user ${user.name} (uid ${user.uid})` : `uid ${user.uid}`}`);
  }
  return parts.length > 0 ? parts.join(', ') : 'another process (the system cannot tell which)';
}

/** One conflict as one line: the port, what it is for and its variable, the address, the problem, the fix. */
export function formatConflict(conflict: PortConflict): string {
  const { need, kind, protocols } = conflict;
  const head = `port ${need.port} (${need.what}, ${need.variable}) on ${need.host}`;
  // Which protocol, when the listener needs more than one and only some are taken.
  const which = need.protocols.length > 1 ? ` (${upper(protocols)})` : '';
  switch (kind) {
    case 'in-use':
      return `${head} is in use${which} by ${describeHolders(conflict.holders)}; ${need.fixes.inUse}`;
    case 'privileged': {
      const below = conflict.unprivilegedPortStart ?? 1024;
      return `${head} needs privileges (ports below ${below}): this user may not listen on ${hostPort(need.host, need.port)}${which}. Fix: ${need.fixes.privileged}`;
    }
    case 'not-local':
      return `${head} cannot be bound: ${need.host} is not an address of this host; ${need.fixes.notLocal}`;
    case 'clash': {
      const other = conflict.other!;
      return `${head} is also the port of the ${other.what} (${other.variable}) on ${other.host}: set one of them to another port`;
    }
    default:
      return `${head} cannot be bound${which}: ${conflict.detail ?? 'unknown error'}`;
  }
}

/** The block `ordinal` prints (after 'error: '): one line for one conflict, else a count and one line each. */
export function formatConflicts(conflicts: readonly PortConflict[]): string {
  if (conflicts.length === 1) return `cannot start: ${formatConflict(conflicts[0])}`;
  return [`cannot start: ${conflicts.length} ports are not available:`, ...conflicts.map((c) => `  ${formatConflict(c)}`)].join('\n');
}

/** What `ordinal` reports (one block, exit 1, no stack trace) when ports it needs are not available. */
export class PortConflictError extends Error {
  constructor(readonly conflicts: PortConflict[]) {
    super(formatConflicts(conflicts));
    this.name = 'PortConflictError';
  }
}

/**
 * Listeners configured on the same port and protocol with overlapping addresses: each would find the
 * port free alone, and the second to start would fail.
 */
export function clashes(needs: readonly PortNeed[]): PortConflict[] {
  const found: PortConflict[] = [];
  needs.forEach((a, i) => {
    for (const b of needs.slice(i + 1)) {
      const shared = a.protocols.filter((p) => b.protocols.includes(p));
      if (a.port !== 0 && a.port === b.port && shared.length > 0 && addressesOverlap(a.host, b.host)) {
        found.push({ need: b, kind: 'clash', protocols: shared, other: a });
      }
    }
  });
  return found;
}

/** Binds host:port over `protocol` and closes it again: the error, or undefined when it is free. */
export function probePort(host: string, port: number, protocol: Protocol): Promise<NodeJS.ErrnoException | undefined> {
  return new Promise((resolve) => {
    if (protocol === 'tcp') {
      const server = net.createServer();
      server.once('error', (err: NodeJS.ErrnoException) => resolve(err));
      server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
    } else {
      const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
      socket.once('error', (err: NodeJS.ErrnoException) => {
        try {
          socket.close();
        } catch {
          // not bound: nothing to close
        }
        resolve(err);
      });
      socket.bind({ address: host, port, exclusive: true }, () => socket.close(() => resolve(undefined)));
    }
  });
}

export interface PreflightIo {
  probe(host: string, port: number, protocol: Protocol): Promise<NodeJS.ErrnoException | undefined>;
  holders(host: string, port: number, protocols: Protocol[]): PortHolders;
  userName(uid: number): string | undefined;
  unprivilegedPortStart(): number;
}

const systemIo: PreflightIo = {
  probe: probePort,
  holders: findPortHolders,
  userName: (uid) => userName(uid),
  unprivilegedPortStart: () => {
    try {
      const value = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim());
      return Number.isInteger(value) ? value : 1024;
    } catch {
      return 1024;
    }
  },
};

/**
 * Every problem with `needs`, in their order (then same-port clashes): each needed port and protocol is
 * bound briefly, one at a time; a port in use is traced to its holders.
 */
export async function findConflicts(needs: readonly PortNeed[], io: PreflightIo = systemIo): Promise<PortConflict[]> {
  const conflicts: PortConflict[] = [];
  for (const need of needs) {
    if (need.port === 0) continue;
    const failed: Array<{ protocol: Protocol; error: NodeJS.ErrnoException }> = [];
    for (const protocol of need.protocols) {
      const error = await io.probe(need.host, need.port, protocol);
      if (error) failed.push({ protocol, error });
    }
    // One conflict per kind of problem (usually one: a port in use over UDP and TCP is one line).
    const kinds = [...new Set(failed.map((f) => conflictKind(f.error.code)))];
    for (const kind of kinds) {
      const these = failed.filter((f) => conflictKind(f.error.code) === kind);
      conflicts.push(conflictOf(need, kind, these.map((f) => f.protocol), io, these[0].error));
    }
  }
  return [...conflicts, ...clashes(needs)];
}

function conflictOf(need: PortNeed, kind: ConflictKind, protocols: Protocol[], io: PreflightIo, error?: NodeJS.ErrnoException): PortConflict {
  const conflict: PortConflict = { need, kind, protocols };
  if (kind === 'in-use') {
    let found: PortHolders = { processes: [], hiddenUids: [] };
    try {
      found = io.holders(need.host, need.port, protocols);
    } catch {
      // no /proc: the holder stays unnamed
    }
    conflict.holders = { processes: found.processes, hiddenUsers: found.hiddenUids.map((uid) => ({ uid, name: io.userName(uid) })) };
  } else if (kind === 'privileged') {
    conflict.unprivilegedPortStart = io.unprivilegedPortStart();
  } else if (kind === 'other') {
    conflict.detail = error ? `${error.message.split('\n')[0]}` : undefined;
  }
  return conflict;
}

/** Throws a PortConflictError when any of `needs` is not available. */
export async function preflightPorts(needs: readonly PortNeed[], io: PreflightIo = systemIo): Promise<void> {
  const conflicts = await findConflicts(needs, io);
  if (conflicts.length > 0) throw new PortConflictError(conflicts);
}

/**
 * The safety net for a port taken between the check and the start: when a component fails to start,
 * its ports are checked again, and a conflict found is reported instead of the raw error. A bind error
 * of a single-listener component is explained from its code even when the holder has gone meanwhile.
 */
export async function explainStartFailure(err: unknown, needs: readonly PortNeed[], io: PreflightIo = systemIo): Promise<unknown> {
  let conflicts: PortConflict[] = [];
  try {
    conflicts = await findConflicts(needs, io);
  } catch {
    return err;
  }
  if (conflicts.length > 0) return new PortConflictError(conflicts);
  const error = err as NodeJS.ErrnoException | undefined;
  const kind = conflictKind(error?.code);
  if (needs.length === 1 && kind !== 'other') return new PortConflictError([conflictOf(needs[0], kind, needs[0].protocols, io, error)]);
  return err;
}

/**
 * A Temporal server that cannot be reached, as one line with the address and the fix (reported without a
 * stack trace). `command`: who needs it; `up` can also start its own.
 */
export function temporalUnreachableError(address: string, fromEnv: boolean, cause: unknown, command: 'up' | 'worker'): Error {
  const reason = (cause instanceof Error ? cause.message : String(cause)).split('\n')[0].trim();
  const where = fromEnv ? 'TEMPORAL_ADDRESS' : 'TEMPORAL_ADDRESS is not set: the default';
  const fixes = [
    fromEnv ? 'start the Temporal server there' : `start a Temporal server there (e.g. "temporal server start-dev")`,
    'or set TEMPORAL_ADDRESS to one that runs (with TEMPORAL_NAMESPACE, and TEMPORAL_TLS or TEMPORAL_API_KEY if it needs them)',
  ];
  if (command === 'up') fixes.push('or unset TEMPORAL_ADDRESS and `ordinal up` starts its own');
  const error = new Error(`cannot reach Temporal at ${address} (${where}): ${reason}. Fix: ${fixes.join(', ')}`, { cause });
  error.name = 'TemporalUnreachableError';
  return error;
}
