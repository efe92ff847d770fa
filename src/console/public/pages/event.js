// One event: the change, each customer's delivery with every attempt and settlement, the payload.
import { maybe } from '../api.js';
import { customerLink, errorBox, h, ms, packageLink, pill, replace, table, time } from '../dom.js';

export function eventPage(_ctx, eventId) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  (async () => {
    try {
      const ev = await maybe(`/deliveries/${encodeURIComponent(eventId)}`);
      if (!ev) {
        replace(
          body,
          h(
            'section',
            { class: 'card' },
            h('p', { class: 'empty' }, `No event “${eventId}” in the delivery log.`),
          ),
        );
        return;
      }
      const facts = h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Package'),
        h('dd', {}, packageLink(ev.packageId)),
        h('dt', {}, 'Status'),
        h('dd', {}, ev.status ?? '—'),
        h('dt', {}, 'Type'),
        h('dd', {}, ev.type),
        h('dt', {}, 'Committed'),
        h('dd', {}, time(ev.occurredAt)),
        h('dt', {}, 'Seen'),
        h('dd', {}, time(ev.seenAt)),
        h('dt', {}, 'Source'),
        h(
          'dd',
          { class: 'mono' },
          ev.source.partition >= 0
            ? `${ev.source.topic} [${ev.source.partition}] @ ${ev.source.offset}`
            : '—',
        ),
        h('dt', {}, 'Routed to'),
        h(
          'dd',
          {},
          ev.customers.length ? ev.customers.map((c, i) => [i ? ', ' : '', customerLink(c)]) : 'no customer',
        ),
      );
      const deliveries = ev.deliveries.map((d) =>
        h(
          'section',
          { class: 'card', 'aria-label': `Delivery to ${d.customer}` },
          h(
            'div',
            { class: 'card-head' },
            h('h2', {}, customerLink(d.customer)),
            pill(d.state),
            h(
              'span',
              { class: 'muted small' },
              `${d.attempts} attempt(s)${d.replays ? ` · replayed ${d.replays}×` : ''}`,
            ),
          ),
          table(
            [
              { title: 'When', cell: (s) => time(s.at) },
              { title: 'Step', cell: (s) => (s.kind === 'attempt' ? `attempt ${s.attempt}` : s.kind) },
              {
                title: 'Result',
                cell: (s) => (s.result ? pill(s.result, s.httpStatus ? `${s.httpStatus}` : s.result) : ''),
              },
              {
                title: 'Duration',
                class: 'num',
                cell: (s) => (s.durationMs !== null ? ms(s.durationMs) : ''),
              },
              { title: 'Detail', class: 'reason', cell: (s) => s.detail ?? '' },
            ],
            d.steps,
            'No attempt yet.',
          ),
        ),
      );
      replace(
        body,
        h('section', { class: 'card' }, facts),
        deliveries,
        h(
          'section',
          { class: 'card', 'aria-labelledby': 'payload-title' },
          h('div', { class: 'card-head' }, h('h2', { id: 'payload-title' }, 'Payload')),
          h(
            'pre',
            { class: 'payload', tabindex: '0' },
            ev.body === null ? '(not logged)' : JSON.stringify(ev.body, null, 2),
          ),
        ),
      );
    } catch (err) {
      replace(body, errorBox(err));
    }
  })();
  return {
    el: h(
      'div',
      { class: 'page' },
      h(
        'div',
        { class: 'page-head' },
        h('div', {}, h('p', { class: 'muted small' }, 'Event'), h('h1', { class: 'mono' }, eventId)),
      ),
      body,
    ),
  };
}
