/** The generator against a real Postgres, with compose's own init script. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGenerator } from '../../load/generator/generator.ts';
import type { GeneratorProgress } from '../../load/generator/generator.ts';
import { journeyProblems } from '../../load/generator/journey.ts';
import { startPostgres } from '../harness/postgres.ts';
import type { PostgresHarness } from '../harness/postgres.ts';
import { allRows, createPackageStatusDatabase } from './support.ts';
import type { StoredRow } from './support.ts';

const execFileAsync = promisify(execFile);
const repoRoot = new URL('../../', import.meta.url).pathname;

let server: PostgresHarness;

beforeAll(async () => {
  server = await startPostgres();
});

afterAll(async () => {
  await server?.stop();
});

async function withDatabase<T>(work: (pool: pg.Pool, url: string) => Promise<T>): Promise<T> {
  const url = await createPackageStatusDatabase(server);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  try {
    return await work(pool, url);
  } finally {
    await pool.end();
  }
}

function byPackage(rows: StoredRow[]): Map<string, StoredRow[]> {
  const map = new Map<string, StoredRow[]>();
  for (const row of rows) map.set(row.package_id, [...(map.get(row.package_id) ?? []), row]);
  return map;
}

describe('runGenerator', () => {
  it('inserts every journey completely, each package strictly in order', async () => {
    await withDatabase(async (pool) => {
      const progress: GeneratorProgress[] = [];
      const summary = await runGenerator({
        db: pool,
        quantity: 40,
        rate: 5000,
        customers: ['customer-1', 'customer-2', 'customer-3'],
        hops: null,
        seed: 11,
        idPrefix: 'PKG-T1',
        batchSize: 25,
        onProgress: (p) => progress.push(p),
      });
      const rows = await allRows(pool);
      expect(summary.packagesCompleted).toBe(40);
      expect(summary.events).toBe(rows.length);
      expect(progress.at(-1)?.events).toBe(rows.length);

      const packages = byPackage(rows);
      expect(packages.size).toBe(40);
      expect([...packages.keys()].sort()[0]).toBe('PKG-T1-000001');
      for (const [, steps] of packages) {
        expect(journeyProblems(steps)).toEqual([]);
        for (let i = 1; i < steps.length; i++) {
          const previous = steps[i - 1] as StoredRow;
          const current = steps[i] as StoredRow;
          expect(BigInt(current.id)).toBeGreaterThan(BigInt(previous.id));
          // One step per package per INSERT: a later step is a later transaction.
          expect(current.created_at.getTime()).toBeGreaterThanOrEqual(previous.created_at.getTime());
        }
      }
      expect(new Set(rows.map((r) => r.customer_id))).toEqual(
        new Set(['customer-1', 'customer-2', 'customer-3']),
      );
    });
  });

  it('fixes the hops when asked: hops + 3 rows per package', async () => {
    await withDatabase(async (pool) => {
      await runGenerator({
        db: pool,
        quantity: 12,
        rate: 5000,
        customers: ['customer-2'],
        hops: 4,
        seed: 3,
        idPrefix: 'PKG-T2',
      });
      const counts = await pool.query<{ n: string }>(
        'SELECT count(*) AS n FROM package_status GROUP BY package_id ORDER BY package_id',
      );
      expect(counts.rows.map((r) => Number(r.n))).toEqual(Array<number>(12).fill(7));
      const customers = await pool.query('SELECT DISTINCT customer_id FROM package_status');
      expect(customers.rows).toEqual([{ customer_id: 'customer-2' }]);
    });
  });

  it('reroutes (UPDATE) and cancels (DELETE) packages as asked; what stays in the table is whole journeys', async () => {
    await withDatabase(async (pool) => {
      const summary = await runGenerator({
        db: pool,
        quantity: 60,
        rate: 5000,
        customers: ['customer-1', 'customer-2'],
        hops: null,
        changes: { reroute: 0.5, cancel: 0.2 },
        seed: 21,
        idPrefix: 'PKG-T5',
        batchSize: 20,
      });
      const rows = await allRows(pool);
      expect(summary.packagesCompleted).toBe(60);
      expect(summary.packagesCancelled).toBeGreaterThan(0);
      expect(summary.updated).toBeGreaterThan(0);
      expect(summary.deleted).toBeGreaterThan(0);
      expect(summary.events).toBe(summary.inserted + summary.updated + summary.deleted);
      expect(rows.length).toBe(summary.inserted - summary.deleted);
      const packages = byPackage(rows);
      expect(packages.size).toBe(60 - summary.packagesCancelled);
      // A rerouted package's next step was written starting at its new hub: its chain holds only because
      // the row before it was UPDATEd.
      for (const steps of packages.values()) expect(journeyProblems(steps)).toEqual([]);
    });
  });

  it('keeps roughly to the rate (generous bounds)', async () => {
    await withDatabase(async (pool) => {
      // 30 packages × (1 hop + 3) = 120 events at 60/s: about 2 s.
      const started = performance.now();
      const summary = await runGenerator({
        db: pool,
        quantity: 30,
        rate: 60,
        customers: ['customer-1'],
        hops: 1,
        seed: 5,
        idPrefix: 'PKG-T3',
      });
      const seconds = (performance.now() - started) / 1000;
      expect(summary.events).toBe(120);
      expect(seconds).toBeGreaterThan(1.4);
      expect(seconds).toBeLessThan(15);
    });
  });

  it('on abort starts no new package and finishes those under way', async () => {
    await withDatabase(async (pool) => {
      const controller = new AbortController();
      const run = runGenerator({
        db: pool,
        quantity: null,
        rate: 200,
        customers: ['customer-1'],
        hops: null,
        seed: 8,
        idPrefix: 'PKG-T4',
        concurrency: 20,
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(), 400);
      const summary = await run;
      expect(summary.packagesStarted).toBeGreaterThan(0);
      expect(summary.packagesCompleted).toBe(summary.packagesStarted);
      const packages = byPackage(await allRows(pool));
      expect(packages.size).toBe(summary.packagesStarted);
      for (const steps of packages.values()) expect(journeyProblems(steps)).toEqual([]);
    });
  });
});

describe('npm run load (the CLI)', () => {
  it('inserts N packages from DATABASE_URL and prints a summary', async () => {
    await withDatabase(async (pool, url) => {
      const { stdout } = await execFileAsync(
        process.execPath,
        [
          '--import',
          'tsx',
          'load/generator/main.ts',
          '--quantity',
          '5',
          '--rate',
          '1000',
          '--hops',
          '2',
          '--updates',
          '0',
          '--deletes',
          '0',
        ],
        { cwd: repoRoot, env: { ...process.env, DATABASE_URL: url }, timeout: 60_000 },
      );
      expect(stdout).toMatch(/5\/5 packages · 25 events/);
      expect((await allRows(pool)).length).toBe(25);
    });
  });

  it('without -Q writes 10 packages, with updates and deletes, and shows progress on a non-terminal stderr', async () => {
    await withDatabase(async (pool, url) => {
      const { stdout, stderr } = await execFileAsync(
        process.execPath,
        ['--import', 'tsx', 'load/generator/main.ts', '--rate', '2000', '--seed', '4', '--deletes', '0.3'],
        { cwd: repoRoot, env: { ...process.env, DATABASE_URL: url }, timeout: 60_000 },
      );
      expect(stdout).toMatch(
        /^\[#+\] 10\/10 packages \(\d+ cancelled\) · \d+ events \(\d+ inserted, \d+ updated, \d+ deleted\)/,
      );
      expect(stderr).toMatch(/generating 10 packages .* 50% rerouted, 30% cancelled/);
      expect(stderr).toContain('10/10 packages'); // the progress line, plain (stderr is a pipe here)
      expect(stderr).not.toContain('\r');
      const rows = await allRows(pool);
      for (const steps of byPackage(rows).values()) expect(journeyProblems(steps)).toEqual([]);
    });
  });

  it('exits 2 listing every problem', async () => {
    const failure = await execFileAsync(
      process.execPath,
      ['--import', 'tsx', 'load/generator/main.ts', '--quantity', '0', '--rate', 'fast'],
      { cwd: repoRoot, env: { ...process.env, DATABASE_URL: '' }, timeout: 60_000 },
    ).then(
      () => null,
      (error: unknown) => error as { code: number; stderr: string },
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toMatch(/--quantity must be a positive integer/);
    expect(failure?.stderr).toMatch(/--rate must be a positive number/);
    expect(failure?.stderr).toMatch(/DATABASE_URL is not set/);
  });
});
