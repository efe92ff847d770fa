// @ts-check
/**
 * The load scenarios, as plain data. One source for both runners:
 *   - k6 (k6/<scenario>.js → lib/run.js turns a shape into k6 `options.scenarios` and thresholds);
 *   - the Node driver `npm run k6:local` (load/k6-local/), which loads this very file.
 * So this module must stay pure data: no `k6/*` imports, no globals.
 *
 * Rates are in journeys per second; one journey = POST /packages, one POST per movement, one GET (about
 * 6–8 requests and 4–7 rows in package_status, i.e. webhooks).
 */

/**
 * @typedef {object} ConstantLoad
 * @property {'constant-arrival-rate'} executor
 * @property {number} rate journeys per second
 * @property {number} durationSeconds
 * @property {number} preAllocatedVUs
 * @property {number} maxVUs
 */

/**
 * @typedef {object} Stage
 * @property {number} durationSeconds
 * @property {number} target journeys per second reached at the end of the stage
 */

/**
 * @typedef {object} RampingLoad
 * @property {'ramping-arrival-rate'} executor
 * @property {number} startRate journeys per second
 * @property {Stage[]} stages
 * @property {number} preAllocatedVUs
 * @property {number} maxVUs
 */

/**
 * A change to a mock customer's behaviour (PUT /customers/:id/behavior on the mocks) at a point of the run.
 * @typedef {object} Action
 * @property {number} atSeconds
 * @property {string} customer
 * @property {Record<string, number>} behavior
 * @property {string} label
 */

/**
 * @typedef {object} Thresholds
 * @property {number} httpP95Ms tracking API p95
 * @property {number} httpP99Ms tracking API p99
 * @property {number} httpErrorRate tracking API failed-request rate, at most
 * @property {number} e2eP99Seconds the fast customers' end-to-end p99 (integrator_end_to_end_seconds), at most
 */

/**
 * @typedef {object} Scenario
 * @property {string} name
 * @property {string} description
 * @property {ConstantLoad | RampingLoad} load
 * @property {Action[]} actions
 * @property {string[]} fastCustomers customers whose end-to-end p99 must stay under the threshold
 * @property {string[]} breakerClosedAtEnd customers whose circuit must be closed again when the run ends
 * @property {Thresholds} thresholds
 */

/** @type {Record<'steady' | 'spike' | 'slow-customer' | 'breaker' | 'soak', Scenario>} */
export const SCENARIOS = {
  steady: {
    name: 'steady',
    description: 'A constant 10 journeys/s for 5 minutes: the baseline.',
    load: {
      executor: 'constant-arrival-rate',
      rate: 10,
      durationSeconds: 300,
      preAllocatedVUs: 20,
      maxVUs: 100,
    },
    actions: [],
    fastCustomers: ['customer-1', 'customer-3'],
    breakerClosedAtEnd: [],
    thresholds: { httpP95Ms: 250, httpP99Ms: 500, httpErrorRate: 0.01, e2eP99Seconds: 5 },
  },
  spike: {
    name: 'spike',
    description: '5 journeys/s, a jump to 50/s held for a minute, back to 5/s: does the backlog drain?',
    load: {
      executor: 'ramping-arrival-rate',
      startRate: 5,
      stages: [
        { durationSeconds: 60, target: 5 },
        { durationSeconds: 10, target: 50 },
        { durationSeconds: 60, target: 50 },
        { durationSeconds: 10, target: 5 },
        { durationSeconds: 120, target: 5 },
      ],
      preAllocatedVUs: 50,
      maxVUs: 400,
    },
    actions: [],
    fastCustomers: ['customer-1', 'customer-3'],
    breakerClosedAtEnd: [],
    thresholds: { httpP95Ms: 500, httpP99Ms: 1000, httpErrorRate: 0.01, e2eP99Seconds: 10 },
  },
  'slow-customer': {
    name: 'slow-customer',
    description: 'customer-2 starts fast, then answers in 30 s: the other customers must not notice.',
    load: {
      executor: 'constant-arrival-rate',
      rate: 10,
      durationSeconds: 240,
      preAllocatedVUs: 20,
      maxVUs: 100,
    },
    actions: [
      { atSeconds: 0, customer: 'customer-2', behavior: { latencyMs: 300 }, label: 'customer-2 fast' },
      {
        atSeconds: 60,
        customer: 'customer-2',
        behavior: { latencyMs: 30000 },
        label: 'customer-2 slow (30 s)',
      },
    ],
    fastCustomers: ['customer-1', 'customer-3'],
    breakerClosedAtEnd: [],
    thresholds: { httpP95Ms: 250, httpP99Ms: 500, httpErrorRate: 0.01, e2eP99Seconds: 5 },
  },
  breaker: {
    name: 'breaker',
    description:
      'customer-3 fails every request for 30 s, then recovers: its circuit opens and closes again.',
    load: {
      executor: 'constant-arrival-rate',
      rate: 10,
      durationSeconds: 180,
      preAllocatedVUs: 20,
      maxVUs: 100,
    },
    actions: [
      { atSeconds: 30, customer: 'customer-3', behavior: { errorRate: 1 }, label: 'customer-3 fails' },
      { atSeconds: 60, customer: 'customer-3', behavior: { errorRate: 0 }, label: 'customer-3 recovers' },
    ],
    fastCustomers: ['customer-1'],
    breakerClosedAtEnd: ['customer-3'],
    thresholds: { httpP95Ms: 250, httpP99Ms: 500, httpErrorRate: 0.01, e2eP99Seconds: 5 },
  },
  soak: {
    name: 'soak',
    description: 'A moderate 5 journeys/s for 30 minutes: leaks, drift, growing queues.',
    load: {
      executor: 'constant-arrival-rate',
      rate: 5,
      durationSeconds: 1800,
      preAllocatedVUs: 10,
      maxVUs: 50,
    },
    actions: [],
    fastCustomers: ['customer-1', 'customer-3'],
    breakerClosedAtEnd: [],
    thresholds: { httpP95Ms: 250, httpP99Ms: 500, httpErrorRate: 0.01, e2eP99Seconds: 5 },
  },
};

/** Seconds the load lasts. @param {ConstantLoad | RampingLoad} load */
export function loadDurationSeconds(load) {
  return load.executor === 'constant-arrival-rate'
    ? load.durationSeconds
    : load.stages.reduce((sum, stage) => sum + stage.durationSeconds, 0);
}

/**
 * The same scenario stretched or squeezed to last `durationSeconds`: stage lengths and action times scale
 * proportionally (rates stay), so a 5-minute shape can be tried in 30 s.
 * @param {Scenario} scenario
 * @param {number} durationSeconds
 * @returns {Scenario}
 */
export function scaleScenario(scenario, durationSeconds) {
  if (!(durationSeconds > 0)) throw new RangeError(`duration must be positive, got ${durationSeconds}`);
  const factor = durationSeconds / loadDurationSeconds(scenario.load);
  const load =
    scenario.load.executor === 'constant-arrival-rate'
      ? { ...scenario.load, durationSeconds }
      : {
          ...scenario.load,
          stages: scenario.load.stages.map((s) => ({ ...s, durationSeconds: s.durationSeconds * factor })),
        };
  return {
    ...scenario,
    load,
    actions: scenario.actions.map((a) => ({ ...a, atSeconds: a.atSeconds * factor })),
  };
}
