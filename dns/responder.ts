// Turns received DNS messages into reply bytes: the freshness check of the store, the cache of encoded
// responses, forwarding, and the last-resort SERVFAIL. Every receiver of a listener (the server's own
// sockets, and each receiver process sharing its UDP socket: receivers.ts) runs one over its own store
// connection; the transport code only hands it messages and a sink to send the replies through.
import dnsPacket, { type Packet } from 'dns-packet';
import { isLoopbackAddress } from '../infra/config.js';
import type { Logger } from '../infra/logger.js';
import { answerMalformed, answerQuery, encodeForUdp, RCODE, udpPayloadLimit, type AnswerOptions, type ZoneView } from './answer.js';
import { clientUdpLimit, shouldForward, type Forwarder } from './forwarder.js';
import type { DnsStore } from './store.js';

/** Where a query's reply goes: one sink per UDP socket or TCP connection, not one closure per query. */
export interface ReplySink {
  send(reply: Buffer, query: ReceivedQuery): void;
}

export interface ReceivedQuery {
  message: Buffer;
  transport: 'udp' | 'tcp';
  /** The client's address and port. */
  address: string;
  port: number;
  sink: ReplySink;
}

export interface ResponderOptions {
  store: Pick<DnsStore, 'view'>;
  answerOptions: AnswerOptions;
  forwarder?: Forwarder;
  logger?: Logger;
}

export interface Responder {
  /** Answers the query after the current event-loop turn, with the others that arrived in it. */
  enqueue(query: ReceivedQuery): void;
}

const RESPONSE_CACHE_SIZE = 10_000;
const RCODE_NAMES = new Map<number, string>(Object.entries(RCODE).map(([name, code]) => [code, name]));

export function createResponder({ store, answerOptions, forwarder, logger }: ResponderOptions): Responder {
  // A response depends only on the query's bytes (less its ID), the transport and the store's content,
  // so encoded responses are reused until the content changes: dns-packet's encoding is the costly part.
  let cachedView: ZoneView | undefined;
  const cache = new Map<string, Buffer>();

  // Every answer reflects every commit made before its query arrived (a restarted server never answers
  // older than the store). Queries that arrive in one event-loop turn share one freshness check
  // (PRAGMA data_version), made after the last of them arrived: one check per burst, not per query.
  let pending: ReceivedQuery[] = [];
  function enqueue(query: ReceivedQuery): void {
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
    if (view !== undefined && view !== cachedView) {
      cache.clear();
      cachedView = view;
    }
    const debug = logger?.isLevelEnabled('debug') === true;
    for (const query of batch) {
      const reply = view === undefined ? serverFailure(query.message, query.transport) : respond(view, query, debug);
      if (reply !== undefined) query.sink.send(reply, query);
    }
  }

  /**
   * The bytes to send back for one message, or undefined to send nothing now (nothing at all, or a
   * forwarded query's answer later). Never throws.
   */
  function respond(view: ZoneView, received: ReceivedQuery, debug: boolean): Buffer | undefined {
    const { message, transport } = received;
    try {
      // With a forwarder the same bytes get another answer from a loopback client: it is part of the key.
      const scope = forwarder === undefined ? '' : isLoopbackAddress(received.address) ? 'l' : 'r';
      const key = message.length >= 12 ? scope + (transport === 'udp' ? 'u' : 't') + message.toString('latin1', 2) : undefined;
      const cached = key === undefined ? undefined : cache.get(key);
      if (cached !== undefined) {
        const reply = Buffer.allocUnsafe(cached.length); // a copy: the cached bytes must keep their own ID
        cached.copy(reply);
        // The ID is the first header field; over TCP it follows the 2-byte length.
        reply.writeUInt16BE(message.readUInt16BE(0), transport === 'udp' ? 0 : 2);
        if (debug) logger!.debug({ transport, client: clientOf(received), cached: true }, 'dns query');
        return reply;
      }

      let query: Packet | undefined;
      let response: Packet | undefined;
      try {
        query = dnsPacket.decode(message);
        if (forwarder !== undefined && shouldForward(query, received.address, view)) {
          forwardQuery(forwarder, received, query);
          return undefined;
        }
        response = answerQuery(query, view, answerOptions);
      } catch (error) {
        if (query !== undefined) throw error;
        response = answerMalformed(message);
      }
      if (response === undefined) return undefined;
      if (debug) {
        const question = query?.questions?.[0];
        const rcode = RCODE_NAMES.get((response.flags ?? 0) & 0xf);
        logger!.debug({ transport, client: clientOf(received), name: question?.name, type: question?.type, rcode }, 'dns query');
      }
      const reply = transport === 'udp' ? encodeForUdp(response, udpPayloadLimit(query)) : dnsPacket.streamEncode(response);
      if (key !== undefined) {
        // Bounded: random names must not grow it without limit; starting over is cheap.
        if (cache.size >= RESPONSE_CACHE_SIZE) cache.clear();
        cache.set(key, reply);
      }
      return reply;
    } catch (error) {
      logger?.error({ err: error, transport, client: clientOf(received) }, 'dns query failed');
      return serverFailure(message, transport);
    }
  }

  /** Sends an upstream's answer when it comes (forwarded answers are never cached: they are not ours). */
  function forwardQuery(forwarder: Forwarder, received: ReceivedQuery, query: Packet): void {
    const { message, transport } = received;
    void forwarder.forward(message, query, transport === 'udp' ? clientUdpLimit(query) : undefined).then((reply) => {
      if (logger?.isLevelEnabled('debug')) {
        const question = query.questions?.[0];
        const rcode = RCODE_NAMES.get(reply.readUInt16BE(2) & 0xf);
        logger.debug({ transport, client: clientOf(received), name: question?.name, type: question?.type, rcode, forwarded: true }, 'dns query');
      }
      if (transport === 'udp') {
        received.sink.send(reply, received);
      } else {
        const length = Buffer.alloc(2);
        length.writeUInt16BE(reply.length);
        received.sink.send(Buffer.concat([length, reply]), received);
      }
    });
  }

  return { enqueue };
}

function clientOf(query: ReceivedQuery): string {
  return `${query.address}:${query.port}`;
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
