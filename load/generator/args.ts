/** Command line of `npm run load`: parsed once, every problem reported at once. */
import { parseArgs } from 'node:util';
import { MAX_HOPS, MIN_HOPS } from './journey.ts';

export const USAGE = `Usage: npm run load -- --quantity N [options]
       npm run load -- --forever [options]

Inserts package journeys (Package Posted → In Transit × hops → Out for Delivery → Package Delivered)
into package_status of DATABASE_URL.

  --quantity N       number of packages (each writes hops + 3 rows)
  --forever          keep writing until stopped (Ctrl-C / SIGTERM finishes the packages under way)
  --rate R           events (rows) per second, default 100
  --customers LIST   comma-separated customer ids, default customer-1,customer-2,customer-3
  --hops H           'In Transit' steps per package (${MIN_HOPS}–${MAX_HOPS}), default 2–5 at random
  --seed S           random seed (integer), default: random
  --batch-size B     rows per INSERT, default about rate/10
  --prefix P         tracking-code prefix, default PKG-<run tag>  (codes are P-000001, P-000002, …)
  --help             this text`;

export interface GeneratorArgs {
  quantity: number | null;
  rate: number;
  customers: string[];
  hops: number | null;
  seed: number;
  batchSize: number | null;
  prefix: string;
}

export type ParsedArgs =
  { kind: 'run'; args: GeneratorArgs } | { kind: 'help' } | { kind: 'invalid'; problems: string[] };

export const DEFAULT_RATE = 100;
export const DEFAULT_CUSTOMERS = ['customer-1', 'customer-2', 'customer-3'];

function positiveInteger(name: string, raw: string | undefined, problems: string[]): number | null {
  if (raw === undefined) return null;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < 1) {
    problems.push(`--${name} must be a positive integer, got '${raw}'`);
    return null;
  }
  return n;
}

/** `defaults` supplies what would otherwise be random (seed, run tag), so tests are deterministic. */
export function parseGeneratorArgs(
  argv: readonly string[],
  defaults: { seed: number; runTag: string },
): ParsedArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        quantity: { type: 'string' },
        forever: { type: 'boolean' },
        rate: { type: 'string' },
        customers: { type: 'string' },
        hops: { type: 'string' },
        seed: { type: 'string' },
        'batch-size': { type: 'string' },
        prefix: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    return { kind: 'invalid', problems: [(error as Error).message] };
  }
  if (values.help) return { kind: 'help' };

  const problems: string[] = [];
  const quantity = positiveInteger('quantity', values.quantity, problems);
  if (values.forever && values.quantity !== undefined) problems.push('use either --quantity or --forever');
  if (!values.forever && values.quantity === undefined)
    problems.push('--quantity N (or --forever) is required');

  let rate = DEFAULT_RATE;
  if (values.rate !== undefined) {
    rate = Number(values.rate);
    if (!Number.isFinite(rate) || rate <= 0)
      problems.push(`--rate must be a positive number, got '${values.rate}'`);
  }

  const customers =
    values.customers === undefined ? DEFAULT_CUSTOMERS : values.customers.split(',').map((c) => c.trim());
  for (const c of customers) {
    if (!/^[a-z0-9-]+$/.test(c)) problems.push(`--customers: '${c}' is not a customer id ([a-z0-9-]+)`);
  }

  const hops = positiveInteger('hops', values.hops, problems);
  if (hops !== null && hops > MAX_HOPS) problems.push(`--hops must be at most ${MAX_HOPS}, got ${hops}`);

  let seed = defaults.seed;
  if (values.seed !== undefined) {
    seed = Number(values.seed);
    if (!/^-?\d+$/.test(values.seed) || !Number.isSafeInteger(seed)) {
      problems.push(`--seed must be an integer, got '${values.seed}'`);
    }
  }

  const batchSize = positiveInteger('batch-size', values['batch-size'], problems);
  if (batchSize !== null && batchSize > 5000)
    problems.push(`--batch-size must be at most 5000, got ${batchSize}`);

  const prefix = values.prefix ?? `PKG-${defaults.runTag}`;
  if (!/^[A-Za-z0-9-]{1,40}$/.test(prefix)) problems.push(`--prefix must be 1–40 letters, digits or '-'`);

  if (problems.length > 0) return { kind: 'invalid', problems };
  return { kind: 'run', args: { quantity, rate, customers, hops, seed, batchSize, prefix } };
}
