/** In-memory RetryStore: the Redis adapter's semantics without durability, for tests, the simulation and the demo. */
import type {
  ClaimResult,
  DeadLetter,
  Durability,
  LimitsGrant,
  LimitsRequest,
  LimitsView,
  MovePackage,
  ParkedDelivery,
  PoisonRecord,
  RetryStore,
  SettleOp,
  ShardRef,
  StoreLimits,
  TrimListener,
} from './port.ts';
import { DEFAULT_LIMITS, StaleEpochError, replayed } from './port.ts';
import { checkPaused, decideLimits, releaseLimitsState, viewLimits } from './limits.ts';
import type { LimitsState, Paused } from './limits.ts';

interface Shard {
  epoch: number;
  generation: number | null;
  lists: Map<string, ParkedDelivery[]>;
  /** Package → time its head is due (claimed packages are not here). */
  due: Map<string, number>;
  claimed: Set<string>;
  ids: Set<string>;
}

const copy = (d: ParkedDelivery): ParkedDelivery => ({ ...d });

export class MemoryRetryStore implements RetryStore {
  private readonly shards = new Map<string, Shard>();
  private readonly dead = new Map<string, Map<string, DeadLetter>>();
  private poison: PoisonRecord[] = [];
  /** Shared limits per customer (`limits.ts`), and the operator's pauses beside them. */
  private readonly limitStates = new Map<string, LimitsState>();
  private readonly pauses = new Map<string, NonNullable<Paused>>();

  constructor(
    private readonly limits: StoreLimits = DEFAULT_LIMITS,
    private readonly onTrimmed: TrimListener = () => {},
  ) {}

  private shard(customer: string, shard: string): Shard {
    const k = `${customer}\u0000${shard}`;
    let s = this.shards.get(k);
    if (!s) {
      s = {
        epoch: 0,
        generation: null,
        lists: new Map(),
        due: new Map(),
        claimed: new Set(),
        ids: new Set(),
      };
      this.shards.set(k, s);
    }
    return s;
  }

  /** The shard, when `ref` is still its owner. */
  private owned(ref: ShardRef): Shard {
    const s = this.shard(ref.customer, ref.shard);
    if (s.epoch !== ref.epoch) throw new StaleEpochError(ref, s.generation);
    return s;
  }

  async takeOver(customer: string, shard: string, now: number, generation: number | null) {
    const s = this.shard(customer, shard);
    s.epoch += 1;
    s.generation = generation;
    for (const pkg of s.claimed) if (s.lists.has(pkg)) s.due.set(pkg, now);
    s.claimed.clear();
    return { epoch: s.epoch, parked: count(s) };
  }

  async park(ref: ShardRef, packages: MovePackage[]): Promise<void> {
    const s = this.owned(ref);
    for (const p of packages) {
      const fresh = p.items.filter((d) => !s.ids.has(d.deliveryId));
      const list = s.lists.get(p.orderingKey) ?? [];
      if (fresh.length === 0 && list.length === 0) continue;
      for (const d of fresh) s.ids.add(d.deliveryId);
      list.unshift(...fresh.map(copy));
      s.lists.set(p.orderingKey, list);
      if (p.headClaimed && fresh[0] === p.items[0]) {
        s.due.delete(p.orderingKey);
        s.claimed.add(p.orderingKey);
      } else {
        s.claimed.delete(p.orderingKey);
        s.due.set(p.orderingKey, p.dueAt);
      }
    }
  }

  async appendIfParked(ref: ShardRef, items: ParkedDelivery[]): Promise<boolean[]> {
    const s = this.owned(ref);
    return items.map((d) => {
      if (s.ids.has(d.deliveryId)) return true;
      const list = s.lists.get(d.orderingKey);
      if (!list) return false;
      list.push(copy(d));
      s.ids.add(d.deliveryId);
      return true;
    });
  }

  async claim(ref: ShardRef, now: number, limit: number): Promise<ClaimResult> {
    const s = this.owned(ref);
    const due = [...s.due].filter(([, t]) => t <= now).sort((a, b) => a[1] - b[1]);
    const heads: ParkedDelivery[] = [];
    for (const [pkg] of due.slice(0, limit)) {
      s.due.delete(pkg);
      const head = s.lists.get(pkg)?.[0];
      if (!head) continue;
      s.claimed.add(pkg);
      heads.push(copy(head));
    }
    let nextDueAt: number | null = null;
    for (const t of s.due.values()) if (nextDueAt === null || t < nextDueAt) nextDueAt = t;
    return { heads, nextDueAt };
  }

