/**
 * A lane's share of its customer's limits, held with the other integrators of the group (README "Running
 * several integrators"): permits (requests out), rate tokens, the shared breaker and the operator's pause
 * come from the store (`RetryStore.syncLimits`); this part keeps the grant and decides, locally, whether a
 * request may start.
 *
 * No request is out without a lease: one starts only while `now + marginMs` is before the lease's end
 * (the store keeps a holder's permits `leaseMs` after its last sync, counted from the time the sync was
 * sent), and when the lease runs out without a renewal the requests still out are cut (aborted: not an
 * attempt, the delivery goes back in its place) `marginMs` before the store can give their permits to
 * another process. So the lease is short whatever the customer's `timeoutMs`, and a crashed process's
 * permits come back within `leaseMs`; only while fewer requests are out than the permits held; only while the shared breaker is
 * closed (half-open: only the probe this holder holds); only with a rate token, used in the turn it was
 * granted, from a sync answered within `tokenFreshMs` of being sent. Tokens are never kept nor given back:
 * a token taken before a window and used (or returned to the bucket) within it would come on top of the
 * window's own; and the store refills the bucket up to the time a sync was sent, so the tokens of a late
 * answer could too. The rate holds to the bucket's bound within ratePerSecond × tokenFreshMs.
 *
 *   unleased ──sync ok──▶ leased ──(lease end − margin, no renewal: cut what is out)──▶ lost ──sync ok──▶ leased
 *      │ └──sync failed──▶ lost                                                 ▲
 *      └──────────────────────────── release (shutdown) ──▶ released ◀──────────┘  (from any mode)
 *
 * Syncs: a renewal every LEASE_MS / 3 (2 s), and on demand — more permits wanted, tokens needed (with the
 * bucket empty, at most every TOKEN_BATCH_MS: a few tokens per round trip), an answer that counts against
 * the breaker, a probe to ask for or to report — at most one in flight, at least MIN_GAP_MS apart, retried
 * with backoff while the store fails. A sync is never given up while unanswered: a later one could overtake
 * it in the store and be undone by it (the store client's own errors end a hung call); meanwhile the lease
 * runs out on its own clock and nothing is sent.
 * While a sync is out (or after one failed, which the store may still have applied), the lane does not
 * grow beyond the requests it reported.
 */
import type { Clock } from '../clock.ts';
import { Alarm } from '../clock.ts';
import type { CustomerConfig } from '../config/customers.ts';
import type { LimitsGrant, LimitsRequest, RetryStore } from '../store/port.ts';
import type { Metrics } from '../observe/metrics.ts';
import type { Logger } from '../report/logger.ts';

export type LeaseMode = 'unleased' | 'leased' | 'lost' | 'released';
export type SharedBreaker = LimitsGrant['breaker'];
export type Paused = LimitsGrant['paused'];

/** Default lease (ms). */
export const LEASE_MS = 6000;
/** Room for clock differences between processes and the time an answer takes to be processed. */
export const LEASE_MARGIN_MS = 1000;
const MIN_GAP_MS = 5;
const TOKEN_BATCH_MS = 50;
/** Unmet wants (permits others hold) are asked again this often while others hold them. */
const UNMET_MS = 200;
const BACKOFF_MAX_MS = 2000;
/** Tokens of a sync answered later than this after it was sent are not used. */
export const TOKEN_FRESH_MS = 50;

/** The lease: renewed three times per lease, so two renewals can fail before it runs out. */
export function leaseTiming(
  baseMs = LEASE_MS,
  marginMs = LEASE_MARGIN_MS,
): { leaseMs: number; renewMs: number; marginMs: number } {
  const renewMs = Math.max(1, Math.floor(baseMs / 3));
  return { leaseMs: Math.max(baseMs, marginMs + 2 * renewMs), renewMs, marginMs };
}

export interface LimitsDeps {
  cfg: CustomerConfig;
  store: RetryStore;
  clock: Clock;
  random: () => number;
  log: Logger;
  metrics: Metrics;
  /** This process (unique per start). */
  holder: string;
  leaseMs?: number;
  marginMs?: number;
  tokenFreshMs?: number;
  /** Requests out, and heads ready to go (0 when the lane does not send). */
  demand(): { out: number; ready: number };
  /** A grant arrived (or the lease was lost): the lane follows breaker and pause, and sends at once. */
  granted(): void;
  /** The lease ran out: cut every request still out (they go back, not charged). */
  cutOff(): void;
}

