/* global document, window, location, history, URL, URLSearchParams, HTMLInputElement, HTMLTextAreaElement, HTMLSelectElement */
// The console's shell: sign-in gate, router (/console, /console/customers/:id, /console/packages/:id,
// /console/events/:id, /console/deliveries), the search box, sign-out.
import { api, session, whenUnauthorized } from './api.js';
import { errorBox, h, replace, toast } from './dom.js';
import { signIn } from './pages/signin.js';
import { overview } from './pages/overview.js';
import { customerPage } from './pages/customer.js';
import { packagePage } from './pages/package.js';
import { eventPage } from './pages/event.js';
import { deliveriesPage } from './pages/deliveries.js';

const main = document.getElementById('main');
const top = document.getElementById('top');
let dispose = () => {};
let role = null;

const routes = [
  [/^\/console\/?$/, () => overview(ctx()), 'overview'],
  [/^\/console\/deliveries\/?$/, () => deliveriesPage(ctx()), 'deliveries'],
  [/^\/console\/customers\/([^/]+)\/?$/, (m) => customerPage(ctx(), decodeURIComponent(m[1]))],
  [/^\/console\/packages\/([^/]+)\/?$/, (m) => packagePage(ctx(), decodeURIComponent(m[1]))],
  [/^\/console\/events\/([^/]+)\/?$/, (m) => eventPage(ctx(), decodeURIComponent(m[1]))],
];

function ctx() {
  return { role, navigate };
}

export function navigate(path, { replace: swap = false } = {}) {
  if (swap) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

async function render() {
  dispose();
  dispose = () => {};
  if (!session.get()) {
    top.hidden = true;
    const page = signIn(async (token) => {
      const who = await api('/auth/check', { method: 'POST', body: { token }, token: '' });
      if (who.role === null) throw new Error('refused');
      session.set(token);
      role = who.role;
      render();
    });
    replace(main, page.el);
    page.focus();
    return;
  }
  if (role === null) {
    try {
      role = (await api('/whoami')).role;
    } catch (err) {
      replace(main, errorBox(err));
      return;
    }
  }
  top.hidden = false;
  document.getElementById('who').textContent = role === 'admin' ? 'admin' : 'read-only';
  const path = location.pathname;
  for (const [re, page, nav] of routes) {
    const m = re.exec(path);
    if (!m) continue;
    for (const a of document.querySelectorAll('[data-nav]')) {
      if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    const view = page(m);
    replace(main, view.el);
    dispose = view.dispose ?? (() => {});
    main.focus({ preventScroll: true });
    return;
  }
  replace(
    main,
    h('section', { class: 'card' }, h('h1', {}, 'Not found'), h('p', {}, 'No console page at this address.')),
  );
}

document.addEventListener('click', (e) => {
  const a = e.target.closest?.('a[data-link]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener('popstate', render);

document.getElementById('search').addEventListener('submit', async (e) => {
  e.preventDefault();
  const input = document.getElementById('search-q');
  const q = input.value.trim();
  if (!q) return;
  try {
    const { found } = await api(`/search?${new URLSearchParams({ q })}`);
    if (found === 'event') return navigate(`/console/events/${encodeURIComponent(q)}`);
    if (found === 'package') return navigate(`/console/packages/${encodeURIComponent(q)}`);
    toast(`No package or event “${q}” in the delivery log.`, 'warn');
  } catch (err) {
    toast(err.message, 'bad');
  }
});

document.addEventListener('keydown', (e) => {
  const typing =
    e.target instanceof HTMLInputElement ||
    e.target instanceof HTMLTextAreaElement ||
    e.target instanceof HTMLSelectElement;
  if (e.key === '/' && !typing && !top.hidden) {
    e.preventDefault();
    document.getElementById('search-q').focus();
  }
});

document.getElementById('signout').addEventListener('click', () => {
  session.clear();
  role = null;
  navigate('/console');
});

// A link with the token in its fragment (`npm run demo` prints one): keep it for the tab, then take it
// out of the address bar. A fragment is never sent to the server.
if (location.hash.startsWith('#token=')) {
  session.set(decodeURIComponent(location.hash.slice(7)));
  history.replaceState(null, '', location.pathname + location.search);
}

whenUnauthorized(() => {
  session.clear();
  role = null;
  toast('Your token was refused: sign in again.', 'warn');
  render();
});

render();
