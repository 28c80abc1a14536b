import { describe, expect, it } from 'vitest';
import dnsPacket, { type Answer, type DecodedPacket, type Packet, type Question } from 'dns-packet';
import type { RecordSet } from '../../core/dns-records.js';
import {
  answerMalformed,
  answerQuery,
  encodeForUdp,
  inZone,
  MAX_UDP_PAYLOAD,
  normalizeName,
  udpPayloadLimit,
  type ZoneView,
} from '../../dns/answer.js';

const ZONE = 'ordinal.internal';
const SERVER = '127.0.0.1';

/** A plain-object view: what the store's snapshot offers, without the store. */
function fakeView(zones: Record<string, number>, records: RecordSet[]): ZoneView {
  const exists = new Set(Object.keys(zones));
  for (const r of records) {
    const zone = Object.keys(zones).find((z) => inZone(r.name, z))!;
    for (let n = r.name; n !== zone; n = n.slice(n.indexOf('.') + 1)) exists.add(n);
  }
  return {
    lookup: (name) => records.filter((r) => r.name === normalizeName(name)),
    findZone: (name) =>
      Object.keys(zones)
        .filter((z) => inZone(normalizeName(name), z))
        .sort((a, b) => b.length - a.length)[0],
    serial: (zone) => zones[zone],
    nameExists: (name) => exists.has(normalizeName(name)),
  };
}

const view = fakeView({ [ZONE]: 42, 'other.test': 7 }, [
  { name: `web-0.web.${ZONE}`, type: 'A', ttl: 5, values: ['127.77.0.1'] },
  { name: `web-1.web.${ZONE}`, type: 'A', ttl: 5, values: ['127.77.0.2'] },
  { name: `web.${ZONE}`, type: 'A', ttl: 5, values: ['127.77.0.1', '127.77.0.2'] },
  {
    name: `_http._tcp.web.${ZONE}`,
    type: 'SRV',
    ttl: 5,
    values: [`0 10 8080 web-0.web.${ZONE}`, `0 10 8080 web-1.web.${ZONE}`],
  },
  { name: 'db-0.db.other.test', type: 'A', ttl: 30, values: ['127.77.1.1'] },
]);

/** Query and response go through the wire format, exactly as the server sees and sends them. */
function ask(query: Packet, zones: ZoneView = view): DecodedPacket & { rcode: string } {
  const decodedQuery = dnsPacket.decode(dnsPacket.encode(query));
  const response = answerQuery(decodedQuery, zones, { serverAddress: SERVER });
  expect(response).toBeDefined();
  return dnsPacket.decode(dnsPacket.encode(response!)) as DecodedPacket & { rcode: string };
}

function question(name: string, type: Question['type'], cls: Question['class'] = 'IN'): Packet {
  return { type: 'query', id: 4242, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: cls }] };
}

interface Brief {
  name: string;
  type: string;
  data: unknown;
}

/** Records in a comparable shape: name, type and data only. */
function brief(records: Answer[] | undefined): Brief[] {
  return (records ?? []).map((r) => ({ name: r.name, type: r.type, data: 'data' in r ? r.data : undefined }));
}

const soaOf = (zone: string, serial: number) => ({
  name: zone,
  type: 'SOA',
  data: {
    mname: `ns.${zone}`,
    rname: `hostmaster.${zone}`,
    serial,
    refresh: 3600,
    retry: 600,
    expire: 86400,
    minimum: 5,
  },
});
const srv = (target: string) => ({ priority: 0, weight: 10, port: 8080, target });

interface Case {
  what: string;
  name: string;
  type: Question['type'];
  cls?: Question['class'];
  rcode: string;
  aa: boolean;
  answers?: Brief[];
  authorities?: Brief[];
  additionals?: Brief[];
}