const LEGAL: Record<LeaseMode, LeaseMode[]> = {
  unleased: ['leased', 'lost', 'released'],
  leased: ['lost', 'released'],
  lost: ['leased', 'released'],
  released: [],
};

export class LaneLimits {
  private current: LeaseMode = 'unleased';
  readonly leaseMs: number;
  private readonly renewMs: number;
  private readonly marginMs: number;
  private permits = 0;
  /** Requests reported by the sync out (or a failed one): the lane does not grow beyond them meanwhile. */
  private frozenAt: number | null = null;
  private tokens = 0;
  private nextTokenAt: number | null = null;
  private sendUntil = -Infinity;
  private shared: SharedBreaker = 'closed';
  private reopensAt: number | null = null;
  private probeHeld = false;
  private probeOut = false;
  private pausedNow: Paused = null;
  private holdersNow = 0;
  /** Requests answered since the last sync: above the fair share, their slots wait for the store's word. */
  private freed = 0;
  /** Reports since the last sync. */
  private failures = 0;
  private successes = 0;
  private probeResult: LimitsRequest['probe'] = null;
  /** The sync out (its sequence number), if any. */
  private pending: number | null = null;
  private lastSentAt = -Infinity;
  private lastAsked = { want: 0, probe: false, tokens: 0 };
  private backoffMs = 0;
  private retryAt = -Infinity;
  /** Grants from syncs sent before the last local pause change carry an older pause: ignored. */
  private seq = 0;
  private pauseSeq = 0;
  private readonly alarm: Alarm;
  private readonly deadline: Alarm;

  constructor(private readonly x: LimitsDeps) {
    const t = leaseTiming(x.leaseMs, x.marginMs);
    this.leaseMs = t.leaseMs;
    this.renewMs = t.renewMs;
    this.marginMs = t.marginMs;
    this.alarm = new Alarm(x.clock, () => this.sync());
    this.deadline = new Alarm(x.clock, () => this.expireMaybe());
  }

  get mode(): LeaseMode {
    return this.current;
  }
  get breaker(): SharedBreaker {
    return this.shared;
  }
  get paused(): Paused {
    return this.pausedNow;
  }
  get held(): number {
    return this.permits;
  }
  get holders(): number {
    return this.holdersNow;
  }

  /** First sync (the memory store answers at once). */
  begin(): void {
    this.sync();
  }

  /** May one more request start now, with `out` requests out? */
  mayStart(now: number, out: number): boolean {
    if (this.current !== 'leased' || now + this.marginMs >= this.sendUntil) return false;
    if (out >= this.cap()) return false;
    if (this.shared === 'open') return false;
    if (this.shared === 'half-open' && (!this.probeHeld || this.probeOut)) return false;
    return this.x.cfg.ratePerSecond === null || this.tokens >= 1;
  }

  /**
   * Requests this holder may have out. While others hold permits too, a slot freed above the fair share
   * is not refilled before the next sync: the store can take back only permits not in use.
   */
  private cap(): number {
    const fair = Math.max(1, Math.floor(this.x.cfg.concurrency / Math.max(1, this.holdersNow)));
    const keep = this.holdersNow > 1 ? Math.max(fair, this.permits - this.freed) : Infinity;
    return Math.min(this.permits, this.frozenAt ?? Infinity, this.x.cfg.concurrency, keep);
  }

  /** A request starts (after `mayStart`); returns whether it is the half-open probe. */
  start(_now: number): boolean {
    if (this.x.cfg.ratePerSecond !== null) this.tokens -= 1;
    if (this.shared === 'half-open' && this.probeHeld) {
      this.probeOut = true;
      return true;
    }
    return false;
  }

