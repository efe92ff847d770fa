import { describe, expect, it } from 'vitest';
import { Partitioners } from 'kafkajs';
import { MemorySource, murmur2, partitionForKey } from '../../../src/intake/memory-source.ts';
import type { BatchContext, SourceHandlers, SourceRecord } from '../../../src/intake/source.ts';
import { loadConfig } from '../../../src/config/config.ts';
import { createIntegrator } from '../../../src/app.ts';
import { createLogger } from '../../../src/report/logger.ts';
import { DebeziumChangeFeed } from '../../../load/debezium-shape.ts';
import { startMockCustomers } from '../../../mock-customers/index.ts';

interface Seen {
  partition: number;
  offset: string;
  key: string | null;
  value: string | null;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(fn: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const start = Date.now();
  while (!fn()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

/** Handlers that resolve every record (like the pipeline) and remember what they saw. */
function recorder(opts: { delayMs?: number } = {}) {
  const seen: Seen[] = [];
  const batches: { partition: number; size: number }[] = [];
  const assignments: { topic: string; partition: number }[][] = [];
  const running = new Map<number, number>();
  let overlap = false;
  const handlers: SourceHandlers = {
    async onAssignment(assigned) {
      assignments.push(assigned);
    },
    async onBatch(records: SourceRecord[], ctx: BatchContext) {
      running.set(ctx.partition, (running.get(ctx.partition) ?? 0) + 1);
      if (running.get(ctx.partition)! > 1) overlap = true;
      batches.push({ partition: ctx.partition, size: records.length });
      try {
        for (const r of records) {
          if (!ctx.isRunning()) return;
          if (opts.delayMs) await sleep(opts.delayMs);
          seen.push({
            partition: r.partition,
            offset: r.offset,
            key: r.key?.toString('utf8') ?? null,
            value: r.value?.toString('utf8') ?? null,
          });
          ctx.resolveOffset(r.offset);
        }
      } finally {
        running.set(ctx.partition, running.get(ctx.partition)! - 1);
      }
    },
  };
  return { handlers, seen, batches, assignments, overlap: () => overlap };
}

describe('murmur2 / keyed partitioning', () => {
  const kafkaPartitioner = Partitioners.DefaultPartitioner();
  const metadata = (n: number) =>
    Array.from({ length: n }, (_, partitionId) => ({
      partitionId,
      leader: 1,
      partitionErrorCode: 0,
      replicas: [1],
      isr: [1],
    }));

  it.each([
    { key: '', partitions: 1 },
    { key: 'a', partitions: 3 },
    { key: 'ab', partitions: 3 },
    { key: 'abc', partitions: 6 },
    { key: 'abcd', partitions: 6 },
    { key: '{"package_id":"PKG-000123"}', partitions: 6 },
    { key: '{"package_id":"DEMO-x1-000042"}', partitions: 12 },
    { key: 'ünïcödé-ключ', partitions: 7 },
  ])('picks the partition KafkaJS DefaultPartitioner picks for "$key" over $partitions', (c) => {
    const expected = kafkaPartitioner({
      topic: 't',
      partitionMetadata: metadata(c.partitions),
      message: { key: Buffer.from(c.key), value: null },
    });
    expect(partitionForKey(Buffer.from(c.key), c.partitions)).toBe(expected);
  });

  it('agrees with KafkaJS on many keys', () => {
    for (let i = 0; i < 2000; i++) {
      const key = Buffer.from(`{"package_id":"PKG-${String(i).padStart(6, '0')}"}`);
      const expected = kafkaPartitioner({
        topic: 't',
        partitionMetadata: metadata(6),
        message: { key, value: null },
      });
      expect(partitionForKey(key, 6)).toBe(expected);
    }
  });

  it('is a signed 32-bit hash', () => {
    expect(Number.isInteger(murmur2(Buffer.from('hello')))).toBe(true);
    expect(murmur2(Buffer.from('hello'))).toBe(murmur2(Buffer.from('hello')));
    expect(Math.abs(murmur2(Buffer.from('hello')))).toBeLessThan(2 ** 31 + 1);
  });
});

describe('MemorySource', () => {
  it('rejects nonsense options', () => {
    expect(() => new MemorySource({ partitions: 0 })).toThrow(RangeError);
    expect(() => new MemorySource({ maxBatchSize: 0 })).toThrow(RangeError);
  });

  it('reports the whole assignment at start', async () => {
    const src = new MemorySource({ topic: 'topic-a', partitions: 3 });
    const r = recorder();
    await src.start(r.handlers);
    expect(r.assignments).toEqual([
      [
        { topic: 'topic-a', partition: 0 },
        { topic: 'topic-a', partition: 1 },
        { topic: 'topic-a', partition: 2 },
      ],
    ]);
    await expect(src.start(r.handlers)).rejects.toThrow(/already started/);
    await src.stop();
  });

  it('puts the same key in the same partition, with consecutive offsets per partition', () => {
    const src = new MemorySource({ partitions: 4 });
    const placed = new Map<string, number>();
    const nextOffset = new Map<number, number>();
    for (let i = 0; i < 200; i++) {
      const key = `pkg-${i % 17}`;
      const at = src.publish({ key, value: `v${i}` });
      if (placed.has(key)) expect(at.partition).toBe(placed.get(key));
      placed.set(key, at.partition);
      expect(at.partition).toBe(partitionForKey(Buffer.from(key), 4));
      expect(at.offset).toBe(String(nextOffset.get(at.partition) ?? 0));
      nextOffset.set(at.partition, (nextOffset.get(at.partition) ?? 0) + 1);
    }
    expect(new Set(placed.values()).size).toBeGreaterThan(1);
  });

  it('spreads null keys round-robin', () => {
    const src = new MemorySource({ partitions: 3 });
    const parts = Array.from({ length: 6 }, () => src.publish({ key: null, value: 'x' }).partition);
    expect(parts).toEqual([0, 1, 2, 0, 1, 2]);
  });

  it('hands every record over in publish order per partition, one batch at a time per partition', async () => {
    const src = new MemorySource({ partitions: 3, maxBatchSize: 5 });
    const r = recorder({ delayMs: 1 });
    await src.start(r.handlers);
    const published: { key: string; value: string; partition: number }[] = [];
    for (let i = 0; i < 120; i++) {
      const key = `pkg-${i % 9}`;
      const value = `step-${i}`;
      published.push({ key, value, partition: src.publish({ key, value }).partition });
      if (i % 10 === 0) await sleep(1);
    }
    await until(() => r.seen.length === 120, 'every record');
    expect(r.overlap()).toBe(false);
    expect(Math.max(...r.batches.map((b) => b.size))).toBeLessThanOrEqual(5);
    for (let p = 0; p < 3; p++) {
      const got = r.seen.filter((s) => s.partition === p);
      expect(got.map((s) => s.value)).toEqual(published.filter((x) => x.partition === p).map((x) => x.value));
      expect(got.map((s) => Number(s.offset))).toEqual(got.map((_, i) => i));
    }
    // Per key, the original order.
    for (let k = 0; k < 9; k++) {
      const key = `pkg-${k}`;
      expect(r.seen.filter((s) => s.key === key).map((s) => s.value)).toEqual(
        published.filter((x) => x.key === key).map((x) => x.value),
      );
    }
    expect(src.lag).toBe(0);
    await src.stop();
  });

  it('records published before start are delivered after the assignment', async () => {
    const src = new MemorySource({ partitions: 2 });
    for (let i = 0; i < 10; i++) src.publish({ key: `k${i}`, value: String(i) });
    const order: string[] = [];
    const r = recorder();
    await src.start({
      onAssignment: async (a) => {
        order.push('assignment');
        await r.handlers.onAssignment(a);
      },
      onBatch: async (records, ctx) => {
        order.push('batch');
        await r.handlers.onBatch(records, ctx);
      },
    });
    await until(() => r.seen.length === 10, 'the early records');
    expect(order[0]).toBe('assignment');
    await src.stop();
  });

  it('fetches unresolved records again, and retries a batch whose handler threw', async () => {
    const src = new MemorySource({ partitions: 1, retryDelayMs: 5 });
    const errors: unknown[] = [];
    const src2 = new MemorySource({ partitions: 1, retryDelayMs: 5, onError: (e) => errors.push(e) });
    const offsets: string[] = [];
    let calls = 0;
    await src.start({
      onAssignment: async () => {},
      onBatch: async (records, ctx) => {
        calls += 1;
        // First call: resolve only the first record; the rest must come again.
        const take = calls === 1 ? records.slice(0, 1) : records;
        for (const r of take) {
          offsets.push(r.offset);
          ctx.resolveOffset(r.offset);
        }
      },
    });
    for (let i = 0; i < 4; i++) src.publish({ key: 'k', value: String(i) });
    await until(() => offsets.length === 4, 'all four offsets');
    expect(offsets).toEqual(['0', '1', '2', '3']);
    await src.stop();

    let thrown = false;
    const seen2: string[] = [];
    await src2.start({
      onAssignment: async () => {},
      onBatch: async (records, ctx) => {
        if (!thrown) {
          thrown = true;
          throw new Error('store down');
        }
        for (const r of records) {
          seen2.push(r.offset);
          ctx.resolveOffset(r.offset);
        }
      },
    });
    src2.publish({ key: 'k', value: 'a' });
    src2.publish({ key: 'k', value: 'b' });
    await until(() => seen2.length === 2, 'the retried batch');
    expect(seen2).toEqual(['0', '1']);
    expect(errors).toHaveLength(1);
    await src2.stop();
  });

  it('records commits and exposes them', async () => {
    const src = new MemorySource({ topic: 't', partitions: 2 });
    const r = recorder();
    await src.start(r.handlers);
    const a = src.publish({ key: 'a', value: '1' });
    src.publish({ key: 'a', value: '2' });
    await until(() => r.seen.length === 2, 'two records');
    expect(src.committed()).toEqual([]);
    await src.commit([{ topic: 't', partition: a.partition, offset: '1' }]);
    await src.commit([{ topic: 't', partition: a.partition, offset: '2' }]);
    await src.commit([]);
    expect(src.committed()).toEqual([{ topic: 't', partition: a.partition, offset: '2' }]);
    expect(src.commitLog()).toEqual([
      [{ topic: 't', partition: a.partition, offset: '1' }],
      [{ topic: 't', partition: a.partition, offset: '2' }],
    ]);
    const state = src.partitionStates()[a.partition]!;
    expect(state).toEqual({ partition: a.partition, end: '2', position: '2', committed: '2' });
    await expect(src.commit([{ topic: 'other', partition: 0, offset: '0' }])).rejects.toThrow(/unknown/);
    await expect(src.commit([{ topic: 't', partition: 5, offset: '0' }])).rejects.toThrow(/unknown/);
    await expect(src.commit([{ topic: 't', partition: a.partition, offset: '3' }])).rejects.toThrow(
      RangeError,
    );
    await src.stop();
  });

  it('drops records once they are fetched and committed, and goes on with the right offsets', async () => {
    const src = new MemorySource({ topic: 't', partitions: 1, maxBatchSize: 1000 });
    const r = recorder();
    await src.start(r.handlers);
    for (let i = 0; i < 3000; i++) src.publish({ key: 'k', value: String(i) });
    await until(() => r.seen.length === 3000, 'every record');
    expect(src.retained).toBe(3000); // nothing committed yet
    await src.commit([{ topic: 't', partition: 0, offset: '2500' }]);
    expect(src.retained).toBe(500);
    src.publish({ key: 'k', value: 'late' });
    await until(() => r.seen.length === 3001, 'the late record');
    expect(r.seen[3000]).toMatchObject({ offset: '3000', value: 'late' });
    await src.commit([{ topic: 't', partition: 0, offset: '2600' }]);
    expect(src.retained).toBe(501); // small steps are not worth a splice
    await src.stop();
  });

  it('pause stops feeding (the batch under way finishes), resume continues in order', async () => {
    const src = new MemorySource({ partitions: 1, maxBatchSize: 2 });
    const r = recorder({ delayMs: 5 });
    await src.start(r.handlers);
    for (let i = 0; i < 6; i++) src.publish({ key: 'k', value: String(i) });
    await until(() => r.seen.length >= 1, 'the first record');
    src.pause();
    expect(src.isPaused).toBe(true);
    await sleep(60);
    const whilePaused = r.seen.length;
    expect(whilePaused).toBe(2); // the first batch (2 records) finished, nothing more
    src.publish({ key: 'k', value: '6' });
    await sleep(30);
    expect(r.seen.length).toBe(whilePaused);
    expect(src.lag).toBe(5);
    src.resume();
    await until(() => r.seen.length === 7, 'the rest');
    expect(r.seen.map((s) => s.value)).toEqual(['0', '1', '2', '3', '4', '5', '6']);
    await src.stop();
  });

  it('stop ends fetching, waits for the running batch and turns isRunning false', async () => {
    const src = new MemorySource({ partitions: 1 });
    const seen: { ctx: BatchContext | null } = { ctx: null };
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let finished = false;
    await src.start({
      onAssignment: async () => {},
      onBatch: async (_records, ctx) => {
        seen.ctx = ctx;
        await gate;
        finished = true;
      },
    });
    src.publish({ key: 'k', value: '1' });
    await until(() => seen.ctx !== null, 'the batch');
    expect(seen.ctx!.isRunning()).toBe(true);
    await expect(src.ping(100)).resolves.toBeUndefined();
    const stopping = src.stop();
    expect(seen.ctx!.isRunning()).toBe(false);
    release();
    await stopping;
    expect(finished).toBe(true);
    await expect(src.ping(100)).rejects.toThrow(/stopped/);
  });
});

describe('MemorySource under the integrator', () => {
  it('feeds the pipeline; every delivery arrives and the commit point reaches the end of each partition', async () => {
    const mocks = await startMockCustomers({
      port: 0,
      host: '127.0.0.1',
      customers: [
        { id: 'customer-1', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' },
        { id: 'customer-3', secret: 'whsec_NwzQsjRtQwnQ5iQyo5dzqqGhYAlKgVlr', behavior: { latencyMs: 5 } },
      ],
    });
    const customers = JSON.stringify({
      customers: mocks.customers.map((c) => ({ id: c.id, url: c.url, secret: c.secret })),
    });
    const result = loadConfig(
      {
        KAFKA_BROKERS: 'in-process:9092',
        RETRY_STORE: 'memory',
        CUSTOMERS_FILE: 'customers.json',
        PORT: '0',
        HOST: '127.0.0.1',
        LOG_LEVEL: 'silent',
        COMMIT_INTERVAL_MS: '20',
      },
      () => customers,
    );
    if (!result.ok) throw new Error(result.problems.join('\n'));
    const source = new MemorySource({ topic: result.config.kafka.topics[0]!, partitions: 3 });
    const integrator = createIntegrator(result.config, { source, log: createLogger('silent') });
    await integrator.start();
    try {
      const feed = new DebeziumChangeFeed({ schemas: false });
      const statuses = ['Package Posted', 'In Transit', 'Out for Delivery', 'Package Delivered'];
      let id = 0;
      for (const status of statuses) {
        for (let p = 0; p < 10; p++) {
          id += 1;
          const record = feed.insert({
            id,
            package_id: `PKG-${p}`,
            customer_id: p % 2 === 0 ? 'customer-1' : 'customer-3',
            status,
            actual_address: 'here',
            next_address: status === 'Package Delivered' ? null : 'there',
            created_at: new Date(),
          });
          source.publish({ key: record.key, value: record.value });
        }
        // A poison record and a tombstone share the path and must not hold the commit point.
        source.publish({ key: '{"package_id":"PKG-x"}', value: 'not json' });
        source.publish({ key: '{"package_id":"PKG-0"}', value: null });
      }
      await until(
        () => mocks.ledger('customer-1').unique === 20 && mocks.ledger('customer-3').unique === 20,
        'every delivery',
        10_000,
      );
      await until(
        () =>
          source.partitionStates().every((p) => p.committed === (p.end === '0' ? null : p.end)) &&
          source.committed().length > 0,
        'the commit point at the end of every partition',
        10_000,
      );
      for (const id of ['customer-1', 'customer-3']) {
        const ledger = mocks.ledger(id);
        expect(ledger.outOfOrder).toBe(0);
        expect(ledger.invalidSignatures).toBe(0);
        expect(ledger.duplicates).toBe(0);
      }
      expect(source.lag).toBe(0);
    } finally {
      await integrator.stop();
      await mocks.close();
    }
  });
});
