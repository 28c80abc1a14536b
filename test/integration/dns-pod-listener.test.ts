// The DNS server's pod listener over real sockets, on port 53 of a loopback address as instances'
// resolv.conf names it: it answers our zones (NXDOMAIN with the SOA for a zone that holds no record
// yet), forwards other names from this host to an upstream (a tiny server this test starts: nothing
// reaches the machine's real resolver), falls back over TCP and to the next upstream, answers SERVFAIL
// when no upstream does, and tells which installation it is. The host listener stays authoritative only.
// `ordinal dns` starts both listeners, and fails at start, in one line, when port 53 cannot be bound.
// A set's own zone is served from its first publish, with no record left in it, until it is deleted.
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { promises as dns } from 'node:dns';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import dnsPacket, { type DecodedPacket, type Packet, type Question } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordSet } from '../../core/dns-records.js';
import { createForwarder, type Forwarder } from '../../dns/forwarder.js';
import { askServerIdentity } from '../../dns/identity.js';
import { startDnsServer, type DnsServer } from '../../dns/server.js';
import { DnsStore } from '../../dns/store.js';
import { installationId } from '../../infra/config.js';
import { startTestOrdinal, uniqueName } from '../harness/ordinal.js';
import { fixtureManifest, isReady, waitForSet } from '../harness/sets.js';
import { freePort, waitFor } from '../harness/services.js';
import { REPO } from '../harness/system.js';
import { startDnsResponder } from '../harness/upstream-dns.js';

const ZONE = 'ordinal.internal';
/** Pod listeners on port 53, on addresses of a pool no other test uses (the fault runs use 127.62+). */
const POD = '127.88.255.254';
const POD_NO_UPSTREAM = '127.88.255.253';
const POD_DEAD_UPSTREAM = '127.88.255.252';
const POD_CLI = '127.88.255.251';
const POD_TAKEN = '127.88.255.250';
/** The upstream's answers. */
const OUTSIDE = 'example.com';
const OUTSIDE_ADDRESS = '192.0.2.10';
const BIG = 'big.example.com';
const BIG_COUNT = 120; // ~1.9 kB of A records: over 512, so a plain UDP answer is truncated
const FAILING = 'fail.example.com';

type Reply = DecodedPacket & { rcode: string };

interface Upstream {
  port: number;
  /** Every name asked, with the transport: what was forwarded. */
  asked: string[];
  close(): Promise<void>;
}

/** An upstream resolver on 127.0.0.1 with fixed answers for this file's names (or none: silent). */
async function startUpstream(options: { silent?: boolean } = {}): Promise<Upstream> {
  const asked: string[] = [];
  const server = await startDnsResponder((query, transport) => {
    const question = query.questions![0];
    const name = question.name.toLowerCase();
    asked.push(`${transport} ${name}`);
    if (options.silent) return undefined;
    const base: Packet = { type: 'response', id: query.id, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE, questions: [question] };
    if (name === FAILING) return { ...base, flags: base.flags! | 2 };
    if (name === BIG) {
      if (transport === 'udp') return { ...base, flags: base.flags! | dnsPacket.TRUNCATED_RESPONSE };
      const answers = Array.from({ length: BIG_COUNT }, (_, i) => ({ name: question.name, type: 'A' as const, ttl: 60, data: `192.0.2.${i + 1}` }));
      return { ...base, answers };
    }
    if (name === OUTSIDE && question.type === 'A') return { ...base, answers: [{ name: question.name, type: 'A', ttl: 60, data: OUTSIDE_ADDRESS }] };
    return { ...base, flags: base.flags! | 3 }; // NXDOMAIN
  });
  return { port: server.port, asked, close: server.close };
}

function query(name: string, type: Question['type'], options: { id?: number; flags?: number; cls?: Question['class']; edns?: number } = {}): Packet {
  return {
    type: 'query',
    id: options.id ?? 4242,
    flags: options.flags ?? dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type, class: options.cls ?? 'IN' }],
    additionals:
      options.edns === undefined
        ? []
        : [{ name: '.', type: 'OPT', udpPayloadSize: options.edns, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }],
  };
}

