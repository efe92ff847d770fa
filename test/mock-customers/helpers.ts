/** Shared by the mock-customers tests: signing (CONTRACT §5), event bodies, a seeded PRNG, a POST helper. */
import { createHmac } from 'node:crypto';
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';

/** CONTRACT §5 by hand: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">, key = base64 after whsec_. */
export function hmacSignature(secret: string, id: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const mac = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** Deterministic uniform [0,1) source (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface EventOptions {
  id: string;
  packageId?: string;
  position?: number;
  status?: string;
  type?: string;
  occurredAt?: string;
  customerId?: string;
}

/** A CONTRACT §5 body. */
export function eventBody(options: EventOptions): Record<string, unknown> {
  const position = options.position ?? 1;
  return {
    id: options.id,
    type: options.type ?? 'package_status.created',
    occurredAt: options.occurredAt ?? new Date(Date.UTC(2026, 10, 22, 18, 0, 0, position)).toISOString(),
    data: {
      id: position,
      package_id: options.packageId ?? 'PKG-000001',
      customer_id: options.customerId ?? 'customer-1',
      status: options.status ?? 'In Transit',
      actual_address: 'Rua A, 1',
      next_address: 'Rua B, 2',
      created_at: '2026-11-22T18:00:00.000Z',
    },
    previous: null,
    source: {
      table: 'public.package_status',
      lsn: String(24_000_000 + position),
      txId: 555,
      snapshot: false,
    },
  };
}

export interface PostOptions {
  /** webhook-id header; default: the body's id. */
  webhookId?: string;
  /** Unix seconds; default now. */
  timestamp?: number;
  /** Override the signature header. */
  signature?: string;
  signal?: AbortSignal;
  dispatcher?: Dispatcher;
}

export interface PostResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  elapsedMs: number;
}

/** Signs and POSTs a webhook like the integrator does. */
export async function postWebhook(
  url: string,
  secret: string,
  body: Record<string, unknown> | string,
  options: PostOptions = {},
): Promise<PostResult> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const webhookId = options.webhookId ?? (typeof body === 'string' ? 'evt_raw' : String(body['id']));
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const started = performance.now();
  const response = await request(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': webhookId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': options.signature ?? hmacSignature(secret, webhookId, timestamp, text),
    },
    body: text,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
  });
  const responseBody = await response.body.text();
  return {
    status: response.statusCode,
    headers: response.headers,
    body: responseBody,
    elapsedMs: performance.now() - started,
  };
}

export async function jsonRequest(
  url: string,
  method: 'GET' | 'PUT' | 'POST' | 'DELETE' = 'GET',
  payload?: unknown,
  dispatcher?: Dispatcher,
): Promise<{ status: number; json: unknown; text: string }> {
  const response = await request(url, {
    method,
    ...(payload === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) }),
    ...(dispatcher === undefined ? {} : { dispatcher }),
  });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, json, text };
}

export function newAgent(): Agent {
  return new Agent({ connections: 64, keepAliveTimeout: 1000 });
}
