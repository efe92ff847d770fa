/**
 * The integrator's HTTP surface (README "HTTP surface"): metrics and health (open), and the operator
 * surface behind tokens (README "For operators"): per-customer state and admin actions
 * (routes/customers.ts), the delivery log's query API (routes/log.ts), the live stream
 * (routes/stream.ts) and the web console (src/console/routes.ts).
 *
 * Access: `ADMIN_TOKEN` may do everything, `READ_TOKEN` may read (src/observe/auth.ts). Without either,
 * every protected endpoint answers 403; a missing or wrong token 401; the read token on an action 403.
 */
import Fastify from 'fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { registerConsole } from '../console/routes.ts';
import type { Role } from './auth.ts';
import type { Guard, HttpDeps, RouteContext } from './routes/context.ts';
import { registerCustomerRoutes } from './routes/customers.ts';
import { registerLogRoutes } from './routes/log.ts';
import { registerStreamRoutes } from './routes/stream.ts';

export type { CustomerLane, Guard, HttpDeps, LaneView, RouteContext } from './routes/context.ts';

/** Not ready, with what the probe's answer names (e.g. the customers whose lease on the limits is lost). */
export class NotReadyError extends Error {
  constructor(
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
  }
}

const roles = new WeakMap<FastifyRequest, Role>();

export function createHttpServer(deps: HttpDeps): FastifyInstance {
  const app = Fastify({ logger: false });

  const guard =
    (need: Role): Guard =>
    async (req, reply) => {
      void reply.header('cache-control', 'no-store');
      if (deps.access.disabled) {
        return reply.code(403).send({
          error:
            'the operator endpoints are disabled: set ADMIN_TOKEN (and optionally READ_TOKEN) to enable them',
        });
      }
      const role = deps.access.roleOf(req.headers.authorization);
      if (role === null) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer')
          .send({ error: 'missing or wrong bearer token in the authorization header' });
      }
      if (need === 'admin' && role !== 'admin') {
        return reply.code(403).send({ error: 'this action needs ADMIN_TOKEN; READ_TOKEN may only read' });
      }
      roles.set(req, role);
    };
  const ctx: RouteContext = {
    deps,
    read: guard('read'),
    admin: guard('admin'),
    roleOf: (req) => roles.get(req) ?? 'read',
  };

  app.addHook('onSend', async (_req, reply, payload) => {
    void reply.header('x-content-type-options', 'nosniff');
    return payload;
  });

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', deps.metrics.registry.contentType);
    return deps.metrics.registry.metrics();
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    try {
      return { status: 'ready', ...(await deps.checkReady()) };
    } catch (err) {
      const details = err instanceof NotReadyError ? err.details : {};
      return reply.code(503).send({ status: 'not ready', reason: (err as Error).message, ...details });
    }
  });
  app.get('/whoami', { preHandler: ctx.read }, async (req) => ({ role: ctx.roleOf(req) }));
  // The console's sign-in form: says whether a token is valid without a 401 (a wrong token is an
  // expected answer there, not an error in the browser's console). Same constant-time comparison.
  app.post('/auth/check', async (req, reply) => {
    void reply.header('cache-control', 'no-store');
    const token = ((req.body ?? {}) as { token?: unknown }).token;
    if (typeof token !== 'string' || token.length === 0 || token.length > 1024) {
      return reply.code(400).send({ error: 'token must be a non-empty string', field: 'token' });
    }
    if (deps.access.disabled) {
      return reply
        .code(403)
        .send({ error: 'the console is disabled: set ADMIN_TOKEN (and optionally READ_TOKEN)' });
    }
    return { role: deps.access.roleOf(`Bearer ${token}`) };
  });

  registerCustomerRoutes(app, ctx);
  registerLogRoutes(app, ctx);
  registerStreamRoutes(app, ctx);
  registerConsole(app);
  return app;
}
