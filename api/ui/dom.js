// Building the page from data without ever parsing data as HTML: every text goes in as a text node.
const SVG = 'http://www.w3.org/2000/svg';

/** An element: h('td', {class: 'mono', dataset: {field: 'address'}}, 'text', child, ...). */
export function h(tag, attrs = {}, ...children) {
  return build(document.createElement(tag), attrs, children);
}

/** An SVG element, same shape as h(). */
export function s(tag, attrs = {}, ...children) {
  return build(document.createElementNS(SVG, tag), attrs, children);
}

function build(element, attrs, children) {
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'dataset') Object.assign(element.dataset, value);
    else if (key.startsWith('on')) element.addEventListener(key.slice(2), value);
    else element.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** Replaces an element's children. */
export function fill(element, ...children) {
  element.replaceChildren(...children.flat().filter((c) => c !== undefined && c !== null && c !== false));
  return element;
}

/** "3s", "4m", "2h", "5d" since an ISO time (or a ms timestamp). */
export function age(time, now = Date.now()) {
  if (time === null || time === undefined) return '';
  const ms = now - (typeof time === 'number' ? time : Date.parse(time));
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

export function badge(text) {
  return h('span', { class: `badge ${text}` }, text);
}
