import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RecordSet } from '../../core/dns-records.js';
import { DnsStore } from '../../dns/store.js';
import { EmbeddedDnsProvider } from '../../activities/dns/embedded.js';

const ZONE = 'ordinal.internal';

function webRecords(zone: string, addresses: string[]): RecordSet[] {
  return [
    ...addresses.map((address, i): RecordSet => ({ name: `web-${i}.web.${zone}`, type: 'A', ttl: 5, values: [address] })),
    { name: `web.${zone}`, type: 'A', ttl: 5, values: [...addresses].sort() },
    {
      name: `_http._tcp.web.${zone}`,
      type: 'SRV',
      ttl: 5,
      values: addresses.map((_, i) => `0 10 8080 web-${i}.web.${zone}`),
    },
  ];
}

/** What the store answers at each record's name: equal to `records` when exactly they are served there. */
function served(store: DnsStore, records: ReadonlyArray<RecordSet>): RecordSet[] {
  return records.flatMap((r) => store.lookup(r.name));
}

describe('DnsStore', () => {
  let dir: string;
  let file: string;
  const opened: DnsStore[] = [];
  const open = (defaultZone = ZONE) => {
    const store = DnsStore.open(file, defaultZone);
    opened.push(store);
    return store;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-dns-store-'));
    file = path.join(dir, 'nested', 'dns.db');
  });
  afterEach(() => {
    for (const store of opened.splice(0)) store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates the file and the default zone', () => {
    const store = open();
    expect(fs.existsSync(file)).toBe(true);
    expect(store.findZone(ZONE)).toBe(ZONE);
    expect(store.findZone(`anything.web.${ZONE}`)).toBe(ZONE);
    expect(store.findZone('example.com')).toBeUndefined();
    expect(store.serial(ZONE)).toBeGreaterThan(0);
    expect(store.nameExists(ZONE)).toBe(true);
    expect(store.nameExists(`web.${ZONE}`)).toBe(false);
  });

  it('replaces, reads and looks up a set records', () => {
    const store = open();
    const records = webRecords(ZONE, ['127.77.0.1', '127.77.0.2']);
    expect(store.replaceSetRecords('web', ZONE, records)).toEqual({ changed: true });
    expect(served(store, records)).toEqual(records);
    expect(store.lookup(`web.${ZONE}`)).toEqual([{ name: `web.${ZONE}`, type: 'A', ttl: 5, values: ['127.77.0.1', '127.77.0.2'] }]);
    expect(store.lookup('WEB-1.Web.Ordinal.Internal.')).toEqual([records[1]]);
    expect(store.lookup(`web-2.web.${ZONE}`)).toEqual([]);
    expect(store.lookup(`other.${ZONE}`)).toEqual([]);
    expect(store.nameExists(`other.${ZONE}`)).toBe(false);
  });

  it('knows which names exist, including empty non-terminals', () => {
    const store = open();
    store.replaceSetRecords('web', ZONE, webRecords(ZONE, ['127.77.0.1']));
    for (const name of [ZONE, `web.${ZONE}`, `web-0.web.${ZONE}`, `_tcp.web.${ZONE}`, `_http._tcp.web.${ZONE}`, `_TCP.Web.${ZONE}.`]) {
      expect(store.nameExists(name), name).toBe(true);
    }
    for (const name of [`web-1.web.${ZONE}`, `_udp.web.${ZONE}`, `x.web-0.web.${ZONE}`, 'internal']) {
      expect(store.nameExists(name), name).toBe(false);
    }
  });

  it('is idempotent: the same records change nothing and keep the serial', () => {
    const store = open();
    store.replaceSetRecords('web', ZONE, webRecords(ZONE, ['127.77.0.1']));
    const serial = store.serial(ZONE)!;
    expect(store.replaceSetRecords('web', ZONE, webRecords(ZONE, ['127.77.0.1']))).toEqual({ changed: false });
    // Same content, spelled differently, is the same content.
    const shouted = webRecords(ZONE, ['127.77.0.1']).map((r) => ({ ...r, name: `${r.name.toUpperCase()}.` }));
    expect(store.replaceSetRecords('web', ZONE.toUpperCase(), shouted)).toEqual({ changed: false });
    expect(store.serial(ZONE)).toBe(serial);
  });

  it('bumps the serial of a zone whose content changed, and only that zone', () => {
    const store = open();
    store.replaceSetRecords('web', ZONE, webRecords(ZONE, ['127.77.0.1']));
    store.replaceSetRecords('db', 'other.test', webRecords('other.test', ['127.77.1.1']));
    const web = store.serial(ZONE)!;
    const other = store.serial('other.test')!;

    expect(store.replaceSetRecords('web', ZONE, webRecords(ZONE, ['127.77.0.9']))).toEqual({ changed: true });
    expect(store.serial(ZONE)).toBeGreaterThan(web);
    expect(store.serial('other.test')).toBe(other);

    const ttlOnly = webRecords(ZONE, ['127.77.0.9']).map((r) => ({ ...r, ttl: 60 }));
    const before = store.serial(ZONE)!;
    expect(store.replaceSetRecords('web', ZONE, ttlOnly)).toEqual({ changed: true });
    expect(store.serial(ZONE)).toBeGreaterThan(before);
  });

  it('moves a set between zones, dropping a zone once it is empty', () => {
    const store = open();
    store.replaceSetRecords('web', 'old.test', webRecords('old.test', ['127.77.0.1']));
    expect(store.findZone(`web.old.test`)).toBe('old.test');
    const newSerialBefore = store.serial('new.test');
    expect(newSerialBefore).toBeUndefined();

    expect(store.replaceSetRecords('web', 'new.test', webRecords('new.test', ['127.77.0.1']))).toEqual({ changed: true });
    expect(served(store, webRecords('new.test', ['127.77.0.1']))).toEqual(webRecords('new.test', ['127.77.0.1']));
    expect(served(store, webRecords('old.test', ['127.77.0.1']))).toEqual([]);
    expect(store.lookup('web.old.test')).toEqual([]);
    expect(store.findZone('web.old.test')).toBeUndefined();
    expect(store.serial('old.test')).toBeUndefined();
    expect(store.serial('new.test')).toBeGreaterThan(0);
    expect(store.lookup('web.new.test')).toHaveLength(1);
  });

  it('keeps a zone that another set still uses, bumping its serial', () => {
    const store = open();
    store.replaceSetRecords('a', 'shared.test', [{ name: 'a.shared.test', type: 'A', ttl: 5, values: ['127.77.0.1'] }]);
    store.replaceSetRecords('b', 'shared.test', [{ name: 'b.shared.test', type: 'A', ttl: 5, values: ['127.77.0.2'] }]);
    const serial = store.serial('shared.test')!;
    store.replaceSetRecords('a', 'shared.test', []);
    expect(store.findZone('b.shared.test')).toBe('shared.test');
    expect(store.serial('shared.test')).toBeGreaterThan(serial);
    expect(store.nameExists('a.shared.test')).toBe(false);
  });

  it('keeps the default zone when its last records go, bumping its serial', () => {
    const store = open();
    store.replaceSetRecords('web', ZONE, webRecords(ZONE, ['127.77.0.1']));
    const serial = store.serial(ZONE)!;
    expect(store.replaceSetRecords('web', ZONE, [])).toEqual({ changed: true });
    // No name at or below the service name is left: none of the set's records.
    expect(store.nameExists(`web.${ZONE}`)).toBe(false);
    expect(store.lookup(`web.${ZONE}`)).toEqual([]);
    expect(store.findZone(ZONE)).toBe(ZONE);
    expect(store.serial(ZONE)).toBeGreaterThan(serial);
    expect(store.replaceSetRecords('web', ZONE, [])).toEqual({ changed: false });
  });

  it('clears every set records, keeping only the default zone', () => {
    const store = open();
    store.replaceSetRecords('web', ZONE, webRecords(ZONE, ['127.77.0.1']));
    store.replaceSetRecords('db', 'other.test', webRecords('other.test', ['127.77.1.1']));
    const serial = store.serial(ZONE)!;
    expect(store.clear()).toEqual({ changed: true });
    expect(served(store, webRecords(ZONE, ['127.77.0.1']))).toEqual([]);
    expect(served(store, webRecords('other.test', ['127.77.1.1']))).toEqual([]);
    expect(store.nameExists(`web.${ZONE}`)).toBe(false);
    expect(store.findZone('web.other.test')).toBeUndefined();
    expect(store.findZone(`web.${ZONE}`)).toBe(ZONE);
    expect(store.serial(ZONE)).toBeGreaterThan(serial);
    expect(store.clear()).toEqual({ changed: false });
  });

  it("serves a set's zone from its first publish, even of no records", () => {
    const store = open();
    expect(store.findZone('db-0.db.empty.test')).toBeUndefined();
    expect(store.replaceSetRecords('db', 'Empty.Test.', [])).toEqual({ changed: true });
    expect(store.findZone('db-0.db.empty.test')).toBe('empty.test');
    expect(store.nameExists('empty.test')).toBe(true);
    expect(store.nameExists('db-0.db.empty.test')).toBe(false);
    const serial = store.serial('empty.test')!;
    expect(serial).toBeGreaterThan(0);
    expect(store.replaceSetRecords('db', 'empty.test', [])).toEqual({ changed: false });

    // Records come and go: the zone stays while the set publishes there.
    store.replaceSetRecords('db', 'empty.test', webRecords('empty.test', ['127.77.0.1']));
    store.replaceSetRecords('db', 'empty.test', []);
    expect(store.findZone('web.empty.test')).toBe('empty.test');
    expect(store.serial('empty.test')).toBeGreaterThan(serial);
  });

  it("moves a set's zone with its publishes, and forgets it on release", () => {
    const store = open();
    store.replaceSetRecords('db', 'old.test', []);
    store.replaceSetRecords('db', 'new.test', []);
    expect(store.findZone('x.old.test')).toBeUndefined();
    expect(store.findZone('x.new.test')).toBe('new.test');

    store.replaceSetRecords('other', 'new.test', webRecords('new.test', ['127.77.0.2']));
    store.replaceSetRecords('db', 'new.test', webRecords('new.test', ['127.77.0.1']).slice(0, 1));
    expect(store.releaseSet('db')).toEqual({ changed: true });
    // db's record at web-0 is gone; what other publishes there stays.
    expect(served(store, webRecords('new.test', ['127.77.0.1']))).toEqual(webRecords('new.test', ['127.77.0.2']));
    // Another set still publishes there; once it is released too, nothing keeps the zone.
    expect(store.findZone('x.new.test')).toBe('new.test');
    expect(store.releaseSet('other')).toEqual({ changed: true });
    expect(store.findZone('x.new.test')).toBeUndefined();
    expect(store.serial('new.test')).toBeUndefined();
    expect(store.releaseSet('other')).toEqual({ changed: false });
  });

  it('keeps the default zone when a set in it is released', () => {
    const store = open();
    store.replaceSetRecords('web', ZONE, webRecords(ZONE, ['127.77.0.1']));
    const serial = store.serial(ZONE)!;
    expect(store.releaseSet('web')).toEqual({ changed: true });
    expect(store.findZone(`web.${ZONE}`)).toBe(ZONE);
    expect(store.lookup(`web.${ZONE}`)).toEqual([]);
    expect(store.serial(ZONE)).toBeGreaterThan(serial);
  });

  it('forgets declared zones on clear', () => {
    const store = open();
    store.replaceSetRecords('db', 'empty.test', []);
    expect(store.clear()).toEqual({ changed: true });
    expect(store.findZone('x.empty.test')).toBeUndefined();
    expect(store.clear()).toEqual({ changed: false });
    // The declaration went too: publishing there again is a change that serves the zone again.
    expect(store.replaceSetRecords('db', 'empty.test', [])).toEqual({ changed: true });
    expect(store.findZone('x.empty.test')).toBe('empty.test');
  });

  it('lets a reader see a zone another connection declared', () => {
    const reader = open();
    const writer = open();
    expect(reader.findZone('x.empty.test')).toBeUndefined();
    writer.replaceSetRecords('db', 'empty.test', []);
    expect(reader.findZone('x.empty.test')).toBe('empty.test');
    writer.releaseSet('db');
    expect(reader.findZone('x.empty.test')).toBeUndefined();
  });

  it('declares the zones of sets stored before zones were declared', () => {
    const first = DnsStore.open(file, ZONE);
    first.replaceSetRecords('db', 'other.test', webRecords('other.test', ['127.77.1.1']));
    first.close();
    // What an older version left: records, no declaration.
    const db = new Database(file);
    db.exec('DELETE FROM set_zones');
    db.close();
    const store = open();
    // Declared: the same records in the same zone change nothing.
    expect(store.replaceSetRecords('db', 'other.test', webRecords('other.test', ['127.77.1.1']))).toEqual({ changed: false });
  });

  it('merges record sets that two owners publish at the same name and type', () => {
    const store = open();
    store.replaceSetRecords('a', ZONE, [{ name: `shared.${ZONE}`, type: 'A', ttl: 30, values: ['127.77.0.1'] }]);
    store.replaceSetRecords('b', ZONE, [{ name: `shared.${ZONE}`, type: 'A', ttl: 5, values: ['127.77.0.2', '127.77.0.1'] }]);
    expect(store.lookup(`shared.${ZONE}`)).toEqual([{ name: `shared.${ZONE}`, type: 'A', ttl: 5, values: ['127.77.0.1', '127.77.0.2'] }]);
  });

  it('finds the longest zone containing a name', () => {
    const store = open();
    store.replaceSetRecords('outer', 'a.test', [{ name: 'x.a.test', type: 'A', ttl: 5, values: ['127.77.0.1'] }]);
    store.replaceSetRecords('inner', 'sub.a.test', [{ name: 'y.sub.a.test', type: 'A', ttl: 5, values: ['127.77.0.2'] }]);
    expect(store.findZone('y.sub.a.test')).toBe('sub.a.test');
    expect(store.findZone('SUB.A.TEST.')).toBe('sub.a.test');
    expect(store.findZone('x.a.test')).toBe('a.test');
    expect(store.findZone('xsub.a.test')).toBe('a.test');
    expect(store.findZone('test')).toBeUndefined();
  });

  it.each([
    { what: 'a name outside the zone', record: { name: 'web.example.com', type: 'A', ttl: 5, values: ['127.0.0.1'] } },
    { what: 'a name that only ends like the zone', record: { name: `x${ZONE}`, type: 'A', ttl: 5, values: ['127.0.0.1'] } },
    { what: 'an invalid address', record: { name: `web.${ZONE}`, type: 'A', ttl: 5, values: ['127.0.0.256'] } },
    { what: 'an invalid SRV value', record: { name: `_x._tcp.${ZONE}`, type: 'SRV', ttl: 5, values: ['0 10 web.x'] } },
    { what: 'an SRV port out of range', record: { name: `_x._tcp.${ZONE}`, type: 'SRV', ttl: 5, values: ['0 10 70000 web.x'] } },
    { what: 'no values', record: { name: `web.${ZONE}`, type: 'A', ttl: 5, values: [] } },
    { what: 'a negative ttl', record: { name: `web.${ZONE}`, type: 'A', ttl: -1, values: ['127.0.0.1'] } },
    { what: 'an unsupported type', record: { name: `web.${ZONE}`, type: 'TXT', ttl: 5, values: ['hi'] } },
  ])('rejects $what and stores nothing', ({ record }) => {
    const store = open();
    store.replaceSetRecords('web', ZONE, webRecords(ZONE, ['127.77.0.1']));
    const names = [...new Set([...webRecords(ZONE, ['127.77.0.1']).map((r) => r.name), record.name])];
    const now = () => ({ records: names.map((name) => store.lookup(name)), serial: store.serial(ZONE) });
    const before = now();
    expect(() => store.replaceSetRecords('web', ZONE, [record as RecordSet])).toThrow();
    expect(now()).toEqual(before);
    expect(before.records.flat()).toEqual(webRecords(ZONE, ['127.77.0.1']));
  });

  it('rejects two record sets with the same name and type in one set', () => {
    const store = open();
    const a: RecordSet = { name: `web.${ZONE}`, type: 'A', ttl: 5, values: ['127.77.0.1'] };
    expect(() => store.replaceSetRecords('web', ZONE, [a, { ...a, values: ['127.77.0.2'] }])).toThrow(/duplicate/);
  });

  it('keeps everything across close and reopen', () => {
    const first = DnsStore.open(file, ZONE);
    first.replaceSetRecords('web', ZONE, webRecords(ZONE, ['127.77.0.1', '127.77.0.2']));
    first.replaceSetRecords('db', 'other.test', webRecords('other.test', ['127.77.1.1']));
    const web = webRecords(ZONE, ['127.77.0.1', '127.77.0.2']);
    const db = webRecords('other.test', ['127.77.1.1']);
    const before = { web: served(first, web), db: served(first, db), serials: [first.serial(ZONE), first.serial('other.test')] };
    expect([before.web, before.db]).toEqual([web, db]);
    first.close();

    const second = open();
    expect({ web: served(second, web), db: served(second, db), serials: [second.serial(ZONE), second.serial('other.test')] }).toEqual(before);
    expect(second.lookup(`web.${ZONE}`)[0].values).toEqual(['127.77.0.1', '127.77.0.2']);
  });

  it('lets a reader see what another connection on the same file writes', () => {
    const reader = open();
    const writer = open();
    // The reader caches a snapshot first, so this checks that it notices the other connection's commit.
    expect(reader.lookup(`web.${ZONE}`)).toEqual([]);
    const serial = reader.serial(ZONE)!;

    writer.replaceSetRecords('web', ZONE, webRecords(ZONE, ['127.77.0.1']));
    expect(reader.lookup(`web.${ZONE}`)[0].values).toEqual(['127.77.0.1']);
    expect(reader.serial(ZONE)).toBeGreaterThan(serial);

    writer.replaceSetRecords('web', ZONE, webRecords(ZONE, ['127.77.0.5']));
    expect(reader.lookup(`web-0.web.${ZONE}`)[0].values).toEqual(['127.77.0.5']);
    expect(reader.view().nameExists(`_tcp.web.${ZONE}`)).toBe(true);

    writer.replaceSetRecords('web', ZONE, []);
    expect(reader.nameExists(`web.${ZONE}`)).toBe(false);
  });

  it('returns the same snapshot until another connection commits', () => {
    const reader = open();
    const writer = open();
    const before = reader.view();
    expect(reader.view()).toBe(before);
    writer.replaceSetRecords('web', ZONE, webRecords(ZONE, ['127.77.0.1']));
    const after = reader.view();
    expect(after).not.toBe(before);
    expect(after.lookup(`web.${ZONE}`)).toHaveLength(1);
    // Unchanged content: the same snapshot, not a reload.
    expect(reader.view()).toBe(after);
  });

  it('sees its own writes at once', () => {
    const store = open();
    expect(store.lookup(`web.${ZONE}`)).toEqual([]);
    store.replaceSetRecords('web', ZONE, webRecords(ZONE, ['127.77.0.1']));
    expect(store.lookup(`web.${ZONE}`)).toHaveLength(1);
  });
});

