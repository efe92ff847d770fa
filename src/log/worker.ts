/**
 * The delivery log's writer, on its own thread (started by src/log/delivery-log.ts): it opens the store
 * (the embedded SQLite runs here, synchronously, so its work never takes the delivery path's thread),
 * writes the batches it is sent in order, prunes by age and rows, and answers the query API. A batch waits
 * up to HOLD_MS for the next ones to join its transaction: the log's indexes are keyed by random ids, so a
 * commit writes a page for nearly every row it holds, and 250 ms of a quiet stream is a few hundred rows. On Linux the thread runs at the lowest
 * CPU priority: when the machine is busy, deliveries come first and the log falls behind (its bounded
 * buffer drops and counts) instead of slowing them; at start-up it comes up later rather than slow them.
 *
 *   opening ──▶ up ◀──▶ down (write or open failed; retried with backoff, batches kept in order)
 *      │         │
 *      └─────────┴──▶ closing ──▶ closed
 *
 * Imports here must run under Node's own type stripping too (no parameter properties, no enums).
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import type { DeliveryLogStore } from './port.ts';
import { BadCursorError } from './port.ts';
import { reduce } from './reduce.ts';
import { decode } from './wire.ts';
import type { LogRecord } from './wire.ts';
import { openEmbeddedLog } from './sqlite.ts';
import { openPostgresLog } from './postgres.ts';
import type { HostMessage, WorkerMessage, WorkerSettings } from './protocol.ts';
import { MAX_OUTSTANDING } from './protocol.ts';

type Mode = 'opening' | 'up' | 'down' | 'closing' | 'closed';
const LEGAL: Record<Mode, Mode[]> = {
  opening: ['up', 'down', 'closing'],
  up: ['down', 'closing'],
  down: ['up', 'closing'],
  closing: ['closed'],
  closed: [],
};

const settings = workerData as WorkerSettings;
const MERGE = 8;
/** How long a batch may wait for others to share its transaction (the console sees it that much later). */
const HOLD_MS = 1000;
/** Queued text worth a transaction at once (~2,000 deliveries). */
const HOLD_TEXT = 2_000_000;
const port = parentPort!;
let mode: Mode = 'opening';
let store: DeliveryLogStore | null = null;
/** A batch: its chunks' text (each holds whole lines), their total length, when it arrived. */
const queue: { seq: number; texts: string[]; length: number; at: number }[] = [];
let writing = false;
let holding: NodeJS.Timeout | null = null;
let pruning = false;
let lastError: string | null = null;

const send = (m: WorkerMessage): void => port.postMessage(m);
const utf8 = new TextDecoder();

function setMode(next: Mode, error: string | null = null): void {
  if (next === mode) return;
  if (!LEGAL[mode].includes(next))
    throw new Error(`delivery log worker: ${mode} → ${next} is not a transition`);
  mode = next;
  lastError = error;
  if (next === 'up' || next === 'down') send({ type: 'state', state: next, error });
}

const stopping = (): boolean => mode === 'closing' || mode === 'closed';

