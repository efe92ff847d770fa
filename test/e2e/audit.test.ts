/**
 * With DATABASE_URL, the delivery log lives in that Postgres (it replaced the audit trail): through the real
 * Kafka path, every delivery has its row with its outcome, every attempt its step.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import { startPostgres } from '../harness/postgres.ts';
import type { PostgresHarness } from '../harness/postgres.ts';
import { startReceiver } from '../harness/receiver.ts';
import { eventually, startIntegrator } from '../harness/integrator.ts';
import { journeys } from '../harness/events.ts';
import { SECRET_A, kafkaWorld } from './setup.ts';
import type { KafkaWorld } from './setup.ts';

let world: KafkaWorld;
let postgres: PostgresHarness;
beforeAll(async () => {
  world = await kafkaWorld();
  postgres = await startPostgres();
});
afterAll(async () => {
  await world?.close();
  await postgres?.stop();
});

it('logs every delivery in Postgres with its outcome and its attempts', async () => {
  const { topic, groupId } = await world.topic(2);
  const url = await postgres.createDatabase('audit');
  const a = await startReceiver({
    secret: SECRET_A,
    handler: (req) => (req.body.data.status === 'Package Delivered' ? { status: 400 } : { status: 200 }),
  });
  const integrator = await startIntegrator({
    brokers: world.mock.brokers,
    topic,
    groupId,
    customers: [{ id: 'customer-a', url: a.url, secret: SECRET_A }],
    env: { DATABASE_URL: url },
  });
  const client = new pg.Client({ connectionString: url });
  try {
    const { messages } = journeys('customer-a', 10, { prefix: 'audit' }); // 50 events, 10 of them answered 400
    await world.producer.send({ topic, messages });
    await client.connect();
    await eventually(
      async () => {
        const r = await client
          .query(
            "SELECT count(*)::int AS n FROM delivery_log_deliveries WHERE state IN ('delivered', 'dead')",
          )
          .catch(() => null);
        return r !== null && (r.rows[0] as { n: number }).n === messages.length;
      },
      30_000,
      'logged deliveries',
    );
    const rows = await client.query<{ outcome: string; n: number }>(
      'SELECT state AS outcome, count(*)::int AS n FROM delivery_log_deliveries GROUP BY state ORDER BY state',
    );
    expect(rows.rows).toEqual([
      { outcome: 'dead', n: 10 },
      { outcome: 'delivered', n: 40 },
    ]);
    const ids = await client.query<{ event_id: string }>('SELECT event_id FROM delivery_log_changes');
    expect(new Set(ids.rows.map((r) => r.event_id))).toEqual(new Set(a.requests.map((r) => r.id)));
    // Every attempt counted on its delivery; the failed ones are steps of their own (with the 400).
    const attempts = await client.query<{ n: number }>(
      'SELECT sum(attempts)::int AS n FROM delivery_log_deliveries',
    );
    expect(attempts.rows[0]!.n).toBe(a.requests.length);
    const failed = await client.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM delivery_log_steps WHERE kind = 'attempt' AND http_status = 400",
    );
    expect(failed.rows[0]!.n).toBe(10);
  } finally {
    await client.end().catch(() => {});
    await integrator.stop();
    await a.close();
  }
});
