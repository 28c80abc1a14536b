// One DNS question over UDP, for the bench's checks and polls (the load itself comes from dnsperf).
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

export interface AAnswer {
  rcode: string;
  addresses: string[];
}

const RCODES: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED' };
let nextId = 1;

/** Asks `name` A of 127.0.0.1:port; rejects after timeoutMs. */
export function queryA(port: number, name: string, timeoutMs = 250): Promise<AAnswer> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const id = (nextId = (nextId % 65535) + 1);
    const timer = setTimeout(() => done(() => reject(new Error(`no DNS answer for ${name} within ${timeoutMs} ms`))), timeoutMs);
    function done(outcome: () => void) {
      clearTimeout(timer);
      socket.close();
      outcome();
    }
    socket.on('error', (err) => done(() => reject(err)));
    socket.on('message', (message) => {
      let packet: dnsPacket.Packet;
      try {
        packet = dnsPacket.decode(message);
      } catch (err) {
        done(() => reject(err as Error));
        return;
      }
      if (packet.id !== id) return;
      const addresses = (packet.answers ?? []).flatMap((a) => (a.type === 'A' ? [String(a.data)] : []));
      const code = (packet.flags ?? 0) & 0xf;
      done(() => resolve({ rcode: RCODES[code] ?? `RCODE${code}`, addresses: addresses.sort() }));
    });
    socket.send(dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] }), port, '127.0.0.1');
  });
}
