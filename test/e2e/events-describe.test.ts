// Events, `ordinal describe` and `ordinal events` end to end (issue 14), on the real dev server, worker
// and process driver: a kill -9 of an instance is recorded as its exit, what the workflow did about it
// (back-off, or stopping), its new incarnation started and Ready, in seq order; the API answers them,
// `ordinal describe` shows the instance with one restart and those events, `ordinal events` lists them
// (for the set, and among every set's), and -o json parses.
import { fileURLToPath } from 'node:url';
import { QueryNotRegisteredError } from '@temporalio/client';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { EventsView, SetEvent } from '../../core/events.js';
import { workflowIdForSet } from '../../core/names.js';
import type { SetView } from '../../core/status.js';
import { getEventsQuery } from '../../workflows/messages.js';
import { startCliTestOrdinal, stopCliTestOrdinal, type CliTestOrdinal } from '../harness/cli-stack.js';
import { olderWorkflowBundle } from '../harness/older-workflows.js';
import { startTestOrdinal, uniqueName } from '../harness/ordinal.js';
import { waitFor } from '../harness/services.js';
import { fixtureManifest, isReady, waitForSet } from '../harness/sets.js';
import { runCli } from '../harness/system.js';

let stack: CliTestOrdinal | undefined;

beforeAll(async () => {
  stack = await startCliTestOrdinal('ordinal-events-');
});

afterAll(async () => {
  await stopCliTestOrdinal(stack?.ordinal, stack?.tmp);
});

function ordinal(...args: string[]) {
  return runCli(args, stack!.env, { timeoutMs: 60_000 });
}

function ordinalAt(apiUrl: string, ...args: string[]) {
  return runCli(args, { ...stack!.env, ORDINAL_API_URL: apiUrl }, { timeoutMs: 60_000 });
}

/** The reasons the workflow may record between an instance's exit and its next start. */
const IN_BETWEEN = new Set(['BackOff', 'Stopping', 'Stopped']);

/** The columns of a table line (cells are separated by at least three spaces). */
const cells = (line: string) => line.trim().split(/ {3,}/);

