/**
 * The lane's view of its parked work: which owned shards may hold some and when it is due, and the heads it
 * has claimed from the store. A claimed head is the one delivery of its package that may be out; it stays
 * claimed until settled here or until the next owner takes the shard over (claims never time out, so a
 * head waiting behind a paused lane or an open breaker is never handed out twice).
 *
 *   claim ──▶ ready ──send──▶ out ──answer──▶ settling (store write) ──▶ gone
 *                ▲                  │
 *                └──── not sent ────┘ (no token, breaker, pause: stays claimed, ready again)
 */
import type { ClaimResult, ParkedDelivery } from '../store/port.ts';

interface ShardInfo {
  /** Parked work may exist (known from the takeover, our own writes, or a refresh). */
  mayHave: boolean;
  /** The earliest time something may be due (0 = now; null = nothing due, maybe all claimed). */
  dueAt: number | null;
  claiming: boolean;
  /** `writes` when the claim under way started. */
  writesAtClaim: number;
  /** Bumped by every write that can add parked work, so a slow refresh never clears fresh news. */
  writes: number;
}

export type ClaimState = 'ready' | 'out' | 'settling';

export class ParkedWork {
  private readonly shards = new Map<string, ShardInfo>();
  private readonly claimed = new Map<string, { d: ParkedDelivery; state: ClaimState }>();
  private ready: string[] = [];

  // ── shards ──

  addShard(shard: string, parked: number): void {
    this.shards.set(shard, {
      mayHave: parked > 0,
      dueAt: parked > 0 ? 0 : null,
      claiming: false,
      writesAtClaim: 0,
      writes: 0,
    });
  }

  /** The shard is gone: its claimed heads are forgotten (the next owner's takeover hands them out again). */
  removeShard(shard: string): ParkedDelivery[] {
    this.shards.delete(shard);
    const gone: ParkedDelivery[] = [];
    for (const [id, c] of this.claimed) {
      if (c.d.shard !== shard) continue;
      this.claimed.delete(id);
      gone.push(c.d);
    }
    return gone;
  }

  mayHaveParked(shard: string): boolean {
    return this.shards.get(shard)?.mayHave ?? false;
  }

  /** Something may be parked in `shard`, due at `dueAt` (null: parked but claimed here, not due). */
  touched(shard: string, dueAt: number | null): void {
    const s = this.shards.get(shard);
    if (!s) return;
    s.mayHave = true;
    s.writes += 1;
    if (dueAt !== null) s.dueAt = s.dueAt === null ? dueAt : Math.min(s.dueAt, dueAt);
  }

  writesOf(shard: string): number {
    return this.shards.get(shard)?.writes ?? 0;
  }

  /** A refresh read the shard's parked count; `writesBefore`: `writesOf` when the read started. */
  refreshed(shard: string, parked: number, writesBefore: number): void {
    const s = this.shards.get(shard);
    if (!s || s.writes !== writesBefore) return;
    if (parked > 0 && !s.mayHave) {
      s.mayHave = true;
      s.dueAt = 0;
    } else if (parked === 0) {
      s.mayHave = false;
      s.dueAt = null;
    }
  }

  /** Shards with something due by `now` and no claim under way. */
  dueShards(now: number): string[] {
    const out: string[] = [];
    for (const [shard, s] of this.shards)
      if (!s.claiming && s.dueAt !== null && s.dueAt <= now) out.push(shard);
    return out;
  }

  earliestDue(): number | null {
    let t: number | null = null;
    for (const s of this.shards.values())
      if (!s.claiming && s.dueAt !== null && (t === null || s.dueAt < t)) t = s.dueAt;
    return t;
  }

  startClaim(shard: string): void {
    const s = this.shards.get(shard);
    if (!s) return;
    s.claiming = true;
    s.writesAtClaim = s.writes;
  }

  /** A claim answered (or failed: `result` null, try again at `retryAt`). Returns the heads now claimed here. */
  endClaim(shard: string, result: ClaimResult | null, retryAt: number): ParkedDelivery[] {
    const s = this.shards.get(shard);
    if (!s) return [];
    s.claiming = false;
    if (!result) {
      s.dueAt = retryAt;
      return [];
    }
    // Something parked while the claim ran may be due now: look again at once.
    const touched = s.writes !== s.writesAtClaim;
    s.dueAt = touched ? 0 : result.nextDueAt;
    const fresh = result.heads.filter((d) => !this.claimed.has(d.deliveryId));
    for (const d of fresh) {
      this.claimed.set(d.deliveryId, { d, state: 'ready' });
      this.ready.push(d.deliveryId);
    }
    return fresh;
  }

  // ── claimed heads ──

  get claimedCount(): number {
    return this.claimed.size;
  }

  get readyCount(): number {
    return this.ready.length;
  }

  /** The next claimed head to send, now out. */
  next(): ParkedDelivery | null {
    while (this.ready.length > 0) {
      const id = this.ready.shift()!;
      const c = this.claimed.get(id);
      if (!c || c.state !== 'ready') continue;
      c.state = 'out';
      return c.d;
    }
    return null;
  }

  /** Not sent after all: first in line again. */
  putBack(d: ParkedDelivery): void {
    const c = this.claimed.get(d.deliveryId);
    if (!c || c.state !== 'out') return;
    c.state = 'ready';
    this.ready.unshift(d.deliveryId);
  }

  /** A head moved here from memory while out (checkpointed): it is claimed and out. */
  adopt(d: ParkedDelivery): void {
    this.claimed.set(d.deliveryId, { d, state: 'out' });
  }

  /** What this lane believes about its parked work, for tests and traces. */
  describe(): string {
    const shards = [...this.shards].map(
      ([k, s]) =>
        `${k.slice(-2)}:${s.mayHave ? 'may' : 'none'}/due=${s.dueAt}${s.claiming ? '/claiming' : ''}`,
    );
    return `${shards.join(' ')} claimed=${this.claimed.size} ready=${this.ready.length}`;
  }

  claimedIds(): string[] {
    return [...this.claimed.keys()];
  }

  isClaimed(d: ParkedDelivery): boolean {
    return this.claimed.has(d.deliveryId);
  }

  settling(d: ParkedDelivery): void {
    const c = this.claimed.get(d.deliveryId);
    if (c) c.state = 'settling';
  }

  /** Its settle landed (or its shard went away). */
  release(d: ParkedDelivery): void {
    this.claimed.delete(d.deliveryId);
  }

  /** Ready heads of shards that match (for dropping). */
  claimedOf(shard: string): ParkedDelivery[] {
    return [...this.claimed.values()].filter((c) => c.d.shard === shard).map((c) => c.d);
  }
}
