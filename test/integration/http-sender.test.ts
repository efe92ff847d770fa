/**
 * The HTTP sender against a real HTTP server: what each kind of answer becomes, that a request is cut (not
 * just abandoned) at its timeout and at the caller's abort, and that sockets go back to the pool.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { createHttpSender } from '../../src/delivery/http-sender.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

interface Seen {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let base = '';
const seen: Seen[] = [];
/** Requests whose connection the client closed before the server answered. */
let cutByClient = 0;
const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString('utf8')));
  req.on('end', () => {
    seen.push({ path: req.url ?? '', headers: req.headers, body });
    const route = (req.url ?? '').split('?')[0];
    if (route === '/ok') res.end('{"ok":true}');
    else if (route === '/bad') {
      res.statusCode = 422;
      res.end(`  field   "status"\n is ${'x'.repeat(2000)}`);
    } else if (route === '/busy') {
      res.statusCode = 429;
      res.setHeader('retry-after', '7');
      res.end();
    } else if (route === '/huge') {
      res.setHeader('content-type', 'application/octet-stream');
      const chunk = Buffer.alloc(64 * 1024, 120);
      let sent = 0;
      const pump = (): void => {
        while (sent < 4 * 1024 * 1024) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    } else if (route === '/hang') {
      res.on('close', () => {
        if (!res.writableEnded) cutByClient += 1;
      });
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
});

let connections = 0;
server.on('connection', () => (connections += 1));

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function sender(path: string, timeoutMs = 2000, concurrency = 4) {
  return createHttpSender({ url: `${base}${path}`, secret: SECRET, concurrency, timeoutMs });
}

describe('HTTP sender', () => {
  it('posts the body with Standard Webhooks headers the official library verifies', async () => {
    const s = sender('/ok?tenant=a');
    const body = '{"id":"evt_1","data":{"n":9007199254740993}}';
    const report = await s.send({ id: 'evt_1', body });
    expect(report).toEqual({ kind: 'response', status: 200, retryAfter: null, bodySnippet: '' });
    const got = seen.at(-1)!;
    expect(got.path).toBe('/ok?tenant=a');
    expect(got.body).toBe(body);
    expect(got.headers['webhook-id']).toBe('evt_1');
    expect(got.headers['content-type']).toBe('application/json');
    expect(() => new Webhook(SECRET).verify(body, got.headers as Record<string, string>)).not.toThrow();
    await s.close();
  });

  it('keeps the first 512 bytes of a refusal, whitespace collapsed', async () => {
    const s = sender('/bad');
    const report = await s.send({ id: 'evt_2', body: '{}' });
    expect(report.kind).toBe('response');
    if (report.kind !== 'response') return;
    expect(report.status).toBe(422);
    expect(report.bodySnippet).toBe(
      `field "status" is ${'x'.repeat(512 - '  field   "status"\n is '.length)}`,
    );
    await s.close();
  });

  it('reports Retry-After of a 429', async () => {
    const s = sender('/busy');
    expect(await s.send({ id: 'evt_3', body: '{}' })).toMatchObject({ status: 429, retryAfter: '7' });
    await s.close();
  });

  it('cuts a request at its timeout and reports a timeout', async () => {
    const before = cutByClient;
    const s = sender('/hang', 300);
    const t0 = Date.now();
    expect(await s.send({ id: 'evt_4', body: '{}' })).toEqual({ kind: 'timeout', afterMs: 300 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    await expect.poll(() => cutByClient).toBe(before + 1);
    await s.close();
  });

  it("the caller's abort cuts every request out on that signal, once, and later sends still go", async () => {
    const before = cutByClient;
    const s = sender('/hang', 30_000);
    const cut = new AbortController();
    const out = [1, 2, 3].map((i) => s.send({ id: `evt_h${i}`, body: '{}' }, cut.signal));
    await expect
      .poll(() => seen.filter((x) => String(x.headers['webhook-id']).startsWith('evt_h')).length)
      .toBe(3);
    cut.abort(new Error('shutdown'));
    for (const r of await Promise.all(out)) expect(r).toMatchObject({ kind: 'network', code: 'ABORTED' });
    await expect.poll(() => cutByClient).toBe(before + 3);
    // An already aborted signal sends nothing.
    expect(await s.send({ id: 'evt_h4', body: '{}' }, cut.signal)).toMatchObject({ code: 'ABORTED' });
    expect(seen.some((x) => x.headers['webhook-id'] === 'evt_h4')).toBe(false);
    await s.close();
  });

  it('a 2xx with an endless body counts as delivered and its connection is closed', async () => {
    const s = sender('/huge', 5000, 1);
    expect(await s.send({ id: 'evt_5', body: '{}' })).toMatchObject({ kind: 'response', status: 200 });
    // The pool's one connection is usable again.
    expect(await s.send({ id: 'evt_6', body: '{}' })).toMatchObject({ kind: 'response', status: 200 });
    await s.close();
  });

  it('reuses its sockets: many sequential requests over a pool of one', async () => {
    const s = sender('/ok', 2000, 1);
    const before = connections;
    for (let i = 0; i < 50; i++) {
      expect(await s.send({ id: `evt_r${i}`, body: '{}' })).toMatchObject({ status: 200 });
    }
    expect(connections - before).toBe(1);
    await s.close();
  });

  it('a refused connection is a network error with its code', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const s = createHttpSender({
      url: `http://127.0.0.1:${port}/x`,
      secret: SECRET,
      concurrency: 1,
      timeoutMs: 2000,
    });
    expect(await s.send({ id: 'evt_7', body: '{}' })).toMatchObject({
      kind: 'network',
      code: 'ECONNREFUSED',
    });
    await s.close();
  });
});
