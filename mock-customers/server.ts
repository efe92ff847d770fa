/**
 * The mock customer APIs: one fastify server playing any number of customers, usable from the command line
 * (main.ts) and in-process from tests (startMockCustomers).
 *
 * A webhook request goes: unknown customer → 404; signature (raw body string, `standardwebhooks`) → 401;
 * body not a JSON object → 400; then the behaviour decides (behavior.ts): 429 over the rate limit, else
 * reset / hang / 410 / injected error / 200, the answered ones after the sampled latency. Only a 200 that
 * was actually written enters the ledger as received.
 *
 * close() never waits for hanging or sleeping requests: it wakes every sleeper and destroys every open
 * connection (fastify `forceCloseConnections`).
 */
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import Fastify, { LogController } from 'fastify';
import type { FastifyBaseLogger, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Webhook } from 'standardwebhooks';
import { BASE_BEHAVIOR, decide, mergeBehavior, applyBehaviorPatch } from './behavior.ts';
import type { Behavior, BehaviorPatch, Random } from './behavior.ts';
import { DEFAULT_MOCK_CUSTOMERS, checkCustomerId, checkSecret, webhookPath } from './customers.ts';
import type { MockCustomerSpec } from './customers.ts';
import { extractEventFacts, Ledger } from './ledger.ts';
import type { LedgerSnapshot, LedgerStats, InjectedKind } from './ledger.ts';
import { createMetrics } from './metrics.ts';
import type { MockMetrics, RequestResult } from './metrics.ts';
import { TokenBucket } from './rate-limiter.ts';
import type { Clock } from './rate-limiter.ts';
import { verifySignature } from './signature.ts';

export interface StartMockCustomersOptions {
  /** 0 = an ephemeral port. Default 4000. */
  port?: number;
  /** Default 0.0.0.0. */
  host?: string;
  /** Default: DEFAULT_MOCK_CUSTOMERS (customer-1 300 ms, customer-2 30 s, customer-3 300 ms). */
  customers?: readonly MockCustomerSpec[];
  /** true = pino at info, a pino logger = that logger, false (default) = silent. */
  logger?: boolean | FastifyBaseLogger;
  /** Uniform [0,1) source for outcomes and latencies. Default Math.random. */
  random?: Random;
  /** Milliseconds clock for the rate limiters. Default performance.now. */
  now?: Clock;
  /** Deliveries kept per customer for inspection. Default 10 000. */
  deliveryLogLimit?: number;
}

export interface MockCustomerInfo {
  id: string;
  secret: string;
  /** The customer's webhook URL, e.g. http://127.0.0.1:4000/customers/customer-1/webhooks. */
  url: string;
}

export interface MockCustomers {
  /** Base URL, e.g. http://127.0.0.1:4000 (0.0.0.0 / :: are reported as 127.0.0.1). */
  url: string;
  port: number;
  customers: readonly MockCustomerInfo[];
  /** Counters, latency percentiles and the capped delivery list. Throws on an unknown id. */
  ledger(id: string): LedgerSnapshot;
  behavior(id: string): Behavior;
  /** Partial update, validated like PUT /customers/:id/behavior; throws BehaviorValidationError. */
  setBehavior(id: string, patch: BehaviorPatch): Behavior;
  /** Fresh ledger for one customer, or all when no id. */
  resetStats(id?: string): void;
  close(): Promise<void>;
}

interface CustomerState {
  readonly id: string;
  readonly secret: string;
  readonly webhook: Webhook;
  readonly initialBehavior: Behavior;
  behavior: Behavior;
  limiter: TokenBucket | null;
  ledger: Ledger;
}

export class UnknownCustomerError extends Error {
  readonly code = 'MOCK_UNKNOWN_CUSTOMER';
  constructor(readonly customerId: string) {
    super(`unknown mock customer "${customerId}"`);
    this.name = 'UnknownCustomerError';
  }
}

type IdParams = { Params: { id: string } };

const INJECTED_BY_RESULT: Partial<Record<RequestResult, InjectedKind>> = {
  rate_limited: 'rateLimited',
  reset: 'reset',
  hang: 'hang',
  error: 'error',
  gone: 'gone',
};

function createCustomerStates(
  specs: readonly MockCustomerSpec[],
  ledgerOptions: { deliveryLogLimit?: number },
  now: Clock,
): Map<string, CustomerState> {
  const states = new Map<string, CustomerState>();
  for (const spec of specs) {
    const problems = [...checkCustomerId(spec.id), ...checkSecret(spec.secret)];
    if (problems.length > 0) throw new Error(`mock customer "${spec.id}": ${problems.join('; ')}`);
    if (states.has(spec.id)) throw new Error(`mock customer "${spec.id}" is listed twice`);
    const behavior = mergeBehavior(BASE_BEHAVIOR, spec.behavior ?? {});
    states.set(spec.id, {
      id: spec.id,
      secret: spec.secret,
      webhook: new Webhook(spec.secret),
      initialBehavior: behavior,
      behavior,
      limiter:
        behavior.rateLimitPerSecond === null ? null : new TokenBucket(behavior.rateLimitPerSecond, now),
      ledger: new Ledger(ledgerOptions),
    });
  }
  return states;
}

