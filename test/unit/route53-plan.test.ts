import type { ResourceRecordSet } from '@aws-sdk/client-route-53';
import { describe, expect, it } from 'vitest';
import type { RecordSet } from '../../core/dns-records.js';
import {
  BATCH_LIMITS,
  batchChanges,
  groupCost,
  normalizeName,
  normalizeValue,
  ownedSets,
  planChanges,
  renderPlan,
  type ChangeGroup,
} from '../../activities/dns/route53/plan.js';

const Z = 'example.internal';
const ME = 'me';

/** A record set as ListResourceRecordSets returns it: fully qualified. */
function rr(name: string, type: string, values: string[], ttl = 5): ResourceRecordSet {
  return { Name: `${name}.${Z}.`, Type: type as ResourceRecordSet['Type'], TTL: ttl, ResourceRecords: values.map((Value) => ({ Value })) };
}

/** The ownership TXT of (name, type), as Route 53 returns it. */
function own(name: string, type: string, set: string, owner = ME, ttl = 5): ResourceRecordSet {
  return rr(`_ordinal-${type.toLowerCase()}.${name}`, 'TXT', [`"heritage=ordinal,owner=${owner},set=${set}"`], ttl);
}

function want(name: string, type: 'A' | 'SRV', values: string[], ttl = 5): RecordSet {
  return { name: `${name}.${Z}`, type, ttl, values };
}

const SOA_NS = [rr('', 'NS', ['ns-1.awsdns-1.com.']), rr('', 'SOA', ['ns-1.awsdns-1.com. hostmaster.example.com. 1 7200 900 1209600 86400'], 900)].map((r) => ({
  ...r,
  Name: `${Z}.`,
}));

/** One line per change: "ACTION name TYPE ttl value|value" (names relative to the zone). */
function changeLines(groups: ChangeGroup[]): string[] {
  return groups.flatMap((g) =>
    g.changes.map((c) => {
      const r = c.ResourceRecordSet!;
      return `${c.Action} ${r.Name!.replace(`.${Z}.`, '')} ${r.Type} ${r.TTL} ${(r.ResourceRecords ?? []).map((v) => v.Value).join('|')}`;
    }),
  );
}

function conflictLines(plan: ReturnType<typeof planChanges>): string[] {
  return plan.conflicts.map((c) => `${c.set}: ${c.name.replace(`.${Z}`, '')} ${c.type}: ${c.reason}`);
}

interface Case {
  name: string;
  current: ResourceRecordSet[];
  desired: Record<string, RecordSet[]>;
  changes: string[];
  conflicts?: RegExp[];
}

const TXT_WEB = '"heritage=ordinal,owner=me,set=web"';

