// A set's events end to end on the real dev server, real processes and the real DNS server: what a
// scale-up and a kill -9 record, in order, through the getEvents Query and the memo, and that the log
// outlives continue-as-new.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventsView, SetEvent } from '../../core/events.js';
import { workflowIdForSet } from '../../core/names.js';
import { eventsFromMemo } from '../../core/view-memo.js';
import { getEventsQuery } from '../../workflows/messages.js';
import { startTestOrdinal, uniqueName, type TestOrdinal } from '../harness/ordinal.js';
import { fixtureManifest, isReady, waitForSet } from '../harness/sets.js';
import { waitFor } from '../harness/services.js';

let ordinal: TestOrdinal;

beforeAll(async () => {
  // A short history limit, so the test sees the set continue as new.
  ordinal = await startTestOrdinal({ workflowLimits: { maxHistoryEvents: 150 } });
});

afterAll(async () => {
  await ordinal?.stop();
});

async function events(name: string, since?: number): Promise<EventsView> {
  const view = await ordinal.client.workflow.getHandle(workflowIdForSet(name)).query(getEventsQuery, { since });
  if (!view) throw new Error(`set ${name} has no events view`);
  return view;
}

/** `reason instance#incarnation`, the events' order as a user reads it. */
const line = (e: SetEvent) => `${e.reason} ${e.instance ?? '-'}${e.incarnation ? `#${e.incarnation}` : ''}`;

function expectInOrder(all: SetEvent[], wanted: string[]): void {
  const lines = all.map(line);
  let from = 0;
  for (const want of wanted) {
    const at = lines.indexOf(want, from);
    expect(at, `${want} after ${lines[from - 1] ?? 'the start'} in\n${lines.join('\n')}`).toBeGreaterThanOrEqual(from);
    from = at + 1;
  }
}

