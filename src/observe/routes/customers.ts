/**
 * Per-customer state and the operator's actions (README "HTTP surface"): the overview the console polls,
 * a customer's state, pause / resume, dead letters (list, replay, discard) and poison. Customer URLs are
 * shown without credentials or query strings. Beside this process's numbers, `global` shows the customer's
 * limits shared by the group's integrators, as the store holds them (null when it does not answer).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { safeUrl } from '../../report/logger.ts';
import type { CustomerLane, LaneView, RouteContext } from './context.ts';
import type { RetryStore } from '../../store/port.ts';
import { limitOf, unknownParam } from './params.ts';

const CHART_POINTS = 60;
const CHART_STEP_S = 5;

function intParam(
  raw: unknown,
  name: string,
  def: number,
  min: number,
  max: number,
): number | { error: string } {
  if (raw === undefined) return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max)
    return { error: `${name} must be an integer from ${min} to ${max}` };
  return n;
}

/** A lane's snapshot as shown outside: the URL without credentials or query. */
export function publicView(l: CustomerLane): LaneView {
  const s = l.snapshot();
  return { ...s, url: safeUrl(s.url) };
}

function within<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.catch(() => null).finally(() => clearTimeout(timer)),
    new Promise<null>((r) => (timer = setTimeout(() => r(null), ms))),
  ]);
}

/** The customer's shared limits (all integrators): requests out, holders, breaker, pause. */
export interface GlobalView {
  inflight: number;
  permits: number;
  holders: number;
  tokens: number | null;
  breaker: string;
  paused: { reason: string | null; at: number } | null;
}

async function globalView(store: RetryStore, id: string): Promise<GlobalView | null> {
  const v = await within(store.limitsView(id, Date.now()), 1000);
  if (!v) return null;
  return {
    inflight: v.holders.reduce((n, h) => n + h.inUse, 0),
    permits: v.holders.reduce((n, h) => n + h.permits, 0),
    holders: v.holders.length,
    tokens: v.tokens === null ? null : Math.floor(v.tokens),
    breaker: v.breaker,
    paused: v.paused,
  };
}

function reasonOf(body: unknown): string | null | { error: string; field: string } {
  const reason = ((body ?? {}) as { reason?: unknown }).reason;
  if (reason === undefined || reason === null) return null;
  if (typeof reason !== 'string' || reason.length > 500)
    return { error: 'reason must be a string of at most 500 characters', field: 'reason' };
  return reason;
}

function idsOf(body: unknown, required: boolean): string[] | undefined | { error: string; field: string } {
  const ids = ((body ?? {}) as { ids?: unknown }).ids;
  if (ids === undefined && !required) return undefined;
  if (!Array.isArray(ids) || !ids.every((x) => typeof x === 'string') || (required && ids.length === 0)) {
    return {
      error: `ids must be ${required ? 'a non-empty' : 'an'} array of dead-letter ids (strings)`,
      field: 'ids',
    };
  }
  return ids as string[];
}

export function registerCustomerRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { deps } = ctx;
  const byId = new Map(deps.lanes.map((l) => [l.id, l]));
  const lane = (req: FastifyRequest, reply: FastifyReply): CustomerLane | null => {
    const id = (req.params as { id: string }).id;
    const l = byId.get(id);
    if (!l) {
      void reply.code(404).send({ error: `unknown customer "${id}"`, field: 'id' });
      return null;
    }
    return l;
  };

  const full = async (l: CustomerLane) => ({ ...publicView(l), global: await globalView(deps.store, l.id) });

  app.get('/customers', { preHandler: ctx.read }, async () => ({
    customers: await Promise.all(deps.lanes.map(full)),
  }));
  app.get('/customers/:id', { preHandler: ctx.read }, async (req, reply) => {
    const l = lane(req, reply);
    return l ? full(l) : reply;
  });

  app.get('/overview', { preHandler: ctx.read }, async (req) => {
    const [poison, ...dead] = await Promise.all([
      within(deps.store.listPoison(0, 1), 1000),
      ...deps.lanes.map((l) => within(deps.store.listDeadLetters(l.id, 0, 1), 1000)),
    ]);
    const global = await Promise.all(deps.lanes.map((l) => globalView(deps.store, l.id)));
    return {
      at: new Date().toISOString(),
      role: ctx.roleOf(req),
      customers: deps.lanes.map((l, i) => ({
        ...publicView(l),
        deliveriesPerSecond: deps.stats.rate(l.id, 10),
        deadLetters: dead[i]?.total ?? null,
        global: global[i] ?? null,
        series: { stepSeconds: CHART_STEP_S, points: deps.stats.series(l.id, CHART_POINTS, CHART_STEP_S) },
      })),
      poison: poison?.total ?? null,
      log: deps.log ? deps.log.status() : { kind: 'off', health: 'off' },
      streamClients: deps.stream.size,
    };
  });

  // The pause is the customer's, for every integrator of the group: kept in the store (it survives
  // restarts); the others follow at their next limits sync.
  const pauseRoute = (paused: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    const l = lane(req, reply);
    if (!l) return reply;
    const reason = paused ? reasonOf(req.body) : null;
    if (reason !== null && typeof reason !== 'string') return reply.code(400).send(reason);
    try {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5000);
      });
      await Promise.race([l.setPaused(paused, reason), late]).finally(() => clearTimeout(timer));
    } catch (err) {
      return reply.code(503).send({
        error: `the store did not take the ${paused ? 'pause' : 'resume'}: ${(err as Error).message}`,
      });
    }
    return full(l);
  };
  app.post('/customers/:id/pause', { preHandler: ctx.admin }, pauseRoute(true));
  app.post('/customers/:id/resume', { preHandler: ctx.admin }, pauseRoute(false));
  app.get('/customers/:id/dead-letters', { preHandler: ctx.read }, async (req, reply) => {
    const l = lane(req, reply);
    if (!l) return reply;
    const q = req.query as Record<string, unknown>;
    const unknown = unknownParam(q, ['offset', 'limit']);
    if (unknown) return reply.code(400).send(unknown);
    const offset = intParam(q.offset, 'offset', 0, 0, 1e9);
    const limit = intParam(q.limit, 'limit', 100, 1, 1000);
    if (typeof offset !== 'number') return reply.code(400).send({ ...offset, field: 'offset' });
    if (typeof limit !== 'number') return reply.code(400).send({ ...limit, field: 'limit' });
    return deps.store.listDeadLetters(l.id, offset, limit);
  });
  app.post('/customers/:id/dead-letters/replay', { preHandler: ctx.admin }, async (req, reply) => {
    const l = lane(req, reply);
    if (!l) return reply;
    const ids = idsOf(req.body, false);
    if (ids !== undefined && !Array.isArray(ids)) return reply.code(400).send(ids);
    return { replayed: await l.replay(ids) };
  });
  app.post('/customers/:id/dead-letters/discard', { preHandler: ctx.admin }, async (req, reply) => {
    const l = lane(req, reply);
    if (!l) return reply;
    const ids = idsOf(req.body, true);
    if (!Array.isArray(ids)) return reply.code(400).send(ids);
    return { discarded: await l.discard(ids) };
  });
  app.get('/poison', { preHandler: ctx.read }, async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const offset = intParam(q.offset, 'offset', 0, 0, 1e9);
    if (typeof offset !== 'number') return reply.code(400).send({ ...offset, field: 'offset' });
    const limit = limitOf(q, 100, 500);
    if (!limit.ok) return reply.code(400).send(limit.bad);
    return deps.store.listPoison(offset, limit.value);
  });
}