const cases: Case[] = [
  {
    name: 'empty zone: each record set is created with its ownership TXT',
    current: [...SOA_NS],
    desired: { web: [want('web-0.web', 'A', ['10.0.0.1']), want('_http._tcp.web', 'SRV', ['0 10 80 web-0.web.example.internal'])] },
    changes: [
      `CREATE _http._tcp.web SRV 5 0 10 80 web-0.web.example.internal.`,
      `CREATE _ordinal-srv._http._tcp.web TXT 5 ${TXT_WEB}`,
      `CREATE web-0.web A 5 10.0.0.1`,
      `CREATE _ordinal-a.web-0.web TXT 5 ${TXT_WEB}`,
    ],
  },
  {
    name: 'owned and as wanted: nothing',
    current: [...SOA_NS, rr('web-0.web', 'A', ['10.0.0.1']), own('web-0.web', 'A', 'web')],
    desired: { web: [want('web-0.web', 'A', ['10.0.0.1'])] },
    changes: [],
  },
  {
    name: 'as wanted modulo case, trailing dots, order and duplicates: nothing',
    current: [
      { ...rr('web', 'A', ['10.0.0.2', '10.0.0.1']), Name: `WEB.${Z.toUpperCase()}.` },
      own('web', 'A', 'web'),
      rr('_http._tcp.web', 'SRV', ['0 10 80 WEB-1.web.example.internal.', '0 10 80 web-0.web.example.internal.']),
      own('_http._tcp.web', 'SRV', 'web'),
    ],
    desired: {
      web: [
        want('web', 'A', ['10.0.0.1', '10.0.0.2', '10.0.0.1']),
        want('_http._tcp.web', 'SRV', ['0 10 80 web-0.web.example.internal', '0 10 80 web-1.web.example.internal']),
      ],
    },
    changes: [],
  },
  {
    name: 'an instance moved: an UPSERT of the owned record set',
    current: [rr('web-0.web', 'A', ['10.0.0.1']), own('web-0.web', 'A', 'web')],
    desired: { web: [want('web-0.web', 'A', ['10.0.0.9'])] },
    changes: ['UPSERT web-0.web A 5 10.0.0.9'],
  },
  {
    name: 'a TTL change is a change',
    current: [rr('web-0.web', 'A', ['10.0.0.1'], 5), own('web-0.web', 'A', 'web')],
    desired: { web: [want('web-0.web', 'A', ['10.0.0.1'], 60)] },
    changes: ['UPSERT web-0.web A 60 10.0.0.1'],
  },
  {
    name: 'a DELETE carries the values exactly as listed (trailing dots, order, TTL)',
    current: [rr('_http._tcp.web', 'SRV', ['0 10 80 web-1.web.example.internal.', '0 10 80 Web-0.web.example.internal'], 30), own('_http._tcp.web', 'SRV', 'web')],
    desired: { web: [] },
    changes: [
      'DELETE _http._tcp.web SRV 30 0 10 80 web-1.web.example.internal.|0 10 80 Web-0.web.example.internal',
      `DELETE _ordinal-srv._http._tcp.web TXT 5 ${TXT_WEB}`,
    ],
  },
  {
    name: 'owned but no longer wanted: the record and its TXT are deleted with their exact values',
    current: [rr('web-0.web', 'A', ['10.0.0.1']), own('web-0.web', 'A', 'web'), rr('web-1.web', 'A', ['10.0.0.2']), own('web-1.web', 'A', 'web')],
    desired: { web: [want('web-0.web', 'A', ['10.0.0.1'])] },
    changes: ['DELETE web-1.web A 5 10.0.0.2', `DELETE _ordinal-a.web-1.web TXT 5 ${TXT_WEB}`],
  },
  {
    name: 'an empty list removes everything the set owns, and nothing else',
    current: [
      ...SOA_NS,
      rr('web-0.web', 'A', ['10.0.0.1']),
      own('web-0.web', 'A', 'web'),
      rr('db-0.db', 'A', ['10.0.1.1']),
      own('db-0.db', 'A', 'db'),
      rr('www', 'A', ['192.0.2.1']),
    ],
    desired: { web: [] },
    changes: ['DELETE web-0.web A 5 10.0.0.1', `DELETE _ordinal-a.web-0.web TXT 5 ${TXT_WEB}`],
  },
  {
    name: 'records of sets this plan does not cover are left alone',
    current: [rr('db-0.db', 'A', ['10.0.1.1']), own('db-0.db', 'A', 'db')],
    desired: { web: [want('web-0.web', 'A', ['10.0.0.1'])] },
    changes: ['CREATE web-0.web A 5 10.0.0.1', `CREATE _ordinal-a.web-0.web TXT 5 ${TXT_WEB}`],
  },
  {
    name: 'a foreign record at a wanted name: a conflict, no change',
    current: [rr('web-0.web', 'A', ['192.0.2.7'])],
    desired: { web: [want('web-0.web', 'A', ['10.0.0.1']), want('web-1.web', 'A', ['10.0.0.2'])] },
    changes: ['CREATE web-1.web A 5 10.0.0.2', `CREATE _ordinal-a.web-1.web TXT 5 ${TXT_WEB}`],
    conflicts: [/^web: web-0\.web A: .*exists and is not owned by Ordinal/],
  },
  {
    name: 'a foreign record of another type at the name does not block',
    current: [rr('web-0.web', 'TXT', ['"hello"'])],
    desired: { web: [want('web-0.web', 'A', ['10.0.0.1'])] },
    changes: ['CREATE web-0.web A 5 10.0.0.1', `CREATE _ordinal-a.web-0.web TXT 5 ${TXT_WEB}`],
  },
  {
    name: 'a CNAME at a wanted name: a conflict',
    current: [rr('web-0.web', 'CNAME', ['elsewhere.example.com.'])],
    desired: { web: [want('web-0.web', 'A', ['10.0.0.1'])] },
    changes: [],
    conflicts: [/^web: web-0\.web A: a CNAME record exists/],
  },
  {
    name: 'an alias record at a wanted name: a conflict',
    current: [{ Name: `web.${Z}.`, Type: 'A', AliasTarget: { HostedZoneId: 'Z2', DNSName: 'lb.example.com.', EvaluateTargetHealth: false } }],
    desired: { web: [want('web', 'A', ['10.0.0.1'])] },
    changes: [],
    conflicts: [/^web: web A: .*alias/],
  },
  {
    name: 'weighted records at a wanted name: a conflict, even with our TXT',
    current: [{ ...rr('web', 'A', ['10.0.0.1']), SetIdentifier: 'blue', Weight: 1 }, own('web', 'A', 'web')],
    desired: { web: [want('web', 'A', ['10.0.0.1'])] },
    changes: [],
    conflicts: [/routing-policy/],
  },
  {
    name: 'owned by another Ordinal installation: a conflict, and never deleted',
    current: [rr('web-0.web', 'A', ['10.0.0.1']), own('web-0.web', 'A', 'web', 'other'), rr('web-1.web', 'A', ['10.0.0.2']), own('web-1.web', 'A', 'web', 'other')],
    desired: { web: [want('web-0.web', 'A', ['10.0.0.5'])] },
    changes: [],
    conflicts: [/^web: web-0\.web A: owned by another Ordinal installation \(owner 'other', set 'web'\)/],
  },
  {
    name: 'owned by another set of ours that this plan does not cover: a conflict',
    current: [rr('shared', 'A', ['10.0.0.1']), own('shared', 'A', 'api')],
    desired: { web: [want('shared', 'A', ['10.0.0.5'])] },
    changes: [],
    conflicts: [/^web: shared A: owned by set 'api'/],
  },
  {
    name: 'owned by another set of ours that no longer wants it: taken over, TXT rewritten in the same group',
    current: [rr('shared', 'A', ['10.0.0.1']), own('shared', 'A', 'api')],
    desired: { web: [want('shared', 'A', ['10.0.0.5'])], api: [] },
    changes: ['UPSERT shared A 5 10.0.0.5', `UPSERT _ordinal-a.shared TXT 5 ${TXT_WEB}`],
  },
  {
    name: 'two sets want one name: the owner keeps it, the other gets a conflict',
    current: [rr('shared', 'A', ['10.0.0.1']), own('shared', 'A', 'web')],
    desired: { api: [want('shared', 'A', ['10.0.0.9'])], web: [want('shared', 'A', ['10.0.0.1'])] },
    changes: [],
    conflicts: [/^api: shared A: also wanted by set 'web'/],
  },
  {
    name: 'two sets want a free name: the first by name gets it',
    current: [],
    desired: { web: [want('shared', 'A', ['10.0.0.1'])], api: [want('shared', 'A', ['10.0.0.9'])] },
    changes: ['CREATE shared A 5 10.0.0.9', 'CREATE _ordinal-a.shared TXT 5 "heritage=ordinal,owner=me,set=api"'],
    conflicts: [/^web: shared A: also wanted by set 'api'/],
  },
  {
    name: 'deleted by hand (its TXT is still there): restored with an UPSERT, the TXT untouched',
    current: [own('web-0.web', 'A', 'web')],
    desired: { web: [want('web-0.web', 'A', ['10.0.0.1'])] },
    changes: ['UPSERT web-0.web A 5 10.0.0.1'],
  },
  {
    name: 'edited by hand: put back',
    current: [rr('web-0.web', 'A', ['203.0.113.5'], 300), own('web-0.web', 'A', 'web')],
    desired: { web: [want('web-0.web', 'A', ['10.0.0.1'])] },
    changes: ['UPSERT web-0.web A 5 10.0.0.1'],
  },
  {
    name: 'its TXT deleted by hand: no longer provably ours, so a conflict',
    current: [rr('web-0.web', 'A', ['10.0.0.1'])],
    desired: { web: [want('web-0.web', 'A', ['10.0.0.1'])] },
    changes: [],
    conflicts: [/not owned by Ordinal/],
  },
  {
    name: 'an orphan TXT (record gone) of an unwanted record: the TXT is deleted',
    current: [own('web-1.web', 'A', 'web')],
    desired: { web: [] },
    changes: [`DELETE _ordinal-a.web-1.web TXT 5 ${TXT_WEB}`],
  },
  {
    name: 'a foreign TXT at the ownership name: a conflict naming it',
    current: [rr('_ordinal-a.web-0.web', 'TXT', ['"something else"'])],
    desired: { web: [want('web-0.web', 'A', ['10.0.0.1'])] },
    changes: [],
    conflicts: [/_ordinal-a\.web-0\.web\.example\.internal holds a TXT record that is not an Ordinal ownership record/],
  },
  {
    name: 'an unwanted record whose TXT is foreign is not deleted',
    current: [rr('web-0.web', 'A', ['10.0.0.1']), rr('_ordinal-a.web-0.web', 'TXT', ['"heritage=external-dns,external-dns/owner=x"'])],
    desired: { web: [] },
    changes: [],
  },
  {
    name: 'nothing wanted and nothing there: nothing',
    current: [...SOA_NS],
    desired: { web: [] },
    changes: [],
  },
  {
    name: 'escaped names from Route 53 compare unescaped',
    current: [{ ...rr('x', 'A', ['10.0.0.1']), Name: `\\052.web.${Z}.` }, own('*.web', 'A', 'web')],
    desired: { web: [want('*.web', 'A', ['10.0.0.1'])] },
    changes: [],
  },
];

