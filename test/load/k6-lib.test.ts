/** The pure parts of k6/lib (shared with the Node driver): scenario shapes and the /metrics arithmetic. */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadK6Options, loadPrometheus, loadShapes } from '../../load/k6-local/k6-lib.ts';
import type { Bucket, K6OptionsBuilder, PrometheusLib, ShapesLib } from '../../load/k6-local/k6-lib.ts';

let prom: PrometheusLib;
let shapes: ShapesLib;
let k6Options: K6OptionsBuilder;

beforeAll(async () => {
  prom = await loadPrometheus();
  shapes = await loadShapes();
  k6Options = await loadK6Options();
});

const METRICS = `# HELP integrator_end_to_end_seconds From commit to 2xx.
# TYPE integrator_end_to_end_seconds histogram
integrator_end_to_end_seconds_bucket{le="0.1",customer="customer-1"} 10
integrator_end_to_end_seconds_bucket{le="0.5",customer="customer-1"} 60
integrator_end_to_end_seconds_bucket{le="1",customer="customer-1"} 90
integrator_end_to_end_seconds_bucket{le="5",customer="customer-1"} 100
integrator_end_to_end_seconds_bucket{le="+Inf",customer="customer-1"} 100
integrator_end_to_end_seconds_sum{customer="customer-1"} 42
integrator_end_to_end_seconds_count{customer="customer-1"} 100
integrator_end_to_end_seconds_bucket{le="0.1",customer="customer-2"} 0
integrator_end_to_end_seconds_bucket{le="60",customer="customer-2"} 3
integrator_end_to_end_seconds_bucket{le="+Inf",customer="customer-2"} 4
# TYPE integrator_circuit_state gauge
integrator_circuit_state{customer="customer-1"} 0
integrator_circuit_state{customer="customer-3"} 2
weird_metric{label="a \\"quoted\\" value, with comma",other="x"} 7
`;

describe('k6/lib/prometheus.js', () => {
  it('reads histogram buckets per label value, sorted by le', () => {
    const buckets = prom.histogramBuckets(METRICS, 'integrator_end_to_end_seconds', 'customer');
    expect(Object.keys(buckets).sort()).toEqual(['customer-1', 'customer-2']);
    expect(buckets['customer-1']).toEqual([
      { le: 0.1, count: 10 },
      { le: 0.5, count: 60 },
      { le: 1, count: 90 },
      { le: 5, count: 100 },
      { le: Infinity, count: 100 },
    ]);
  });

  const b = (...pairs: [number, number][]): Bucket[] => pairs.map(([le, count]) => ({ le, count }));

  it.each([
    // q, buckets, expected — as PromQL histogram_quantile()
    [0.5, b([0.1, 10], [0.5, 60], [1, 90], [5, 100], [Infinity, 100]), 0.42],
    [0.99, b([0.1, 10], [0.5, 60], [1, 90], [5, 100], [Infinity, 100]), 4.6],
    [0.05, b([0.1, 10], [0.5, 60], [Infinity, 60]), 0.03], // rank 3 of 60 → 3/10 into (0, 0.1]
    [0.99, b([0.1, 0], [60, 3], [Infinity, 4]), 60], // rank in +Inf → highest finite bound
    [0.5, b([1, 0], [Infinity, 0]), Number.NaN], // no observations
    [0.5, [], Number.NaN],
  ])('quantile %f', (q, buckets, expected) => {
    const value = prom.histogramQuantile(q, buckets);
    if (Number.isNaN(expected)) expect(value).toBeNaN();
    else expect(value).toBeCloseTo(expected, 9);
  });

  it('subtracts an earlier scrape, bucket by bucket', () => {
    const before = b([0.1, 5], [1, 8], [Infinity, 10]);
    const after = b([0.1, 5], [1, 18], [Infinity, 30]);
    expect(prom.bucketsDelta(after, before)).toEqual(b([0.1, 0], [1, 10], [Infinity, 20]));
    expect(prom.bucketsDelta(after, undefined)).toEqual(after);
    // Only the new observations count: 10 of 20 ≤ 1 s, so the p99 lies in (1, +Inf] → 1.
    expect(prom.histogramQuantile(0.99, prom.bucketsDelta(after, before))).toBe(1);
  });

  it('finds a gauge by labels, including escaped label values', () => {
    expect(prom.sampleValue(METRICS, 'integrator_circuit_state', { customer: 'customer-3' })).toBe(2);
    expect(prom.sampleValue(METRICS, 'integrator_circuit_state', { customer: 'customer-9' })).toBeNull();
    expect(
      prom.sampleValue(METRICS, 'weird_metric', { label: 'a "quoted" value, with comma', other: 'x' }),
    ).toBe(7);
  });
});

