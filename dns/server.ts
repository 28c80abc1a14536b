// The embedded authoritative DNS server: UDP and TCP on one host and port, answering from the store.
// All DNS logic is in answer.ts (and, for a listener that forwards, forwarder.ts), turned into bytes by
// responder.ts; this file only moves bytes and never lets a bad packet crash it. One store serves
// several listeners: the host listener (authoritative only) and the pod listener instances resolve
// through (which also forwards). With `receivers` > 1, receiver processes share its UDP socket.
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from '../infra/logger.js';
import type { AnswerOptions } from './answer.js';
import type { Forwarder } from './forwarder.js';
import { startReceivers, type ReceiverGroup } from './receivers.js';
import { createResponder, type ReceivedQuery, type ReplySink } from './responder.js';
import type { DnsStore } from './store.js';

export interface DnsServerOptions {
  host: string;
  /** 0 picks a free port (the same one for UDP and TCP). */
  port: number;
  /** `file` and `defaultZone` are needed only with more than one receiver: each opens its own connection. */
  store: Pick<DnsStore, 'view'> & Partial<Pick<DnsStore, 'file' | 'defaultZone'>>;
  /** What ns.<zone> resolves to; defaults to `host`, or 127.0.0.1 when `host` is a wildcard or a name. */
  serverAddress?: string;
  negativeTtl?: number;
  logger?: Logger;
  /** Idle TCP connections are closed after this long (RFC 7766 suggests seconds). */
  tcpIdleTimeoutMs?: number;
  /**
   * Forward what loopback clients ask with RD set about names outside every zone (forwarder.ts's
   * shouldForward); without it such names are REFUSED. The caller closes it.
   */
  forwarder?: Forwarder;
  /** Answered to `id.server` / `hostname.bind` CH TXT: which installation this is. */
  identity?: string;
  /**
   * Processes reading the UDP socket, this one included (default 1): the others are receiver processes
   * (receivers.ts) sharing the socket, so UDP queries are answered on more than one core.
   */
  receivers?: number;
}

export interface DnsServer {
  udpPort: number;
  tcpPort: number;
  address: string;
  /** Processes answering UDP queries, this one included: `receivers` less those that failed to start. */
  receivers: number;
  /** The receiver processes' ids (not this one's): what ps shows answering beside the server. */
  receiverPids: readonly number[];
  close(): Promise<void>;
}

const DEFAULT_TCP_IDLE_TIMEOUT_MS = 10_000;
/** Tries when port 0 gave UDP a port that TCP then finds taken. */
const BIND_ATTEMPTS = 5;
const MAX_TCP_UNREAD_BYTES = 1 << 20;

export async function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const { host, store, logger, forwarder } = options;
  const answerOptions: AnswerOptions = {
    serverAddress: options.serverAddress ?? defaultServerAddress(host),
    negativeTtl: options.negativeTtl,
    identity: options.identity,
  };
  const extraReceivers = Math.max(0, Math.floor(options.receivers ?? 1) - 1);
  if (extraReceivers > 0 && (store.file === undefined || store.defaultZone === undefined)) {
    throw new Error('more than one DNS receiver needs a store opened from a file (DnsStore.open)');
  }
  if (extraReceivers > 0 && forwarder !== undefined && forwarder.settings === undefined) {
    throw new Error('more than one DNS receiver needs a forwarder from createForwarder (its settings)');
  }
  let closed = false;
  const idleMs = options.tcpIdleTimeoutMs ?? DEFAULT_TCP_IDLE_TIMEOUT_MS;
  const { udp, tcp } = await bindBoth(host, options.port);
  const sockets = new Set<net.Socket>();
  const responder = createResponder({ store, answerOptions, forwarder, logger });

  const udpSink: ReplySink = {
    send(reply, query) {
      if (closed) return;
      // No callback: a lost UDP reply is retried by the client, and none saves a tick per query.
      udp.send(reply, query.port, query.address);
    },
  };
  udp.on('message', (message, remote) => {
    const query: ReceivedQuery = { message, transport: 'udp', address: remote.address, port: remote.port, sink: udpSink };
    responder.enqueue(query);
  });
  udp.on('error', (error) => logger?.warn({ err: error }, 'dns udp socket error'));

  tcp.on('connection', (socket) => {
    sockets.add(socket);
    const address = socket.remoteAddress ?? '';
    const port = socket.remotePort ?? 0;
    socket.setTimeout(idleMs, () => socket.destroy());
    socket.on('error', (error) => logger?.debug({ err: error, client: `${address}:${port}` }, 'dns tcp connection error'));
    socket.on('close', () => sockets.delete(socket));
    // Messages are framed by a 2-byte length and may arrive split or several per chunk.
    // Replies keep the order of their queries (the batch is answered in arrival order), except forwarded
    // ones, sent when the upstream answers: clients match replies by ID (RFC 7766 allows any order).
    let unread = Buffer.alloc(0);
    const sink: ReplySink = {
      send(reply) {
        if (!closed && !socket.destroyed) socket.write(reply);
      },
    };
    socket.on('data', (chunk) => {
      unread = unread.length === 0 ? chunk : Buffer.concat([unread, chunk]);
      while (unread.length >= 2) {
        const end = 2 + unread.readUInt16BE(0);
        if (unread.length < end) break;
        // A copy: the socket may reuse the chunk's memory before the batch is answered.
        responder.enqueue({ message: Buffer.from(unread.subarray(2, end)), transport: 'tcp', address, port, sink });
        unread = unread.subarray(end);
      }
      // A client that pipelines queries but never reads its replies must not fill our memory.
      if (socket.writableLength > MAX_TCP_UNREAD_BYTES) socket.destroy();
    });
  });
  tcp.on('error', (error) => logger?.warn({ err: error }, 'dns tcp server error'));

  let group: ReceiverGroup | undefined;
  if (extraReceivers > 0) {
    group = await startReceivers(
      extraReceivers,
      udp,
      { storeFile: store.file!, defaultZone: store.defaultZone!, answerOptions, forwarder: forwarder?.settings },
      logger,
    );
  }

  const bound = udp.address();
  logger?.info({ address: bound.address, port: bound.port, receivers: 1 + (group?.ready ?? 0) }, 'dns server listening on udp and tcp');
  return {
    udpPort: bound.port,
    tcpPort: (tcp.address() as net.AddressInfo).port,
    address: bound.address,
    get receivers() {
      return 1 + (group?.ready ?? 0);
    },
    get receiverPids() {
      return group?.pids ?? [];
    },
    async close() {
      closed = true;
      await group?.close();
      for (const socket of sockets) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}

/** UDP first (port 0 picks a free one), then TCP on the same port; retry if TCP loses that port. */
async function bindBoth(host: string, port: number): Promise<{ udp: dgram.Socket; tcp: net.Server }> {
  for (let attempt = 1; ; attempt++) {
    const udp = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', (error) => {
        udp.close();
        reject(error);
      });
      udp.bind(port, host, () => {
        udp.removeAllListeners('error');
        resolve();
      });
    });
    const tcp = net.createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(udp.address().port, host, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
      return { udp, tcp };
    } catch (error) {
      udp.close();
      const retry = port === 0 && attempt < BIND_ATTEMPTS && (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
      if (!retry) throw error;
    }
  }
}

function defaultServerAddress(host: string): string {
  return net.isIP(host) !== 0 && host !== '0.0.0.0' && host !== '::' ? host : '127.0.0.1';
}