describe('planChanges', () => {
  for (const c of cases) {
    it(c.name, () => {
      const plan = planChanges({ current: c.current, ownerId: ME, desired: new Map(Object.entries(c.desired)) });
      expect(changeLines(plan.groups)).toEqual(c.changes);
      const conflicts = conflictLines(plan);
      expect(conflicts).toHaveLength(c.conflicts?.length ?? 0);
      (c.conflicts ?? []).forEach((pattern, i) => expect(conflicts[i]).toMatch(pattern));
    });
  }

  it('never plans a change to a record set without our ownership record (a fuzz over mixed zones)', () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (let seed = 0; seed < 200; seed++) {
      const rand = mulberry(seed);
      const current: ResourceRecordSet[] = [];
      const ownedKeys = new Set<string>();
      for (const n of names) {
        const roll = rand();
        if (roll < 0.25) current.push(rr(n, 'A', [`192.0.2.${Math.floor(rand() * 9)}`]));
        else if (roll < 0.5) {
          current.push(rr(n, 'A', [`10.0.0.${Math.floor(rand() * 9)}`]), own(n, 'A', rand() < 0.5 ? 'web' : 'api'));
          ownedKeys.add(`${n}.${Z}|A`);
        } else if (roll < 0.6) current.push(rr(n, 'A', ['10.0.0.1']), own(n, 'A', 'web', 'other'));
      }
      const desired = new Map<string, RecordSet[]>([
        ['web', names.filter(() => rand() < 0.5).map((n) => want(n, 'A', [`10.0.0.${Math.floor(rand() * 9)}`]))],
        ['api', names.filter(() => rand() < 0.3).map((n) => want(n, 'A', [`10.0.0.${Math.floor(rand() * 9)}`]))],
      ]);
      const plan = planChanges({ current, ownerId: ME, desired });
      const byKey = new Map(current.map((r) => [`${normalizeName(r.Name!)}|${r.Type}`, r]));
      for (const group of plan.groups) {
        for (const change of group.changes) {
          const r = change.ResourceRecordSet!;
          const k = `${normalizeName(r.Name!)}|${r.Type}`;
          if (r.Type === 'TXT') continue;
          if (change.Action === 'DELETE') {
            expect(ownedKeys.has(k), `seed ${seed}: ${group.description}`).toBe(true);
            expect(r).toEqual(byKey.get(k)); // exactly as listed
          }
          // UPSERT only where our ownership record is; CREATE only where nothing is.
          if (change.Action === 'UPSERT') expect(ownedKeys.has(k), `seed ${seed}: ${group.description}`).toBe(true);
          if (change.Action === 'CREATE') expect(byKey.has(k), `seed ${seed}: ${group.description}`).toBe(false);
        }
      }
      // Every wanted name gets exactly one of: a change, a conflict, or is already as wanted.
      const groups = new Set(plan.groups.map((g) => `${g.name}|${g.type}`));
      for (const conflict of plan.conflicts) {
        if (!/also wanted/.test(conflict.reason)) expect(groups.has(`${conflict.name}|${conflict.type}`)).toBe(false);
      }
    }
  });
});