describe('k6/lib/shapes.js', () => {
  it('has the five scenarios, each valid', () => {
    expect(Object.keys(shapes.scenarios).sort()).toEqual([
      'breaker',
      'slow-customer',
      'soak',
      'spike',
      'steady',
    ]);
    for (const [name, scenario] of Object.entries(shapes.scenarios)) expect(scenario.name).toBe(name);
  });

  it('slow-customer slows customer-2 to 30 s; breaker fails customer-3 for 30 s and recovers it', () => {
    const slow = shapes.scenarios['slow-customer'];
    expect(slow?.actions.at(-1)).toMatchObject({ customer: 'customer-2', behavior: { latencyMs: 30000 } });
    expect(slow?.fastCustomers).not.toContain('customer-2');
    const breaker = shapes.scenarios.breaker;
    expect(breaker?.actions.map((a) => [a.atSeconds, a.customer, a.behavior])).toEqual([
      [30, 'customer-3', { errorRate: 1 }],
      [60, 'customer-3', { errorRate: 0 }],
    ]);
    expect(breaker?.breakerClosedAtEnd).toEqual(['customer-3']);
  });

  it('scales a scenario in time, keeping its rates', () => {
    const spike = shapes.scenarios.spike;
    if (!spike) throw new Error('no spike');
    const short = shapes.scaleScenario(spike, 26);
    expect(shapes.loadDurationSeconds(short.load)).toBeCloseTo(26, 9);
    expect(
      short.load.executor === 'ramping-arrival-rate' ? short.load.stages.map((s) => s.target) : [],
    ).toEqual([5, 50, 50, 5, 5]);
    const breaker = shapes.scenarios.breaker;
    if (!breaker) throw new Error('no breaker');
    expect(shapes.scaleScenario(breaker, 18).actions.map((a) => a.atSeconds)).toEqual([3, 6]);
  });
});

describe('k6/lib/options.js', () => {
  const settings = { checkIntegrator: true, drainSeconds: 15 };

  it('steady: one constant-arrival-rate scenario and the thresholds', () => {
    const steady = shapes.scenarios.steady;
    if (!steady) throw new Error('no steady');
    expect(k6Options(steady, settings)).toEqual({
      scenarios: {
        journeys: {
          executor: 'constant-arrival-rate',
          rate: 10,
          timeUnit: '1s',
          duration: '300000ms',
          preAllocatedVUs: 20,
          maxVUs: 100,
        },
      },
      thresholds: {
        'http_req_duration{api:tracking}': ['p(95)<250', 'p(99)<500'],
        'http_req_failed{api:tracking}': ['rate<0.01'],
        checks: ['rate>0.99'],
        fast_customer_e2e_p99_seconds: ['max<5'],
        integrator_problems: ['count<1'],
      },
      teardownTimeout: '75s',
      setupTimeout: '60s',
    });
  });

  it('breaker: a single-shot `act` scenario per behaviour change, at its time', () => {
    const breaker = shapes.scenarios.breaker;
    if (!breaker) throw new Error('no breaker');
    const options = k6Options(breaker, settings);
    expect(Object.keys(options.scenarios)).toEqual(['journeys', 'action_0', 'action_1']);
    expect(options.scenarios.action_1).toEqual({
      executor: 'per-vu-iterations',
      vus: 1,
      iterations: 1,
      startTime: '60000ms',
      maxDuration: '30s',
      exec: 'act',
      env: { ACTION_INDEX: '1' },
    });
  });

  it('spike: ramping stages, scaled in milliseconds; no /metrics thresholds when that check is off', () => {
    const spike = shapes.scenarios.spike;
    if (!spike) throw new Error('no spike');
    const options = k6Options(shapes.scaleScenario(spike, 26), { checkIntegrator: false, drainSeconds: 0 });
    expect(options.scenarios.journeys).toMatchObject({
      executor: 'ramping-arrival-rate',
      startRate: 5,
      stages: [
        { duration: '6000ms', target: 5 },
        { duration: '1000ms', target: 50 },
        { duration: '6000ms', target: 50 },
        { duration: '1000ms', target: 5 },
        { duration: '12000ms', target: 5 },
      ],
    });
    expect(Object.keys(options.thresholds)).not.toContain('fast_customer_e2e_p99_seconds');
  });
});
