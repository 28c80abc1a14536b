// Instances as pods, on real namespaces, real processes and the real util-linux tools: what a program
// sees inside (hostname, /etc/hosts, /etc/resolv.conf, volumes at their mount paths, its user), what
// the host keeps (its own hostname and files), and how the driver finds, probes and enters a pod.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Template } from '../../core/manifest.js';
import { type CreateRequest, type InstanceHandle } from '../../activities/drivers/driver.js';
import { ProcessDriver } from '../../activities/drivers/process.js';
import { runProbe } from '../../activities/probes.js';
import { waitFor } from '../harness/services.js';
import { NOBODY, unprivilegedView, type UnprivilegedView } from '../harness/unprivileged.js';

const POOL = '127.93.0.0/16';
const dirs: string[] = [];
const drivers: ProcessDriver[] = [];
const hostFiles = ['/etc/hosts', '/etc/resolv.conf', '/etc/hostname'].map((file) => [file, fs.readFileSync(file, 'utf8')] as const);
const hostName = os.hostname();

const silent = pino({ level: 'silent' });

afterEach(async () => {
  for (const driver of drivers.splice(0)) driver.close();
  for (const dir of dirs.splice(0)) {
    const sweeper = new ProcessDriver({ dataDir: dir, addressPool: POOL, logger: silent });
    await sweeper.stopAll(0);
    sweeper.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

afterAll(() => {
  // Whatever ran in the pods, the host's own identity never changed.
  for (const [file, text] of hostFiles) expect(fs.readFileSync(file, 'utf8'), file).toBe(text);
  expect(os.hostname()).toBe(hostName);
});

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-pods-'));
  fs.chmodSync(dir, 0o755); // the unprivileged instances below must reach their files
  dirs.push(dir);
  return dir;
}

function newDriver(dataDir: string): ProcessDriver {
  const driver = new ProcessDriver({ dataDir, addressPool: POOL, logger: silent });
  drivers.push(driver);
  return driver;
}

/** A request for `<set>-<ordinal>` running `sh -c script`, with the template's other parts overridden. */
function request(set: string, ordinal: number, script: string, template: Partial<Template> = {}, process_: Partial<NonNullable<Template['process']>> = {}, volumes: string[] = []): CreateRequest {
  return {
    identity: {
      set,
      ordinal,
      name: `${set}-${ordinal}`,
      dnsName: `${set}-${ordinal}.${set}.ordinal.internal`,
      serviceDnsName: `${set}.ordinal.internal`,
      dnsServer: '127.0.0.1:7053',
    },
    incarnation: 1,
    revision: 'rev1',
    volumes,
    template: {
      process: { command: ['/bin/sh', '-c', script], env: {}, ...process_ },
      ports: [],
      terminationGracePeriodSeconds: 1,
      ...template,
    } as Template,
  };
}

/** Runs `script` in a pod and returns what it printed to `out` (written, then it sleeps so it stays up). */
async function inPod(driver: ProcessDriver, out: string, req: CreateRequest): Promise<{ handle: InstanceHandle; text: string }> {
  const handle = await driver.create(req);
  const text = await waitFor(() => fs.existsSync(`${out}.done`) && fs.readFileSync(out, 'utf8'), {
    timeoutMs: 20_000,
    message: `${req.identity.name} to write ${out} (log: ${safeRead(handle.logPath)})`,
  });
  return { handle, text };
}

function safeRead(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').slice(-2000);
  } catch {
    return '(none)';
  }
}

describe('an instance is a pod', () => {
  it('sees its own hostname, hosts and resolv.conf; the host keeps its own', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'out');
    const driver = newDriver(dir);
    const script = `{ hostname; hostname -f; cat /etc/hostname; getent hosts web-1; cat /etc/resolv.conf; cat /etc/hosts; } > ${out} 2>&1; touch ${out}.done; exec sleep 600`;
    const { handle, text } = await inPod(driver, out, request('web', 1, script));
    const [short, full, etcHostname, ownEntry, ...rest] = text.split('\n');
    expect(short).toBe('web-1');
    expect(full).toBe('web-1.web.ordinal.internal');
    expect(etcHostname).toBe('web-1');
    expect(ownEntry!.split(/\s+/)).toEqual([handle.address, 'web-1.web.ordinal.internal', 'web-1']);
    const resolv = rest.join('\n');
    expect(resolv).toMatch(/^search web\.ordinal\.internal ordinal\.internal\b/m);
    expect(resolv).toMatch(/^nameserver 127\.93\.255\.254$/m);
    expect(resolv).toMatch(/^options ndots:5$/m);
    expect(resolv).toMatch(/^127\.0\.0\.1\tlocalhost$/m);
    // The host did not change under it.
    expect(os.hostname()).toBe(hostName);
    for (const [file, text_] of hostFiles) expect(fs.readFileSync(file, 'utf8')).toBe(text_);
  });

  it('expands $(VAR) in command and env as Kubernetes does, with no shell', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'out');
    const driver = newDriver(dir);
    const req = request('exp', 0, '', {}, {
      command: ['/bin/sh', '-c', 'echo "$0 $1 $PEER" > $2; touch $2.done; exec sleep 600', '$(ORDINAL_NAME)', 'http://$(ORDINAL_ADDRESS):2379', out],
      env: { PEER: '$(ORDINAL_SET)-0.$(ORDINAL_SERVICE_DNS_NAME) $$(ORDINAL_NAME) $(NOT_SET)' },
    });
    const { handle, text } = await inPod(driver, out, req);
    expect(text.trim()).toBe(`exp-0 http://${handle.address}:2379 exp-0.exp.ordinal.internal $(ORDINAL_NAME) $(NOT_SET)`);
  });

  it('mounts each instance its own volume at mountPath (subPath, readOnly), kept across kill -9 and recreation', async () => {
    const dir = tempDir();
    const driver = newDriver(dir);
    const mountPath = path.join(dir, 'mnt', 'data'); // created on demand, as the docs say
    const volumeMounts = [{ name: 'data', mountPath }, { name: 'data', mountPath: `${mountPath}-ro`, subPath: 'conf', readOnly: true }];
    const outs = [0, 1].map((o) => path.join(dir, `out-${o}`));
    const script = (o: number) =>
      `echo "from $ORDINAL_NAME" >> ${mountPath}/log; { ls ${mountPath}; cat ${mountPath}/log; touch ${mountPath}-ro/x 2>/dev/null && echo writable || echo read-only; } > ${outs[o]}; touch ${outs[o]}.done; exec sleep 600`;
    fs.mkdirSync(path.join(dir, 'volumes', 'data-vol-0', 'conf'), { recursive: true });
    const first = await Promise.all([0, 1].map((o) => inPod(driver, outs[o]!, request('vol', o, script(o), {}, { volumeMounts }, ['data']))));
    expect(first[0]!.text).toBe('conf\nlog\nfrom vol-0\nread-only\n');
    expect(first[1]!.text).toBe('conf\nlog\nfrom vol-1\nread-only\n');
    // The host's mount point stays an empty directory: the mounts live in the pods' namespaces only.
    expect(fs.readdirSync(mountPath)).toEqual([]);

    process.kill(first[0]!.handle.pid, 'SIGKILL');
    await waitFor(() => !driver.isAlive(first[0]!.handle), { timeoutMs: 10_000, message: 'vol-0 to die' });
    fs.rmSync(`${outs[0]}.done`);
    const again = await inPod(driver, outs[0]!, { ...request('vol', 0, script(0), {}, { volumeMounts }, ['data']), incarnation: 2 });
    expect(again.text).toBe('conf\nlog\nfrom vol-0\nfrom vol-0\nread-only\n');
  });

  it('runs as securityContext.runAsUser, with fsGroup owning its volume', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'out');
    const driver = newDriver(dir);
    const mountPath = path.join(dir, 'pgdata');
    const script = `{ id -u; id -g; id -G; touch ${mountPath}/mine && stat -c '%U %g' ${mountPath}/mine; } > ${out} 2>&1; touch ${out}.done; exec sleep 600`;
    fs.chmodSync(dir, 0o777);
    const req = request('user', 0, script, { securityContext: { runAsUser: NOBODY, runAsGroup: NOBODY, fsGroup: 4242 } } as Partial<Template>, { volumeMounts: [{ name: 'data', mountPath }] }, ['data']);
    const { text } = await inPod(driver, out, req);
    const [uid, gid, groups, owner] = text.trim().split('\n');
    expect([uid, gid]).toEqual([String(NOBODY), String(NOBODY)]);
    expect(groups!.split(' ').sort()).toEqual(['4242', String(NOBODY)].sort());
    expect(owner).toBe('nobody 4242'); // setgid directory: new files get the fsGroup
    const volume = fs.statSync(path.join(dir, 'volumes', 'data-user-0'));
    expect([volume.uid, volume.gid, volume.mode & 0o2070]).toEqual([NOBODY, 4242, 0o2070]);
  });

  it('runs an exec probe inside the pod, as its user, with its environment', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'out');
    const driver = newDriver(dir);
    fs.chmodSync(dir, 0o777);
    const req = request('probe', 2, `touch ${out} ${out}.done; exec sleep 600`, { securityContext: { runAsUser: NOBODY } } as Partial<Template>, { env: { ROLE: 'replica' } });
    const { handle } = await inPod(driver, out, req);
    const entry = driver.entry(handle);
    expect(entry).toBeDefined();
    const probe = { exec: { command: ['/bin/sh', '-c', 'test "$(hostname)" = probe-2 && test "$(id -u)" = 65534 && test "$ROLE" = replica && getent hosts probe-2.probe.ordinal.internal'] }, timeoutSeconds: 10 } as never;
    const result = await runProbe(probe, { address: handle.address, ports: [], entry });
    expect(result, result.message).toMatchObject({ ok: true });
  });

  it('is found again after the worker lost its state, even when the program overwrote its environment', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'out');
    const first = newDriver(dir);
    // `env -i` execs sleep with an empty environment: the marker is gone from /proc/<pid>/environ, as
    // when Redis or PostgreSQL write their process titles over it.
    const handle = await first.create(request('lost', 0, `touch ${out}.done; exec env -i sleep 600`));
    await waitFor(() => fs.existsSync(`${out}.done`) && !fs.readFileSync(`/proc/${handle.pid}/environ`, 'utf8').includes('ORDINAL'), {
      timeoutMs: 20_000,
      message: 'the program to drop its environment',
    });
    first.close();
    fs.rmSync(path.join(dir, 'instances.db'));
    const restarted = newDriver(dir);
    expect((await restarted.describe('lost')).map((h) => [h.pid, h.address, h.incarnation])).toEqual([[handle.pid, handle.address, 1]]);
    await restarted.delete('lost', 0, 0);
    expect(restarted.isAlive(handle)).toBe(false);
  });

  it('names the port and the fix when another process holds the instance port on 0.0.0.0', async () => {
    const dir = tempDir();
    const driver = newDriver(dir);
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '0.0.0.0', resolve));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const bind = `const s = require('node:net').createServer(); s.on('error', (e) => { console.error(e.message); process.exit(1); }); s.listen(${port}, process.env.ORDINAL_ADDRESS);`;
      const handle = await driver.create({
        ...request('port', 0, ''),
        template: { ...request('port', 0, '').template, process: { command: [process.execPath, '-e', bind], env: {} }, ports: [{ port, protocol: 'TCP', name: 'db' }] },
      });
      const exit = await driver.watch([handle], new AbortController().signal);
      expect(exit.exitCode).toBe(1);
      expect(exit.message).toContain(`port ${port} is held on 0.0.0.0 by pid ${process.pid}`);
      expect(exit.message).toContain('$(ORDINAL_ADDRESS)');
      expect(fs.readFileSync(handle.logPath, 'utf8')).toContain(`port ${port} is held on 0.0.0.0`);
    } finally {
      holder.close();
    }
  });

  it('says why a pod could not be set up', async () => {
    const dir = tempDir();
    const driver = newDriver(dir);
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, '');
    const handle = await driver.create(request('setup', 0, 'exec sleep 600', {}, { volumeMounts: [{ name: 'data', mountPath: `${file}/below` }] }, ['data']));
    const exit = await driver.watch([handle], new AbortController().signal);
    expect(exit.exitCode).toBe(125);
    expect(exit.message).toMatch(/^pod setup failed: cannot create the mount point .*a-file\/below/);
  });

  it('isolation: none is a plain process on the host', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'out');
    const driver = newDriver(dir);
    const { text } = await inPod(driver, out, request('plain', 0, `hostname > ${out}; touch ${out}.done; exec sleep 600`, {}, { isolation: 'none' }));
    expect(text.trim()).toBe(hostName);
  });
});