describe('batchChanges', () => {
  function group(name: string, values: number, action: 'CREATE' | 'UPSERT' | 'DELETE' = 'CREATE', valueLength = 8): ChangeGroup {
    const value = 'x'.repeat(valueLength);
    return {
      set: 'web',
      name,
      type: 'A',
      kind: 'create',
      description: name,
      changes: [
        { Action: action, ResourceRecordSet: { Name: `${name}.`, Type: 'A', TTL: 5, ResourceRecords: Array.from({ length: values }, () => ({ Value: value })) } },
        { Action: action, ResourceRecordSet: { Name: `_ordinal-a.${name}.`, Type: 'TXT', TTL: 5, ResourceRecords: [{ Value: value }] } },
      ],
    };
  }

  it('counts records and value characters, an UPSERT twice', () => {
    expect(groupCost(group('a', 3, 'CREATE', 10))).toEqual({ records: 4, chars: 40 });
    expect(groupCost(group('a', 3, 'UPSERT', 10))).toEqual({ records: 8, chars: 80 });
    expect(groupCost(group('a', 3, 'DELETE', 10))).toEqual({ records: 4, chars: 40 });
  });

  const cases: Array<{ name: string; groups: ChangeGroup[]; limits?: { records: number; chars: number }; sizes: number[] }> = [
    { name: 'nothing: no batches', groups: [], sizes: [] },
    { name: 'a few groups: one batch', groups: [group('a', 1), group('b', 2)], sizes: [2] },
    { name: '600 groups of 2 records: 500 + 100 (1000 records per batch)', groups: Array.from({ length: 600 }, (_, i) => group(`n${i}`, 1)), sizes: [500, 100] },
    { name: 'exactly 1000 records: one batch', groups: Array.from({ length: 500 }, (_, i) => group(`n${i}`, 1)), sizes: [500] },
    { name: 'UPSERTs count twice: 250 per batch', groups: Array.from({ length: 300 }, (_, i) => group(`n${i}`, 1, 'UPSERT')), sizes: [250, 50] },
    {
      name: '32,000 characters per batch: 200-character values, 2 per group -> 80 groups',
      groups: Array.from({ length: 100 }, (_, i) => group(`n${i}`, 1, 'CREATE', 200)),
      sizes: [80, 20],
    },
    { name: 'a group over the limit alone gets a batch of its own', groups: [group('a', 1), group('big', 20), group('b', 1)], limits: { records: 10, chars: 1e6 }, sizes: [1, 1, 1] },
    { name: 'small limits', groups: Array.from({ length: 7 }, (_, i) => group(`n${i}`, 2)), limits: { records: 9, chars: 1e6 }, sizes: [3, 3, 1] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const batches = batchChanges(c.groups, c.limits);
      expect(batches.map((b) => b.length)).toEqual(c.sizes);
      // Order kept, every group whole and exactly once.
      expect(batches.flat()).toEqual(c.groups);
      const limits = c.limits ?? BATCH_LIMITS;
      for (const batch of batches) {
        if (batch.length === 1) continue;
        const total = batch.map(groupCost).reduce((a, b) => ({ records: a.records + b.records, chars: a.chars + b.chars }), { records: 0, chars: 0 });
        expect(total.records).toBeLessThanOrEqual(limits.records);
        expect(total.chars).toBeLessThanOrEqual(limits.chars);
      }
    });
  }
});

