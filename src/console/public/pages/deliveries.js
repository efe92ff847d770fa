// All deliveries, filtered like the API: customer, outcome, package, event, time window.
import { h } from '../dom.js';
import { deliveriesTable } from './deliveries-table.js';

const OUTCOMES = ['', 'pending', 'in_flight', 'parked', 'delivered', 'dead', 'discarded', 'dropped'];

export function deliveriesPage() {
  const field = (label, input) => h('label', { class: 'field' }, h('span', {}, label), input);
  const customer = h('input', { name: 'customer', placeholder: 'customer-1', autocomplete: 'off' });
  const outcome = h(
    'select',
    { name: 'outcome' },
    OUTCOMES.map((o) => h('option', { value: o }, o || 'any')),
  );
  const packageId = h('input', { name: 'packageId', placeholder: 'PKG-000123', autocomplete: 'off' });
  const since = h('input', { name: 'since', type: 'datetime-local' });
  const until = h('input', { name: 'until', type: 'datetime-local' });
  const query = () => {
    const q = {};
    if (customer.value.trim()) q.customer = customer.value.trim();
    if (outcome.value) q.outcome = outcome.value;
    if (packageId.value.trim()) q.packageId = packageId.value.trim();
    if (since.value) q.since = new Date(since.value).toISOString();
    if (until.value) q.until = new Date(until.value).toISOString();
    return q;
  };
  const list = deliveriesTable(query);
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Filter deliveries' },
    field('Customer', customer),
    field('Outcome', outcome),
    field('Package', packageId),
    field('Since', since),
    field('Until', until),
    h('button', { type: 'submit' }, 'Apply'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    list.reload();
  });
  return {
    el: h(
      'div',
      { class: 'page' },
      h('div', { class: 'page-head' }, h('h1', {}, 'Deliveries')),
      h('section', { class: 'card' }, form, list.el),
    ),
  };
}
