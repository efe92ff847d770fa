/**
 * The mock customer APIs over real HTTP: a server on port 0, real signed requests through undici.
 * Timing bounds are generous (2 cores, files in parallel); behaviour is asserted, not speed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BehaviorValidationError } from '../../mock-customers/behavior.ts';
import { DEFAULT_MOCK_CUSTOMERS } from '../../mock-customers/customers.ts';
import { startMockCustomers, UnknownCustomerError } from '../../mock-customers/server.ts';
import type { MockCustomers } from '../../mock-customers/server.ts';
import { eventBody, hmacSignature, jsonRequest, newAgent, postWebhook } from './helpers.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const OTHER_SECRET = 'whsec_YVdiei3QehZusGHArXkh8FwpFRCkGcyn';

let mocks: MockCustomers;
const agent = newAgent();
let eventCounter = 0;

/** A fresh customer id per test, so tests do not see each other's ledgers. */
const ids = [
  'latency',
  'jitter',
  'distribution',
  'errors',
  'reset',
  'hang',
  'limited',
  'gone',
  'runtime',
  'signatures',
  'ledger',
  'metrics',
  'malformed',
] as const;
type Id = (typeof ids)[number];

const url = (id: Id | string, path = 'webhooks') => `${mocks.url}/customers/${id}/${path}`;
const nextEvent = (extra: Partial<Parameters<typeof eventBody>[0]> = {}) => {
  eventCounter += 1;
  return eventBody({ id: `evt_${eventCounter}`, position: eventCounter, ...extra });
};
const post = (id: Id, body = nextEvent(), options: Parameters<typeof postWebhook>[3] = {}) =>
  postWebhook(url(id), SECRET, body, { dispatcher: agent, ...options });

beforeAll(async () => {
  mocks = await startMockCustomers({
    port: 0,
    host: '127.0.0.1',
    customers: ids.map((id) => ({ id, secret: SECRET })),
  });
});

afterAll(async () => {
  await mocks.close();
  await agent.close();
});

describe('latency', () => {
  it('waits latencyMs before answering 200', async () => {
    mocks.setBehavior('latency', { latencyMs: 400 });
    const response = await post('latency');
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ ok: true });
    expect(response.elapsedMs).toBeGreaterThanOrEqual(390);
    expect(response.elapsedMs).toBeLessThan(5_000);
    const stats = mocks.ledger('latency');
    expect(stats).toMatchObject({ requests: 1, received: 1, unique: 1 });
    expect(stats.latencyMs.p50).toBeGreaterThanOrEqual(395);
    expect(stats.latencyMs.max).toBeLessThan(5_000);
  });

  it('jitter spreads latencies over latencyMs ± jitterMs', async () => {
    mocks.setBehavior('jitter', { latencyMs: 300, jitterMs: 200 });
    const responses = await Promise.all(Array.from({ length: 16 }, () => post('jitter')));
    const elapsed = responses.map((response) => response.elapsedMs);
    expect(responses.every((response) => response.status === 200)).toBe(true);
    expect(Math.min(...elapsed)).toBeGreaterThanOrEqual(95);
    expect(Math.max(...elapsed)).toBeLessThan(5_000);
    // 16 uniform draws over 400 ms are all within 50 ms of each other with probability < 1e-10.
    expect(Math.max(...elapsed) - Math.min(...elapsed)).toBeGreaterThan(50);
  });

  it('a p50/p99 distribution centres on p50', async () => {
    mocks.setBehavior('distribution', { latencyDistribution: { p50Ms: 150, p99Ms: 600 } });
    const responses = await Promise.all(Array.from({ length: 40 }, () => post('distribution')));
    expect(responses.every((response) => response.status === 200)).toBe(true);
    const { latencyMs } = mocks.ledger('distribution');
    expect(latencyMs.count).toBe(40);
    expect(latencyMs.p50).toBeGreaterThan(75);
    expect(latencyMs.p50).toBeLessThan(400);
  });
});

