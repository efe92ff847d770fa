/** Messages between the delivery log's host (main thread) and its worker thread. */
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
  | { type: 'batch'; seq: number; text: string }
  | { type: 'query'; id: number; op: QueryOp; args: unknown[] }
  | { type: 'close' };

export type WorkerMessage =
  | { type: 'state'; state: 'opening' | 'up' | 'down'; error: string | null }
  | { type: 'ack'; seq: number; written: number; lost: number }
  | { type: 'pruned'; deleted: number }
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: string; badCursor: boolean }
  | { type: 'closed'; unwritten: number };
