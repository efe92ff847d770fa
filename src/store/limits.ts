/**
 * Limits shared by the integrators of one group (README "Running several integrators"), decided purely: the
 * store keeps one `LimitsState` per customer and applies `decideLimits` in one atomic step per sync. The
 * memory adapter calls it; the Redis script (`redis-limits.ts`) is its line-by-line twin, held to it by a
 * property test that runs both side by side.
 *
 * - The holders' permits never sum above `concurrency`, as long as each holder keeps `inUse` within its last
 *   grant (a holder never sends beyond it).
 * - The rate tokens granted, net of those given back, over any window never exceed
 *   capacity + ratePerSecond × window (capacity = one second of burst, at least one token).
 * - At most one holder holds the half-open probe.
 *
 * Permits are a leased fair semaphore: a holder's permits come back to the others `leaseMs` after its last
 * sync (a crashed process), and while another holder is starved a holder gets at most its fair share
 * (concurrency ÷ holders that want permits), shrinking to it as its requests finish.
 *
 * The breaker is the customer's (hand-written rather than opossum, whose window and reset timer live on the
 * global timers, which neither the store nor the simulation can drive). Only endpoint failures count (5xx,
 * 408, timeouts, network errors; see `delivery/outcome.ts`): a 429 or another 4xx says the customer is alive.
 *
 *   closed ──(failures > threshold % of ≥ volumeThreshold answers within windowMs)──▶ open
 *   open ──(now ≥ openUntil: read at every sync and view)──▶ half-open
 *   half-open: the first holder that syncs with `wantProbe` while nobody holds the probe takes it
 *   half-open ──its holder reports ok──▶ closed (window cleared)
 *   half-open ──its holder reports failed──▶ open (again, for resetTimeoutMs)
 *   half-open ──reported abandoned, or its holder expired / released──▶ half-open, the probe slot free
 *
 * Answers are reported in batches (one per sync): they are added to the window together and the threshold
 * is checked once. Answers reported while open or half-open are ignored (only the probe decides): they
 * answer requests started before it opened.
 */
import type { LimitsGrant, LimitsRequest, LimitsView } from './port.ts';

export const BREAKER_BUCKETS = 10;

export type BreakerMode = 'closed' | 'open' | 'half-open';
/** The breaker as a gauge: 0 closed, 1 half-open, 2 open (`integrator_circuit_state`). */
export const BREAKER_GAUGE: Record<BreakerMode, number> = { closed: 0, 'half-open': 1, open: 2 };
export type Paused = { reason: string | null; at: number } | null;

export interface HolderState {
  holder: string;
  permits: number;
  inUse: number;
  want: number;
  /** The holder's permits come back to the others at this time unless it syncs again. */
  expiresAt: number;
}

export interface BucketState {
  perSecond: number;
  /** Fractional. */
  tokens: number;
  /** Time the bucket was last refilled to (never moves back: clocks of processes differ slightly). */
  last: number;
}

export interface SharedBreakerState {
  mode: BreakerMode;
  openUntil: number;
  /** The holder holding the half-open probe (only while half-open). */
  probe: string | null;
  bucketStart: number;
  bucket: number;
  totals: number[];
  failures: number[];
}

/** JSON-serialisable; the order of `holders` decides nothing. */
export interface LimitsState {
  holders: HolderState[];
  /** Null while the customer has no rate limit (as last synced). */
  rate: BucketState | null;
  breaker: SharedBreakerState;
}

export function emptyLimitsState(): LimitsState {
  return {
    holders: [],
    rate: null,
    breaker: {
      mode: 'closed',
      openUntil: 0,
      probe: null,
      bucketStart: 0,
      bucket: 0,
      totals: new Array<number>(BREAKER_BUCKETS).fill(0),
      failures: new Array<number>(BREAKER_BUCKETS).fill(0),
    },
  };
}

function cloneState(s: LimitsState): LimitsState {
  return {
    holders: s.holders.map((h) => ({ ...h })),
    rate: s.rate ? { ...s.rate } : null,
    breaker: { ...s.breaker, totals: [...s.breaker.totals], failures: [...s.breaker.failures] },
  };
}

