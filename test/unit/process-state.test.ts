import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePool } from '../../activities/drivers/address-pool.js';
import { DriverError } from '../../activities/drivers/driver.js';
import { InstanceState, toHandle, type Row } from '../../activities/drivers/process/state.js';

const stores: InstanceState[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function open(options: { pool?: string; recover?: () => Row[]; dbPath?: string } = {}) {
  let dbPath = options.dbPath;
  if (dbPath === undefined) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-process-state-'));
    dirs.push(dir);
    dbPath = path.join(dir, 'instances.db');
  }
  let recovered = 0;
  const store = new InstanceState({
    dbPath,
    pool: parsePool(options.pool ?? '127.90.0.0/24'),
    log: pino({ level: 'silent' }),
    recover: () => {
      recovered++;
      return options.recover?.() ?? [];
    },
  });
  stores.push(store);
  return { store, dbPath, recovered: () => recovered };
}

function row(ordinal: number, overrides: Partial<Row> = {}): Row {
  return {
    set_name: 'web',
    ordinal,
    incarnation: 3,
    revision: 'web-abc',
    address: `127.90.0.${10 + ordinal}`,
    pid: 4242,
    start_time: '987654',
    started_at: 1_700_000_000_000,
    log_path: `/data/logs/web-${ordinal}.log`,
    grace_ms: 30_000,
    ...overrides,
  };
}

describe('InstanceState', () => {
  it('keeps every column of a row as put, nulls included, and replaces the identity on the next put', () => {
    const { store } = open();
    store.put(row(0));
    store.put(row(1, { pid: null, start_time: null, grace_ms: null }));
    expect(store.get('web', 0)).toEqual(row(0));
    expect(store.get('web', 1)).toEqual(row(1, { pid: null, start_time: null, grace_ms: null }));
    store.put(row(0, { incarnation: 4, revision: 'web-def', pid: 5151 }));
    expect(store.get('web', 0)).toEqual(row(0, { incarnation: 4, revision: 'web-def', pid: 5151 }));
    expect(store.list('web').map((r) => r.ordinal)).toEqual([0, 1]);
    expect(store.list('db')).toEqual([]);
    expect(store.identities()).toHaveLength(2);
  });

  it('records an intent at the next free address, or at the one given, then its pid', () => {
    const { store } = open();
    const intent = { set_name: 'web', ordinal: 0, incarnation: 1, revision: 'r', started_at: 1, log_path: '/l', grace_ms: 5_000 };
    const first = store.recordIntent(intent, undefined);
    const second = store.recordIntent({ ...intent, ordinal: 1 }, undefined);
    expect(second).not.toBe(first);
    expect(store.get('web', 0)).toEqual({ ...intent, address: first, pid: null, start_time: null });
    // A retried intent keeps its address.
    expect(store.recordIntent({ ...intent, incarnation: 2 }, first)).toBe(first);
    store.recordPid('web', 0, 2, 777, '123');
    expect(store.get('web', 0)).toMatchObject({ incarnation: 2, pid: 777, start_time: '123' });
    // The pid of another incarnation is not recorded over this one.
    store.recordPid('web', 0, 1, 888, '456');
    expect(store.get('web', 0)?.pid).toBe(777);
  });

  it('removes an intent row only while it has no pid', () => {
    const { store } = open();
    store.put(row(0));
    store.put(row(1, { pid: null, start_time: null }));
    store.removeIntent('web', 0);
    store.removeIntent('web', 1);
    expect(store.get('web', 0)).toEqual(row(0));
    expect(store.get('web', 1)).toBeUndefined();
    store.remove('web', 0);
    expect(store.get('web', 0)).toBeUndefined();
  });

  it('fails retryably when the pool is exhausted', () => {
    const { store } = open({ pool: '127.90.0.0/30' });
    const intent = { set_name: 'web', ordinal: 0, incarnation: 1, revision: 'r', started_at: 1, log_path: '/l', grace_ms: null };
    const taken: string[] = [];
    let error: unknown;
    for (let ordinal = 0; ordinal < 8 && error === undefined; ordinal++) {
      try {
        taken.push(store.recordIntent({ ...intent, ordinal }, undefined));
      } catch (err) {
        error = err;
      }
    }
    expect(new Set(taken).size).toBe(taken.length);
    expect(error).toBeInstanceOf(DriverError);
    expect((error as DriverError).retryable).toBe(true);
  });

  it('starts a fresh state from the recovered rows, once, and allocates past their addresses', () => {
    const recovered = [row(0, { address: '127.90.0.20', grace_ms: null })];
    const { store, dbPath, recovered: calls } = open({ recover: () => recovered });
    expect(calls()).toBe(1);
    expect(store.get('web', 0)).toEqual(recovered[0]);
    const intent = { set_name: 'web', ordinal: 1, incarnation: 1, revision: 'r', started_at: 1, log_path: '/l', grace_ms: null };
    expect(store.recordIntent(intent, undefined)).toBe('127.90.0.21');
    store.close();
    // Reopening a state that was initialized does not recover again.
    const again = open({ dbPath, recover: () => [row(5)] });
    expect(again.recovered()).toBe(0);
    expect(again.store.get('web', 5)).toBeUndefined();
  });

  it('rebuilds from the recovered rows when its file is removed under it, or corrupt', () => {
    let recovered: Row[] = [];
    const { store, dbPath, recovered: calls } = open({ recover: () => recovered });
    store.put(row(0));
    recovered = [row(1)];
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(dbPath + suffix, { force: true });
    expect(store.get('web', 0)).toBeUndefined();
    expect(store.get('web', 1)).toEqual(row(1));
    expect(calls()).toBe(2);

    store.close();
    fs.writeFileSync(dbPath, 'not a database at all, but long enough to be read as one '.repeat(100));
    for (const suffix of ['-wal', '-shm']) fs.rmSync(dbPath + suffix, { force: true });
    recovered = [row(2)];
    const reopened = open({ dbPath, recover: () => recovered });
    expect(reopened.store.get('web', 2)).toEqual(row(2));
    expect(fs.readdirSync(path.dirname(dbPath)).some((f) => f.startsWith('instances.db.corrupt-'))).toBe(true);
  });

  it('turns a row into the handle the driver reports', () => {
    expect(toHandle(row(2))).toEqual({
      set: 'web',
      ordinal: 2,
      incarnation: 3,
      revision: 'web-abc',
      address: '127.90.0.12',
      pid: 4242,
      startedAt: 1_700_000_000_000,
      logPath: '/data/logs/web-2.log',
    });
    expect(toHandle(row(2, { pid: null })).pid).toBe(0);
  });
});
