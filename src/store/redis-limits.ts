/**
 * The Redis side of the limits shared by a group's integrators: `SYNC_LIMITS` decides exactly as
 * `decideLimits` in `limits.ts` (step by step, the same arithmetic in the same order), in one atomic script
 * per sync. Keys, under the customer's hash tag:
 *
 *   <p>:{c}:limits    hash    mode, openUntil, probe ('' = none), bStart, bIdx, t0..t9, f0..f9 (breaker);
 *                             rps, tokens, last (bucket; absent without a rate limit)
 *   <p>:{c}:holders   hash    holder → "permits inUse want expiresAt"
 *   <p>:{c}:paused    string  the operator's pause as JSON (absent: not paused)
 *
 * Numbers are written with `%.17g`, which gives back the exact double (tokens are fractional), and the
 * script answers strings: Redis would cut a Lua number to an integer.
 */
import type { LimitsGrant, LimitsRequest } from './port.ts';
import { BREAKER_BUCKETS } from './limits.ts';
import type { BreakerMode, HolderState, LimitsState, Paused } from './limits.ts';

const FMT = `local function fmt(x) return string.format('%.17g', x) end`;

/**
 * KEYS: limits, holders, paused. ARGV: now, holder, leaseMs, concurrency, ratePerSecond|'', threshold,
 * volumeThreshold, windowMs, resetTimeoutMs, want, inUse, tokens, unusedTokens, failures, successes,
 * probe|'', wantProbe ('1'|'0') → {permits, tokens, nextTokenAt|'', breaker, reopensAt|'', probe '1'|'0',
 * paused|'', holders}.
 */
export const SYNC_LIMITS = `
${FMT}
local now, holder, leaseMs, concurrency = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local rps = ARGV[5]
local threshold, volume = tonumber(ARGV[6]), tonumber(ARGV[7])
local windowMs, resetMs = tonumber(ARGV[8]), tonumber(ARGV[9])
local want, inUse, asked, unused = tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13])
local failures, successes = tonumber(ARGV[14]), tonumber(ARGV[15])
local report, wantProbe = ARGV[16], ARGV[17] == '1'

local st = {}
local raw = redis.call('HGETALL', KEYS[1])
for i = 1, #raw, 2 do st[raw[i]] = raw[i + 1] end
local mode, probe = st.mode or 'closed', st.probe or ''
local openUntil, bStart, bIdx = tonumber(st.openUntil or '0'), tonumber(st.bStart or '0'), tonumber(st.bIdx or '0')
local totals, fails = {}, {}
for i = 0, ${BREAKER_BUCKETS - 1} do
  totals[i] = tonumber(st['t' .. i] or '0')
  fails[i] = tonumber(st['f' .. i] or '0')
end

-- Leases: a holder not synced within its lease is gone, with its permits and its probe.
local holders = {}
local hraw = redis.call('HGETALL', KEYS[2])
for i = 1, #hraw, 2 do
  local p, u, w, e = string.match(hraw[i + 1], '^(%S+) (%S+) (%S+) (%S+)$')
  e = tonumber(e)
  if e > now then
    holders[hraw[i]] = {tonumber(p), tonumber(u), tonumber(w), e}
  else
    redis.call('HDEL', KEYS[2], hraw[i])
  end
end
if probe ~= '' and not holders[probe] then probe = '' end

-- Breaker.
if mode == 'open' and now >= openUntil then mode = 'half-open'; probe = '' end
local answers = failures + successes
if answers > 0 and mode == 'closed' then
  local bucketMs = math.max(1, windowMs / ${BREAKER_BUCKETS})
  local steps = math.floor((now - bStart) / bucketMs)
  if steps > 0 then
    for _ = 1, math.min(steps, ${BREAKER_BUCKETS}) do
      bIdx = (bIdx + 1) % ${BREAKER_BUCKETS}
      totals[bIdx] = 0
      fails[bIdx] = 0
    end
    bStart = bStart + steps * bucketMs
  end
  totals[bIdx] = totals[bIdx] + answers
  fails[bIdx] = fails[bIdx] + failures
  local total, failed = 0, 0
  for i = 0, ${BREAKER_BUCKETS - 1} do
    total = total + totals[i]
    failed = failed + fails[i]
  end
  if total >= volume and (failed / total) * 100 > threshold then
    mode = 'open'; probe = ''; openUntil = now + resetMs
  end
end
if report ~= '' and mode == 'half-open' and probe == holder then
  if report == 'ok' then
    mode = 'closed'; probe = ''
    for i = 0, ${BREAKER_BUCKETS - 1} do totals[i] = 0; fails[i] = 0 end
  elseif report == 'failed' then
    mode = 'open'; probe = ''; openUntil = now + resetMs
  else
    probe = ''
  end
end
if mode == 'half-open' and probe == '' and wantProbe then probe = holder end

-- Permits: a leased fair semaphore.
local others, starved, wanting = 0, false, 0
if want > 0 then wanting = 1 end
for name, h in pairs(holders) do
  if name ~= holder then
    others = others + h[1]
    if h[3] > h[1] then starved = true end
    if h[3] > 0 then wanting = wanting + 1 end
  end
end
local available = math.max(0, concurrency - others)
local cap = available
if starved then cap = math.max(1, math.floor(concurrency / wanting)) end
local permits = math.max(inUse, math.min(want, available, cap))
local expiresAt = now + leaseMs
holders[holder] = {permits, inUse, want, expiresAt}
redis.call('HSET', KEYS[2], holder, fmt(permits) .. ' ' .. fmt(inUse) .. ' ' .. fmt(want) .. ' ' .. fmt(expiresAt))
local live = 0
for _, h in pairs(holders) do
  if h[1] > 0 or h[3] > 0 then live = live + 1 end
end

-- Rate: one token bucket per customer.
local granted, nextAt = asked, ''
if rps == '' then
  redis.call('HDEL', KEYS[1], 'rps', 'tokens', 'last')
else
  rps = tonumber(rps)
  local capacity = math.max(1, rps)
  local tokens, last
  if st.tokens == nil then
    tokens = capacity
    last = now
  else
    tokens, last = tonumber(st.tokens), tonumber(st.last)
    local elapsed = math.max(0, now - last)
    tokens = math.min(capacity, tokens + (elapsed / 1000) * rps)
    last = math.max(last, now)
  end
  tokens = math.min(capacity, tokens + unused)
  granted = math.min(asked, math.floor(tokens))
  tokens = tokens - granted
  if granted < asked then nextAt = fmt(last + math.ceil(((1 - tokens) / rps) * 1000)) end
  redis.call('HSET', KEYS[1], 'rps', fmt(rps), 'tokens', fmt(tokens), 'last', fmt(last))
end

local out = {'mode', mode, 'probe', probe, 'openUntil', fmt(openUntil), 'bStart', fmt(bStart), 'bIdx', fmt(bIdx)}
for i = 0, ${BREAKER_BUCKETS - 1} do
  out[#out + 1] = 't' .. i; out[#out + 1] = fmt(totals[i])
  out[#out + 1] = 'f' .. i; out[#out + 1] = fmt(fails[i])
end
redis.call('HSET', KEYS[1], unpack(out))

local reopensAt = ''
if mode == 'open' then reopensAt = fmt(openUntil) end
local isProbe = '0'
if probe == holder then isProbe = '1' end
return {fmt(permits), fmt(granted), nextAt, mode, reopensAt, isProbe, redis.call('GET', KEYS[3]) or '', fmt(live)}`;

