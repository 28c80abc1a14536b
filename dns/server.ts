// The embedded authoritative DNS server: UDP and TCP on one host and port, answering from the store.
// All DNS logic is in answer.ts (and, for a listener that forwards, forwarder.ts); this file only moves
// bytes and never lets a bad packet crash it. One store serves several listeners: the host listener
// (authoritative only) and the pod listener instances resolve through (which also forwards).
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type Packet } from 'dns-packet';
import { isLoopbackAddress } from '../infra/config.js';
import type { Logger } from '../infra/logger.js';
import {
  answerMalformed,
  answerQuery,
  encodeForUdp,
  RCODE,
  udpPayloadLimit,
  type AnswerOptions,
  type ZoneView,
} from './answer.js';
import { clientUdpLimit, shouldForward, type Forwarder } from './forwarder.js';
import type { DnsStore } from './store.js';

export interface DnsServerOptions {
  host: string;
  /** 0 picks a free port (the same one for UDP and TCP). */
  port: number;
  store: Pick<DnsStore, 'view'>;
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
}

export interface DnsServer {
  udpPort: number;
  tcpPort: number;
  address: string;
  close(): Promise<void>;
}

const DEFAULT_TCP_IDLE_TIMEOUT_MS = 10_000;
/** Tries when port 0 gave UDP a port that TCP then finds taken. */
const BIND_ATTEMPTS = 5;
const RESPONSE_CACHE_SIZE = 10_000;
const MAX_TCP_UNREAD_BYTES = 1 << 20;
const RCODE_NAMES = new Map<number, string>(Object.entries(RCODE).map(([name, code]) => [code, name]));

