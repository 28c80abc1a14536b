import { describe, expect, it } from 'vitest';
import {
  addressAt,
  allocate,
  contains,
  countUsable,
  intToIp,
  ipToInt,
  isUsable,
  offsetOf,
  parsePool,
} from '../../activities/drivers/address-pool.js';

describe('ipToInt / intToIp', () => {
  it.each([
    ['0.0.0.0', 0],
    ['127.0.0.1', 0x7f000001],
    ['127.77.1.2', 0x7f4d0102],
    ['255.255.255.255', 0xffffffff],
  ])('%s <-> %d', (ip, n) => {
    expect(ipToInt(ip)).toBe(n);
    expect(intToIp(n)).toBe(ip);
  });

  it.each(['', '127.0.0', '127.0.0.1.2', '127.0.0.256', '127.0.0.-1', '127.0.0.01', '127.0.0.a', ' 127.0.0.1', '127..0.1'])(
    'rejects %j',
    (ip) => expect(ipToInt(ip)).toBeUndefined(),
  );
});

describe('parsePool', () => {
  it('parses the default pool', () => {
    expect(parsePool('127.77.0.0/16')).toEqual({ cidr: '127.77.0.0/16', network: 0x7f4d0000, size: 65536 });
  });

  it.each([
    ['127.0.0.0/8', 2 ** 24],
    ['127.1.2.0/24', 256],
    ['127.1.2.4/30', 4],
    ['127.1.2.5/32', 1],
  ])('accepts %s (%d addresses)', (cidr, size) => expect(parsePool(cidr).size).toBe(size));

  it.each([
    ['127.77.0.0', /not an IPv4 CIDR/],
    ['127.77.0.0/', /not an IPv4 CIDR/],
    ['127.77.0.0/33', /not an IPv4 CIDR/],
    ['127.77.0.300/16', /not an IPv4 CIDR/],
    ['fe80::/64', /not an IPv4 CIDR/],
    ['10.0.0.0/8', /inside the loopback block/],
    ['128.0.0.0/16', /inside the loopback block/],
    ['127.0.0.0/7', /inside the loopback block/],
    ['0.0.0.0/0', /inside the loopback block/],
    ['127.77.0.1/16', /host bits set; did you mean 127\.77\.0\.0\/16/],
    ['127.77.5.0/16', /did you mean 127\.77\.0\.0\/16/],
    ['127.1.2.0/32', /no usable address/],
    ['127.1.2.255/32', /no usable address/],
    ['127.0.0.0/31', /no usable address/],
    ['127.0.0.1/32', /no usable address/],
  ])('rejects %s', (cidr, message) => expect(() => parsePool(cidr)).toThrow(message));
});

describe('isUsable', () => {
  it.each([
    ['127.77.0.0', false],
    ['127.77.0.255', false],
    ['127.77.1.255', false],
    ['127.0.0.1', false],
    ['127.77.0.1', true],
    ['127.77.0.254', true],
    ['127.77.1.0', false],
    ['127.0.0.2', true],
  ])('%s -> %s', (ip, usable) => expect(isUsable(ipToInt(ip)!)).toBe(usable));
});

describe('addressAt, contains, offsetOf', () => {
  const pool = parsePool('127.77.0.0/16');
  it('maps offsets to addresses, wrapping around', () => {
    expect(addressAt(pool, 0)).toBe('127.77.0.0');
    expect(addressAt(pool, 257)).toBe('127.77.1.1');
    expect(addressAt(pool, 65535)).toBe('127.77.255.255');
    expect(addressAt(pool, 65536)).toBe('127.77.0.0');
    expect(addressAt(pool, -1)).toBe('127.77.255.255');
  });
  it('knows what is inside', () => {
    expect(contains(pool, '127.77.3.4')).toBe(true);
    expect(contains(pool, '127.78.0.1')).toBe(false);
    expect(contains(pool, 'nonsense')).toBe(false);
    expect(offsetOf(pool, '127.77.1.1')).toBe(257);
    expect(offsetOf(pool, '127.76.255.255')).toBeUndefined();
  });
});