describe.sequential('set events', () => {
  it('a scale-up records each ordinal created, started, Ready and published, in order', async () => {
    const name = uniqueName('ev');
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 2 }));
    await waitForSet(ordinal.sets, name, (v) => isReady(v));
    const view = await events(name);
    expectInOrder(view.items, [
      'Scaled -',
      `Created ${name}-0#1`,
      `Started ${name}-0#1`,
      `Ready ${name}-0#1`,
      `DNSPublished ${name}-0#1`,
      `Created ${name}-1#1`,
      `Started ${name}-1#1`,
      `Ready ${name}-1#1`,
      `DNSPublished ${name}-1#1`,
    ]);
    expect(view.items.map((e) => e.seq)).toEqual([...view.items.map((e) => e.seq)].sort((a, b) => a - b));
    expect(view.latestSeq).toBe(view.items.at(-1)!.seq);
    const started = view.items.find((e) => e.reason === 'Started' && e.ordinal === 1)!;
    const instance = (await ordinal.sets.get(name))!.status.instances[1]!;
    expect(started.message).toBe(`started ${name}-1 at ${instance.address} (incarnation 1)`);
    expect(started).toMatchObject({ type: 'Normal', count: 1 });
    expect(Date.parse(started.firstTimestamp)).toBeGreaterThan(0);

    // The memo says how far the log goes, so a reader of the memo alone knows whether to ask.
    await waitFor(async () => {
      const described = await ordinal.client.workflow.getHandle(workflowIdForSet(name)).describe();
      return eventsFromMemo(described.memo)?.latestSeq === view.latestSeq;
    }, { message: 'view.events in the memo' });
  });

  it('an instance not Ready when its create stops waiting says why, from its readiness probe', async () => {
    const name = uniqueName('evslow');
    // Ready only after 6.5 s: the create waits 5 s, then leaves the rest to the watch.
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 1, args: ['--ready-after', '6500'] }));
    await waitForSet(ordinal.sets, name, (v) => isReady(v), { timeoutMs: 60_000 });
    const view = await events(name);
    expectInOrder(view.items, [`Started ${name}-0#1`, `NotReady ${name}-0#1`, `Ready ${name}-0#1`]);
    const notReady = view.items.find((e) => e.reason === 'NotReady')!;
    expect(notReady.type).toBe('Warning');
    expect(notReady.message).toMatch(new RegExp(`^${name}-0 is not Ready yet: readiness probe: HTTP GET http://[0-9.]+:8080/healthz: `));
  });

  it('a kill -9 records the exit and the new incarnation created, started and Ready, with no stop in between', async () => {
    const name = uniqueName('evkill');
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 2 }));
    const before = await waitForSet(ordinal.sets, name, (v) => isReady(v));
    const seen = (await events(name)).latestSeq;
    const [victim] = (await ordinal.driver().describe(name)).filter((h) => h.ordinal === 1);
    process.kill(victim!.pid, 'SIGKILL');
    await waitForSet(ordinal.sets, name, (v) => isReady(v) && v.status.instances[1]!.incarnation > before.status.instances[1]!.incarnation);

    const after = await events(name, seen);
    expect(after.items.every((e) => e.seq > seen)).toBe(true);
    expectInOrder(after.items, [
      `Exited ${name}-1#1`,
      `DNSWithdrawn ${name}-1#1`,
      `Created ${name}-1#2`,
      `Started ${name}-1#2`,
      `Ready ${name}-1#2`,
      `DNSPublished ${name}-1#2`,
    ]);
    const exited = after.items.find((e) => e.reason === 'Exited')!;
    expect(exited).toMatchObject({ type: 'Warning', instance: `${name}-1` });
    expect(exited.message).toMatch(/SIGKILL/);
    // Its process is gone: the create of the next incarnation follows, with no stop of its own.
    expect(after.items.filter((e) => e.reason === 'Stopping' || e.reason === 'Stopped')).toEqual([]);
    // The other instance was left alone.
    expect(after.items.filter((e) => e.ordinal === 0)).toEqual([]);
  });

  it('a second kill -9 before a stable run records the back-off, until when, before the next incarnation', async () => {
    const name = uniqueName('evback');
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 1 }));
    await waitForSet(ordinal.sets, name, (v) => isReady(v));
    const seen = (await events(name)).latestSeq;
    for (const incarnation of [1, 2]) {
      const [victim] = await ordinal.driver().describe(name);
      expect(victim!.incarnation).toBe(incarnation);
      process.kill(victim!.pid, 'SIGKILL');
      await waitForSet(ordinal.sets, name, (v) => isReady(v) && v.status.instances[0]!.incarnation > incarnation, { message: `${name}-0 after kill ${incarnation}` });
    }
    const after = await events(name, seen);
    expectInOrder(after.items, [
      `Exited ${name}-0#1`,
      `Ready ${name}-0#2`,
      `Exited ${name}-0#2`,
      `BackOff ${name}-0#2`,
      `Created ${name}-0#3`,
      `Started ${name}-0#3`,
      `Ready ${name}-0#3`,
    ]);
    // The first failure restarts at once; the second in a row waits (1 s by default) and says until when.
    expect(after.items.filter((e) => e.reason === 'BackOff')).toHaveLength(1);
    const backOff = after.items.find((e) => e.reason === 'BackOff')!;
    expect(backOff.type).toBe('Warning');
    expect(backOff.message).toMatch(new RegExp(`^back-off 1s restarting failed ${name}-0 \\(until \\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z, 2 failures in a row\\)$`));
    const until = Date.parse(backOff.message.match(/until ([^,]+),/)![1]!);
    const created = after.items.find((e) => e.reason === 'Created' && e.incarnation === 3)!;
    expect(Date.parse(created.firstTimestamp)).toBeGreaterThanOrEqual(until);
  });

  it('keeps the log across continue-as-new', async () => {
    const name = uniqueName('evcan');
    await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 1 }));
    await waitForSet(ordinal.sets, name, (v) => isReady(v));
    const first = await events(name);
    const handle = ordinal.client.workflow.getHandle(workflowIdForSet(name));
    const firstRun = (await handle.describe()).runId;
    // Each deletion adds history; the limit of 150 events makes the workflow continue as new.
    await waitFor(
      async () => {
        const now = await ordinal.sets.get(name);
        if (now && isReady(now)) await ordinal.sets.deleteInstance(name, 0);
        return (await handle.describe()).runId !== firstRun;
      },
      { timeoutMs: 120_000, message: `${name} continued as new` },
    );
    await waitForSet(ordinal.sets, name, (v) => isReady(v));
    const later = await events(name);
    expect(later.items.slice(0, first.items.length)).toEqual(first.items);
    expect(later.latestSeq).toBeGreaterThan(first.latestSeq);
    expect(later.items.filter((e) => e.reason === 'DeletionRequested').length).toBeGreaterThan(0);
  });
});
