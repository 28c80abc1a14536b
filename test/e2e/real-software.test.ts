// Real software, unmodified: the three examples (Redis with replicas, a 3-member etcd cluster, a
// PostgreSQL server running as the `postgres` user) on Debian's own binaries, applied with the real CLI
// (`ordinal apply`) to the real API, worker and DNS server (with its pod listener on port 53: root only),
// and looked at from inside their pods with `ordinal exec`. Nothing in these programs knows Ordinal: they
// find each other through the system resolver, bind the address they are given and keep their data
// in the volume mounted where they expect it.
//
// Names outside our zones are forwarded to a small upstream resolver this test starts on loopback:
// no query ever reaches the machine's real resolver.
//
// The set names are the examples' own (redis, etcd, pg: their DNS names are written in the manifests),
// so no other test file may use them on the run's Temporal server.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SetView } from '../../core/status.js';
import { readManifestText } from '../../core/manifest-text.js';
import { startTestOrdinal, type TestOrdinal } from '../harness/ordinal.js';
import { isReady, waitForSet } from '../harness/sets.js';
import { waitFor } from '../harness/services.js';
import { REPO, runCli } from '../harness/system.js';
import { startFakeUpstream, type FakeUpstream } from '../harness/upstream-dns.js';

const ZONE = 'ordinal.internal';
const OUTSIDE = 'outside.test';
const OUTSIDE_ADDRESS = '192.0.2.7';
/** Cluster formation on a loaded 2-core machine: generous, the test ends as soon as it is done. */
const FORMATION_MS = 150_000;
/** A test that may wait for formation, then checks (the default of 120 s is shorter than formation may take). */
const TEST_MS = 240_000;

/** Pods with another user and the pod DNS listener on port 53 need root (non-root.test.ts covers the rest). */
const isRoot = process.getuid?.() === 0;
const hostFiles = ['/etc/hosts', '/etc/resolv.conf', '/etc/hostname']
  .filter((file) => fs.existsSync(file))
  .map((file) => [file, fs.readFileSync(file, 'utf8')] as const);
const hostName = os.hostname();
/** /data is redis.yaml's mount point: created on the host when missing, and must stay empty there. */
const hostDataExisted = fs.existsSync('/data');

let upstream: FakeUpstream;
let ordinal: TestOrdinal;
let env: NodeJS.ProcessEnv;
const applied: Record<string, Promise<void>> = {};

type Run = { code: number; stdout: string; stderr: string };

