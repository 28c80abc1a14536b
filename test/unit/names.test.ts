import { describe, expect, it } from 'vitest';
import {
  DNS1123_LABEL_MAX,
  ENV_NAME,
  SET_NAME_MAX,
  instanceDnsName,
  instanceName,
  isDns1123Label,
  isDnsZone,
  isPortName,
  serviceDnsName,
  workflowIdForSet,
} from '../../core/names.js';

describe('names: constants', () => {
  it('a label is at most 63 characters', () => expect(DNS1123_LABEL_MAX).toBe(63));
  it('a set name leaves room for "-<ordinal>" up to 999 and more', () => {
    expect(SET_NAME_MAX).toBe(52);
    expect(isDns1123Label(instanceName('a'.repeat(SET_NAME_MAX), 999))).toBe(true);
  });
});

describe('isDns1123Label', () => {
  const cases: Array<[string, boolean, string]> = [
    ['web', true, 'lowercase letters'],
    ['a', true, 'one letter'],
    ['0', true, 'one digit'],
    ['123', true, 'digits only'],
    ['web-0', true, 'with a dash'],
    ['my-web-app', true, 'several dashes'],
    ['a--b', true, 'a double dash inside'],
    ['9lives', true, 'leading digit'],
    ['a'.repeat(63), true, '63 characters'],
    ['a'.repeat(64), false, '64 characters'],
    ['', false, 'empty'],
    ['Web', false, 'uppercase'],
    ['WEB', false, 'all uppercase'],
    ['my_web', false, 'underscore'],
    ['-web', false, 'leading dash'],
    ['web-', false, 'trailing dash'],
    ['-', false, 'a dash alone'],
    ['web.app', false, 'a dot'],
    ['web app', false, 'a space'],
    ['wéb', false, 'non-ASCII'],
    ['web\n', false, 'a trailing newline'],
    ['web/0', false, 'a slash'],
  ];
  for (const [value, expected, why] of cases) {
    it(`${JSON.stringify(value.length > 20 ? `${value.slice(0, 8)}...(${value.length})` : value)} (${why}) -> ${expected}`, () => {
      expect(isDns1123Label(value)).toBe(expected);
    });
  }
});

describe('isPortName', () => {
  const cases: Array<[string, boolean, string]> = [
    ['http', true, 'letters'],
    ['h', true, 'one letter'],
    ['h2', true, 'letter and digit'],
    ['2h', true, 'leading digit'],
    ['grpc-web', true, 'a dash'],
    ['a1-b2-c3', true, 'several dashes'],
    ['a'.repeat(15), true, '15 characters'],
    ['a'.repeat(16), false, '16 characters'],
    ['', false, 'empty'],
    ['8080', false, 'no letter'],
    ['1-2', false, 'digits and a dash, no letter'],
    ['Http', false, 'uppercase'],
    ['HTTP', false, 'all uppercase'],
    ['a--b', false, "'--'"],
    ['-http', false, 'leading dash'],
    ['http-', false, 'trailing dash'],
    ['-', false, 'a dash alone'],
    ['my_port', false, 'underscore'],
    ['my.port', false, 'a dot'],
    ['my port', false, 'a space'],
  ];
  for (const [value, expected, why] of cases) {
    it(`${JSON.stringify(value)} (${why}) -> ${expected}`, () => {
      expect(isPortName(value)).toBe(expected);
    });
  }
});

