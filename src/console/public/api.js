/* global sessionStorage, fetch, URLSearchParams, EventSource, setTimeout, clearTimeout */
// The console's only way to the integrator: JSON over fetch with the signed-in token, and the live stream
// through short-lived tickets (EventSource cannot send an Authorization header).
const KEY = 'integrator.console.token';

export const session = {
  get: () => sessionStorage.getItem(KEY),
  set: (t) => sessionStorage.setItem(KEY, t),
  clear: () => sessionStorage.removeItem(KEY),
};

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error ?? `HTTP ${status}`);
    this.status = status;
    this.field = body?.field ?? null;
  }
}

let onUnauthorized = () => {};
export function whenUnauthorized(fn) {
  onUnauthorized = fn;
}

export async function api(path, { method = 'GET', body, token } = {}) {
  const t = token ?? session.get();
  const headers = { accept: 'application/json' };
  if (t) headers.authorization = `Bearer ${t}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = { error: text };
  }
  if (!res.ok) {
    if (res.status === 401 && token === undefined) onUnauthorized();
    throw new ApiError(res.status, data);
  }
  return data;
}

/** Same as api(), but a 404 is null. */
export async function maybe(path) {
  try {
    return await api(path);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

/**
 * The live stream with a fresh ticket; reopened (with a new ticket) when it closes. `onEvent(item)` for
 * deliveries and settlements, `onState('live' | 'reconnecting')`. Returns a function that stops it.
 */
export function openStream(params, onEvent, onState = () => {}) {
  let es = null;
  let stopped = false;
  let timer = null;
  const kinds = ['attempted', 'parked', 'delivered', 'dead', 'replayed', 'discarded', 'dropped'];
  const connect = async () => {
    if (stopped) return;
    try {
      const { ticket } = await api('/events/stream/ticket', { method: 'POST' });
      if (stopped) return;
      const q = new URLSearchParams({ ...params, ticket });
      es = new EventSource(`/events/stream?${q}`);
      es.onopen = () => onState('live');
      for (const k of kinds) es.addEventListener(k, (e) => onEvent(JSON.parse(e.data)));
      es.addEventListener('heartbeat', () => onState('live'));
      es.onerror = () => {
        onState('reconnecting');
        if (es.readyState === EventSource.CLOSED) retry();
      };
    } catch {
      onState('reconnecting');
      retry();
    }
  };
  const retry = () => {
    es?.close();
    if (!stopped) timer = setTimeout(connect, 3000);
  };
  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    es?.close();
  };
}
