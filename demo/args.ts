/** Command line of `npm run demo`: parsed once, every problem reported at once. Pure. */
import { parseArgs } from 'node:util';

export const USAGE = `Usage: npm run demo -- [options]

Starts the mock customers (customer-1 300 ms, customer-2 30 s, customer-3 300 ms), the integrator and a
generator of package journeys, shows each customer's deliveries live and ends with a summary.

  --duration N     seconds to run, default 60 (Ctrl-C ends earlier, with the summary)
  --rate R         events per second over all customers, default 20
  --packages N     stop after N packages (journeys of 4–8 events); default: no limit
  --partitions N   partitions of the in-memory topic, default 6 (ignored with KAFKA_BROKERS)
  --seed S         random seed (integer), default: random
  --help           this text

Environment: KAFKA_BROKERS (use Kafka instead of the in-memory topic), REDIS_URL (Redis store instead of
memory), MOCK_PORT (mock customers' port, default: a free one), PORT (integrator HTTP, default: a free one),
LOG_LEVEL (integrator logs on stderr, default error). See demo/README.md.`;

export interface DemoArgs {
  durationS: number;
  rate: number;
  packages: number | null;
  partitions: number;
  seed: number;
}

export type ParsedDemoArgs =
  { kind: 'run'; args: DemoArgs } | { kind: 'help' } | { kind: 'invalid'; problems: string[] };

export const DEFAULT_DURATION_S = 60;
export const DEFAULT_RATE = 20;
export const DEFAULT_PARTITIONS = 6;

function positiveInteger(
  name: string,
  raw: string | undefined,
  max: number,
  problems: string[],
): number | null {
  if (raw === undefined) return null;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1 || n > max) {
    problems.push(`--${name} must be an integer from 1 to ${max}, got '${raw}'`);
    return null;
  }
  return n;
}

/** `defaultSeed` supplies what would otherwise be random, so tests are deterministic. */
export function parseDemoArgs(argv: readonly string[], defaultSeed: number): ParsedDemoArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        duration: { type: 'string' },
        rate: { type: 'string' },
        packages: { type: 'string' },
        partitions: { type: 'string' },
        seed: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    return { kind: 'invalid', problems: [(error as Error).message] };
  }
  if (values.help) return { kind: 'help' };

  const problems: string[] = [];
  const durationS = positiveInteger('duration', values.duration, 86_400, problems) ?? DEFAULT_DURATION_S;
  let rate = DEFAULT_RATE;
  if (values.rate !== undefined) {
    rate = Number(values.rate);
    if (!/^\d+(\.\d+)?$/.test(values.rate) || !(rate > 0) || rate > 100_000) {
      problems.push(`--rate must be a number above 0 and at most 100000, got '${values.rate}'`);
    }
  }
  const packages = positiveInteger('packages', values.packages, 10_000_000, problems);
  const partitions = positiveInteger('partitions', values.partitions, 1024, problems) ?? DEFAULT_PARTITIONS;
  let seed = defaultSeed;
  if (values.seed !== undefined) {
    seed = Number(values.seed);
    if (!/^-?\d+$/.test(values.seed) || !Number.isSafeInteger(seed)) {
      problems.push(`--seed must be an integer, got '${values.seed}'`);
    }
  }
  if (problems.length > 0) return { kind: 'invalid', problems };
  return { kind: 'run', args: { durationS, rate, packages, partitions, seed } };
}

/**
 * When generation stops: a few seconds before the end, so the fast customers have time to take their last
 * events before the summary (the slow one is not expected to catch up).
 */
export function generationWindowMs(durationS: number): number {
  const total = durationS * 1000;
  return total - Math.min(3000, Math.floor(total / 4));
}