/** One query over UDP from 127.0.0.1, the decoded reply. */
async function udpAsk(host: string, port: number, packet: Packet): Promise<Reply & { size: number }> {
  const socket = dgram.createSocket('udp4');
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no UDP reply from ${host}:${port} within 5 s`)), 5000);
      socket.once('message', (message) => {
        clearTimeout(timer);
        resolve({ ...(dnsPacket.decode(message) as Reply), size: message.length });
      });
      socket.send(dnsPacket.encode(packet), port, host, (error) => error && reject(error));
    });
  } finally {
    socket.close();
  }
}

/** One query over TCP, the decoded reply. */
async function tcpAsk(host: string, port: number, packet: Packet): Promise<Reply> {
  const socket = net.connect(port, host);
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no TCP reply from ${host}:${port} within 5 s`)), 5000);
      let unread = Buffer.alloc(0);
      socket.on('error', reject);
      socket.on('data', (chunk) => {
        unread = Buffer.concat([unread, chunk]);
        if (unread.length >= 2 && unread.length >= 2 + unread.readUInt16BE(0)) {
          clearTimeout(timer);
          resolve(dnsPacket.streamDecode(unread) as Reply);
        }
      });
      socket.write(dnsPacket.streamEncode(packet));
    });
  } finally {
    socket.destroy();
  }
}

/** node's resolver (c-ares, as a program's resolver would be) on port 53 of `host`. */
function resolver(host: string): dns.Resolver {
  const r = new dns.Resolver({ timeout: 3000, tries: 1 });
  r.setServers([host]);
  return r;
}

const txt = (reply: Reply) => reply.answers!.flatMap((a) => (a.type === 'TXT' ? (a.data as Buffer[]).map(String) : []));

