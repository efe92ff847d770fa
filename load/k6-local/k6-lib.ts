/**
 * The pure modules of k6/lib (plain JS with JSDoc types, shared with the k6 scripts), loaded from Node with
 * TypeScript types and a runtime check, so the local driver runs exactly the shapes k6 runs.
 */
import { z } from 'zod';

const action = z.object({
  atSeconds: z.number().nonnegative(),
  customer: z.string(),
  behavior: z.record(z.string(), z.number()),
  label: z.string(),
});
const constantLoad = z.object({
  executor: z.literal('constant-arrival-rate'),
  rate: z.number().positive(),
  durationSeconds: z.number().positive(),
  preAllocatedVUs: z.number().int().positive(),
  maxVUs: z.number().int().positive(),
});
const rampingLoad = z.object({
  executor: z.literal('ramping-arrival-rate'),
  startRate: z.number().nonnegative(),
  stages: z
    .array(z.object({ durationSeconds: z.number().positive(), target: z.number().nonnegative() }))
    .min(1),
  preAllocatedVUs: z.number().int().positive(),
  maxVUs: z.number().int().positive(),
});
export const scenarioSchema = z.object({
  name: z.string(),
  description: z.string(),
  load: z.discriminatedUnion('executor', [constantLoad, rampingLoad]),
  actions: z.array(action),
  fastCustomers: z.array(z.string()),
  breakerClosedAtEnd: z.array(z.string()),
  thresholds: z.object({
    httpP95Ms: z.number().positive(),
    httpP99Ms: z.number().positive(),
    httpErrorRate: z.number().min(0).max(1),
    e2eP99Seconds: z.number().positive(),
  }),
});

export type Scenario = z.infer<typeof scenarioSchema>;
export type Load = Scenario['load'];
export type ScenarioAction = z.infer<typeof action>;

export interface Bucket {
  le: number;
  count: number;
}

/** The API of k6/lib/prometheus.js. */
export interface PrometheusLib {
  histogramBuckets(text: string, metric: string, byLabel: string): Record<string, Bucket[]>;
  bucketsDelta(after: Bucket[], before: Bucket[] | undefined): Bucket[];
  histogramQuantile(q: number, buckets: Bucket[]): number;
  sampleValue(text: string, metric: string, labels: Record<string, string>): number | null;
}

/** The API of k6/lib/shapes.js. */
export interface ShapesLib {
  scenarios: Record<string, Scenario>;
  scaleScenario(scenario: Scenario, durationSeconds: number): Scenario;
  loadDurationSeconds(load: Load): number;
}

/** What k6/lib/options.js builds (the subset of k6's Options it uses). */
export interface K6Options {
  scenarios: Record<string, Record<string, unknown>>;
  thresholds: Record<string, string[]>;
  teardownTimeout: string;
  setupTimeout: string;
}

export type K6OptionsBuilder = (
  scenario: Scenario,
  settings: { checkIntegrator: boolean; drainSeconds: number },
) => K6Options;

const K6_LIB = new URL('../../k6/lib/', import.meta.url);

async function importK6Lib(file: string): Promise<Record<string, unknown>> {
  return (await import(new URL(file, K6_LIB).href)) as Record<string, unknown>;
}

function fn<T>(module: Record<string, unknown>, name: string, file: string): T {
  const value = module[name];
  if (typeof value !== 'function') throw new Error(`k6/lib/${file} does not export a function ${name}()`);
  return value as T;
}

export async function loadShapes(): Promise<ShapesLib> {
  const module = await importK6Lib('shapes.js');
  const scenarios = z.record(z.string(), scenarioSchema).parse(module.SCENARIOS);
  const scale = fn<(s: Scenario, d: number) => unknown>(module, 'scaleScenario', 'shapes.js');
  return {
    scenarios,
    scaleScenario: (scenario, durationSeconds) => scenarioSchema.parse(scale(scenario, durationSeconds)),
    loadDurationSeconds: fn(module, 'loadDurationSeconds', 'shapes.js'),
  };
}

export async function loadPrometheus(): Promise<PrometheusLib> {
  const module = await importK6Lib('prometheus.js');
  return {
    histogramBuckets: fn(module, 'histogramBuckets', 'prometheus.js'),
    bucketsDelta: fn(module, 'bucketsDelta', 'prometheus.js'),
    histogramQuantile: fn(module, 'histogramQuantile', 'prometheus.js'),
    sampleValue: fn(module, 'sampleValue', 'prometheus.js'),
  };
}

export async function loadK6Options(): Promise<K6OptionsBuilder> {
  return fn<K6OptionsBuilder>(await importK6Lib('options.js'), 'k6Options', 'options.js');
}