describe('injected failures', () => {
  it('errorRate: the share of errorStatus answers is within statistical bounds over 400 requests', async () => {
    mocks.setBehavior('errors', { errorRate: 0.3, errorStatus: 503 });
    const statuses: number[] = [];
    for (let batch = 0; batch < 10; batch += 1) {
      const responses = await Promise.all(Array.from({ length: 40 }, () => post('errors')));
      statuses.push(...responses.map((response) => response.status));
    }
    const errors = statuses.filter((status) => status === 503).length;
    // Binomial(400, 0.3): mean 120, sd ≈ 9.2; ±5 sd.
    expect(errors).toBeGreaterThan(74);
    expect(errors).toBeLessThan(166);
    expect(statuses.filter((status) => status !== 503 && status !== 200)).toEqual([]);
    const stats = mocks.ledger('errors');
    expect(stats).toMatchObject({
      requests: 400,
      received: 400 - errors,
      unique: 400 - errors,
      injected: { error: errors },
    });
  });

  it('resetRate: the client sees a socket error and no response', async () => {
    mocks.setBehavior('reset', { resetRate: 1 });
    const error = await post('reset').then(
      () => undefined,
      (failure: unknown) => failure as Error & { code?: string },
    );
    expect(error).toBeInstanceOf(Error);
    expect(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE']).toContain(error?.code);
    expect(mocks.ledger('reset')).toMatchObject({ requests: 1, received: 0, injected: { reset: 1 } });
    // The server is fine afterwards.
    mocks.setBehavior('reset', { resetRate: 0 });
    expect((await post('reset')).status).toBe(200);
  });

  it('hangRate: no answer; the request stays open until the client gives up', async () => {
    mocks.setBehavior('hang', { hangRate: 1 });
    const started = performance.now();
    await expect(post('hang', nextEvent(), { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(mocks.ledger('hang')).toMatchObject({ requests: 1, received: 0, injected: { hang: 1 } });
  });

  it('rateLimitPerSecond: above the limit 429 with Retry-After in seconds', async () => {
    mocks.setBehavior('limited', { rateLimitPerSecond: 2 });
    const responses = [];
    for (let i = 0; i < 6; i += 1) responses.push(await post('limited'));
    expect(responses.slice(0, 2).map((response) => response.status)).toEqual([200, 200]);
    const limited = responses.filter((response) => response.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(3);
    for (const response of limited) {
      expect(response.headers['retry-after']).toBe('1');
      expect(JSON.parse(response.body)).toEqual({ error: 'rate limited', retryAfterSeconds: 1 });
    }
    expect(mocks.ledger('limited').injected.rateLimited).toBe(limited.length);
  });

  it('goneRate 1: 410 Gone, not received', async () => {
    mocks.setBehavior('gone', { goneRate: 1 });
    const response = await post('gone');
    expect(response.status).toBe(410);
    expect(mocks.ledger('gone')).toMatchObject({ received: 0, injected: { gone: 1 } });
  });
});

describe('runtime behaviour over HTTP', () => {
  it('PUT changes knobs partially, GET shows them, DELETE restores the start', async () => {
    const put = await jsonRequest(url('runtime', 'behavior'), 'PUT', {
      errorRate: 1,
      errorStatus: 503,
      errorRetryAfterSeconds: 7,
    });
    expect(put.status).toBe(200);
    expect(put.json).toMatchObject({
      errorRate: 1,
      errorStatus: 503,
      errorRetryAfterSeconds: 7,
      latencyMs: 0,
    });

    const failed = await post('runtime');
    expect(failed.status).toBe(503);
    expect(failed.headers['retry-after']).toBe('7');

    await jsonRequest(url('runtime', 'behavior'), 'PUT', { latencyMs: 20 });
    const got = await jsonRequest(url('runtime', 'behavior'));
    expect(got.json).toMatchObject({ errorRate: 1, latencyMs: 20 });

    const restored = await jsonRequest(url('runtime', 'behavior'), 'DELETE');
    expect(restored.json).toMatchObject({ errorRate: 0, latencyMs: 0 });
    expect((await post('runtime')).status).toBe(200);
  });

  it('a bad PUT gets 400 naming the field and changes nothing', async () => {
    const before = mocks.behavior('runtime');
    const bad = await jsonRequest(url('runtime', 'behavior'), 'PUT', { errorRate: 1.5 });
    expect(bad.status).toBe(400);
    expect(bad.json).toEqual({ error: 'invalid behavior', fields: { errorRate: 'must be between 0 and 1' } });
    const several = await jsonRequest(url('runtime', 'behavior'), 'PUT', { hangRate: -1, speed: 3 });
    expect(several.json).toEqual({
      error: 'invalid behavior',
      fields: { hangRate: 'must be between 0 and 1', speed: 'is not a known knob' },
    });
    expect(mocks.behavior('runtime')).toEqual(before);
  });

  it('unknown customers get 404 everywhere; in-process calls throw', async () => {
    expect((await postWebhook(url('nobody'), SECRET, nextEvent(), { dispatcher: agent })).status).toBe(404);
    expect((await jsonRequest(url('nobody', 'behavior'))).status).toBe(404);
    expect((await jsonRequest(url('nobody', 'behavior'), 'PUT', { latencyMs: 1 })).status).toBe(404);
    expect((await jsonRequest(url('nobody', 'stats'))).status).toBe(404);
    expect((await jsonRequest(url('nobody', 'stats/reset'), 'POST')).status).toBe(404);
    expect(() => mocks.ledger('nobody')).toThrow(UnknownCustomerError);
    expect(() => mocks.setBehavior('runtime', { errorRate: 2 })).toThrow(BehaviorValidationError);
  });

  it('GET /healthz and GET /customers', async () => {
    expect((await jsonRequest(`${mocks.url}/healthz`)).json).toEqual({ ok: true });
    const listed = (await jsonRequest(`${mocks.url}/customers`)).json as { customers: { id: string }[] };
    expect(listed.customers.map((customer) => customer.id)).toEqual([...ids]);
  });
});

describe('signatures', () => {
  it('refuses a bad signature, another secret, a stale timestamp and missing headers with 401', async () => {
    const event = nextEvent();
    const bad = await post('signatures', event, { signature: 'v1,AAAA' });
    const other = await postWebhook(url('signatures'), OTHER_SECRET, event, { dispatcher: agent });
    const stale = await post('signatures', event, { timestamp: Math.floor(Date.now() / 1000) - 3600 });
    const now = Math.floor(Date.now() / 1000);
    const tampered = await post('signatures', event, {
      webhookId: 'evt_other',
      timestamp: now,
      signature: hmacSignature(SECRET, String(event['id']), now, JSON.stringify(event)),
    });
    for (const response of [bad, other, tampered]) {
      expect(response.status).toBe(401);
      expect(JSON.parse(response.body)).toMatchObject({
        error: 'invalid signature',
        reason: 'bad_signature',
      });
    }
    expect(stale.status).toBe(401);
    expect(JSON.parse(stale.body)).toMatchObject({ reason: 'stale_timestamp' });

    const unsigned = await jsonRequest(url('signatures'), 'POST', event, agent);
    expect(unsigned.status).toBe(401);

    expect(mocks.ledger('signatures')).toMatchObject({
      requests: 5,
      received: 0,
      invalidSignatures: 5,
      invalidSignatureReasons: { bad_signature: 3, stale_timestamp: 1, missing_headers: 1 },
    });
    // The same event, properly signed, is accepted.
    expect((await post('signatures', event)).status).toBe(200);
  });

  it('accepts a validly signed delivery whose body id differs from webhook-id, and counts it', async () => {
    mocks.resetStats('signatures');
    expect((await post('signatures', nextEvent(), { webhookId: 'evt_mismatch' })).status).toBe(200);
    expect(mocks.ledger('signatures')).toMatchObject({ received: 1, idMismatches: 1 });
  });

  it('verifies the body bytes as sent: whitespace and key order are part of the signature', async () => {
    const text = '{ "id":"evt_ws",  "type":"package_status.created", "data":{"id":1,"package_id":"P"} }\n';
    const response = await postWebhook(url('signatures'), SECRET, text, {
      webhookId: 'evt_ws',
      dispatcher: agent,
    });
    expect(response.status).toBe(200);
  });

  it('a validly signed body that is not a JSON object gets 400 and counts as malformed', async () => {
    const response = await postWebhook(url('malformed'), SECRET, 'not json', { dispatcher: agent });
    expect(response.status).toBe(400);
    expect(mocks.ledger('malformed')).toMatchObject({ malformed: 1, received: 0, invalidSignatures: 0 });
  });
});

describe('ledger over HTTP', () => {
  it('detects duplicates and out-of-order deliveries per package, lists deliveries, resets', async () => {
    const e1 = eventBody({ id: 'evt_L1', packageId: 'PKG-A', position: 10, status: 'Package Posted' });
    const e2 = eventBody({ id: 'evt_L2', packageId: 'PKG-A', position: 11, status: 'In Transit' });
    const e3 = eventBody({ id: 'evt_L3', packageId: 'PKG-A', position: 9, status: 'Out for Delivery' });
    const e4 = eventBody({ id: 'evt_L4', packageId: 'PKG-B', position: 5, status: 'Package Posted' });
    for (const event of [e1, e2, e3, e2, e4]) expect((await post('ledger', event)).status).toBe(200);

    const stats = (await jsonRequest(url('ledger', 'stats'))).json;
    expect(stats).toMatchObject({
      requests: 5,
      received: 5,
      unique: 4,
      duplicates: 1,
      outOfOrder: 1,
      orderUnknown: 0,
      idMismatches: 0,
    });
    const all = (await jsonRequest(`${mocks.url}/stats`)).json as { customers: Record<string, unknown> };
    expect(all.customers['ledger']).toEqual(stats);

    const { deliveries } = (await jsonRequest(url('ledger', 'deliveries'))).json as {
      deliveries: {
        eventId: string;
        packageId: string;
        position: string;
        duplicate: boolean;
        outOfOrder: boolean;
      }[];
    };
    expect(deliveries.map((d) => [d.eventId, d.packageId, d.position, d.duplicate, d.outOfOrder])).toEqual([
      ['evt_L1', 'PKG-A', '10', false, false],
      ['evt_L2', 'PKG-A', '11', false, false],
      ['evt_L3', 'PKG-A', '9', false, true],
      ['evt_L2', 'PKG-A', '11', true, false],
      ['evt_L4', 'PKG-B', '5', false, false],
    ]);
    expect(mocks.ledger('ledger').deliveries).toHaveLength(5);

    const reset = await jsonRequest(url('ledger', 'stats/reset'), 'POST');
    expect(reset.json).toMatchObject({ requests: 0, received: 0, unique: 0, duplicates: 0, outOfOrder: 0 });
    // After a reset, an event seen before is new again.
    expect((await post('ledger', e1)).status).toBe(200);
    expect(mocks.ledger('ledger')).toMatchObject({ received: 1, unique: 1, duplicates: 0 });
  });

  it('a request whose client gives up during the latency is abandoned, not received', async () => {
    mocks.setBehavior('ledger', { latencyMs: 5_000 });
    mocks.resetStats('ledger');
    await expect(post('ledger', nextEvent(), { signal: AbortSignal.timeout(200) })).rejects.toThrow();
    await waitFor(() => mocks.ledger('ledger').abandoned === 1);
    expect(mocks.ledger('ledger')).toMatchObject({ requests: 1, received: 0, abandoned: 1 });
    mocks.setBehavior('ledger', { latencyMs: 0 });
  });
});

describe('GET /metrics', () => {
  it('exposes requests by customer and result, and the response-time histogram', async () => {
    const event = nextEvent();
    await post('metrics', event);
    await post('metrics', event);
    await post('metrics', event, { signature: 'v1,AAAA' });
    const { text, status } = await jsonRequest(`${mocks.url}/metrics`);
    expect(status).toBe(200);
    expect(text).toContain('mock_customer_requests_total{customer="metrics",result="ok"} 1');
    expect(text).toContain('mock_customer_requests_total{customer="metrics",result="duplicate"} 1');
    expect(text).toContain('mock_customer_requests_total{customer="metrics",result="invalid_signature"} 1');
    expect(text).toMatch(/mock_customer_response_seconds_count\{customer="metrics",result="ok"\} 1/);
  });
});

describe('defaults and shutdown', () => {
  it('without customers it plays the default three with the well-known secrets', async () => {
    const defaults = await startMockCustomers({ port: 0, host: '127.0.0.1' });
    try {
      expect(defaults.customers.map(({ id, secret }) => ({ id, secret }))).toEqual(
        DEFAULT_MOCK_CUSTOMERS.map(({ id, secret }) => ({ id, secret })),
      );
      expect(defaults.customers[0]?.url).toBe(`${defaults.url}/customers/customer-1/webhooks`);
      expect(defaults.behavior('customer-2').latencyMs).toBe(30_000);
      const first = DEFAULT_MOCK_CUSTOMERS[0];
      const response = await postWebhook(defaults.customers[0]?.url ?? '', first?.secret ?? '', nextEvent(), {
        dispatcher: agent,
      });
      expect(response.status).toBe(200);
      expect(response.elapsedMs).toBeGreaterThanOrEqual(290);
    } finally {
      await defaults.close();
    }
  });

  it('close() finishes promptly with hanging and sleeping requests open', async () => {
    const local = await startMockCustomers({
      port: 0,
      host: '127.0.0.1',
      customers: [
        { id: 'stuck', secret: SECRET, behavior: { hangRate: 1 } },
        { id: 'slow', secret: SECRET, behavior: { latencyMs: 60_000 } },
      ],
    });
    const hanging = postWebhook(`${local.url}/customers/stuck/webhooks`, SECRET, nextEvent(), {
      dispatcher: agent,
    });
    const sleeping = postWebhook(`${local.url}/customers/slow/webhooks`, SECRET, nextEvent(), {
      dispatcher: agent,
    });
    const settled = Promise.allSettled([hanging, sleeping]);
    await waitFor(() => local.ledger('stuck').injected.hang === 1 && local.ledger('slow').requests === 1);

    const started = performance.now();
    await local.close();
    expect(performance.now() - started).toBeLessThan(3_000);
    const outcomes = await settled;
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect(local.ledger('slow')).toMatchObject({ received: 0, abandoned: 0 });
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
