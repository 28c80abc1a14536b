// Instances share the host's network, so a program that binds 0.0.0.0 (or ::) takes its port from every
// other instance. When an instance exits and one of its ports is held that way by another process, the
// driver names the holder and the fix instead of leaving an unexplained crash loop.
import fs from 'node:fs';

interface Listener {
  address: string;
  port: number;
  inode: string;
}

/** LISTEN sockets from /proc/net/tcp and tcp6 (state 0A). */
export function listeningSockets(): Listener[] {
  const listeners: Listener[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== '0A') continue;
      const [hexAddress, hexPort] = fields[1]!.split(':');
      listeners.push({ address: decodeAddress(hexAddress!), port: parseInt(hexPort!, 16), inode: fields[9]! });
    }
  }
  return listeners;
}

/** The kernel's hex notation: IPv4 as one little-endian word; we only need to know the wildcards apart. */
function decodeAddress(hex: string): string {
  if (/^0+$/.test(hex)) return hex.length === 8 ? '0.0.0.0' : '::';
  if (hex.length === 8) {
    const n = parseInt(hex, 16);
    return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
  }
  return hex;
}

/** The pids and names of the processes holding a socket inode. */
function holdersOf(inode: string): string[] {
  const holders: string[] = [];
  const wanted = `socket:[${inode}]`;
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(pid)) continue;
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (fs.readlinkSync(`/proc/${pid}/fd/${fd}`) !== wanted) continue;
      } catch {
        continue;
      }
      let name = '?';
      try {
        name = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      } catch {
        // gone meanwhile
      }
      holders.push(`pid ${pid} (${name})`);
      break;
    }
  }
  return holders;
}

/**
 * For each of `ports` that another process holds on a wildcard address (so this instance's address
 * cannot have it), a sentence naming the port, the holder and the fix.
 */
export function portConflicts(ports: number[], address: string): string[] {
  if (ports.length === 0) return [];
  const conflicts: string[] = [];
  for (const listener of listeningSockets()) {
    if (!ports.includes(listener.port) || (listener.address !== '0.0.0.0' && listener.address !== '::')) continue;
    const holders = holdersOf(listener.inode);
    conflicts.push(
      `port ${listener.port} is held on ${listener.address} by ${holders.length ? holders.join(', ') : 'another process'}: ` +
        `instances share the host's network, so every program must bind its own address (${address}, ` +
        'the $(ORDINAL_ADDRESS) variable in command or env), never 0.0.0.0',
    );
  }
  return conflicts;
}
