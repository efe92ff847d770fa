// @ts-check
/**
 * One k6 iteration: a package's whole journey through the tracking API (load/tracking-api), which writes
 * every step into package_status — and from there Debezium, Kafka and the integrator take over.
 */
import { check } from 'k6';
import http from 'k6/http';

const CITIES = [
  ['Seattle', 'WA', '98108'],
  ['Denver', 'CO', '80239'],
  ['Chicago', 'IL', '60666'],
  ['Memphis', 'TN', '38118'],
  ['Atlanta', 'GA', '30354'],
  ['Dallas', 'TX', '75261'],
  ['Newark', 'NJ', '07114'],
  ['Phoenix', 'AZ', '85043'],
];
const STREETS = ['Maple Ave', 'Oak St', 'Cedar Rd', 'Lincoln Blvd', 'Park Ln', 'River Dr', 'Hill Way'];

/** @template T @param {T[]} items @returns {T} */
function pick(items) {
  return /** @type {T} */ (items[Math.floor(Math.random() * items.length)]);
}

/** @param {string[]} city */
function street(city) {
  return `${10 + Math.floor(Math.random() * 9000)} ${pick(STREETS)}, ${city[0]}, ${city[1]} ${city[2]}`;
}

/** @param {string[]} city */
function facility(city) {
  return `Sorting Facility, ${city[0]}, ${city[1]} ${city[2]}`;
}

/**
 * The journey's steps after 'Package Posted' as [status, actual_address, next_address], and `first`, the
 * facility the posted package goes to (the posting's next_address).
 * @param {number} hops
 * @returns {{ first: string, steps: [string, string, string | null][] }}
 */
export function journeySteps(hops) {
  const destination = pick(CITIES);
  const places = [];
  for (let i = 0; i < hops; i++) places.push(facility(pick(CITIES)));
  places.push(`Delivery Station, ${destination[0]}, ${destination[1]} ${destination[2]}`);
  const home = street(destination);
  /** @type {[string, string, string | null][]} */
  const steps = [];
  for (let i = 0; i < hops; i++) {
    steps.push(['In Transit', /** @type {string} */ (places[i]), /** @type {string} */ (places[i + 1])]);
  }
  steps.push(['Out for Delivery', /** @type {string} */ (places[hops]), home]);
  steps.push(['Package Delivered', home, null]);
  return { first: /** @type {string} */ (places[0]), steps };
}

const JSON_HEADERS = { 'Content-Type': 'application/json' };

/**
 * @param {string} baseUrl the tracking API, e.g. http://127.0.0.1:3000
 * @param {string[]} customers
 */
export function runJourney(baseUrl, customers) {
  const originCity = pick(CITIES);
  const origin = street(originCity);
  const { first, steps } = journeySteps(1 + Math.floor(Math.random() * 3));
  const created = http.post(
    `${baseUrl}/packages`,
    JSON.stringify({ customer_id: pick(customers), origin_address: origin, next_address: first }),
    { headers: JSON_HEADERS, tags: { api: 'tracking', name: 'POST /packages' } },
  );
  if (!check(created, { 'package created (201)': (r) => r.status === 201 })) return;
  const packageId = /** @type {string} */ (created.json('package_id'));
  for (const [status, actual, next] of steps) {
    const moved = http.post(
      `${baseUrl}/packages/${packageId}/movements`,
      JSON.stringify({ status, actual_address: actual, next_address: next }),
      { headers: JSON_HEADERS, tags: { api: 'tracking', name: 'POST /packages/:id/movements' } },
    );
    if (!check(moved, { 'movement recorded (201)': (r) => r.status === 201 })) return;
  }
  const read = http.get(`${baseUrl}/packages/${packageId}`, {
    tags: { api: 'tracking', name: 'GET /packages/:id' },
  });
  check(read, {
    'history complete': (r) =>
      r.status === 200 && /** @type {unknown[]} */ (r.json('history')).length === steps.length + 1,
  });
}
