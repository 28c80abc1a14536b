// `npm run docs:screenshots`: the README's pictures of the dashboard, taken from a real demo. Starts
// `ordinal up --demo` (examples/web.yaml: 3 instances) in a temporary data directory on free ports, waits
// until the set is Ready, kills one instance with -9 and deletes another through the API so the timeline
// shows recreations, then opens the dashboard in Debian's headless Chromium and writes
// docs/images/dashboard-sets.png, dashboard-set.png and dashboard-timeline.png. Everything it started is
// stopped at the end (Ctrl-C of `up`, which stops the instances). Options: --out DIR.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'puppeteer-core';
import { ProcessDriver } from '../../activities/drivers/process.js';
import { freePort } from '../../infra/child-processes.js';
import { launchBrowser, openPage } from '../harness/browser.js';
import { REPO } from '../harness/system.js';

const SET = 'web';
const DEADLINE_MS = 180_000;

const { values } = parseArgs({ options: { out: { type: 'string', default: path.join(REPO, 'docs/images') } } });
const out = path.resolve(values.out!);

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ordinal-screenshots-'));
  const pool = '127.198.0.0/16';
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ORDINAL_DATA_DIR: dataDir,
    ORDINAL_API_PORT: String(await freePort()),
    ORDINAL_DNS_PORT: String(await freePort()),
    ORDINAL_TEMPORAL_PORT: String(await freePort()),
    ORDINAL_TEMPORAL_UI_PORT: String(await freePort()),
    ORDINAL_ADDRESS_POOL: pool,
  };
  delete env.TEMPORAL_ADDRESS;
  const up = spawn(process.execPath, [path.join(REPO, 'bin/ordinal.js'), 'up', '--demo'], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  up.stdout.on('data', (d) => (output += d));
  up.stderr.on('data', (d) => (output += d));
  const exited = new Promise<void>((resolve) => up.once('exit', () => resolve()));
  const browser = await launchBrowser();
  try {
    const apiUrl = await until(() => /API\s+(http:\/\/\S+)/.exec(output)?.[1], 'ordinal up to start', () => output);
    const api = async (method: string, url: string) => {
      const res = await fetch(`${apiUrl}${url}`, { method });
      return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
    };
    const readyWith = async (check: (instances: any[]) => boolean) => {
      const { status, body } = await api('GET', `/v1/sets/${SET}`);
      return status === 200 && body.status.readyReplicas === body.spec.replicas && check(body.status.instances) ? body : undefined;
    };
    await until(() => readyWith(() => true), `${SET} Ready`);
    // Pacing, so that each step has room on the timeline (this is a picture, not a test).
    const pause = () => new Promise((resolve) => setTimeout(resolve, 1500));
    await pause();

    // A crash (kill -9 of web-1) and a delete (web-2), each recreated: the timeline's second bars.
    const driver = new ProcessDriver({ dataDir, addressPool: pool });
    const handle = (await driver.describe(SET)).find((h) => h.ordinal === 1);
    driver.close();
    if (!handle) throw new Error(`no process for ${SET}-1`);
    process.kill(handle.pid, 'SIGKILL');
    await until(() => readyWith((i) => i[1].incarnation > 1), `${SET}-1 recreated`);
    await pause();
    await api('DELETE', `/v1/sets/${SET}/instances/2`);
    await until(() => readyWith((i) => i[2].incarnation > 1), `${SET}-2 recreated`);
    await pause();

    fs.mkdirSync(out, { recursive: true });
    const { page, errors, close } = await openPage(browser, { width: 1280, height: 800 });
    await page.goto(`${apiUrl}/ui/`);
    await page.waitForSelector(`[data-testid=sets] tr[data-set="${SET}"]`, { timeout: 30_000 });
    await page.setViewport({ width: 1280, height: 240 });
    await shot(page, 'dashboard-sets.png');

    await page.goto(`${apiUrl}/ui/#/sets/${SET}`);
    await page.waitForFunction(
      (set: string) => document.querySelectorAll('[data-testid=instances] tr[data-instance]').length === 3 &&
        document.querySelector(`[data-testid=timeline] g[data-ordinal="2"] g[data-incarnation="2"]`) !== null &&
        document.querySelector(`[data-testid=instances] tr[data-instance="${set}-2"] [data-field=ready]`)?.textContent === 'Ready' &&
        /live|polling/.test(document.getElementById('status')?.textContent ?? '') &&
        // The events, once the API lists them (GET .../events): web-1's exit and web-2's stop on the timeline.
        ((document.querySelector('[data-testid=timeline] g[data-ordinal="1"] [data-mark="Exited"]') !== null &&
          document.querySelector('[data-testid=timeline] g[data-ordinal="2"] [data-mark="Stopped"]') !== null) ||
          /does not list events/.test(document.body.textContent ?? '')),
      { timeout: 30_000, polling: 200 },
      SET,
    );
    // The top of the page: the set, its instances, timeline, conditions and revisions, the latest events.
    await page.setViewport({ width: 1280, height: 1300 });
    await shot(page, 'dashboard-set.png');
    const timeline = await page.$('.timeline');
    await timeline!.screenshot({ path: path.join(out, 'dashboard-timeline.png') });
    console.log(`wrote ${path.join(out, 'dashboard-timeline.png')}`);
    if (errors.length > 0) throw new Error(`the page reported errors: ${errors.join('; ')}`);
    // The link to the set's workflow opens it in the Temporal UI that `up` started (whose own errors are not ours).
    const link = await page.$eval('[data-testid=workflow-link]', (a) => (a as HTMLAnchorElement).href);
    await page.goto(link);
    await page.waitForFunction(() => /statefulset\/web/.test(document.body.innerText) && /Run ID/i.test(document.body.innerText), { timeout: 30_000 });
    console.log(`the workflow link ${link} opens the workflow in the Temporal UI`);
    await close();
  } finally {
    await browser.close();
    up.kill('SIGINT');
    await exited;
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function shot(page: Page, file: string): Promise<void> {
  await page.screenshot({ path: path.join(out, file) });
  console.log(`wrote ${path.join(out, file)}`);
}

/** Polls `probe` until it answers something, or fails after DEADLINE_MS saying what it waited for. */
async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, detail?: () => string): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = await Promise.resolve(probe()).catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${detail ? `:\n${detail().slice(-3000)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