describe('EmbeddedDnsProvider', () => {
  it("publishes a set's records into the store the DNS server answers from", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-dns-provider-'));
    const store = DnsStore.open(path.join(dir, 'dns.db'), ZONE);
    try {
      const provider = new EmbeddedDnsProvider(store);
      const records = webRecords(ZONE, ['127.77.0.1']);
      await provider.apply('web', { provider: 'embedded', zone: ZONE }, records);
      await provider.apply('web', { provider: 'embedded', zone: ZONE }, records);
      // Applied twice, served once: each name answers with exactly the set's record.
      expect(records.flatMap((r) => store.lookup(r.name))).toEqual(records);
      await expect(provider.apply('web', { provider: 'embedded', zone: ZONE }, webRecords('elsewhere.test', ['127.77.0.1']))).rejects.toThrow(/not inside zone/);
      await provider.apply('web', { provider: 'embedded', zone: ZONE }, []);
      expect(records.flatMap((r) => store.lookup(r.name))).toEqual([]);

      // A zone with no records yet is served from the first publish, until the set is released.
      await provider.apply('db', { provider: 'embedded', zone: 'empty.test' }, []);
      expect(store.findZone('db-0.db.empty.test')).toBe('empty.test');
      await expect(provider.apply('db', { provider: 'embedded', zone: 'empty.test' }, records, { release: true })).rejects.toThrow(/publishes none/);
      await provider.apply('db', { provider: 'embedded', zone: 'empty.test' }, [], { release: true });
      expect(store.findZone('db-0.db.empty.test')).toBeUndefined();
    } finally {
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
