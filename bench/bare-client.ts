/**
 * The throughput baseline, run as its own process: bare undici → the mock customers' fastify server, with
 * the same pool size as the integrator's lane and the same Standard Webhooks signing and body size, and
 * nothing else (no Kafka, no lanes, no store). Prints one JSON line:
 * {"requests":N,"ms":T,"rate":R,"failures":F,"cpuMsPerRequest":C} (C: this process's CPU per request).
 *
 *   node --import tsx bench/bare-client.ts <url> <secret> <connections> <requests> [warmup]
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { secretKey, webhookHeaders } from '../src/delivery/signing.ts';

const [url, secret, connectionsArg, requestsArg, warmupArg] = process.argv.slice(2);
if (!url || !secret || !connectionsArg || !requestsArg) {
  console.error('usage: bare-client.ts <url> <secret> <connections> <requests> [warmup]');
  process.exit(2);
}
const connections = Number(connectionsArg);
const requests = Number(requestsArg);
const warmup = Number(warmupArg ?? Math.min(1000, Math.floor(requests / 10)));
const target = new URL(url);
const key = secretKey(secret);
const pool = new Pool(target.origin, { connections, pipelining: 1, keepAliveTimeout: 30_000 });
const run = randomBytes(4).toString('hex');

function body(i: number): { id: string; body: string } {
  const id = `evt_bare_${run}_${i}`;
  const pkg = `BARE-${run}-${String(i % 5000).padStart(6, '0')}`;
  return {
    id,
    body: JSON.stringify({
      id,
      type: 'package_status.created',
      occurredAt: new Date().toISOString(),
      data: {
        id: i + 1,
        package_id: pkg,
        customer_id: 'customer-1',
        status: 'In Transit',
        actual_address: `Hub ${i % 7}, Main St ${i % 97}`,
        next_address: `Hub ${(i % 7) + 1}`,
        created_at: new Date().toISOString(),
      },
      previous: null,
      source: {
        table: 'public.package_status',
        lsn: String(24_000_000 + i * 64),
        txId: 500 + i,
        snapshot: false,
      },
    }),
  };
}

let next = 0;
let failures = 0;
async function worker(limit: number): Promise<void> {
  for (;;) {
    const i = next;
    if (i >= limit) return;
    next += 1;
    const b = body(i);
    const res = await pool.request({
      path: `${target.pathname}${target.search}`,
      method: 'POST',
      headers: { ...webhookHeaders(key, b.id, b.body, Date.now()), 'user-agent': 'bench-bare' },
      body: b.body,
    });
    await res.body.dump();
    if (res.statusCode !== 200) failures += 1;
  }
}

async function phase(limit: number): Promise<void> {
  await Promise.all(Array.from({ length: connections }, () => worker(limit)));
}

await phase(warmup);
const start = performance.now();
const cpu0 = process.cpuUsage();
await phase(warmup + requests);
const ms = performance.now() - start;
const cpu = process.cpuUsage(cpu0);
await pool.close();
const cpuMsPerRequest = (cpu.user + cpu.system) / 1000 / requests;
process.stdout.write(
  `${JSON.stringify({ requests, ms, rate: (requests * 1000) / ms, failures, cpuMsPerRequest })}\n`,
);