describe('the pod DNS listener', () => {
  let dir: string;
  let store: DnsStore;
  let upstream: Upstream;
  let silent: Upstream;
  const forwarders: Forwarder[] = [];
  const servers: DnsServer[] = [];
  let host: DnsServer;
  let identity: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-dns-pod-'));
    identity = installationId(dir);
    const file = path.join(dir, 'dns.db');
    // The worker's connection writes; the servers read through their own, as in two processes.
    const writer = DnsStore.open(file, ZONE);
    const records: RecordSet[] = [{ name: `redis-0.redis.${ZONE}`, type: 'A', ttl: 5, values: ['127.88.0.1'] }];
    writer.replaceSetRecords('redis', ZONE, records);
    // A set in its own zone that has published no record yet.
    writer.replaceSetRecords('db', 'db.test', []);
    writer.close();
    store = DnsStore.open(file, ZONE);

    upstream = await startUpstream();
    silent = await startUpstream({ silent: true });
    const forwarder = (upstreams: Array<{ host: string; port: number }>) => {
      const f = createForwarder({ upstreams, timeoutMs: 300 });
      forwarders.push(f);
      return f;
    };
    host = await startDnsServer({ host: '127.0.0.1', port: 0, store, identity });
    servers.push(host);
    const pod = (address: string, f: Forwarder) => startDnsServer({ host: address, port: 53, store, identity, forwarder: f });
    servers.push(await pod(POD, forwarder([{ host: '127.0.0.1', port: upstream.port }])));
    servers.push(await pod(POD_NO_UPSTREAM, forwarder([])));
    servers.push(await pod(POD_DEAD_UPSTREAM, forwarder([{ host: '127.0.0.1', port: silent.port }])));
  });

  afterAll(async () => {
    for (const f of forwarders) f.close();
    for (const server of servers) await server.close();
    await upstream?.close();
    await silent?.close();
    store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers our zone on port 53, and never forwards a name in it', async () => {
    expect(await resolver(POD).resolve4(`redis-0.redis.${ZONE}`)).toEqual(['127.88.0.1']);
    const missing = await udpAsk(POD, 53, query(`redis-9.redis.${ZONE}`, 'A'));
    expect(missing.rcode).toBe('NXDOMAIN');
    expect(missing.authorities).toEqual([expect.objectContaining({ type: 'SOA', name: ZONE })]);
    expect(upstream.asked.filter((asked) => asked.includes(ZONE))).toEqual([]);
  });

  it('answers NXDOMAIN with the SOA for a zone that holds no record yet, on both listeners', async () => {
    for (const [address, port] of [[POD, 53], ['127.0.0.1', host.udpPort]] as const) {
      const reply = await udpAsk(address, port, query('db-0.db.db.test', 'A'));
      expect(reply.rcode, address).toBe('NXDOMAIN');
      expect(reply.flag_aa).toBe(true);
      expect(reply.authorities).toEqual([expect.objectContaining({ type: 'SOA', name: 'db.test' })]);
    }
    expect(upstream.asked.filter((asked) => asked.endsWith('db.test'))).toEqual([]);
  });

  it("forwards an outside name to the upstream, with the client's query ID", async () => {
    expect(await resolver(POD).resolve4(OUTSIDE)).toEqual([OUTSIDE_ADDRESS]);
    const reply = await udpAsk(POD, 53, query(OUTSIDE, 'A', { id: 31337 }));
    expect(reply.id).toBe(31337);
    expect(reply.rcode).toBe('NOERROR');
    expect(reply.answers).toEqual([expect.objectContaining({ type: 'A', data: OUTSIDE_ADDRESS })]);
    const overTcp = await tcpAsk(POD, 53, query(OUTSIDE, 'A', { id: 4711 }));
    expect(overTcp.id).toBe(4711);
    expect(overTcp.answers).toEqual([expect.objectContaining({ type: 'A', data: OUTSIDE_ADDRESS })]);
    expect(upstream.asked).toContain(`udp ${OUTSIDE}`);
  });

  it("passes the upstream's negative answers through", async () => {
    expect((await udpAsk(POD, 53, query('nope.example.com', 'A'))).rcode).toBe('NXDOMAIN');
  });

  it('asks again over TCP when the upstream truncates, and truncates for a client that cannot take it', async () => {
    upstream.asked.length = 0;
    const large = await udpAsk(POD, 53, query(BIG, 'A', { edns: 4096 }));
    expect(large.flag_tc).toBe(false);
    expect(large.answers).toHaveLength(BIG_COUNT);
    expect(upstream.asked).toEqual([`udp ${BIG}`, `tcp ${BIG}`]);

    const small = await udpAsk(POD, 53, query(BIG, 'A'));
    expect(small.flag_tc).toBe(true);
    expect(small.size).toBeLessThanOrEqual(512);
    // c-ares then asks over TCP, as glibc does.
    expect(await resolver(POD).resolve4(BIG)).toHaveLength(BIG_COUNT);
  });

  it('answers SERVFAIL when the upstream fails, answers nothing, or there is none', async () => {
    expect((await udpAsk(POD, 53, query(FAILING, 'A'))).rcode).toBe('SERVFAIL');
    expect((await udpAsk(POD_DEAD_UPSTREAM, 53, query(OUTSIDE, 'A'))).rcode).toBe('SERVFAIL');
    expect(silent.asked).toEqual([`udp ${OUTSIDE}`]);
    const none = await udpAsk(POD_NO_UPSTREAM, 53, query(OUTSIDE, 'A', { id: 99 }));
    expect(none.rcode).toBe('SERVFAIL');
    expect(none.id).toBe(99);
    expect(none.questions).toEqual([{ name: OUTSIDE, type: 'A', class: 'IN' }]);
  });

  it('tries the next upstream after a timeout or a SERVFAIL', async () => {
    const forwarder = createForwarder({
      upstreams: [
        { host: '127.0.0.1', port: silent.port },
        { host: '127.0.0.1', port: upstream.port },
      ],
      timeoutMs: 300,
    });
    forwarders.push(forwarder);
    const packet = query(OUTSIDE, 'A', { id: 7 });
    const reply = dnsPacket.decode(await forwarder.forward(dnsPacket.encode(packet), packet, 512)) as Reply;
    expect(reply.id).toBe(7);
    expect(reply.answers).toEqual([expect.objectContaining({ data: OUTSIDE_ADDRESS })]);
  });

  it('refuses outside names without RD, and on the host listener', async () => {
    expect((await udpAsk(POD, 53, query(OUTSIDE, 'A', { flags: 0 }))).rcode).toBe('REFUSED');
    const onHost = await udpAsk('127.0.0.1', host.udpPort, query(OUTSIDE, 'A'));
    expect(onHost.rcode).toBe('REFUSED');
    expect((await tcpAsk('127.0.0.1', host.tcpPort, query(OUTSIDE, 'A'))).rcode).toBe('REFUSED');
  });

  it('answers id.server CH TXT with the installation identity', async () => {
    for (const [address, port] of [[POD, 53], ['127.0.0.1', host.udpPort]] as const) {
      const reply = await udpAsk(address, port, query('id.server', 'TXT', { cls: 'CH' }));
      expect(reply.rcode).toBe('NOERROR');
      expect(txt(reply)).toEqual([identity]);
    }
    expect(identity).toBe(installationId(dir));
    expect(await askServerIdentity(POD)).toBe(identity);
    // Nothing listens there: no identity, after the timeout.
    expect(await askServerIdentity('127.88.255.240', 53, 200)).toBeUndefined();
  });
});