  /** A request was answered. `failure`: it counts against the endpoint. */
  finish(_now: number, failure: boolean, probe: boolean): void {
    this.freed += 1;
    if (probe) {
      this.probeOut = false;
      this.probeHeld = false;
      this.probeResult = failure ? 'failed' : 'ok';
    } else if (failure) this.failures += 1;
    else this.successes += 1;
    this.poke();
  }

  /** The probe ended without an answer (shutdown): another may go. */
  abandon(probe: boolean): void {
    if (!probe) return;
    this.probeOut = false;
    this.probeHeld = false;
    this.probeResult = 'abandoned';
    this.poke();
  }

  /** The operator pauses (with a reason) or resumes, for every integrator: kept in the store. */
  async setPaused(paused: Paused): Promise<void> {
    await this.x.store.setPaused(this.x.cfg.id, paused);
    this.pauseSeq = ++this.seq;
    this.pausedNow = paused;
    this.x.granted();
  }

  /** Shutdown: the permits and any probe held go back to the others at once. */
  async release(): Promise<void> {
    if (this.current === 'released') return;
    this.set('released');
    this.alarm.cancel();
    this.deadline.cancel();
    await this.x.store.releaseLimits(this.x.cfg.id, this.x.holder, this.x.clock.now());
  }

  /** Something changed what the lane wants (after a pump, an answer): sync now or later as needed. */
  poke(): void {
    if (this.current === 'released' || this.pending !== null) return;
    const now = this.x.clock.now();
    let at = this.lastSentAt + this.renewMs;
    const soon = (t: number) => (at = Math.min(at, Math.max(t, this.lastSentAt + MIN_GAP_MS)));
    if (this.probeResult !== null || this.failures > 0) soon(now);
    if (this.shared === 'open' && this.reopensAt !== null) soon(this.reopensAt);
    const { out, ready } = this.x.demand();
    const want = Math.min(this.x.cfg.concurrency, out + ready);
    if (ready > 0) {
      if (this.current !== 'leased') soon(now);
      if (want > this.permits) soon(want > this.lastAsked.want ? now : this.lastSentAt + UNMET_MS);
      if (this.shared === 'half-open' && !this.probeHeld && !this.probeResult)
        soon(this.lastAsked.probe ? this.lastSentAt + UNMET_MS : now);
      if (
        this.x.cfg.ratePerSecond !== null &&
        this.sendable(want - out) > 0 &&
        this.tokens < 1 &&
        out < this.permits
      )
        soon(
          this.nextTokenAt !== null
            ? Math.max(this.nextTokenAt, this.lastSentAt + TOKEN_BATCH_MS)
            : this.lastAsked.tokens > 0
              ? this.lastSentAt + UNMET_MS
              : now,
        );
      if (this.freed > 0 && out >= this.cap() && out < this.permits) soon(now);
    } else if (this.holdersNow > 1 && this.permits > want) soon(this.lastSentAt + UNMET_MS);
    this.alarm.reset(Math.max(at, this.retryAt));
  }

  /** Of `n` requests wanted, how many the shared breaker lets this holder send. */
  private sendable(n: number): number {
    if (this.shared === 'closed') return n;
    return this.shared === 'half-open' && this.probeHeld && !this.probeOut ? Math.min(1, n) : 0;
  }

  private request(): LimitsRequest {
    const { out, ready } = this.x.demand();
    const rate = this.x.cfg.ratePerSecond;
    const want = Math.min(this.x.cfg.concurrency, out + ready);
    const room = Math.max(0, Math.min(this.x.cfg.concurrency, this.permits) - out);
    const b = this.x.cfg.breaker;
    return {
      customer: this.x.cfg.id,
      holder: this.x.holder,
      leaseMs: this.leaseMs,
      concurrency: this.x.cfg.concurrency,
      ratePerSecond: rate,
      breaker: {
        threshold: b.errorThresholdPercentage,
        volumeThreshold: b.volumeThreshold,
        windowMs: b.windowMs,
        resetTimeoutMs: b.resetTimeoutMs,
      },
      want,
      inUse: out,
      // Tokens only for what could go now: a token without a permit (or while another holds the probe)
      // would be wasted, and taken from a holder that could use it.
      tokens: rate === null ? 0 : Math.min(this.sendable(want - out), room),
      unusedTokens: 0,
      failures: this.failures,
      successes: this.successes,
      probe: this.probeResult,
      // Only with a permit free to send it: a probe held without one would stall every holder.
      wantProbe: ready > 0 && this.shared !== 'closed' && !this.probeHeld && room > 0,
    };
  }

