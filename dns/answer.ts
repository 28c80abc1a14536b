// How the embedded server answers a query: pure functions from a decoded query and a read-only view of
// the zones to the response packet, plus the UDP size rule. The server only decodes, calls and sends.
import net from 'node:net';
import dnsPacket, { type Answer, type OptAnswer, type Packet } from 'dns-packet';
import type { RecordSet } from '../core/dns-records.js';

/** What answering needs from the store; unit tests pass a plain object. */
export interface ZoneView {
  /** Record sets at a name (any spelling), or none. */
  lookup(name: string): readonly RecordSet[];
  /** The longest served zone containing the name, or undefined. */
  findZone(name: string): string | undefined;
  serial(zone: string): number | undefined;
  /** True for names with records, their ancestors inside a zone (empty non-terminals) and zone apexes. */
  nameExists(name: string): boolean;
}

export interface AnswerOptions {
  /** The server's own address: what ns.<zone> resolves to (glue for the apex NS record). */
  serverAddress: string;
  /** Negative-caching TTL in seconds: the SOA minimum and the SOA record's own TTL. */
  negativeTtl?: number;
  /** Answered to `id.server` and `hostname.bind` CH TXT (RFC 4892): which installation this server is. */
  identity?: string;
}

/** The CH-class names that ask a server who it is (RFC 4892; BIND's older spelling). */
export const IDENTITY_NAMES: readonly string[] = ['id.server', 'hostname.bind'];

export const DEFAULT_NEGATIVE_TTL = 5;
/** The classic UDP limit without EDNS0. */
export const MIN_UDP_PAYLOAD = 512;
/** Our largest UDP response whatever the client offers: avoids IP fragmentation (DNS flag day 2020). */
export const MAX_UDP_PAYLOAD = 1232;
/** TTL of the synthesized apex NS record and its glue: they only change when the server moves. */
const APEX_TTL = 300;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;
/** BADVERS (16) lives in the OPT record's extended rcode: 16 >> 4. */
const EXTENDED_BADVERS = 1;

const { AUTHORITATIVE_ANSWER, RECURSION_DESIRED, TRUNCATED_RESPONSE } = dnsPacket;
const RESPONSE_BIT = 0x8000;
const OPCODE_MASK = 0xf << 11;

/** Lowercase, without the trailing dot: the one spelling names are stored and compared in. */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** True when `name` is `zone` or below it. Both normalized. */
export function inZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/**
 * The response to a decoded query, or undefined when nothing should be sent (the packet is itself a
 * response: answering it could start a loop between two servers).
 */
export function answerQuery(query: Packet, view: ZoneView, options: AnswerOptions): Packet | undefined {
  if (query.type === 'response') return undefined;
  const flags = query.flags ?? 0;
  const questions = query.questions ?? [];
  const clientOpts = (query.additionals ?? []).filter((a): a is OptAnswer => a.type === 'OPT');
  // RFC 6891: answer EDNS with EDNS.
  const opt = clientOpts.length > 0 ? [serverOpt(0)] : [];

  const reply = (rcode: number, aa: boolean, sections: Partial<Packet> = {}): Packet => ({
    type: 'response',
    id: query.id ?? 0,
    flags: (flags & (OPCODE_MASK | RECURSION_DESIRED)) | (aa ? AUTHORITATIVE_ANSWER : 0) | rcode,
    questions,
    answers: [],
    authorities: [],
    additionals: opt,
    ...sections,
  });

  if ((flags & OPCODE_MASK) !== 0) return reply(RCODE.NOTIMP, false);
  if (questions.length !== 1 || clientOpts.length > 1) return reply(RCODE.FORMERR, false);
  if (clientOpts[0] !== undefined && clientOpts[0].ednsVersion !== 0) {
    return reply(RCODE.NOERROR, false, { additionals: [serverOpt(EXTENDED_BADVERS)] });
  }

  const question = questions[0];
  if (question.class === 'CH' && options.identity !== undefined && IDENTITY_NAMES.includes(normalizeName(question.name))) {
    if (question.type !== 'TXT' && (question.type as string) !== 'ANY') return reply(RCODE.NOERROR, true);
    const answer: Answer = { name: question.name, type: 'TXT', class: 'CH', ttl: 0, data: options.identity };
    return reply(RCODE.NOERROR, true, { answers: [answer] });
  }
  if (question.class !== undefined && question.class !== 'IN' && question.class !== 'ANY') {
    return reply(RCODE.REFUSED, false);
  }
  const name = normalizeName(question.name);
  const zone = view.findZone(name);
  if (zone === undefined) return reply(RCODE.REFUSED, false);
  if (question.type === 'AXFR' || question.type === 'IXFR') return reply(RCODE.NOTIMP, true);

  const soa = soaRecord(zone, view, options);
  // Answers carry the name exactly as asked (resolvers may randomize its case and check it).
  const here = recordsAt(name, question.name, zone, view, options);
  if (here.length === 0 && !view.nameExists(name)) {
    return reply(RCODE.NXDOMAIN, true, { authorities: [soa] });
  }
  const answers = here.filter((record) => record.type === question.type);
  if (answers.length === 0) return reply(RCODE.NOERROR, true, { authorities: [soa] });
  return reply(RCODE.NOERROR, true, { answers, additionals: [...additionalAddresses(answers, view, options), ...opt] });
}

