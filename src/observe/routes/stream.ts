/**
 * The live stream (README "For operators"): `GET /events/stream` as Server-Sent Events, with a bearer
 * token or, for a browser's EventSource (which cannot send headers), a short-lived ticket from
 * `POST /events/stream/ticket` (src/observe/auth.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { RouteContext } from './context.ts';
import { streamQuery } from './params.ts';

export function registerStreamRoutes(app: FastifyInstance, ctx: RouteContext): void {
  const { deps } = ctx;

  app.post('/events/stream/ticket', { preHandler: ctx.read }, async (req) =>
    deps.access.ticket(ctx.roleOf(req)),
  );

  app.get('/events/stream', async (req, reply) => {
    void reply.header('cache-control', 'no-store');
    const q = req.query as Record<string, unknown>;
    if (deps.access.disabled) {
      return reply
        .code(403)
        .send({ error: 'the operator endpoints are disabled: set ADMIN_TOKEN to enable them' });
    }
    const ticket = typeof q.ticket === 'string' ? q.ticket : null;
    const role =
      ticket !== null ? deps.access.checkTicket(ticket) : deps.access.roleOf(req.headers.authorization);
    if (role === null) {
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({
          error:
            ticket !== null
              ? 'the stream ticket is invalid or expired: get a new one from POST /events/stream/ticket'
              : 'missing or wrong bearer token in the authorization header (or a ticket)',
        });
    }
    const parsed = streamQuery(q);
    if (!parsed.ok) return reply.code(400).send(parsed.bad);
    const last = Number(req.headers['last-event-id']);
    reply.hijack();
    if (!deps.stream.attach(reply.raw, parsed.value, Number.isInteger(last) && last >= 0 ? last : null)) {
      reply.raw.writeHead(503, { 'content-type': 'application/json', 'retry-after': '10' });
      reply.raw.end(JSON.stringify({ error: 'too many stream clients; try again later' }));
    }
  });
}