describe('names and values', () => {
  const names: Array<[string, string]> = [
    ['web.example.internal.', 'web.example.internal'],
    ['WEB.Example.Internal', 'web.example.internal'],
    ['\\052.example.internal.', '*.example.internal'],
    ['_http._tcp.web.example.internal.', '_http._tcp.web.example.internal'],
  ];
  for (const [input, expected] of names) it(`name ${input} -> ${expected}`, () => expect(normalizeName(input)).toBe(expected));

  const values: Array<[string, string, string]> = [
    ['A', ' 10.0.0.1 ', '10.0.0.1'],
    ['SRV', '0 10 80 Web-0.web.example.internal.', '0 10 80 web-0.web.example.internal'],
    ['SRV', '0  10 80 web-0.web.example.internal', '0 10 80 web-0.web.example.internal'],
    ['CNAME', 'Target.example.com.', 'target.example.com'],
    ['TXT', '"Hello"', '"Hello"'],
  ];
  for (const [type, input, expected] of values) it(`${type} value ${input} -> ${expected}`, () => expect(normalizeValue(type, input)).toBe(expected));
});

describe('reading the zone', () => {
  const current = [
    ...SOA_NS,
    rr('web-0.web', 'A', ['10.0.0.1']),
    own('web-0.web', 'A', 'web'),
    rr('_http._tcp.web', 'SRV', ['0 10 80 web-0.web.example.internal.']),
    own('_http._tcp.web', 'SRV', 'web'),
    rr('db-0.db', 'A', ['10.0.1.1']),
    own('db-0.db', 'A', 'db'),
    own('gone-0.gone', 'A', 'gone'),
    rr('x', 'A', ['10.0.9.9']),
    own('x', 'A', 'x', 'other'),
  ];

  it('finds the sets of this owner', () => {
    expect([...ownedSets(current, ME)].sort()).toEqual(['db', 'gone', 'web']);
    expect([...ownedSets(current, 'other')]).toEqual(['x']);
  });

  it('renders a plan for people', () => {
    const plan = planChanges({
      current,
      ownerId: ME,
      desired: new Map([
        ['web', [want('web-0.web', 'A', ['10.0.0.2'])]],
        ['db', [want('x', 'A', ['10.0.1.1'])]],
      ]),
    });
    expect(renderPlan(plan).split('\n')).toEqual([
      'delete _http._tcp.web.example.internal SRV 0 10 80 web-0.web.example.internal ttl 5 [set web]',
      'delete db-0.db.example.internal A 10.0.1.1 ttl 5 [set db]',
      'update web-0.web.example.internal A 10.0.0.1 ttl 5 -> 10.0.0.2 ttl 5 [set web]',
      "conflict x.example.internal A: owned by another Ordinal installation (owner 'other', set 'x') [set db]",
    ]);
    expect(renderPlan({ groups: [], conflicts: [] })).toBe('no changes');
  });
});

function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
