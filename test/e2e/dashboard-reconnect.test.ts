// The dashboard survives its API crashing: with `ordinal api` as its own process (as in production), the
// set page is open when the API is killed with -9; the page says it lost the API, and once the API is
// back it follows the set again by itself (the watch stream resumed with its last event id, or polling),
// showing an instance killed meanwhile recreated. No reload, no sleeps.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { SetView } from '../../core/status.js';
import { launchBrowser, openPage } from '../harness/browser.js';
import { uniqueName } from '../harness/ordinal.js';
import { fixtureManifest } from '../harness/sets.js';
import { waitFor } from '../harness/services.js';
import { startSystem, type TestSystem } from '../harness/system.js';

const WAIT = { timeout: 90_000, polling: 100 };

let system: TestSystem;
let browser: Browser;
let tmp: string;
const name = uniqueName('dash-re');

async function getSet(): Promise<SetView | undefined> {
  const res = await fetch(`${system.apiUrl}/v1/sets/${name}`).catch(() => undefined);
  return res?.ok ? ((await res.json()) as SetView) : undefined;
}

/** Whether the API streams the set's watch (200), rather than 404 (no such route) or 501 (cannot stream). */
async function watchAnswers(): Promise<boolean> {
  const controller = new AbortController();
  const res = await fetch(`${system.apiUrl}/v1/sets/${name}/watch`, { signal: controller.signal });
  controller.abort();
  return res.status === 200;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-dashboard-re-'));
  [system, browser] = await Promise.all([startSystem(), launchBrowser()]);
  const res = await fetch(`${system.apiUrl}/v1/sets/${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(fixtureManifest(name, { replicas: 1 })),
  });
  expect(res.status).toBe(201);
  await waitFor(async () => ((await getSet())?.status.readyReplicas === 1 ? true : undefined), { timeoutMs: 60_000, message: `${name} Ready` });
});

afterAll(async () => {
  await browser?.close();
  await system?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

it('follows the set again once its API is back after a kill -9', async () => {
  const { page, close } = await openPage(browser);
  try {
    await page.goto(`${system.apiUrl}/ui/#/sets/${name}`);
    const row = `[data-testid=instances] tr[data-instance="${name}-0"]`;
    await page.waitForFunction((row: string) => document.querySelector(`${row} [data-field=ready]`)?.textContent === 'Ready', WAIT, row);
    await page.waitForFunction(() => /^(live|polling)/.test(document.getElementById('status')!.textContent ?? ''), WAIT);
    const before = await page.$eval(`${row} [data-field=address]`, (e) => e.textContent);

    await system.api.kill();
    // The page says it lost the API (the stream's reconnect attempts, or a poll that failed).
    await page.waitForFunction(
      () => !document.getElementById('banner')!.hidden && /cannot be reached/.test(document.getElementById('banner')!.textContent ?? ''),
      WAIT,
    );

    // Meanwhile the instance crashes and is recreated; then the API comes back.
    const handle = (await system.driver.describe(name)).find((h) => h.ordinal === 0)!;
    process.kill(handle.pid, 'SIGKILL');
    await system.api.start();

    await page.waitForFunction(
      (row: string, before: string) => {
        const cell = (f: string) => document.querySelector(`${row} [data-field=${f}]`)?.textContent ?? '';
        return cell('restarts') === '1' && cell('ready') === 'Ready' && cell('address') !== before && cell('address') !== '';
      },
      WAIT,
      row,
      before,
    );
    expect(await page.$eval('#banner', (e) => (e as HTMLElement).hidden)).toBe(true);
    expect(await page.$eval('#status', (e) => e.textContent)).toBe((await watchAnswers()) ? 'live (watch stream)' : 'polling every 2 s');
    expect((await getSet())!.status.instances[0]!.address).toBe(await page.$eval(`${row} [data-field=address]`, (e) => e.textContent));
  } finally {
    await close();
  }
});
