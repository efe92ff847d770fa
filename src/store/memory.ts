/** In-memory RetryStore: same semantics as Redis, for tests and the demo. Not durable, not bounded. */
import type { DeadLetter, ParkItem, ParkedDelivery, PoisonRecord, RetryStore } from './port.ts';
import { POISON_KEEP } from './port.ts';

interface Shard {
  lists: Map<string, ParkedDelivery[]>;
  due: Map<string, number>;
  leases: Map<string, number>;
}

export class MemoryRetryStore implements RetryStore {
  private readonly shards = new Map<string, Shard>();
  private readonly dead = new Map<string, Map<string, DeadLetter>>();
  private poison: PoisonRecord[] = [];

  private shard(customer: string, shard: string): Shard {
    const k = `${customer}\u0000${shard}`;
    let s = this.shards.get(k);
    if (!s) {
      s = { lists: new Map(), due: new Map(), leases: new Map() };
      this.shards.set(k, s);
    }
    return s;
  }

  private copy(d: ParkedDelivery): ParkedDelivery {
    return { ...d };
  }

  async park(items: ParkItem[], opts: { front?: boolean } = {}): Promise<void> {
    if (opts.front) {
      for (const { delivery, dueAt, leased } of [...items].reverse()) {
        const s = this.shard(delivery.customer, delivery.shard);
        const list = s.lists.get(delivery.orderingKey);
        if (list) list.unshift(this.copy(delivery));
        else s.lists.set(delivery.orderingKey, [this.copy(delivery)]);
        s.due.set(delivery.orderingKey, dueAt);
        if (leased) s.leases.set(delivery.orderingKey, dueAt);
        else s.leases.delete(delivery.orderingKey);
      }
      return;
    }
    for (const { delivery, dueAt } of items) {
      const s = this.shard(delivery.customer, delivery.shard);
      const list = s.lists.get(delivery.orderingKey);
      if (list) list.push(this.copy(delivery));
      else {
        s.lists.set(delivery.orderingKey, [this.copy(delivery)]);
        s.due.set(delivery.orderingKey, dueAt);
      }
    }
  }

  async appendIfParked(items: ParkedDelivery[]): Promise<boolean[]> {
    return items.map((d) => {
      const list = this.shard(d.customer, d.shard).lists.get(d.orderingKey);
      if (!list) return false;
      list.push(this.copy(d));
      return true;
    });
  }

  async claimDue(customer: string, shard: string, now: number, limit: number, leaseMs: number) {
    const s = this.shard(customer, shard);
    const due = [...s.due.entries()].filter(([, t]) => t <= now).sort((a, b) => a[1] - b[1]);
    const out: ParkedDelivery[] = [];
    for (const [pkg] of due) {
      if (out.length >= limit) break;
      const head = s.lists.get(pkg)?.[0];
      if (!head) {
        s.due.delete(pkg);
        continue;
      }
      s.leases.set(pkg, now + leaseMs);
      s.due.set(pkg, now + leaseMs);
      out.push(this.copy(head));
    }
    return out;
  }

  /** Runs `fn` when `d` is still the head of its package list. */
  private withHead(d: ParkedDelivery, fn: (s: Shard, list: ParkedDelivery[]) => void): void {
    const s = this.shard(d.customer, d.shard);
    const list = s.lists.get(d.orderingKey);
    if (list && list[0]?.deliveryId === d.deliveryId) fn(s, list);
  }

  private popHead(s: Shard, list: ParkedDelivery[], pkg: string, now: number): void {
    list.shift();
    s.leases.delete(pkg);
    if (list.length === 0) {
      s.lists.delete(pkg);
      s.due.delete(pkg);
    } else s.due.set(pkg, now);
  }

  async complete(d: ParkedDelivery, now: number): Promise<void> {
    this.withHead(d, (s, list) => this.popHead(s, list, d.orderingKey, now));
  }

  async reschedule(d: ParkedDelivery, dueAt: number): Promise<void> {
    this.withHead(d, (s, list) => {
      list[0] = this.copy(d);
      s.leases.delete(d.orderingKey);
      s.due.set(d.orderingKey, dueAt);
    });
  }

  async release(d: ParkedDelivery, dueAt: number): Promise<void> {
    this.withHead(d, (s) => {
      s.leases.delete(d.orderingKey);
      s.due.set(d.orderingKey, dueAt);
    });
  }

  async deadLetterHead(d: ParkedDelivery, reason: string, now: number): Promise<void> {
    this.withHead(d, (s, list) => {
      this.popHead(s, list, d.orderingKey, now);
      this.putDead(d, reason, now);
    });
  }

  async addDeadLetter(d: ParkedDelivery, reason: string, now: number): Promise<void> {
    this.putDead(d, reason, now);
  }

  private putDead(d: ParkedDelivery, reason: string, now: number): void {
    let m = this.dead.get(d.customer);
    if (!m) {
      m = new Map();
      this.dead.set(d.customer, m);
    }
    m.delete(d.eventId);
    m.set(d.eventId, { id: d.eventId, delivery: this.copy(d), reason, deadAt: now });
  }

  async takeOver(customer: string, shard: string, now: number): Promise<void> {
    const s = this.shard(customer, shard);
    for (const pkg of s.leases.keys()) if (s.lists.has(pkg)) s.due.set(pkg, now);
    s.leases.clear();
  }

  async parkedCount(customer: string, shard?: string): Promise<number> {
    let n = 0;
    for (const [k, s] of this.shards) {
      const [c, sh] = k.split('\u0000');
      if (c !== customer || (shard !== undefined && sh !== shard)) continue;
      for (const list of s.lists.values()) n += list.length;
    }
    return n;
  }

  async listDeadLetters(customer: string, offset: number, limit: number) {
    const all = [...(this.dead.get(customer)?.values() ?? [])].reverse();
    return { total: all.length, items: all.slice(offset, offset + limit) };
  }

  async takeDeadLetters(customer: string, ids?: string[]): Promise<DeadLetter[]> {
    const m = this.dead.get(customer);
    if (!m) return [];
    const chosen = [...m.values()].filter((d) => !ids || ids.includes(d.id));
    for (const d of chosen) m.delete(d.id);
    return chosen;
  }

  async recordPoison(record: PoisonRecord): Promise<void> {
    this.poison.unshift(record);
    if (this.poison.length > POISON_KEEP) this.poison.length = POISON_KEEP;
  }

  async discardDeadLetters(customer: string, ids: string[]): Promise<number> {
    const m = this.dead.get(customer);
    if (!m) return 0;
    let n = 0;
    for (const id of ids) if (m.delete(id)) n += 1;
    return n;
  }

  async listPoison(offset: number, limit: number) {
    return { total: this.poison.length, items: this.poison.slice(offset, offset + limit) };
  }

  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}
