// The web dashboard in a real browser (Debian's headless Chromium through puppeteer-core) against a real
// stack: the Temporal dev server, a worker running real processes, the API serving /ui. The set page shows
// the instances; it follows a kill -9 live (restarts 1, a new address); a scale from the page, once
// confirmed, takes effect (the API says so too); with tokens on, the page refuses without a token, shows
// the API's message, and works with one. Waits are conditions in the page with deadlines, never sleeps.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiServer } from '../../api/server.js';
import type { SetView } from '../../core/status.js';
import { createToken } from '../../infra/tokens.js';
import { launchBrowser, openPage } from '../harness/browser.js';
import { startTestOrdinal, uniqueName, type TestOrdinal } from '../harness/ordinal.js';
import { fixtureManifest, isReady, waitForSet } from '../harness/sets.js';

const WAIT = { timeout: 60_000, polling: 100 };

let ordinal: TestOrdinal;
let browser: Browser;
let tmp: string;
const name = uniqueName('dash');

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-dashboard-'));
  [ordinal, browser] = await Promise.all([startTestOrdinal(), launchBrowser()]);
  await ordinal.sets.apply(name, fixtureManifest(name, { replicas: 2 }));
  await waitForSet(ordinal.sets, name, (v) => isReady(v, 2), { message: `${name} Ready` });
});

afterAll(async () => {
  await browser?.close();
  await ordinal?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** The instances table as the page shows it: name -> the cells the tests read. */
function shownInstances(page: Page) {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLTableRowElement>('[data-testid=instances] tr[data-instance]')].map((row) => {
      const cell = (field: string) => row.querySelector(`[data-field=${field}]`)?.textContent ?? '';
      return { name: row.dataset.instance!, phase: cell('phase'), ready: cell('ready'), address: cell('address'), dnsName: cell('dnsName'), incarnation: cell('incarnation'), restarts: cell('restarts') };
    }),
  );
}

/** Whether the API streams the set's watch (200), rather than 404 (no such route) or 501 (cannot stream). */
async function watchAnswers(set: string): Promise<boolean> {
  const controller = new AbortController();
  const res = await fetch(`${ordinal.apiUrl}/v1/sets/${set}/watch`, { signal: controller.signal });
  controller.abort();
  return res.status === 200;
}

type Field = 'phase' | 'ready' | 'address' | 'dnsName' | 'incarnation' | 'restarts';

/**
 * Waits until the row of `instance` shows the `is` values and none of the `not` values (an empty cell
 * counts as not shown); the row as last seen is in the error when it does not.
 */
async function waitForRow(page: Page, instance: string, is: Partial<Record<Field, string>>, not: Partial<Record<Field, string>> = {}) {
  try {
    await page.waitForFunction(
      (instance: string, is: Record<string, string>, not: Record<string, string>) => {
        const row = document.querySelector<HTMLTableRowElement>(`[data-testid=instances] tr[data-instance="${instance}"]`);
        if (!row) return false;
        const cell = (field: string) => row.querySelector(`[data-field=${field}]`)?.textContent ?? '';
        return Object.entries(is).every(([f, v]) => cell(f) === v) && Object.entries(not).every(([f, v]) => cell(f) !== v && cell(f) !== '');
      },
      WAIT,
      instance,
      is,
      not,
    );
  } catch (err) {
    const shown = await shownInstances(page).catch(() => []);
    const banner = await page.$eval('#banner', (e) => e.textContent).catch(() => '');
    throw new Error(`${instance} never showed ${JSON.stringify(is)}, not ${JSON.stringify(not)}; the page shows ${JSON.stringify(shown)}, banner '${banner}'`, { cause: err });
  }
}

