// A real browser for the dashboard's tests and screenshots: Debian's Chromium, headless, driven by
// puppeteer-core (nothing downloaded). --no-sandbox because CI runs as root, where Chromium's sandbox
// refuses to start. CHROMIUM_PATH points at another binary.
import fs from 'node:fs';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run', '--no-default-browser-check'],
  });
}

/**
 * A fresh page in its own browser context (its own sessionStorage), which fails the test on any error
 * the page itself reports (an uncaught exception, a script the Content-Security-Policy refused).
 */
export async function openPage(browser: Browser, options: { width?: number; height?: number } = {}): Promise<{ page: Page; errors: string[]; close(): Promise<void> }> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport({ width: options.width ?? 1280, height: options.height ?? 900 });
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/the server responded with a status of (40[134]|501)/.test(message.text())) errors.push(message.text());
  });
  return { page, errors, close: () => context.close() };
}
