/** The Node driver for the k6 shapes: its pure parts, and a short steady run against the tracking API. */
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertLoopback, formatSummary, runLocalScenario } from '../../load/k6-local/driver.ts';
import type { Load } from '../../load/k6-local/k6-lib.ts';
import { arrivalTimes, parseDuration } from '../../load/k6-local/schedule.ts';
import { percentile, summarize, thresholdFailures } from '../../load/k6-local/stats.ts';
import { buildTrackingApi } from '../../load/tracking-api/app.ts';
import { startPostgres } from '../harness/postgres.ts';
import type { PostgresHarness } from '../harness/postgres.ts';
import { allRows, createPackageStatusDatabase } from './support.ts';

const execFileAsync = promisify(execFile);
const repoRoot = new URL('../../', import.meta.url).pathname;

describe('arrivalTimes', () => {
  const constant = (rate: number, durationSeconds: number): Load => ({
    executor: 'constant-arrival-rate',
    rate,
    durationSeconds,
    preAllocatedVUs: 1,
    maxVUs: 1,
  });
  const ramping = (startRate: number, stages: [number, number][]): Load => ({
    executor: 'ramping-arrival-rate',
    startRate,
    stages: stages.map(([durationSeconds, target]) => ({ durationSeconds, target })),
    preAllocatedVUs: 1,
    maxVUs: 1,
  });

  it.each([
    [constant(10, 1), [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]],
    [constant(2, 2), [0, 0.5, 1, 1.5]],
    [ramping(5, [[1, 5]]), [0, 0.2, 0.4, 0.6, 0.8]],
    // rate 0 → 4 over 2 s: the area t² reaches k at t = √k
    [ramping(0, [[2, 4]]), [0, 1, Math.SQRT2, Math.sqrt(3)]],
    [
      ramping(2, [
        [1, 2],
        [1, 0],
      ]),
      [0, 0.5, 1],
    ],
  ])('%j', (load, expected) => {
    const times = arrivalTimes(load);
    expect(times).toHaveLength(expected.length);
    times.forEach((t, i) => expect(t).toBeCloseTo(expected[i] as number, 9));
  });

  it('caps the number of iterations', () => {
    expect(arrivalTimes(constant(1000, 60), 5)).toHaveLength(5);
  });
});

describe('parseDuration', () => {
  it.each([
    ['30s', 30],
    ['2m', 120],
    ['1m30s', 90],
    ['1h', 3600],
    ['500ms', 0.5],
    ['45', 45],
    ['1.5m', 90],
  ])('%s = %f s', (text, seconds) => {
    expect(parseDuration(text)).toBeCloseTo(seconds, 9);
  });

  it.each(['', 'fast', '10x', '1m 30s', 's'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(RangeError);
  });
});

describe('stats', () => {
  it.each([
    [[], 0.5, Number.NaN],
    [[7], 0.99, 7],
    [[1, 2, 3, 4], 0.5, 2.5],
    [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.95, 9.55],
  ])('percentile(%j, %f) = %f', (values, p, expected) => {
    const value = percentile(values, p);
    if (Number.isNaN(expected)) expect(value).toBeNaN();
    else expect(value).toBeCloseTo(expected, 9);
  });

  it('checks the HTTP thresholds like k6', () => {
    const samples = [
      ...Array.from({ length: 98 }, () => ({ name: 'x', status: 201, durationMs: 10, ok: true })),
      { name: 'x', status: 500, durationMs: 900, ok: false },
      { name: 'x', status: 0, durationMs: 1000, ok: false },
    ];
    const summary = summarize(samples);
    expect(summary).toMatchObject({ count: 100, errors: 2, errorRate: 0.02 });
    const failures = thresholdFailures(summary, {
      httpP95Ms: 250,
      httpP99Ms: 500,
      httpErrorRate: 0.01,
      e2eP99Seconds: 5,
    });
    expect(failures.join('\n')).toMatch(/p\(99\).*≥ 500 ms/);
    expect(failures.join('\n')).toMatch(/error rate 2.00 % ≥ 1 %/);
    expect(failures.join('\n')).not.toMatch(/p\(95\)/);
  });
});

describe('assertLoopback', () => {
  it.each(['http://127.0.0.1:3000', 'http://localhost:1/x', 'http://[::1]:8080', 'https://127.0.0.2'])(
    'accepts %s',
    (url) => {
      expect(() => assertLoopback(url, 'baseUrl')).not.toThrow();
    },
  );

  it.each(['http://example.com', 'http://10.0.0.1:3000', 'ftp://127.0.0.1', 'not a url'])(
    'refuses %s',
    (url) => {
      expect(() => assertLoopback(url, 'baseUrl')).toThrow(/baseUrl/);
    },
  );
});

