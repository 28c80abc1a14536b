// The responder every receiver runs: replies from the store's current view, reused encoded responses
// that never outlive a change of the view, each with its own query ID, FORMERR for a malformed packet,
// nothing for garbage or a response, and SERVFAIL when the store cannot be read.
import dnsPacket, { type Packet } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import type { RecordSet } from '../../core/dns-records.js';
import { inZone, normalizeName, type ZoneView } from '../../dns/answer.js';
import { createResponder, type ReceivedQuery } from '../../dns/responder.js';

const ZONE = 'ordinal.internal';
type Reply = Packet & { rcode?: string };

function fakeView(zones: Record<string, number>, records: RecordSet[]): ZoneView {
  const findZone = (name: string) =>
    Object.keys(zones)
      .filter((z) => inZone(normalizeName(name), z))
      .sort((a, b) => b.length - a.length)[0];
  return {
    lookup: (name) => records.filter((r) => r.name === normalizeName(name)),
    findZone,
    serial: (zone) => zones[zone],
    nameExists: (name) => Object.keys(zones).includes(normalizeName(name)) || records.some((r) => r.name === normalizeName(name)),
  };
}

/** A responder over a store whose view the test swaps, as a commit does; collects what it sends. */
function harness(initial: ZoneView) {
  let current: ZoneView | Error = initial;
  const sent: Array<{ bytes: Buffer; id: number }> = [];
  const responder = createResponder({
    store: {
      view: () => {
        if (current instanceof Error) throw current;
        return current;
      },
    },
    answerOptions: { serverAddress: '127.0.0.1' },
  });
  const sink = { send: (bytes: Buffer) => sent.push({ bytes, id: bytes.readUInt16BE(0) }) };
  /** Sends the messages in one burst and resolves with the replies to them (in order). */
  async function ask(...messages: Buffer[]): Promise<Reply[]> {
    const before = sent.length;
    for (const message of messages) {
      const query: ReceivedQuery = { message, transport: 'udp', address: '127.0.0.1', port: 5353, sink };
      responder.enqueue(query);
    }
    await new Promise((resolve) => setImmediate(resolve));
    return sent.slice(before).map((s) => dnsPacket.decode(s.bytes) as Reply);
  }
  return {
    ask,
    sent,
    setView(next: ZoneView | Error) {
      current = next;
    },
  };
}

const query = (id: number, name: string): Buffer =>
  dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name, class: 'IN' }] });
const data = (reply: Reply) => reply.answers?.map((a) => (a as { data?: unknown }).data);
const web = (address: string): RecordSet => ({ name: `web-0.web.${ZONE}`, type: 'A', ttl: 5, values: [address] });

describe('createResponder', () => {
  it('reuses an encoded response for the same question, each reply with its own ID', async () => {
    const { ask } = harness(fakeView({ [ZONE]: 1 }, [web('127.77.0.1')]));
    const replies = await ask(query(1, `web-0.web.${ZONE}`), query(2, `web-0.web.${ZONE}`), query(0xffff, `web-0.web.${ZONE}`));
    expect(replies.map((r) => r.id)).toEqual([1, 2, 0xffff]);
    expect(replies.map(data)).toEqual([['127.77.0.1'], ['127.77.0.1'], ['127.77.0.1']]);
    // A later burst of the same question still gets its own ID, not the cached reply's.
    expect((await ask(query(7, `web-0.web.${ZONE}`)))[0].id).toBe(7);
  });

  it('answers from a new view as soon as the store has one: a change, a withdrawal, a zone release', async () => {
    const { ask, setView } = harness(fakeView({ [ZONE]: 1, 'other.test': 1 }, [web('127.77.0.1'), { name: 'a.other.test', type: 'A', ttl: 5, values: ['127.79.0.1'] }]));
    expect(data((await ask(query(1, `web-0.web.${ZONE}`)))[0])).toEqual(['127.77.0.1']);
    expect(data((await ask(query(2, 'a.other.test')))[0])).toEqual(['127.79.0.1']);

    setView(fakeView({ [ZONE]: 2, 'other.test': 1 }, [web('127.77.0.9'), { name: 'a.other.test', type: 'A', ttl: 5, values: ['127.79.0.1'] }]));
    expect(data((await ask(query(3, `web-0.web.${ZONE}`)))[0])).toEqual(['127.77.0.9']);

    setView(fakeView({ [ZONE]: 3, 'other.test': 1 }, [{ name: 'a.other.test', type: 'A', ttl: 5, values: ['127.79.0.1'] }]));
    expect((await ask(query(4, `web-0.web.${ZONE}`)))[0].rcode).toBe('NXDOMAIN');

    setView(fakeView({ [ZONE]: 3 }, []));
    expect((await ask(query(5, 'a.other.test')))[0].rcode).toBe('REFUSED');
  });

  it('answers FORMERR to a readable header without its question, and nothing to garbage or a response', async () => {
    const { ask } = harness(fakeView({ [ZONE]: 1 }, [web('127.77.0.1')]));
    const broken = Buffer.alloc(12);
    broken.writeUInt16BE(0x1234, 0);
    broken.writeUInt16BE(1, 4);
    const response = dnsPacket.encode({ type: 'response', id: 9, flags: 0, questions: [{ type: 'A', name: `web-0.web.${ZONE}`, class: 'IN' }] });
    const replies = await ask(broken, Buffer.from([1, 2, 3]), response, broken, query(6, `web-0.web.${ZONE}`));
    expect(replies.map((r) => [r.id, r.rcode])).toEqual([
      [0x1234, 'FORMERR'],
      [0x1234, 'FORMERR'],
      [6, 'NOERROR'],
    ]);
  });

  it('answers SERVFAIL while the store cannot be read, and from the store again once it can', async () => {
    const { ask, setView } = harness(fakeView({ [ZONE]: 1 }, [web('127.77.0.1')]));
    setView(new Error('disk I/O error'));
    expect((await ask(query(1, `web-0.web.${ZONE}`)))[0]).toMatchObject({ id: 1, rcode: 'SERVFAIL' });
    setView(fakeView({ [ZONE]: 2 }, [web('127.77.0.2')]));
    const [reply] = await ask(query(2, `web-0.web.${ZONE}`));
    expect(reply).toMatchObject({ id: 2, rcode: 'NOERROR' });
    expect(data(reply)).toEqual(['127.77.0.2']);
  });
});
