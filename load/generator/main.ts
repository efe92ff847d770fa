/** `npm run load -- [-Q N] [--rate R] …` — see USAGE in args.ts. */
import { randomInt } from 'node:crypto';
import pg from 'pg';
import { USAGE, parseGeneratorArgs } from './args.ts';
import { runGenerator } from './generator.ts';
import type { GeneratorProgress } from './generator.ts';
import { formatProgress, progressReporter } from './progress.ts';

const parsed = parseGeneratorArgs(process.argv.slice(2), {
  seed: randomInt(0, 2 ** 31),
  runTag: Date.now().toString(36).slice(-6).toUpperCase(),
});
if (parsed.kind === 'help') {
  console.log(USAGE);
  process.exit(0);
}
const problems = parsed.kind === 'invalid' ? [...parsed.problems] : [];
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl)
  problems.push('DATABASE_URL is not set (e.g. postgres://postgres:postgres@127.0.0.1:15432/packages)');
if (parsed.kind !== 'run' || problems.length > 0) {
  for (const problem of problems) console.error(`error: ${problem}`);
  console.error(`\n${USAGE}`);
  process.exit(2);
}
const { args } = parsed;

const controller = new AbortController();
let signals = 0;
const onSignal = (signal: NodeJS.Signals): void => {
  signals++;
  if (signals > 1) process.exit(130);
  console.error(`\n${signal}: finishing the packages under way (again to quit at once)`);
  controller.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
const bar = progressReporter(process.stderr);
let last: GeneratorProgress | null = null;
console.error(
  `generating ${args.quantity === null ? 'packages until stopped' : `${args.quantity} packages`} at ${args.rate} events/s ` +
    `for ${args.customers.join(', ')}, ${Math.round(args.changes.reroute * 100)}% rerouted, ` +
    `${Math.round(args.changes.cancel * 100)}% cancelled (seed ${args.seed}, codes ${args.prefix}-NNNNNN)`,
);
try {
  const summary = await runGenerator({
    db: pool,
    quantity: args.quantity,
    rate: args.rate,
    customers: args.customers,
    hops: args.hops,
    changes: args.changes,
    seed: args.seed,
    idPrefix: args.prefix,
    ...(args.batchSize === null ? {} : { batchSize: args.batchSize }),
    signal: controller.signal,
    onProgress: (p) => {
      last = p;
      bar.update(p);
    },
  });
  bar.finish(last);
  console.log(formatProgress(summary));
} catch (error) {
  bar.finish(last);
  console.error(`error: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
