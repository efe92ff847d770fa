/**
 * The delivery log as the delivery path sees it: an observer whose listeners only encode the event into a
 * bounded buffer of off-heap chunks (src/log/chunks.ts, src/log/wire.ts) and return. Every FLUSH_MS the
 * chunks are handed to the writer thread (src/log/worker.ts), at most MAX_OUTSTANDING batches at a time.
 * When the store is slow or away, the worker stops acknowledging, the buffer fills, and the oldest records
 * are dropped and counted (`integrator_delivery_log_dropped_total`): deliveries never wait for the log.
 *
 *   created ──start()──▶ running ──close()──▶ closing ──▶ closed
 *
 * The store's own health (opening / up / down) is reported by the worker and shown in /overview.
 */
import { Worker } from 'node:worker_threads';
import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { ChangeSeen, DeliveryEvent, DeliveryObserver } from '../report/delivery-events.ts';
import type { Logger } from '../report/logger.ts';
import type { DeliveryLogConfig } from '../config/console.ts';
import type { DeliveryFilter, DeliveryItem, EventDetail, LogCounts, Page, PackageView } from './port.ts';
import { BadCursorError } from './port.ts';
import { encodeChange, encodeDelivery } from './wire.ts';
import { ChunkBuffer } from './chunks.ts';
import type { Chunk } from './chunks.ts';
import type { HostMessage, QueryOp, WorkerMessage, WorkerSettings } from './protocol.ts';
import { MAX_OUTSTANDING } from './protocol.ts';

const FLUSH_MS = 250;
/** Records per batch handed to the writer, about (whole chunks). */
const BATCH_RECORDS = 5000;
const QUERY_TIMEOUT_MS = 15_000;
/**
 * The writer thread's young generation, capped: V8 sizes it for the machine's memory (~75 MB of heap on a
 * 24 GiB machine) though the thread keeps only a batch or two alive. 16 MB saves ~50 MB resident for the
 * same CPU (measured at 14,000 records/s); 8 MB cost ~10 % more CPU in collections.
 */
const WORKER_YOUNG_GEN_MB = 16;

type Mode = 'created' | 'running' | 'closing' | 'closed';
const LEGAL: Record<Mode, Mode[]> = {
  created: ['running', 'closed'],
  running: ['closing'],
  closing: ['closed'],
  closed: [],
};

export type LogHealth = 'off' | 'opening' | 'up' | 'down';

export interface LogStatus {
  kind: DeliveryLogConfig['kind'];
  health: LogHealth;
  error: string | null;
  buffered: number;
  written: number;
  dropped: number;
}

/** Thrown by queries when the log cannot answer (off, still opening, store away): HTTP 503. */
export class LogUnavailableError extends Error {}

function workerUrl(): URL {
  // Source (tsx, vitest, Node's type stripping) or the compiled build: the worker sits beside this file.
  return new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);
}

export class DeliveryLog implements DeliveryObserver {
  private mode: Mode = 'created';
  private health: LogHealth = 'opening';
  private error: string | null = null;
  private readonly buffer: ChunkBuffer;
  private worker: Worker | null = null;
  private timer: NodeJS.Timeout | null = null;
  private outstanding = 0;
  private batchSeq = 0;
  private querySeq = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private closed: Promise<void> | null = null;
  private onClosed: (() => void) | null = null;
  private written = 0;
  private droppedTotal = 0;
  private restarts = 0;
  private readonly metrics: {
    dropped: Counter;
    written: Counter;
    buffered: Gauge;
    up: Gauge;
  };

