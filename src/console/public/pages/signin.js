import { ApiError } from '../api.js';
import { h } from '../dom.js';

export function signIn(submit) {
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    required: true,
    autocomplete: 'current-password',
    spellcheck: 'false',
  });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const button = h('button', { type: 'submit', class: 'primary' }, 'Sign in');
  const form = h(
    'form',
    { class: 'signin card', method: 'post', action: '/console', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Integrator console'),
    h(
      'p',
      { class: 'muted' },
      'Sign in with the integrator’s ADMIN_TOKEN, or its READ_TOKEN to look without acting.',
    ),
    h('label', { for: 'token' }, 'Access token'),
    input,
    error,
    button,
    h('p', { class: 'fine' }, 'The token is kept in this browser tab until you sign out or close it.'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    button.disabled = true;
    error.hidden = true;
    try {
      await submit(input.value.trim());
    } catch (err) {
      error.textContent =
        err.message === 'refused'
          ? 'That token was refused.'
          : err instanceof ApiError && err.status === 403
            ? err.message
            : `Could not sign in: ${err.message}`;
      error.hidden = false;
      input.select();
      input.focus();
    } finally {
      button.disabled = false;
    }
  });
  return { el: h('div', { class: 'signin-wrap' }, form), focus: () => input.focus() };
}
