/**
 * Bringing parked work back: claim due heads of parked packages while the lane has room (two rounds of
 * concurrency ahead, so a request never waits for a claim's round trip; one claim per shard at a time,
 * shards concurrently), wake up when the next one is due, and every second read the parked count (the
 * gauge, and work parked by someone else: an operator's replay). Operator replays of dead letters come in
 * here too: they become parked work.
 */
import type { Clock } from '../clock.ts';
import { Alarm } from '../clock.ts';
import type { ParkedDelivery, RetryStore } from '../store/port.ts';
import type { DeliveryStep } from '../report/delivery-events.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { Logger } from '../report/logger.ts';
import type { ParkedWork } from './parked-work.ts';
import { ShardGone } from './store-link.ts';
import type { StoreLink } from './store-link.ts';

export interface ClaimsDeps {
  customer: string;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  store: RetryStore;
  link: StoreLink;
  parked: ParkedWork;
  refreshMs: number;
  /** How many heads may be claimed now (0 when the lane may not send). */
  room(): number;
  /** Heads were claimed: send them. */
  claimed(): void;
  /** May the lane read the store (not stopping)? */
  active(): boolean;
  emit(d: ParkedDelivery, step: DeliveryStep): void;
}

const REPLAY_PAGE = 500;

export class Claims {
  /** Parked deliveries of this customer, as last read (the gauge). */
  parkedTotal = 0;
  private queued = false;
  private refreshing = false;
  private readonly drainAlarm: Alarm;
  private readonly refreshAlarm: Alarm;

  constructor(private readonly c: ClaimsDeps) {
    this.drainAlarm = new Alarm(c.clock, () => void this.drain());
    this.refreshAlarm = new Alarm(c.clock, () => void this.refresh());
    this.refreshAlarm.at(c.clock.now() + c.refreshMs);
  }

  soon(): void {
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    const { clock, parked, link } = this.c;
    // Nothing parked is due (the usual case, checked after every delivery): no room to work out.
    const due = parked.earliestDue();
    if (due === null) return;
    const room = this.c.room();
    const shards = room > 0 ? parked.dueShards(clock.now()) : [];
    if (shards.length === 0) {
      if (room > 0) this.drainAlarm.at(due);
      return;
    }
    const share = Math.max(1, Math.ceil(room / shards.length));
    await Promise.all(
      shards.map(async (shard) => {
        parked.startClaim(shard);
        let res = null;
        try {
          res = await link.claim(shard, share);
        } catch (err) {
          if (err instanceof ShardGone) return;
        }
        if (parked.endClaim(shard, res, clock.now() + 1000).length > 0) this.c.claimed();
      }),
    );
    const next = parked.earliestDue();
    if (next !== null) this.drainAlarm.at(Math.max(next, clock.now()));
  }

  private async refresh(): Promise<void> {
    const { clock, store, customer, parked } = this.c;
    this.refreshAlarm.at(clock.now() + this.c.refreshMs);
    if (this.refreshing || !this.c.active()) return;
    this.refreshing = true;
    try {
      this.parkedTotal = await store.parkedCount(customer);
      this.c.metrics.retryQueueDepth.set({ customer }, this.parkedTotal);
      for (const shard of this.c.link.ownedShards) {
        const before = parked.writesOf(shard);
        parked.refreshed(shard, await store.parkedCount(customer, shard), before);
      }
      this.soon();
    } catch (err) {
      this.c.log.warn({ err: (err as Error).message }, 'could not read the parked count');
    } finally {
      this.refreshing = false;
    }
  }

  /** Dead letters back as parked work (each a package of its own, a fresh attempt budget), page by page. */
  async replay(ids?: string[]): Promise<number> {
    const { store, customer, clock, parked } = this.c;
    let n = 0;
    for (let page = 0; ; page++) {
      const batch = ids ? ids.slice(page * REPLAY_PAGE, (page + 1) * REPLAY_PAGE) : null;
      if (batch && batch.length === 0) break;
      const now = clock.now();
      const r = await store.replayDeadLetters(customer, batch, now, REPLAY_PAGE);
      for (const x of r.replayed) {
        this.c.emit(x.delivery, { kind: 'replayed' });
        parked.touched(x.delivery.shard, now);
      }
      n += r.replayed.length;
      if (!batch && (r.remaining === 0 || r.replayed.length === 0)) break;
    }
    this.soon();
    return n;
  }

  async discard(ids: string[]): Promise<number> {
    const listed = await this.c.store.listDeadLetters(this.c.customer, 0, 1_000_000);
    const wanted = new Set(ids);
    const gone = await this.c.store.discardDeadLetters(this.c.customer, ids);
    for (const x of listed.items) if (wanted.has(x.id)) this.c.emit(x.delivery, { kind: 'discarded' });
    return gone;
  }

  stop(): void {
    this.drainAlarm.cancel();
    this.refreshAlarm.cancel();
  }
}