describe('the set page', () => {
  let page: Page;
  let errors: string[];
  let close: () => Promise<void>;
  /** Every change the page sent. */
  const sent: Array<{ method: string; url: string; ifMatch: string | undefined }> = [];

  beforeAll(async () => {
    ({ page, errors, close } = await openPage(browser));
    page.on('request', (request) => {
      if (request.method() !== 'GET') sent.push({ method: request.method(), url: request.url(), ifMatch: request.headers()['if-match'] });
    });
    await page.goto(`${ordinal.apiUrl}/ui/#/sets/${name}`);
  });
  afterAll(async () => {
    expect(errors).toEqual([]);
    await close();
  });

  it('shows the instances as the API has them', async () => {
    await waitForRow(page, `${name}-1`, { ready: 'Ready' });
    const view = (await ordinal.api(`/v1/sets/${name}`)).body as SetView;
    const shown = await shownInstances(page);
    expect(shown).toEqual(
      view.status.instances.map((i) => ({
        name: i.name,
        phase: 'Running',
        ready: 'Ready',
        address: i.address,
        dnsName: i.dnsName,
        incarnation: String(i.incarnation),
        restarts: '0',
      })),
    );
    expect(await page.$eval('[data-field=ready]', (e) => e.textContent)).toBe('Ready2/2');
    // The timeline has a row per ordinal, each with a bar.
    expect(await page.$$eval('[data-testid=timeline] g[data-ordinal] rect', (rects) => rects.length)).toBeGreaterThanOrEqual(2);
  });

  it('follows a kill -9 live: restarts goes to 1 and the new address shows', async () => {
    const [before] = (await shownInstances(page)).filter((i) => i.name === `${name}-0`);
    const handle = (await ordinal.driver().describe(name)).find((h) => h.ordinal === 0)!;
    expect(handle.address).toBe(before!.address);
    process.kill(handle.pid, 'SIGKILL');
    await waitForRow(page, `${name}-0`, { restarts: '1', ready: 'Ready' }, { address: before!.address });
    const [after] = (await shownInstances(page)).filter((i) => i.name === `${name}-0`);
    expect(Number(after!.incarnation)).toBeGreaterThan(Number(before!.incarnation));
    const view = (await ordinal.api(`/v1/sets/${name}`)).body as SetView;
    expect(view.status.instances[0]!.address).toBe(after!.address);
    // Followed live over the watch stream, or polled where the API has none.
    expect(await page.$eval('#status', (e) => e.textContent)).toBe((await watchAnswers(name)) ? 'live (watch stream)' : 'polling every 2 s');
  });

  it("draws the kill on the timeline from the set's events: incarnation 1 exits, 2 follows", async (context) => {
    // The events come from GET /v1/sets/{name}/events and the watch stream; an API without them has nothing to draw from.
    if ((await ordinal.api(`/v1/sets/${name}/events`)).status === 404) context.skip();
    const row = '[data-testid=timeline] g[data-ordinal="0"]';
    await page.waitForSelector(`${row} g[data-incarnation="1"] [data-mark="Exited"]`, { timeout: 30_000 });
    await page.waitForSelector(`${row} g[data-incarnation="2"] rect[data-state="ready"]`, { timeout: 30_000 });
    const exited = await page.$eval('[data-testid=events] tr[data-reason="Exited"]', (e) => e.textContent ?? '');
    expect(exited).toContain(`${name}-0`);
    expect(exited).toContain('SIGKILL');
  });

  it('scales from the page once confirmed, and the API agrees', async () => {
    await page.$eval('[data-testid=scale-input]', (input) => {
      (input as HTMLInputElement).value = '';
      (input as HTMLInputElement).focus();
    });
    await page.keyboard.type('3');
    await page.click('[data-testid=scale]');
    // The confirmation says what will happen; nothing is sent before Confirm.
    await page.waitForSelector('dialog#confirm[open]', { timeout: 10_000 });
    expect(await page.$eval('#confirm-message', (e) => e.textContent)).toBe(`Scale ${name} from 2 to 3 replicas?`);
    expect(((await ordinal.api(`/v1/sets/${name}`)).body as SetView).spec.replicas).toBe(2);
    await page.click('#confirm-ok');
    await waitForRow(page, `${name}-2`, { ready: 'Ready' }, { address: '' });
    const view = await waitForSet(ordinal.sets, name, (v) => isReady(v, 3), { message: `${name} Ready with 3` });
    expect(view.spec.replicas).toBe(3);
    expect(view.status.instances.map((i) => i.name)).toEqual([0, 1, 2].map((o) => `${name}-${o}`));
  });

  it('pauses and resumes the rollout once confirmed, with the generation read', async () => {
    const before = ((await ordinal.api(`/v1/sets/${name}`)).body as SetView).metadata.generation;
    await page.waitForFunction(() => document.querySelector('[data-testid=pause]')?.textContent === 'Pause rollout', WAIT);
    await page.click('[data-testid=pause]');
    await page.waitForSelector('dialog#confirm[open]', { timeout: 10_000 });
    await page.click('#confirm-ok');
    await page.waitForFunction(() => document.querySelector('[data-testid=pause]')?.textContent === 'Resume rollout', WAIT);
    const paused = (await ordinal.api(`/v1/sets/${name}`)).body as SetView;
    expect(paused.spec.updateStrategy).toMatchObject({ rollingUpdate: { paused: true } });
    expect(paused.metadata.generation).toBe(before + 1);
    expect(sent.at(-1)).toEqual({ method: 'PATCH', url: `${ordinal.apiUrl}/v1/sets/${name}`, ifMatch: `"${before}"` });

    await page.click('[data-testid=pause]');
    await page.waitForSelector('dialog#confirm[open]', { timeout: 10_000 });
    expect(await page.$eval('#confirm-message', (e) => e.textContent)).toBe(`Resume the rolling update of ${name}?`);
    await page.click('#confirm-ok');
    await page.waitForFunction(() => document.querySelector('[data-testid=pause]')?.textContent === 'Pause rollout', WAIT);
    const resumed = (await ordinal.api(`/v1/sets/${name}`)).body as SetView;
    expect(resumed.spec.updateStrategy).toMatchObject({ rollingUpdate: { paused: false } });
  });

  it('deletes an instance once confirmed: it comes back under its name as the next incarnation', async () => {
    const before = ((await ordinal.api(`/v1/sets/${name}`)).body as SetView).status.instances[1]!;
    await page.click('[data-testid=delete-instance][data-ordinal="1"]');
    await page.waitForSelector('dialog#confirm[open]', { timeout: 10_000 });
    expect(await page.$eval('#confirm-message', (e) => e.textContent)).toContain(`Delete ${name}-1?`);
    await page.click('#confirm-ok');
    await waitForRow(page, `${name}-1`, { incarnation: String(before.incarnation + 1), ready: 'Ready' }, { address: before.address! });
    const after = await waitForSet(ordinal.sets, name, (v) => isReady(v, 3) && v.status.instances[1]!.incarnation === before.incarnation + 1);
    expect(after.status.instances[1]!.name).toBe(`${name}-1`);
  });

  it('does nothing when the confirmation is cancelled', async () => {
    const before = ((await ordinal.api(`/v1/sets/${name}`)).body as SetView).status.instances[2]!;
    await page.click('[data-testid=delete-instance][data-ordinal="2"]');
    await page.waitForSelector('dialog#confirm[open]', { timeout: 10_000 });
    await page.click('#confirm-cancel');
    await page.waitForSelector('dialog#confirm:not([open])', { timeout: 10_000 });
    // The dialog closed and no DELETE but the earlier one (of instance 1) was sent.
    expect(sent.filter((r) => r.method === 'DELETE').map((r) => r.url)).toEqual([`${ordinal.apiUrl}/v1/sets/${name}/instances/1`]);
    const view = (await ordinal.api(`/v1/sets/${name}`)).body as SetView;
    expect(view.status.instances[2]!.incarnation).toBe(before.incarnation);
    expect(view.status.instances[2]!.address).toBe(before.address);
  });
});

