import { describe, expect, it } from 'vitest';
import {
  SRV_WEIGHT,
  compareRecordSets,
  desiredRecords,
  recordsFingerprint,
  type RecordInput,
  type RecordSet,
} from '../../core/dns-records.js';

function input(patch: Partial<RecordInput> = {}): RecordInput {
  return {
    set: 'web',
    serviceName: 'web',
    zone: 'ordinal.internal',
    ttl: 5,
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    instances: [
      { ordinal: 0, address: '127.77.0.1' },
      { ordinal: 1, address: '127.77.0.2' },
    ],
    ...patch,
  };
}

/** One line per record set: "name TYPE ttl value|value". */
function lines(records: RecordSet[]): string[] {
  return records.map((r) => `${r.name} ${r.type} ${r.ttl} ${r.values.join('|')}`);
}

describe('desiredRecords', () => {
  const cases: Array<{ name: string; input: RecordInput; expected: string[] }> = [
    { name: 'no instances: no records', input: input({ instances: [] }), expected: [] },
    { name: 'no instances and no ports: no records', input: input({ instances: [], ports: [] }), expected: [] },
    {
      name: 'one instance, one named port',
      input: input({ instances: [{ ordinal: 0, address: '127.77.0.1' }] }),
      expected: [
        '_http._tcp.web.ordinal.internal SRV 5 0 10 8080 web-0.web.ordinal.internal',
        'web-0.web.ordinal.internal A 5 127.77.0.1',
        'web.ordinal.internal A 5 127.77.0.1',
      ],
    },
    {
      name: 'two instances: per-instance A, service A with both, one SRV target each',
      input: input(),
      expected: [
        '_http._tcp.web.ordinal.internal SRV 5 0 10 8080 web-0.web.ordinal.internal|0 10 8080 web-1.web.ordinal.internal',
        'web-0.web.ordinal.internal A 5 127.77.0.1',
        'web-1.web.ordinal.internal A 5 127.77.0.2',
        'web.ordinal.internal A 5 127.77.0.1|127.77.0.2',
      ],
    },
    {
      name: 'no ports: A records only',
      input: input({ ports: [] }),
      expected: [
        'web-0.web.ordinal.internal A 5 127.77.0.1',
        'web-1.web.ordinal.internal A 5 127.77.0.2',
        'web.ordinal.internal A 5 127.77.0.1|127.77.0.2',
      ],
    },
    {
      name: 'unnamed ports get no SRV',
      input: input({ ports: [{ port: 8080, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }], instances: [{ ordinal: 0, address: '127.77.0.1' }] }),
      expected: ['web-0.web.ordinal.internal A 5 127.77.0.1', 'web.ordinal.internal A 5 127.77.0.1'],
    },
    {
      name: 'UDP and TCP ports: _dns._udp and _http._tcp',
      input: input({
        ports: [
          { name: 'http', port: 8080, protocol: 'TCP' },
          { name: 'dns', port: 53, protocol: 'UDP' },
          { port: 9090, protocol: 'TCP' },
        ],
        instances: [{ ordinal: 0, address: '127.77.0.1' }],
      }),
      expected: [
        '_dns._udp.web.ordinal.internal SRV 5 0 10 53 web-0.web.ordinal.internal',
        '_http._tcp.web.ordinal.internal SRV 5 0 10 8080 web-0.web.ordinal.internal',
        'web-0.web.ordinal.internal A 5 127.77.0.1',
        'web.ordinal.internal A 5 127.77.0.1',
      ],
    },
    {
      name: 'the same name on TCP and UDP: two SRV record sets',
      input: input({
        ports: [
          { name: 'dns', port: 53, protocol: 'TCP' },
          { name: 'dns', port: 53, protocol: 'UDP' },
        ],
        instances: [{ ordinal: 0, address: '127.77.0.1' }],
      }),
      expected: [
        '_dns._tcp.web.ordinal.internal SRV 5 0 10 53 web-0.web.ordinal.internal',
        '_dns._udp.web.ordinal.internal SRV 5 0 10 53 web-0.web.ordinal.internal',
        'web-0.web.ordinal.internal A 5 127.77.0.1',
        'web.ordinal.internal A 5 127.77.0.1',
      ],
    },
    {
      name: 'a service name and zone of their own',
      input: input({ set: 'db', serviceName: 'db-headless', zone: 'prod.example.test', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }], instances: [{ ordinal: 3, address: '10.0.0.4' }] }),
      expected: [
        '_pg._tcp.db-headless.prod.example.test SRV 5 0 10 5432 db-3.db-headless.prod.example.test',
        'db-3.db-headless.prod.example.test A 5 10.0.0.4',
        'db-headless.prod.example.test A 5 10.0.0.4',
      ],
    },
    {
      name: 'ttl is carried to every record set',
      input: input({ ttl: 300, instances: [{ ordinal: 0, address: '127.77.0.1' }] }),
      expected: [
        '_http._tcp.web.ordinal.internal SRV 300 0 10 8080 web-0.web.ordinal.internal',
        'web-0.web.ordinal.internal A 300 127.77.0.1',
        'web.ordinal.internal A 300 127.77.0.1',
      ],
    },
    {
      name: 'ttl 0 is carried too',
      input: input({ ttl: 0, ports: [], instances: [{ ordinal: 0, address: '127.77.0.1' }] }),
      expected: ['web-0.web.ordinal.internal A 0 127.77.0.1', 'web.ordinal.internal A 0 127.77.0.1'],
    },
    {
      name: 'service A values are sorted and deduplicated',
      input: input({
        ports: [],
        instances: [
          { ordinal: 0, address: '127.77.0.9' },
          { ordinal: 1, address: '127.77.0.3' },
          { ordinal: 2, address: '127.77.0.3' },
        ],
      }),
      expected: [
        'web-0.web.ordinal.internal A 5 127.77.0.9',
        'web-1.web.ordinal.internal A 5 127.77.0.3',
        'web-2.web.ordinal.internal A 5 127.77.0.3',
        'web.ordinal.internal A 5 127.77.0.3|127.77.0.9',
      ],
    },
    {
      name: 'gaps in the ordinals are fine',
      input: input({ ports: [], instances: [{ ordinal: 2, address: '127.77.0.3' }, { ordinal: 0, address: '127.77.0.1' }] }),
      expected: [
        'web-0.web.ordinal.internal A 5 127.77.0.1',
        'web-2.web.ordinal.internal A 5 127.77.0.3',
        'web.ordinal.internal A 5 127.77.0.1|127.77.0.3',
      ],
    },
    {
      name: 'SRV targets follow the ordinal order',
      input: input({
        instances: [
          { ordinal: 2, address: '127.77.0.3' },
          { ordinal: 0, address: '127.77.0.1' },
          { ordinal: 1, address: '127.77.0.2' },
        ],
      }),
      expected: [
        '_http._tcp.web.ordinal.internal SRV 5 0 10 8080 web-0.web.ordinal.internal|0 10 8080 web-1.web.ordinal.internal|0 10 8080 web-2.web.ordinal.internal',
        'web-0.web.ordinal.internal A 5 127.77.0.1',
        'web-1.web.ordinal.internal A 5 127.77.0.2',
        'web-2.web.ordinal.internal A 5 127.77.0.3',
        'web.ordinal.internal A 5 127.77.0.1|127.77.0.2|127.77.0.3',
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(lines(desiredRecords(c.input))).toEqual(c.expected);
    });
  }

  it('uses the documented SRV weight', () => {
    expect(SRV_WEIGHT).toBe(10);
  });

  it('record sets have exactly name, type, ttl and values', () => {
    const records = desiredRecords(input({ instances: [{ ordinal: 0, address: '127.77.0.1' }] }));
    expect(records).toEqual([
      { name: '_http._tcp.web.ordinal.internal', type: 'SRV', ttl: 5, values: ['0 10 8080 web-0.web.ordinal.internal'] },
      { name: 'web-0.web.ordinal.internal', type: 'A', ttl: 5, values: ['127.77.0.1'] },
      { name: 'web.ordinal.internal', type: 'A', ttl: 5, values: ['127.77.0.1'] },
    ]);
  });

  it('every record set has at least one value', () => {
    const records = desiredRecords(input({ ports: [{ name: 'a', port: 1, protocol: 'TCP' }, { name: 'b', port: 2, protocol: 'UDP' }] }));
    for (const r of records) expect(r.values.length).toBeGreaterThan(0);
  });

  const orders: Array<{ name: string; instances: RecordInput['instances'] }> = [
    { name: 'ascending', instances: [{ ordinal: 0, address: '127.77.0.1' }, { ordinal: 1, address: '127.77.0.2' }, { ordinal: 2, address: '127.77.0.3' }] },
    { name: 'descending', instances: [{ ordinal: 2, address: '127.77.0.3' }, { ordinal: 1, address: '127.77.0.2' }, { ordinal: 0, address: '127.77.0.1' }] },
    { name: 'mixed', instances: [{ ordinal: 1, address: '127.77.0.2' }, { ordinal: 2, address: '127.77.0.3' }, { ordinal: 0, address: '127.77.0.1' }] },
  ];
  const reference = desiredRecords(input({ instances: orders[0].instances }));
  for (const o of orders) {
    it(`stable output regardless of input order (${o.name})`, () => {
      expect(desiredRecords(input({ instances: o.instances }))).toEqual(reference);
    });
  }

  it('port order in the template does not change the output', () => {
    const a = desiredRecords(input({ ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }] }));
    const b = desiredRecords(input({ ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'http', port: 80, protocol: 'TCP' }] }));
    expect(a).toEqual(b);
  });

  it('is sorted by compareRecordSets', () => {
    const records = desiredRecords(input());
    expect([...records].sort(compareRecordSets)).toEqual(records);
  });

  it('does not mutate its input', () => {
    const i = input({ instances: [{ ordinal: 1, address: '127.77.0.2' }, { ordinal: 0, address: '127.77.0.1' }] });
    const before = JSON.stringify(i);
    desiredRecords(i);
    expect(JSON.stringify(i)).toBe(before);
  });
});

