/**
 * The Redis store's Lua scripts: every change is one script, so a crash never leaves a package half-moved.
 * Every script that changes a shard's packages first checks the owner's epoch and answers 'STALE' (changing
 * nothing) when it is not the current one. Keys of one customer share a hash tag (one cluster slot); list
 * keys are built from a prefix inside the scripts.
 */

// KEYS[1] is the epoch key, a hash {epoch, gen}; a stale writer learns the owner's generation.
const STALE_CHECK = `if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then
  return {'STALE', redis.call('HGET', KEYS[1], 'gen') or ''}
end`;

/** KEYS: epoch, due, claimed, nShard, lease (v1 layout, migrated). ARGV: now, generation|'' → {epoch, parked}. */
export const TAKE_OVER = `
local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
redis.call('HSET', KEYS[1], 'gen', ARGV[2])
for _, pkg in ipairs(redis.call('SMEMBERS', KEYS[3])) do redis.call('ZADD', KEYS[2], ARGV[1], pkg) end
redis.call('DEL', KEYS[3])
for _, pkg in ipairs(redis.call('HKEYS', KEYS[5])) do redis.call('ZADD', KEYS[2], 'XX', ARGV[1], pkg) end
redis.call('DEL', KEYS[5])
return {epoch, tonumber(redis.call('GET', KEYS[4]) or '0')}`;

/**
 * KEYS: epoch, due, claimed, ids, nShard, nAll. ARGV: epoch, listPrefix, then per package:
 * pkg, n, dueAt, headClaimed ('1'|'0'), then n × (deliveryId, entry). Items go in front, in the order given.
 */
export const PARK = `
${STALE_CHECK}
local prefix, i, added = ARGV[2], 3, 0
while i <= #ARGV do
  local pkg, n, dueAt, claimed = ARGV[i], tonumber(ARGV[i + 1]), ARGV[i + 2], ARGV[i + 3]
  local first = i + 4
  local listKey = prefix .. pkg
  local fresh = {}
  for j = 0, n - 1 do
    if redis.call('SISMEMBER', KEYS[4], ARGV[first + 2 * j]) == 0 then fresh[#fresh + 1] = j end
  end
  for k = #fresh, 1, -1 do
    local j = fresh[k]
    redis.call('LPUSH', listKey, ARGV[first + 2 * j + 1])
    redis.call('SADD', KEYS[4], ARGV[first + 2 * j])
  end
  added = added + #fresh
  if #fresh > 0 or redis.call('EXISTS', listKey) == 1 then
    if claimed == '1' and #fresh > 0 and fresh[1] == 0 then
      redis.call('ZREM', KEYS[2], pkg)
      redis.call('SADD', KEYS[3], pkg)
    else
      redis.call('SREM', KEYS[3], pkg)
      redis.call('ZADD', KEYS[2], dueAt, pkg)
    end
  end
  i = first + 2 * n
end
if added > 0 then
  redis.call('INCRBY', KEYS[5], added)
  redis.call('INCRBY', KEYS[6], added)
end
return added`;

/** KEYS: epoch, ids, nShard, nAll. ARGV: epoch, listPrefix, then triples (pkg, deliveryId, entry). */
export const APPEND_IF_PARKED = `
${STALE_CHECK}
local prefix, out, added, i = ARGV[2], {}, 0, 3
while i <= #ARGV do
  local listKey, id = prefix .. ARGV[i], ARGV[i + 1]
  if redis.call('SISMEMBER', KEYS[2], id) == 1 then
    out[#out + 1] = 1
  elseif redis.call('EXISTS', listKey) == 1 then
    redis.call('RPUSH', listKey, ARGV[i + 2])
    redis.call('SADD', KEYS[2], id)
    added = added + 1
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
  i = i + 3
end
if added > 0 then
  redis.call('INCRBY', KEYS[3], added)
  redis.call('INCRBY', KEYS[4], added)
end
return out`;

/** KEYS: epoch, due, claimed. ARGV: epoch, listPrefix, now, limit → {heads, nextDueAt or ''}. */
export const CLAIM = `
${STALE_CHECK}
local prefix = ARGV[2]
local heads = {}
for _, pkg in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))) do
  redis.call('ZREM', KEYS[2], pkg)
  local head = redis.call('LINDEX', prefix .. pkg, 0)
  if head then
    redis.call('SADD', KEYS[3], pkg)
    heads[#heads + 1] = head
  end
end
local nextDue = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
return {heads, nextDue[2] or ''}`;

