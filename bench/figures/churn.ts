/**
 * Rebalance churn: two integrators in one group share 8 partitions while 60 events/s stream to three
 * customers (customer-1 20 ms, customer-2 50 ms, customer-3 400 ms with 30 % answered 503, so its retries
 * park and move with their partitions). Every ~4 s one member leaves — by SIGTERM and by SIGKILL in turn
 * (a SIGKILLed member's partitions move only after its 6 s session) — and a new one joins. After the last
 * cycle producing stops and the two members left drain everything.
 *
 * Draining waits as long as each customer's deliveries keep arriving (customer-3 takes ~14 a second of the
 * 20 it is offered, so its backlog at the end depends on the machine and on how long the cycles took): it
 * gives up once none arrived for 75 s, or at a cap. Per customer, missing = produced − unique delivered
 * − dead-lettered (dead letters read from Redis, where every member wrote them). What is missing but still
 * held — parked in Redis, or in a member's memory — is pending, not lost: customer-3's circuit breaker
 * (shared by the members in Redis) opens when its 503s pass half of a window's answers and then stops its
 * deliveries for 30 s at a time, longer while its half-open probes fail, and that work waits in Redis.
 * Lost = missing − held, once deliveries had stopped arriving. (A head claimed from Redis is counted both
 * parked and in memory until it is delivered, so a loss of up to the members' claimed heads could hide in
 * that overlap.) Order violations = first deliveries of a status before the first delivery of an earlier
 * status of the same package (the mock's ledger); duplicates, for context.
 */
import { Redis } from 'ioredis';
import type { Row } from '../table.ts';
import { EventStream, producePaced } from '../load.ts';
import { launchIntegrator, sleep } from '../world.ts';
import type { IntegratorProcess, World } from '../world.ts';
import { drainEnd, mockCustomer, waitUnique } from './common.ts';
import type { BenchMode, FigureResult } from './common.ts';

const RATE = 60;
const IDS = ['customer-1', 'customer-2', 'customer-3'];

