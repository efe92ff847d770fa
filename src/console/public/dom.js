/* global document, setTimeout, clearTimeout, Node */
// DOM building without innerHTML: every piece of data goes in as text, never as markup.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** A link inside the console (handled by the router, keyboard-usable like any link). */
export const link = (href, ...children) => h('a', { href, 'data-link': true }, ...children);
export const customerLink = (id) => link(`/console/customers/${encodeURIComponent(id)}`, id);
export const packageLink = (id) => link(`/console/packages/${encodeURIComponent(id)}`, id);
export const eventLink = (id, label = short(id)) =>
  h(
    'a',
    { href: `/console/events/${encodeURIComponent(id)}`, 'data-link': true, title: id, class: 'mono' },
    label,
  );

export function short(id) {
  return id.length > 18 ? `${id.slice(0, 16)}…` : id;
}

const TONE = {
  delivered: 'ok',
  closed: 'ok',
  active: 'ok',
  up: 'ok',
  '2xx': 'ok',
  in_flight: 'info',
  attempted: 'info',
  pending: 'info',
  'half-open': 'warn',
  parked: 'warn',
  paused: 'warn',
  replayed: 'warn',
  opening: 'warn',
  rate_limited: 'warn',
  dropped: 'muted',
  discarded: 'muted',
  unknown: 'muted',
  off: 'muted',
  dead: 'bad',
  open: 'bad',
  down: 'bad',
  '4xx': 'bad',
  '5xx': 'bad',
  timeout: 'bad',
  network: 'bad',
  breaker_open: 'bad',
};

export function pill(value, label = value) {
  return h('span', { class: `pill ${TONE[value] ?? 'muted'}` }, String(label).replace('_', ' '));
}

export function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  const text = today ? d.toLocaleTimeString() : d.toLocaleString();
  return h('time', { datetime: iso, title: iso }, text);
}

export function ms(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (v < 10) return `${v.toFixed(1)} ms`;
  if (v < 1000) return `${Math.round(v)} ms`;
  return `${(v / 1000).toFixed(v < 10_000 ? 2 : 1)} s`;
}

export function num(v, digits = 0) {
  if (v === null || v === undefined) return '—';
  return Number(v).toLocaleString(undefined, {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

export function table(columns, rows, empty = 'Nothing here yet.') {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          columns.map((c) => h('th', { scope: 'col', class: c.class }, c.title)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((r) =>
          h(
            'tr',
            {},
            columns.map((c) => h('td', { class: c.class }, c.cell(r))),
          ),
        ),
      ),
    ),
  );
}

export function toast(text, tone = 'info') {
  const el = document.getElementById('toast');
  el.textContent = text;
  el.className = `toast ${tone}`;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.hidden = true), 4000);
}

export function errorBox(err) {
  return h('div', { class: 'error', role: 'alert' }, err?.message ?? String(err));
}
