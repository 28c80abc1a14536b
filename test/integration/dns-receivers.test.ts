// The embedded DNS server with receiver processes sharing its UDP socket. Each receiver is made to
// answer alone: the others are stopped (SIGSTOP) and the server's own process, which is this test's, is
// blocked while a client process asks (execFileSync), so a reply can only come from that receiver. Each
// must see every commit at once (a publish, a change, a withdrawal, a zone's release), answer malformed
// packets as before, and forward; a receiver that dies is replaced; close() ends them.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import dnsPacket, { type Packet } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createForwarder, type Forwarder } from '../../dns/forwarder.js';
import { startDnsServer, type DnsServer } from '../../dns/server.js';
import { DnsStore } from '../../dns/store.js';
import { waitFor } from '../harness/services.js';
import { udpExchange } from '../harness/udp-dns.js';

const ZONE = 'ordinal.internal';
const HOST = '127.0.0.1';
const OUTSIDE = 'outside.example';
const OUTSIDE_ADDRESS = '192.0.2.7';

type Reply = Packet & { rcode?: string };

/**
 * Sends each packet over UDP from another process, one after the other, and returns the replies (null:
 * none within its timeout). Synchronous on purpose: this process, the server's own receiver, reads
 * nothing meanwhile.
 */
const CLIENT = `
const dgram = require('node:dgram');
const [port, packets] = JSON.parse(process.argv[1]);
(async () => {
  const replies = [];
  for (const { hex, timeoutMs } of packets) {
    const socket = dgram.createSocket('udp4');
    replies.push(await new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), timeoutMs);
      socket.on('message', (message) => { clearTimeout(timer); resolve(message.toString('hex')); });
      socket.send(Buffer.from(hex, 'hex'), port, '127.0.0.1');
    }));
    socket.close();
  }
  process.stdout.write(JSON.stringify(replies));
})();
`;

function askBlocking(port: number, packets: Array<{ bytes: Buffer; timeoutMs?: number }>): Array<Reply | null> {
  const args = JSON.stringify([port, packets.map((p) => ({ hex: p.bytes.toString('hex'), timeoutMs: p.timeoutMs ?? 5000 }))]);
  const out = execFileSync(process.execPath, ['-e', CLIENT, args], { encoding: 'utf8', timeout: 60_000 });
  return (JSON.parse(out) as Array<string | null>).map((hex) => (hex === null ? null : (dnsPacket.decode(Buffer.from(hex, 'hex')) as Reply)));
}

/**
 * An upstream resolver in a process of its own (this one is blocked while a receiver forwards): every
 * A question gets OUTSIDE_ADDRESS. It prints its port, then one line per question it is asked.
 */
const UPSTREAM = `
const dgram = require('node:dgram');
const socket = dgram.createSocket('udp4');
socket.on('message', (query, remote) => {
  let end = 12;
  while (query[end] !== 0) end += query[end] + 1;
  end += 5;
  const reply = Buffer.concat([query.subarray(0, end), Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, ${OUTSIDE_ADDRESS.split('.').join(', ')}])]);
  reply.writeUInt16BE(0x8180, 2);
  reply.writeUInt16BE(1, 6);
  reply.writeUInt16BE(0, 8);
  reply.writeUInt16BE(0, 10);
  socket.send(reply, remote.port, remote.address);
  process.stdout.write('asked\\n');
});
socket.bind(0, '127.0.0.1', () => process.stdout.write(socket.address().port + '\\n'));
`;

function query(id: number, name: string, type: 'A' | 'SOA', recursion = false): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: recursion ? dnsPacket.RECURSION_DESIRED : 0, questions: [{ type, name, class: 'IN' }] });
}

const addresses = (reply: Reply | null) => reply?.answers?.map((answer) => (answer as { data?: unknown }).data);