describe('events of a kill -9', () => {
  it('records Exited, then the back-off or stop, Started and Ready for the instance; describe and events show them', async ({ expect }) => {
    const { ordinal: system } = stack!;
    const name = uniqueName('ev');
    await system.sets.apply(name, fixtureManifest(name, { replicas: 2 }));
    const ready = await waitForSet(system.sets, name, (v) => isReady(v), { message: `${name} Ready` });
    const victim = ready.status.instances[1];
    const before = (await system.api(`/v1/sets/${name}/events`)).body as EventsView;
    expect(before.latestSeq).toBeGreaterThan(0);
    expect(before.items.filter((e) => e.reason === 'Ready').map((e) => e.instance)).toEqual(expect.arrayContaining([`${name}-0`, `${name}-1`]));

    const [pid] = (await system.driver().describe(name)).filter((h) => h.ordinal === 1).map((h) => h.pid);
    process.kill(pid, 'SIGKILL');
    const healed = await waitForSet(system.sets, name, (v) => isReady(v) && v.status.instances[1].incarnation > victim.incarnation, {
      message: `${victim.name} recreated and Ready`,
    });
    const recreated = healed.status.instances[1];
    expect(recreated.restarts).toBe(1);

    // The events after those seen before the kill, as the API answers them: the instance's, in seq order.
    const after = await waitFor(
      async () => {
        const { status, body } = await system.api(`/v1/sets/${name}/events?since=${before.latestSeq}`);
        expect(status).toBe(200);
        const view = body as EventsView;
        const reasons = view.items.filter((e) => e.instance === victim.name).map((e) => e.reason);
        return reasons.includes('Exited') && reasons.lastIndexOf('Ready') > reasons.indexOf('Exited') ? view : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, message: `the events of ${victim.name}'s recreation` },
    );
    expect(after.items.map((e) => e.seq)).toEqual([...after.items.map((e) => e.seq)].sort((a, b) => a - b));
    expect(after.items.every((e) => e.seq > before.latestSeq)).toBe(true);
    const own = after.items.filter((e) => e.instance === victim.name);
    const exited = own.find((e) => e.reason === 'Exited')!;
    expect(exited).toMatchObject({ type: 'Warning', ordinal: 1, incarnation: victim.incarnation });
    expect(exited.message).toMatch(/SIGKILL|signal 9/);
    const rest = own.slice(own.indexOf(exited) + 1);
    const started = rest.find((e) => e.reason === 'Started')!;
    expect(started).toMatchObject({ type: 'Normal', incarnation: recreated.incarnation });
    expect(started.message).toContain(recreated.address!);
    const readyAgain = rest.find((e) => e.reason === 'Ready' && e.incarnation === recreated.incarnation)!;
    expect(readyAgain).toBeDefined();
    // Between the exit and the start: what the workflow did about it. A first failure is replaced at once
    // (no back-off), and an exited process is gone, so nothing is stopped before the next incarnation.
    const between = rest.slice(0, rest.indexOf(started)).filter((e) => IN_BETWEEN.has(e.reason));
    expect(between).toEqual([]);
    expect(own.filter((e) => ['Exited', ...IN_BETWEEN, 'Started', 'Ready'].includes(e.reason)).map((e) => e.reason)).toEqual(['Exited', 'Started', 'Ready']);
    expect(exited.seq < started.seq && started.seq < readyAgain.seq).toBe(true);
    // The other instance was left alone.
    expect(after.items.filter((e) => e.instance === `${name}-0` && ['Exited', 'Stopping', 'Stopped', 'Started'].includes(e.reason))).toEqual([]);

    // ordinal describe: the instance with one restart and its new incarnation, its last exit, and the events.
    const described = await ordinal('describe', name);
    expect(described.stderr).toBe('');
    expect(described.code).toBe(0);
    const lines = described.stdout.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^Name: +${name}$`));
    const instanceLine = lines.find((l) => l.startsWith(`  ${victim.name} `))!;
    const [instanceName, phase, isReadyCell, address, dnsName, incarnation, restarts, , , lastExit] = cells(instanceLine);
    expect([instanceName, phase, isReadyCell, address, dnsName, incarnation, restarts]).toEqual([
      victim.name,
      'Running',
      'true',
      recreated.address,
      recreated.dnsName,
      String(recreated.incarnation),
      '1',
    ]);
    expect(lastExit).toMatch(new RegExp(`^${escape(exited.message.replace(`${victim.name} `, ''))} \\(\\d+s ago\\)$`));
    expect(lastExit).toMatch(/^the process was killed by SIGKILL|signal 9/);
    const eventRows = lines.slice(lines.indexOf('Events:') + 2).filter((l) => l !== '').map(cells);
    const shown = eventRows.filter((row) => row[3] === `instance/${victim.name}`).map((row) => [row[1], row[2]]);
    expect(shown).toEqual(expect.arrayContaining([['Warning', 'Exited'], ['Normal', 'Started'], ['Normal', 'Ready']]));
    expect(shown.filter(([, reason]) => reason === 'Stopping' || reason === 'Stopped')).toEqual([]);
    expect(indexOfRow(shown, 'Exited')).toBeLessThan(indexOfLastRow(shown, 'Started'));
    expect(indexOfLastRow(shown, 'Started')).toBeLessThan(indexOfLastRow(shown, 'Ready'));

    // -o json: the set, its revisions and its events, as the API has them.
    const json = await ordinal('describe', name, '-o', 'json');
    expect(json.code).toBe(0);
    const description = JSON.parse(json.stdout) as { set: SetView; revisions: unknown[]; events: EventsView };
    expect(description.set.status.instances[1]).toMatchObject({ name: victim.name, restarts: 1, incarnation: recreated.incarnation });
    expect(description.revisions).toHaveLength(1);
    expect(description.events.items.map((e) => e.seq)).toEqual(expect.arrayContaining(own.map((e) => e.seq)));

    // ordinal events SET: the same events, oldest first.
    const listed = await ordinal('events', name);
    expect(listed.code).toBe(0);
    const listedRows = listed.stdout.trimEnd().split('\n').map(cells);
    expect(listedRows[0]).toEqual(['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
    const listedOwn = listedRows.filter((row) => row[3] === `instance/${victim.name}`).map((row) => row[2]);
    expect(listedOwn.indexOf('Exited')).toBeGreaterThanOrEqual(0);
    expect(listedOwn.indexOf('Exited')).toBeLessThan(listedOwn.lastIndexOf('Started'));
    expect(listedRows.some((row) => row[2] === 'Exited' && row[4] === exited.message)).toBe(true);

    // ordinal events: among every set's, with the set's name.
    const all = await ordinal('events');
    expect(all.code).toBe(0);
    const allRows = all.stdout.trimEnd().split('\n').map(cells);
    expect(allRows[0]).toEqual(['SET', 'LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
    expect(allRows.some((row) => row[0] === name && row[3] === 'Exited' && row[4] === `instance/${victim.name}`)).toBe(true);
    const allJson = await ordinal('events', '-o', 'json');
    expect(allJson.code).toBe(0);
    const items = (JSON.parse(allJson.stdout) as { items: Array<SetEvent & { set: string }> }).items;
    expect(items.find((e) => e.set === name && e.seq === exited.seq)).toMatchObject({ reason: 'Exited', instance: victim.name });
    const times = items.map((e) => Date.parse(e.lastTimestamp));
    expect(times).toEqual([...times].sort((a, b) => a - b));

    // Deleted: its events go with it.
    await system.sets.delete(name);
    await waitFor(async () => (await system.api(`/v1/sets/${name}/events`)).status === 404, { timeoutMs: 60_000, message: `${name} deleted` });
    expect(await ordinal('events', name)).toEqual({ code: 1, stdout: '', stderr: `error: set '${name}' does not exist\n` });
  });

  it('answers 404 for the events of a set that does not exist, and ordinal events says so', async ({ expect }) => {
    const { ordinal: system } = stack!;
    const missing = uniqueName('none');
    expect((await system.api(`/v1/sets/${missing}/events`)).status).toBe(404);
    expect(await ordinal('events', missing)).toEqual({ code: 1, stdout: '', stderr: `error: set '${missing}' does not exist\n` });
  });
});

describe('a set on a worker older than events', () => {
  it('has no events (latestSeq 0), not an error: the API, describe and events say so', async ({ expect }) => {
    // The set workflow as an older worker runs it: without the getEvents Query.
    const stub = fileURLToPath(new URL('../fixtures/messages-without-events.ts', import.meta.url));
    const older = await startTestOrdinal({ workflowBundle: await olderWorkflowBundle('./messages.js', stub) });
    try {
      const name = uniqueName('old');
      await older.sets.apply(name, fixtureManifest(name, { replicas: 1 }));
      await waitForSet(older.sets, name, (v) => isReady(v), { message: `${name} Ready` });
      const query = older.client.workflow.getHandle(workflowIdForSet(name)).query(getEventsQuery, {});
      await expect(query).rejects.toBeInstanceOf(QueryNotRegisteredError);

      expect(await older.api(`/v1/sets/${name}/events`)).toEqual({ status: 200, body: { latestSeq: 0, items: [] } });
      expect(await older.api(`/v1/sets/${name}/events?since=5`)).toEqual({ status: 200, body: { latestSeq: 0, items: [] } });
      expect(await older.api('/v1/events')).toEqual({ status: 200, body: { items: [], truncated: false } });
      const described = await ordinalAt(older.apiUrl, 'describe', name);
      expect(described.code, described.stderr).toBe(0);
      expect(described.stdout).toMatch(new RegExp(`\\n {2}${name}-0 +Running +true `));
      expect(described.stdout.endsWith('\nEvents:  <none>\n')).toBe(true);
      expect(await ordinalAt(older.apiUrl, 'events', name)).toEqual({ code: 0, stdout: '', stderr: 'No events found.\n' });
      await older.sets.delete(name);
    } finally {
      await older.stop();
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function indexOfRow(rows: string[][], reason: string): number {
  return rows.findIndex((row) => row[1] === reason);
}

function indexOfLastRow(rows: string[][], reason: string): number {
  return rows.map((row) => row[1]).lastIndexOf(reason);
}
