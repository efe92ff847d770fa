/**
 * The live stream (`GET /events/stream`, Server-Sent Events): each attempt and settlement as it happens,
 * for the console's live feed and anyone who wants to watch. On the delivery path it only appends the event
 * to a short list, and only while someone is watching; every FLUSH_MS the list is serialised once and
 * written to each matching client. A client whose unsent output passes its buffer (a slow reader) is
 * dropped, never waited for. Heartbeats every HEARTBEAT_MS keep proxies from closing a quiet stream, and
 * a reconnecting EventSource gets what it missed from the last REPLAY frames (`Last-Event-ID`).
 *
 * One client: open ──▶ closed (it left, or it was too slow: dropped).
 */
import type { ServerResponse } from 'node:http';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { ChangeSeen, DeliveryEvent, DeliveryObserver } from '../report/delivery-events.ts';

const FLUSH_MS = 100;
const HEARTBEAT_MS = 15_000;
const REPLAY = 500;
const PENDING_MAX = 10_000;

export interface StreamFilter {
  customer?: string;
  packageId?: string;
}

export interface StreamItem {
  seq: number;
  kind: string;
  at: string;
  eventId: string;
  customer: string;
  packageId: string;
  status: string | null;
  /** The attempt's result (`2xx`, `5xx`, `timeout`, …) or the settlement (`delivered`, `dead`, …). */
  outcome: string;
  attempt?: number;
  httpStatus?: number | null;
  durationMs?: number;
  detail?: string;
  dueAt?: string | null;
}

interface Client {
  res: ServerResponse;
  filter: StreamFilter;
  mode: 'open' | 'closed';
}

interface Frame {
  seq: number;
  customer: string;
  packageId: string;
  text: string;
}

const STREAMED = new Set(['attempted', 'parked', 'delivered', 'dead', 'replayed', 'discarded', 'dropped']);

function itemOf(seq: number, e: DeliveryEvent): StreamItem {
  const base = {
    seq,
    kind: e.kind,
    at: new Date(e.at).toISOString(),
    eventId: e.eventId,
    customer: e.customer,
    packageId: e.packageId,
    status: e.label,
  };
  switch (e.kind) {
    case 'attempted':
      return {
        ...base,
        outcome: e.result,
        attempt: e.attempt,
        httpStatus: e.httpStatus,
        durationMs: Math.round(e.durationMs * 10) / 10,
        detail: e.detail,
      };
    case 'parked':
      return {
        ...base,
        outcome: 'parked',
        detail: e.why,
        dueAt: e.dueAt === null ? null : new Date(e.dueAt).toISOString(),
      };
    case 'delivered':
      return { ...base, outcome: 'delivered', attempt: e.attempts };
    case 'dead':
      return { ...base, outcome: 'dead', attempt: e.attempts, detail: e.reason };
    default:
      return { ...base, outcome: e.kind };
  }
}

const matches = (f: StreamFilter, x: { customer: string; packageId: string }): boolean =>
  (f.customer === undefined || f.customer === x.customer) &&
  (f.packageId === undefined || f.packageId === x.packageId);

export class EventStream implements DeliveryObserver {
  private readonly clients = new Set<Client>();
  private pending: DeliveryEvent[] = [];
  private readonly replay: Frame[] = [];
  private seq = 0;
  private readonly flushTimer: NodeJS.Timeout;
  private readonly beatTimer: NodeJS.Timeout;
  private readonly gauge: Gauge;
  private readonly droppedClients: Counter;

  constructor(
    registry: Registry,
    private readonly opts: { maxClients: number; clientBufferBytes: number } = {
      maxClients: 100,
      clientBufferBytes: 1 << 20,
    },
  ) {
    this.gauge = new Gauge({
      name: 'integrator_stream_clients',
      help: 'Clients connected to GET /events/stream.',
      registers: [registry],
      collect: () => this.gauge.set(this.clients.size),
    });
    this.droppedClients = new Counter({
      name: 'integrator_stream_clients_dropped_total',
      help: 'Stream clients disconnected because they read too slowly.',
      registers: [registry],
    });
    this.flushTimer = setInterval(() => this.flush(), FLUSH_MS);
    this.flushTimer.unref();
    this.beatTimer = setInterval(() => this.heartbeat(), HEARTBEAT_MS);
    this.beatTimer.unref();
  }

  change(_e: ChangeSeen): void {}

  delivery(e: DeliveryEvent): void {
    if (this.clients.size === 0 || !STREAMED.has(e.kind)) return;
    if (this.pending.length < PENDING_MAX) this.pending.push(e);
  }

  get size(): number {
    return this.clients.size;
  }

  /** Takes over a response for the stream; false when there are already too many clients. */
  attach(res: ServerResponse, filter: StreamFilter, lastEventId: number | null): boolean {
    if (this.clients.size >= this.opts.maxClients) return false;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    const client: Client = { res, filter, mode: 'open' };
    this.clients.add(client);
    res.on('close', () => this.remove(client));
    let hello = `retry: 3000\n: connected ${new Date().toISOString()}\n\n`;
    if (lastEventId !== null) {
      for (const f of this.replay) if (f.seq > lastEventId && matches(filter, f)) hello += f.text;
    }
    res.write(hello);
    return true;
  }

  private remove(c: Client): void {
    if (c.mode === 'closed') return;
    c.mode = 'closed';
    this.clients.delete(c);
  }

  private flush(): void {
    if (this.pending.length === 0) return;
    const events = this.pending;
    this.pending = [];
    if (this.clients.size === 0) return;
    const frames: Frame[] = events.map((e) => {
      const seq = ++this.seq;
      const item = itemOf(seq, e);
      return {
        seq,
        customer: e.customer,
        packageId: e.packageId,
        text: `id: ${seq}\nevent: ${e.kind}\ndata: ${JSON.stringify(item)}\n\n`,
      };
    });
    this.replay.push(...frames);
    if (this.replay.length > REPLAY) this.replay.splice(0, this.replay.length - REPLAY);
    for (const c of this.clients) {
      let out = '';
      for (const f of frames) if (matches(c.filter, f)) out += f.text;
      if (out) this.write(c, out);
    }
  }

  private write(c: Client, text: string): void {
    if (c.res.writableLength > this.opts.clientBufferBytes) {
      // Too slow: its unsent output would only grow. Drop it; EventSource reconnects and resumes.
      this.droppedClients.inc();
      this.remove(c);
      c.res.destroy();
      return;
    }
    c.res.write(text);
  }

  private heartbeat(): void {
    const text = `event: heartbeat\ndata: {"at":"${new Date().toISOString()}"}\n\n`;
    for (const c of this.clients) this.write(c, text);
  }

  close(): void {
    clearInterval(this.flushTimer);
    clearInterval(this.beatTimer);
    for (const c of [...this.clients]) {
      this.remove(c);
      c.res.end();
    }
  }
}
