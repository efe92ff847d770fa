/**
 * The delivery log's query API (README "For operators"): a package's latest status and timeline, the
 * deliveries (newest first, filtered, cursor-paged), every attempt of one event. Answers 503 when the log
 * is off or its store cannot answer, 400 naming the field for bad input.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { BadCursorError } from '../../log/port.ts';
import type { DeliveryLog } from '../../log/delivery-log.ts';
import type { RouteContext } from './context.ts';
import { cursorOf, deliveryQuery, limitOf, unknownParam } from './params.ts';

async function answer<T>(
  reply: FastifyReply,
  log: DeliveryLog | null,
  run: (log: DeliveryLog) => Promise<T>,
) {
  if (log === null) {
    return reply.code(503).send({ error: 'the delivery log is off (DELIVERY_LOG=off)' });
  }
  try {
    return await run(log);
  } catch (err) {
    if (err instanceof BadCursorError) return reply.code(400).send({ error: err.message, field: 'cursor' });
    return reply.code(503).send({ error: `the delivery log cannot answer: ${(err as Error).message}` });
  }
}

export function registerLogRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { deps } = ctx;

  app.get('/packages/:packageId', { preHandler: ctx.read }, async (req, reply) => {
    const { packageId } = req.params as { packageId: string };
    const q = req.query as Record<string, unknown>;
    const unknown = unknownParam(q, ['limit', 'cursor']);
    if (unknown) return reply.code(400).send(unknown);
    const limit = limitOf(q, 50, 200);
    if (!limit.ok) return reply.code(400).send(limit.bad);
    const cursor = cursorOf(q);
    if (!cursor.ok) return reply.code(400).send(cursor.bad);
    return answer(reply, deps.log, async (log) => {
      const view = await log.package(packageId, limit.value, cursor.value);
      return (
        view ??
        reply
          .code(404)
          .send({ error: `no change of package "${packageId}" in the delivery log`, field: 'packageId' })
      );
    });
  });

  app.get('/deliveries', { preHandler: ctx.read }, async (req, reply) => {
    const parsed = deliveryQuery(req.query as Record<string, unknown>);
    if (!parsed.ok) return reply.code(400).send(parsed.bad);
    const { filter, limit, cursor } = parsed.value;
    return answer(reply, deps.log, (log) => log.deliveries(filter, limit, cursor));
  });

  // The console's search box: an event id or a package id, answered 200 either way (`found: null`).
  app.get('/search', { preHandler: ctx.read }, async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const unknown = unknownParam(q, ['q']);
    if (unknown) return reply.code(400).send(unknown);
    if (typeof q.q !== 'string' || q.q.trim() === '' || q.q.length > 512) {
      return reply.code(400).send({ error: 'q must be a package id or an event id', field: 'q' });
    }
    const text = q.q.trim();
    return answer(reply, deps.log, async (log) => {
      if (await log.event(text)) return { q: text, found: 'event' };
      if (await log.package(text, 1, null)) return { q: text, found: 'package' };
      return { q: text, found: null };
    });
  });

  app.get('/deliveries/:eventId', { preHandler: ctx.read }, async (req, reply) => {
    const { eventId } = req.params as { eventId: string };
    const unknown = unknownParam(req.query as Record<string, unknown>, []);
    if (unknown) return reply.code(400).send(unknown);
    return answer(reply, deps.log, async (log) => {
      const ev = await log.event(eventId);
      return (
        ev ?? reply.code(404).send({ error: `no event "${eventId}" in the delivery log`, field: 'eventId' })
      );
    });
  });
}