const cases: Case[] = [
  {
    what: 'instance A',
    name: `web-0.web.${ZONE}`,
    type: 'A',
    rcode: 'NOERROR',
    aa: true,
    answers: [{ name: `web-0.web.${ZONE}`, type: 'A', data: '127.77.0.1' }],
  },
  {
    what: 'service A with several values',
    name: `web.${ZONE}`,
    type: 'A',
    rcode: 'NOERROR',
    aa: true,
    answers: [
      { name: `web.${ZONE}`, type: 'A', data: '127.77.0.1' },
      { name: `web.${ZONE}`, type: 'A', data: '127.77.0.2' },
    ],
  },
  {
    what: 'SRV with target addresses in the additional section',
    name: `_http._tcp.web.${ZONE}`,
    type: 'SRV',
    rcode: 'NOERROR',
    aa: true,
    answers: [
      { name: `_http._tcp.web.${ZONE}`, type: 'SRV', data: srv(`web-0.web.${ZONE}`) },
      { name: `_http._tcp.web.${ZONE}`, type: 'SRV', data: srv(`web-1.web.${ZONE}`) },
    ],
    additionals: [
      { name: `web-0.web.${ZONE}`, type: 'A', data: '127.77.0.1' },
      { name: `web-1.web.${ZONE}`, type: 'A', data: '127.77.0.2' },
    ],
  },
  { what: 'SOA at the apex', name: ZONE, type: 'SOA', rcode: 'NOERROR', aa: true, answers: [soaOf(ZONE, 42)] },
  {
    what: 'NS at the apex, with glue',
    name: ZONE,
    type: 'NS',
    rcode: 'NOERROR',
    aa: true,
    answers: [{ name: ZONE, type: 'NS', data: `ns.${ZONE}` }],
    additionals: [{ name: `ns.${ZONE}`, type: 'A', data: SERVER }],
  },
  {
    what: 'the name server itself',
    name: `ns.${ZONE}`,
    type: 'A',
    rcode: 'NOERROR',
    aa: true,
    answers: [{ name: `ns.${ZONE}`, type: 'A', data: SERVER }],
  },
  { what: 'SOA of a second zone', name: 'other.test', type: 'SOA', rcode: 'NOERROR', aa: true, answers: [soaOf('other.test', 7)] },
  {
    what: 'A in a second zone',
    name: 'db-0.db.other.test',
    type: 'A',
    rcode: 'NOERROR',
    aa: true,
    answers: [{ name: 'db-0.db.other.test', type: 'A', data: '127.77.1.1' }],
  },
  {
    what: 'other type at an existing name: NODATA',
    name: `web-0.web.${ZONE}`,
    type: 'AAAA',
    rcode: 'NOERROR',
    aa: true,
    answers: [],
    authorities: [soaOf(ZONE, 42)],
  },
  {
    what: 'ANY: NODATA',
    name: `web-0.web.${ZONE}`,
    type: 'ANY' as Question['type'], // dns-packet encodes it, its types omit it
    rcode: 'NOERROR',
    aa: true,
    answers: [],
    authorities: [soaOf(ZONE, 42)],
  },
  {
    what: 'empty non-terminal: NODATA',
    name: `_tcp.web.${ZONE}`,
    type: 'SRV',
    rcode: 'NOERROR',
    aa: true,
    answers: [],
    authorities: [soaOf(ZONE, 42)],
  },
  { what: 'A at the apex: NODATA', name: ZONE, type: 'A', rcode: 'NOERROR', aa: true, answers: [], authorities: [soaOf(ZONE, 42)] },
  {
    what: 'unknown name in the zone: NXDOMAIN with SOA',
    name: `web-9.web.${ZONE}`,
    type: 'A',
    rcode: 'NXDOMAIN',
    aa: true,
    answers: [],
    authorities: [soaOf(ZONE, 42)],
  },
  {
    what: 'name below an existing name: NXDOMAIN',
    name: `x.web-0.web.${ZONE}`,
    type: 'A',
    rcode: 'NXDOMAIN',
    aa: true,
    authorities: [soaOf(ZONE, 42)],
  },
  {
    what: 'NXDOMAIN in the second zone carries that zone SOA',
    name: 'nope.other.test',
    type: 'A',
    rcode: 'NXDOMAIN',
    aa: true,
    authorities: [soaOf('other.test', 7)],
  },
  { what: 'outside every zone: REFUSED', name: 'example.com', type: 'A', rcode: 'REFUSED', aa: false, answers: [], authorities: [] },
  { what: 'parent of a zone: REFUSED', name: 'internal', type: 'SOA', rcode: 'REFUSED', aa: false, answers: [] },
  { what: 'a suffix that is not a label: REFUSED', name: `xordinal.internal`, type: 'A', rcode: 'REFUSED', aa: false },
  { what: 'the root: REFUSED', name: '.', type: 'NS', rcode: 'REFUSED', aa: false },
  { what: 'class CH: REFUSED', name: `web.${ZONE}`, type: 'A', cls: 'CH', rcode: 'REFUSED', aa: false, answers: [] },
  { what: 'zone transfer: NOTIMP', name: ZONE, type: 'AXFR', rcode: 'NOTIMP', aa: true, answers: [] },
  {
    what: 'mixed case and trailing dot: answered, spelled as asked',
    name: `WEB-0.Web.Ordinal.INTERNAL.`,
    type: 'A',
    rcode: 'NOERROR',
    aa: true,
    answers: [{ name: 'WEB-0.Web.Ordinal.INTERNAL', type: 'A', data: '127.77.0.1' }],
  },
  {
    what: 'mixed case NXDOMAIN',
    name: `Web-9.WEB.ordinal.internal`,
    type: 'A',
    rcode: 'NXDOMAIN',
    aa: true,
    authorities: [soaOf(ZONE, 42)],
  },
];