describe('the embedded DNS server with receiver processes', () => {
  let dir: string;
  let writer: DnsStore;
  let store: DnsStore;
  let server: DnsServer;
  let forwarder: Forwarder;
  let upstream: ChildProcess;
  let upstreamAsked = 0;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-dns-receivers-'));
    const file = path.join(dir, 'dns.db');
    // The worker's connection writes; the server and each receiver read through their own.
    writer = DnsStore.open(file, ZONE);
    writer.replaceSetRecords('web', ZONE, [{ name: `web-0.web.${ZONE}`, type: 'A', ttl: 5, values: ['127.77.0.1'] }]);
    store = DnsStore.open(file, ZONE);

    upstream = spawn(process.execPath, ['-e', UPSTREAM], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines = readline.createInterface({ input: upstream.stdout! });
    const upstreamPort = await new Promise<number>((resolve) => lines.once('line', (line) => resolve(Number(line))));
    lines.on('line', () => upstreamAsked++);
    forwarder = createForwarder({ upstreams: [{ host: HOST, port: upstreamPort }], timeoutMs: 2000 });

    server = await startDnsServer({ host: HOST, port: 0, store, forwarder, receivers: 3 });
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    forwarder?.close();
    upstream?.kill();
    store?.close();
    writer?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `fn` with every receiver process but `pid` stopped. */
  function alone<T>(pid: number, fn: () => T): T {
    const others = server.receiverPids.filter((p) => p !== pid);
    for (const other of others) process.kill(other, 'SIGSTOP');
    try {
      return fn();
    } finally {
      for (const other of others) process.kill(other, 'SIGCONT');
    }
  }

  it('starts the receiver processes it is asked for', () => {
    expect(server.receivers).toBe(3);
    expect(server.receiverPids).toHaveLength(2);
    expect(server.receiverPids).not.toContain(process.pid);
  });

  it('answers from each receiver process alone, which sees a publish, a change, a withdrawal and a zone release at once', () => {
    expect(server.receiverPids).toHaveLength(2);
    server.receiverPids.forEach((pid, n) => {
      alone(pid, () => {
        const ask = (bytes: Buffer) => askBlocking(server.udpPort, [{ bytes }])[0];
        expect(addresses(ask(query(1, `web-0.web.${ZONE}`, 'A'))), `receiver ${n}`).toEqual(['127.77.0.1']);

        // No waiting between a commit and the next query: an answer from an older view fails here.
        writer.replaceSetRecords('fresh', ZONE, [{ name: `fresh-0.fresh.${ZONE}`, type: 'A', ttl: 5, values: [`127.78.${n}.1`] }]);
        expect(addresses(ask(query(2, `fresh-0.fresh.${ZONE}`, 'A'))), `published, receiver ${n}`).toEqual([`127.78.${n}.1`]);
        writer.replaceSetRecords('fresh', ZONE, [{ name: `fresh-0.fresh.${ZONE}`, type: 'A', ttl: 5, values: [`127.78.${n}.2`] }]);
        expect(addresses(ask(query(3, `fresh-0.fresh.${ZONE}`, 'A'))), `changed, receiver ${n}`).toEqual([`127.78.${n}.2`]);
        writer.replaceSetRecords('fresh', ZONE, []);
        expect(ask(query(4, `fresh-0.fresh.${ZONE}`, 'A'))?.rcode, `withdrawn, receiver ${n}`).toBe('NXDOMAIN');

        // A zone is served from its set's first publish until the set is released.
        writer.replaceSetRecords('zoned', 'zoned.test', [{ name: 'a.zoned.test', type: 'A', ttl: 5, values: ['127.79.0.1'] }]);
        expect(addresses(ask(query(5, 'a.zoned.test', 'A'))), `zone served, receiver ${n}`).toEqual(['127.79.0.1']);
        writer.releaseSet('zoned');
        expect(ask(query(6, 'a.zoned.test', 'A'))?.rcode, `zone released, receiver ${n}`).toBe('REFUSED');
      });
    });
  });

  it("answers from the server's own process while every receiver process is stopped", async () => {
    for (const pid of server.receiverPids) process.kill(pid, 'SIGSTOP');
    try {
      writer.replaceSetRecords('own', ZONE, [{ name: `own-0.own.${ZONE}`, type: 'A', ttl: 5, values: ['127.80.0.1'] }]);
      const reply = await udpExchange(server.udpPort, query(7, `own-0.own.${ZONE}`, 'A'));
      expect(addresses(reply)).toEqual(['127.80.0.1']);
    } finally {
      for (const pid of server.receiverPids) process.kill(pid, 'SIGCONT');
    }
  });

  it('answers FORMERR to a malformed packet in a receiver process, drops garbage and keeps serving', () => {
    const broken = Buffer.alloc(12);
    broken.writeUInt16BE(0x1234, 0);
    broken.writeUInt16BE(1, 4); // a question that is not there
    const [pid] = server.receiverPids;
    const replies = alone(pid, () =>
      askBlocking(server.udpPort, [{ bytes: broken }, { bytes: Buffer.from([1, 2, 3]), timeoutMs: 500 }, { bytes: query(8, `web-0.web.${ZONE}`, 'A') }]),
    );
    expect(replies[0]).toMatchObject({ id: 0x1234, rcode: 'FORMERR' });
    expect(replies[1]).toBeNull();
    expect(addresses(replies[2])).toEqual(['127.77.0.1']);
  });

  it('forwards an outside name from a receiver process', async () => {
    const asked = upstreamAsked;
    const [, pid] = server.receiverPids;
    const [reply] = alone(pid, () => askBlocking(server.udpPort, [{ bytes: query(9, OUTSIDE, 'A', true) }]));
    expect(reply).toMatchObject({ id: 9, rcode: 'NOERROR' });
    expect(addresses(reply)).toEqual([OUTSIDE_ADDRESS]);
    // Its line is read once this process runs again.
    await waitFor(() => upstreamAsked > asked, { timeoutMs: 5000, intervalMs: 20, message: 'the upstream to have been asked' });
  });

  it('starts another receiver process when one dies', async () => {
    const [dead, survivor] = server.receiverPids;
    process.kill(dead, 'SIGKILL');
    const replacement = await waitFor(() => server.receivers === 3 && server.receiverPids.find((pid) => pid !== dead && pid !== survivor), {
      timeoutMs: 60_000,
      message: 'a new receiver process to answer',
    });
    const [reply] = alone(replacement, () => askBlocking(server.udpPort, [{ bytes: query(10, `web-0.web.${ZONE}`, 'A') }]));
    expect(addresses(reply)).toEqual(['127.77.0.1']);
  }, 90_000);

  it('ends its receiver processes on close', async () => {
    const pids = server.receiverPids;
    await server.close();
    for (const pid of pids) expect(() => process.kill(pid, 0), `receiver ${pid}`).toThrow(/ESRCH/);
    // Started again so afterAll has something to close.
    server = await startDnsServer({ host: HOST, port: 0, store, receivers: 1 });
  });
});