export async function rebalanceChurn(world: World, mode: BenchMode): Promise<FigureResult> {
  const cycles = mode.quick ? 3 : 15;
  /**
   * How draining ends (common.ts `waitUnique`): no new delivery for longer than two of the breaker's 30 s
   * openings (its default `resetTimeoutMs`) and a retry, or the cap.
   */
  const drain = { stallMs: 75_000, capMs: mode.quick ? 150_000 : 600_000 };
  const { mocks } = world;
  await mocks.setBehavior('customer-1', { latencyMs: 20, jitterMs: 0 });
  await mocks.setBehavior('customer-2', { latencyMs: 50, jitterMs: 0 });
  await mocks.setBehavior('customer-3', { latencyMs: 400, jitterMs: 0, errorRate: 0.3, errorStatus: 503 });
  await mocks.resetStats();
  const run = await world.topic(8);
  const customers = IDS.map((id) =>
    mockCustomer(mocks, id, {
      concurrency: 8,
      retry: { maxAttempts: 30, baseDelayMs: 200, maxDelayMs: 2000 },
    }),
  );
  const env = world.env(run, customers);
  const members: IntegratorProcess[] = [];
  const lostBy: Record<string, number> = {};
  const pendingBy: Record<string, number> = {};
  const detail: string[] = [];
  let violations = 0;
  let duplicates = 0;
  /** From the end of producing until every customer has it all (NaN: not within the limit). */
  let drainS = 0;
  const leaves: string[] = [];
  try {
    members.push(await launchIntegrator({ env }), await launchIntegrator({ env }));
    await Promise.all(members.map((m) => m.assigned()));
    const producing = producePaced(
      world.producer,
      run.topic,
      new EventStream('churn', Object.fromEntries(IDS.map((id) => [id, 1])), 400),
      RATE,
    );
    for (let c = 0; c < cycles; c++) {
      await sleep(4000);
      const leaving = members.shift()!;
      const how = c % 2 === 0 ? 'SIGTERM' : 'SIGKILL';
      if (how === 'SIGTERM') await leaving.stop();
      else await leaving.kill();
      leaves.push(how);
      members.push(await launchIntegrator({ env }));
      mode.log(`rebalance churn: cycle ${c + 1}/${cycles}: a member left by ${how}, a new one joined`);
    }
    await sleep(2000);
    const stats = await producing.stop();
    const stoppedAt = Date.now();
    const redis = new Redis(world.redis.url);
    try {
      for (const id of IDS) {
        const want = stats.produced.get(id) ?? 0;
        const got = await waitUnique(mocks, id, want, drain);
        drainS = got.timedOut ? NaN : Math.max(drainS, (Date.now() - stoppedAt) / 1000);
        const dead = await redis.zcard(`${run.keyPrefix}:{${id}}:dlqidx`);
        const missing = Math.max(0, want - got.unique - dead);
        let held = 0;
        if (missing > 0) {
          // Where the missing ones are: in the members' memory, or parked in Redis (the customer's count in
          // the store, the same from any member).
          const inMemory = await Promise.all(
            members.map((m) => m.metric('integrator_pending_deliveries', `customer="${id}"`).catch(() => 0)),
          );
          const parked = await members[0]!
            .metric('integrator_retry_queue_depth', `customer="${id}"`)
            .catch(() => 0);
          held = parked + inMemory.reduce((a, b) => a + b, 0);
          detail.push(
            `${id}: ${missing} missing when ${drainEnd(got, want, drain)} (members hold ${inMemory.join(' + ')} in memory, ${parked} parked)`,
          );
        }
        lostBy[id] = got.stalled ? Math.max(0, missing - held) : 0;
        pendingBy[id] = missing - lostBy[id]!;
        violations += got.outOfOrder;
        duplicates += got.duplicates;
        detail.push(
          `${id}: ${want} produced, ${got.unique} delivered, ${dead} dead-lettered, ${got.duplicates} duplicates, ${got.outOfOrder} out of order`,
        );
      }
    } finally {
      redis.disconnect();
    }
    mode.log(`rebalance churn: ${detail.join('; ')}`);
  } finally {
    await Promise.all(members.map((m) => m.stop()));
    for (const id of IDS) await mocks.resetBehavior(id);
  }
  const lost = Object.values(lostBy).reduce((a, b) => a + b, 0);
  const pending = Object.values(pendingBy).reduce((a, b) => a + b, 0);
  const rows: Row[] = [
    {
      figure: 'rebalance churn',
      metric: `events lost (${cycles} leaves: ${leaves.filter((l) => l === 'SIGTERM').length} SIGTERM, ${leaves.filter((l) => l === 'SIGKILL').length} SIGKILL, each followed by a join)`,
      samples: [lost],
      unit: '',
      digits: 0,
      target: { cmp: '==', bound: 0 },
      targetText: '= 0',
      note: detail.join('; '),
    },
    {
      figure: 'rebalance churn',
      metric: 'first-delivery order violations (per package)',
      samples: [violations],
      unit: '',
      digits: 0,
      target: { cmp: '==', bound: 0 },
      targetText: '= 0',
      note: `${duplicates} duplicates (what was out or not yet committed when partitions moved)`,
    },
    {
      figure: 'rebalance churn',
      metric: 'events still pending when the drain ended (held in memory or parked, or still arriving)',
      samples: [pending],
      unit: '',
      digits: 0,
      target: null,
      targetText: '',
      note: `the drain waits while deliveries arrive (gives up after ${drain.stallMs / 1000} s without one), up to ${drain.capMs / 1000} s; a breaker open on customer-3 holds its work in Redis`,
    },
    {
      figure: 'rebalance churn',
      metric: 'everything delivered, after producing stopped',
      samples: [drainS],
      unit: 's',
      digits: 1,
      target: null,
      targetText: '',
      note: 'customer-3 (400 ms, 30 % 503) takes less than the 20 events/s it is offered, so a backlog remains; a lane held after its rebalance showed here as +30 s',
    },
  ];
  return {
    rows,
    notes: [
      `${RATE} events/s on 8 partitions to customer-1 (20 ms), customer-2 (50 ms), customer-3 (400 ms, 30 % 503), concurrency 8, retry 200 ms–2 s × 30; two members; every 4 s one leaves (SIGTERM, SIGKILL in turn) and one joins, ${cycles} times; session 6 s; then the last two drain; one run.`,
    ],
    raw: { lostBy, pendingBy, detail, violations, duplicates, leaves },
  };
}
