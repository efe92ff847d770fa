/** With DATABASE_URL, every settled delivery leaves a row in the audit trail (real Postgres). */
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

it('records one audit row per settled delivery, with its outcome', async () => {
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
          .query('SELECT count(*)::int AS n FROM integrator_delivery_audit')
          .catch(() => null);
        return r !== null && (r.rows[0] as { n: number }).n === messages.length;
      },
      30_000,
      'audit rows',
    );
    const rows = await client.query<{ outcome: string; n: number }>(
      'SELECT outcome, count(*)::int AS n FROM integrator_delivery_audit GROUP BY outcome ORDER BY outcome',
    );
    expect(rows.rows).toEqual([
      { outcome: 'dead', n: 10 },
      { outcome: 'delivered', n: 40 },
    ]);
    const ids = await client.query<{ event_id: string }>(
      'SELECT DISTINCT event_id FROM integrator_delivery_audit',
    );
    expect(new Set(ids.rows.map((r) => r.event_id))).toEqual(new Set(a.requests.map((r) => r.id)));
  } finally {
    await client.end().catch(() => {});
    await integrator.stop();
    await a.close();
  }
});
