// The sets: phase, Ready count and generation of each, polled every 2 s.
import { request } from './api.js';
import { age, badge, fill, h } from './dom.js';

const POLL_MS = 2000;

export function showSets(view, page) {
  const body = h('tbody');
  const table = h('table', { dataset: { testid: 'sets' } },
    h('thead', {}, h('tr', {}, ['Name', 'Phase', 'Ready', 'Up to date', 'Generation', 'Age'].map((t) => h('th', {}, t)))),
    body);
  const note = h('p', { class: 'empty' }, 'Loading...');
  fill(view, h('h1', {}, 'Sets'), table, note);
  page.crumbs([]);

  let timer;
  let stopped = false;
  const load = async () => {
    try {
      const { data } = await request('GET', '/v1/sets');
      if (stopped) return; // the page was left while the answer was on its way
      const items = [...(data.items ?? [])].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
      fill(body, items.map(row));
      note.textContent = items.length === 0 ? 'No sets yet: "ordinal apply -f examples/web.yaml" makes one.' : '';
      page.status(`${items.length} set${items.length === 1 ? '' : 's'}, refreshed every ${POLL_MS / 1000} s`);
      page.clearError();
    } catch (err) {
      if (stopped) return;
      page.error(err);
      if (err.status === 401 || err.status === 403) return;
    }
    if (!stopped) timer = setTimeout(load, POLL_MS);
  };
  load();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function row(set) {
  const { name, generation, creationTimestamp } = set.metadata;
  const status = set.status;
  return h('tr', { dataset: { set: name } },
    h('td', {}, h('a', { href: `#/sets/${encodeURIComponent(name)}` }, name)),
    h('td', { dataset: { field: 'phase' } }, badge(status.phase)),
    h('td', { dataset: { field: 'ready' } }, `${status.readyReplicas}/${set.spec.replicas}`),
    h('td', {}, `${status.updatedReplicas}/${set.spec.replicas}`),
    h('td', { dataset: { field: 'generation' } }, status.observedGeneration === generation ? String(generation) : `${generation} (observed ${status.observedGeneration})`),
    h('td', {}, age(creationTimestamp)),
  );
}