/** The CLI as a user runs it, against this test's API. */
function cli(args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<Run> {
  return runCli(args, env, { timeoutMs: 60_000, ...options });
}

/**
 * `ordinal exec SET ORDINAL COMMAND...`: options after the command's name are the command's own (the
 * form with `--` before the command is checked on its own below).
 */
function exec(set: string, ordinalIndex: number, ...command: string[]): Promise<Run> {
  return cli(['exec', set, String(ordinalIndex), ...command]);
}

/** `ordinal exec`, which must succeed: its stdout, trimmed. */
async function execOk(set: string, ordinalIndex: number, ...command: string[]): Promise<string> {
  const run = await exec(set, ordinalIndex, ...command);
  if (run.code !== 0) {
    throw new Error(`ordinal exec ${set} ${ordinalIndex} -- ${command.join(' ')}: exit ${run.code}\n${run.stdout}\n${run.stderr}\n${instanceLog(set, ordinalIndex)}`);
  }
  return run.stdout.trim();
}

function instanceLog(set: string, ordinalIndex: number): string {
  try {
    return `--- log of ${set}-${ordinalIndex} (end):\n${fs.readFileSync(path.join(ordinal.config.dataDir, 'logs', `${set}-${ordinalIndex}.log`), 'utf8').slice(-3000)}`;
  } catch {
    return `(no log for ${set}-${ordinalIndex})`;
  }
}

function example(file: string): string {
  return fs.readFileSync(path.join(REPO, 'examples', file), 'utf8');
}

/** examples/postgres.yaml with this machine's ids of the `postgres` user, as its comment says to do. */
function postgresManifest(): { text: string; uid: number; gid: number } {
  const [uid, gid] = ['-u', '-g'].map((flag) => {
    const run = runSync('id', [flag, 'postgres']);
    return Number(run.trim());
  }) as [number, number];
  const manifest = YAML.parse(example('postgres.yaml'));
  manifest.spec.template.securityContext.runAsUser = uid;
  manifest.spec.template.securityContext.runAsGroup = gid;
  return { text: YAML.stringify(manifest), uid, gid };
}

function runSync(program: string, args: string[]): string {
  return execFileSync(program, args, { encoding: 'utf8' });
}

/** The set once it is Ready, with its instance logs in the error when it does not get there. */
async function readySet(name: string, predicate: (view: SetView) => boolean = (v) => isReady(v)): Promise<SetView> {
  await applied[name];
  try {
    return await waitForSet(ordinal.sets, name, predicate, { timeoutMs: FORMATION_MS, message: `${name} Ready` });
  } catch (err) {
    const view = await ordinal.sets.get(name).catch(() => undefined);
    const logs = (view?.status.instances ?? []).map((i) => instanceLog(name, i.ordinal)).join('\n');
    throw new Error(`${(err as Error).message}\nstatus: ${JSON.stringify(view?.status.instances ?? null)}\n${logs}`, { cause: err });
  }
}

describe.skipIf(!isRoot)('real software, unmodified', () => {
  beforeAll(async () => {
    upstream = await startFakeUpstream({ [OUTSIDE]: [OUTSIDE_ADDRESS] });
    ordinal = await startTestOrdinal({ podDns: { upstreams: [{ host: upstream.host, port: upstream.port }] } });
    env = { ...process.env, ORDINAL_API_URL: ordinal.apiUrl };
    // All three at once, with the CLI: they form side by side while the tests look at them in turn.
    const apply = async (name: string, args: string[], input?: string) => {
      const run = await cli(args, { input });
      if (run.code !== 0 || !run.stdout.includes(name)) throw new Error(`ordinal ${args.join(' ')}: exit ${run.code}\n${run.stdout}\n${run.stderr}`);
    };
    applied.redis = apply('redis', ['apply', '-f', 'examples/redis.yaml']);
    applied.etcd = apply('etcd', ['apply', '-f', 'examples/etcd.yaml']);
    applied.pg = apply('pg', ['apply', '-f', '-'], postgresManifest().text);
    for (const promise of Object.values(applied)) promise.catch(() => undefined); // each test awaits its own
  });

  afterAll(async () => {
    await ordinal?.stop();
    await upstream?.close();
    // Whatever ran in the pods, the host kept its own identity and files.
    for (const [file, text] of hostFiles) expect(fs.readFileSync(file, 'utf8'), file).toBe(text);
    expect(os.hostname()).toBe(hostName);
    if (!hostDataExisted && fs.existsSync('/data')) {
      // The mount point Ordinal created on the host for redis.yaml stays empty there: the pods wrote to their
      // own volumes. (It is left in place, as the docs say: another run's pods may be using it.)
      expect(fs.readdirSync('/data')).toEqual([]);
    }
  });

  describe('the examples', () => {
    it('are valid manifests', () => {
      for (const file of ['redis.yaml', 'etcd.yaml', 'postgres.yaml']) {
        const parsed = readManifestText(example(file), 'yaml');
        expect(parsed.ok ? [] : parsed.issues, file).toEqual([]);
      }
      const parsed = readManifestText(postgresManifest().text, 'yaml');
      expect(parsed.ok ? [] : parsed.issues).toEqual([]);
    });
  });

  describe('Redis: examples/redis.yaml', () => {
    it('runs as pods: hostname, names through the system resolver, own volumes', { timeout: TEST_MS }, async () => {
      const view = await readySet('redis');
      const [primary] = view.status.instances;

      const [short, full, byShortName, byFullName, resolvConf] = await Promise.all([
        execOk('redis', 1, 'hostname'),
        execOk('redis', 1, 'hostname', '-f'),
        execOk('redis', 1, 'getent', 'hosts', 'redis-0'),
        execOk('redis', 1, 'getent', 'hosts', `redis-0.redis.${ZONE}`),
        execOk('redis', 1, 'cat', '/etc/resolv.conf'),
      ]);
      expect(short).toBe('redis-1');
      expect(full).toBe(`redis-1.redis.${ZONE}`);
      expect(byShortName.split(/\s+/)[0]).toBe(primary!.address);
      expect(byFullName.split(/\s+/)[0]).toBe(primary!.address);
      expect(resolvConf).toMatch(new RegExp(`^nameserver ${ordinal.podDns!.address.replace(/\./g, '\\.')}$`, 'm'));

      // Each instance sees its own volume at /data, and only its own.
      await execOk('redis', 1, 'sh', '-c', 'echo mine > /data/only-redis-1');
      expect(await execOk('redis', 1, 'cat', '/data/only-redis-1')).toBe('mine');
      const elsewhere = await exec('redis', 2, 'test', '-e', '/data/only-redis-1');
      expect(elsewhere.code).toBe(1);
      expect(fs.readFileSync(ordinal.driver().volumePath('redis', 1, 'data') + '/only-redis-1', 'utf8')).toBe('mine\n');
      expect(fs.existsSync('/data/only-redis-1')).toBe(false);

      // While the pods run, the host keeps its own hostname and files.
      expect(os.hostname()).toBe(hostName);
      for (const [file, text] of hostFiles) expect(fs.readFileSync(file, 'utf8'), file).toBe(text);

      // `ordinal get` shows the same instances.
      const get = await cli(['get', 'redis', '-o', 'json']);
      expect(get.code, get.stderr).toBe(0);
      const listed = JSON.parse(get.stdout) as SetView;
      expect(listed.status.instances.map((i) => [i.name, i.ready, i.address])).toEqual(view.status.instances.map((i) => [i.name, true, i.address]));
    });

    it('replicates, and the replicas follow the primary by name across its recreation', { timeout: TEST_MS }, async () => {
      const before = await readySet('redis');
      const [primary, replica1, replica2] = before.status.instances;

      expect(await execOk('redis', 0, 'redis-cli', '-h', 'redis-0', 'set', 'greeting', 'hello')).toBe('OK');
      for (const replica of [1, 2]) {
        await waitFor(async () => (await execOk('redis', replica, 'redis-cli', '-h', `redis-${replica}`, 'get', 'greeting')) === 'hello', {
          timeoutMs: 60_000,
          intervalMs: 500,
          message: `redis-${replica} to replicate the write`,
        });
      }
      // The write is in the primary's append-only file, in its volume, before it is killed.
      const aof = path.join(ordinal.driver().volumePath('redis', 0, 'data'), 'appendonlydir');
      await waitFor(() => fs.readdirSync(aof).some((f) => f.endsWith('.aof') && fs.readFileSync(path.join(aof, f), 'utf8').includes('greeting')), {
        timeoutMs: 30_000,
        message: 'the write in the primary AOF',
      });

      const [pid] = (await ordinal.driver().describe('redis')).filter((h) => h.ordinal === 0).map((h) => h.pid);
      expect(pid).toBeGreaterThan(0);
      process.kill(pid!, 'SIGKILL');
      const after = await readySet('redis', (v) => isReady(v) && v.status.instances[0]!.incarnation > primary!.incarnation);
      const newPrimary = after.status.instances[0]!;
      expect(newPrimary.name).toBe('redis-0');
      expect(newPrimary.address).not.toBe(primary!.address);
      // The replicas were not touched.
      expect(after.status.instances[1]!.incarnation).toBe(replica1!.incarnation);
      expect(after.status.instances[2]!.incarnation).toBe(replica2!.incarnation);

      // Its data came back from /data; its name points at its new address, in the replicas' pods too.
      expect(await execOk('redis', 0, 'redis-cli', '-h', 'redis-0', 'get', 'greeting')).toBe('hello');
      await waitFor(async () => (await execOk('redis', 2, 'getent', 'hosts', 'redis-0')).split(/\s+/)[0] === newPrimary.address, {
        timeoutMs: 30_000,
        intervalMs: 500,
        message: 'redis-0 to resolve to its new address in redis-2',
      });

      // A new write on the new primary reaches both replicas, which follow it by name without any change.
      expect(await execOk('redis', 0, 'redis-cli', '-h', 'redis-0', 'set', 'after', 'recreation')).toBe('OK');
      for (const replica of [1, 2]) {
        await waitFor(async () => (await execOk('redis', replica, 'redis-cli', '-h', `redis-${replica}`, 'get', 'after')) === 'recreation', {
          timeoutMs: 90_000,
          intervalMs: 500,
          message: `redis-${replica} to replicate from the new primary`,
        });
      }
      const replication = await execOk('redis', 1, 'redis-cli', '-h', 'redis-1', 'info', 'replication');
      expect(replication).toMatch(/^role:slave\r?$/m);
      expect(replication).toMatch(new RegExp(`^master_host:redis-0\\.redis\\.${ZONE.replace('.', '\\.')}\\r?$`, 'm'));
      expect(replication).toMatch(/^master_link_status:up\r?$/m);
      const final = await ordinal.sets.get('redis');
      expect(final!.status.instances.map((i) => i.incarnation)).toEqual([newPrimary.incarnation, replica1!.incarnation, replica2!.incarnation]);
    });

    it('forwards names outside the zone to the upstream, and only those', { timeout: TEST_MS }, async () => {
      await readySet('redis');
      const outside = await execOk('redis', 1, 'getent', 'hosts', OUTSIDE);
      expect(outside.split(/\s+/)).toEqual([OUTSIDE_ADDRESS, OUTSIDE]);
      expect(upstream.asked).toContain(`udp A ${OUTSIDE}`);
      const nowhere = await exec('redis', 1, 'getent', 'hosts', 'nowhere.test');
      expect(nowhere.code).toBe(2); // not found
      // The pod listener answers our zone itself: no name in it was ever forwarded.
      expect(upstream.asked.filter((q) => q.endsWith(ZONE))).toEqual([]);
    });
  });

  describe('ordinal exec', () => {
    it('passes the exit code through, and fails clearly on an unknown set or ordinal', { timeout: TEST_MS }, async () => {
      await readySet('redis');
      const seven = await exec('redis', 0, 'sh', '-c', 'exit 7');
      expect(seven.code).toBe(7);

      const unknownSet = await exec('nosuchset', 0, 'true');
      expect(unknownSet.code).toBe(1);
      expect(unknownSet.stderr).toContain("set 'nosuchset' does not exist");

      const unknownOrdinal = await exec('redis', 7, 'true');
      expect(unknownOrdinal.code).toBe(1);
      expect(unknownOrdinal.stderr).toContain('set redis has no instance 7');
    });

    it('takes -- before the command, as the docs and its help write it', { timeout: TEST_MS }, async () => {
      await readySet('redis');
      const seven = await cli(['exec', 'redis', '0', '--', 'sh', '-c', 'exit 7']);
      expect(seven.code, seven.stderr).toBe(7);
      const full = await cli(['exec', 'redis', '1', '--', 'hostname', '-f']);
      expect(full, full.stderr).toMatchObject({ code: 0, stdout: `redis-1.redis.${ZONE}\n` });
    });
  });

  describe('etcd: examples/etcd.yaml', () => {
    it('forms a 3-member cluster from DNS names, and serves put and get', { timeout: TEST_MS }, async () => {
      await readySet('etcd');
      // Every member, found through the cluster's own member list: the names they advertise. (Retried: on
      // a loaded machine a member may miss a heartbeat and be unhealthy for a moment.)
      await waitFor(
        async () => {
          const health = await exec('etcd', 0, 'etcdctl', '--endpoints', `http://etcd-0.etcd.${ZONE}:2379`, '--command-timeout=10s', 'endpoint', 'health', '--cluster');
          // (etcdctl 3.4 prints each endpoint's health on stderr)
          const text = `${health.stdout}\n${health.stderr}`;
          for (const member of [0, 1, 2]) expect(text).toContain(`http://etcd-${member}.etcd.${ZONE}:2379 is healthy`);
          expect(health.code, text).toBe(0);
          return true;
        },
        { timeoutMs: 60_000, intervalMs: 1000, message: 'every etcd member healthy' },
      );

      const members = await execOk('etcd', 1, 'etcdctl', '--endpoints', 'http://etcd-1:2379', 'member', 'list');
      const lines = members.split('\n').map((l) => l.split(', '));
      expect(lines.map((l) => l[2]).sort()).toEqual(['etcd-0', 'etcd-1', 'etcd-2']);
      for (const l of lines) expect(l[3]).toBe(`http://${l[2]}.etcd.${ZONE}:2380`);

      await waitFor(async () => (await execOk('etcd', 2, 'etcdctl', '--endpoints', 'http://etcd-2:2379', '--command-timeout=10s', 'put', 'greeting', 'hello')) === 'OK', {
        timeoutMs: 60_000,
        intervalMs: 1000,
        message: 'a put through etcd-2',
      });
      expect(await execOk('etcd', 0, 'etcdctl', '--endpoints', 'http://etcd-0:2379', '--command-timeout=10s', 'get', '--print-value-only', 'greeting')).toBe('hello');
    });
  });

  describe('PostgreSQL: examples/postgres.yaml', () => {
    it('runs as the postgres user and answers queries', { timeout: TEST_MS }, async () => {
      const { uid } = postgresManifest();
      const view = await readySet('pg');
      expect(await execOk('pg', 0, 'id', '-un')).toBe('postgres');
      expect(await execOk('pg', 0, 'psql', '-h', 'pg-0', '-U', 'postgres', '-tAc', 'select 1')).toBe('1');
      expect(await execOk('pg', 0, 'psql', '-h', view.status.instances[0]!.address!, '-U', 'postgres', '-tAc', 'select current_user')).toBe('postgres');
      // The server process itself runs as postgres, and its data is in the instance's volume.
      const [pid] = (await ordinal.driver().describe('pg')).map((h) => h.pid);
      const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
      expect(status).toMatch(new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\s`, 'm'));
      expect(fs.existsSync(path.join(ordinal.driver().volumePath('pg', 0, 'data'), 'pgdata', 'PG_VERSION'))).toBe(true);
    });
  });
});