function lowerPriority(): void {
  try {
    // This thread's id on Linux ("<pid>/task/<tid>"); setpriority on it leaves the other threads alone.
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, 19);
  } catch {
    // Not Linux, or not allowed: the log then shares the CPU evenly, which the bench measures.
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

async function openStore(): Promise<DeliveryLogStore> {
  if (settings.kind === 'postgres') {
    return openPostgresLog(settings.url!, (err) => {
      lastError = err.message;
    });
  }
  return openEmbeddedLog(settings.dir, { maxRows: settings.maxRows });
}

async function open(): Promise<void> {
  let delay = 500;
  while (!stopping()) {
    let opened: DeliveryLogStore | null = null;
    try {
      opened = await openStore();
      await opened.migrate();
      if (stopping()) {
        await opened.close(); // closed while it opened
        return;
      }
      store = opened;
      setMode('up');
      void prune();
      void drain();
      return;
    } catch (err) {
      await opened?.close().catch(() => {});
      if (stopping()) return;
      setMode('down', `cannot open the delivery log: ${message(err)}`);
      await sleep(delay);
      delay = Math.min(delay * 2, settings.retryMaxMs);
    }
  }
}

/**
 * Whether the queued batches should wait for more: not once they are HOLD_MS old, hold HOLD_TEXT, or are
 * half of what the host sends unacknowledged (the other half keeps its ring draining meanwhile).
 */
function shouldHold(): boolean {
  if (mode !== 'up' || queue.length >= MAX_OUTSTANDING / 2) return false;
  const age = Date.now() - queue[0]!.at;
  let text = 0;
  for (const b of queue) text += b.length;
  if (age >= HOLD_MS || text >= HOLD_TEXT) return false;
  holding ??= setTimeout(() => {
    holding = null;
    void drain();
  }, HOLD_MS - age);
  return true;
}

/** Writes queued batches in order; a failed batch is retried (with backoff) before any later one. */
async function drain(): Promise<void> {
  if (writing || store === null || queue.length === 0 || shouldHold()) return;
  writing = true;
  let delay = 200;
  try {
    while (queue.length > 0 && mode !== 'closed') {
      // Batches that queued up while the last write ran go in together: one transaction, fewer statements.
      const batches = queue.slice(0, MERGE);
      const records: LogRecord[] = [];
      let bad = 0;
      for (const b of batches) for (const t of b.texts) bad += decode(t, records).bad;
      try {
        await store.write(reduce(records));
        queue.splice(0, batches.length);
        delay = 200;
        if (mode === 'down') setMode('up');
        for (const [i, b] of batches.entries()) {
          send({ type: 'ack', seq: b.seq, written: i === 0 ? records.length : 0, lost: i === 0 ? bad : 0 });
        }
      } catch (err) {
        if (mode === 'closing') {
          queue.splice(0, batches.length);
          for (const [i, b] of batches.entries()) {
            send({ type: 'ack', seq: b.seq, written: 0, lost: i === 0 ? records.length + bad : 0 });
          }
          continue;
        }
        if (mode === 'up') setMode('down', `delivery log write failed: ${message(err)}`);
        await sleep(delay);
        delay = Math.min(delay * 2, settings.retryMaxMs);
      }
    }
  } finally {
    writing = false;
  }
}

const pruneNow = (s: DeliveryLogStore): Promise<number> =>
  s.prune(Date.now(), settings.maxAgeMs, settings.maxRows);

async function prune(): Promise<void> {
  if (pruning || store === null || mode !== 'up') return;
  pruning = true;
  try {
    const deleted = await pruneNow(store);
    send({ type: 'pruned', deleted });
  } catch (err) {
    lastError = `delivery log retention failed: ${message(err)}`;
  } finally {
    pruning = false;
  }
}

async function answer(id: number, op: string, args: unknown[]): Promise<void> {
  try {
    if (store === null || mode === 'opening')
      throw new Error(lastError ?? 'the delivery log is still opening');
    let value: unknown;
    switch (op) {
      case 'deliveries':
        value = await store.deliveries(args[0] as never, args[1] as number, args[2] as string | null);
        break;
      case 'event':
        value = await store.event(args[0] as string);
        break;
      case 'package':
        value = await store.package(args[0] as string, args[1] as number, args[2] as string | null);
        break;
      case 'counts':
        value = await store.counts();
        break;
      case 'prune':
        value = await pruneNow(store);
        break;
      default:
        throw new Error(`unknown query ${op}`);
    }
    send({ type: 'result', id, ok: true, value });
  } catch (err) {
    send({
      type: 'result',
      id,
      ok: false,
      error: message(err),
      badCursor: err instanceof BadCursorError,
    });
  }
}

async function close(): Promise<void> {
  if (mode === 'closing' || mode === 'closed') return;
  const wasUp = mode === 'up';
  setMode('closing');
  const deadline = Date.now() + settings.closeMs;
  while (wasUp && (queue.length > 0 || writing) && Date.now() < deadline) {
    void drain();
    await sleep(20);
  }
  clearInterval(pruneTimer);
  if (holding) clearTimeout(holding);
  await store?.close().catch(() => {});
  setMode('closed');
  send({ type: 'closed', unwritten: queue.length });
  port.close();
}

port.on('message', (m: HostMessage) => {
  switch (m.type) {
    case 'batch':
      {
        const texts = m.chunks.map((c) => utf8.decode(new Uint8Array(c.data, 0, c.length)));
        let length = 0;
        for (const t of texts) length += t.length;
        queue.push({ seq: m.seq, texts, length, at: Date.now() });
      }
      void drain();
      break;
    case 'query':
      void answer(m.id, m.op, m.args);
      break;
    case 'close':
      void close();
      break;
  }
});

// Everything this thread does, opening included, runs at the lowest priority.
lowerPriority();
const pruneTimer = setInterval(() => void prune(), settings.pruneEveryMs);
void open();
