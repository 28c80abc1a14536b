import { describe, expect, it } from 'vitest';
import {
  OWNERSHIP_NAME_OVERHEAD,
  formatOwnership,
  isValidOwnerId,
  ownedRecordOf,
  ownershipName,
  ownershipRecord,
  parseOwnership,
  txtText,
} from '../../activities/dns/route53/ownership.js';

describe('ownership names', () => {
  const cases: Array<{ name: string; type: string; expected: string }> = [
    { name: 'web-0.web.example.internal', type: 'A', expected: '_ordinal-a.web-0.web.example.internal' },
    { name: 'web.example.internal', type: 'A', expected: '_ordinal-a.web.example.internal' },
    { name: '_http._tcp.web.example.internal', type: 'SRV', expected: '_ordinal-srv._http._tcp.web.example.internal' },
    { name: 'db-0.db.example.internal', type: 'AAAA', expected: '_ordinal-aaaa.db-0.db.example.internal' },
  ];
  for (const c of cases) {
    it(`${c.name} ${c.type} -> ${c.expected}, and back`, () => {
      expect(ownershipName(c.name, c.type)).toBe(c.expected);
      expect(ownedRecordOf(c.expected)).toEqual({ name: c.name, type: c.type });
    });
  }

  it('adds a label instead of changing the first one, so no label grows past 63 characters', () => {
    const label = 'a'.repeat(63);
    const name = ownershipName(`${label}.example.internal`, 'A');
    expect(name.split('.').every((l) => l.length <= 63)).toBe(true);
    expect(name.length - `${label}.example.internal`.length).toBeLessThanOrEqual(OWNERSHIP_NAME_OVERHEAD);
  });

  it('A and SRV (and AAAA) ownership names never collide', () => {
    const names = ['A', 'SRV', 'AAAA'].map((t) => ownershipName('x.example.internal', t));
    expect(new Set(names).size).toBe(3);
  });

  const notOwnership = ['web-0.web.example.internal', '_http._tcp.web.example.internal', '_ordinal.web.example.internal', '_ordinal-a', 'x._ordinal-a.web.example.internal'];
  for (const name of notOwnership) {
    it(`${name} is not an ownership name`, () => {
      expect(ownedRecordOf(name)).toBeUndefined();
    });
  }
});

describe('ownership values', () => {
  it('formats a quoted TXT value', () => {
    expect(formatOwnership({ owner: 'prod-eu', set: 'web' })).toBe('"heritage=ordinal,owner=prod-eu,set=web"');
  });

  it('builds the TXT record set beside a record set', () => {
    expect(ownershipRecord({ name: 'web-0.web.z', type: 'A', ttl: 30 }, { owner: 'o', set: 'web' })).toEqual({
      name: '_ordinal-a.web-0.web.z',
      type: 'TXT',
      ttl: 30,
      values: ['"heritage=ordinal,owner=o,set=web"'],
    });
  });

  it('refuses owner ids and set names that would break the value', () => {
    for (const owner of ['', 'a,b', 'a=b', 'a"b', 'a b', '-x', 'x'.repeat(64)]) {
      expect(isValidOwnerId(owner), owner).toBe(false);
      expect(() => formatOwnership({ owner, set: 'web' })).toThrow(/owner id/);
    }
    expect(() => formatOwnership({ owner: 'o', set: 'a,b' })).toThrow(/set name/);
    for (const owner of ['ordinal', 'prod-eu-1', 'team.a_b', 'A1']) expect(isValidOwnerId(owner), owner).toBe(true);
  });

  const parses: Array<{ name: string; values: string[]; expected: { owner: string; set: string } | undefined }> = [
    { name: 'what we write', values: ['"heritage=ordinal,owner=o,set=web"'], expected: { owner: 'o', set: 'web' } },
    { name: 'keys in another order, spaces, extra keys', values: ['"set=web, owner=o ,heritage=ordinal,version=2"'], expected: { owner: 'o', set: 'web' } },
    { name: 'split into several character-strings', values: ['"heritage=ordinal," "owner=o,set=web"'], expected: { owner: 'o', set: 'web' } },
    { name: 'escaped quotes and octal escapes', values: ['"heritage\\075ordinal,owner=o,set=\\"web\\""'], expected: { owner: 'o', set: '"web"' } },
    { name: 'unquoted', values: ['heritage=ordinal,owner=o,set=web'], expected: { owner: 'o', set: 'web' } },
    { name: 'the second value is ours', values: ['"v=spf1 -all"', '"heritage=ordinal,owner=o,set=web"'], expected: { owner: 'o', set: 'web' } },
    { name: "external-dns's heritage is not ours", values: ['"heritage=external-dns,external-dns/owner=default"'], expected: undefined },
    { name: 'no owner', values: ['"heritage=ordinal,set=web"'], expected: undefined },
    { name: 'no set', values: ['"heritage=ordinal,owner=o"'], expected: undefined },
    { name: 'empty owner', values: ['"heritage=ordinal,owner=,set=web"'], expected: undefined },
    { name: 'someone else entirely', values: ['"google-site-verification=abc"'], expected: undefined },
    { name: 'no values', values: [], expected: undefined },
  ];
  for (const c of parses) {
    it(`parses: ${c.name}`, () => {
      expect(parseOwnership(c.values)).toEqual(c.expected);
    });
  }

  it('round-trips', () => {
    const ownership = { owner: 'team.a_b-1', set: 'kv' };
    expect(parseOwnership([formatOwnership(ownership)])).toEqual(ownership);
  });

  it('reads TXT text as Route 53 returns it', () => {
    expect(txtText('"a" "b"')).toBe('ab');
    expect(txtText('"a\\"b"')).toBe('a"b');
    expect(txtText('"a\\\\b"')).toBe('a\\b');
    expect(txtText('"\\065"')).toBe('5');
  });
});