describe('answerQuery', () => {
  it.each(cases)('$what', (c) => {
    const response = ask(question(c.name, c.type, c.cls));
    expect(response.rcode).toBe(c.rcode);
    expect(response.flag_aa).toBe(c.aa);
    expect(response.flag_qr).toBe(true);
    expect(response.flag_tc).toBe(false);
    expect(response.id).toBe(4242);
    expect(response.flag_rd).toBe(true);
    expect(response.questions).toEqual([{ name: c.name.replace(/\.$/, '') || '.', type: c.type, class: c.cls ?? 'IN' }]);
    if (c.answers) expect(brief(response.answers)).toEqual(c.answers);
    if (c.authorities) expect(brief(response.authorities)).toEqual(c.authorities);
    expect(brief(response.additionals)).toEqual(c.additionals ?? []);
  });

  it('uses the records TTL and the negative TTL for the SOA', () => {
    expect(ask(question(`web.${ZONE}`, 'A')).answers!.map((a) => (a as { ttl: number }).ttl)).toEqual([5, 5]);
    const nx = dnsPacket.decode(
      dnsPacket.encode(answerQuery(question(`x.${ZONE}`, 'A'), view, { serverAddress: SERVER, negativeTtl: 30 })!),
    );
    expect(nx.authorities![0]).toMatchObject({ type: 'SOA', ttl: 30, data: { minimum: 30 } });
  });

  it('gives AAAA glue when the server address is IPv6', () => {
    const response = answerQuery(question(ZONE, 'NS'), view, { serverAddress: '::1' })!;
    expect(brief(response.additionals)).toEqual([{ name: `ns.${ZONE}`, type: 'AAAA', data: '::1' }]);
  });

  it('answers FORMERR to zero or several questions', () => {
    for (const questions of [[], [question(ZONE, 'SOA').questions![0], question(`web.${ZONE}`, 'A').questions![0]]]) {
      const response = ask({ type: 'query', id: 7, flags: 0, questions });
      expect(response.rcode).toBe('FORMERR');
      expect(response.flag_aa).toBe(false);
      expect(response.answers).toEqual([]);
    }
  });

  it('answers NOTIMP to opcodes other than QUERY, echoing the opcode', () => {
    for (const opcode of [1, 2, 4, 5]) {
      const response = ask({ type: 'query', id: 9, flags: opcode << 11, questions: question(ZONE, 'SOA').questions });
      expect(response.rcode).toBe('NOTIMP');
      expect((response as unknown as { opcode: string }).opcode).not.toBe('QUERY');
      expect(response.answers).toEqual([]);
    }
  });

  it('does not answer a response', () => {
    const decoded = dnsPacket.decode(dnsPacket.encode({ ...question(ZONE, 'SOA'), type: 'response' }));
    expect(answerQuery(decoded, view, { serverAddress: SERVER })).toBeUndefined();
  });

  it('answers EDNS with EDNS, and BADVERS to an unknown EDNS version', () => {
    const withOpt = (ednsVersion: number): Packet => ({
      ...question(`web.${ZONE}`, 'A'),
      additionals: [{ name: '.', type: 'OPT', udpPayloadSize: 4096, extendedRcode: 0, ednsVersion, flags: 0, flag_do: false, options: [] }],
    });
    const ok = ask(withOpt(0));
    expect(ok.rcode).toBe('NOERROR');
    expect(ok.answers).toHaveLength(2);
    expect(ok.additionals).toEqual([expect.objectContaining({ type: 'OPT', udpPayloadSize: MAX_UDP_PAYLOAD, ednsVersion: 0 })]);

    const bad = ask(withOpt(1));
    expect(bad.answers).toEqual([]);
    expect(bad.additionals).toEqual([expect.objectContaining({ type: 'OPT', extendedRcode: 1 })]);
  });
});