  private sync(): void {
    if (this.current === 'released' || this.pending !== null) return;
    const now = this.x.clock.now();
    const { out, ready } = this.x.demand();
    if (this.probeHeld && !this.probeOut && (ready === 0 || out >= this.permits)) {
      // Nothing to probe with, or no permit to send it: another holder may.
      this.probeHeld = false;
      this.probeResult = 'abandoned';
    }
    const req = this.request();
    const seq = ++this.seq;
    this.pending = seq;
    this.lastSentAt = now;
    this.lastAsked = { want: req.want, probe: req.wantProbe, tokens: req.tokens };
    this.frozenAt = Math.min(this.frozenAt ?? Infinity, req.inUse);
    this.freed = 0;
    // What this sync reports is the store's now (it may apply it even if its answer is lost).
    this.failures = 0;
    this.successes = 0;
    this.probeResult = null;
    this.x.metrics.limitSyncs.inc({ customer: this.x.cfg.id });
    this.x.store.syncLimits(req, now).then(
      (g) => {
        if (this.pending === seq) this.granted(g, now, seq);
      },
      (err: unknown) => {
        if (this.pending === seq) this.failed(req, err);
      },
    );
  }

  private granted(g: LimitsGrant, sentAt: number, seq: number): void {
    this.pending = null;
    if (this.current === 'released') return;
    this.backoffMs = 0;
    this.retryAt = -Infinity;
    this.frozenAt = null;
    this.permits = g.permits;
    const fresh = this.x.clock.now() - sentAt <= (this.x.tokenFreshMs ?? TOKEN_FRESH_MS);
    this.tokens = fresh ? g.tokens : 0;
    this.nextTokenAt = g.nextTokenAt;
    this.shared = g.breaker;
    this.reopensAt = g.reopensAt;
    this.probeHeld = g.probe && !this.probeOut && this.probeResult === null;
    if (seq > this.pauseSeq) this.pausedNow = g.paused;
    this.holdersNow = g.holders;
    this.sendUntil = sentAt + this.leaseMs;
    if (this.current !== 'leased') this.set('leased');
    this.x.metrics.permitsHeld.set({ customer: this.x.cfg.id }, g.permits);
    this.deadline.cancel();
    this.deadline.at(this.sendUntil - this.marginMs);
    // Tokens are used in this turn, or not at all.
    this.x.granted();
    this.tokens = 0;
    this.poke();
  }

  private failed(req: LimitsRequest, err: unknown): void {
    this.pending = null;
    if (this.current === 'released') return;
    // Reports go again with the next sync (a lost answer may count them twice: the breaker errs early).
    this.failures += req.failures;
    this.successes += req.successes;
    if (this.probeResult === null) this.probeResult = req.probe;
    this.x.metrics.storeErrors.inc({ op: 'syncLimits' });
    if (this.current === 'unleased') this.set('lost');
    this.backoffMs = Math.min(BACKOFF_MAX_MS, Math.max(50, this.backoffMs * 2));
    this.retryAt = this.x.clock.now() + this.backoffMs * (0.5 + this.x.random() / 2);
    this.x.log.warn(
      { event: 'limits_sync_failed', err: (err as Error).message, lease: this.current },
      'limits sync failed; retrying (no request starts once the lease runs out)',
    );
    this.expireMaybe();
    this.poke();
  }

  private expireMaybe(): void {
    const now = this.x.clock.now();
    if (this.current === 'leased' && now + this.marginMs >= this.sendUntil) {
      this.set('lost');
      this.x.log.warn(
        { event: 'lease_lost' },
        'lease on the shared limits lost: requests out are cut, nothing is sent until renewed',
      );
      this.x.cutOff();
      this.x.granted();
    }
  }

  private set(next: LeaseMode): void {
    if (!LEGAL[this.current].includes(next))
      throw new Error(`limits lease: illegal ${this.current} → ${next}`);
    this.current = next;
  }
}
