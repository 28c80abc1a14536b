// Who holds a port, from Linux's /proc: the sockets of /proc/net/tcp, tcp6, udp and udp6 (local address,
// port, state, owner uid, inode), and the processes whose /proc/<pid>/fd links name that inode. Linux
// only; another user's processes stay unnamed unless we are root (their fd links are not ours to read),
// but the socket's owner uid is always visible. Used by the CLI's port check before start and by the
// process driver to name who holds an instance's port.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';

export type Protocol = 'tcp' | 'udp';

export interface ProcSocket {
  protocol: Protocol;
  /** Decoded local address: '127.0.0.1', '0.0.0.0', '::', '::1', '::ffff:127.0.0.1', ... */
  address: string;
  port: number;
  /** The kernel's hex state: '0A' is LISTEN for TCP; '07' is an unconnected (bound) UDP socket. */
  state: string;
  uid: number;
  inode: string;
}

export const TCP_LISTEN = '0A';

/**
 * The sockets of one /proc/net/{tcp,tcp6,udp,udp6} text (the header line and malformed lines are skipped).
 * `littleEndian`: the host's byte order, which the kernel writes addresses in.
 */
export function parseProcNet(text: string, protocol: Protocol, littleEndian = os.endianness() === 'LE'): ProcSocket[] {
  const sockets: ProcSocket[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10 || !/^\d+:$/.test(fields[0])) continue;
    const local = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/.exec(fields[1]);
    if (!local || !/^[0-9A-Fa-f]{2}$/.test(fields[3]) || !/^\d+$/.test(fields[7]) || !/^\d+$/.test(fields[9])) continue;
    sockets.push({
      protocol,
      address: decodeProcAddress(local[1], littleEndian),
      port: parseInt(local[2], 16),
      state: fields[3].toUpperCase(),
      uid: Number(fields[7]),
      inode: fields[9],
    });
  }
  return sockets;
}

/**
 * The kernel's hex notation of a local address: IPv4 as one 32-bit word, IPv6 as four, each in host byte
 * order. IPv6 comes back compressed ('::1'); IPv4-mapped addresses as '::ffff:a.b.c.d'.
 */
