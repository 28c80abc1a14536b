// The embedded DNS server over real sockets: node's resolver (c-ares) over UDP, falling back to TCP on
// truncation, and raw TCP with several pipelined queries; records written by another connection (the
// worker) are answered live; a restart on the same file loses nothing.
import dgram from 'node:dgram';
import { promises as dns } from 'node:dns';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import dnsPacket, { type Packet } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RecordSet } from '../../core/dns-records.js';
import { startDnsServer, type DnsServer } from '../../dns/server.js';
import { DnsStore } from '../../dns/store.js';
import { waitFor } from '../harness/services.js';
import { udpExchange } from '../harness/udp-dns.js';

const ZONE = 'ordinal.internal';
const HOST = '127.0.0.1';
const BIG = 100; // instances: their service A answer (~3.6 kB) exceeds any UDP limit we allow

function serviceRecords(set: string, count: number, firstOctet = 0): RecordSet[] {
  const addresses = Array.from({ length: count }, (_, i) => `127.77.${firstOctet + (i >> 8)}.${(i & 255) + 1}`);
  return [
    ...addresses.map((address, i): RecordSet => ({ name: `${set}-${i}.${set}.${ZONE}`, type: 'A', ttl: 5, values: [address] })),
    { name: `${set}.${ZONE}`, type: 'A', ttl: 5, values: addresses },
    {
      name: `_http._tcp.${set}.${ZONE}`,
      type: 'SRV',
      ttl: 5,
      values: addresses.map((_, i) => `0 10 8080 ${set}-${i}.${set}.${ZONE}`),
    },
  ];
}

/** A fresh resolver per query: no answer (or negative answer) cached by c-ares between attempts. */
function resolver(port: number): dns.Resolver {
  const r = new dns.Resolver({ timeout: 2000, tries: 2 });
  r.setServers([`${HOST}:${port}`]);
  return r;
}

async function errorCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code;
  }
}

function query(id: number, name: string, type: 'A' | 'SRV' | 'SOA'): Packet {
  return { type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type, name, class: 'IN' }] };
}

