/**
 * `npm run bench [-- --quick] [--only isolation,throughput,…] [--profile] [--json FILE]`
 *
 * Starts the real parts (bench/world.ts), runs each figure (bench/figures/*), and prints one markdown
 * table on stdout (progress goes to stderr). --quick: a few seconds per figure, one repetition (what
 * `npm test` runs); figures in NOT_QUICK run there only when named with --only. --profile: an extra repetition of throughput and added latency under `node --cpu-prof`,
 * summarised (bench/profile.ts). --json: every row and the raw measurements, for tests and the docs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import type { Row } from './table.ts';
import { renderTable, verdictOf } from './table.ts';
import { FROM_SOURCE, startWorld } from './world.ts';
import { ROOT } from '../test/harness/integrator.ts';
import type { BenchMode, Figure, FigureResult } from './figures/common.ts';
import { isolation } from './figures/isolation.ts';
import { throughput } from './figures/throughput.ts';
import { addedLatency } from './figures/latency.ts';
import { slowCustomer } from './figures/slow.ts';
import { memory } from './figures/memory.ts';
import { crashLoop } from './figures/crash.ts';
import { brokerOutage, redisOutage, redisWriteErrors } from './figures/outage.ts';
import { rebalanceChurn } from './figures/churn.ts';
import { deliveryLogCost } from './figures/log.ts';
import { scaleout } from './figures/scaleout.ts';

const FIGURES: Record<string, Figure> = {
  isolation,
  throughput,
  latency: addedLatency,
  slow: slowCustomer,
  memory,
  crash: crashLoop,
  churn: rebalanceChurn,
  broker: brokerOutage,
  redis: redisOutage,
  'redis-errors': redisWriteErrors,
  log: deliveryLogCost,
  scaleout,
};

/** Left out of a bare --quick: three integrator processes at once is more than `npm test` can spare. */
const NOT_QUICK = new Set(['scaleout']);

interface Args {
  quick: boolean;
  only: string[];
  profile: boolean;
  json: string | null;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { quick: false, only: Object.keys(FIGURES), profile: false, json: null };
  let named = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--quick') args.quick = true;
    else if (a === '--profile') args.profile = true;
    else if (a === '--only') {
      args.only = (argv[++i] ?? '').split(',').filter(Boolean);
      named = true;
    } else if (a === '--json') args.json = argv[++i] ?? null;
    else {
      console.error(
        `bench: unknown argument ${a}\nusage: bench [--quick] [--only ${Object.keys(FIGURES).join(',')}] [--profile] [--json FILE]`,
      );
      process.exit(2);
    }
  }
  if (args.quick && !named) args.only = args.only.filter((f) => !NOT_QUICK.has(f));
  for (const f of args.only) {
    if (!(f in FIGURES)) {
      console.error(`bench: unknown figure "${f}" (known: ${Object.keys(FIGURES).join(', ')})`);
      process.exit(2);
    }
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
const began = Date.now();
const log = (m: string): void => {
  process.stderr.write(`[bench +${((Date.now() - began) / 1000).toFixed(0)}s] ${m}\n`);
};
const mode: BenchMode = {
  quick: args.quick,
  profileDir: args.profile
    ? join(ROOT, '.bench', 'profiles', new Date().toISOString().replace(/[:.]/g, '-'))
    : null,
  log,
};
const machine = `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}, integrator ${FROM_SOURCE ? 'from source (tsx)' : 'compiled'}`;
log(`${args.quick ? 'quick' : 'full'} run on ${machine}: ${args.only.join(', ')}`);

const world = await startWorld();
const results: Record<string, FigureResult | { error: string }> = {};
const rows: Row[] = [];
const notes: string[] = [];
let failed = false;
try {
  for (const name of args.only) {
    const t = Date.now();
    log(`figure ${name}: start`);
    try {
      const res = await FIGURES[name]!(world, mode);
      results[name] = res;
      rows.push(...res.rows);
      notes.push(...res.notes.map((n) => `${name}: ${n}`));
      log(`figure ${name}: done in ${((Date.now() - t) / 1000).toFixed(0)} s`);
    } catch (err) {
      failed = true;
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      results[name] = { error: message };
      log(`figure ${name}: FAILED: ${message}`);
      rows.push({
        figure: name,
        metric: 'figure failed to run',
        samples: [],
        unit: '',
        digits: 0,
        target: { cmp: '==', bound: 0 },
        targetText: 'runs',
        note: (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 160),
      });
    }
  }
} finally {
  await world.close();
}

const table = renderTable(rows);
const header = `bench ${args.quick ? '(quick)' : '(full)'} ${new Date(began).toISOString()} — ${machine} — ${((Date.now() - began) / 60_000).toFixed(1)} min`;
process.stdout.write(`\n${header}\n\n${table}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
if (args.json) {
  mkdirSync(dirname(args.json), { recursive: true });
  writeFileSync(
    args.json,
    JSON.stringify(
      {
        quick: args.quick,
        startedAt: new Date(began).toISOString(),
        minutes: (Date.now() - began) / 60_000,
        machine,
        table,
        rows: rows.map((r) => ({ ...r, verdict: verdictOf(r) })),
        notes,
        results,
      },
      null,
      2,
    ),
  );
}
process.exit(failed ? 1 : 0);