describe('with tokens on', () => {
  let api: ApiServer;
  let token: string;

  beforeAll(async () => {
    const tokensFile = path.join(tmp, 'tokens.json');
    token = createToken(tokensFile, 'dashboard-e2e', 'read').token;
    api = await ordinal.startApi({ host: '127.0.0.2', auth: { tokensFile, required: false } });
  });

  it('refuses without a token, showing the API message, and works with one', async () => {
    const { page, errors, close } = await openPage(browser);
    try {
      await page.goto(`${api.url}/ui/#/sets/${name}`);
      await page.waitForFunction(() => !document.querySelector<HTMLElement>('#auth')!.hidden, WAIT);
      expect(await page.$eval('#auth-message', (e) => e.textContent)).toContain('this API needs a bearer token');
      expect(await page.$$('[data-testid=instances] tr[data-instance]')).toHaveLength(0);

      // A wrong token: refused again, with the API's own reason.
      await page.type('#token-input', 'not-a-token');
      await page.click('#token-form button[type=submit]');
      await page.waitForFunction(
        () => !document.querySelector<HTMLElement>('#auth')!.hidden && /not valid/.test(document.querySelector('#auth-message')!.textContent ?? ''),
        WAIT,
      );

      await page.type('#token-input', token);
      await page.click('#token-form button[type=submit]');
      await waitForRow(page, `${name}-0`, { ready: 'Ready' });
      // Kept in this tab's sessionStorage, never in the URL.
      expect(page.url()).not.toContain(token);
      expect(await page.evaluate(() => sessionStorage.getItem('ordinal.token'))).toBe(token);
      expect(errors).toEqual([]);
    } finally {
      await close();
    }
  });
});