/** KEYS: limits, holders. ARGV: holder. Its permits come back at once; a probe it held is free. */
export const RELEASE_LIMITS = `
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[1], 'probe') == ARGV[1] then redis.call('HSET', KEYS[1], 'probe', '') end
return 0`;

export const LIMITS_SCRIPTS = {
  syncLimits: { numberOfKeys: 3, lua: SYNC_LIMITS },
  releaseLimits: { numberOfKeys: 2, lua: RELEASE_LIMITS },
};

/** [limits, holders, paused] under the customer's key base `<p>:{c}`. */
export function limitsKeys(base: string): [string, string, string] {
  return [`${base}:limits`, `${base}:holders`, `${base}:paused`];
}

export function syncArgs(req: LimitsRequest, now: number): (string | number)[] {
  const b = req.breaker;
  return [
    now,
    req.holder,
    req.leaseMs,
    req.concurrency,
    req.ratePerSecond ?? '',
    b.threshold,
    b.volumeThreshold,
    b.windowMs,
    b.resetTimeoutMs,
    req.want,
    req.inUse,
    req.tokens,
    req.unusedTokens,
    req.failures,
    req.successes,
    req.probe ?? '',
    req.wantProbe ? '1' : '0',
  ];
}

export function parsePaused(raw: string | null | undefined): Paused {
  if (!raw) return null;
  const p = JSON.parse(raw) as { reason: string | null; at: number };
  return { reason: p.reason, at: p.at };
}

export function parseGrant(res: unknown): LimitsGrant {
  const [permits, tokens, nextAt, mode, reopensAt, probe, paused, holders] = res as string[];
  return {
    permits: Number(permits),
    tokens: Number(tokens),
    nextTokenAt: nextAt === '' ? null : Number(nextAt),
    breaker: mode as BreakerMode,
    reopensAt: reopensAt === '' ? null : Number(reopensAt),
    probe: probe === '1',
    paused: parsePaused(paused),
    holders: Number(holders),
  };
}

/** The state as the script keeps it (undefined: nothing stored yet), for the view and the tests. */
export function stateFromHashes(
  st: Record<string, string>,
  holders: Record<string, string>,
): LimitsState | undefined {
  if (Object.keys(st).length === 0 && Object.keys(holders).length === 0) return undefined;
  const num = (k: string): number => Number(st[k] ?? '0');
  const list = (p: string): number[] => Array.from({ length: BREAKER_BUCKETS }, (_, i) => num(`${p}${i}`));
  return {
    holders: Object.entries(holders).map(([holder, v]): HolderState => {
      const [permits, inUse, want, expiresAt] = v.split(' ').map(Number) as [number, number, number, number];
      return { holder, permits, inUse, want, expiresAt };
    }),
    rate:
      st.tokens === undefined ? null : { perSecond: num('rps'), tokens: num('tokens'), last: num('last') },
    breaker: {
      mode: (st.mode ?? 'closed') as BreakerMode,
      openUntil: num('openUntil'),
      probe: st.probe ? st.probe : null,
      bucketStart: num('bStart'),
      bucket: num('bIdx'),
      totals: list('t'),
      failures: list('f'),
    },
  };
}