  async settle(ref: ShardRef, ops: SettleOp[], now: number): Promise<void> {
    const s = this.owned(ref);
    for (const op of ops) {
      const pkg = op.delivery.orderingKey;
      const list = s.lists.get(pkg);
      if (!list || list[0]?.deliveryId !== op.delivery.deliveryId || !s.claimed.has(pkg)) continue;
      s.claimed.delete(pkg);
      if (op.op === 'reschedule') {
        list[0] = copy(op.delivery);
        s.due.set(pkg, op.dueAt);
      } else if (op.op === 'release') {
        s.due.set(pkg, op.dueAt);
      } else {
        list.shift();
        s.ids.delete(op.delivery.deliveryId);
        if (op.op === 'dead') this.putDead(op.delivery, op.reason, now);
        if (list.length === 0) s.lists.delete(pkg);
        else s.due.set(pkg, now);
      }
    }
  }

  async addDeadLetter(ref: ShardRef, d: ParkedDelivery, reason: string, now: number): Promise<void> {
    this.owned(ref);
    this.putDead(d, reason, now);
  }

  private putDead(d: ParkedDelivery, reason: string, now: number): void {
    let m = this.dead.get(d.customer);
    if (!m) {
      m = new Map();
      this.dead.set(d.customer, m);
    }
    m.delete(d.eventId);
    m.set(d.eventId, { id: d.eventId, delivery: copy(d), reason, deadAt: now });
    let trimmed = 0;
    for (const [id, x] of m) {
      if (m.size <= this.limits.deadLettersMax && x.deadAt > now - this.limits.deadLettersMaxAgeMs) break;
      m.delete(id);
      trimmed += 1;
    }
    if (trimmed > 0) this.onTrimmed('dead_letter', trimmed);
  }

  async parkedCount(customer: string, shard?: string): Promise<number> {
    let n = 0;
    for (const [k, s] of this.shards) {
      const [c, sh] = k.split('\u0000');
      if (c === customer && (shard === undefined || sh === shard)) n += count(s);
    }
    return n;
  }

  async listDeadLetters(customer: string, offset: number, limit: number) {
    const all = [...(this.dead.get(customer)?.values() ?? [])].reverse();
    return { total: all.length, items: all.slice(offset, offset + limit).map((x) => ({ ...x })) };
  }

  async replayDeadLetters(customer: string, ids: string[] | null, now: number, limit: number) {
    const m = this.dead.get(customer) ?? new Map<string, DeadLetter>();
    const chosen = (ids ?? [...m.keys()]).slice(0, limit).flatMap((id) => {
      const x = m.get(id);
      return x ? [x] : [];
    });
    for (const x of chosen) {
      m.delete(x.id);
      const d = replayed(x, now);
      const s = this.shard(customer, d.shard);
      s.lists.set(d.orderingKey, [d]);
      s.ids.add(d.deliveryId);
      s.due.set(d.orderingKey, now);
    }
    return { replayed: chosen, remaining: m.size };
  }

  async discardDeadLetters(customer: string, ids: string[]): Promise<number> {
    const m = this.dead.get(customer);
    let n = 0;
    for (const id of ids) if (m?.delete(id)) n += 1;
    return n;
  }

  async recordPoison(record: PoisonRecord): Promise<void> {
    this.poison.unshift({ ...record });
    let trimmed = 0;
    const cutoff = record.at - this.limits.poisonMaxAgeMs;
    while (this.poison.length > this.limits.poisonMax || (this.poison.at(-1)?.at ?? Infinity) < cutoff) {
      this.poison.pop();
      trimmed += 1;
    }
    if (trimmed > 0) this.onTrimmed('poison', trimmed);
  }

  async listPoison(offset: number, limit: number) {
    return { total: this.poison.length, items: this.poison.slice(offset, offset + limit) };
  }

  async durability(): Promise<Durability> {
    return { evictionPolicy: null, aof: false, appendfsync: null };
  }

  async syncLimits(req: LimitsRequest, now: number): Promise<LimitsGrant> {
    const paused = this.pauses.get(req.customer) ?? null;
    const { state, grant } = decideLimits(this.limitStates.get(req.customer), req, now, paused);
    this.limitStates.set(req.customer, state);
    return grant;
  }

  async releaseLimits(customer: string, holder: string, _now: number): Promise<void> {
    const state = releaseLimitsState(this.limitStates.get(customer), holder);
    if (state) this.limitStates.set(customer, state);
  }

  async setPaused(customer: string, paused: Paused): Promise<void> {
    checkPaused(paused);
    if (paused) this.pauses.set(customer, { reason: paused.reason, at: paused.at });
    else this.pauses.delete(customer);
  }

  async limitsView(customer: string, now: number): Promise<LimitsView> {
    return viewLimits(this.limitStates.get(customer), this.pauses.get(customer) ?? null, now);
  }

  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}

function count(s: Shard): number {
  let n = 0;
  for (const list of s.lists.values()) n += list.length;
  return n;
}
