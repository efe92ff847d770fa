/* global URLSearchParams, setTimeout, clearTimeout */
// One package: its latest status and the timeline of its statuses across customers (newest first).
import { maybe } from '../api.js';
import { customerLink, errorBox, eventLink, h, ms, pill, replace, time } from '../dom.js';
import { liveFeed } from '../feed.js';

function deliveryChip(d) {
  if (d.state === 'unknown')
    return h(
      'li',
      { class: 'chip' },
      customerLink(d.customer),
      ' ',
      pill('unknown'),
      h('span', { class: 'muted small' }, ' not in the log'),
    );
  const detail =
    d.state === 'delivered'
      ? [' at ', time(d.deliveredAt), d.endToEndMs !== null ? ` · e2e ${ms(d.endToEndMs)}` : '']
      : d.state === 'dead'
        ? [' ', h('span', { class: 'detail' }, d.deadReason ?? '')]
        : d.state === 'parked'
          ? [
              ` ${d.parkedWhy ?? ''}`,
              d.dueAt ? [' · due ', time(d.dueAt)] : '',
              d.lastError ? h('span', { class: 'detail' }, ` ${d.lastError}`) : '',
            ]
          : d.lastError
            ? [' ', h('span', { class: 'detail' }, d.lastError)]
            : '';
  return h(
    'li',
    { class: 'chip' },
    customerLink(d.customer),
    ' ',
    pill(d.state),
    h('span', { class: 'muted small' }, ` ${d.attempts} attempt${d.attempts === 1 ? '' : 's'}`),
    h('span', { class: 'small' }, detail),
  );
}

export function packagePage(_ctx, packageId) {
  const enc = encodeURIComponent(packageId);
  const latest = h('div', {});
  const list = h('ol', { class: 'timeline' });
  const more = h('button', { type: 'button', class: 'small', hidden: true }, 'Older statuses');
  let cursor = null;
  let refreshTimer = null;
  const entry = (t) =>
    h(
      'li',
      { class: 'tl-item' },
      h(
        'div',
        { class: 'tl-head' },
        h('strong', {}, t.status ?? t.type),
        ' ',
        time(t.occurredAt ?? t.seenAt),
        h('span', { class: 'muted small' }, ` ${t.type} · `),
        eventLink(t.eventId),
      ),
      h(
        'ul',
        { class: 'chips' },
        t.deliveries.length
          ? t.deliveries.map(deliveryChip)
          : h('li', { class: 'muted small' }, 'routed to no customer'),
      ),
    );
  const load = async (reset) => {
    try {
      const q = new URLSearchParams({ limit: '20' });
      if (!reset && cursor) q.set('cursor', cursor);
      const p = await maybe(`/packages/${enc}?${q}`);
      if (!p) {
        replace(
          latest,
          h('p', { class: 'empty' }, `No change of package “${packageId}” in the delivery log.`),
        );
        return;
      }
      replace(
        latest,
        h(
          'div',
          { class: 'latest' },
          h('span', { class: 'muted' }, 'Latest status'),
          h('div', { class: 'big' }, p.latest.status ?? p.latest.type),
          h(
            'div',
            { class: 'muted small' },
            time(p.latest.occurredAt ?? p.latest.seenAt),
            ' · ',
            eventLink(p.latest.eventId),
          ),
        ),
      );
      if (reset) list.replaceChildren();
      list.append(...p.timeline.map(entry));
      cursor = p.nextCursor;
      more.hidden = cursor === null;
    } catch (err) {
      replace(latest, errorBox(err));
    }
  };
  more.addEventListener('click', () => load(false));
  // New statuses or settlements of this package: redraw (at most once a second).
  const feed = liveFeed(
    { packageId },
    {
      title: `Live feed · ${packageId}`,
      onEvent: () => {
        if (refreshTimer) return;
        refreshTimer = setTimeout(() => {
          refreshTimer = null;
          load(true);
        }, 1000);
      },
    },
  );
  load(true);
  return {
    el: h(
      'div',
      { class: 'page' },
      h(
        'div',
        { class: 'page-head' },
        h('div', {}, h('p', { class: 'muted small' }, 'Package'), h('h1', { class: 'mono' }, packageId)),
      ),
      h('section', { class: 'card' }, latest),
      h(
        'section',
        { class: 'card', 'aria-labelledby': 'tl-title' },
        h('div', { class: 'card-head' }, h('h2', { id: 'tl-title' }, 'Timeline')),
        list,
        h('div', { class: 'more' }, more),
      ),
      feed.el,
    ),
    dispose: () => {
      clearTimeout(refreshTimer);
      feed.stop();
    },
  };
}
