/* global setTimeout, clearTimeout, setInterval, clearInterval, confirm */
// One customer: live numbers, pause / resume, dead letters (replay, discard), recent deliveries, feed.
import { ApiError, api } from '../api.js';
import { sparkline } from '../chart.js';
import { errorBox, eventLink, h, ms, num, packageLink, pill, replace, table, time, toast } from '../dom.js';
import { liveFeed } from '../feed.js';
import { logTile, tile } from './overview.js';
import { deliveriesTable } from './deliveries-table.js';

const POLL_MS = 2000;

export function customerPage({ role }, id) {
  const enc = encodeURIComponent(id);
  const admin = role === 'admin';
  const head = h('div', { class: 'page-head' }, h('h1', {}, id));
  const tiles = h('div', { class: 'tiles' });
  const chart = h('div', { class: 'chart' });
  const deadBody = h('div', {});
  const outcome = h(
    'select',
    { id: 'outcome-filter', name: 'outcome' },
    ['', 'pending', 'in_flight', 'parked', 'delivered', 'dead', 'discarded', 'dropped'].map((o) =>
      h('option', { value: o }, o || 'any outcome'),
    ),
  );
  const recent = deliveriesTable(
    () => ({ customer: id, ...(outcome.value ? { outcome: outcome.value } : {}) }),
    { showCustomer: false },
  );
  outcome.addEventListener('change', () => recent.reload());
  const feed = liveFeed({ customer: id }, { title: `Live feed · ${id}` });

  const pauseButton = h(
    'button',
    { type: 'button', disabled: !admin, title: admin ? null : 'needs the admin token' },
    'Pause',
  );
  let paused = false;
  pauseButton.addEventListener('click', async () => {
    try {
      const s = await api(`/customers/${enc}/${paused ? 'resume' : 'pause'}`, { method: 'POST' });
      toast(
        s.paused ? `${id} paused: deliveries are accepted and parked, not sent.` : `${id} resumed.`,
        'info',
      );
      load();
    } catch (err) {
      toast(err.message, 'bad');
    }
  });

  const el = h(
    'div',
    { class: 'page' },
    head,
    tiles,
    h(
      'section',
      { class: 'card' },
      h('div', { class: 'card-head' }, h('h2', {}, 'Deliveries per 5 s, last 5 minutes')),
      chart,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'dl-title' },
      h('div', { class: 'card-head' }, h('h2', { id: 'dl-title' }, 'Dead letters')),
      deadBody,
    ),
    h(
      'section',
      { class: 'card', 'aria-labelledby': 'recent-title' },
      h(
        'div',
        { class: 'card-head' },
        h('h2', { id: 'recent-title' }, 'Recent deliveries'),
        h('label', { class: 'sr', for: 'outcome-filter' }, 'Outcome'),
        outcome,
      ),
      recent.el,
    ),
    feed.el,
  );

  let stopped = false;
  let timer = null;
  const load = async () => {
    try {
      const o = await api('/overview');
      const c = o.customers.find((x) => x.id === id);
      if (!c) {
        replace(
          el,
          h(
            'section',
            { class: 'card' },
            h('h1', {}, 'Unknown customer'),
            h('p', {}, `No customer “${id}” is configured.`),
          ),
        );
        stopped = true;
        return;
      }
      paused = c.paused;
      pauseButton.textContent = c.paused ? 'Resume' : 'Pause';
      replace(
        head,
        h('div', {}, h('h1', {}, id), h('p', { class: 'mono muted' }, c.url)),
        h(
          'div',
          { class: 'actions' },
          c.paused ? pill('paused') : pill('active'),
          pill(c.breaker, `breaker ${c.breaker}`),
          pauseButton,
        ),
      );
      replace(
        tiles,
        tile('In flight', `${num(c.inflight)} / ${num(c.limits.concurrency)}`, 'this integrator'),
        sharedTile(c),
        tile('Pending', num(c.pending)),
        tile('Parked', num(c.parked)),
        tile(
          'p50 / p99',
          `${ms(c.recent.p50Ms)} / ${ms(c.recent.p99Ms)}`,
          `last ${num(c.recent.count)} attempts`,
        ),
        tile('Deliveries / s', num(c.deliveriesPerSecond, 1), 'last 10 s'),
        tile('Dead letters', num(c.deadLetters)),
        logTile(o.log),
      );
      replace(
        chart,
        sparkline(c.series.points, { width: 720, height: 90, stepSeconds: c.series.stepSeconds, label: id }),
      );
    } catch (err) {
      replace(tiles, errorBox(err));
    } finally {
      if (!stopped) timer = setTimeout(load, POLL_MS);
    }
  };

  const loadDead = async () => {
    try {
      const list = await api(`/customers/${enc}/dead-letters?limit=100`);
      const selected = new Set();
      const check = (x) => {
        const box = h('input', {
          type: 'checkbox',
          'aria-label': `select ${x.delivery.eventId}`,
          disabled: !admin,
        });
        box.addEventListener('change', () => (box.checked ? selected.add(x.id) : selected.delete(x.id)));
        return box;
      };
      const act = async (what, ids) => {
        if (what === 'discard' && !confirm(`Discard ${ids.length} dead letter(s) for good?`)) return;
        try {
          const r = await api(`/customers/${enc}/dead-letters/${what}`, {
            method: 'POST',
            body: ids ? { ids } : {},
          });
          toast(
            what === 'replay'
              ? `${r.replayed} replayed: back in the lane with a fresh attempt budget.`
              : `${r.discarded} discarded.`,
            'info',
          );
          loadDead();
          recent.reload();
        } catch (err) {
          toast(err instanceof ApiError ? err.message : String(err), 'bad');
        }
      };
      const buttons = admin
        ? h(
            'div',
            { class: 'actions' },
            h(
              'button',
              {
                type: 'button',
                onclick: () =>
                  selected.size ? act('replay', [...selected]) : toast('Select dead letters first.', 'warn'),
              },
              'Replay selected',
            ),
            h(
              'button',
              {
                type: 'button',
                onclick: () =>
                  selected.size ? act('discard', [...selected]) : toast('Select dead letters first.', 'warn'),
              },
              'Discard selected',
            ),
            h(
              'button',
              { type: 'button', class: 'primary', onclick: () => act('replay') },
              `Replay all (${list.total})`,
            ),
          )
        : h('p', { class: 'muted small' }, 'Replay and discard need the admin token.');
      replace(
        deadBody,
        list.total > 0 ? buttons : null,
        table(
          [
            { title: '', cell: check },
            { title: 'Dead since', cell: (x) => time(new Date(x.deadAt).toISOString()) },
            { title: 'Package', cell: (x) => packageLink(x.delivery.orderingKey) },
            { title: 'Status', cell: (x) => x.delivery.label ?? '—' },
            { title: 'Event', cell: (x) => eventLink(x.delivery.eventId) },
            { title: 'Attempts', class: 'num', cell: (x) => String(x.delivery.attempts) },
            { title: 'Reason', class: 'reason', cell: (x) => x.reason },
            {
              title: '',
              cell: (x) =>
                admin
                  ? h(
                      'button',
                      {
                        type: 'button',
                        class: 'small',
                        onclick: () => act('replay', [x.id]),
                        'aria-label': `Replay ${x.delivery.eventId}`,
                      },
                      'Replay',
                    )
                  : null,
            },
          ],
          list.items,
          'No dead letters.',
        ),
      );
    } catch (err) {
      replace(deadBody, errorBox(err));
    }
  };

  load();
  loadDead();
  const deadTimer = setInterval(loadDead, 10_000);
  return {
    el,
    dispose: () => {
      stopped = true;
      clearTimeout(timer);
      clearInterval(deadTimer);
      feed.stop();
    },
  };
}

/** The customer's limits across the group's integrators, as the store holds them. */
function sharedTile(c) {
  const g = c.global;
  if (!g) return tile('In flight, all integrators', '—', 'the store does not answer');
  const who = `${num(g.holders)} integrator${g.holders === 1 ? '' : 's'}`;
  const reason = g.paused?.reason ? ` · paused: ${g.paused.reason}` : '';
  return tile(
    'In flight, all integrators',
    `${num(g.inflight)} / ${num(c.limits.concurrency)}`,
    who + reason,
  );
}
