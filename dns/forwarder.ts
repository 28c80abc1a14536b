// Forwarding for the pod listener: instances resolve every name through it (their resolv.conf names
// it), so a name outside our zones, asked by a process on this host, goes to the host's own resolvers.
// Only loopback clients that ask for recursion are served this way: the server never becomes an open
// resolver, and the host listener (no forwarder) stays authoritative only.
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import dnsPacket, { type OptAnswer, type Packet } from 'dns-packet';
import { formatHostPort, isLoopbackAddress, type HostPort } from '../infra/config.js';
import type { Logger } from '../infra/logger.js';
import { MAX_UDP_PAYLOAD, MIN_UDP_PAYLOAD, normalizeName, RCODE, type ZoneView } from './answer.js';

export interface ForwarderOptions {
  /** Tried in order; an empty list answers SERVFAIL to every forwarded query. */
  upstreams: readonly HostPort[];
  /** How long one upstream gets, per transport (UDP, then TCP after a truncated answer). */
  timeoutMs?: number;
  /** Queries forwarded at once; beyond that, SERVFAIL at once (a flood must not open sockets without limit). */
  maxInFlight?: number;
  logger?: Logger;
}

export interface Forwarder {
  /**
   * An upstream's response to `message` (a query that decoded as `query`), with the query's ID; SERVFAIL
   * when every upstream failed. `udpLimit`: the reply goes back over UDP and must fit this many bytes
   * (a larger one becomes a truncated reply, so the client asks again over TCP). Never rejects.
   */
  forward(message: Buffer, query: Packet, udpLimit?: number): Promise<Buffer>;
  /** Ends every exchange in flight (their queries get SERVFAIL) and refuses new ones. */
  close(): void;
  /** What it was created with, less the logger: a receiver process creates its own from them. */
  readonly settings?: ForwarderSettings;
}

export type ForwarderSettings = Required<Omit<ForwarderOptions, 'logger'>>;

export const DEFAULT_FORWARD_TIMEOUT_MS = 2000;
const DEFAULT_MAX_IN_FLIGHT = 1024;
const OPCODE_MASK = 0xf << 11;
const RESPONSE_BIT = 0x8000;
const TRUNCATED_BIT = 0x0200;

/**
 * Whether a query is forwarded rather than answered: a plain query (one IN question, RD set) for a
 * name outside every zone the view serves, from a loopback client. Names inside our zones never are.
 */
export function shouldForward(query: Packet, clientAddress: string, view: Pick<ZoneView, 'findZone'>): boolean {
  if (query.type === 'response' || ((query.flags ?? 0) & OPCODE_MASK) !== 0) return false;
  if (((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED) === 0) return false;
  const questions = query.questions ?? [];
  if (questions.length !== 1) return false;
  const [question] = questions;
  if (question.class !== undefined && question.class !== 'IN') return false;
  if (question.type === 'AXFR' || question.type === 'IXFR') return false;
  if (!isLoopbackAddress(clientAddress)) return false;
  return view.findZone(normalizeName(question.name)) === undefined;
}

/** The largest UDP reply a client takes: its EDNS0 payload size, else 512 bytes. */
export function clientUdpLimit(query: Packet): number {
  const opt = query.additionals?.find((a): a is OptAnswer => a.type === 'OPT');
  return Math.max(opt?.udpPayloadSize ?? MIN_UDP_PAYLOAD, MIN_UDP_PAYLOAD);
}

type Attempt = { ok: true; response: Buffer } | { ok: false; reason: string };

export function createForwarder(options: ForwarderOptions): Forwarder {
  const upstreams = [...options.upstreams];
  const timeoutMs = options.timeoutMs ?? DEFAULT_FORWARD_TIMEOUT_MS;
  const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const { logger } = options;
  /** Aborts of the exchanges in flight, for close(). */
  const aborts = new Set<() => void>();
  let closed = false;

  async function forward(message: Buffer, query: Packet, udpLimit?: number): Promise<Buffer> {
    const id = message.readUInt16BE(0);
    if (closed || aborts.size >= maxInFlight) return failure(message, query);
    const reasons: string[] = [];
    for (const upstream of upstreams) {
      let attempt = await exchange(upstream, 'udp', message);
      if (attempt.ok && (attempt.response.readUInt16BE(2) & TRUNCATED_BIT) !== 0) {
        attempt = await exchange(upstream, 'tcp', message);
      }
      if (!attempt.ok) {
        reasons.push(`${formatHostPort(upstream)}: ${attempt.reason}`);
        continue;
      }
      const response = attempt.response;
      const rcode = response.readUInt16BE(2) & 0xf;
      if (rcode === RCODE.SERVFAIL || rcode === RCODE.REFUSED) {
        reasons.push(`${formatHostPort(upstream)}: ${rcode === RCODE.SERVFAIL ? 'SERVFAIL' : 'REFUSED'}`);
        continue;
      }
      response.writeUInt16BE(id, 0);
      if (udpLimit !== undefined && response.length > udpLimit) return truncated(message, query, response.readUInt16BE(2));
      return response;
    }
    if (logger?.isLevelEnabled('debug')) {
      logger.debug({ name: query.questions?.[0]?.name, upstreams: reasons.length > 0 ? reasons : 'none configured' }, 'dns forward failed');
    }
    return failure(message, query);
  }

  /** One query to one upstream over one transport, under its own random ID and (UDP) source port. */
  function exchange(upstream: HostPort, transport: 'udp' | 'tcp', message: Buffer): Promise<Attempt> {
    if (closed) return Promise.resolve({ ok: false, reason: 'closed' });
    const ownId = randomInt(0x10000);
    const outgoing = Buffer.from(message);
    outgoing.writeUInt16BE(ownId, 0);
    const question = questionBytes(message);
    const valid = (response: Buffer): boolean => {
      if (response.length < 12 || response.readUInt16BE(0) !== ownId) return false;
      if ((response.readUInt16BE(2) & RESPONSE_BIT) === 0) return false;
      const echoed = questionBytes(response);
      // Resolvers may answer some errors without the question; otherwise it must be ours.
      return echoed === undefined ? response.readUInt16BE(4) === 0 : echoed === question;
    };

    return new Promise<Attempt>((resolve) => {
      const cleanups: Array<() => void> = [];
      let done = false;
      const finish = (attempt: Attempt): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        aborts.delete(abort);
        for (const cleanup of cleanups) cleanup();
        resolve(attempt);
      };
      const abort = () => finish({ ok: false, reason: 'closed' });
      const timer = setTimeout(() => finish({ ok: false, reason: `no ${transport} answer within ${timeoutMs} ms` }), timeoutMs);
      aborts.add(abort);

      if (transport === 'udp') {
        const socket = dgram.createSocket(net.isIPv6(upstream.host) ? 'udp6' : 'udp4');
        cleanups.push(() => socket.close());
        socket.on('error', (error) => finish({ ok: false, reason: error.message }));
        socket.on('message', (response, remote) => {
          // Anything else reaching this port is ignored: only the upstream's answer to our ID counts.
          if (remote.port !== upstream.port || !sameAddress(remote.address, upstream.host)) return;
          if (valid(response)) finish({ ok: true, response });
        });
        socket.send(outgoing, upstream.port, upstream.host, (error) => {
          if (error) finish({ ok: false, reason: error.message });
        });
        return;
      }

      const socket = net.connect({ host: upstream.host, port: upstream.port });
      cleanups.push(() => socket.destroy());
      let unread = Buffer.alloc(0);
      socket.on('error', (error) => finish({ ok: false, reason: error.message }));
      socket.on('close', () => finish({ ok: false, reason: 'connection closed without an answer' }));
      socket.on('connect', () => {
        const length = Buffer.alloc(2);
        length.writeUInt16BE(outgoing.length);
        socket.write(Buffer.concat([length, outgoing]));
      });
      socket.on('data', (chunk) => {
        unread = unread.length === 0 ? chunk : Buffer.concat([unread, chunk]);
        while (unread.length >= 2 && unread.length >= 2 + unread.readUInt16BE(0)) {
          const response = Buffer.from(unread.subarray(2, 2 + unread.readUInt16BE(0)));
          unread = unread.subarray(2 + response.length);
          if (valid(response)) return finish({ ok: true, response });
        }
      });
    });
  }

  return {
    settings: { upstreams, timeoutMs, maxInFlight },
    forward: (message, query, udpLimit) =>
      forward(message, query, udpLimit).catch((error: unknown) => {
        logger?.error({ err: error }, 'dns forward failed');
        return failure(message, query);
      }),
    close() {
      closed = true;
      for (const abort of [...aborts]) abort();
    },
  };
}

