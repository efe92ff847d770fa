/**
 * The integrator's HTTP surface (CONTRACT §6): metrics, health, per-customer state, and the admin
 * endpoints (bearer ADMIN_TOKEN; with no token configured they refuse).
 */
import { timingSafeEqual } from 'node:crypto';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RetryStore } from '../store/port.ts';
import type { Metrics } from './metrics.ts';

/** What the HTTP surface needs of a customer's lane (the lanes live above this layer). */
export interface CustomerLane {
  readonly id: string;
  snapshot(): object;
  setPaused(paused: boolean): void;
  replay(ids?: string[]): Promise<number>;
  /** Delete dead letters for good; returns how many there were. */
  discard(ids: string[]): Promise<number>;
}

export interface HttpDeps {
  lanes: CustomerLane[];
  store: RetryStore;
  metrics: Metrics;
  adminToken: string | null;
  /** Resolves when the broker and the store answer; rejects with the reason otherwise. */
  checkReady: () => Promise<{ broker: string; store: string }>;
}

function tokenMatches(expected: string, header: string | undefined): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7));
  const want = Buffer.from(expected);
  return given.length === want.length && timingSafeEqual(given, want);
}

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

export function createHttpServer(deps: HttpDeps): FastifyInstance {
  const app = Fastify({ logger: false });
  const byId = new Map(deps.lanes.map((l) => [l.id, l]));

  const admin = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!deps.adminToken) {
      return reply.code(403).send({ error: 'admin endpoints are disabled: set ADMIN_TOKEN to enable them' });
    }
    if (!tokenMatches(deps.adminToken, req.headers.authorization)) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'missing or wrong bearer token in the authorization header' });
    }
  };
  const lane = (req: FastifyRequest, reply: FastifyReply): CustomerLane | null => {
    const id = (req.params as { id: string }).id;
    const l = byId.get(id);
    if (!l) {
      void reply.code(404).send({ error: `unknown customer "${id}"`, field: 'id' });
      return null;
    }
    return l;
  };

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    try {
      return { status: 'ready', ...(await deps.checkReady()) };
    } catch (err) {
      return reply.code(503).send({ status: 'not ready', reason: (err as Error).message });
    }
  });
  app.get('/customers', async () => ({ customers: deps.lanes.map((l) => l.snapshot()) }));
  app.get('/customers/:id', async (req, reply) => {
    const l = lane(req, reply);
    return l ? l.snapshot() : reply;
  });

  app.post('/customers/:id/pause', { preHandler: admin }, async (req, reply) => {
    const l = lane(req, reply);
    if (!l) return reply;
    l.setPaused(true);
    return l.snapshot();
  });
  app.post('/customers/:id/resume', { preHandler: admin }, async (req, reply) => {
    const l = lane(req, reply);
    if (!l) return reply;
    l.setPaused(false);
    return l.snapshot();
  });
  app.get('/customers/:id/dead-letters', { preHandler: admin }, async (req, reply) => {
    const l = lane(req, reply);
    if (!l) return reply;
    const q = req.query as Record<string, unknown>;
    const offset = intParam(q.offset, 'offset', 0, 0, 1e9);
    const limit = intParam(q.limit, 'limit', 100, 1, 1000);
    if (typeof offset !== 'number') return reply.code(400).send({ ...offset, field: 'offset' });
    if (typeof limit !== 'number') return reply.code(400).send({ ...limit, field: 'limit' });
    return deps.store.listDeadLetters(l.id, offset, limit);
  });
  app.post('/customers/:id/dead-letters/replay', { preHandler: admin }, async (req, reply) => {
    const l = lane(req, reply);
    if (!l) return reply;
    const body = (req.body ?? {}) as { ids?: unknown };
    if (
      body.ids !== undefined &&
      (!Array.isArray(body.ids) || !body.ids.every((x) => typeof x === 'string'))
    ) {
      return reply
        .code(400)
        .send({ error: 'ids must be an array of dead-letter ids (strings)', field: 'ids' });
    }
    const replayed = await l.replay(body.ids as string[] | undefined);
    return { replayed };
  });
  app.get('/poison', { preHandler: admin }, async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const offset = intParam(q.offset, 'offset', 0, 0, 1e9);
    const limit = intParam(q.limit, 'limit', 100, 1, 500);
    if (typeof offset !== 'number') return reply.code(400).send({ ...offset, field: 'offset' });
    if (typeof limit !== 'number') return reply.code(400).send({ ...limit, field: 'limit' });
    return deps.store.listPoison(offset, limit);
  });
  return app;
}
