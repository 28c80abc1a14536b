// `ordinal describe` and `ordinal events` as users run them: the real CLI (`node bin/ordinal.js ...`) as
// a child process against the real API app served over HTTP, with in-memory sets behind it (the real
// dev server's version is test/e2e/events-describe.test.ts). Checks what is printed where, the exit
// codes, and that -o json|yaml parse.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createApp } from '../../api/app.js';
import type { NewEvent } from '../../core/events.js';
import { freePort } from '../harness/services.js';
import { runCli } from '../harness/system.js';
import { FakeSets } from '../unit/fake-sets.js';

let server: Server;
let apiUrl: string;
const fake = new FakeSets();

const manifest = (name: string) => ({
  apiVersion: 'ordinal.dev/v1',
  kind: 'StatefulSet',
  metadata: { name },
  spec: { replicas: 2, template: { process: { command: ['node', 'server.js'] } } },
});

const sigkill: NewEvent = { type: 'Warning', reason: 'Exited', message: 'the process was killed by signal SIGKILL', instance: 'web-1', ordinal: 1, incarnation: 1 };

beforeAll(async () => {
  await fake.apply('web', manifest('web'));
  await fake.apply('db', manifest('db'));
  await fake.apply('quiet', manifest('quiet'));
  fake.rollOut('web');
  const now = Date.now();
  fake.recordEvents('web', [{ type: 'Normal', reason: 'Scaled', message: 'scaled from 0 to 2' }], now - 5 * 60_000);
  fake.recordEvents('web', [sigkill], now - 3 * 60_000);
  fake.recordEvents('db', [{ type: 'Normal', reason: 'Created', message: 'created db-0', instance: 'db-0', ordinal: 0, incarnation: 1 }], now - 2 * 60_000);
  fake.recordEvents('web', [sigkill], now - 60_000);
  server = serve({ fetch: createApp(fake).fetch, hostname: '127.0.0.1', port: 0 }) as Server;
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

function ordinal(args: string[], url = apiUrl) {
  const env: NodeJS.ProcessEnv = { ...process.env, ORDINAL_API_URL: url };
  for (const key of ['ORDINAL_API_HOST', 'ORDINAL_API_PORT', 'ORDINAL_TOKEN', 'ORDINAL_CONFIG']) delete env[key];
  env.XDG_CONFIG_HOME = '/nonexistent/ordinal-test-config';
  return runCli(args, env, { timeoutMs: 30_000 });
}

describe.concurrent('ordinal describe', () => {
  it('prints the set, its instances with their last exit, its revisions and its events with ages and counts', async ({ expect }) => {
    const run = await ordinal(['describe', 'web']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Name: +web\n/);
    expect(run.stdout).toMatch(/\nProgram: +node server\.js\n/);
    expect(run.stdout).toMatch(/\nStatus:\n {2}Phase: +\w+\n {2}Replicas: +2 total \| 2 ready \| 2 available \| 2 current \| 2 updated\n/);
    expect(run.stdout).toMatch(/\nInstances:\n {2}NAME +PHASE +READY +ADDRESS +DNS NAME +INCARNATION +RESTARTS +AGE +REVISION +LAST EXIT\n/);
    expect(run.stdout).toMatch(/\n {2}web-1 +Running +true +127\.77\.0\.2 +web-1\.web\.ordinal\.internal +1 +0 +\S+ +web-\w+ +the process was killed by signal SIGKILL \(\d+s ago\)\n/);
    expect(run.stdout).toMatch(/\nRevisions:\n {2}REVISION +NAME +GENERATION +CREATED +CURRENT\/UPDATE +REPLICAS\n {2}1 +web-\w+ +1 +/);
    const events = run.stdout.split('\nEvents:\n')[1];
    expect(events.split('\n').map((line) => line.trim().split(/ {3,}/))).toEqual([
      ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE'],
      [expect.stringMatching(/^5m\d*s?$/), 'Normal', 'Scaled', 'set/web', 'scaled from 0 to 2'],
      [expect.stringMatching(/^\d+s \(x2 over 3m\d*s?\)$/), 'Warning', 'Exited', 'instance/web-1', 'the process was killed by signal SIGKILL'],
      [''],
    ]);
  });

  it('says <none> for the events of a set that has none', async ({ expect }) => {
    const run = await ordinal(['describe', 'quiet']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/\nInstances: {2}<none>\n/);
    expect(run.stdout.endsWith('\nEvents:  <none>\n')).toBe(true);
  });

  it('-o json and -o yaml print {set, revisions, events}, the API objects', async ({ expect }) => {
    const parsers: Array<[string, (text: string) => unknown]> = [
      ['json', (text) => JSON.parse(text)],
      ['yaml', (text) => parseYaml(text)],
    ];
    for (const [format, parse] of parsers) {
      const run = await ordinal(['describe', 'web', '-o', format]);
      expect(run.code, run.stderr).toBe(0);
      const parsed = parse(run.stdout) as { set: { metadata: { name: string } }; revisions: unknown[]; events: { latestSeq: number; items: Array<{ reason: string; count: number }> } };
      expect(Object.keys(parsed)).toEqual(['set', 'revisions', 'events']);
      expect(parsed.set.metadata.name).toBe('web');
      expect(parsed.revisions).toHaveLength(1);
      expect(parsed.events.latestSeq).toBe(3);
      expect(parsed.events.items.map((e) => [e.reason, e.count])).toEqual([
        ['Scaled', 1],
        ['Exited', 2],
      ]);
    }
  });

  it("exits 1 with the API's message for a set that does not exist", async ({ expect }) => {
    expect(await ordinal(['describe', 'nope'])).toEqual({ code: 1, stdout: '', stderr: "error: set 'nope' does not exist\n" });
  });

  it('exits 2 when the API cannot be reached', async ({ expect }) => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const run = await ordinal(['describe', 'web'], nobody);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`error: cannot reach the Ordinal API at ${nobody} (is "ordinal up" or "ordinal api" running?)\n`);
  });
});