describe('isDnsZone', () => {
  const label63 = 'a'.repeat(63);
  const cases: Array<[string, boolean, string]> = [
    ['ordinal.internal', true, 'the default'],
    ['internal', true, 'one label'],
    ['a.b.c.d.e', true, 'many labels'],
    ['svc-1.example-2.test', true, 'dashes and digits'],
    ['1.2.3', true, 'numeric labels'],
    [`${label63}.test`, true, 'a 63-character label'],
    [`${'a'.repeat(64)}.test`, false, 'a 64-character label'],
    [`${label63}.${label63}.${label63}.${'a'.repeat(61)}`, true, 'exactly 253 characters'],
    [`${label63}.${label63}.${label63}.${'a'.repeat(62)}`, false, '254 characters'],
    ['', false, 'empty'],
    ['.', false, 'the root'],
    ['ordinal.internal.', false, 'a trailing dot'],
    ['.ordinal.internal', false, 'a leading dot'],
    ['ordinal..internal', false, 'an empty label'],
    ['Ordinal.internal', false, 'uppercase'],
    ['ordinal.INTERNAL', false, 'uppercase TLD'],
    ['-ordinal.internal', false, 'a label with a leading dash'],
    ['ordinal-.internal', false, 'a label with a trailing dash'],
    ['ord_inal.internal', false, 'underscore'],
    ['ordinal internal', false, 'a space'],
    ['*.internal', false, 'a wildcard'],
  ];
  for (const [value, expected, why] of cases) {
    it(`${why} (${value.length} characters) -> ${expected}`, () => {
      expect(isDnsZone(value)).toBe(expected);
    });
  }
});

describe('ENV_NAME', () => {
  const cases: Array<[string, boolean]> = [
    ['A', true],
    ['_', true],
    ['PATH', true],
    ['my_var_2', true],
    ['_1', true],
    ['1A', false],
    ['A-B', false],
    ['A B', false],
    ['', false],
    ['A=B', false],
    ['Ä', false],
  ];
  for (const [value, expected] of cases) {
    it(`${JSON.stringify(value)} -> ${expected}`, () => expect(ENV_NAME.test(value)).toBe(expected));
  }
});

describe('names derived from a set', () => {
  const cases: Array<{ set: string; ordinal: number; service: string; zone: string; instance: string; dns: string; serviceDns: string }> = [
    { set: 'web', ordinal: 0, service: 'web', zone: 'ordinal.internal', instance: 'web-0', dns: 'web-0.web.ordinal.internal', serviceDns: 'web.ordinal.internal' },
    { set: 'web', ordinal: 2, service: 'web', zone: 'ordinal.internal', instance: 'web-2', dns: 'web-2.web.ordinal.internal', serviceDns: 'web.ordinal.internal' },
    { set: 'web', ordinal: 10, service: 'web', zone: 'ordinal.internal', instance: 'web-10', dns: 'web-10.web.ordinal.internal', serviceDns: 'web.ordinal.internal' },
    { set: 'db', ordinal: 1, service: 'db-headless', zone: 'ordinal.internal', instance: 'db-1', dns: 'db-1.db-headless.ordinal.internal', serviceDns: 'db-headless.ordinal.internal' },
    { set: 'kafka', ordinal: 999, service: 'broker', zone: 'prod.example.com', instance: 'kafka-999', dns: 'kafka-999.broker.prod.example.com', serviceDns: 'broker.prod.example.com' },
    { set: 'x', ordinal: 0, service: 'x', zone: 'internal', instance: 'x-0', dns: 'x-0.x.internal', serviceDns: 'x.internal' },
    { set: 'web-1', ordinal: 1, service: 'web-1', zone: 'test', instance: 'web-1-1', dns: 'web-1-1.web-1.test', serviceDns: 'web-1.test' },
  ];
  for (const c of cases) {
    it(`${c.set}/${c.ordinal} in ${c.service}.${c.zone}`, () => {
      expect(instanceName(c.set, c.ordinal)).toBe(c.instance);
      expect(instanceDnsName(c.set, c.ordinal, c.service, c.zone)).toBe(c.dns);
      expect(serviceDnsName(c.service, c.zone)).toBe(c.serviceDns);
      // The instance name is the first label of its DNS name, under the service name.
      expect(c.dns).toBe(`${c.instance}.${c.serviceDns}`);
    });
  }
});

describe('workflow ids', () => {
  const sets = ['web', 'a', 'db-0', 'my-long-set-name', 'a'.repeat(52), '123'];
  for (const set of sets) {
    it(`statefulset/${set}`, () => {
      expect(workflowIdForSet(set)).toBe(`statefulset/${set}`);
    });
  }
});