/** The first question's bytes, lowercased (names compare without case), or undefined if unreadable. */
function questionBytes(message: Buffer): string | undefined {
  if (message.length < 12 || message.readUInt16BE(4) === 0) return undefined;
  let offset = 12;
  for (;;) {
    if (offset >= message.length) return undefined;
    const length = message[offset];
    if (length === 0) break;
    if (length > 63) return undefined; // a compression pointer: not in a question we sent
    offset += 1 + length;
  }
  const end = offset + 1 + 4;
  if (end > message.length) return undefined;
  return message.toString('latin1', 12, end).toLowerCase();
}

function sameAddress(a: string, b: string): boolean {
  const unmapped = (address: string) => (address.startsWith('::ffff:') ? address.slice(7) : address).toLowerCase();
  return unmapped(a) === unmapped(b) || (net.isIPv6(a) && net.isIPv6(b) && expand(a) === expand(b));
}

/** An IPv6 address in full, for comparing spellings such as ::1 and 0:0:0:0:0:0:0:1. */
function expand(address: string): string {
  const [head, tail = ''] = address.toLowerCase().split('%')[0].split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const middle = address.includes('::') ? Array<string>(8 - left.length - right.length).fill('0') : [];
  return [...left, ...middle, ...right].map((group) => group.padStart(4, '0')).join(':');
}

/** SERVFAIL for the client's query, with its question and EDNS. */
function failure(message: Buffer, query: Packet): Buffer {
  return reply(message, query, RCODE.SERVFAIL);
}

/** The header of an answer too large for the client's UDP limit, with TC set: it asks again over TCP. */
function truncated(message: Buffer, query: Packet, upstreamFlags: number): Buffer {
  return reply(message, query, upstreamFlags & 0xf, (upstreamFlags & ~0xf) | TRUNCATED_BIT);
}

function reply(message: Buffer, query: Packet, rcode: number, flags?: number): Buffer {
  const queryFlags = message.readUInt16BE(2);
  const hasOpt = (query.additionals ?? []).some((a) => a.type === 'OPT');
  return dnsPacket.encode({
    type: 'response',
    id: message.readUInt16BE(0),
    // Recursion is available here: this listener forwards what it does not serve.
    flags: ((flags ?? (queryFlags & (OPCODE_MASK | dnsPacket.RECURSION_DESIRED)) | dnsPacket.RECURSION_AVAILABLE) & ~0xf) | rcode,
    questions: query.questions ?? [],
    additionals: hasOpt
      ? [{ name: '.', type: 'OPT', udpPayloadSize: MAX_UDP_PAYLOAD, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] } as OptAnswer]
      : [],
  });
}
