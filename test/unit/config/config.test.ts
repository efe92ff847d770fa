import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/config.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const customer = (over: Record<string, unknown> = {}) => ({
  id: 'customer-1',
  url: 'http://127.0.0.1:4000/customers/customer-1/webhooks',
  secret: SECRET,
  ...over,
});
const files = (doc: unknown) => () => (typeof doc === 'string' ? doc : JSON.stringify(doc));
const env = {
  KAFKA_BROKERS: 'localhost:9092',
  REDIS_URL: 'redis://localhost:6379',
  CUSTOMERS_FILE: '/c.json',
};

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const r = loadConfig(env, files({ customers: [customer()] }));
    if (!r.ok) throw new Error(r.problems.join('\n'));
    expect(r.config.kafka).toMatchObject({
      brokers: ['localhost:9092'],
      topics: ['dbserver1.public.package_status'],
      groupId: 'package-status-integrator',
      sessionTimeoutMs: 30_000,
      maxWaitMs: 5000,
    });
    expect(r.config.http).toEqual({ port: 8080, host: '0.0.0.0' });
    expect(r.config.adminToken).toBeNull();
    expect(r.config.customers[0]).toMatchObject({
      match: { customer_id: 'customer-1' },
      concurrency: 16,
      ratePerSecond: null,
      timeoutMs: 60_000,
      retry: { maxAttempts: 8, baseDelayMs: 1000, maxDelayMs: 600_000 },
      breaker: {
        errorThresholdPercentage: 50,
        volumeThreshold: 10,
        windowMs: 10_000,
        resetTimeoutMs: 30_000,
      },
    });
  });

  it('OUTBOX_TOPICS: none by default; consumed beside KAFKA_TOPICS and kept apart for decoding', () => {
    const none = loadConfig(env, files({ customers: [customer()] }));
    expect(none.ok && none.config.outboxTopics).toEqual([]);
    const r = loadConfig(
      { ...env, OUTBOX_TOPICS: ' outbox.event.package , outbox.event.order,outbox.event.package' },
      files({ customers: [customer()] }),
    );
    if (!r.ok) throw new Error(r.problems.join('\n'));
    expect(r.config.outboxTopics).toEqual(['outbox.event.package', 'outbox.event.order']);
    expect(r.config.kafka.topics).toEqual([
      'dbserver1.public.package_status',
      'outbox.event.package',
      'outbox.event.order',
    ]);
  });

  it('OUTBOX_TOPICS: a topic cannot be both kinds, and names must be Kafka topic names', () => {
    const r = loadConfig(
      { ...env, KAFKA_TOPICS: 'a,b', OUTBOX_TOPICS: 'b,bad topic' },
      files({ customers: [customer()] }),
    );
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problems).toEqual([
      'OUTBOX_TOPICS: "b" is also in KAFKA_TOPICS; a topic holds either change events or outbox records',
      'OUTBOX_TOPICS: "bad topic" is not a Kafka topic name ([a-zA-Z0-9._-], at most 249)',
    ]);
  });

  it('RETRY_STORE=memory needs no REDIS_URL', () => {
    const r = loadConfig(
      { ...env, REDIS_URL: undefined, RETRY_STORE: 'memory' },
      files({ customers: [customer()] }),
    );
    expect(r.ok && r.config.store).toEqual({ kind: 'memory' });
  });

  it('reports every problem at once', () => {
    const r = loadConfig(
      {
        KAFKA_BROKERS: 'nohostport',
        KAFKA_MAX_WAIT_MS: 'soon',
        PORT: '99999',
        LOG_LEVEL: 'loud',
        CUSTOMERS_FILE: '/c.json',
      },
      files({
        customers: [
          customer({ id: 'Customer 1', url: 'ftp://x', secret: 'plain', concurrency: 0 }),
          customer({ retry: { maxAttempts: 0 }, breaker: { errorThresholdPercentage: 150 }, surprise: true }),
          customer(),
        ],
      }),
    );
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.problems;
    const expected = [
      /KAFKA_BROKERS: "nohostport" is not host:port/,
      /KAFKA_MAX_WAIT_MS: must be an integer/,
      /PORT: must be an integer/,
      /LOG_LEVEL/,
      /REDIS_URL: required/,
      /customers\.0\.id: must match/,
      /customers\.0\.url: must be an absolute http/,
      /customers\.0\.secret: must be "whsec_"/,
      /customers\.0\.concurrency/,
      /customers\.1\.retry\.maxAttempts/,
      /customers\.1\.breaker\.errorThresholdPercentage/,
      /customers\.1.*surprise/,
      /customers\.2\.id: duplicate id "customer-1"/,
    ];
    for (const re of expected)
      expect(
        problems.some((p) => re.test(p)),
        `${re} in\n${problems.join('\n')}`,
      ).toBe(true);
  });

  it.each([
    [
      'missing file',
      () => {
        throw new Error('ENOENT: no such file');
      },
      /cannot read/,
    ],
    ['not JSON', files('{nope'), /not valid JSON/],
    ['no customers', files({ customers: [] }), /at least one customer/],
  ])('customers file: %s', (_n, reader, re) => {
    const r = loadConfig(env, reader as () => string);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.problems.some((p) => re.test(p))).toBe(true);
  });

  it('requires CUSTOMERS_FILE and KAFKA_BROKERS', () => {
    const r = loadConfig({ REDIS_URL: 'redis://x:1' });
    expect(!r.ok && r.problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/KAFKA_BROKERS: required/),
        expect.stringMatching(/CUSTOMERS_FILE: required/),
      ]),
    );
  });

  it('accepts match lists and "*"', () => {
    const r = loadConfig(
      env,
      files({
        customers: [
          customer({ match: '*' }),
          customer({ id: 'b', match: { status: ['In Transit', 'Package Delivered'] } }),
        ],
      }),
    );
    expect(r.ok && r.config.customers.map((c) => c.match)).toEqual([
      '*',
      { status: ['In Transit', 'Package Delivered'] },
    ]);
  });
});
