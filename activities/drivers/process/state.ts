// The process driver's durable state: one SQLite row per identity (its current incarnation, address,
// pid and start time) and the address allocator's cursor, in <dataDir>/instances.db. The state only
// remembers; /proc has the last word. When the file is removed, replaced or corrupt, the store opens a
// fresh one and fills it with the rows `recover` gives (the processes that actually run).
import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { Logger } from '../../../infra/logger.js';
import { allocate, offsetOf, type AddressPool } from '../address-pool.js';
import { DriverError, type InstanceHandle } from '../driver.js';

export interface Row {
  set_name: string;
  ordinal: number;
  incarnation: number;
  revision: string;
  address: string;
  /** NULL while the spawn is in flight: the intent row written before spawning. */
  pid: number | null;
  start_time: string | null;
  started_at: number;
  log_path: string;
  /** The incarnation's own grace period, used when a newer create has to replace it; NULL when unknown. */
  grace_ms: number | null;
}

/** An intent row before it has an address: the spawn fills in address, then pid and start time. */
export type Intent = Omit<Row, 'address' | 'pid' | 'start_time'>;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS instances (
  set_name TEXT NOT NULL,
  ordinal INTEGER NOT NULL,
  incarnation INTEGER NOT NULL,
  revision TEXT NOT NULL,
  address TEXT NOT NULL,
  pid INTEGER,
  start_time TEXT,
  started_at INTEGER NOT NULL,
  log_path TEXT NOT NULL,
  grace_ms INTEGER,
  PRIMARY KEY (set_name, ordinal)
) STRICT;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
`;

export interface InstanceStateOptions {
  dbPath: string;
  pool: AddressPool;
  log: Logger;
  /** The rows a fresh state starts with: every running instance of the data dir, newest incarnation of each identity. */
  recover: () => Row[];
}

export class InstanceState {
  private readonly dbPath: string;
  private readonly pool: AddressPool;
  private readonly log: Logger;
  private readonly recover: () => Row[];
  private db!: Database.Database;
  private dbInode = 0;

  constructor(options: InstanceStateOptions) {
    this.dbPath = options.dbPath;
    this.pool = options.pool;
    this.log = options.log;
    this.recover = options.recover;
    this.openDb();
  }

  get(set: string, ordinal: number): Row | undefined {
    return this.withDb(
      (db) => db.prepare('SELECT * FROM instances WHERE set_name = ? AND ordinal = ?').get(set, ordinal) as Row | undefined,
    );
  }

  /** A set's rows, by ordinal. */
  list(set: string): Row[] {
    return this.withDb((db) => db.prepare('SELECT * FROM instances WHERE set_name = ? ORDER BY ordinal').all(set)) as Row[];
  }

  /** Every identity the state records. */
  identities(): Array<Pick<Row, 'set_name' | 'ordinal'>> {
    return this.withDb((db) => db.prepare('SELECT set_name, ordinal FROM instances').all()) as Row[];
  }

  /** Records `row` as its identity's current incarnation, replacing what was recorded. */
  put(row: Row): void {
    this.withDb((db) => insert(db, row));
  }

  /**
   * Records the intent to spawn, before spawning, so that a crash in between leaves a record: at
   * `address`, or at the pool's next free address. Returns the address.
   */
  recordIntent(intent: Intent, address: string | undefined): string {
    return this.withDb((db) =>
      db
        .transaction(() => {
          const picked = address ?? this.allocateAddress(db);
          insert(db, { ...intent, address: picked, pid: null, start_time: null });
          return picked;
        })
        .immediate(),
    );
  }

  /** Fills in the pid and start time of a spawned incarnation. */
  recordPid(set: string, ordinal: number, incarnation: number, pid: number, startTime: string): void {
    this.withDb((db) =>
      db
        .prepare('UPDATE instances SET pid = ?, start_time = ? WHERE set_name = ? AND ordinal = ? AND incarnation = ?')
        .run(pid, startTime, set, ordinal, incarnation),
    );
  }

  remove(set: string, ordinal: number): void {
    this.withDb((db) => db.prepare('DELETE FROM instances WHERE set_name = ? AND ordinal = ?').run(set, ordinal));
  }

  /** Removes the identity's intent row, if it is one (a spawn that failed). */
  removeIntent(set: string, ordinal: number): void {
    this.withDb((db) => db.prepare('DELETE FROM instances WHERE set_name = ? AND ordinal = ? AND pid IS NULL').run(set, ordinal));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Next address from the pool, skipping those recorded for any instance; runs inside a write transaction. */
  private allocateAddress(db: Database.Database): string {
    const cursor = Number(db.prepare("SELECT value FROM meta WHERE key = 'address_cursor'").pluck().get() ?? 0);
    const inUse = new Set(db.prepare('SELECT address FROM instances').pluck().all() as string[]);
    let picked: { address: string; cursor: number };
    try {
      picked = allocate(this.pool, cursor, inUse);
    } catch (err) {
      throw new DriverError((err as Error).message, true);
    }
    db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('address_cursor', ?)").run(String(picked.cursor));
    return picked.address;
  }

  /**
   * Runs a statement against the state, reopening it when the file was removed or replaced, and moving
   * it aside and rebuilding it from /proc when it is corrupt.
   */
  private withDb<T>(fn: (db: Database.Database) => T): T {
    let inode = 0;
    try {
      inode = fs.statSync(this.dbPath).ino;
    } catch {
      // removed: reopened below
    }
    if (inode !== this.dbInode) {
      this.log.error({ path: this.dbPath }, 'instance state file was removed or replaced; rebuilding it from the running processes');
      this.db.close();
      this.openDb();
    }
    try {
      return fn(this.db);
    } catch (err) {
      if (!isCorrupt(err)) throw err;
      this.db.close();
      this.quarantine(err);
      this.openDb();
      return fn(this.db);
    }
  }

  private openDb(): void {
    try {
      this.db = this.connect();
    } catch (err) {
      if (!isCorrupt(err)) throw err;
      this.quarantine(err);
      this.db = this.connect();
    }
    this.dbInode = fs.statSync(this.dbPath).ino;
    // A fresh state file (first start, or after removal or corruption): record what already runs.
    const initialized = this.db.prepare("SELECT 1 FROM meta WHERE key = 'initialized'").get();
    if (!initialized) {
      this.rebuild();
      this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('initialized', ?)").run(new Date().toISOString());
    }
  }

  private connect(): Database.Database {
    const db = new Database(this.dbPath);
    try {
      db.pragma('busy_timeout = 5000');
      db.pragma('journal_mode = WAL');
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw Object.assign(new Error(`quick_check: ${String(check)}`), { code: 'SQLITE_CORRUPT' });
      db.exec(SCHEMA);
      return db;
    } catch (err) {
      db.close();
      throw err;
    }
  }

  private quarantine(err: unknown): void {
    const aside = `${this.dbPath}.corrupt-${Date.now()}`;
    this.log.error(
      { err, path: this.dbPath, movedTo: aside },
      'instance state is corrupt; moving it aside and rebuilding it from the running processes',
    );
    for (const suffix of ['', '-wal', '-shm']) {
      try {
        fs.renameSync(this.dbPath + suffix, aside + suffix);
      } catch {
        // not there
      }
    }
  }

  /** Fills an empty state with the recovered rows, and moves the address cursor past their addresses. */
  private rebuild(): void {
    const rows = this.recover();
    let cursor = 0;
    for (const row of rows) {
      insert(this.db, row);
      cursor = Math.max(cursor, (offsetOf(this.pool, row.address) ?? -1) + 1);
    }
    if (rows.length > 0) {
      this.db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('address_cursor', ?)").run(String(cursor));
    }
  }
}

/** The one way a row gets in. */
function insert(db: Database.Database, row: Row): void {
  db.prepare(
    `INSERT OR REPLACE INTO instances (set_name, ordinal, incarnation, revision, address, pid, start_time, started_at, log_path, grace_ms)
     VALUES (@set_name, @ordinal, @incarnation, @revision, @address, @pid, @start_time, @started_at, @log_path, @grace_ms)`,
  ).run(row);
}

export function toHandle(row: Row): InstanceHandle {
  return {
    set: row.set_name,
    ordinal: row.ordinal,
    incarnation: row.incarnation,
    revision: row.revision,
    address: row.address,
    pid: row.pid ?? 0,
    startedAt: row.started_at,
    logPath: row.log_path,
  };
}

function isCorrupt(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}
