// The timeline of a set: one row per ordinal, one bar per incarnation, coloured by what the instance was
// doing (starting, Ready, not Ready, stopping), with a mark where it exited or failed liveness, built from
// the set's events (and, for an incarnation whose events are not kept, from its status). The ordered start
// reads as a staircase; every recreation as a new bar on the same row.
import { s } from './dom.js';

const COLORS = { starting: '#98a2b3', ready: '#12a150', notready: '#dc8b0b', stopping: '#667085' };
const ROW = 30;
const LABEL = 70;
const WIDTH = 960;
const AXIS = 22;

/**
 * The incarnations per ordinal: {ordinal: [{incarnation, segments: [{from, to, state}], marks: [{at, reason, message}]}]}.
 * Pure (exported for the page and its tests): events are SetEvent objects, instances InstanceStatus.
 */
export function incarnations(events, instances, now) {
  const byKey = new Map();
  const get = (ordinal, incarnation) => {
    const key = `${ordinal}/${incarnation}`;
    if (!byKey.has(key)) byKey.set(key, { ordinal, incarnation, points: [] });
    return byKey.get(key);
  };
  for (const event of events) {
    if (event.ordinal === undefined || event.incarnation === undefined) continue;
    const entry = get(event.ordinal, event.incarnation);
    entry.points.push({ at: Date.parse(event.firstTimestamp), reason: event.reason, message: event.message, seq: event.seq });
    if (event.count > 1) entry.points.push({ at: Date.parse(event.lastTimestamp), reason: event.reason, message: event.message, seq: event.seq + 0.5 });
  }
  // A current incarnation the kept events do not cover: drawn from its status.
  for (const instance of instances) {
    if (!instance.startedAt || instance.incarnation === undefined) continue;
    const entry = get(instance.ordinal, instance.incarnation);
    if (entry.points.some((p) => p.reason === 'Created' || p.reason === 'Started')) continue;
    entry.points.push({ at: Date.parse(instance.startedAt), reason: 'Started', message: `started at ${instance.address ?? 'no address'}`, seq: -2 });
    if (instance.readySince) entry.points.push({ at: Date.parse(instance.readySince), reason: 'Ready', message: 'Ready', seq: -1 });
  }

  const result = new Map();
  for (const entry of byKey.values()) {
    const points = entry.points.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const segments = [];
    const marks = [];
    let state;
    let since;
    const to = (next, at) => {
      if (state !== undefined && at > since) segments.push({ from: since, to: at, state });
      state = next;
      since = at;
    };
    for (const point of points) {
      switch (point.reason) {
        case 'Created':
        case 'Started':
        case 'Adopted':
          if (state === undefined) to('starting', point.at);
          break;
        case 'Ready':
          to('ready', point.at);
          break;
        case 'NotReady':
          to('notready', point.at);
          marks.push(point);
          break;
        case 'LivenessFailed':
          marks.push(point);
          break;
        case 'Stopping':
          if (state !== undefined) to('stopping', point.at);
          break;
        case 'Exited':
        case 'CreateFailed':
          marks.push(point);
          to(undefined, point.at);
          break;
        case 'Stopped':
          marks.push(point);
          to(undefined, point.at);
          break;
        default:
          break;
      }
    }
    if (state !== undefined) to(undefined, now);
    if (segments.length === 0 && marks.length === 0) continue;
    if (!result.has(entry.ordinal)) result.set(entry.ordinal, []);
    result.get(entry.ordinal).push({ incarnation: entry.incarnation, segments, marks });
  }
  for (const list of result.values()) list.sort((a, b) => a.incarnation - b.incarnation);
  return result;
}

/** The timeline as an inline SVG element. */
export function timelineSvg(setName, events, instances, now = Date.now()) {
  const rows = incarnations(events, instances, now);
  const ordinals = [...new Set([...rows.keys(), ...instances.map((i) => i.ordinal)])].sort((a, b) => a - b);
  const times = [...rows.values()].flat().flatMap((inc) => [...inc.segments.flatMap((seg) => [seg.from, seg.to]), ...inc.marks.map((m) => m.at)]);
  // From a little before the first bar (at least 5 s across) to now at the right edge.
  const span = Math.max((now - (times.length ? Math.min(...times) : now - 60_000)) * 1.03, 5_000);
  const start = now - span;
  const plot = WIDTH - LABEL - 10;
  const x = (t) => LABEL + ((t - start) / span) * plot;
  const height = AXIS + Math.max(ordinals.length, 1) * ROW + 4;

  const svg = s('svg', { viewBox: `0 0 ${WIDTH} ${height}`, role: 'img', 'aria-label': `timeline of ${setName}`, dataset: { testid: 'timeline' } });
  // The axis: ticks at round intervals, labelled as times ago.
  const step = niceStep(span / 6);
  for (let ago = 0; ago <= span; ago += step) {
    const tx = x(now - ago);
    if (tx < LABEL) break;
    svg.append(s('line', { x1: tx, x2: tx, y1: AXIS - 4, y2: height, stroke: '#e4e7ec' }));
    svg.append(s('text', { x: tx, y: AXIS - 8, 'text-anchor': 'middle', 'font-size': 11, fill: '#667085' }, ago === 0 ? 'now' : `-${formatSpan(ago)}`));
  }
  ordinals.forEach((ordinal, index) => {
    const y = AXIS + index * ROW;
    const row = s('g', { dataset: { ordinal: String(ordinal) } });
    row.append(s('text', { x: 4, y: y + ROW / 2 + 4, 'font-size': 12, fill: '#1d2330' }, `${setName}-${ordinal}`));
    for (const inc of rows.get(ordinal) ?? []) {
      const group = s('g', { dataset: { incarnation: String(inc.incarnation) } });
      for (const seg of inc.segments) {
        const width = Math.max(x(seg.to) - x(seg.from), 1.5);
        group.append(
          s('rect', { x: x(seg.from), y: y + 6, width, height: ROW - 12, rx: 2, fill: COLORS[seg.state], dataset: { state: seg.state } },
            s('title', {}, `${setName}-${ordinal} #${inc.incarnation}: ${seg.state} for ${formatSpan(seg.to - seg.from)}`)),
        );
      }
      const first = inc.segments[0];
      if (first) group.append(s('text', { x: x(first.from) + 3, y: y + ROW / 2 + 4, 'font-size': 10, fill: '#fff', 'pointer-events': 'none' }, `#${inc.incarnation}`));
      for (const mark of inc.marks) {
        const bad = mark.reason === 'Exited' || mark.reason === 'LivenessFailed' || mark.reason === 'CreateFailed';
        if (mark.reason === 'NotReady') continue; // the amber bar says it
        const mx = x(mark.at);
        group.append(
          s('path', {
            d: bad ? `M${mx - 4},${y + 4} L${mx + 4},${y + ROW - 4} M${mx + 4},${y + 4} L${mx - 4},${y + ROW - 4}` : `M${mx},${y + 4} L${mx},${y + ROW - 4}`,
            stroke: bad ? '#d92d20' : '#344054',
            'stroke-width': bad ? 2.5 : 1.5,
            dataset: { mark: mark.reason },
          }, s('title', {}, `${mark.reason}: ${mark.message}`)),
        );
      }
      row.append(group);
    }
    svg.append(row);
  });
  return svg;
}

function niceStep(raw) {
  const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400].map((s) => s * 1000);
  return steps.find((s) => s >= raw) ?? raw;
}

function formatSpan(ms) {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}
