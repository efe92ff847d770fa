/**
 * `npm run k6:local -- <scenario> [--duration 30s] [--base-url URL] [--mocks-url URL] [--seed N] [--max-iterations N]`
 *
 * Runs a k6 scenario's shape from Node against the tracking API on this machine (no k6 binary needed).
 * Exit code 0 when the HTTP thresholds hold, 1 when not, 2 for a bad command line.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_LOCAL_DURATION_SECONDS, formatSummary, runLocalScenario } from './driver.ts';
import { parseDuration } from './schedule.ts';

const USAGE = `Usage: npm run k6:local -- <steady|spike|slow-customer|breaker|soak> [options]

  --duration D         scale the scenario to last D (30s, 2m, …); default: the shape's, at most ${DEFAULT_LOCAL_DURATION_SECONDS}s
  --base-url URL       tracking API (npm run tracking-api), default $BASE_URL or http://127.0.0.1:3000
  --mocks-url URL      mock customers, for the scenario's behaviour changes, default $MOCKS_URL (none: skipped)
  --customers LIST     default customer-1,customer-2,customer-3
  --seed N             default 1
  --max-iterations N   default 100000`;

function fail(problems: string[]): never {
  for (const p of problems) console.error(`error: ${p}`);
  console.error(`\n${USAGE}`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      duration: { type: 'string' },
      'base-url': { type: 'string' },
      'mocks-url': { type: 'string' },
      customers: { type: 'string' },
      seed: { type: 'string' },
      'max-iterations': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
} catch (error) {
  fail([(error as Error).message]);
}
const { values, positionals } = parsed;
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const problems: string[] = [];
if (positionals.length !== 1) problems.push('name exactly one scenario');
let durationSeconds: number | undefined;
if (values.duration !== undefined) {
  try {
    durationSeconds = parseDuration(values.duration);
  } catch (error) {
    problems.push((error as Error).message);
  }
}
const seed = values.seed === undefined ? 1 : Number(values.seed);
if (!Number.isSafeInteger(seed)) problems.push(`--seed must be an integer, got '${values.seed}'`);
const maxIterations = values['max-iterations'] === undefined ? undefined : Number(values['max-iterations']);
if (maxIterations !== undefined && !(Number.isSafeInteger(maxIterations) && maxIterations > 0)) {
  problems.push(`--max-iterations must be a positive integer, got '${values['max-iterations']}'`);
}
if (problems.length > 0) fail(problems);

const controller = new AbortController();
process.once('SIGINT', () => controller.abort());
const mocksUrl = values['mocks-url'] ?? process.env.MOCKS_URL;

try {
  const summary = await runLocalScenario({
    scenario: positionals[0] as string,
    baseUrl: values['base-url'] ?? process.env.BASE_URL ?? 'http://127.0.0.1:3000',
    ...(mocksUrl === undefined ? {} : { mocksUrl }),
    ...(durationSeconds === undefined ? {} : { durationSeconds }),
    ...(maxIterations === undefined ? {} : { maxIterations }),
    ...(values.customers === undefined ? {} : { customers: values.customers.split(',') }),
    seed,
    signal: controller.signal,
  });
  console.log(formatSummary(summary));
  process.exitCode = summary.thresholdFailures.length === 0 ? 0 : 1;
} catch (error) {
  console.error(`error: ${(error as Error).message}`);
  process.exitCode = 2;
}
