/**
 * The delivery log's buffer on the delivery path: each record is encoded when it happens (src/log/wire.ts)
 * and its bytes appended to an off-heap chunk. The event object then dies young, where a ring of objects
 * kept every record in the heap until the next flush (up to 250 ms, thousands of objects at full speed):
 * long enough to be promoted and marked by the old generation's collector. A chunk crosses to the writer
 * thread by transfer, not copied into a message.
 *
 * Bounded by records (`DELIVERY_LOG_BUFFER`): a chunk is sealed at CHUNK_BYTES or at a quarter of the
 * capacity in records, and when the chunks hold more records than the capacity, the oldest sealed chunk is
 * dropped whole and its records counted. At least three quarters of the capacity, the newest, survive.
 *
 *   filling ──(CHUNK_BYTES or capacity/4 records, or take())──▶ sealed ──take()──▶ handed to the writer
 *                                                                 └──(buffer over capacity)──▶ dropped
 */

/** Bytes per chunk: ~200 deliveries with their bodies; a full-speed stream seals a few dozen a second. */
export const CHUNK_BYTES = 256 * 1024;

export interface Chunk {
  /** Its own ArrayBuffer (transferable); the records' bytes are its first `length`. */
  data: ArrayBuffer;
  length: number;
  records: number;
}

export class ChunkBuffer {
  private readonly sealed: Chunk[] = [];
  private current: Buffer | null = null;
  private pos = 0;
  private currentRecords = 0;
  private readonly recordsPerChunk: number;
  /** Records buffered (sealed and filling). */
  size = 0;

  constructor(
    readonly capacity: number,
    private readonly chunkBytes = CHUNK_BYTES,
  ) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new Error(`ChunkBuffer: capacity ${capacity}`);
    this.recordsPerChunk = Math.max(1, Math.floor(capacity / 4));
  }

  /** Appends one encoded record; returns how many of the oldest records were dropped to make room. */
  push(line: string): number {
    // UTF-8 takes at most 3 bytes per UTF-16 unit: only a long line needs its exact size worked out.
    let need = line.length * 3;
    if (this.current === null || this.pos + need > this.current.length) {
      if (this.current !== null) need = Buffer.byteLength(line);
      if (this.current === null || this.pos + need > this.current.length) {
        this.seal();
        this.current = Buffer.allocUnsafeSlow(Math.max(this.chunkBytes, need));
      }
    }
    this.pos += this.current.write(line, this.pos);
    this.currentRecords += 1;
    this.size += 1;
    if (this.currentRecords >= this.recordsPerChunk) this.seal();
    let dropped = 0;
    while (this.size > this.capacity && this.sealed.length > 0) {
      const oldest = this.sealed.shift()!;
      this.size -= oldest.records;
      dropped += oldest.records;
    }
    return dropped;
  }

  /** The oldest chunk, sealing the filling one when nothing older waits; null when empty. */
  take(): Chunk | null {
    if (this.sealed.length === 0) this.seal();
    const chunk = this.sealed.shift() ?? null;
    if (chunk) this.size -= chunk.records;
    return chunk;
  }

  /** Forgets everything buffered; returns how many records that was. */
  clear(): number {
    const n = this.size;
    this.sealed.length = 0;
    this.current = null;
    this.pos = 0;
    this.currentRecords = 0;
    this.size = 0;
    return n;
  }

  private seal(): void {
    if (this.current === null || this.currentRecords === 0) return;
    this.sealed.push({
      data: this.current.buffer as ArrayBuffer,
      length: this.pos,
      records: this.currentRecords,
    });
    this.current = null;
    this.pos = 0;
    this.currentRecords = 0;
  }
}
