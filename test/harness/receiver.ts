/**
 * A scriptable webhook receiver on a real HTTP server (port 0). Each request is answered by a plan the test
 * chooses per call (status, delay, Retry-After, hang, reset); every request is recorded with its verified
 * signature, so tests assert who received what, how many times, in which order.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface Plan {
  status?: number;
  delayMs?: number;
  headers?: Record<string, string>;
  /** Never answer (until the client gives up or the server closes). */
  hang?: boolean;
  /** Destroy the socket without answering. */
  reset?: boolean;
}

export interface Received {
  id: string;
  body: { id: string; type: string; data: Record<string, unknown>; [k: string]: unknown };
  raw: string;
  at: number;
  answeredAt: number | null;
  status: number | null;
  signatureOk: boolean;
}

export type Handler = (req: Received, attempt: number) => Plan | Promise<Plan>;

export interface Receiver {
  url: string;
  port: number;
  requests: Received[];
  /** Requests answered with a 2xx. */
  delivered(): Received[];
  setHandler(h: Handler): void;
  /** Resolves once `predicate` holds (checked on every answered request and every 50 ms). */
  waitFor(predicate: () => boolean, timeoutMs?: number, what?: string): Promise<void>;
  close(): Promise<void>;
}

export async function startReceiver(opts: {
  secret: string;
  handler?: Handler;
  path?: string;
}): Promise<Receiver> {
  const wh = new Webhook(opts.secret);
  let handler: Handler = opts.handler ?? (() => ({ status: 200 }));
  const requests: Received[] = [];
  const attempts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((w) => w());

  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let signatureOk = true;
    try {
      wh.verify(raw, {
        'webhook-id': String(req.headers['webhook-id']),
        'webhook-timestamp': String(req.headers['webhook-timestamp']),
        'webhook-signature': String(req.headers['webhook-signature']),
      });
    } catch {
      signatureOk = false;
    }
    const rec: Received = {
      id: String(req.headers['webhook-id']),
      body: JSON.parse(raw) as Received['body'],
      raw,
      at: Date.now(),
      answeredAt: null,
      status: null,
      signatureOk,
    };
    requests.push(rec);
    const n = (attempts.get(rec.id) ?? 0) + 1;
    attempts.set(rec.id, n);
    const plan = await handler(rec, n);
    if (plan.reset) {
      req.socket.destroy();
      notify();
      return;
    }
    if (plan.hang) return;
    const answer = () => {
      rec.status = plan.status ?? 200;
      rec.answeredAt = Date.now();
      res.writeHead(rec.status, { 'content-type': 'application/json', ...plan.headers });
      res.end(rec.status < 300 ? '{"ok":true}' : '{"error":"scripted"}');
      notify();
    };
    if (plan.delayMs) {
      const t = setTimeout(() => {
        timers.delete(t);
        if (!res.destroyed) answer();
      }, plan.delayMs);
      timers.add(t);
    } else answer();
  };

  const server: Server = createServer((req, res) => {
    onRequest(req, res).catch((err: unknown) => {
      res.destroy(err as Error);
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;

  return {
    url: `http://127.0.0.1:${port}${opts.path ?? '/webhooks'}`,
    port,
    requests,
    delivered: () => requests.filter((r) => r.status !== null && r.status >= 200 && r.status < 300),
    setHandler: (h) => {
      handler = h;
    },
    waitFor(predicate, timeoutMs = 60_000, what = 'condition') {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (predicate()) {
            cleanup();
            resolve();
          }
        };
        const interval = setInterval(check, 50);
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        const cleanup = () => {
          clearInterval(interval);
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A URL on which nothing listens (connection refused). */
export async function refusingUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/webhooks`;
}

/** The most requests open at once: a request is open from its arrival to its answer (`answerMs` later). */
export function openCounter(answerMs: number, status: () => number = () => 200) {
  let open = 0;
  let max = 0;
  let arrived = 0;
  const handler: Handler = async () => {
    open += 1;
    arrived += 1;
    max = Math.max(max, open);
    try {
      await new Promise((resolve) => setTimeout(resolve, answerMs));
      return { status: status() };
    } finally {
      open -= 1;
    }
  };
  return {
    handler,
    max: () => max,
    arrived: () => arrived,
    /** Count from now on: the most open at once since, and the arrivals since. */
    restart() {
      max = open;
      arrived = 0;
    },
  };
}

/** The most requests that arrived within any `windowMs` (sliding, over arrival times). */
export function maxInWindow(r: Receiver, windowMs: number): number {
  const times = r.requests.map((q) => q.at).sort((x, y) => x - y);
  let max = 0;
  let from = 0;
  for (let to = 0; to < times.length; to++) {
    while (times[to]! - times[from]! >= windowMs) from += 1;
    max = Math.max(max, to - from + 1);
  }
  return max;
}
