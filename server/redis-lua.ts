// The Lua scripts the Redis store runs (server/redis-store.ts). Each runs atomically in Redis, so
// what they check and what they write cannot interleave with another server's script. Pure text.
//
// Keys (all from --redis-key K; put the name in braces, {herald}:events, to keep them in one
// Redis Cluster slot):
//   K          the stream: one entry per event, id "<n>-0", fields t (time ms), e (epoch),
//              y (type), p (topic), j (the event's JSON, id included)
//   K:meta     hash: epoch (16 hex digits), seq (the newest id ever handed out)
//   K:claims   hash: idempotency key -> "<body hash> <event id>"
//   K:claim-ids sorted set: idempotency key scored by its event id, to drop keys with their events
//
// Why the ids can be trusted across servers: `seq` is read and written only inside these scripts,
// and an event is added with the explicit id seq+1 in the same script, so two servers can never
// take the same number; the counter outlives trimming and a deleted stream, so an id is never
// reused while the meta hash lasts (with Redis persistence, across Redis restarts too).

/** Shared by every script: KEYS[1..4] = stream, meta, claims, claim-ids. */
const PRELUDE = `
local stream, meta, claims, claimIds = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

local function idNumber(id)
  return tonumber(string.match(id, '^(%d+)'))
end

-- The feed's epoch, starting a new one when the feed is new or its stream was deleted (trimming
-- never deletes a stream, so a missing stream with an epoch means someone removed it): cursors
-- from before mean nothing now. The counter is kept, so no id is ever handed out twice.
local function ensure(newEpoch)
  local epoch = redis.call('HGET', meta, 'epoch')
  local exists = redis.call('EXISTS', stream) == 1
  if epoch and exists then return epoch end
  local seq = tonumber(redis.call('HGET', meta, 'seq') or '0')
  if exists then
    -- The meta hash was lost but the stream is there: go on after its newest id.
    local info = redis.call('XINFO', 'STREAM', stream)
    for i = 1, #info, 2 do
      if info[i] == 'last-generated-id' then
        local n = idNumber(info[i + 1])
        if n and n > seq then seq = n end
      end
    end
  else
    -- An empty stream whose next id follows the counter; the keys of events that are gone go too.
    redis.call('XADD', stream, 'MAXLEN', '0', seq .. '-1', 'x', '')
    redis.call('DEL', claims, claimIds)
  end
  redis.call('HSET', meta, 'epoch', newEpoch, 'seq', seq)
  return newEpoch
end

-- Age retention: drops the events older than minTime from the head. Bounded work per call (the
-- rest goes on the next call); the ids are counters, not times, so the head is read to find where.
local function trimByAge(minTime)
  if minTime <= 0 then return end
  for _ = 1, 10 do
    local head = redis.call('XRANGE', stream, '-', '+', 'COUNT', 500)
    if #head == 0 then return end
    for _, entry in ipairs(head) do
      if tonumber(entry[2][2]) >= minTime then
        redis.call('XTRIM', stream, 'MINID', entry[1])
        return
      end
    end
    redis.call('XTRIM', stream, 'MINID', (idNumber(head[#head][1]) + 1) .. '-0')
    if #head < 500 then return end
  end
end

-- Idempotency keys go with their events: a key whose event was trimmed is dropped.
local function dropClaimsBefore(seq)
  local head = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)
  local first = seq + 1
  if #head > 0 then first = idNumber(head[1][1]) end
  for _ = 1, 20 do
    local gone = redis.call('ZRANGEBYSCORE', claimIds, '-inf', '(' .. first, 'LIMIT', 0, 500)
    if #gone == 0 then return end
    redis.call('HDEL', claims, unpack(gone))
    redis.call('ZREM', claimIds, unpack(gone))
  end
end
`;

/**
 * Appends a batch. ARGV: new epoch, time ms, max events (0 = no limit), min time ms (0 = no age
 * limit), entry count, then per entry: type, topic, the event's JSON after its id (`"type":…}`),
 * idempotency key ('' = none), body hash. Returns { epoch, outcomes }, an outcome being
 * { 'stored', id, type, topic, json }, { 'repeat', id, type, topic, json } or { 'conflict' }.
 */
