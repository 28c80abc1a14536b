// One DNS exchange over UDP with raw bytes, for tests that send malformed or hand-built packets.
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';

export type DnsReply = ReturnType<typeof dnsPacket.decode> & { rcode?: string };

/** Sends `bytes` to host:port and returns the decoded reply; rejects when none comes within 5 s. */
export async function udpExchange(port: number, bytes: Buffer, host = '127.0.0.1'): Promise<DnsReply> {
  const socket = dgram.createSocket('udp4');
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no UDP reply within 5 s')), 5000);
      socket.once('message', (message) => {
        clearTimeout(timer);
        resolve(dnsPacket.decode(message) as DnsReply);
      });
      socket.send(bytes, port, host, (error) => error && reject(error));
    });
  } finally {
    socket.close();
  }
}
