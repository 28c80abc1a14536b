// Loopback address pool arithmetic for the process driver. Pure (no I/O), so it is unit-tested on its own.
// Every new instance incarnation gets its own address from a CIDR block inside 127.0.0.0/8 (Linux
// routes all of 127.0.0.0/8 to the loopback interface, so any of them can be bound without setup).

export interface AddressPool {
  /** The pool as written, e.g. "127.77.0.0/16". */
  cidr: string;
  /** The network address as an unsigned 32-bit integer. */
  network: number;
  /** Number of addresses in the block, usable or not (2^(32-prefix)). */
  size: number;
}

const LOOPBACK_NET = 0x7f000000; // 127.0.0.0/8
/** Ordinal's own services (API, DNS, Temporal) bind 127.0.0.1, so instances never get it. */
const RESERVED = 0x7f000001;

/** Parses a dotted IPv4 address into an unsigned integer, or undefined when it is not one. */
export function ipToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    n = n * 256 + octet;
  }
  return n;
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** Parses and checks a pool such as "127.77.0.0/16"; throws an Error that says what is wrong. */
export function parsePool(cidr: string): AddressPool {
  const match = /^([0-9.]+)\/([0-9]{1,2})$/.exec(cidr.trim());
  const network = match ? ipToInt(match[1]) : undefined;
  const prefix = match ? Number(match[2]) : NaN;
  if (network === undefined || !(prefix >= 0 && prefix <= 32)) {
    throw new Error(`address pool '${cidr}' is not an IPv4 CIDR block such as 127.77.0.0/16`);
  }
  if (prefix < 8 || (network & 0xff000000) >>> 0 !== LOOPBACK_NET) {
    throw new Error(`address pool '${cidr}' must lie inside the loopback block 127.0.0.0/8`);
  }
  const size = 2 ** (32 - prefix);
  if (network % size !== 0) {
    const base = network - (network % size);
    throw new Error(`address pool '${cidr}' has host bits set; did you mean ${intToIp(base)}/${prefix}?`);
  }
  const pool = { cidr, network, size };
  if (countUsable(pool) === 0) {
    throw new Error(`address pool '${cidr}' has no usable address (.0, .255 and 127.0.0.1 are skipped)`);
  }
  return pool;
}

/**
 * Whether an address may be handed to an instance: not a .0 or .255 host part (they look like network
 * and broadcast addresses to people and some tools) and not 127.0.0.1.
 */
export function isUsable(address: number): boolean {
  const last = address & 255;
  return last !== 0 && last !== 255 && address !== RESERVED;
}

/**
 * The pool's second-to-last address (127.77.255.254 for 127.77.0.0/16) is kept for the DNS server's
 * pod listener, which pods' resolv.conf names: never handed to an instance (pools of 4 and more).
 */
export function podDnsSlot(pool: AddressPool): number | undefined {
  return pool.size >= 4 ? pool.network + pool.size - 2 : undefined;
}

/** The address at `offset` inside the pool (offsets wrap around the pool). */
export function addressAt(pool: AddressPool, offset: number): string {
  return intToIp(pool.network + (((offset % pool.size) + pool.size) % pool.size));
}

/** True when `address` is a dotted IPv4 address inside the pool. */
export function contains(pool: AddressPool, address: string): boolean {
  const n = ipToInt(address);
  return n !== undefined && n >= pool.network && n < pool.network + pool.size;
}

/** The offset of an address inside the pool, or undefined when it is outside. */
export function offsetOf(pool: AddressPool, address: string): number | undefined {
  const n = ipToInt(address);
  return n !== undefined && contains(pool, address) ? n - pool.network : undefined;
}

/**
 * Picks the first usable address at or after `cursor` that is not in `inUse`, wrapping around the pool.
 * Returns it with the cursor to store for the next allocation (just past it), so successive allocations
 * walk the pool and a recreated instance never gets its predecessor's address back straight away.
 * Throws when every usable address is in use.
 */
export function allocate(
  pool: AddressPool,
  cursor: number,
  inUse: ReadonlySet<string>,
): { address: string; cursor: number } {
  const start = ((Math.trunc(cursor) % pool.size) + pool.size) % pool.size;
  for (let i = 0; i < pool.size; i++) {
    const offset = (start + i) % pool.size;
    const n = pool.network + offset;
    if (!isUsable(n) || n === podDnsSlot(pool)) continue;
    const address = intToIp(n);
    if (inUse.has(address)) continue;
    return { address, cursor: (offset + 1) % pool.size };
  }
  throw new Error(`address pool ${pool.cidr} is exhausted: all ${countUsable(pool)} usable addresses are in use`);
}

/** How many addresses of the pool can be handed out at all. */
export function countUsable(pool: AddressPool): number {
  const slot = podDnsSlot(pool);
  const podDns = slot !== undefined && isUsable(slot) ? 1 : 0;
  if (pool.size >= 256) {
    // Whole /24s: 254 usable each, minus 127.0.0.1 when the pool holds it, minus the pod DNS address.
    const holdsReserved = RESERVED >= pool.network && RESERVED < pool.network + pool.size;
    return (pool.size / 256) * 254 - (holdsReserved ? 1 : 0) - podDns;
  }
  let count = 0;
  for (let i = 0; i < pool.size; i++) if (isUsable(pool.network + i)) count++;
  return count - podDns;
}
