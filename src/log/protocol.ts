/** Messages between the delivery log's host (main thread) and its worker thread. */

/**
 * Batches the host sends before it waits for the worker to acknowledge one (each ~5,000 records, ~1 MB).
 * The worker holds at most half of them for a shared transaction, so the host can go on sending the other
 * half while that transaction is written.
 */
export const MAX_OUTSTANDING = 8;
export interface WorkerSettings {
  kind: 'embedded' | 'postgres';
  url: string | null;
  dir: string | null;
  maxAgeMs: number;
  maxRows: number;
  pruneEveryMs: number;
  retryMaxMs: number;
  /** On close: how long queued batches may still be written. */
  closeMs: number;
}

export type QueryOp = 'deliveries' | 'event' | 'package' | 'counts' | 'prune';

export type HostMessage =
  /** The batch's records as UTF-8 lines (src/log/wire.ts): each chunk's first `length` bytes, transferred. */
  | { type: 'batch'; seq: number; chunks: { data: ArrayBuffer; length: number }[] }
  | { type: 'query'; id: number; op: QueryOp; args: unknown[] }
  | { type: 'close' };

export type WorkerMessage =
  | { type: 'state'; state: 'opening' | 'up' | 'down'; error: string | null }
  | { type: 'ack'; seq: number; written: number; lost: number }
  | { type: 'pruned'; deleted: number }
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: string; badCursor: boolean }
  | { type: 'closed'; unwritten: number };
