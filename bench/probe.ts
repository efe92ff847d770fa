/**
 * Latency probe, preloaded into the integrator process by the bench only (`node --import
 * bench/probe.js src/main.js` from the bench's build, or the same from source with tsx; with an IPC
 * channel). It changes no behaviour: it wraps three methods to take timestamps and listens on undici's
 * diagnostics channels.
 *
 * Per delivery (one per event: the first lane that accepts it), with performance.now():
 *   t0   Pipeline.handleBatch entered with the record's batch (records handed to the pipeline by KafkaJS)
 *   send undici wrote the request headers to the socket ('undici:client:sendHeaders')
 *   resp undici received the response headers ('undici:request:headers')
 *   t1   the delivery's onSettled('delivered') (the lane recorded the 2xx)
 * added = (t1 − t0) − (resp − send): the integrator's own time, without the HTTP round trip (loopback +
 * the customer's answer). Also reported: queue = send − t0, of which pipeline = accept − t0 (Lane.accept
 * called: decode, route, body built) and lane = create − accept (undici created the request: lane
 * scheduling, breaker, signing); post = t1 − resp, http = resp − send.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Pipeline } from '../src/pipeline.ts';
import { Lane } from '../src/lanes/lane.ts';
import type { MemoryDelivery, Settlement } from '../src/lanes/lane.ts';
import type { BatchContext, SourceRecord } from '../src/intake/source.ts';

interface Sample {
  t0: number;
  accept: number;
  create: number;
  send: number;
  resp: number;
}

export interface ProbeReport {
  /** Milliseconds per delivered event, same order in every array. */
  added: number[];
  queue: number[];
  /** Part of queue: batch handed to the pipeline → the lane accepted the delivery (decode, route, body). */
  pipeline: number[];
  /** Part of queue: Lane.accept → undici created the request (lane scheduling, breaker, signing). */
  lane: number[];
  http: number[];
  post: number[];
  /** Event-loop delay over the sampling window, ms (beyond the 10 ms sampling timer). */
  loopDelay: { p50: number; p99: number; max: number };
  /** CPU time of the integrator process over the window, ms (user + system). */
  cpuMs: number;
  windowMs: number;
  /** New connections undici opened to customers during the window. */
  connects: number;
}

const batchStart = new WeakMap<SourceRecord, number>();
const byRequest = new WeakMap<object, Sample>();
const open = new Map<string, Sample>();
let current: number | undefined;
/** Latency samples are kept only once a 'reset' armed the probe (the memory figure never arms it). */
let armed = false;
let added: number[] = [];
let queue: number[] = [];
let pipeline: number[] = [];
let lane: number[] = [];
let connects = 0;
let http: number[] = [];
let post: number[] = [];
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
let cpuAt = process.cpuUsage();
let windowStart = performance.now();

const origBatch = Pipeline.prototype.handleBatch;
Pipeline.prototype.handleBatch = function (
  this: Pipeline,
  records: SourceRecord[],
  ctx: BatchContext,
): Promise<void> {
  const t = performance.now();
  for (const r of records) batchStart.set(r, t);
  return origBatch.call(this, records, ctx);
};

const origHandle = Pipeline.prototype.handle;
Pipeline.prototype.handle = function (this: Pipeline, record: SourceRecord, ...rest): void {
  current = batchStart.get(record);
  try {
    origHandle.call(this, record, ...rest);
  } finally {
    current = undefined;
  }
};

const origAccept = Lane.prototype.accept;
Lane.prototype.accept = function (this: Lane, d: MemoryDelivery): void {
  if (armed && current !== undefined && !open.has(d.eventId)) {
    const sample: Sample = {
      t0: current,
      accept: performance.now(),
      create: Number.NaN,
      send: Number.NaN,
      resp: Number.NaN,
    };
    open.set(d.eventId, sample);
    const settled = d.onSettled;
    d.onSettled = (how: Settlement) => {
      open.delete(d.eventId);
      if (how === 'delivered' && !Number.isNaN(sample.resp)) {
        const t1 = performance.now();
        const rtt = sample.resp - sample.send;
        added.push(t1 - sample.t0 - rtt);
        queue.push(sample.send - sample.t0);
        pipeline.push(sample.accept - sample.t0);
        lane.push(sample.create - sample.accept);
        http.push(rtt);
        post.push(t1 - sample.resp);
      }
      settled(how);
    };
  }
  origAccept.call(this, d);
};

function headerOf(headers: unknown, name: string): string | undefined {
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2) {
      if (String(headers[i]).toLowerCase() === name) return String(headers[i + 1]);
    }
    return undefined;
  }
  if (typeof headers === 'string') {
    const m = new RegExp(`^${name}: *([^\\r\\n]*)`, 'im').exec(headers);
    return m?.[1];
  }
  return undefined;
}

diagnosticsChannel.subscribe('undici:client:connected', () => {
  connects += 1;
});
diagnosticsChannel.subscribe('undici:request:create', (message) => {
  const { request } = message as { request: { headers: unknown } };
  const id = headerOf(request.headers, 'webhook-id');
  const sample = id === undefined ? undefined : open.get(id);
  if (sample !== undefined && Number.isNaN(sample.create)) sample.create = performance.now();
});
diagnosticsChannel.subscribe('undici:client:sendHeaders', (message) => {
  const { request } = message as { request: { headers: unknown } };
  const id = headerOf(request.headers, 'webhook-id');
  const sample = id === undefined ? undefined : open.get(id);
  if (sample === undefined) return;
  sample.send = performance.now();
  sample.resp = Number.NaN;
  byRequest.set(request, sample);
});
diagnosticsChannel.subscribe('undici:request:headers', (message) => {
  const { request } = message as { request: object };
  const sample = byRequest.get(request);
  if (sample !== undefined) sample.resp = performance.now();
});

const round = (xs: number[]): number[] => xs.map((x) => Math.round(x * 1000) / 1000);

process.on('message', (raw: unknown) => {
  const msg = raw as { type?: string; seq?: number };
  if (msg.type === 'reset') {
    armed = true;
    added = [];
    queue = [];
    pipeline = [];
    lane = [];
    connects = 0;
    http = [];
    post = [];
    loop.reset();
    cpuAt = process.cpuUsage();
    windowStart = performance.now();
    process.send?.({ seq: msg.seq, data: { ok: true } });
  } else if (msg.type === 'gc') {
    // Live heap: a full collection first (needs --expose-gc), then the numbers.
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    process.send?.({ seq: msg.seq, data: { collected: gc !== undefined, ...process.memoryUsage() } });
  } else if (msg.type === 'report') {
    const cpu = process.cpuUsage(cpuAt);
    const report: ProbeReport = {
      added: round(added),
      queue: round(queue),
      pipeline: round(pipeline),
      lane: round(lane),
      http: round(http),
      post: round(post),
      // The histogram holds whole timer intervals: subtract the 10 ms resolution to get the delay.
      loopDelay: {
        p50: Math.max(0, loop.percentile(50) / 1e6 - 10),
        p99: Math.max(0, loop.percentile(99) / 1e6 - 10),
        max: Math.max(0, loop.max / 1e6 - 10),
      },
      cpuMs: (cpu.user + cpu.system) / 1000,
      windowMs: performance.now() - windowStart,
      connects,
    };
    process.send?.({ seq: msg.seq, data: report });
  }
});
// The IPC channel must not keep the integrator alive on its own.
process.channel?.unref();