  constructor(
    private readonly config: DeliveryLogConfig,
    private readonly log: Logger,
    registry: Registry,
  ) {
    this.buffer = new ChunkBuffer(config.buffer);
    const registers = [registry];
    this.metrics = {
      dropped: new Counter({
        name: 'integrator_delivery_log_dropped_total',
        help: 'Delivery log records dropped because its buffer was full (the store was slow or away). Deliveries are never dropped.',
        registers,
      }),
      written: new Counter({
        name: 'integrator_delivery_log_written_total',
        help: 'Delivery log records written to the log store.',
        registers,
      }),
      buffered: new Gauge({
        name: 'integrator_delivery_log_buffered',
        help: 'Delivery log records waiting to be written.',
        registers,
        collect: () => this.metrics.buffered.set(this.buffer.size),
      }),
      up: new Gauge({
        name: 'integrator_delivery_log_up',
        help: '1 when the delivery log store accepts writes, 0 otherwise.',
        registers,
      }),
    };
  }

  private setMode(next: Mode): void {
    if (!LEGAL[this.mode].includes(next))
      throw new Error(`delivery log: ${this.mode} → ${next} is not a transition`);
    this.mode = next;
  }

  // ── the observer: called on the delivery path, must only enqueue ──

  change(e: ChangeSeen): void {
    if (this.mode === 'running') this.drop(this.buffer.push(encodeChange(e)));
  }

  delivery(e: DeliveryEvent): void {
    // `accepted` is written as part of its change's line (src/log/wire.ts).
    if (this.mode === 'running' && e.kind !== 'accepted') this.drop(this.buffer.push(encodeDelivery(e)));
  }

  private drop(n: number): void {
    if (n === 0) return;
    this.droppedTotal += n;
    this.metrics.dropped.inc(n);
  }

  // ── lifecycle ──