/** Throws a clear error for a request no holder should send (both adapters check before deciding). */
export function checkLimitsRequest(req: LimitsRequest, now: number): void {
  const where = `limits request (customer ${JSON.stringify(req.customer)}, holder ${JSON.stringify(req.holder)})`;
  const fail = (what: string): never => {
    throw new Error(`${where}: ${what}`);
  };
  if (typeof req.customer !== 'string' || req.customer === '') fail('customer must be a non-empty string');
  if (typeof req.holder !== 'string' || req.holder === '') fail('holder must be a non-empty string');
  if (!Number.isFinite(now)) fail('now must be a finite number');
  const count = (name: string, v: number, min = 0): void => {
    if (!Number.isSafeInteger(v) || v < min) fail(`${name} must be an integer ≥ ${min} (got ${v})`);
  };
  count('concurrency', req.concurrency, 1);
  count('want', req.want);
  count('inUse', req.inUse);
  count('tokens', req.tokens);
  count('unusedTokens', req.unusedTokens);
  count('failures', req.failures);
  count('successes', req.successes);
  if (!Number.isFinite(req.leaseMs) || req.leaseMs <= 0) fail('leaseMs must be > 0');
  if (req.ratePerSecond !== null && !(Number.isFinite(req.ratePerSecond) && req.ratePerSecond > 0))
    fail('ratePerSecond must be > 0 or null');
  const b = req.breaker;
  if (!(b.threshold >= 0 && b.threshold <= 100)) fail('breaker.threshold must be a percentage (0–100)');
  count('breaker.volumeThreshold', b.volumeThreshold);
  if (!Number.isFinite(b.windowMs) || b.windowMs <= 0) fail('breaker.windowMs must be > 0');
  if (!Number.isFinite(b.resetTimeoutMs) || b.resetTimeoutMs < 0) fail('breaker.resetTimeoutMs must be ≥ 0');
  if (req.probe !== null && req.probe !== 'ok' && req.probe !== 'failed' && req.probe !== 'abandoned')
    fail(`probe must be ok, failed, abandoned or null (got ${String(req.probe)})`);
  if (typeof req.wantProbe !== 'boolean') fail('wantProbe must be a boolean');
}

/** Throws a clear error for a pause that is not `{ reason: string | null, at: time }` or null. */
export function checkPaused(paused: Paused): void {
  if (paused === null) return;
  if (typeof paused !== 'object' || !Number.isFinite(paused.at))
    throw new Error('pause: `at` must be a finite time');
  if (paused.reason !== null && typeof paused.reason !== 'string')
    throw new Error('pause: `reason` must be a string or null');
}

/** The one place the breaker's mode changes. */
function setMode(b: SharedBreakerState, next: BreakerMode): void {
  const legal =
    (b.mode === 'closed' && next === 'open') ||
    (b.mode === 'open' && next === 'half-open') ||
    (b.mode === 'half-open' && (next === 'open' || next === 'closed'));
  if (!legal) throw new Error(`shared breaker: illegal transition ${b.mode} → ${next}`);
  b.mode = next;
  b.probe = null;
}

function readMode(b: SharedBreakerState, now: number): void {
  if (b.mode === 'open' && now >= b.openUntil) setMode(b, 'half-open');
}

function trip(b: SharedBreakerState, now: number, resetTimeoutMs: number): void {
  setMode(b, 'open');
  b.openUntil = now + resetTimeoutMs;
}

/** Move the window to `now`, clearing buckets that fell out of it. */
function roll(b: SharedBreakerState, now: number, bucketMs: number): void {
  const steps = Math.floor((now - b.bucketStart) / bucketMs);
  if (steps <= 0) return;
  for (let i = 0; i < Math.min(steps, BREAKER_BUCKETS); i++) {
    b.bucket = (b.bucket + 1) % BREAKER_BUCKETS;
    b.totals[b.bucket] = 0;
    b.failures[b.bucket] = 0;
  }
  b.bucketStart += steps * bucketMs;
}

function breakerStep(b: SharedBreakerState, req: LimitsRequest, now: number): void {
  readMode(b, now);
  const answers = req.failures + req.successes;
  if (answers > 0 && b.mode === 'closed') {
    roll(b, now, Math.max(1, req.breaker.windowMs / BREAKER_BUCKETS));
    b.totals[b.bucket]! += answers;
    b.failures[b.bucket]! += req.failures;
    let total = 0;
    let failed = 0;
    for (let i = 0; i < BREAKER_BUCKETS; i++) {
      total += b.totals[i]!;
      failed += b.failures[i]!;
    }
    if (total >= req.breaker.volumeThreshold && (failed / total) * 100 > req.breaker.threshold)
      trip(b, now, req.breaker.resetTimeoutMs);
  }
  if (req.probe !== null && b.mode === 'half-open' && b.probe === req.holder) {
    if (req.probe === 'ok') {
      setMode(b, 'closed');
      b.totals.fill(0);
      b.failures.fill(0);
    } else if (req.probe === 'failed') trip(b, now, req.breaker.resetTimeoutMs);
    else b.probe = null;
  }
  if (b.mode === 'half-open' && b.probe === null && req.wantProbe) b.probe = req.holder;
}