describe('countUsable', () => {
  it.each([
    ['127.77.0.0/16', 256 * 254 - 1],
    ['127.0.0.0/8', 65536 * 254 - 2],
    ['127.1.2.0/24', 253],
    ['127.0.0.0/24', 252],
    ['127.1.2.0/30', 2],
    ['127.1.2.252/30', 2],
    ['127.1.2.5/32', 1],
  ])('%s has %d', (cidr, n) => expect(countUsable(parsePool(cidr))).toBe(n));
});

describe('allocate', () => {
  const none = new Set<string>();

  it('starts at the first usable address', () => {
    expect(allocate(parsePool('127.77.0.0/16'), 0, none)).toEqual({ address: '127.77.0.1', cursor: 2 });
  });

  it('walks forward from the cursor, so successive allocations differ', () => {
    const pool = parsePool('127.77.0.0/16');
    const seen: string[] = [];
    let cursor = 0;
    for (let i = 0; i < 5; i++) {
      const next = allocate(pool, cursor, none);
      seen.push(next.address);
      cursor = next.cursor;
    }
    expect(seen).toEqual(['127.77.0.1', '127.77.0.2', '127.77.0.3', '127.77.0.4', '127.77.0.5']);
  });

  it('skips .255 and .0 when crossing a /24', () => {
    const pool = parsePool('127.77.0.0/16');
    expect(allocate(pool, 254, none)).toEqual({ address: '127.77.0.254', cursor: 255 });
    expect(allocate(pool, 255, none)).toEqual({ address: '127.77.1.1', cursor: 258 });
  });

  it('skips addresses in use', () => {
    const pool = parsePool('127.77.0.0/16');
    expect(allocate(pool, 1, new Set(['127.77.0.1', '127.77.0.2'])).address).toBe('127.77.0.3');
  });

  it('wraps around at the end of the pool', () => {
    const pool = parsePool('127.77.0.0/16');
    expect(allocate(pool, 65533, none)).toEqual({ address: '127.77.255.253', cursor: 65534 });
    expect(allocate(pool, 65535, none)).toEqual({ address: '127.77.0.1', cursor: 2 });
    expect(allocate(pool, 65536 * 3 + 5, none).address).toBe('127.77.0.5');
  });

  it('wraps around to free addresses behind the cursor', () => {
    const pool = parsePool('127.1.2.0/29'); // .1 to .7 usable
    const inUse = new Set(['127.1.2.5', '127.1.2.6', '127.1.2.7']);
    expect(allocate(pool, 5, inUse)).toEqual({ address: '127.1.2.1', cursor: 2 });
  });

  it("never hands out the pool's second-to-last address: the DNS server's pod listener is there", () => {
    expect(allocate(parsePool('127.77.0.0/16'), 65534, none)).toEqual({ address: '127.77.0.1', cursor: 2 });
    expect(() => allocate(parsePool('127.1.2.0/30'), 0, new Set(['127.1.2.1', '127.1.2.3']))).toThrow(/exhausted/);
  });

  it('never hands out 127.0.0.1', () => {
    expect(allocate(parsePool('127.0.0.0/8'), 0, none).address).toBe('127.0.0.2');
  });

  it('gives a recreated instance a new address even in a tiny pool', () => {
    const pool = parsePool('127.1.2.0/30'); // .1 .2 .3
    const first = allocate(pool, 0, none);
    const second = allocate(pool, first.cursor, new Set([first.address]));
    expect(second.address).not.toBe(first.address);
  });

  it('uses a single-address pool over and over', () => {
    const pool = parsePool('127.1.2.9/32');
    expect(allocate(pool, 0, none)).toEqual({ address: '127.1.2.9', cursor: 0 });
    expect(allocate(pool, 0, none)).toEqual({ address: '127.1.2.9', cursor: 0 });
  });

  it('says when the pool is exhausted', () => {
    const pool = parsePool('127.1.2.0/30');
    const inUse = new Set(['127.1.2.1', '127.1.2.3']);
    expect(() => allocate(pool, 0, inUse)).toThrow('address pool 127.1.2.0/30 is exhausted: all 2 usable addresses are in use');
  });
});