export const APPEND_SCRIPT = `${PRELUDE}
local epoch = ensure(ARGV[1])
local seq = tonumber(redis.call('HGET', meta, 'seq'))
local timeMs = ARGV[2]
local out = {}
local i = 6
for _ = 1, tonumber(ARGV[5]) do
  local etype, topic, tail, key, hash = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  i = i + 5
  local answered = false
  if key ~= '' then
    local held = redis.call('HGET', claims, key)
    if held then
      local space = string.find(held, ' ', 1, true)
      local heldId = string.sub(held, space + 1)
      if string.sub(held, 1, space - 1) ~= hash then
        out[#out + 1] = { 'conflict' }
        answered = true
      else
        local found = redis.call('XRANGE', stream, heldId .. '-0', heldId .. '-0')
        -- A key whose event is gone is free again (it is dropped with its event anyway).
        if #found > 0 then
          local f = found[1][2]
          out[#out + 1] = { 'repeat', heldId, f[6], f[8], f[10] }
          answered = true
        end
      end
    end
  end
  if not answered then
    seq = seq + 1
    local json = '{"id":"' .. seq .. '",' .. tail
    redis.call('XADD', stream, seq .. '-0', 't', timeMs, 'e', epoch, 'y', etype, 'p', topic, 'j', json)
    redis.call('HSET', meta, 'seq', seq)
    if key ~= '' then
      redis.call('HSET', claims, key, hash .. ' ' .. seq)
      redis.call('ZADD', claimIds, seq, key)
    end
    out[#out + 1] = { 'stored', tostring(seq), etype, topic, json }
  end
end
local maxEvents = tonumber(ARGV[3])
if maxEvents > 0 then redis.call('XTRIM', stream, 'MAXLEN', '~', maxEvents) end
trimByAge(tonumber(ARGV[4]))
dropClaimsBefore(seq)
return { epoch, out }
`;

/**
 * Entries after an id, with the counter read in the same step (a page that is not full covers
 * every id up to it). ARGV: new epoch, after id, count. Returns { epoch, seq, entries }.
 */
export const READ_SCRIPT = `${PRELUDE}
local epoch = ensure(ARGV[1])
local seq = redis.call('HGET', meta, 'seq')
local entries = redis.call('XRANGE', stream, '(' .. ARGV[2] .. '-0', '+', 'COUNT', ARGV[3])
return { epoch, seq, entries }
`;

/**
 * The feed as it is now, after age retention. ARGV: new epoch, min time ms (0 = none), the epoch
 * the caller followed and the newest id it handed on: if Redis now says a smaller counter for
 * that same epoch, it lost acknowledged writes (no persistence) and the counter is moved past
 * them so that their ids are not handed out again. Returns { epoch, seq, oldest id or '', length, rewound }.
 */
export const STATE_SCRIPT = `${PRELUDE}
local epoch = ensure(ARGV[1])
local seq = tonumber(redis.call('HGET', meta, 'seq'))
local rewound = 0
local floor = tonumber(ARGV[4])
if epoch == ARGV[3] and seq < floor then
  rewound = floor - seq
  seq = floor
  redis.call('HSET', meta, 'seq', seq)
end
trimByAge(tonumber(ARGV[2]))
dropClaimsBefore(seq)
local head = redis.call('XRANGE', stream, '-', '+', 'COUNT', 1)
local oldest = ''
if #head > 0 then oldest = head[1][1] end
return { epoch, tostring(seq), oldest, redis.call('XLEN', stream), rewound }
`;

/**
 * One publish token from a client's bucket, kept in Redis so that the limit holds for the whole
 * feed, whichever server the client reaches. KEYS[1]: the bucket. ARGV: capacity, tokens per
 * second. Time is Redis's own (TIME), so servers' clocks do not matter. Returns { 1 or 0, seconds
 * until a token is back }. An idle bucket expires once it would be full again. Not persisted.
 */
export const RATE_SCRIPT = `
-- A bucket is not worth a disk write: kept out of the AOF and the replicas (with appendfsync
-- always, a replicated bucket would cost every publish a second fsync). A bucket lost in a Redis
-- restart or a failover starts full again.
redis.set_repl(redis.REPL_NONE)
local capacity, perSecond = tonumber(ARGV[1]), tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local held = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(held[1]), tonumber(held[2])
if not tokens or not at then tokens, at = capacity, now end
tokens = math.min(capacity, tokens + (now - at) * perSecond / 1000)
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / perSecond * 1000) + 1000)
local wait = 0
if taken == 0 then wait = math.ceil((1 - tokens) / perSecond) end
return { taken, wait }
`;
