/**
 * A small carrier-side tracking API over `package_status`, the target of the k6 scenarios:
 *
 *   POST /packages                 { customer_id, origin_address, next_address?, package_id? } → 201, 'Package Posted'
 *   POST /packages/:id/movements   { status, actual_address, next_address? }                   → 201 | 404 | 409
 *   GET  /packages/:id             → 200 { package_id, customer_id, status, …, history } | 404
 *   GET  /healthz
 *
 * Invalid input → 400 `{ error: 'invalid_request', field, message, problems }` naming the field.
 */
import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type pg from 'pg';
import type { z } from 'zod';
import { createPackageBody, movementBody, packageParams, validationError } from './schemas.ts';
import { PackageStore } from './store.ts';
import type { AppendResult } from './store.ts';

export interface TrackingApiOptions {
  pool: pg.Pool;
  logger?: FastifyServerOptions['logger'];
}

/** e.g. PKG-7F3A9C1B2D */
export function newTrackingCode(): string {
  return `PKG-${randomBytes(5).toString('hex').toUpperCase()}`;
}

export function buildTrackingApi(options: TrackingApiOptions): FastifyInstance {
  const app = Fastify({ logger: options.logger ?? false });
  const store = new PackageStore(options.pool);

  function parse<S extends z.ZodType>(
    schema: S,
    input: unknown,
    root: string,
  ): { ok: true; value: z.infer<S> } | { ok: false; body: ReturnType<typeof validationError> } {
    const result = schema.safeParse(input ?? {});
    return result.success
      ? { ok: true, value: result.data }
      : { ok: false, body: validationError(result.error, root) };
  }

  function reply(result: AppendResult, packageId: string): { status: number; body: unknown } {
    switch (result.kind) {
      case 'ok':
        return { status: 201, body: result.event };
      case 'not_found':
        return { status: 404, body: { error: 'not_found', message: `unknown package ${packageId}` } };
      case 'conflict':
        return { status: 409, body: { error: 'conflict', message: result.reason } };
    }
  }

  app.get('/healthz', async () => {
    await store.ping();
    return { ok: true };
  });

  app.post('/packages', async (request, res) => {
    const body = parse(createPackageBody, request.body, 'body');
    if (!body.ok) return res.code(400).send(body.body);
    const packageId = body.value.package_id ?? newTrackingCode();
    const result = await store.create({
      package_id: packageId,
      customer_id: body.value.customer_id,
      origin_address: body.value.origin_address,
      next_address: body.value.next_address ?? null,
    });
    const { status, body: payload } = reply(result, packageId);
    return res.code(status).send(payload);
  });

  app.post('/packages/:id/movements', async (request, res) => {
    const params = parse(packageParams, request.params, 'id');
    if (!params.ok) return res.code(400).send(params.body);
    const body = parse(movementBody, request.body, 'body');
    if (!body.ok) return res.code(400).send(body.body);
    const result = await store.appendMovement(params.value.id, {
      status: body.value.status,
      actual_address: body.value.actual_address,
      next_address: body.value.next_address ?? null,
    });
    const { status, body: payload } = reply(result, params.value.id);
    return res.code(status).send(payload);
  });

  app.get('/packages/:id', async (request, res) => {
    const params = parse(packageParams, request.params, 'id');
    if (!params.ok) return res.code(400).send(params.body);
    const history = await store.history(params.value.id);
    const latest = history[history.length - 1];
    if (!latest)
      return res.code(404).send({ error: 'not_found', message: `unknown package ${params.value.id}` });
    return {
      package_id: latest.package_id,
      customer_id: latest.customer_id,
      status: latest.status,
      actual_address: latest.actual_address,
      next_address: latest.next_address,
      updated_at: latest.created_at,
      history,
    };
  });

  return app;
}