/** Sleeps `ms`; resolves false early when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  if (ms <= 0) return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      },
      Math.min(ms, 2 ** 31 - 1),
    );
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

export async function startMockCustomers(options: StartMockCustomersOptions = {}): Promise<MockCustomers> {
  const random = options.random ?? Math.random;
  const now = options.now ?? (() => performance.now());
  const ledgerOptions =
    options.deliveryLogLimit === undefined ? {} : { deliveryLogLimit: options.deliveryLogLimit };
  const states = createCustomerStates(options.customers ?? DEFAULT_MOCK_CUSTOMERS, ledgerOptions, now);
  const metrics = createMetrics();
  // Every request waiting out its latency, so that close() can wake them all.
  const sleepers = new Set<AbortController>();
  let closing = false;

  const loggerOption = options.logger ?? false;
  const app: FastifyInstance = Fastify({
    ...(typeof loggerOption === 'boolean' ? { logger: loggerOption } : { loggerInstance: loggerOption }),
    forceCloseConnections: true,
    // Per-request lines would drown everything under load; outcomes are in /stats and /metrics.
    logController: new LogController({ disableRequestLogging: true }),
  });

  const customer = (id: string): CustomerState => {
    const state = states.get(id);
    if (state === undefined) throw new UnknownCustomerError(id);
    return state;
  };

  const setBehavior = (id: string, behavior: Behavior): Behavior => {
    const state = customer(id);
    if (behavior.rateLimitPerSecond !== state.behavior.rateLimitPerSecond) {
      state.limiter =
        behavior.rateLimitPerSecond === null ? null : new TokenBucket(behavior.rateLimitPerSecond, now);
    }
    state.behavior = behavior;
    app.log.info({ customer: id, behavior }, 'mock customer behavior changed');
    return behavior;
  };

  const resetStats = (id?: string): void => {
    const targets = id === undefined ? [...states.values()] : [customer(id)];
    for (const state of targets) state.ledger = new Ledger(ledgerOptions);
  };

  registerAdminRoutes(app, states, metrics, { customer, setBehavior, resetStats });
  await app.register(async (scope) => {
    // The signature covers the body bytes exactly as sent: take every body as an unparsed string here.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    scope.post<IdParams>('/customers/:id/webhooks', (request, reply) =>
      handleWebhook(request, reply, { states, metrics, random, sleepers, isClosing: () => closing }),
    );
  });

  await app.listen({ port: options.port ?? 4000, host: options.host ?? '0.0.0.0' });
  const address = app.server.address() as AddressInfo;
  const reportedHost =
    address.address === '0.0.0.0' || address.address === '::'
      ? '127.0.0.1'
      : address.family === 'IPv6'
        ? `[${address.address}]`
        : address.address;
  const url = `http://${reportedHost}:${address.port}`;

  let closed: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    customers: [...states.values()].map((state) => ({
      id: state.id,
      secret: state.secret,
      url: url + webhookPath(state.id),
    })),
    ledger: (id) => customer(id).ledger.snapshot(),
    behavior: (id) => ({ ...customer(id).behavior }),
    setBehavior: (id, patch) => setBehavior(id, mergeBehavior(customer(id).behavior, patch)),
    resetStats,
    close: () => {
      closed ??= (async () => {
        closing = true;
        for (const sleeper of sleepers) sleeper.abort();
        await app.close();
      })();
      return closed;
    },
  };
}

interface AdminHooks {
  customer(id: string): CustomerState;
  setBehavior(id: string, behavior: Behavior): Behavior;
  resetStats(id?: string): void;
}

function registerAdminRoutes(
  app: FastifyInstance,
  states: Map<string, CustomerState>,
  metrics: MockMetrics,
  hooks: AdminHooks,
): void {
  const withCustomer = (id: string, reply: FastifyReply): CustomerState | undefined => {
    const state = states.get(id);
    if (state === undefined) void reply.code(404).send({ error: 'unknown customer', customer: id });
    return state;
  };

  app.get('/healthz', async () => ({ ok: true }));

  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  app.get('/customers', async () => ({
    customers: [...states.values()].map((state) => ({
      id: state.id,
      webhookPath: webhookPath(state.id),
      behavior: state.behavior,
    })),
  }));

  app.get<IdParams>('/customers/:id/behavior', async (request, reply) => {
    const state = withCustomer(request.params.id, reply);
    return state === undefined ? reply : state.behavior;
  });

  app.put<IdParams>('/customers/:id/behavior', async (request, reply) => {
    const state = withCustomer(request.params.id, reply);
    if (state === undefined) return reply;
    const result = applyBehaviorPatch(state.behavior, request.body);
    if (!result.ok) return reply.code(400).send({ error: 'invalid behavior', fields: result.fields });
    return hooks.setBehavior(state.id, result.behavior);
  });

  app.delete<IdParams>('/customers/:id/behavior', async (request, reply) => {
    const state = withCustomer(request.params.id, reply);
    return state === undefined ? reply : hooks.setBehavior(state.id, state.initialBehavior);
  });

  app.get<IdParams>('/customers/:id/stats', async (request, reply) => {
    const state = withCustomer(request.params.id, reply);
    return state === undefined ? reply : state.ledger.stats();
  });

  app.get<IdParams>('/customers/:id/deliveries', async (request, reply) => {
    const state = withCustomer(request.params.id, reply);
    if (state === undefined) return reply;
    const { deliveries, deliveriesDropped } = state.ledger.snapshot();
    return { deliveries, deliveriesDropped };
  });

  app.post<IdParams>('/customers/:id/stats/reset', async (request, reply) => {
    const state = withCustomer(request.params.id, reply);
    if (state === undefined) return reply;
    hooks.resetStats(state.id);
    return state.ledger.stats();
  });

  app.get('/stats', async () => {
    const customers: Record<string, LedgerStats> = {};
    for (const state of states.values()) customers[state.id] = state.ledger.stats();
    return { customers };
  });

  app.post('/stats/reset', async () => {
    hooks.resetStats();
    return { ok: true };
  });
}

interface WebhookContext {
  states: Map<string, CustomerState>;
  metrics: MockMetrics;
  random: Random;
  sleepers: Set<AbortController>;
  isClosing(): boolean;
}

async function handleWebhook(
  request: FastifyRequest<IdParams>,
  reply: FastifyReply,
  context: WebhookContext,
): Promise<FastifyReply> {
  const started = performance.now();
  const state = context.states.get(request.params.id);
  if (state === undefined)
    return reply.code(404).send({ error: 'unknown customer', customer: request.params.id });

  const { metrics } = context;
  const ledger = state.ledger;
  ledger.countRequest();
  metrics.openRequests.inc({ customer: state.id });
  // Aborted when the client gives up (or close() destroys the connection) before the answer is written.
  const wake = new AbortController();
  reply.raw.once('close', () => {
    metrics.openRequests.dec({ customer: state.id });
    if (!reply.raw.writableFinished) wake.abort();
  });

  const answer = (result: RequestResult, status: number, body: object): FastifyReply => {
    const ms = performance.now() - started;
    ledger.recordAnswerTime(ms);
    metrics.requests.inc({ customer: state.id, result });
    metrics.responseSeconds.observe({ customer: state.id, result }, ms / 1000);
    const injected = INJECTED_BY_RESULT[result];
    if (injected !== undefined) ledger.recordInjected(injected);
    return reply.code(status).send(body);
  };
  const drop = (result: RequestResult): FastifyReply => {
    metrics.requests.inc({ customer: state.id, result });
    const injected = INJECTED_BY_RESULT[result];
    if (injected !== undefined) ledger.recordInjected(injected);
    else if (result === 'abandoned') ledger.recordAbandoned();
    reply.hijack();
    return reply;
  };

  const rawBody = typeof request.body === 'string' ? request.body : '';
  const signature = verifySignature(state.webhook, rawBody, request.headers);
  if (!signature.ok) {
    ledger.recordInvalidSignature(signature.reason);
    request.log.debug({ customer: state.id, reason: signature.reason }, 'invalid webhook signature');
    return answer('invalid_signature', 401, {
      error: 'invalid signature',
      reason: signature.reason,
      message: signature.message,
    });
  }

  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch {
    body = undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    ledger.recordMalformed();
    return answer('malformed', 400, { error: 'body must be a JSON object' });
  }
  const facts = extractEventFacts(signature.webhookId, body);

  const verdict = state.limiter?.take() ?? { allowed: true as const };
  const decision = decide(state.behavior, verdict, context.random);
  switch (decision.kind) {
    case 'rate_limited':
      reply.header('retry-after', String(decision.retryAfterSeconds));
      return answer('rate_limited', 429, {
        error: 'rate limited',
        retryAfterSeconds: decision.retryAfterSeconds,
      });
    case 'reset': {
      const result = drop('reset');
      request.raw.socket.resetAndDestroy();
      return result;
    }
    case 'hang':
      // Never answered: the socket stays open until the client gives up or close() destroys it.
      return drop('hang');
    default:
      break;
  }

  context.sleepers.add(wake);
  const elapsed = await sleep(decision.delayMs, wake.signal);
  context.sleepers.delete(wake);
  if (!elapsed && context.isClosing()) {
    reply.hijack(); // shutting down: close() destroys the connection
    return reply;
  }
  if (!elapsed) return drop('abandoned');

  switch (decision.kind) {
    case 'gone':
      return answer('gone', 410, { error: 'gone' });
    case 'error':
      if (decision.retryAfterSeconds !== null)
        reply.header('retry-after', String(decision.retryAfterSeconds));
      return answer('error', decision.status, { error: 'injected failure' });
    case 'ok': {
      const { duplicate, outOfOrder } = ledger.recordDelivered(facts, Date.now());
      if (outOfOrder) metrics.outOfOrder.inc({ customer: state.id });
      return answer(duplicate ? 'duplicate' : 'ok', 200, { ok: true });
    }
  }
}