describe('pods without root', () => {
  let view: UnprivilegedView;
  beforeAll(() => {
    view = unprivilegedView();
  });
  afterAll(() => view?.close());

  it('work for an unprivileged worker where the host allows user namespaces', async () => {
    const dir = fs.mkdtempSync('/tmp/ordinal-pods-rootless-'); // a path nobody may enter, whatever TMPDIR says
    dirs.push(dir);
    fs.chmodSync(dir, 0o777);
    const out = path.join(dir, 'out');
    const script = `
      import { ProcessDriver } from ${JSON.stringify(path.join(view.repo, 'activities/drivers/process.ts'))};
      const driver = new ProcessDriver({ dataDir: ${JSON.stringify(path.join(dir, 'data'))}, addressPool: '${POOL}' });
      const handle = await driver.create(${JSON.stringify(request('rootless', 0, `{ hostname; id -u; grep -c . /etc/resolv.conf; } > ${out}; touch ${out}.done; exec sleep 600`))});
      process.stdout.write(JSON.stringify(handle));
    `;
    const file = path.join(dir, 'rootless.mts');
    fs.writeFileSync(file, script);
    const [command, ...args] = view.argv([view.node, path.join(view.repo, 'node_modules/tsx/dist/cli.mjs'), file]);
    const result = spawnSync(command!, args, { encoding: 'utf8', timeout: 60_000, cwd: '/tmp' });
    try {
      expect(result.status, result.stderr).toBe(0);
      const text = await waitFor(() => fs.existsSync(`${out}.done`) && fs.readFileSync(out, 'utf8'), { timeoutMs: 20_000, message: 'the rootless pod to write its output' });
      expect(text.split('\n').slice(0, 2)).toEqual(['rootless-0', String(NOBODY)]);
    } finally {
      const handle = JSON.parse(result.stdout || '{}') as Partial<InstanceHandle>;
      if (handle.pid) process.kill(-handle.pid, 'SIGKILL');
    }
  });
});
