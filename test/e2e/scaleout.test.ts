/**
 * Scale out (README "Running several integrators"): three integrator processes in one consumer group, one
 * Redis. A customer's `concurrency` and `ratePerSecond` hold for the group, not per process:
 *  - customer-a (concurrency 6, answers in 200 ms) never has more than 6 requests open at once;
 *  - customer-b (40 per second, fast answers, concurrency 32) never takes more than 40 × 5 + 40 requests in
 *    any 5 s (the bucket's one second of burst plus five seconds of refill; plus a quarter second of tokens
 *    for the way from grant to arrival);
 * while every replica sends to both (each has partitions with their packages). One replica is SIGKILLed
 * mid-way and a fourth joins: afterwards nothing is lost, first deliveries are in record order per customer
 * and package, and duplicates stay within what the membership changes left uncommitted or in flight.
 * Then the operator's pause, given to one integrator, stops every integrator sending to customer-c (its
 * new work is parked and committed, none sent) until it is resumed through another; and customer-d, failing
 * every request, trips one breaker for the group: once every integrator sees it open, only one half-open
 * probe is ever out at a time, and everything arrives in order once it answers again.
 * Runs alone (vitest.solo.config.ts): four integrator processes and the broker on a 2-core machine.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { maxInWindow, openCounter, startReceiver } from '../harness/receiver.ts';
import type { Handler, Receiver } from '../harness/receiver.ts';
import {
  eventually,
  integratorEnv,
  lastAssignment,
  metric,
  spawnIntegrator,
  splitEvenly,
} from '../harness/integrator.ts';
import type { ChildIntegrator } from '../harness/integrator.ts';
import { interleave, journeys, produce } from '../harness/events.ts';
import { startRedis } from '../harness/redis.ts';
import type { RedisServer } from '../harness/redis.ts';
import { SECRET_A, SECRET_B, SECRET_C, endOffsets, kafkaWorld, waitCommittedToEnd } from './setup.ts';
import type { KafkaWorld } from './setup.ts';

const PARTITIONS = 6;
const A_CONCURRENCY = 6;
const A_ANSWER_MS = 200;
const B_RATE = 40;
const B_CONCURRENCY = 32;
const C_CONCURRENCY = 16;
const WINDOW_MS = 5000;
/**
 * Tokens a bucket of one second of burst can hand out within WINDOW_MS (40 × 5 + 40), plus those granted
 * up to 250 ms before a window whose requests arrive inside it (the grant → arrival delay of a loaded
 * machine: the receiver counts arrivals, the bucket counts grants). Without the shared bucket three
 * integrators would send up to three times this.
 */
const B_BUCKET_BOUND = B_RATE * (WINDOW_MS / 1000) + B_RATE;
const B_WINDOW_BOUND = B_BUCKET_BOUND + B_RATE / 4;
const ADMIN_TOKEN = 'scaleout-test-admin-token';
const D_ANSWER_MS = 300;
const D_RESET_MS = 1000;
const SECRET_D = 'whsec_Kq1YxkGxU2VZbq8b3qGd2YJ5QmFv9w0e';