describe.concurrent('ordinal events', () => {
  it("lists a set's events, oldest first", async ({ expect }) => {
    const run = await ordinal(['events', 'web']);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('');
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^LAST SEEN +TYPE +REASON +OBJECT +MESSAGE$/);
    expect(lines.slice(1).map((l) => l.split(/ {3,}/).slice(1))).toEqual([
      ['Normal', 'Scaled', 'set/web', 'scaled from 0 to 2'],
      ['Warning', 'Exited', 'instance/web-1', 'the process was killed by signal SIGKILL'],
    ]);
  });

  it("lists every set's events with their set, newest last", async ({ expect }) => {
    const run = await ordinal(['events']);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SET +LAST SEEN +TYPE +REASON +OBJECT +MESSAGE$/);
    expect(lines.slice(1).map((l) => l.split(/ {3,}/).filter((_, i) => i !== 1))).toEqual([
      ['web', 'Normal', 'Scaled', 'set/web', 'scaled from 0 to 2'],
      ['db', 'Normal', 'Created', 'instance/db-0', 'created db-0'],
      ['web', 'Warning', 'Exited', 'instance/web-1', 'the process was killed by signal SIGKILL'],
    ]);
  });

  it("with more events than the API answers at once, lists the newest and says older ones were left out", async ({ expect }) => {
    // Six sets of 100 events: 600, more than the 500 GET /v1/events answers by default.
    const busy = new FakeSets();
    const now = Date.now();
    for (let s = 0; s < 6; s++) {
      await busy.apply(`s${s}`, manifest(`s${s}`));
      for (let n = 0; n < 100; n++) busy.recordEvents(`s${s}`, [{ type: 'Normal', reason: 'Scaled', message: `step ${n}` }], now - 600_000 + s * 100 + n);
    }
    const busyServer = serve({ fetch: createApp(busy).fetch, hostname: '127.0.0.1', port: 0 }) as Server;
    await new Promise<void>((resolve) => busyServer.once('listening', () => resolve()));
    try {
      const run = await ordinal(['events'], `http://127.0.0.1:${(busyServer.address() as AddressInfo).port}`);
      expect(run.code).toBe(0);
      expect(run.stdout.trimEnd().split('\n')).toHaveLength(1 + 500);
      expect(run.stderr).toBe('older events left out: these are the newest 500; name a set to see all of its own\n');
    } finally {
      await new Promise((resolve) => busyServer.close(resolve));
    }
  });

  it('says "No events found." on stderr for a set without events, and exits 0', async ({ expect }) => {
    expect(await ordinal(['events', 'quiet'])).toEqual({ code: 0, stdout: '', stderr: 'No events found.\n' });
  });

  it('-o json and -o yaml print the API objects', async ({ expect }) => {
    const one = await ordinal(['events', 'web', '-o', 'json']);
    expect(one.code).toBe(0);
    expect(JSON.parse(one.stdout)).toMatchObject({ latestSeq: 3, oldestSeq: 1, items: [{ seq: 1, reason: 'Scaled' }, { seq: 3, reason: 'Exited', count: 2 }] });
    const all = await ordinal(['events', '-o', 'yaml']);
    expect(all.code).toBe(0);
    expect((parseYaml(all.stdout) as { items: Array<{ set: string; reason: string }> }).items.map((e) => `${e.set} ${e.reason}`)).toEqual([
      'web Scaled',
      'db Created',
      'web Exited',
    ]);
  });

  it('refuses an unknown output format before calling the API, and exits 1 for a set that does not exist', async ({ expect }) => {
    const wide = await ordinal(['events', 'web', '-o', 'wide'], `http://127.0.0.1:${await freePort()}`);
    expect(wide.code).toBe(1);
    expect(wide.stderr).toContain("unknown output format 'wide': use one of text, json, yaml");
    expect(await ordinal(['events', 'nope'])).toEqual({ code: 1, stdout: '', stderr: "error: set 'nope' does not exist\n" });
  });

  it('documents the exit codes in the help', async ({ expect }) => {
    for (const command of ['describe', 'events']) {
      const run = await ordinal([command, '--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Exit codes:');
      expect(run.stdout).toContain('(x3 over 5m)');
    }
    expect((await ordinal(['--help'])).stdout).toMatch(/\n {2}describe \[options\] <name> +show a set in detail, like kubectl describe/);
  });
});
