// One set: its summary, instances, timeline, conditions, revisions and events, live over the watch stream
// (or polled), and the actions (scale, delete an instance, pause or resume the rollout), each confirmed
// first and sent through the API with If-Match on the generation read where the API takes one.
import { request, setPath } from './api.js';
import { age, badge, fill, h } from './dom.js';
import { timelineSvg } from './timeline.js';
import { followSet } from './watch.js';

const TICK_MS = 5000;
const MAX_EVENTS = 200;

export function showSet(view, page, name) {
  let set; // the last SetView seen
  const events = new Map(); // key -> SetEvent (a repeat moves to a newer seq: keep the newest)
  let eventsUnavailable = false;
  let revisionsKey;
  let revisions = [];
  let mode = 'connecting';

  const title = h('span', {}, name);
  const phase = h('span', { dataset: { testid: 'phase' } });
  const scaleInput = h('input', { type: 'number', min: 0, step: 1, 'aria-label': 'replicas', dataset: { testid: 'scale-input' } });
  const scaleButton = h('button', { type: 'button', dataset: { testid: 'scale' }, onclick: () => scale() }, 'Scale');
  const pauseButton = h('button', { type: 'button', dataset: { testid: 'pause' }, onclick: () => togglePause() });
  const workflowLink = h('a', { target: '_blank', rel: 'noopener noreferrer', hidden: true, dataset: { testid: 'workflow-link' } }, 'Workflow in Temporal UI');
  const notice = h('p', { class: 'hint', role: 'status', dataset: { testid: 'notice' } });
  const summary = h('div', { class: 'card summary', dataset: { testid: 'summary' } });
  const instances = h('tbody');
  const timeline = h('div', { class: 'card timeline' });
  const conditions = h('tbody');
  const revisionRows = h('tbody');
  const eventRows = h('tbody');
  const eventsNote = h('p', { class: 'empty' });

  const table = (testid, headings, body) =>
    h('table', { dataset: { testid } }, h('thead', {}, h('tr', {}, headings.map((t) => h('th', {}, t)))), body);

  fill(
    view,
    h('h1', {}, title, phase, h('span', { class: 'actions' }, scaleInput, scaleButton, pauseButton, workflowLink)),
    notice,
    summary,
    h('h2', {}, 'Instances'),
    table('instances', ['Name', 'Phase', 'Ready', 'Address', 'DNS name', 'Incarnation', 'Restarts', 'Age', 'Last error', ''], instances),
    h('h2', {}, 'Timeline'),
    timeline,
    h('div', { class: 'legend' },
      h('span', {}, h('i', { class: 'starting' }), 'starting'), h('span', {}, h('i', { class: 'ready' }), 'Ready'),
      h('span', {}, h('i', { class: 'notready' }), 'not Ready'), h('span', {}, h('i', { class: 'stopping' }), 'stopping'),
      h('span', {}, h('i', { class: 'exit' }), 'exited / liveness failed (x)'), h('span', {}, '| stopped; #n incarnation')),
    h('h2', {}, 'Conditions'),
    table('conditions', ['Type', 'Status', 'Reason', 'Message'], conditions),
    h('h2', {}, 'Revisions'),
    table('revisions', ['Revision', 'Name', 'Generation', 'Created', 'Role', 'Replicas'], revisionRows),
    h('h2', {}, 'Events'),
    table('events', ['Last seen', 'Type', 'Reason', 'Instance', 'Message', 'Count'], eventRows),
    eventsNote,
  );
  page.crumbs([{ text: name }]);
  page.status('connecting...');
  if (page.config?.workflowUrlPrefix) {
    workflowLink.href = `${page.config.workflowUrlPrefix}${encodeURIComponent(name)}`;
    workflowLink.hidden = false;
  }

  // ---- rendering ----

  const render = () => {
    if (!set) return;
    const now = Date.now();
    const status = set.status;
    const { generation } = set.metadata;
    fill(phase, badge(status.phase));
    if (document.activeElement !== scaleInput) scaleInput.value = String(set.spec.replicas);
    const strategy = set.spec.updateStrategy ?? {};
    const paused = strategy.rollingUpdate?.paused === true;
    pauseButton.hidden = strategy.type === 'OnDelete';
    pauseButton.textContent = paused ? 'Resume rollout' : 'Pause rollout';
    fill(summary,
      field('Ready', `${status.readyReplicas}/${set.spec.replicas}`, 'ready'),
      field('Up to date', `${status.updatedReplicas}/${set.spec.replicas}`),
      field('Available', `${status.availableReplicas}/${set.spec.replicas}`),
      field('Generation', status.observedGeneration === generation ? String(generation) : `${generation} (observed ${status.observedGeneration})`, 'generation'),
      field('Revision', status.currentRevision === status.updateRevision ? status.currentRevision ?? '' : `${status.currentRevision} -> ${status.updateRevision}`),
      field('DNS', `${status.dns.provider}, zone ${status.dns.zone}`),
      field('Update strategy', `${strategy.type ?? 'RollingUpdate'}${paused ? ' (paused)' : ''}`),
      field('Age', age(set.metadata.creationTimestamp, now)),
    );
    fill(instances, status.instances.map((i) => instanceRow(i, now)));
    if (status.instances.length === 0) instances.append(h('tr', {}, h('td', { colspan: 10, class: 'empty' }, 'No instances.')));
    fill(conditions, status.conditions.map((c) => h('tr', { dataset: { condition: c.type } },
      h('td', {}, c.type), h('td', {}, badge(c.status)), h('td', {}, c.reason), h('td', {}, c.message))));
    renderTimeline(now);
  };

  const renderTimeline = (now = Date.now()) => {
    if (!set) return;
    fill(timeline, timelineSvg(name, sortedEvents(), set.status.instances, now));
  };

  const renderEvents = (now = Date.now()) => {
    const items = sortedEvents().reverse();
    fill(eventRows, items.map((e) => h('tr', { dataset: { reason: e.reason, seq: String(e.seq) } },
      h('td', {}, age(e.lastTimestamp, now)),
      h('td', {}, badge(e.type)),
      h('td', {}, e.reason),
      h('td', {}, e.instance ?? ''),
      h('td', {}, e.message),
      h('td', {}, String(e.count)))));
    eventsNote.textContent = eventsUnavailable
      ? 'This API does not list events (GET .../events answered 404).'
      : items.length === 0 ? 'No events yet.' : '';
  };

  const renderRevisions = () => {
    fill(revisionRows, revisions.map((r) => h('tr', { dataset: { revision: String(r.revision) } },
      h('td', {}, String(r.revision)),
      h('td', { class: 'mono' }, r.name),
      h('td', {}, String(r.generation)),
      h('td', {}, age(r.createdAt)),
      h('td', {}, [r.current ? 'current' : '', r.update ? 'update' : ''].filter(Boolean).join(', ')),
      h('td', {}, String(r.replicas)))));
  };

  const instanceRow = (i, now) => h('tr', { dataset: { instance: i.name } },
    h('td', {}, i.name),
    h('td', { dataset: { field: 'phase' } }, badge(i.phase), i.cordoned ? ' cordoned' : ''),
    h('td', { dataset: { field: 'ready' } }, i.ready ? 'Ready' : 'not Ready'),
    h('td', { class: 'mono', dataset: { field: 'address' } }, i.address ?? ''),
    h('td', { class: 'mono', dataset: { field: 'dnsName' } }, i.dnsName),
    h('td', { dataset: { field: 'incarnation' } }, String(i.incarnation)),
    h('td', { dataset: { field: 'restarts' } }, String(i.restarts)),
    h('td', {}, age(i.startedAt, now)),
    h('td', { class: 'error' }, i.lastError ?? ''),
    h('td', {}, h('button', { type: 'button', class: 'danger', dataset: { testid: 'delete-instance', ordinal: String(i.ordinal) }, onclick: () => deleteInstance(i) }, 'Delete')),
  );

  const sortedEvents = () => [...events.values()].sort((a, b) => a.seq - b.seq);

  // ---- data ----

  const loadRevisions = async () => {
    try {
      revisions = (await request('GET', `${setPath(name)}/revisions`)).data.items ?? [];
      renderRevisions();
    } catch (err) {
      page.error(err);
    }
  };

  const follower = followSet(name, {
    set(next) {
      set = next;
      const key = `${set.metadata.generation}/${set.status.updateRevision}/${set.status.currentRevision}`;
      if (key !== revisionsKey) {
        revisionsKey = key;
        loadRevisions();
      }
      render();
      page.clearError();
    },
    events(items, { reset, unavailable } = {}) {
      if (reset) events.clear();
      eventsUnavailable = unavailable === true;
      for (const e of items) {
        const key = eventKey(e);
        const known = events.get(key);
        if (!known || known.seq < e.seq) events.set(key, e);
      }
      for (const e of sortedEvents().slice(0, Math.max(0, events.size - MAX_EVENTS))) events.delete(eventKey(e));
      renderEvents();
      renderTimeline();
    },
    mode(next) {
      mode = next;
      page.status({ live: 'live (watch stream)', polling: 'polling every 2 s', reconnecting: 'reconnecting...', stopped: '', connecting: 'connecting...' }[mode]);
    },
    deleted() {
      page.status('');
      fill(notice, `Set ${name} does not exist (any more). `, h('a', { href: '#/' }, 'All sets'));
      set = undefined;
    },
    error(err) {
      page.error(err);
    },
  });

  const ticker = setInterval(() => {
    render();
    renderEvents();
  }, TICK_MS);

  // ---- actions ----

  const act = async (question, action, done) => {
    if (!set) return;
    if (!(await page.confirm(question))) return;
    try {
      const result = await action(set.metadata.generation);
      notice.textContent = done;
      if (result?.data?.metadata) {
        set = result.data;
        render();
      }
    } catch (err) {
      notice.textContent = '';
      page.error(err.status === 409 ? Object.assign(err, { message: `${err.message} (the set changed since this page read it: look again and retry)` }) : err);
    }
  };

  const scale = () => {
    const replicas = Number(scaleInput.value);
    if (!Number.isInteger(replicas) || replicas < 0) {
      notice.textContent = 'Replicas must be a whole number, 0 or more.';
      return;
    }
    return act(
      `Scale ${name} from ${set.spec.replicas} to ${replicas} replica${replicas === 1 ? '' : 's'}?`,
      (generation) => request('PATCH', setPath(name), { body: { spec: { replicas } }, contentType: 'application/merge-patch+json', ifMatch: generation }),
      `${name} scaled to ${replicas}.`,
    );
  };

  const togglePause = () => {
    const paused = set.spec.updateStrategy?.rollingUpdate?.paused === true;
    return act(
      paused ? `Resume the rolling update of ${name}?` : `Pause the rolling update of ${name}? No instance is replaced until it is resumed (scaling and healing go on).`,
      (generation) => request('PATCH', setPath(name), {
        body: { spec: { updateStrategy: { rollingUpdate: { paused: !paused } } } },
        contentType: 'application/merge-patch+json',
        ifMatch: generation,
      }),
      paused ? `${name} resumed.` : `${name} paused.`,
    );
  };

  // The API's instance delete takes no If-Match: the instance is named, not the spec.
  const deleteInstance = (instance) => act(
    `Delete ${instance.name}? It is stopped and recreated under the same name (incarnation ${instance.incarnation + 1}).`,
    () => request('DELETE', `${setPath(name)}/instances/${instance.ordinal}`),
    `${instance.name} is being recreated.`,
  );

  return () => {
    clearInterval(ticker);
    follower.stop();
  };
}

/** One event across its repeats (a repeat moves it to a newer seq). */
function eventKey(e) {
  return [e.type, e.reason, e.instance ?? '', e.incarnation ?? '', e.message, e.firstTimestamp].join('\u0000');
}

function field(label, value, testid) {
  return h('div', { class: 'field', dataset: testid ? { field: testid } : {} }, h('span', {}, label), value);
}
