// The live feed: deliveries and settlements from the stream, newest on top, at most MAX rows.
import { openStream } from './api.js';
import { customerLink, eventLink, h, ms, packageLink, pill, time } from './dom.js';

const MAX = 60;

export function liveFeed(params = {}, { title = 'Live feed', onEvent = () => {} } = {}) {
  const list = h('ol', { class: 'feed-list', 'aria-live': 'off' });
  const state = h('span', { class: 'pill muted', role: 'status' }, 'connecting');
  let paused = false;
  const pause = h('button', { type: 'button', class: 'small', 'aria-pressed': 'false' }, 'Pause');
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.textContent = paused ? 'Resume' : 'Pause';
    pause.setAttribute('aria-pressed', String(paused));
  });
  const empty = h('li', { class: 'empty' }, 'Waiting for deliveries…');
  list.append(empty);
  const row = (e) =>
    h(
      'li',
      { class: `feed-item ${e.outcome === '2xx' || e.outcome === 'delivered' ? '' : 'attn'}` },
      time(e.at),
      ' ',
      pill(e.outcome),
      ' ',
      params.customer ? null : [customerLink(e.customer), ' '],
      params.packageId ? null : [packageLink(e.packageId), ' '],
      h('span', { class: 'muted' }, e.status ?? ''),
      ' ',
      eventLink(e.eventId),
      e.kind === 'attempted'
        ? h(
            'span',
            { class: 'muted' },
            ` attempt ${e.attempt} · ${e.httpStatus ?? e.outcome} · ${ms(e.durationMs)}`,
          )
        : null,
      e.detail && e.outcome !== '2xx' ? h('span', { class: 'detail' }, ` ${e.detail}`) : null,
    );
  const stop = openStream(
    params,
    (e) => {
      onEvent(e);
      if (paused) return;
      empty.remove();
      list.prepend(row(e));
      while (list.children.length > MAX) list.lastElementChild.remove();
    },
    (s) => {
      state.textContent = s;
      state.className = `pill ${s === 'live' ? 'ok' : 'warn'}`;
    },
  );
  const el = h(
    'section',
    { class: 'card feed', 'aria-label': title },
    h('div', { class: 'card-head' }, h('h2', {}, title), state, pause),
    list,
  );
  return { el, stop };
}