let world: KafkaWorld;
let redis: RedisServer;
const cleanups: (() => Promise<unknown>)[] = [];
const children: ChildIntegrator[] = [];
afterEach((ctx) => {
  // A failing test shows what the integrator processes said.
  if (ctx.task.result?.state === 'fail') for (const c of children) console.error(c.output().slice(-6000));
});
beforeAll(async () => {
  world = await kafkaWorld();
  redis = await startRedis();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await world?.close();
  await redis?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function receiver(secret: string, handler: Handler): Promise<Receiver> {
  const r = await startReceiver({ secret, handler });
  cleanups.push(() => r.close());
  return r;
}

function spawn(env: Record<string, string>): ChildIntegrator {
  const c = spawnIntegrator(env);
  children.push(c);
  cleanups.push(async () => {
    if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
    await c.exited;
  });
  return c;
}

/** Per package, the first 2xx of each status arrived in record order (the row id grows with each change). */
function firstDeliveryOrderViolations(r: Receiver): string[] {
  const seen = new Set<string>();
  const byPkg = new Map<string, number[]>();
  for (const d of r.delivered()) {
    if (seen.has(d.id)) continue;
    seen.add(d.id);
    const pkg = String(d.body.data.package_id);
    byPkg.set(pkg, [...(byPkg.get(pkg) ?? []), Number(d.body.data.id)]);
  }
  const out: string[] = [];
  for (const [pkg, ids] of byPkg) {
    for (let i = 1; i < ids.length; i++)
      if (ids[i]! < ids[i - 1]!) out.push(`${pkg}: row ${ids[i]} first delivered after row ${ids[i - 1]}`);
  }
  return out;
}

const uniqueRows = (r: Receiver) => new Set(r.delivered().map((d) => Number(d.body.data.id)));
const duplicates = (r: Receiver) => r.delivered().length - new Set(r.delivered().map((d) => d.id)).size;

it('three integrators share concurrency, rate, pause and breaker; one SIGKILLed, a fourth joins: nothing lost, in order', async () => {
  const { topic, groupId } = await world.topic(PARTITIONS);
  const openA = openCounter(A_ANSWER_MS);
  const a = await receiver(SECRET_A, openA.handler);
  const b = await receiver(SECRET_B, () => ({ status: 200 }));
  const c = await receiver(SECRET_C, () => ({ status: 200, delayMs: 5 }));
  let dHealthy = false;
  const openD = openCounter(D_ANSWER_MS, () => (dHealthy ? 200 : 503));
  const d = await receiver(SECRET_D, openD.handler);
  const env = integratorEnv({
    brokers: world.mock.brokers,
    topic,
    groupId,
    redisUrl: redis.url,
    customers: [
      // A short timeout keeps the lease short (it outlasts the longest request), so the victim's share of
      // the permits comes back within seconds, not after the default 60 s timeout.
      { id: 'customer-a', url: a.url, secret: SECRET_A, concurrency: A_CONCURRENCY, timeoutMs: 5000 },
      {
        id: 'customer-b',
        url: b.url,
        secret: SECRET_B,
        concurrency: B_CONCURRENCY,
        ratePerSecond: B_RATE,
        timeoutMs: 5000,
      },
      { id: 'customer-c', url: c.url, secret: SECRET_C, concurrency: C_CONCURRENCY },
      {
        id: 'customer-d',
        url: d.url,
        secret: SECRET_D,
        concurrency: 8,
        timeoutMs: 5000,
        retry: { maxAttempts: 1000, baseDelayMs: 200, maxDelayMs: 500 },
        breaker: {
          errorThresholdPercentage: 50,
          volumeThreshold: 5,
          windowMs: 10_000,
          resetTimeoutMs: D_RESET_MS,
        },
      },
    ],
    // The delivery log is beside the point here, and four of them are a lot for two cores.
    env: { ADMIN_TOKEN, DELIVERY_LOG: 'off' },
  });
  // 40 packages for A (~7 s of work at 6 × 200 ms), 100 for B (~12 s at 40/s), 60 for C; 5 statuses each.
  const jA = journeys('customer-a', 40, { prefix: 'so-a' });
  const jB = journeys('customer-b', 100, { prefix: 'so-b' });
  const jC = journeys('customer-c', 60, { prefix: 'so-c' });

  // Three members, settled on a split of every partition before anything is produced.
  const replicas = [spawn(env), spawn(env), spawn(env)];
  const bases = await Promise.all(replicas.map((r) => r.ready));
  await eventually(
    () =>
      splitEvenly(
        replicas.map((r) => r.output()),
        PARTITIONS,
      ),
    60_000,
    'the three members to split the partitions',
  );
  await produce(world.producer, topic, interleave(jA.messages, jB.messages, jC.messages));
  const ends = await endOffsets(world, topic);

  // Each of the three sends to A and to B: the limits are shared, not one process doing all the work.
  await eventually(
    async () => {
      for (const base of bases) {
        for (const customer of ['customer-a', 'customer-b']) {
          if ((await metric(base, 'integrator_delivery_attempts_total', `customer="${customer}"`)) === 0)
            return false;
        }
      }
      return true;
    },
    60_000,
    'every replica sending to customer-a and customer-b',
  );
  await b.waitFor(() => uniqueRows(b).size >= 150, 60_000, 'customer-b a third delivered');

  // The duplicate window: what the membership changes can make a new owner send again — records not
  // committed (at most what was delivered so far), sampled from before the kill until everything is in.
  let window = 0;
  let samples = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const committed = await world.committed(topic, groupId).catch(() => null);
      if (committed) {
        samples += 1;
        let uncommitted = 0;
        for (const [p, end] of ends) {
          const at = committed.get(p) ?? -1n;
          uncommitted += Number(end - (at < 0n ? 0n : at));
        }
        const delivered = uniqueRows(a).size + uniqueRows(b).size + uniqueRows(c).size;
        window = Math.max(window, Math.min(uncommitted, delivered));
      }
      await sleep(100);
    }
  })();

  // What the victim holds (queued, out, claimed parked heads) can reach a customer twice.
  const held = await metric(bases[0]!, 'integrator_pending_deliveries');
  replicas[0]!.child.kill('SIGKILL');
  await replicas[0]!.exited;
  const deliveredAtKill = uniqueRows(a).size + uniqueRows(b).size + uniqueRows(c).size;
  const fourth = spawn(env);
  const fourthBase = await fourth.ready;

  const all = jA.rows.length + jB.rows.length + jC.rows.length;
  expect(deliveredAtKill).toBeLessThan(all); // really mid-way
  await a.waitFor(() => uniqueRows(a).size === jA.rows.length, 180_000, 'all of customer-a');
  await b.waitFor(() => uniqueRows(b).size === jB.rows.length, 180_000, 'all of customer-b');
  await c.waitFor(() => uniqueRows(c).size === jC.rows.length, 180_000, 'all of customer-c');
  sampling = false;
  await sampler;
  expect(samples, 'committed offsets read while the group changed').toBeGreaterThan(0);

  // The fourth took partitions over (from the victim, or from the others).
  expect(lastAssignment(fourth.output()).length).toBeGreaterThan(0);

  // The limits held for the group, through the kill and the join.
  const maxOpenA = openA.max();
  const maxB = maxInWindow(b, WINDOW_MS);
  const dups = duplicates(a) + duplicates(b) + duplicates(c);
  console.log(
    `scaleout: A max open ${maxOpenA} (≤ ${A_CONCURRENCY}); B max ${maxB} per ${WINDOW_MS / 1000} s (bucket ${B_BUCKET_BOUND}, ≤ ${B_WINDOW_BOUND} with transit); ` +
      `${deliveredAtKill}/${all} delivered at the kill, ${held} held by the victim, window ${window} (${samples} samples), ${dups} duplicates`,
  );
  expect(maxOpenA).toBeLessThanOrEqual(A_CONCURRENCY);
  expect(maxB).toBeLessThanOrEqual(B_WINDOW_BOUND);

  // Nothing lost: every row of every customer delivered (and nothing else delivered).
  for (const [r, rows] of [
    [a, jA.rows],
    [b, jB.rows],
    [c, jC.rows],
  ] as const) {
    expect([...uniqueRows(r)].sort((x, y) => x - y)).toEqual(rows.map((x) => x.id).sort((x, y) => x - y));
    expect(r.requests.every((q) => q.signatureOk)).toBe(true);
  }
  // The operator's pause is the customer's: given to one integrator, all of them stop sending to C (its
  // new work is parked, so the commit point reaches the end with nothing sent); resumed through another.
  const live = [bases[1]!, bases[2]!, fourthBase];
  const admin = (base: string, path: string, method = 'GET') =>
    fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: method === 'POST' ? JSON.stringify({ reason: 'scale-out test' }) : undefined,
    });
  const pausedOn = async (base: string) =>
    ((await (await admin(base, '/customers/customer-c')).json()) as { paused: boolean }).paused;
  expect((await admin(live[0]!, '/customers/customer-c/pause', 'POST')).status).toBe(200);
  await eventually(
    async () => (await Promise.all(live.map(pausedOn))).every(Boolean),
    30_000,
    'every integrator to follow the pause',
  );
  const sentBeforePause = c.requests.length;
  const jC2 = journeys('customer-c', 20, { prefix: 'so-c2' });
  await produce(world.producer, topic, jC2.messages);
  await waitCommittedToEnd(world, topic, groupId, 60_000, "customer-c's new work parked and committed");
  expect(c.requests.length).toBe(sentBeforePause);
  expect((await admin(live[2]!, '/customers/customer-c/resume', 'POST')).status).toBe(200);
  await c.waitFor(
    () => uniqueRows(c).size === jC.rows.length + jC2.rows.length,
    60_000,
    'customer-c after the resume',
  );

  // One breaker for the group: customer-d fails every request; once every integrator's lane has heard that
  // the breaker opened, the only requests are half-open probes, one at a time for the whole group.
  const breakerOn = async (base: string) =>
    ((await (await admin(base, '/customers/customer-d')).json()) as { breaker: string }).breaker;
  const jD = journeys('customer-d', 30, { prefix: 'so-d' });
  await produce(world.producer, topic, jD.messages);
  await eventually(
    async () => (await Promise.all(live.map(breakerOn))).every((x) => x !== 'closed'),
    60_000,
    "every integrator to hear that customer-d's breaker opened",
  );
  await sleep(D_ANSWER_MS + 200); // requests started before a lane heard of it have been answered
  openD.restart();
  await sleep(6 * D_RESET_MS);
  const maxOpenD = openD.max();
  const probes = openD.arrived();
  dHealthy = true;
  await d.waitFor(() => uniqueRows(d).size === jD.rows.length, 120_000, 'customer-d after it recovers');
  console.log(
    `scaleout: customer-d ${probes} probes in ${(6 * D_RESET_MS) / 1000} s, at most ${maxOpenD} open`,
  );
  expect(probes).toBeGreaterThan(0); // probes did go out…
  expect(maxOpenD).toBeLessThanOrEqual(1); // …one at a time for the group

  // First deliveries in record order, per customer and package.
  expect([
    ...firstDeliveryOrderViolations(a),
    ...firstDeliveryOrderViolations(b),
    ...firstDeliveryOrderViolations(c),
    ...firstDeliveryOrderViolations(d),
  ]).toEqual([]);
  // Duplicates: two membership changes (the kill, the join), each at most the window; plus what the victim
  // held; plus, per customer, a round out and a round answered but not yet settled in the store when a
  // partition moved (the concurrency is the group's, so that is two rounds in all).
  expect(dups).toBeLessThanOrEqual(2 * window + held + 2 * (A_CONCURRENCY + B_CONCURRENCY + C_CONCURRENCY));
}, 360_000);
