/* global setTimeout, clearTimeout */
// Every customer at a glance, refreshed every POLL_MS, with the live feed beside it.
import { api } from '../api.js';
import { sparkline } from '../chart.js';
import { customerLink, errorBox, h, ms, num, pill, replace, table } from '../dom.js';
import { liveFeed } from '../feed.js';

const POLL_MS = 2000;

export function tile(label, value, extra) {
  return h(
    'div',
    { class: 'tile' },
    h('div', { class: 'tile-label' }, label),
    h('div', { class: 'tile-value' }, value),
    extra ? h('div', { class: 'tile-extra' }, extra) : null,
  );
}

export function logTile(log) {
  if (!log || log.health === 'off') return tile('Delivery log', pill('off'));
  return tile(
    'Delivery log',
    pill(log.health),
    `${log.kind} · ${num(log.written)} written · ${num(log.dropped)} dropped${log.buffered ? ` · ${num(log.buffered)} waiting` : ''}`,
  );
}

export function overview() {
  const tiles = h('div', { class: 'tiles', 'aria-live': 'off' });
  const list = h('div', {});
  const updated = h('span', { class: 'muted small' });
  const feed = liveFeed({}, { title: 'Live feed' });
  const el = h(
    'div',
    { class: 'page' },
    h('div', { class: 'page-head' }, h('h1', {}, 'Overview'), updated),
    tiles,
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'customers-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'customers-title' }, 'Customers')),
      list,
    ),
    feed.el,
  );
  let stopped = false;
  let timer = null;
  const load = async () => {
    try {
      const o = await api('/overview');
      const sum = (k) => o.customers.reduce((n, c) => n + (c[k] ?? 0), 0);
      replace(
        tiles,
        tile('Deliveries / s', num(sum('deliveriesPerSecond'), 1), 'last 10 s'),
        tile('In flight', num(sum('inflight'))),
        tile('Pending', num(sum('pending'))),
        tile('Parked', num(sum('parked'))),
        tile('Dead letters', num(sum('deadLetters'))),
        tile('Poison messages', num(o.poison)),
        logTile(o.log),
      );
      replace(
        list,
        table(
          [
            { title: 'Customer', cell: (c) => customerLink(c.id) },
            {
              title: 'Endpoint',
              class: 'url',
              cell: (c) => h('span', { class: 'mono', title: c.url }, c.url),
            },
            { title: 'State', cell: (c) => (c.paused ? pill('paused') : pill('active')) },
            { title: 'Breaker', cell: (c) => pill(c.breaker) },
            {
              title: 'In flight',
              class: 'num',
              cell: (c) => `${num(c.inflight)} / ${num(c.limits.concurrency)}`,
            },
            { title: 'Pending', class: 'num', cell: (c) => num(c.pending) },
            { title: 'Parked', class: 'num', cell: (c) => num(c.parked) },
            { title: 'p50', class: 'num', cell: (c) => ms(c.recent.p50Ms) },
            { title: 'p99', class: 'num', cell: (c) => ms(c.recent.p99Ms) },
            { title: 'Deliveries/s', class: 'num', cell: (c) => num(c.deliveriesPerSecond, 1) },
            {
              title: 'Last 5 min',
              cell: (c) => sparkline(c.series.points, { stepSeconds: c.series.stepSeconds, label: c.id }),
            },
            {
              title: 'Dead letters',
              class: 'num',
              cell: (c) =>
                c.deadLetters ? h('span', { class: 'bad-text' }, num(c.deadLetters)) : num(c.deadLetters),
            },
          ],
          o.customers,
          'No customers configured.',
        ),
      );
      updated.textContent = `updated ${new Date(o.at).toLocaleTimeString()}`;
    } catch (err) {
      replace(list, errorBox(err));
    } finally {
      if (!stopped) timer = setTimeout(load, POLL_MS);
    }
  };
  load();
  return {
    el,
    dispose: () => {
      stopped = true;
      clearTimeout(timer);
      feed.stop();
    },
  };
}