describe('against the tracking API', () => {
  let server: PostgresHarness;
  let pool: pg.Pool;
  let app: FastifyInstance;
  let baseUrl: string;

  beforeAll(async () => {
    server = await startPostgres();
    pool = new pg.Pool({ connectionString: await createPackageStatusDatabase(server), max: 10 });
    app = buildTrackingApi({ pool });
    baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  });

  afterAll(async () => {
    await app?.close();
    await pool?.end();
    await server?.stop();
  });

  it('runs a 3 s steady scenario: every journey completes, no errors', async () => {
    const before = (await allRows(pool)).length;
    const summary = await runLocalScenario({ scenario: 'steady', baseUrl, durationSeconds: 3, seed: 2 });
    expect(summary.scenario).toBe('steady');
    expect(summary.iterations.scheduled).toBe(30); // 10 journeys/s × 3 s
    expect(summary.iterations.started + summary.iterations.dropped).toBe(30);
    expect(summary.iterations.completed).toBe(summary.iterations.started);
    expect(summary.iterations.started).toBeGreaterThanOrEqual(25);
    expect(summary.http.errors).toBe(0);
    expect(Object.keys(summary.byEndpoint).sort()).toEqual([
      'GET /packages/:id',
      'POST /packages',
      'POST /packages/:id/movements',
    ]);
    expect(summary.elapsedSeconds).toBeLessThan(60);
    // Each journey wrote 1 + its movements rows (hops 1–3 → 4–6 rows).
    const written = (await allRows(pool)).length - before;
    expect(written).toBeGreaterThanOrEqual(summary.iterations.completed * 4);
    expect(written).toBeLessThanOrEqual(summary.iterations.completed * 6);
    expect(formatSummary(summary)).toMatch(/^scenario steady: 3\.0 s of load/);
  });

  it("applies the scenario's behaviour changes to the mocks at their (scaled) times", async () => {
    const received: { at: number; path: string; body: unknown }[] = [];
    const started = performance.now();
    const mocks = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({
          at: (performance.now() - started) / 1000,
          path: `${req.method} ${req.url}`,
          body: JSON.parse(body),
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => mocks.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = mocks.address() as AddressInfo;
      const summary = await runLocalScenario({
        scenario: 'breaker',
        baseUrl,
        mocksUrl: `http://127.0.0.1:${port}`,
        durationSeconds: 3, // 180 s scaled to 3: the actions at 30 s and 60 s come at 0.5 s and 1 s
      });
      expect(received.map((r) => [r.path, r.body])).toEqual([
        ['PUT /customers/customer-3/behavior', { errorRate: 1 }],
        ['PUT /customers/customer-3/behavior', { errorRate: 0 }],
      ]);
      expect(received[0]?.at).toBeGreaterThanOrEqual(0.4);
      expect(summary.actions.map((a) => a.status)).toEqual([200, 200]);
    } finally {
      await new Promise<void>((resolve) => mocks.close(() => resolve()));
    }
  });

  it('refuses targets that are not on this machine', async () => {
    await expect(runLocalScenario({ scenario: 'steady', baseUrl: 'http://example.com' })).rejects.toThrow(
      /baseUrl/,
    );
    await expect(runLocalScenario({ scenario: 'nope', baseUrl })).rejects.toThrow(/unknown scenario 'nope'/);
  });

  it('npm run k6:local -- steady --duration 2s prints the summary; its exit status is the thresholds verdict', async () => {
    const run = await execFileAsync(
      process.execPath,
      ['--import', 'tsx', 'load/k6-local/main.ts', 'steady', '--duration', '2s', '--base-url', baseUrl],
      { cwd: repoRoot, timeout: 90_000 },
    ).then(
      ({ stdout }) => ({ code: 0, stdout }),
      (error: unknown) => error as { code: number; stdout: string },
    );
    expect(run.stdout).toMatch(/scenario steady: 2\.0 s of load/);
    expect(run.stdout).toMatch(/requests\s+\d+\s+errors 0/);
    // The latency thresholds are k6's timing goals, which a loaded test machine may miss (timing belongs in
    // npm run bench); what this checks is that the exit status says what the summary says.
    if (run.code === 0) {
      expect(run.stdout).toMatch(/^thresholds {2}passed$/m);
    } else {
      expect(run.code).toBe(1);
      const failed = /^thresholds {2}FAILED: (.*)$/m.exec(run.stdout)?.[1] ?? '';
      expect(
        failed.split('; ').every((f) => /^p\((95|99)\) [\d.]+ ms ≥ \d+ ms$/.test(f)),
        failed,
      ).toBe(true);
    }
  });

  it('exits 2 on a bad command line', async () => {
    const failure = await execFileAsync(
      process.execPath,
      ['--import', 'tsx', 'load/k6-local/main.ts', '--duration', 'soon'],
      { cwd: repoRoot, timeout: 90_000 },
    ).then(
      () => null,
      (error: unknown) => error as { code: number; stderr: string },
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toMatch(/name exactly one scenario/);
    expect(failure?.stderr).toMatch(/not a duration: 'soon'/);
  });
});