export async function startDnsServer(options: DnsServerOptions): Promise<DnsServer> {
  const { host, store, logger } = options;
  const answerOptions: AnswerOptions = {
    serverAddress: options.serverAddress ?? defaultServerAddress(host),
    negativeTtl: options.negativeTtl,
    identity: options.identity,
  };
  const { forwarder } = options;
  let closed = false;
  const idleMs = options.tcpIdleTimeoutMs ?? DEFAULT_TCP_IDLE_TIMEOUT_MS;
  const { udp, tcp } = await bindBoth(host, options.port);
  const sockets = new Set<net.Socket>();

  // A response depends only on the query's bytes (less its ID), the transport and the store's content,
  // so encoded responses are reused until the content changes: dns-packet's encoding is the costly part.
  let cachedView: ZoneView | undefined;
  const cache = new Map<string, Buffer>();

  // Every answer reflects every commit made before its query arrived (a restarted server never answers
  // older than the store). Queries that arrive in one event-loop turn share one freshness check
  // (PRAGMA data_version), made after the last of them arrived: one check per burst, not per query.
  type Pending = { message: Buffer; transport: 'udp' | 'tcp'; address: string; client: string; send: (reply: Buffer) => void };
  let pending: Pending[] = [];
  function enqueue(query: Pending): void {
    pending.push(query);
    if (pending.length === 1) setImmediate(answerPending);
  }
  function answerPending(): void {
    const batch = pending;
    pending = [];
    let view: ZoneView | undefined;
    try {
      view = store.view();
    } catch (error) {
      logger?.error({ err: error }, 'dns store read failed');
    }
    for (const query of batch) {
      const reply = view === undefined ? serverFailure(query.message, query.transport) : respond(view, query);
      if (reply !== undefined) query.send(reply);
    }
  }

  /**
   * The bytes to send back for one message, or undefined to send nothing now (nothing at all, or a
   * forwarded query's answer later). Never throws.
   */
  function respond(view: ZoneView, { message, transport, address, client, send }: Pending): Buffer | undefined {
    try {
      if (view !== cachedView) {
        cache.clear();
        cachedView = view;
      }
      // With a forwarder the same bytes get another answer from a loopback client: it is part of the key.
      const scope = forwarder === undefined ? '' : isLoopbackAddress(address) ? 'l' : 'r';
      const key = message.length >= 12 ? scope + transport + message.toString('latin1', 2) : undefined;
      const cached = key === undefined ? undefined : cache.get(key);
      if (cached !== undefined) {
        const reply = Buffer.from(cached); // a copy: the cached bytes must keep their own ID
        // The ID is the first header field; over TCP it follows the 2-byte length.
        reply.writeUInt16BE(message.readUInt16BE(0), transport === 'udp' ? 0 : 2);
        if (logger?.isLevelEnabled('debug')) logger.debug({ transport, client, cached: true }, 'dns query');
        return reply;
      }

      let query: Packet | undefined;
      let response: Packet | undefined;
      try {
        query = dnsPacket.decode(message);
        if (forwarder !== undefined && shouldForward(query, address, view)) {
          forwardQuery(forwarder, message, query, transport, client, send);
          return undefined;
        }
        response = answerQuery(query, view, answerOptions);
      } catch (error) {
        if (query !== undefined) throw error;
        response = answerMalformed(message);
      }
      if (response === undefined) return undefined;
      if (logger?.isLevelEnabled('debug')) {
        const question = query?.questions?.[0];
        const rcode = RCODE_NAMES.get((response.flags ?? 0) & 0xf);
        logger.debug({ transport, client, name: question?.name, type: question?.type, rcode }, 'dns query');
      }
      const reply =
        transport === 'udp' ? encodeForUdp(response, udpPayloadLimit(query)) : dnsPacket.streamEncode(response);
      if (key !== undefined) {
        // Bounded: random names must not grow it without limit; starting over is cheap.
        if (cache.size >= RESPONSE_CACHE_SIZE) cache.clear();
        cache.set(key, reply);
      }
      return reply;
    } catch (error) {
      logger?.error({ err: error, transport, client }, 'dns query failed');
      return serverFailure(message, transport);
    }
  }

  /** Sends an upstream's answer when it comes (forwarded answers are never cached: they are not ours). */
  function forwardQuery(
    forwarder: Forwarder,
    message: Buffer,
    query: Packet,
    transport: 'udp' | 'tcp',
    client: string,
    send: (reply: Buffer) => void,
  ): void {
    void forwarder.forward(message, query, transport === 'udp' ? clientUdpLimit(query) : undefined).then((reply) => {
      if (logger?.isLevelEnabled('debug')) {
        const question = query.questions?.[0];
        const rcode = RCODE_NAMES.get(reply.readUInt16BE(2) & 0xf);
        logger.debug({ transport, client, name: question?.name, type: question?.type, rcode, forwarded: true }, 'dns query');
      }
      if (closed) return;
      if (transport === 'udp') {
        send(reply);
      } else {
        const length = Buffer.alloc(2);
        length.writeUInt16BE(reply.length);
        send(Buffer.concat([length, reply]));
      }
    });
  }

  udp.on('message', (message, remote) => {
    enqueue({
      message,
      transport: 'udp',
      address: remote.address,
      client: `${remote.address}:${remote.port}`,
      send: (reply) => {
        if (closed) return;
        udp.send(reply, remote.port, remote.address, (error) => {
          if (error) logger?.debug({ err: error }, 'dns udp send failed');
        });
      },
    });
  });
  udp.on('error', (error) => logger?.warn({ err: error }, 'dns udp socket error'));

  tcp.on('connection', (socket) => {
    sockets.add(socket);
    const client = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setTimeout(idleMs, () => socket.destroy());
    socket.on('error', (error) => logger?.debug({ err: error, client }, 'dns tcp connection error'));
    socket.on('close', () => sockets.delete(socket));
    // Messages are framed by a 2-byte length and may arrive split or several per chunk.
    // Replies keep the order of their queries (the batch is answered in arrival order), except forwarded
    // ones, sent when the upstream answers: clients match replies by ID (RFC 7766 allows any order).
    let unread = Buffer.alloc(0);
    const send = (reply: Buffer) => {
      if (!socket.destroyed) socket.write(reply);
    };
    socket.on('data', (chunk) => {
      unread = unread.length === 0 ? chunk : Buffer.concat([unread, chunk]);
      while (unread.length >= 2) {
        const end = 2 + unread.readUInt16BE(0);
        if (unread.length < end) break;
        // A copy: the socket may reuse the chunk's memory before the batch is answered.
        enqueue({ message: Buffer.from(unread.subarray(2, end)), transport: 'tcp', address: socket.remoteAddress ?? '', client, send });
        unread = unread.subarray(end);
      }
      // A client that pipelines queries but never reads its replies must not fill our memory.
      if (socket.writableLength > MAX_TCP_UNREAD_BYTES) socket.destroy();
    });
  });
  tcp.on('error', (error) => logger?.warn({ err: error }, 'dns tcp server error'));

  const bound = udp.address();
  logger?.info({ address: bound.address, port: bound.port }, 'dns server listening on udp and tcp');
  return {
    udpPort: bound.port,
    tcpPort: (tcp.address() as net.AddressInfo).port,
    address: bound.address,
    async close() {
      closed = true;
      for (const socket of sockets) socket.destroy();
      await Promise.all([
        new Promise<void>((resolve) => udp.close(() => resolve())),
        new Promise<void>((resolve) => tcp.close(() => resolve())),
      ]);
    },
  };
}

/** SERVFAIL for a message we failed to answer, if its header allows one; a last resort. */
function serverFailure(message: Buffer, transport: 'udp' | 'tcp'): Buffer | undefined {
  try {
    const formerr = answerMalformed(message);
    if (formerr === undefined) return undefined;
    const response = { ...formerr, flags: ((formerr.flags ?? 0) & ~0xf) | RCODE.SERVFAIL };
    return transport === 'udp' ? dnsPacket.encode(response) : dnsPacket.streamEncode(response);
  } catch {
    return undefined;
  }
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