describe('the server identity (id.server CH TXT)', () => {
  const identify = (name: string, type: Question['type'] = 'TXT', options: { identity?: string } = { identity: 'ordinal-0123456789abcdef' }) => {
    const { identity } = options;
    const query = dnsPacket.decode(dnsPacket.encode(question(name, type, 'CH')));
    return dnsPacket.decode(dnsPacket.encode(answerQuery(query, view, { serverAddress: SERVER, identity })!)) as DecodedPacket & { rcode: string };
  };

  it.each(['id.server', 'ID.Server.', 'hostname.bind'])('answers %s with the identity', (name) => {
    const response = identify(name);
    expect(response.rcode).toBe('NOERROR');
    expect(response.flag_aa).toBe(true);
    expect(response.answers).toEqual([expect.objectContaining({ name: name.replace(/\.$/, ''), type: 'TXT', class: 'CH', ttl: 0 })]);
    expect((response.answers![0] as { data: Buffer[] }).data.map(String)).toEqual(['ordinal-0123456789abcdef']);
  });

  it('answers NODATA for another type at id.server', () => {
    const response = identify('id.server', 'A');
    expect(response.rcode).toBe('NOERROR');
    expect(response.answers).toEqual([]);
  });

  it('refuses other CH names, and id.server when no identity is configured', () => {
    expect(identify('version.bind').rcode).toBe('REFUSED');
    expect(identify('id.server', 'TXT', {}).rcode).toBe('REFUSED');
  });
});

describe('answerMalformed', () => {
  const header = (id: number, flags: number) => {
    const bytes = Buffer.alloc(12);
    bytes.writeUInt16BE(id, 0);
    bytes.writeUInt16BE(flags, 2);
    bytes.writeUInt16BE(1, 4); // claims a question that is not there
    return bytes;
  };

  it('answers FORMERR when the header is readable', () => {
    const bytes = header(0xbeef, dnsPacket.RECURSION_DESIRED);
    expect(() => dnsPacket.decode(bytes)).toThrow();
    const response = dnsPacket.decode(dnsPacket.encode(answerMalformed(bytes)!)) as DecodedPacket & { rcode: string };
    expect(response).toMatchObject({ id: 0xbeef, rcode: 'FORMERR', flag_qr: true, flag_rd: true, questions: [] });
  });

  it('drops what has no readable header, and responses', () => {
    expect(answerMalformed(Buffer.from([1, 2, 3]))).toBeUndefined();
    expect(answerMalformed(header(1, 0x8000))).toBeUndefined();
  });
});

describe('UDP size', () => {
  const opt = (udpPayloadSize: number): Answer => ({
    name: '.',
    type: 'OPT',
    udpPayloadSize,
    extendedRcode: 0,
    ednsVersion: 0,
    flags: 0,
    flag_do: false,
    options: [],
  });

  it.each([
    { what: 'no EDNS', query: question(ZONE, 'SOA'), limit: 512 },
    { what: 'EDNS 1000', query: { ...question(ZONE, 'SOA'), additionals: [opt(1000)] }, limit: 1000 },
    { what: 'EDNS 4096 is capped', query: { ...question(ZONE, 'SOA'), additionals: [opt(4096)] }, limit: MAX_UDP_PAYLOAD },
    { what: 'EDNS below 512 counts as 512', query: { ...question(ZONE, 'SOA'), additionals: [opt(100)] }, limit: 512 },
    { what: 'undecodable query', query: undefined, limit: 512 },
  ])('limit with $what is $limit', ({ query, limit }) => {
    expect(udpPayloadLimit(query)).toBe(limit);
  });

  const addresses = (n: number) => Array.from({ length: n }, (_, i) => `127.77.${i >> 8}.${i & 255}`);
  const big = (n: number) => fakeView({ [ZONE]: 1 }, [{ name: `big.${ZONE}`, type: 'A', ttl: 5, values: addresses(n) }]);

  it.each([
    { what: 'small answer, no EDNS', instances: 2, edns: undefined, truncated: false },
    { what: '20 addresses, no EDNS', instances: 20, edns: undefined, truncated: true },
    { what: '20 addresses, EDNS 1232', instances: 20, edns: 1232, truncated: false },
    { what: '100 addresses, EDNS 4096 (capped at 1232)', instances: 100, edns: 4096, truncated: true },
  ])('$what: truncated=$truncated', ({ instances, edns, truncated }) => {
    const query: Packet = { ...question(`big.${ZONE}`, 'A'), additionals: edns ? [opt(edns)] : [] };
    const response = answerQuery(query, big(instances), { serverAddress: SERVER })!;
    const limit = udpPayloadLimit(query);
    const bytes = encodeForUdp(response, limit);
    expect(bytes.length).toBeLessThanOrEqual(limit);
    const decoded = dnsPacket.decode(bytes);
    expect(decoded.flag_tc).toBe(truncated);
    expect(decoded.questions).toEqual([{ name: `big.${ZONE}`, type: 'A', class: 'IN' }]);
    expect(decoded.answers).toHaveLength(truncated ? 0 : instances);
    // The OPT record stays, so the client still learns our EDNS size.
    expect(decoded.additionals!.map((a) => a.type)).toEqual(edns ? ['OPT'] : []);
  });
});
