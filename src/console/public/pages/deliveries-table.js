/* global URLSearchParams */
// A list of deliveries from GET /deliveries, newest first, with "Load more" following the cursor.
import { api } from '../api.js';
import { customerLink, errorBox, eventLink, h, ms, packageLink, pill, replace, table, time } from '../dom.js';

export function deliveriesTable(query, { showCustomer = true } = {}) {
  const body = h('div', {});
  const more = h('button', { type: 'button', class: 'small', hidden: true }, 'Load more');
  const el = h('div', {}, body, h('div', { class: 'more' }, more));
  let cursor = null;
  let rows = [];
  const columns = [
    { title: 'Seen', cell: (d) => time(d.createdAt) },
    showCustomer ? { title: 'Customer', cell: (d) => customerLink(d.customer) } : null,
    { title: 'Package', cell: (d) => packageLink(d.packageId) },
    { title: 'Status', cell: (d) => d.status ?? '—' },
    { title: 'Event', cell: (d) => eventLink(d.eventId) },
    {
      title: 'State',
      cell: (d) => [
        pill(d.state),
        d.state === 'parked' && d.parkedWhy ? h('span', { class: 'muted small' }, ` ${d.parkedWhy}`) : null,
      ],
    },
    { title: 'Attempts', class: 'num', cell: (d) => String(d.attempts) },
    {
      title: 'Last result',
      cell: (d) =>
        d.lastResult ? [pill(d.lastResult, d.lastHttpStatus ? `${d.lastHttpStatus}` : d.lastResult)] : '—',
    },
    {
      title: 'Delivered / reason',
      class: 'reason',
      cell: (d) =>
        d.state === 'delivered'
          ? [
              time(d.deliveredAt),
              d.endToEndMs !== null ? h('span', { class: 'muted small' }, ` e2e ${ms(d.endToEndMs)}`) : null,
            ]
          : (d.deadReason ?? d.lastError ?? ''),
    },
  ].filter(Boolean);
  const load = async (reset) => {
    try {
      if (reset) {
        cursor = null;
        rows = [];
      }
      const q = new URLSearchParams({ ...query(), limit: '25' });
      if (cursor) q.set('cursor', cursor);
      const page = await api(`/deliveries?${q}`);
      rows = rows.concat(page.items);
      cursor = page.nextCursor;
      replace(body, table(columns, rows, 'No deliveries logged for this selection yet.'));
      more.hidden = cursor === null;
    } catch (err) {
      replace(body, errorBox(err));
    }
  };
  more.addEventListener('click', () => load(false));
  load(true);
  return { el, reload: () => load(true) };
}