/**
 * A FORMERR response for bytes that did not decode, when at least their header is readable and they
 * are a query; otherwise undefined (drop them).
 */
export function answerMalformed(bytes: Buffer): Packet | undefined {
  if (bytes.length < 12) return undefined;
  const flags = bytes.readUInt16BE(2);
  if ((flags & RESPONSE_BIT) !== 0) return undefined;
  return {
    type: 'response',
    id: bytes.readUInt16BE(0),
    flags: (flags & (OPCODE_MASK | RECURSION_DESIRED)) | RCODE.FORMERR,
    questions: [],
  };
}

/** The largest UDP response this client accepts: 512 bytes, or its EDNS0 payload size, capped. */
export function udpPayloadLimit(query: Packet | undefined): number {
  const opt = query?.additionals?.find((a): a is OptAnswer => a.type === 'OPT');
  if (opt === undefined) return MIN_UDP_PAYLOAD;
  return Math.min(Math.max(opt.udpPayloadSize, MIN_UDP_PAYLOAD), MAX_UDP_PAYLOAD);
}

/**
 * Encodes a response for UDP. When it does not fit in `limit` bytes, sends the question with the TC flag
 * and no records instead, so the client retries over TCP (RFC 2181 section 9: no partial RRsets).
 */
export function encodeForUdp(response: Packet, limit: number): Buffer {
  const bytes = dnsPacket.encode(response);
  if (bytes.length <= limit) return bytes;
  return dnsPacket.encode({
    ...response,
    flags: (response.flags ?? 0) | TRUNCATED_RESPONSE,
    answers: [],
    authorities: [],
    additionals: (response.additionals ?? []).filter((a) => a.type === 'OPT'),
  });
}

/** Every resource record at `name` (normalized), owner spelled `owner`: stored ones plus the apex's. */
function recordsAt(name: string, owner: string, zone: string, view: ZoneView, options: AnswerOptions): Answer[] {
  const answers: Answer[] = [];
  for (const record of view.lookup(name)) answers.push(...toAnswers(record, owner));
  if (name === zone) {
    answers.push({ ...soaRecord(zone, view, options), name: owner });
    answers.push({ name: owner, type: 'NS', class: 'IN', ttl: APEX_TTL, data: `ns.${zone}` });
  }
  const addressType = net.isIPv6(options.serverAddress) ? 'AAAA' : 'A';
  if (name === `ns.${zone}` && !answers.some((a) => a.type === addressType)) {
    answers.push({ name: owner, type: addressType, class: 'IN', ttl: APEX_TTL, data: options.serverAddress });
  }
  return answers;
}

/** Addresses of the targets of SRV and NS answers, when we serve them: saves the client a lookup. */
function additionalAddresses(answers: Answer[], view: ZoneView, options: AnswerOptions): Answer[] {
  const targets = new Set<string>();
  for (const answer of answers) {
    if (answer.type === 'SRV') targets.add(normalizeName(answer.data.target));
    if (answer.type === 'NS') targets.add(normalizeName(answer.data));
  }
  const additionals: Answer[] = [];
  for (const target of targets) {
    const zone = view.findZone(target);
    if (zone === undefined) continue;
    const addresses = recordsAt(target, target, zone, view, options).filter((a) => a.type === 'A' || a.type === 'AAAA');
    additionals.push(...addresses);
  }
  return additionals;
}

function toAnswers(record: RecordSet, owner: string): Answer[] {
  return record.values.map((value): Answer => {
    if (record.type === 'A') return { name: owner, type: 'A', class: 'IN', ttl: record.ttl, data: value };
    const [priority, weight, port, target] = value.split(' ');
    return {
      name: owner,
      type: 'SRV',
      class: 'IN',
      ttl: record.ttl,
      data: { priority: Number(priority), weight: Number(weight), port: Number(port), target },
    };
  });
}

function soaRecord(zone: string, view: ZoneView, options: AnswerOptions): Answer {
  const minimum = options.negativeTtl ?? DEFAULT_NEGATIVE_TTL;
  return {
    name: zone,
    type: 'SOA',
    class: 'IN',
    // Negative answers are cached for min(SOA TTL, minimum) (RFC 2308): both are the negative TTL.
    ttl: minimum,
    data: {
      mname: `ns.${zone}`,
      rname: `hostmaster.${zone}`,
      serial: view.serial(zone) ?? 0,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum,
    },
  };
}

function serverOpt(extendedRcode: number): OptAnswer {
  return {
    name: '.',
    type: 'OPT',
    udpPayloadSize: MAX_UDP_PAYLOAD,
    extendedRcode,
    ednsVersion: 0,
    flags: 0,
    flag_do: false,
    options: [],
  };
}
