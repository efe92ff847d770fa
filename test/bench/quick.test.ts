/**
 * `npm run bench -- --quick` end to end, so the bench cannot rot: every figure runs against the real parts
 * (mock Kafka cluster, redis-server, mock customers and integrator processes), the table is well formed,
 * and the crash loop and outages lose nothing. Timing targets are NOT asserted (a loaded CI machine may
 * miss them); only generous sanity bounds are.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { TABLE_HEADER, parseTable } from '../../bench/table.ts';
import type { Row, Verdict } from '../../bench/table.ts';
import { ROOT } from '../harness/integrator.ts';

const execFileAsync = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'bench-quick-'));
// A failed run keeps its directory: the table, the bench's progress log (stderr) and every integrator's
// output (BENCH_INTEGRATOR_LOG), so a rare failure can be read afterwards instead of rerun.
let keep = false;
afterAll(() => {
  if (!keep) rmSync(dir, { recursive: true, force: true });
});

interface Output {
  quick: boolean;
  table: string;
  rows: (Row & { verdict: Verdict })[];
}

const FIGURES = [
  'isolation',
  'throughput',
  'added latency',
  'slow customer',
  'memory',
  'crash loop',
  'rebalance churn',
  'broker outage',
  'Redis outage',
  'Redis write errors',
  'delivery log',
];

describe('bench --quick', () => {
  it('runs every figure end to end and prints a well-formed table with nothing lost', async () => {
    const json = join(dir, 'quick.json');
    let progress = '';
    onTestFailed(() => {
      keep = true;
      console.error(`bench --quick: its output is kept in ${dir}\n${progress.slice(-12_000)}`);
    });
    let stdout: string;
    try {
      let stderr: string;
      ({ stdout, stderr } = await execFileAsync(
        process.execPath,
        ['--import', 'tsx', join(ROOT, 'bench/main.ts'), '--quick', '--json', json],
        {
          cwd: ROOT,
          timeout: 600_000,
          maxBuffer: 16 * 1024 * 1024,
          env: { ...process.env, BENCH_INTEGRATOR_LOG: join(dir, 'integrators.log') },
        },
      ));
      progress = stderr;
      writeFileSync(join(dir, 'table.md'), stdout);
      writeFileSync(join(dir, 'progress.log'), stderr);
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      progress = e.stderr ?? '';
      writeFileSync(join(dir, 'progress.log'), progress);
      throw new Error(`bench --quick failed: ${e.message}\n${e.stdout ?? ''}`, { cause: err });
    }
    const cells = parseTable(stdout);
    expect(cells[0]).toEqual(TABLE_HEADER);
    expect(cells[1]!.every((c) => c === '---')).toBe(true);
    for (const line of cells) expect(line).toHaveLength(TABLE_HEADER.length);
    const figures = new Set(cells.slice(2).map((c) => c[0]));
    for (const f of FIGURES) expect(figures, f).toContain(f);

    const out = JSON.parse(readFileSync(json, 'utf8')) as Output;
    expect(out.quick).toBe(true);
    expect(out.rows).toHaveLength(cells.length - 2);
    expect(out.rows.filter((r) => r.metric === 'figure failed to run')).toEqual([]);
    for (const r of out.rows) {
      expect(r.samples.length, r.metric).toBeGreaterThan(0);
      expect(['meets', 'MISSED', 'info']).toContain(r.verdict);
    }
    // Nothing lost: crash loop, outages, and the fast customers everywhere.
    const lost = out.rows.filter((r) => /lost/.test(r.metric));
    expect(lost.map((r) => r.figure)).toEqual(
      expect.arrayContaining([
        'crash loop',
        'rebalance churn',
        'broker outage',
        'Redis outage',
        'Redis write errors',
        'isolation',
        'memory',
      ]),
    );
    for (const r of lost) expect(r.samples, `${r.figure}: ${r.metric}`).toEqual([0]);
    // In order through every fault.
    const order = out.rows.filter((r) => /order violations/.test(r.metric));
    expect(order.map((r) => r.figure)).toEqual(
      expect.arrayContaining([
        'crash loop',
        'rebalance churn',
        'broker outage',
        'Redis outage',
        'Redis write errors',
      ]),
    );
    for (const r of order) expect(r.samples, `${r.figure}: ${r.metric}`).toEqual([0]);
    const resumed = out.rows.filter((r) => /first delivery after/.test(r.metric));
    expect(resumed).toHaveLength(3);
    for (const r of resumed) expect(Number.isFinite(r.samples[0]), r.figure).toBe(true);
    // Generous sanity bounds only.
    const one = (figure: string, pattern: RegExp): number[] =>
      out.rows.find((r) => r.figure === figure && pattern.test(r.metric))!.samples;
    const ratios = out.rows.filter((r) => r.figure === 'throughput' && /÷ bare/.test(r.metric));
    // catch-up and streaming with the log on and off, and streaming against the bare client under load
    expect(ratios.map((r) => r.metric)).toHaveLength(5);
    for (const x of ratios.flatMap((r) => r.samples)) expect(x).toBeGreaterThan(0.02);
    // The log, empty at start and full (at its row cap, deleting a row for each it writes).
    for (const x of one('delivery log', /with the log ÷ without/)) expect(x).toBeGreaterThan(0.02);
    for (const x of one('delivery log', /with a full log .* ÷ without/)) expect(x).toBeGreaterThan(0.02);
    for (const x of one('slow customer', /deliveries\/s/)) expect(x).toBeGreaterThan(0.3);
    for (const x of one('memory', /max RSS/)) expect(x).toBeLessThan(2048);
    for (const x of one('crash loop', /duplicates/)) expect(x).toBeLessThanOrEqual(3);
  }, 660_000);
});
