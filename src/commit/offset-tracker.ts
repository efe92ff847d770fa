/**
 * Offset tracking (pure). Per partition, messages are tracked in fetch order; each carries the number of
 * deliveries still unsettled. The commit point is the offset after the longest fully settled prefix:
 *
 *   offsets   10  11  12  13
 *   pending    0   0   2   0     → commit 12 (Kafka commits "next offset to read")
 *
 * A delivery is settled when it is delivered, dead-lettered, or durably parked. Settling out of order is
 * fine; the point only moves over a settled prefix, so a crash re-reads (duplicates) and never skips.
 */
interface Entry {
  offset: bigint;
  pending: number;
}

export class PartitionTracker {
  private readonly entries: Entry[] = [];
  private head = 0;
  private readonly byOffset = new Map<bigint, Entry>();
  private settledUpTo: bigint | null = null;

  /** Start tracking a message with `deliveries` unsettled deliveries (0 = settled at once). */
  track(offset: bigint, deliveries: number): void {
    const last = this.entries[this.entries.length - 1];
    if (last && offset <= last.offset) throw new RangeError(`offset ${offset} tracked after ${last.offset}`);
    const e = { offset, pending: deliveries };
    this.entries.push(e);
    if (deliveries > 0) this.byOffset.set(offset, e);
    this.advance();
  }

  settle(offset: bigint): void {
    const e = this.byOffset.get(offset);
    if (!e) throw new RangeError(`offset ${offset} has no unsettled delivery`);
    e.pending -= 1;
    if (e.pending === 0) {
      this.byOffset.delete(offset);
      this.advance();
    }
  }

  private advance(): void {
    while (this.head < this.entries.length && this.entries[this.head]!.pending === 0) {
      this.settledUpTo = this.entries[this.head]!.offset;
      this.head += 1;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
  }

  /** The offset to commit (next to read), or null when nothing new is settled. */
  committable(): bigint | null {
    return this.settledUpTo === null ? null : this.settledUpTo + 1n;
  }

  /** Messages fetched but not yet fully settled. */
  get uncommitted(): number {
    return this.entries.length - this.head;
  }
}

/** All partitions of all topics, keyed `topic:partition`. */
export class OffsetTracker {
  private readonly partitions = new Map<string, PartitionTracker>();
  private readonly committed = new Map<string, bigint>();

  static key(topic: string, partition: number): string {
    return `${topic}:${partition}`;
  }

  partition(topic: string, partition: number): PartitionTracker {
    const k = OffsetTracker.key(topic, partition);
    let t = this.partitions.get(k);
    if (!t) {
      t = new PartitionTracker();
      this.partitions.set(k, t);
    }
    return t;
  }

  /** Forget partitions (revoked or fenced): their unsettled records are read again by whoever owns them. */
  forget(shards: Set<string>): void {
    for (const k of shards) {
      this.partitions.delete(k);
      this.committed.delete(k);
    }
  }

  /** Offsets that moved since the last `markCommitted`. */
  pendingCommits(): { topic: string; partition: number; offset: bigint }[] {
    const out: { topic: string; partition: number; offset: bigint }[] = [];
    for (const [k, t] of this.partitions) {
      const offset = t.committable();
      if (offset === null || this.committed.get(k) === offset) continue;
      const i = k.lastIndexOf(':');
      out.push({ topic: k.slice(0, i), partition: Number(k.slice(i + 1)), offset });
    }
    return out;
  }

  markCommitted(topic: string, partition: number, offset: bigint): void {
    this.committed.set(OffsetTracker.key(topic, partition), offset);
  }

  uncommitted(): { topic: string; partition: number; count: number }[] {
    return [...this.partitions].map(([k, t]) => {
      const i = k.lastIndexOf(':');
      return { topic: k.slice(0, i), partition: Number(k.slice(i + 1)), count: t.uncommitted };
    });
  }
}
