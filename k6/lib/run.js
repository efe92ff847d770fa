// @ts-check
/**
 * Turns a scenario shape (shapes.js) into what a k6 script exports: options (the journeys' executor, one
 * single-shot scenario per behaviour change, thresholds), setup, the iteration, `act` and teardown.
 *
 * Environment (all optional):
 *   BASE_URL          tracking API            default http://127.0.0.1:13001 (compose profile `load`)
 *   MOCKS_URL         mock customers          default http://127.0.0.1:14000
 *   INTEGRATOR_URL    integrator /metrics      default http://127.0.0.1:18080
 *   CUSTOMERS         customer ids to create packages for, default customer-1,customer-2,customer-3
 *   DURATION_SECONDS  stretch/squeeze the whole scenario to this length
 *   DRAIN_SECONDS     wait before the final /metrics check, default 15
 *   CHECK_INTEGRATOR  'false' to skip the /metrics checks (tracking API only)
 */
import { sleep } from 'k6';
import http from 'k6/http';
import { Counter, Trend } from 'k6/metrics';
import { runJourney } from './journey.js';
import { bucketsDelta, histogramBuckets, histogramQuantile, sampleValue } from './prometheus.js';
import { k6Options } from './options.js';
import { scaleScenario } from './shapes.js';

/** @typedef {import('./shapes.js').Scenario} Scenario */
/** @typedef {{ metricsBefore: string | null, behaviors: Record<string, string> }} SetupData */

const env = {
  baseUrl: __ENV.BASE_URL || 'http://127.0.0.1:13001',
  mocksUrl: __ENV.MOCKS_URL || 'http://127.0.0.1:14000',
  integratorUrl: __ENV.INTEGRATOR_URL || 'http://127.0.0.1:18080',
  customers: (__ENV.CUSTOMERS || 'customer-1,customer-2,customer-3').split(','),
  durationSeconds: __ENV.DURATION_SECONDS ? Number(__ENV.DURATION_SECONDS) : null,
  drainSeconds: __ENV.DRAIN_SECONDS ? Number(__ENV.DRAIN_SECONDS) : 15,
  checkIntegrator: __ENV.CHECK_INTEGRATOR !== 'false',
};

// Custom metrics must be created in the init context.
const fastE2eP99 = new Trend('fast_customer_e2e_p99_seconds');
const integratorProblems = new Counter('integrator_problems');

/** @returns {string | null} */
function scrapeIntegrator() {
  const res = http.get(`${env.integratorUrl}/metrics`, { tags: { api: 'integrator' } });
  return res.status === 200 && typeof res.body === 'string' ? res.body : null;
}

/** @param {string} message */
function problem(message) {
  console.error(`integrator check failed: ${message}`);
  integratorProblems.add(1);
}

/** @param {Scenario} shape */
export function createRun(shape) {
  const scenario = env.durationSeconds ? scaleScenario(shape, env.durationSeconds) : shape;
  return {
    options: k6Options(scenario, { checkIntegrator: env.checkIntegrator, drainSeconds: env.drainSeconds }),

    /** @returns {SetupData} */
    setup() {
      /** @type {Record<string, string>} */
      const behaviors = {};
      for (const customer of new Set(scenario.actions.map((a) => a.customer))) {
        const res = http.get(`${env.mocksUrl}/customers/${customer}/behavior`, { tags: { api: 'mocks' } });
        if (res.status === 200 && typeof res.body === 'string') behaviors[customer] = res.body;
      }
      return { metricsBefore: env.checkIntegrator ? scrapeIntegrator() : null, behaviors };
    },

    journey() {
      runJourney(env.baseUrl, env.customers);
    },

    /** One behaviour change of the mocks; which one comes from the scenario's ACTION_INDEX. */
    act() {
      const action = scenario.actions[Number(__ENV.ACTION_INDEX)];
      if (!action) return;
      const res = http.put(
        `${env.mocksUrl}/customers/${action.customer}/behavior`,
        JSON.stringify(action.behavior),
        {
          headers: { 'Content-Type': 'application/json' },
          tags: { api: 'mocks' },
        },
      );
      console.log(
        `${action.label}: PUT ${action.customer} ${JSON.stringify(action.behavior)} → ${res.status}`,
      );
    },

    /** @param {SetupData} data */
    teardown(data) {
      for (const [customer, behavior] of Object.entries(data.behaviors)) {
        http.put(`${env.mocksUrl}/customers/${customer}/behavior`, behavior, {
          headers: { 'Content-Type': 'application/json' },
          tags: { api: 'mocks' },
        });
      }
      if (!env.checkIntegrator) return;
      sleep(env.drainSeconds);
      const after = scrapeIntegrator();
      if (after === null) {
        problem(`GET ${env.integratorUrl}/metrics did not answer 200`);
        return;
      }
      const nowBuckets = histogramBuckets(after, 'integrator_end_to_end_seconds', 'customer');
      const beforeBuckets = data.metricsBefore
        ? histogramBuckets(data.metricsBefore, 'integrator_end_to_end_seconds', 'customer')
        : {};
      for (const customer of scenario.fastCustomers) {
        const buckets = nowBuckets[customer];
        const p99 = buckets ? histogramQuantile(0.99, bucketsDelta(buckets, beforeBuckets[customer])) : NaN;
        if (Number.isNaN(p99)) {
          problem(`no deliveries to ${customer} during the run`);
          continue;
        }
        console.log(
          `${customer}: end-to-end p99 ${p99.toFixed(3)} s (limit ${scenario.thresholds.e2eP99Seconds} s)`,
        );
        fastE2eP99.add(p99, { customer });
      }
      for (const customer of scenario.breakerClosedAtEnd) {
        const state = sampleValue(after, 'integrator_circuit_state', { customer });
        if (state !== 0)
          problem(`${customer}'s circuit is ${state === null ? 'unknown' : `in state ${state}`}, not closed`);
      }
    },
  };
}
