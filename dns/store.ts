// The embedded DNS server's durable records: one SQLite file shared by the worker (which writes a set's
// records through the embedded provider) and the DNS server process (which reads them per query).
// WAL lets the reader keep answering while the writer commits; busy_timeout absorbs brief lock waits.
// A zone is served while it is the default zone, holds records, or is some set's zone (a set declares
// its zone from its first publish, even of no records, until it is released at deletion): a served
// zone answers NXDOMAIN for a missing name, one we do not serve is refused or forwarded.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { compareRecordSets, type RecordSet } from '../core/dns-records.js';
import { inZone, normalizeName, type ZoneView } from './answer.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS zones (
    zone   TEXT PRIMARY KEY,
    serial INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS records (
    owner  TEXT NOT NULL,
    zone   TEXT NOT NULL,
    name   TEXT NOT NULL,
    type   TEXT NOT NULL,
    ttl    INTEGER NOT NULL,
    vals   TEXT NOT NULL, -- JSON array of presentation-format values
    PRIMARY KEY (owner, name, type)
  );
  CREATE INDEX IF NOT EXISTS records_zone ON records (zone);
  CREATE TABLE IF NOT EXISTS set_zones (
    owner  TEXT PRIMARY KEY,
    zone   TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS set_zones_zone ON set_zones (zone);
`;

interface RecordRow {
  owner: string;
  zone: string;
  name: string;
  type: string;
  ttl: number;
  vals: string;
}

export class DnsStore implements ZoneView {
  private readonly statements;
  private cached: { version: number; view: Snapshot } | undefined;
  private readonly load: () => Snapshot;

  private constructor(
    private readonly db: Database.Database,
    readonly defaultZone: string,
    /** The SQLite file: each receiver process of the server opens its own connection to it. */
    readonly file: string,
  ) {
    this.statements = {
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
      ownerRows: db.prepare<[string], RecordRow>(
        'SELECT owner, zone, name, type, ttl, vals FROM records WHERE owner = ? ORDER BY name, type',
      ),
      allRows: db.prepare<[], RecordRow>(
        'SELECT owner, zone, name, type, ttl, vals FROM records ORDER BY name, type, owner',
      ),
      allZones: db.prepare<[], { zone: string; serial: number }>('SELECT zone, serial FROM zones'),
      deleteOwner: db.prepare<[string]>('DELETE FROM records WHERE owner = ?'),
      insert: db.prepare<[string, string, string, string, number, string]>(
        'INSERT INTO records (owner, zone, name, type, ttl, vals) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      zoneHasRecords: db.prepare<[string]>('SELECT 1 FROM records WHERE zone = ? LIMIT 1').pluck(),
      zoneDeclared: db.prepare<[string]>('SELECT 1 FROM set_zones WHERE zone = ? LIMIT 1').pluck(),
      zoneRow: db.prepare<[string]>('SELECT 1 FROM zones WHERE zone = ?').pluck(),
      declaredZone: db.prepare<[string], string>('SELECT zone FROM set_zones WHERE owner = ?').pluck(),
      declare: db.prepare<[string, string]>(
        'INSERT INTO set_zones (owner, zone) VALUES (?, ?) ON CONFLICT (owner) DO UPDATE SET zone = excluded.zone',
      ),
      forget: db.prepare<[string]>('DELETE FROM set_zones WHERE owner = ?'),
      forgetAll: db.prepare('DELETE FROM set_zones'),
      declaredZones: db.prepare<[], string>('SELECT DISTINCT zone FROM set_zones').pluck(),
      // A serial never goes backwards, and starts from the clock so a zone that was emptied and
      // re-created still gets a larger serial than before.
      bumpSerial: db.prepare<[string, number]>(
        'INSERT INTO zones (zone, serial) VALUES (?, ?) ' +
          'ON CONFLICT (zone) DO UPDATE SET serial = max(serial + 1, excluded.serial)',
      ),
      deleteZone: db.prepare<[string]>('DELETE FROM zones WHERE zone = ?'),
      recordZones: db.prepare<[], string>('SELECT DISTINCT zone FROM records').pluck(),
      deleteAll: db.prepare('DELETE FROM records'),
      deleteOtherZones: db.prepare<[string]>('DELETE FROM zones WHERE zone <> ?'),
    };
    // One read transaction, so zones and records come from the same commit.
    this.load = db.transaction(() => {
      const zones = new Map(this.statements.allZones.all().map((z) => [z.zone, z.serial] as const));
      return new Snapshot(zones, this.statements.allRows.all());
    });
  }

  /** Opens (creating if needed) the store at `file`; `defaultZone` always exists. */
  static open(file: string, defaultZone: string): DnsStore {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const db = new Database(file);
    try {
      // busy_timeout first: switching to WAL and creating the schema take locks the other process may hold.
      db.pragma('busy_timeout = 5000');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.exec(SCHEMA);
      // Stores written before set_zones existed: each set declares the zone its records are in.
      db.exec('INSERT OR IGNORE INTO set_zones (owner, zone) SELECT owner, min(zone) FROM records GROUP BY owner');
      const zone = normalizeName(defaultZone);
      db.prepare('INSERT OR IGNORE INTO zones (zone, serial) VALUES (?, ?)').run(zone, clockSerial());
      return new DnsStore(db, zone, file);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /**
   * Makes `records` the complete list of record sets owned by `owner` (in any zone: a set may have moved
   * zones), in one transaction, and `zone` the owner's zone: served from now on even while no record
   * is in it. Bumps the serial of every zone whose content changed; re-applying the same records changes
   * nothing. Throws on a record that is not inside `zone` or is malformed.
   */
  replaceSetRecords(owner: string, zone: string, records: ReadonlyArray<RecordSet>): { changed: boolean } {
    const target = normalizeName(zone);
    const next = records.map((record) => validRecord(record, target)).sort(compareRecordSets);
    const seen = new Set<string>();
    for (const record of next) {
      const key = `${record.name} ${record.type}`;
      if (seen.has(key)) throw new Error(`duplicate record set ${key} for '${owner}'`);
      seen.add(key);
    }

    const replace = this.db.transaction((): { changed: boolean } => {
      const old = this.statements.ownerRows.all(owner);
      const declared = this.statements.declaredZone.get(owner) as string | undefined;
      const zones = new Set([target, ...old.map((row) => row.zone), ...(declared === undefined ? [] : [declared])]);
      const changed = [...zones].filter((z) => {
        const before = old.filter((row) => row.zone === z).map(rowToRecord);
        const after = z === target ? next : [];
        return JSON.stringify(before) !== JSON.stringify(after);
      });
      if (changed.length === 0 && declared === target) return { changed: false };

      this.statements.deleteOwner.run(owner);
      for (const r of next) this.statements.insert.run(owner, target, r.name, r.type, r.ttl, JSON.stringify(r.values));
      this.statements.declare.run(owner, target);
      this.settleZones(zones, changed);
      return { changed: true };
    });
    // IMMEDIATE takes the write lock up front, so the read-then-write cannot deadlock with another writer.
    const result = replace.immediate();
    // data_version does not change for this connection's own commits: drop the snapshot here.
    if (result.changed) this.cached = undefined;
    return result;
  }

  /**
   * Removes the owner's records, wherever they are, and forgets its zone (the set is deleted or no
   * longer publishes here): a zone nothing else keeps is no longer served. Idempotent.
   */
  releaseSet(owner: string): { changed: boolean } {
    const release = this.db.transaction((): { changed: boolean } => {
      const old = this.statements.ownerRows.all(owner);
      const declared = this.statements.declaredZone.get(owner) as string | undefined;
      if (old.length === 0 && declared === undefined) return { changed: false };
      const withRecords = new Set(old.map((row) => row.zone));
      this.statements.deleteOwner.run(owner);
      this.statements.forget.run(owner);
      this.settleZones(new Set([...withRecords, ...(declared === undefined ? [] : [declared])]), [...withRecords]);
      return { changed: true };
    });
    const result = release.immediate();
    if (result.changed) this.cached = undefined;
    return result;
  }

  /**
   * After a write: each of `zones` is served (its row kept, its serial bumped when it is in `changed`
   * or new) or, when nothing keeps it any more, dropped. Inside the write's transaction.
   */
  private settleZones(zones: ReadonlySet<string>, changed: readonly string[]): void {
    for (const z of zones) {
      const served =
        z === this.defaultZone ||
        this.statements.zoneHasRecords.get(z) !== undefined ||
        this.statements.zoneDeclared.get(z) !== undefined;
      if (!served) this.statements.deleteZone.run(z);
      else if (changed.includes(z) || this.statements.zoneRow.get(z) === undefined) this.statements.bumpSerial.run(z, clockSerial());
    }
  }

  /**
   * Removes every set's records and zones (e.g. after a clean shutdown stopped every instance): zones
   * other than the default one go, and the default zone's serial is bumped if it held records.
   */
  clear(): { changed: boolean } {
    const clear = this.db.transaction((): { changed: boolean } => {
      const zones = this.statements.recordZones.all();
      const declared = this.statements.declaredZones.all();
      if (zones.length === 0 && declared.length === 0) return { changed: false };
      this.statements.deleteAll.run();
      this.statements.forgetAll.run();
      this.statements.deleteOtherZones.run(this.defaultZone);
      if (zones.includes(this.defaultZone)) this.statements.bumpSerial.run(this.defaultZone, clockSerial());
      return { changed: true };
    });
    const result = clear.immediate();
    if (result.changed) this.cached = undefined;
    return result;
  }

  /**
   * A consistent, immutable, in-memory view of every zone and record, reloaded only when some
   * connection has committed since the last load (PRAGMA data_version, a check of microseconds).
   * The same object is returned until a reload, so callers may cache what they derive from it.
   */
  view(): ZoneView {
    const version = this.statements.dataVersion.get() as number;
    if (this.cached === undefined || this.cached.version !== version) {
      this.cached = { version, view: this.load() };
    }
    return this.cached.view;
  }

  lookup(name: string): readonly RecordSet[] {
    return this.view().lookup(name);
  }

  findZone(name: string): string | undefined {
    return this.view().findZone(name);
  }

  serial(zone: string): number | undefined {
    return this.view().serial(zone);
  }

  nameExists(name: string): boolean {
    return this.view().nameExists(name);
  }

  close(): void {
    this.db.close();
  }
}

/** An immutable copy of the store's content, indexed for the lookups a query needs. */
class Snapshot implements ZoneView {
  private readonly byName = new Map<string, RecordSet[]>();
  /** Names with records, their ancestors inside the zone (empty non-terminals) and the zone apexes. */
  private readonly existing = new Set<string>();

  constructor(
    private readonly zones: ReadonlyMap<string, number>,
    rows: ReadonlyArray<RecordRow>,
  ) {
    for (const zone of zones.keys()) this.existing.add(zone);
    for (const row of rows) {
      const record = rowToRecord(row);
      const sets = this.byName.get(row.name) ?? [];
      // Two owners may publish the same name and type (e.g. two sets sharing a service name): one RRset.
      const same = sets.find((s) => s.type === record.type);
      if (same) {
        same.values = [...new Set([...same.values, ...record.values])];
        same.ttl = Math.min(same.ttl, record.ttl);
      } else {
        sets.push(record);
      }
      this.byName.set(row.name, sets);
      // Every ancestor up to the apex exists too (empty non-terminals such as _tcp.web.<zone>).
      let name = row.name;
      while (name !== row.zone && inZone(name, row.zone)) {
        this.existing.add(name);
        name = name.slice(name.indexOf('.') + 1);
      }
    }
  }

  lookup(name: string): readonly RecordSet[] {
    return this.byName.get(normalizeName(name)) ?? [];
  }

  findZone(name: string): string | undefined {
    // From the full name up to the last label: the first zone found is the longest.
    let candidate = normalizeName(name);
    for (;;) {
      if (this.zones.has(candidate)) return candidate;
      const dot = candidate.indexOf('.');
      if (dot < 0) return undefined;
      candidate = candidate.slice(dot + 1);
    }
  }

  serial(zone: string): number | undefined {
    return this.zones.get(normalizeName(zone));
  }

  nameExists(name: string): boolean {
    return this.existing.has(normalizeName(name));
  }
}

function rowToRecord(row: RecordRow): RecordSet {
  return { name: row.name, type: row.type as RecordSet['type'], ttl: row.ttl, values: JSON.parse(row.vals) as string[] };
}

const SRV_VALUE = /^(\d+) (\d+) (\d+) (\S+)$/;

/** The record normalized, or an error: nothing that the server could not encode gets stored. */
function validRecord(record: RecordSet, zone: string): RecordSet {
  const name = normalizeName(record.name);
  if (name === '' || !inZone(name, zone)) throw new Error(`record ${record.name} is not inside zone ${zone}`);
  if (record.values.length === 0) throw new Error(`record ${record.name} ${record.type} has no values`);
  if (!Number.isInteger(record.ttl) || record.ttl < 0 || record.ttl > 2 ** 31 - 1) {
    throw new Error(`record ${record.name} has an invalid ttl ${record.ttl}`);
  }
  for (const value of record.values) {
    const valid =
      record.type === 'A'
        ? net.isIPv4(value)
        : record.type === 'SRV'
          ? SRV_VALUE.test(value) && value.split(' ').slice(0, 3).every((n) => Number(n) <= 65535)
          : false;
    if (!valid) throw new Error(`record ${record.name} ${record.type} has an invalid value '${value}'`);
  }
  return { name, type: record.type, ttl: record.ttl, values: [...record.values] };
}

function clockSerial(): number {
  return Math.floor(Date.now() / 1000);
}