describe('compareRecordSets', () => {
  const r = (name: string, type: 'A' | 'SRV'): RecordSet => ({ name, type, ttl: 5, values: [] });
  const cases: Array<{ a: RecordSet; b: RecordSet; sign: -1 | 0 | 1 }> = [
    { a: r('a.test', 'A'), b: r('b.test', 'A'), sign: -1 },
    { a: r('b.test', 'A'), b: r('a.test', 'A'), sign: 1 },
    { a: r('a.test', 'A'), b: r('a.test', 'SRV'), sign: -1 },
    { a: r('a.test', 'SRV'), b: r('a.test', 'A'), sign: 1 },
    { a: r('a.test', 'A'), b: r('a.test', 'A'), sign: 0 },
    { a: r('_http._tcp.web.test', 'SRV'), b: r('web-0.web.test', 'A'), sign: -1 },
    { a: r('web-0.web.test', 'A'), b: r('web.test', 'A'), sign: -1 },
  ];
  for (const c of cases) {
    it(`${c.a.name} ${c.a.type} vs ${c.b.name} ${c.b.type} -> ${c.sign}`, () => {
      expect(Math.sign(compareRecordSets(c.a, c.b))).toBe(c.sign);
    });
  }
});

describe('recordsFingerprint', () => {
  const records = desiredRecords(input());

  it('is 16 hex digits', () => {
    expect(recordsFingerprint(records)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('of no records is stable', () => {
    expect(recordsFingerprint([])).toBe(recordsFingerprint([]));
    expect(recordsFingerprint([])).not.toBe(recordsFingerprint(records));
  });

  it('is equal for equal record sets in a different order', () => {
    expect(recordsFingerprint([...records].reverse())).toBe(recordsFingerprint(records));
    expect(recordsFingerprint([records[2], records[0], records[3], records[1]])).toBe(recordsFingerprint(records));
  });

  it('is equal for desired records computed from instances in a different order', () => {
    const a = desiredRecords(input({ instances: [{ ordinal: 0, address: '127.77.0.1' }, { ordinal: 1, address: '127.77.0.2' }] }));
    const b = desiredRecords(input({ instances: [{ ordinal: 1, address: '127.77.0.2' }, { ordinal: 0, address: '127.77.0.1' }] }));
    expect(recordsFingerprint(a)).toBe(recordsFingerprint(b));
  });

  it('is equal for record sets with their keys in another order', () => {
    const reordered = records.map((r) => ({ values: r.values, ttl: r.ttl, type: r.type, name: r.name }));
    expect(recordsFingerprint(reordered)).toBe(recordsFingerprint(records));
  });

  it('does not reorder its argument', () => {
    const reversed = [...records].reverse();
    const copy = [...reversed];
    recordsFingerprint(reversed);
    expect(reversed).toEqual(copy);
  });

  const changes: Array<{ name: string; patch: Partial<RecordInput> }> = [
    { name: 'an address', patch: { instances: [{ ordinal: 0, address: '127.77.0.1' }, { ordinal: 1, address: '127.77.0.99' }] } },
    { name: 'one instance fewer', patch: { instances: [{ ordinal: 0, address: '127.77.0.1' }] } },
    { name: 'one instance more', patch: { instances: [{ ordinal: 0, address: '127.77.0.1' }, { ordinal: 1, address: '127.77.0.2' }, { ordinal: 2, address: '127.77.0.3' }] } },
    { name: 'the ttl', patch: { ttl: 6 } },
    { name: 'a port number', patch: { ports: [{ name: 'http', port: 8081, protocol: 'TCP' }] } },
    { name: 'a port name', patch: { ports: [{ name: 'web', port: 8080, protocol: 'TCP' }] } },
    { name: 'a port protocol', patch: { ports: [{ name: 'http', port: 8080, protocol: 'UDP' }] } },
    { name: 'no ports', patch: { ports: [] } },
    { name: 'the zone', patch: { zone: 'other.internal' } },
    { name: 'the service name', patch: { serviceName: 'websvc' } },
    { name: 'the set name', patch: { set: 'api' } },
    { name: 'an ordinal with the same address', patch: { instances: [{ ordinal: 0, address: '127.77.0.1' }, { ordinal: 2, address: '127.77.0.2' }] } },
  ];
  for (const c of changes) {
    it(`changes when ${c.name} changes`, () => {
      expect(recordsFingerprint(desiredRecords(input(c.patch)))).not.toBe(recordsFingerprint(records));
    });
  }
});
