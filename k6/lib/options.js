// @ts-check
/**
 * A scenario shape (shapes.js) → k6 `options`. Pure (no k6 imports), so the Node tests check it too.
 */

/** @typedef {import('./shapes.js').Scenario} Scenario */

/** A k6 duration string, in milliseconds so scaled scenarios keep their proportions. @param {number} seconds */
function ms(seconds) {
  return `${Math.round(seconds * 1000)}ms`;
}

/**
 * The k6 options of a scenario: its journeys executor, one single-shot `act` scenario per behaviour change
 * (which one: its ACTION_INDEX), and the thresholds.
 * @param {Scenario} scenario
 * @param {{ checkIntegrator: boolean, drainSeconds: number }} settings
 * @returns {import('k6/options').Options}
 */
export function k6Options(scenario, settings) {
  const load = scenario.load;
  /** @type {NonNullable<import('k6/options').Options['scenarios']>} */
  const scenarios = {
    journeys:
      load.executor === 'constant-arrival-rate'
        ? {
            executor: 'constant-arrival-rate',
            rate: load.rate,
            timeUnit: '1s',
            duration: ms(load.durationSeconds),
            preAllocatedVUs: load.preAllocatedVUs,
            maxVUs: load.maxVUs,
          }
        : {
            executor: 'ramping-arrival-rate',
            startRate: load.startRate,
            timeUnit: '1s',
            stages: load.stages.map((s) => ({
              duration: ms(s.durationSeconds),
              target: s.target,
            })),
            preAllocatedVUs: load.preAllocatedVUs,
            maxVUs: load.maxVUs,
          },
  };
  scenario.actions.forEach((action, index) => {
    scenarios[`action_${index}`] = {
      executor: 'per-vu-iterations',
      vus: 1,
      iterations: 1,
      startTime: ms(action.atSeconds),
      maxDuration: '30s',
      exec: 'act',
      env: { ACTION_INDEX: String(index) },
    };
  });
  const t = scenario.thresholds;
  /** @type {NonNullable<import('k6/options').Options['thresholds']>} */
  const thresholds = {
    'http_req_duration{api:tracking}': [`p(95)<${t.httpP95Ms}`, `p(99)<${t.httpP99Ms}`],
    'http_req_failed{api:tracking}': [`rate<${t.httpErrorRate}`],
    checks: ['rate>0.99'],
  };
  if (settings.checkIntegrator) {
    thresholds.fast_customer_e2e_p99_seconds = [`max<${t.e2eP99Seconds}`];
    thresholds.integrator_problems = ['count<1'];
  }
  return { scenarios, thresholds, teardownTimeout: `${settings.drainSeconds + 60}s`, setupTimeout: '60s' };
}
