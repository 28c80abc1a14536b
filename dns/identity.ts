// Which installation a DNS server belongs to: it answers `id.server` CH TXT (RFC 4892) with
// installationId(dataDir) (infra/config.ts). A worker asks the pod listener on <podAddress>:53 and
// compares, so it never points instances at another installation's server.
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket from 'dns-packet';

/**
 * The identity the server at host:port answers to `id.server` CH TXT; undefined when nothing answers
 * within `timeoutMs`, or the answer carries no identity (not an Ordinal server, or an older one).
 */
export async function askServerIdentity(host: string, port = 53, timeoutMs = 1000): Promise<string | undefined> {
  const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  const id = Math.floor(Math.random() * 0x10000);
  const query = dnsPacket.encode({ type: 'query', id, flags: 0, questions: [{ name: 'id.server', type: 'TXT', class: 'CH' }] });
  try {
    return await new Promise<string | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      socket.on('error', () => {
        clearTimeout(timer);
        resolve(undefined);
      });
      socket.on('message', (message, remote) => {
        if (remote.port !== port || message.length < 12 || message.readUInt16BE(0) !== id) return;
        clearTimeout(timer);
        try {
          const answer = dnsPacket.decode(message).answers?.find((a) => a.type === 'TXT');
          const data = answer?.type === 'TXT' ? answer.data : undefined;
          resolve(Array.isArray(data) ? data.map(String).join('') : data === undefined ? undefined : String(data));
        } catch {
          resolve(undefined);
        }
      });
      socket.send(query, port, host, (error) => {
        if (error) {
          clearTimeout(timer);
          resolve(undefined);
        }
      });
    });
  } finally {
    socket.close();
  }
}
