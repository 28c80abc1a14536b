// A tiny upstream resolver for tests of the pod listener's forwarding: UDP and TCP on one port of
// 127.0.0.1, fixed A records, NXDOMAIN for every other name (NOERROR without answers for other types
// of a known name). Point ORDINAL_DNS_UPSTREAM (or startTestOrdinal's podDns.upstreams) at it, so no
// query from a test ever reaches the machine's real resolver.
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type Packet } from 'dns-packet';

export interface FakeUpstream {
  host: string;
  port: number;
  /** Every question asked, as `<transport> <TYPE> <name>` (lower case): what was forwarded. */
  asked: string[];
  close(): Promise<void>;
}

/** How a test resolver answers one question; undefined answers nothing (a silent server). */
export type Responder = (query: Packet, transport: 'udp' | 'tcp') => Packet | undefined;

/** A DNS server on 127.0.0.1, UDP and TCP on one port, answering with `respond`. */
export async function startDnsResponder(respond: Responder): Promise<{ host: string; port: number; close(): Promise<void> }> {
  for (let attempt = 0; ; attempt++) {
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
    const port = udp.address().port;
    const sockets = new Set<net.Socket>();
    const tcp = net.createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      let unread = Buffer.alloc(0);
      socket.on('error', () => undefined);
      socket.on('data', (chunk) => {
        unread = Buffer.concat([unread, chunk]);
        while (unread.length >= 2 && unread.length >= 2 + unread.readUInt16BE(0)) {
          let reply: Packet | undefined;
          try {
            reply = respond(dnsPacket.streamDecode(unread), 'tcp');
          } catch {
            socket.destroy();
            return;
          }
          unread = unread.subarray(2 + unread.readUInt16BE(0));
          if (reply) socket.write(dnsPacket.streamEncode(reply));
        }
      });
    });
    const listening = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!listening) {
      udp.close();
      if (attempt >= 10) throw new Error('could not bind a test DNS server on 127.0.0.1 (UDP and TCP on one port)');
      continue; // TCP lost the port UDP picked: try another
    }
    udp.on('message', (message, remote) => {
      let reply: Packet | undefined;
      try {
        reply = respond(dnsPacket.decode(message), 'udp');
      } catch {
        return;
      }
      if (reply) udp.send(dnsPacket.encode(reply), remote.port, remote.address);
    });
    return {
      host: '127.0.0.1',
      port,
      close: async () => {
        for (const socket of sockets) socket.destroy();
        await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
      },
    };
  }
}

/** Starts the resolver; `records` maps names (any case, no trailing dot) to their IPv4 addresses. */
export async function startFakeUpstream(records: Record<string, string[]>): Promise<FakeUpstream> {
  const known = new Map(Object.entries(records).map(([name, values]) => [name.toLowerCase().replace(/\.$/, ''), values]));
  const asked: string[] = [];
  const server = await startDnsResponder((query, transport) => {
    const question = query.questions?.[0];
    if (query.type !== 'query' || question === undefined) return undefined;
    const name = question.name.toLowerCase().replace(/\.$/, '');
    asked.push(`${transport} ${question.type} ${name}`);
    const base: Packet = {
      type: 'response',
      id: query.id,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
      questions: [question],
    };
    const values = known.get(name);
    if (values === undefined) return { ...base, flags: base.flags! | 3 }; // NXDOMAIN
    if (question.type !== 'A') return base; // NODATA
    return { ...base, answers: values.map((data) => ({ name: question.name, type: 'A' as const, ttl: 30, data })) };
  });
  return { ...server, asked };
}