  start(): void {
    this.setMode('running');
    this.spawn();
    this.timer = setInterval(() => this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  private spawn(): void {
    const settings: WorkerSettings = {
      kind: this.config.kind === 'postgres' ? 'postgres' : 'embedded',
      url: this.config.url,
      dir: this.config.dir,
      maxAgeMs: this.config.maxAgeMs,
      maxRows: this.config.maxRows,
      pruneEveryMs: 10_000,
      retryMaxMs: 10_000,
      closeMs: 3000,
    };
    const worker = new Worker(workerUrl(), {
      workerData: settings,
      name: 'delivery-log',
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GEN_MB },
    });
    worker.unref();
    worker.on('message', (m: WorkerMessage) => this.onMessage(m));
    worker.on('error', (err) => this.log.error({ err: err.message }, 'delivery log worker failed'));
    worker.on('exit', (code) => {
      if (this.worker !== worker) return;
      this.worker = null;
      this.outstanding = 0; // batches it held are gone with it
      for (const w of this.waiting.values()) w.reject(new LogUnavailableError('the delivery log stopped'));
      this.waiting.clear();
      if (this.mode === 'running') {
        this.setHealth('down', `the delivery log worker exited (code ${code}); restarting`);
        this.restarts += 1;
        setTimeout(
          () => this.mode === 'running' && this.spawn(),
          Math.min(30_000, 1000 * this.restarts),
        ).unref();
      } else {
        this.onClosed?.();
      }
    });
    this.worker = worker;
  }

  private setHealth(health: LogHealth, error: string | null): void {
    const was = this.health;
    this.health = health;
    this.error = error;
    this.metrics.up.set(health === 'up' ? 1 : 0);
    if (health === 'down' && was !== 'down')
      this.log.warn({ reason: error }, 'delivery log unavailable; deliveries go on');
    if (health === 'up' && was === 'down') this.log.info('delivery log available again');
  }

  private onMessage(m: WorkerMessage): void {
    switch (m.type) {
      case 'state':
        this.setHealth(m.state, m.error);
        break;
      case 'ack':
        this.outstanding = Math.max(0, this.outstanding - 1);
        this.written += m.written;
        this.metrics.written.inc(m.written);
        if (m.lost > 0) this.drop(m.lost);
        break;
      case 'result': {
        const w = this.waiting.get(m.id);
        if (!w) break;
        this.waiting.delete(m.id);
        if (m.ok) w.resolve(m.value);
        else w.reject(m.badCursor ? new BadCursorError(m.error) : new LogUnavailableError(m.error));
        break;
      }
      case 'closed':
        if (m.unwritten > 0)
          this.log.warn({ batches: m.unwritten }, 'delivery log closed with batches unwritten');
        void this.worker?.terminate(); // its work is done: do not wait for the thread to wind down
        break;
      case 'pruned':
        break;
    }
  }

  /** Hands buffered chunks to the worker, ~BATCH_RECORDS per batch, at most MAX_OUTSTANDING unacknowledged. */
  private flush(): void {
    while (this.worker !== null && this.outstanding < MAX_OUTSTANDING && this.buffer.size > 0) {
      const chunks: Chunk[] = [];
      for (let records = 0; records < BATCH_RECORDS;) {
        const chunk = this.buffer.take();
        if (chunk === null) break;
        chunks.push(chunk);
        records += chunk.records;
      }
      this.batchSeq += 1;
      this.outstanding += 1;
      const batch = chunks.map(({ data, length }) => ({ data, length }));
      this.post(
        { type: 'batch', seq: this.batchSeq, chunks: batch },
        chunks.map((c) => c.data),
      );
    }
  }

  /** `transfer`: buffers handed over rather than copied (they are unusable here afterwards). */
  private post(m: HostMessage, transfer: ArrayBuffer[] = []): void {
    this.worker?.postMessage(m, transfer);
  }

  /** Writes what is buffered (within `deadlineMs`), then stops the worker. */
  close(deadlineMs = 3000): Promise<void> {
    if (this.closed) return this.closed;
    if (this.mode === 'created') {
      this.setMode('closed');
      this.closed = Promise.resolve();
      return this.closed;
    }
    this.setMode('closing');
    this.closed = (async () => {
      if (this.timer) clearInterval(this.timer);
      const until = Date.now() + deadlineMs;
      while (
        this.worker &&
        this.health === 'up' &&
        (this.buffer.size > 0 || this.outstanding > 0) &&
        Date.now() < until
      ) {
        this.flush();
        await new Promise((r) => setTimeout(r, 10));
      }
      this.drop(this.buffer.clear());
      const worker = this.worker;
      if (worker) {
        const exited = new Promise<void>((r) => (this.onClosed = r));
        this.post({ type: 'close' });
        const timer = setTimeout(() => void worker.terminate(), Math.max(500, until - Date.now()) + 2000);
        await exited;
        clearTimeout(timer);
      }
      this.setMode('closed');
    })();
    return this.closed;
  }

  status(): LogStatus {
    return {
      kind: this.config.kind,
      health: this.health,
      error: this.error,
      buffered: this.buffer.size,
      written: this.written,
      dropped: this.droppedTotal,
    };
  }

  // ── queries (the HTTP query API) ──

  private query<T>(op: QueryOp, args: unknown[]): Promise<T> {
    if (this.mode !== 'running' || this.worker === null) {
      return Promise.reject(new LogUnavailableError('the delivery log is not running'));
    }
    const id = ++this.querySeq;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new LogUnavailableError(`the delivery log did not answer within ${QUERY_TIMEOUT_MS} ms`));
      }, QUERY_TIMEOUT_MS);
      this.waiting.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.post({ type: 'query', id, op, args });
    });
  }

  deliveries(filter: DeliveryFilter, limit: number, cursor: string | null): Promise<Page<DeliveryItem>> {
    return this.query('deliveries', [filter, limit, cursor]);
  }
  event(eventId: string): Promise<EventDetail | null> {
    return this.query('event', [eventId]);
  }
  package(packageId: string, limit: number, cursor: string | null): Promise<PackageView | null> {
    return this.query('package', [packageId, limit, cursor]);
  }
  counts(): Promise<LogCounts> {
    return this.query('counts', []);
  }
  /** Applies retention now (it also runs every 10 s on its own). */
  prune(): Promise<number> {
    return this.query('prune', []);
  }
  /** Resolves once everything buffered so far is written (tests, shutdown); false on timeout. */
  async settled(timeoutMs: number): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (this.buffer.size === 0 && this.outstanding === 0) return true;
      this.flush();
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  }
}
