// The dashboard's entry: a hash router (#/ the sets, #/sets/NAME one set), the token prompt, the
// confirmation dialog and the error banner the pages share. Nothing here holds data: pages read the API.
import { request, storeToken, storedToken } from './api.js';
import { fill, h } from './dom.js';
import { showSet } from './set-page.js';
import { showSets } from './sets-page.js';

const $ = (id) => document.getElementById(id);
let leave = () => {};

const page = {
  config: undefined,
  status(text) {
    $('status').textContent = text ?? '';
  },
  crumbs(items) {
    fill($('crumbs'), items.flatMap((item) => [' / ', item.href ? h('a', { href: item.href }, item.text) : h('span', {}, item.text)]));
  },
  /** Shows an error: the API's own message (401 and 403 also open the token prompt). */
  error(err) {
    const banner = $('banner');
    banner.textContent = err.status ? `${err.message} (HTTP ${err.status})` : `The API cannot be reached: ${err.message}`;
    banner.hidden = false;
  },
  clearError() {
    $('banner').hidden = true;
  },
  /** A confirmation dialog; resolves true on Confirm. */
  confirm(message) {
    const dialog = $('confirm');
    $('confirm-message').textContent = message;
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
      dialog.returnValue = '';
      dialog.showModal();
    });
  },
};

/** The API refused: ask for a token (or another one), showing why. */
window.addEventListener('ordinal:auth', (event) => {
  const err = event.detail;
  $('auth').hidden = false;
  $('auth-message').textContent = err.message;
  $('forget-token').hidden = !storedToken();
  page.status('');
});

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = $('token-input');
  storeToken(input.value.trim());
  input.value = '';
  $('auth').hidden = true;
  $('forget-token').hidden = false;
  route();
});

$('forget-token').addEventListener('click', () => {
  storeToken(undefined);
  $('forget-token').hidden = true;
  route();
});

async function loadConfig() {
  try {
    page.config = (await request('GET', '/ui/config.json')).data;
  } catch {
    page.config = undefined; // no link to the Temporal UI; a refusal already asked for a token
  }
}

async function route() {
  leave();
  page.clearError();
  page.status('');
  $('auth').hidden = true;
  $('forget-token').hidden = !storedToken();
  if (!page.config) await loadConfig();
  const match = /^#\/sets\/([^/]+)$/.exec(location.hash);
  const view = $('view');
  leave = match ? showSet(view, page, decodeURIComponent(match[1])) : showSets(view, page);
}

window.addEventListener('hashchange', route);
route();