export function decodeProcAddress(hex: string, littleEndian = os.endianness() === 'LE'): string {
  const bytes: number[] = [];
  for (let i = 0; i < hex.length; i += 8) {
    const word = parseInt(hex.slice(i, i + 8), 16);
    const big = [(word >>> 24) & 255, (word >>> 16) & 255, (word >>> 8) & 255, word & 255];
    bytes.push(...(littleEndian ? big.reverse() : big));
  }
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255) return `::ffff:${bytes.slice(12).join('.')}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes[i] * 256 + bytes[i + 1]);
  // Compress the longest run of two or more zero groups (RFC 5952).
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length && j - i >= 2) best = { start: i, length: j - i };
    i = j;
  }
  const text = (g: number[]) => g.map((n) => n.toString(16)).join(':');
  if (best.start < 0) return text(groups);
  return `${text(groups.slice(0, best.start))}::${text(groups.slice(best.start + best.length))}`;
}

/**
 * True when a socket bound to `theirs` keeps us from binding `ours` on the same port and protocol: the
 * same address, or either one a wildcard (0.0.0.0 takes every IPv4 address, :: every address unless it
 * is IPv6-only, which /proc does not tell). A host name (not an address) may resolve to anything: true.
 */
export function addressesOverlap(ours: string, theirs: string): boolean {
  const a = unmapped(ours);
  const b = unmapped(theirs);
  if (net.isIP(a) === 0 || net.isIP(b) === 0) return true;
  if (a === '::' || b === '::') return true;
  if (a === '0.0.0.0') return net.isIPv4(b);
  if (b === '0.0.0.0') return net.isIPv4(a);
  return a === b;
}

/** An address in one spelling: IPv4-mapped IPv6 as IPv4, other IPv6 compressed; anything else as is. */
function unmapped(address: string): string {
  let lower = address.toLowerCase();
  if (net.isIPv6(lower)) lower = decodeProcAddress(ipv6Hex(lower), false);
  return lower.startsWith('::ffff:') && net.isIPv4(lower.slice(7)) ? lower.slice(7) : lower;
}

/** An IPv6 address as 32 hex digits in network order (for normalising through decodeProcAddress). */
function ipv6Hex(address: string): string {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const parts = (s: string | undefined) => (s ? s.split(':') : []);
  let left = parts(head);
  let right = parts(tail);
  // An embedded IPv4 tail (::1.2.3.4) is two groups.
  const v4 = (groups: string[]) => {
    const last = groups[groups.length - 1];
    if (last === undefined || !net.isIPv4(last)) return groups;
    const o = last.split('.').map(Number);
    return [...groups.slice(0, -1), ((o[0] << 8) | o[1]).toString(16), ((o[2] << 8) | o[3]).toString(16)];
  };
  if (tail === undefined) left = v4(left);
  else right = v4(right);
  const fill = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((g) => g.padStart(4, '0')).join('');
}

/** Every socket of `protocol` in this network namespace's /proc/net tables (none where there is no /proc). */
export function readProcSockets(protocol: Protocol): ProcSocket[] {
  const sockets: ProcSocket[] = [];
  for (const file of [`/proc/net/${protocol}`, `/proc/net/${protocol}6`]) {
    try {
      sockets.push(...parseProcNet(fs.readFileSync(file, 'utf8'), protocol));
    } catch {
      // no such table (IPv6 off, or not Linux)
    }
  }
  return sockets;
}

/**
 * The sockets that keep `host:port` from being bound over `protocol`: for TCP the listeners (any bound
 * socket when no listener matches: a connection's local port also counts), for UDP every bound socket.
 */
export function socketsInTheWay(sockets: readonly ProcSocket[], host: string, port: number, protocol: Protocol): ProcSocket[] {
  const matching = sockets.filter((s) => s.protocol === protocol && s.port === port && s.inode !== '0' && addressesOverlap(host, s.address));
  if (protocol === 'udp') return matching;
  const listeners = matching.filter((s) => s.state === TCP_LISTEN);
  return listeners.length > 0 ? listeners : matching;
}

export interface ProcessInfo {
  pid: number;
  /** The command line (arguments joined by spaces, shortened), else the command name. */
  command: string;
}

/** The processes holding each of `inodes`, by inode, from one pass over /proc/<pid>/fd. */
export function processesHolding(inodes: ReadonlySet<string>): Map<string, ProcessInfo[]> {
  const found = new Map<string, ProcessInfo[]>();
  if (inodes.size === 0) return found;
  let pids: string[];
  try {
    pids = fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return found;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue; // gone, or another user's
    }
    const seen = new Set<string>();
    for (const fd of fds) {
      let link: string;
      try {
        link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode === undefined || !inodes.has(inode) || seen.has(inode)) continue;
      seen.add(inode);
      const list = found.get(inode) ?? [];
      list.push({ pid: Number(pid), command: processCommand(Number(pid)) });
      found.set(inode, list);
    }
  }
  return found;
}

const COMMAND_CHARS = 100;

/** `/proc/<pid>/cmdline` as one line (shortened), else `/proc/<pid>/comm`, else '?'. */
export function processCommand(pid: number): string {
  try {
    const line = formatCmdline(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
    if (line !== '') return line;
  } catch {
    // gone meanwhile
  }
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() || '?';
  } catch {
    return '?';
  }
}

/** A NUL-separated command line as one line of at most 100 characters. */
export function formatCmdline(raw: string): string {
  const line = raw
    .split('\0')
    .filter((arg) => arg !== '')
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  return line.length > COMMAND_CHARS ? `${line.slice(0, COMMAND_CHARS - 3)}...` : line;
}

/** A user name for `uid` from /etc/passwd, else undefined. */
export function userName(uid: number, passwd: () => string = () => fs.readFileSync('/etc/passwd', 'utf8')): string | undefined {
  let text: string;
  try {
    text = passwd();
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const [name, , id] = line.split(':');
    if (name && id !== undefined && Number(id) === uid && /^\d+$/.test(id)) return name;
  }
  return undefined;
}

/** Who holds a port: the processes we can see, and the owner uids of sockets whose process we cannot. */
export interface PortHolders {
  processes: ProcessInfo[];
  /** Owners of sockets in the way whose process is not visible (another user's, or gone meanwhile). */
  hiddenUids: number[];
}

/** Who keeps `host:port` from being bound over each of `protocols`, as far as this system can tell. */
export function findPortHolders(host: string, port: number, protocols: readonly Protocol[]): PortHolders {
  const sockets = protocols.flatMap((protocol) => socketsInTheWay(readProcSockets(protocol), host, port, protocol));
  const byInode = processesHolding(new Set(sockets.map((s) => s.inode)));
  const processes = new Map<number, ProcessInfo>();
  const hiddenUids = new Set<number>();
  for (const socket of sockets) {
    const holders = byInode.get(socket.inode);
    if (!holders) hiddenUids.add(socket.uid);
    for (const holder of holders ?? []) processes.set(holder.pid, holder);
  }
  return { processes: [...processes.values()].sort((a, b) => a.pid - b.pid), hiddenUids: [...hiddenUids].sort((a, b) => a - b) };
}