/** Trims the dead letters of a customer to their bounds; returns how many went. dlq, dlqIdx, now, max, maxAge. */
const TRIM_DEAD = `
local function trimDead(dlq, dlqIdx, now, max, maxAge)
  local gone = redis.call('ZRANGEBYSCORE', dlqIdx, '-inf', '(' .. (now - maxAge))
  local over = redis.call('ZCARD', dlqIdx) - #gone - max
  if over > 0 then
    for _, id in ipairs(redis.call('ZRANGE', dlqIdx, #gone, #gone + over - 1)) do gone[#gone + 1] = id end
  end
  for _, id in ipairs(gone) do
    redis.call('HDEL', dlq, id)
    redis.call('ZREM', dlqIdx, id)
  end
  return #gone
end`;

/**
 * KEYS: epoch, due, claimed, ids, nShard, nAll, dlq, dlqIdx. ARGV: epoch, listPrefix, now, deadMax,
 * deadMaxAge, then per op: op, pkg, deliveryId, t, payload (new entry | dead letter), dlqId → trimmed.
 */
export const SETTLE = `
${STALE_CHECK}
${TRIM_DEAD}
local prefix, now, i, dead = ARGV[2], tonumber(ARGV[3]), 6, 0
while i <= #ARGV do
  local op, pkg, id, t = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local listKey = prefix .. pkg
  local head = redis.call('LINDEX', listKey, 0)
  if head and string.sub(head, 1, #id + 1) == id .. '\\t' and redis.call('SISMEMBER', KEYS[3], pkg) == 1 then
    redis.call('SREM', KEYS[3], pkg)
    if op == 'reschedule' then
      redis.call('LSET', listKey, 0, ARGV[i + 4])
      redis.call('ZADD', KEYS[2], t, pkg)
    elseif op == 'release' then
      redis.call('ZADD', KEYS[2], t, pkg)
    else
      redis.call('LPOP', listKey)
      redis.call('SREM', KEYS[4], id)
      redis.call('DECR', KEYS[5])
      redis.call('DECR', KEYS[6])
      if op == 'dead' then
        redis.call('HSET', KEYS[7], ARGV[i + 5], ARGV[i + 4])
        redis.call('ZADD', KEYS[8], now, ARGV[i + 5])
        dead = dead + 1
      end
      if redis.call('LLEN', listKey) > 0 then redis.call('ZADD', KEYS[2], now, pkg) end
    end
  end
  i = i + 6
end
if dead == 0 then return 0 end
return trimDead(KEYS[7], KEYS[8], now, tonumber(ARGV[4]), tonumber(ARGV[5]))`;

/** KEYS: epoch, dlq, dlqIdx. ARGV: epoch, now, deadMax, deadMaxAge, dlqId, deadLetter → trimmed. */
export const ADD_DEAD = `
${STALE_CHECK}
${TRIM_DEAD}
redis.call('HSET', KEYS[2], ARGV[5], ARGV[6])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[5])
return trimDead(KEYS[2], KEYS[3], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))`;

/**
 * KEYS: dlq, dlqIdx, nAll. ARGV: customerPrefix, now, then per letter: dlqId, raw value it must still have,
 * shard, pkg, deliveryId, entry → ids replayed. A letter changed or gone since it was read is left alone.
 */
export const REPLAY = `
local base, now, i, out = ARGV[1] .. ':', ARGV[2], 3, {}
while i <= #ARGV do
  local id, raw, shard, pkg, did, entry = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  if redis.call('HGET', KEYS[1], id) == raw then
    redis.call('HDEL', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    redis.call('RPUSH', base .. 'list:' .. shard .. ':' .. pkg, entry)
    redis.call('SADD', base .. 'ids:' .. shard, did)
    redis.call('ZADD', base .. 'due:' .. shard, now, pkg)
    redis.call('INCR', base .. 'n:' .. shard)
    redis.call('INCR', KEYS[3])
    out[#out + 1] = id
  end
  i = i + 6
end
return out`;

/** KEYS: poison. ARGV: entry ("<at>\\t<json>"), max, cutoff → trimmed. */
export const POISON = `
redis.call('LPUSH', KEYS[1], ARGV[1])
local trimmed = math.max(0, redis.call('LLEN', KEYS[1]) - tonumber(ARGV[2]))
if trimmed > 0 then redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1) end
local cutoff = tonumber(ARGV[3])
for _ = 1, 100 do
  local last = redis.call('LINDEX', KEYS[1], -1)
  if not last or tonumber(string.match(last, '^(%d+)')) >= cutoff then break end
  redis.call('RPOP', KEYS[1])
  trimmed = trimmed + 1
end
return trimmed`;