describe('`ordinal dns`', () => {
  let dir: string;
  let upstream: Upstream;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-dns-cli-'));
    upstream = await startUpstream();
  });
  afterAll(async () => {
    await upstream?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function run(env: Record<string, string>) {
    const child = spawn(process.execPath, [path.join(REPO, 'bin/ordinal.js'), 'dns'], {
      cwd: REPO,
      env: {
        ...process.env,
        ORDINAL_DATA_DIR: dir,
        ORDINAL_DNS_PORT: String(await freePort()),
        ORDINAL_DNS_UPSTREAM: `127.0.0.1:${upstream.port}`,
        ORDINAL_LOG_LEVEL: 'warn',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, output: () => output, exited };
  }

  it('starts the pod listener, which answers as this installation and forwards', async () => {
    const { child, output, exited } = await run({ ORDINAL_DNS_POD_ADDRESS: POD_CLI });
    try {
      await waitFor(() => /DNS pod listener on/.test(output()), { timeoutMs: 30_000, message: `the pod listener (output: ${output()})` });
      expect(output()).toContain(`${POD_CLI}:53`);
      expect(await askServerIdentity(POD_CLI)).toBe(installationId(dir));
      expect(await resolver(POD_CLI).resolve4(OUTSIDE)).toEqual([OUTSIDE_ADDRESS]);
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    }
  });

  it('fails at start, in one line naming the address and the fix, when port 53 is taken', async () => {
    const holder = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => holder.bind(53, POD_TAKEN, resolve));
    try {
      const { output, exited } = await run({ ORDINAL_DNS_POD_ADDRESS: POD_TAKEN });
      expect(await exited).toBe(1);
      // The port check before start names the listener, the port, the holder (this test) and the fixes.
      expect(output()).toMatch(
        new RegExp(`^error: cannot start: port 53 \\(DNS pod listener, ORDINAL_DNS_POD_PORT\\) on ${POD_TAKEN.replaceAll('.', '\\.')} is in use \\(UDP\\) by pid ${process.pid} .*ORDINAL_DNS_POD=disabled`, 'm'),
      );
      expect(output()).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      holder.close();
    }
  });
});

describe("a set's zone", () => {
  it('is served from the first publish while the set has no record in it, and forgotten at deletion', async () => {
    const ordinal = await startTestOrdinal();
    try {
      const name = uniqueName('zoned');
      const zone = `${name}.test`;
      const ask = async (n: string) => udpAsk('127.0.0.1', ordinal.config.dns.port, query(n, 'A'));
      expect((await ask(`${name}-0.${name}.${zone}`)).rcode).toBe('REFUSED');

      const manifest = fixtureManifest(name, { replicas: 1 });
      await ordinal.sets.apply(name, { ...manifest, spec: { ...manifest.spec, dns: { ttl: 1, zone } } });
      await waitForSet(ordinal.sets, name, (v) => isReady(v));
      expect((await ask(`${name}-0.${name}.${zone}`)).rcode).toBe('NOERROR');

      // Scaled to zero: no record is left, the zone still answers for itself.
      await ordinal.sets.apply(name, { ...manifest, spec: { ...manifest.spec, replicas: 0, dns: { ttl: 1, zone } } });
      const empty = await waitFor(async () => {
        const reply = await ask(`${name}-0.${name}.${zone}`);
        return reply.rcode === 'NXDOMAIN' ? reply : undefined;
      }, { message: `${name}-0 withdrawn` });
      expect(empty.authorities).toEqual([expect.objectContaining({ type: 'SOA', name: zone })]);

      await ordinal.sets.delete(name);
      await waitFor(async () => (await ordinal.sets.get(name)) === undefined, { timeoutMs: 60_000, message: `${name} gone` });
      expect((await ask(`${name}-0.${name}.${zone}`)).rcode).toBe('REFUSED');
    } finally {
      await ordinal.stop();
    }
  });
});