/** One TCP connection: write chunks as given, collect `count` framed replies. */
async function tcpExchange(port: number, chunks: Buffer[], count: number): Promise<Array<Packet & { rcode?: string }>> {
  const socket = net.connect(port, HOST);
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fewer than ${count} TCP replies within 5 s`)), 5000);
      const replies: Packet[] = [];
      let pending = Buffer.alloc(0);
      socket.on('error', reject);
      socket.on('data', (chunk) => {
        pending = Buffer.concat([pending, chunk]);
        while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
          replies.push(dnsPacket.streamDecode(pending));
          pending = pending.subarray(2 + pending.readUInt16BE(0));
        }
        if (replies.length >= count) {
          clearTimeout(timer);
          resolve(replies);
        }
      });
      socket.on('connect', async () => {
        // Separate writes, each flushed before the next, so the server sees split and joined frames.
        for (const chunk of chunks) await new Promise<void>((done) => socket.write(chunk, () => done()));
      });
    });
  } finally {
    socket.destroy();
  }
}

describe('embedded DNS server', () => {
  let dir: string;
  let file: string;
  let store: DnsStore;
  let server: DnsServer;
  let port: number;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-dns-server-'));
    file = path.join(dir, 'dns.db');
    // The worker's connection writes; the server has its own, as in two processes.
    const writer = DnsStore.open(file, ZONE);
    writer.replaceSetRecords('web', ZONE, serviceRecords('web', 3));
    writer.replaceSetRecords('big', ZONE, serviceRecords('big', BIG, 1));
    writer.close();
    store = DnsStore.open(file, ZONE);
    server = await startDnsServer({ host: HOST, port: 0, store });
    port = server.udpPort;
  });

  afterAll(async () => {
    await server?.close();
    store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves UDP and TCP on the same port', () => {
    expect(server.udpPort).toBeGreaterThan(0);
    expect(server.tcpPort).toBe(server.udpPort);
    expect(server.address).toBe(HOST);
  });

  it('answers A, SRV and SOA over UDP', async () => {
    expect(await resolver(port).resolve4(`web-1.web.${ZONE}`)).toEqual(['127.77.0.2']);
    expect((await resolver(port).resolve4(`Web.${ZONE.toUpperCase()}.`)).sort()).toEqual([
      '127.77.0.1',
      '127.77.0.2',
      '127.77.0.3',
    ]);
    const srv = await resolver(port).resolveSrv(`_http._tcp.web.${ZONE}`);
    expect(srv.map((s) => s.name).sort()).toEqual([0, 1, 2].map((i) => `web-${i}.web.${ZONE}`));
    expect(srv.every((s) => s.port === 8080 && s.weight === 10 && s.priority === 0)).toBe(true);
    const soa = await resolver(port).resolveSoa(ZONE);
    expect(soa).toMatchObject({ nsname: `ns.${ZONE}`, hostmaster: `hostmaster.${ZONE}`, minttl: 5 });
    expect(soa.serial).toBe(store.serial(ZONE));
    expect(await resolver(port).resolveNs(ZONE)).toEqual([`ns.${ZONE}`]);
  });

  it('answers NXDOMAIN, NODATA and REFUSED with the codes the resolver expects', async () => {
    expect(await errorCode(resolver(port).resolve4(`web-7.web.${ZONE}`))).toBe('ENOTFOUND');
    expect(await errorCode(resolver(port).resolve6(`web-1.web.${ZONE}`))).toBe('ENODATA');
    expect(await errorCode(resolver(port).resolve4('example.com'))).toBe('EREFUSED');
  });

  it('gives each reply its own query ID, also when the same question repeats', async () => {
    for (const id of [1, 2, 0xffff, 3]) {
      const reply = await udpExchange(port, dnsPacket.encode(query(id, `web-2.web.${ZONE}`, 'A')));
      expect(reply.id).toBe(id);
      expect(reply.answers).toHaveLength(1);
    }
  });

  it('puts SRV targets in the additional section', async () => {
    const reply = await udpExchange(port, dnsPacket.encode(query(1, `_http._tcp.web.${ZONE}`, 'SRV')));
    expect(reply.answers).toHaveLength(3);
    expect(reply.additionals!.map((a) => a.name).sort()).toEqual([0, 1, 2].map((i) => `web-${i}.web.${ZONE}`));
  });

  it('truncates a large UDP answer, and the resolver gets it whole over TCP', async () => {
    const udp = await udpExchange(port, dnsPacket.encode(query(2, `big.${ZONE}`, 'A')));
    expect(udp.flag_tc).toBe(true);
    expect(udp.answers).toEqual([]);

    const addresses = await resolver(port).resolve4(`big.${ZONE}`);
    expect(addresses).toHaveLength(BIG);
    expect(new Set(addresses).size).toBe(BIG);
    expect(await resolver(port).resolveSrv(`_http._tcp.big.${ZONE}`)).toHaveLength(BIG);
  });

  it('answers several pipelined TCP queries on one connection, across split frames', async () => {
    const frames = [
      dnsPacket.streamEncode(query(10, `web-0.web.${ZONE}`, 'A')),
      dnsPacket.streamEncode(query(11, `big.${ZONE}`, 'A')),
      dnsPacket.streamEncode(query(12, `nope.${ZONE}`, 'A')),
      dnsPacket.streamEncode(query(13, ZONE, 'SOA')),
      dnsPacket.streamEncode(query(14, `web-0.web.${ZONE}`, 'A')), // the same question again: a cached reply
    ];
    const all = Buffer.concat(frames);
    // The first frame split inside its length prefix, then the rest in one chunk ending mid-frame.
    const chunks = [all.subarray(0, 1), all.subarray(1, all.length - 5), all.subarray(all.length - 5)];
    const replies = await tcpExchange(server.tcpPort, chunks, 5);
    expect(replies.map((r) => r.id)).toEqual([10, 11, 12, 13, 14]);
    expect(replies.map((r) => r.rcode)).toEqual(['NOERROR', 'NOERROR', 'NXDOMAIN', 'NOERROR', 'NOERROR']);
    expect(replies[0].answers!.map((a) => (a as { data: unknown }).data)).toEqual(['127.77.0.1']);
    expect(replies[4].answers).toEqual(replies[0].answers);
    expect(replies[1].answers).toHaveLength(BIG); // TCP is never truncated
    expect(replies[2].authorities!.map((a) => a.type)).toEqual(['SOA']);
  });

  it('answers FORMERR to malformed packets and keeps serving', async () => {
    // A readable header claiming a question that is not there.
    const broken = Buffer.alloc(12);
    broken.writeUInt16BE(0x1234, 0);
    broken.writeUInt16BE(1, 4);
    const udpReply = await udpExchange(port, broken);
    expect(udpReply).toMatchObject({ id: 0x1234, rcode: 'FORMERR' });

    // Unreadable garbage is dropped; the next query still gets its answer.
    const garbage = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => garbage.send(Buffer.from([1, 2, 3]), port, HOST, () => resolve()));
    garbage.close();

    const lengthOfBroken = Buffer.alloc(2);
    lengthOfBroken.writeUInt16BE(broken.length);
    const tcpReplies = await tcpExchange(
      server.tcpPort,
      [Buffer.concat([lengthOfBroken, broken, dnsPacket.streamEncode(query(20, `web.${ZONE}`, 'A'))])],
      2,
    );
    expect(tcpReplies.map((r) => [r.id, r.rcode])).toEqual([
      [0x1234, 'FORMERR'],
      [20, 'NOERROR'],
    ]);
    expect(await resolver(port).resolve4(`web-0.web.${ZONE}`)).toEqual(['127.77.0.1']);
  });

  it('answers records another connection writes, without a restart', async () => {
    const writer = DnsStore.open(file, ZONE);
    try {
      const serial = store.serial(ZONE)!;
      // Asked before it exists, so a stale cached NXDOMAIN would show.
      expect(await errorCode(resolver(port).resolve4(`api-1.api.${ZONE}`))).toBe('ENOTFOUND');
      writer.replaceSetRecords('api', ZONE, serviceRecords('api', 2, 9));
      await waitFor(async () => (await resolver(port).resolve4(`api-1.api.${ZONE}`))[0] === '127.77.9.2', {
        timeoutMs: 10_000,
        message: 'the new record to be answered',
      });
      expect((await resolver(port).resolveSoa(ZONE)).serial).toBeGreaterThan(serial);

      writer.replaceSetRecords('api', ZONE, []);
      await waitFor(async () => (await errorCode(resolver(port).resolve4(`api-1.api.${ZONE}`))) === 'ENOTFOUND', {
        timeoutMs: 10_000,
        message: 'the removed record to be gone',
      });
    } finally {
      writer.close();
    }
  });

  it('answers every query from the store as of its arrival: a commit is visible to the very next query', async () => {
    // No waiting between the commit and the query: a server answering from an older view fails here.
    const writer = DnsStore.open(file, ZONE);
    try {
      for (let round = 0; round < 40; round++) {
        const address = `127.78.${round}.1`;
        writer.replaceSetRecords('fresh', ZONE, [{ name: `fresh-0.fresh.${ZONE}`, type: 'A', ttl: 5, values: [address] }]);
        const viaUdp = await udpExchange(port, dnsPacket.encode(query(round, `fresh-0.fresh.${ZONE}`, 'A')));
        expect(viaUdp.answers?.map((answer) => (answer as { data?: unknown }).data), `UDP, round ${round}`).toEqual([address]);
        const [viaTcp] = await tcpExchange(port, [dnsPacket.streamEncode(query(round, `fresh-0.fresh.${ZONE}`, 'A'))], 1);
        expect(viaTcp!.answers?.map((answer) => (answer as { data?: unknown }).data), `TCP, round ${round}`).toEqual([address]);
      }
      writer.replaceSetRecords('fresh', ZONE, []);
      const gone = await udpExchange(port, dnsPacket.encode(query(99, `fresh-0.fresh.${ZONE}`, 'A')));
      expect((gone as { rcode?: string }).rcode).toBe('NXDOMAIN');
    } finally {
      writer.close();
    }
  });

  it('closes idle TCP connections', async () => {
    const idle = await startDnsServer({ host: HOST, port: 0, store, tcpIdleTimeoutMs: 200 });
    try {
      const socket = net.connect(idle.tcpPort, HOST);
      let closed = false;
      socket.on('error', () => {});
      socket.on('close', () => (closed = true));
      await waitFor(() => closed, { timeoutMs: 5000, intervalMs: 20, message: 'the idle connection to be closed' });
    } finally {
      await idle.close();
    }
  });

  it('loses nothing across a restart on the same file', async () => {
    const serial = store.serial(ZONE);
    await server.close();
    store.close();

    store = DnsStore.open(file, ZONE);
    server = await startDnsServer({ host: HOST, port: 0, store });
    port = server.udpPort;
    expect(await resolver(port).resolve4(`web-2.web.${ZONE}`)).toEqual(['127.77.0.3']);
    expect(await resolver(port).resolve4(`big.${ZONE}`)).toHaveLength(BIG);
    expect((await resolver(port).resolveSoa(ZONE)).serial).toBe(serial);
  });
});
