// Which queries the pod listener forwards: plain recursive queries from this host for names outside
// every zone we serve. Everything else is answered (or refused) by the server itself.
import dnsPacket, { type Packet, type Question } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import { clientUdpLimit, shouldForward } from '../../dns/forwarder.js';
import { inZone, normalizeName } from '../../dns/answer.js';

const ZONES = ['ordinal.internal', 'db.test'];
const view = { findZone: (name: string) => ZONES.find((zone) => inZone(normalizeName(name), zone)) };

function query(name: string, options: { type?: Question['type']; cls?: Question['class']; flags?: number; questions?: number } = {}): Packet {
  const question: Question = { name, type: options.type ?? 'A', class: options.cls ?? 'IN' };
  return dnsPacket.decode(
    dnsPacket.encode({
      type: 'query',
      id: 1,
      flags: options.flags ?? dnsPacket.RECURSION_DESIRED,
      questions: Array.from({ length: options.questions ?? 1 }, () => question),
    }),
  );
}

describe('shouldForward', () => {
  it.each<[string, Packet, string, boolean]>([
    ['an outside name from 127.0.0.1', query('example.com'), '127.0.0.1', true],
    ['an outside name from a pool address', query('Example.COM.', { type: 'AAAA' }), '127.77.0.5', true],
    ['an outside name from ::1', query('example.com'), '::1', true],
    ['an outside name from a mapped loopback address', query('example.com'), '::ffff:127.0.0.1', true],
    ['a name that only ends like a zone', query('xdb.test'), '127.0.0.1', true],
    ['the parent of a zone', query('internal', { type: 'SOA' }), '127.0.0.1', true],
    ['a name in our zone', query('redis-0.redis.ordinal.internal'), '127.0.0.1', false],
    ['a missing name in a second zone', query('nope.db.test'), '127.0.0.1', false],
    ['a zone apex, any case', query('DB.Test.'), '127.0.0.1', false],
    ['a client beyond loopback', query('example.com'), '10.0.0.7', false],
    ['an IPv6 client beyond loopback', query('example.com'), '2001:db8::7', false],
    ['no recursion desired', query('example.com', { flags: 0 }), '127.0.0.1', false],
    ['class CH', query('id.server', { type: 'TXT', cls: 'CH' }), '127.0.0.1', false],
    ['a zone transfer', query('example.com', { type: 'AXFR' }), '127.0.0.1', false],
    ['two questions', query('example.com', { questions: 2 }), '127.0.0.1', false],
    ['an opcode other than QUERY', query('example.com', { flags: dnsPacket.RECURSION_DESIRED | (2 << 11) }), '127.0.0.1', false],
  ])('%s: %s', (_what, packet, client, expected) => {
    expect(shouldForward(packet, client, view)).toBe(expected);
  });

  it('never forwards a response', () => {
    const response = dnsPacket.decode(dnsPacket.encode({ ...query('example.com'), type: 'response' }));
    expect(shouldForward(response, '127.0.0.1', view)).toBe(false);
  });
});

describe('clientUdpLimit', () => {
  it('is 512 without EDNS, the advertised size with it, never below 512', () => {
    const withOpt = (udpPayloadSize: number): Packet => ({
      ...query('example.com'),
      additionals: [{ name: '.', type: 'OPT', udpPayloadSize, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
    });
    expect(clientUdpLimit(query('example.com'))).toBe(512);
    expect(clientUdpLimit(withOpt(4096))).toBe(4096);
    expect(clientUdpLimit(withOpt(100))).toBe(512);
  });
});
