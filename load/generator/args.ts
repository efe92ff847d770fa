/** Command line of `npm run load`: parsed once, every problem reported at once. */
import { parseArgs } from 'node:util';
import { MAX_HOPS, MIN_HOPS } from './journey.ts';

/** As the seed pipeline's `main.py -Q <quantity>`. */
export const DEFAULT_QUANTITY = 10;
/** As the seed web-shop's updater: of every 10 customers added, 5 change their address and 1 is deleted. */
export const DEFAULT_UPDATES = 0.5;
export const DEFAULT_DELETES = 0.1;

export const USAGE = `Usage: npm run load -- [-Q N] [options]
       npm run load -- --forever [options]

Writes package journeys (Package Posted → In Transit × hops → Out for Delivery → Package Delivered) into
package_status of DATABASE_URL: inserts, and like a real carrier some reroutes (an UPDATE of a package's
latest row) and cancellations (a DELETE of its rows).

  -Q, --quantity N   number of packages, default ${DEFAULT_QUANTITY} (each inserts hops + 3 rows unless cancelled)
  --forever          keep writing until stopped (Ctrl-C / SIGTERM finishes the packages under way)
  --updates P        share of packages rerouted once on the way (0–1), default ${DEFAULT_UPDATES}
  --deletes P        share of packages cancelled on the way, their rows deleted (0–1), default ${DEFAULT_DELETES}
  --rate R           changes (rows written) per second, default 100
  --customers LIST   comma-separated customer ids, default customer-1,customer-2,customer-3
  --hops H           'In Transit' steps per package (${MIN_HOPS}–${MAX_HOPS}), default 2–5 at random
  --seed S           random seed (integer), default: random
  --batch-size B     rows per INSERT, default about rate/10
  --prefix P         tracking-code prefix, default PKG-<run tag>  (codes are P-000001, P-000002, …)
  --help             this text`;

export interface GeneratorArgs {
  quantity: number | null;
  /** Chance per package of a reroute (UPDATE) and of a cancellation (DELETE). */
  changes: { reroute: number; cancel: number };
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
        quantity: { type: 'string', short: 'Q' },
        updates: { type: 'string' },
        deletes: { type: 'string' },
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
  const given = positiveInteger('quantity', values.quantity, problems);
  if (values.forever && values.quantity !== undefined) problems.push('use either --quantity or --forever');
  const quantity = values.forever ? null : values.quantity === undefined ? DEFAULT_QUANTITY : given;

  const share = (name: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) {
      problems.push(`--${name} must be a number from 0 to 1, got '${raw}'`);
      return fallback;
    }
    return n;
  };
  const changes = {
    reroute: share('updates', values.updates, DEFAULT_UPDATES),
    cancel: share('deletes', values.deletes, DEFAULT_DELETES),
  };

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
  return { kind: 'run', args: { quantity, changes, rate, customers, hops, seed, batchSize, prefix } };
}