function rateStep(
  s: LimitsState,
  req: LimitsRequest,
  now: number,
): { tokens: number; nextTokenAt: number | null } {
  const rps = req.ratePerSecond;
  if (rps === null) {
    s.rate = null;
    return { tokens: req.tokens, nextTokenAt: null };
  }
  const capacity = Math.max(1, rps);
  let r = s.rate;
  if (r === null) {
    r = { perSecond: rps, tokens: capacity, last: now };
    s.rate = r;
  } else {
    const elapsed = Math.max(0, now - r.last);
    r.perSecond = rps;
    r.tokens = Math.min(capacity, r.tokens + (elapsed / 1000) * rps);
    r.last = Math.max(r.last, now);
  }
  r.tokens = Math.min(capacity, r.tokens + req.unusedTokens);
  const granted = Math.min(req.tokens, Math.floor(r.tokens));
  r.tokens = r.tokens - granted;
  if (granted >= req.tokens) return { tokens: granted, nextTokenAt: null };
  return { tokens: granted, nextTokenAt: r.last + Math.ceil(((1 - r.tokens) / rps) * 1000) };
}

function permitsStep(s: LimitsState, req: LimitsRequest, now: number): number {
  let me = s.holders.find((h) => h.holder === req.holder);
  if (!me) {
    me = { holder: req.holder, permits: 0, inUse: 0, want: 0, expiresAt: 0 };
    s.holders.push(me);
  }
  me.want = req.want;
  me.inUse = req.inUse;
  me.expiresAt = now + req.leaseMs;
  let others = 0;
  let starved = false;
  let wanting = req.want > 0 ? 1 : 0;
  for (const h of s.holders) {
    if (h === me) continue;
    others += h.permits;
    if (h.want > h.permits) starved = true;
    if (h.want > 0) wanting += 1;
  }
  const available = Math.max(0, req.concurrency - others);
  const cap = starved ? Math.max(1, Math.floor(req.concurrency / wanting)) : available;
  me.permits = Math.max(req.inUse, Math.min(req.want, available, cap));
  return me.permits;
}

/**
 * One holder's sync: its leases renewed, its answers counted, its share decided. `state` undefined: the
 * store has nothing for the customer yet (no holders, a full bucket, the breaker closed).
 */
export function decideLimits(
  state: LimitsState | undefined,
  req: LimitsRequest,
  now: number,
  paused: Paused = null,
): { state: LimitsState; grant: LimitsGrant } {
  checkLimitsRequest(req, now);
  const s = state ? cloneState(state) : emptyLimitsState();
  s.holders = s.holders.filter((h) => h.expiresAt > now);
  const b = s.breaker;
  if (b.probe !== null && !s.holders.some((h) => h.holder === b.probe)) b.probe = null;
  breakerStep(b, req, now);
  const permits = permitsStep(s, req, now);
  const rate = rateStep(s, req, now);
  const grant: LimitsGrant = {
    permits,
    tokens: rate.tokens,
    nextTokenAt: rate.nextTokenAt,
    breaker: b.mode,
    reopensAt: b.mode === 'open' ? b.openUntil : null,
    probe: b.probe === req.holder,
    paused: paused ? { ...paused } : null,
    holders: s.holders.filter((h) => h.permits > 0 || h.want > 0).length,
  };
  return { state: s, grant };
}

/** The holder stops: its permits come back at once and a probe it held is free. */
export function releaseLimitsState(state: LimitsState | undefined, holder: string): LimitsState | undefined {
  if (!state) return undefined;
  const s = cloneState(state);
  s.holders = s.holders.filter((h) => h.holder !== holder);
  if (s.breaker.probe === holder) s.breaker.probe = null;
  return s;
}

/** The shared limits as they stand at `now` (read only: nothing expires or refills in the state). */
export function viewLimits(state: LimitsState | undefined, paused: Paused, now: number): LimitsView {
  const s = state ?? emptyLimitsState();
  const r = s.rate;
  const b = s.breaker;
  return {
    holders: s.holders
      .filter((h) => h.expiresAt > now)
      .sort((x, y) => (x.holder < y.holder ? -1 : x.holder > y.holder ? 1 : 0))
      .map((h) => ({ holder: h.holder, permits: h.permits, inUse: h.inUse, expiresAt: h.expiresAt })),
    tokens: r
      ? Math.min(Math.max(1, r.perSecond), r.tokens + (Math.max(0, now - r.last) / 1000) * r.perSecond)
      : null,
    breaker: b.mode === 'open' && now >= b.openUntil ? 'half-open' : b.mode,
    paused: paused ? { ...paused } : null,
  };
}
