-- SPDX-License-Identifier: MIT
-- duet-server's room state in Redis (signaling/cluster.cpp runs this script with EVALSHA).
-- Every operation is one call, so Redis runs it whole: the room-full check and the seat it
-- grants are one atomic step, whichever instance asks.
--
-- Keys:
--   duet:m:<room>      hash: member id -> JSON record {i: instance ("" while held), q: join
--                      order, d: held-until ms (0 while connected), t: token sha256, n: name}
--   duet:q:<room>      join order counter;  duet:k:<room>  a private room's key sha256
--   duet:t:<token sha> "<room>\n<id>";      duet:im:<inst>  set of "<room>\n<id>" held there
--   duet:held          zset "<room>\n<id>" by held-until ms
--   duet:instances     set of instance ids;  duet:hb:<inst>  heartbeat (expires)
--   duet:l:<room>      exists while newcomers ask first (the lobby)
--   duet:w:<room>      hash: knock id -> JSON {i: instance, n: name, t: token sha, s: source
--                      address, q: order};  duet:knocks  zset "<room>\n<id>" by deadline ms
--   duet:dc:<room>\n<source>  a decline's cooldown for that address (expires)
-- Messages to members go to the instance holding their socket: PUBLISH duet:i:<inst>
-- "s\n<id>\n<frame>"; "c\n<id>" closes a socket whose seat was resumed elsewhere. To
-- someone knocking: "a\n<id>\n<JSON {r: room, k: key sha, l: lobby, p: [id, name...]}>"
-- (let in: seated as member <id>), "e\n<id>\n<code>\n<text>" (turned away). Members
-- on the calling instance are returned instead, so it sends to them without a round trip.
--
-- Every call returns {status, deliveries, ...}: deliveries is a flat list id, frame, id,
-- frame... for the caller's own members.

local op, self = ARGV[1], ARGV[2]
local out = {}

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function record(room, id)
  local raw = redis.call('HGET', 'duet:m:' .. room, id)
  if not raw then return nil end
  return cjson.decode(raw)
end

local function save(room, id, r)
  redis.call('HSET', 'duet:m:' .. room, id, cjson.encode(r))
end

local function send(inst, id, frame)
  if inst == self then
    out[#out + 1] = id
    out[#out + 1] = frame
  else
    redis.call('PUBLISH', 'duet:i:' .. inst, 's\n' .. id .. '\n' .. frame)
  end
end

-- To every connected member of `room` but `except`.
local function tell(room, except, frame)
  local all = redis.call('HGETALL', 'duet:m:' .. room)
  for i = 1, #all, 2 do
    if all[i] ~= except then
      local r = cjson.decode(all[i + 1])
      if r.i ~= '' then send(r.i, all[i], frame) end
    end
  end
end

local function peer_left(id, reason)
  return '{"type":"peer-left","id":"' .. id .. '","reason":"' .. reason .. '"}'
end

local function peer_joined(id, resumed, name)
  local f = '{"type":"peer-joined","id":"' .. id .. '","resumed":' .. (resumed and 'true' or 'false')
  if name ~= '' then f = f .. ',"name":' .. cjson.encode(name) end
  return f .. '}'
end

-- ---- the lobby ----

local function lobby_on(room)
  return redis.call('EXISTS', 'duet:l:' .. room) == 1
end

local function admit_request(id, name)
  return '{"type":"admit-request","id":"' .. id .. '","name":' .. cjson.encode(name) .. '}'
end

-- Knocks of `room` in the order they came: a list of {id, knock}.
local function knocks(room)
  local all = redis.call('HGETALL', 'duet:w:' .. room)
  local list = {}
  for i = 1, #all, 2 do list[#list + 1] = {all[i], cjson.decode(all[i + 1])} end
  table.sort(list, function(a, b) return a[2].q < b[2].q end)
  return list
end

local function turn_away(k, id, code, text)
  redis.call('PUBLISH', 'duet:i:' .. k.i, 'e\n' .. id .. '\n' .. code .. '\n' .. text)
end

-- Takes knock `id` out of the lobby and tells the members how it ended; the knock, or nil.
local function settle(room, id, outcome)
  local raw = redis.call('HGET', 'duet:w:' .. room, id)
  if not raw then return nil end
  redis.call('HDEL', 'duet:w:' .. room, id)
  redis.call('ZREM', 'duet:knocks', room .. '\n' .. id)
  tell(room, '', '{"type":"admit-resolved","id":"' .. id .. '","outcome":"' .. outcome .. '"}')
  return cjson.decode(raw)
end

local function remove(room, id, reason)
  local r = record(room, id)
  if not r then return end
  local seat = room .. '\n' .. id
  redis.call('HDEL', 'duet:m:' .. room, id)
  redis.call('DEL', 'duet:t:' .. r.t)
  redis.call('ZREM', 'duet:held', seat)
  if r.i ~= '' then redis.call('SREM', 'duet:im:' .. r.i, seat) end
  if redis.call('HLEN', 'duet:m:' .. room) == 0 then
    -- Nobody is left to open the door.
    for _, e in ipairs(knocks(room)) do
      redis.call('ZREM', 'duet:knocks', room .. '\n' .. e[1])
      turn_away(e[2], e[1], 'lobby-timeout', 'Everyone has left the room. Try again later.')
    end
    redis.call('DEL', 'duet:m:' .. room, 'duet:q:' .. room, 'duet:k:' .. room, 'duet:l:' .. room,
               'duet:w:' .. room)
  else
    tell(room, id, peer_left(id, reason))
  end
end

-- Held seats whose time is up (of one room, or all when room is nil).
local function expire(now, room)
  local due = redis.call('ZRANGEBYSCORE', 'duet:held', '-inf', now)
  for _, seat in ipairs(due) do
    local nl = string.find(seat, '\n', 1, true)
    local rm, id = string.sub(seat, 1, nl - 1), string.sub(seat, nl + 1)
    if room == nil or rm == room then
      local r = record(rm, id)
      if r and r.i == '' and r.d <= now then
        remove(rm, id, 'expired')
      else
        redis.call('ZREM', 'duet:held', seat)
      end
    end
  end
end

-- The member stops being connected: its seat is held until now + grace.
local function hold(room, id, r, now, grace)
  local seat = room .. '\n' .. id
  redis.call('SREM', 'duet:im:' .. r.i, seat)
  r.i = ''
  r.d = now + grace
  save(room, id, r)
  redis.call('ZADD', 'duet:held', r.d, seat)
  tell(room, id, peer_left(id, 'dropped'))
end

-- Who else is connected, in join order: a flat list id, name, id, name...
local function others(room, me)
  local all = redis.call('HGETALL', 'duet:m:' .. room)
  local list = {}
  for i = 1, #all, 2 do
    local r = cjson.decode(all[i + 1])
    if all[i] ~= me and r.i ~= '' then list[#list + 1] = {r.q, all[i], r.n} end
  end
  table.sort(list, function(a, b) return a[1] < b[1] end)
  local flat = {}
  for _, e in ipairs(list) do
    flat[#flat + 1] = e[2]
    flat[#flat + 1] = e[3]
  end
  return flat
end

local function full_text(room, max)
  return "room '" .. room .. "' is full (" .. max .. (max == 1 and ' person)' or ' people)')
end

-- Seats knock `k` as member `id` (it was let in) and tells its instance to say `joined`.
-- Its instance must be alive, or the seat would never be let go.
local function seat_knock(room, id, k)
  if redis.call('EXISTS', 'duet:hb:' .. k.i) == 0 then return end
  local seat = room .. '\n' .. id
  save(room, id, {i = k.i, q = redis.call('INCR', 'duet:q:' .. room), d = 0, t = k.t, n = k.n})
  redis.call('SET', 'duet:t:' .. k.t, seat)
  redis.call('SADD', 'duet:im:' .. k.i, seat)
  tell(room, id, peer_joined(id, false, k.n))
  local info = {r = room, k = redis.call('GET', 'duet:k:' .. room) or '', l = lobby_on(room),
                p = others(room, id)}
  redis.call('PUBLISH', 'duet:i:' .. k.i, 'a\n' .. id .. '\n' .. cjson.encode(info))
end

-- What a member needs after `joined`: the lobby's state and who waits at the door.
local function door(room)
  local asks = {}
  for _, e in ipairs(knocks(room)) do asks[#asks + 1] = admit_request(e[1], e[2].n) end
  return asks
end

-- The member `id` of `room`, connected here; nil if it is not (a stale request).
local function mine(room, id)
  local r = record(room, id)
  if r and r.i == self then return r end
  return nil
end

if op == 'join' then
  -- room, new id, token sha, resume token sha ("" for none), name, name given (1/0),
  -- max peers, key sha ("" for none), make private (1/0), a new private room's key sha
  local room, id, tok, resume, name, named = ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8] == '1'
  local max, key, make_private, new_key = tonumber(ARGV[9]), ARGV[10], ARGV[11] == '1', ARGV[12]
  local now = now_ms()
  expire(now, room)
  local private = redis.call('EXISTS', 'duet:k:' .. room) == 1
  if resume ~= '' then
    local where = redis.call('GET', 'duet:t:' .. resume)
    if where and string.sub(where, 1, #room + 1) == room .. '\n' then
      local rid = string.sub(where, #room + 2)
      local r = record(room, rid)
      if r then
        local seat = room .. '\n' .. rid
        local closed = ''
        if r.i ~= '' then
          redis.call('SREM', 'duet:im:' .. r.i, seat)
          if r.i == self then closed = rid else redis.call('PUBLISH', 'duet:i:' .. r.i, 'c\n' .. rid) end
        end
        r.i = self
        r.d = 0
        if named then r.n = name end
        save(room, rid, r)
        redis.call('ZREM', 'duet:held', seat)
        redis.call('SADD', 'duet:im:' .. self, seat)
        tell(room, rid, peer_joined(rid, true, r.n))
        return {'resumed', out, rid, redis.call('GET', 'duet:k:' .. room) or '', closed, others(room, rid), r.n,
                door(room), lobby_on(room) and 1 or 0}
      end
    end
  end
  local count = redis.call('HLEN', 'duet:m:' .. room)
  local created_key = 0
  if count > 0 then
    -- Asking first, unless creating a private room or holding its key.
    if lobby_on(room) and not make_private and (not private or key == '') then
      local src, max_waiting, timeout = ARGV[13], tonumber(ARGV[14]), tonumber(ARGV[15])
      local cooldown = redis.call('PTTL', 'duet:dc:' .. room .. '\n' .. src)
      if cooldown > 0 then return {'cooldown', out, cooldown} end
      if redis.call('HLEN', 'duet:w:' .. room) >= max_waiting then return {'crowded', out} end
      redis.call('HSET', 'duet:w:' .. room, id,
                 cjson.encode({i = self, n = name, t = tok, s = src, q = redis.call('INCR', 'duet:q:' .. room)}))
      redis.call('ZADD', 'duet:knocks', now + timeout, room .. '\n' .. id)
      tell(room, '', admit_request(id, name))
      return {'waiting', out, id}
    end
    if private then
      if key == '' then return {'private', out} end
      if redis.call('GET', 'duet:k:' .. room) ~= key then return {'badkey', out} end
    elseif make_private then
      return {'notprivate', out}
    end
    if count >= max then return {'full', out} end
  elseif make_private then
    redis.call('SET', 'duet:k:' .. room, new_key)
    private = true
    created_key = 1
  else
    redis.call('DEL', 'duet:k:' .. room)
    private = false
  end
  local q = redis.call('INCR', 'duet:q:' .. room)
  save(room, id, {i = self, q = q, d = 0, t = tok, n = name})
  redis.call('SET', 'duet:t:' .. tok, room .. '\n' .. id)
  redis.call('SADD', 'duet:im:' .. self, room .. '\n' .. id)
  tell(room, id, peer_joined(id, false, name))
  return {'joined', out, id, redis.call('GET', 'duet:k:' .. room) or '', created_key, others(room, id), name,
          door(room), lobby_on(room) and 1 or 0}

elseif op == 'lobby' then
  -- room, member id, on (1/0), max peers: the door switch; switched off, whoever waits
  -- comes in while there is room, in the order they knocked (the rest: room-full)
  local room, id, on, max = ARGV[3], ARGV[4], ARGV[5] == '1', tonumber(ARGV[6])
  if not mine(room, id) then return {'stale', out} end
  if on then redis.call('SET', 'duet:l:' .. room, '1') else redis.call('DEL', 'duet:l:' .. room) end
  tell(room, '', '{"type":"lobby","on":' .. (on and 'true' or 'false') .. '}')
  if not on then
    for _, e in ipairs(knocks(room)) do
      local fits = redis.call('HLEN', 'duet:m:' .. room) < max
      local k = settle(room, e[1], fits and 'admitted' or 'left')
      if fits then seat_knock(room, e[1], k) else turn_away(k, e[1], 'room-full', full_text(room, max)) end
    end
  end
  return {'ok', out}

elseif op == 'admit' then
  -- room, member id, knock id, max peers
  local room, id, knock, max = ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
  if not mine(room, id) then return {'stale', out} end
  if not redis.call('HGET', 'duet:w:' .. room, knock) then return {'unknown', out} end
  if redis.call('HLEN', 'duet:m:' .. room) >= max then return {'full', out} end
  seat_knock(room, knock, settle(room, knock, 'admitted'))
  return {'ok', out}

elseif op == 'decline' then
  -- room, member id, knock id, cooldown ms: turned away, and that address may not knock
  -- on this room again for a while
  local room, id, knock, cooldown = ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
  if not mine(room, id) then return {'stale', out} end
  local k = settle(room, knock, 'declined')
  if not k then return {'unknown', out} end
  redis.call('SET', 'duet:dc:' .. room .. '\n' .. k.s, '1', 'PX', cooldown)
  turn_away(k, knock, 'declined', 'Someone in the room declined to let you in. You may try again later.')
  return {'ok', out}

elseif op == 'unknock' then
  -- room, knock id: whoever knocked went away
  settle(ARGV[3], ARGV[4], 'left')
  return {'ok', out}

elseif op == 'relay' then
  -- room, from, to, frame: one signal to a member on another instance
  local room, from, to = ARGV[3], ARGV[4], ARGV[5]
  local r = (to ~= from) and record(room, to) or nil
  if not r then return {'unknown', out} end
  if r.i == '' then return {'disconnected', out} end
  send(r.i, to, ARGV[6])
  return {'ok', out}

elseif op == 'drop' then
  -- room, id, grace ms: the socket is gone without a leave
  local room, id, grace = ARGV[3], ARGV[4], tonumber(ARGV[5])
  local r = record(room, id)
  if r and r.i == self then
    if grace > 0 then hold(room, id, r, now_ms(), grace) else remove(room, id, 'left') end
  end
  return {'ok', out}

elseif op == 'leave' then
  local room, id = ARGV[3], ARGV[4]
  local r = record(room, id)
  if r and r.i == self then remove(room, id, 'left') end
  return {'ok', out}

elseif op == 'tick' then
  -- heartbeat ttl ms, grace ms: keep our heartbeat, hold the seats of instances whose
  -- heartbeat is gone, free held seats whose time is up. Returns whether our own heartbeat
  -- had lapsed (others may have held our members' seats: the caller writes them back).
  local ttl, grace = tonumber(ARGV[3]), tonumber(ARGV[4])
  local now = now_ms()
  local lapsed = redis.call('EXISTS', 'duet:hb:' .. self) == 0
  redis.call('SET', 'duet:hb:' .. self, '1', 'PX', ttl)
  redis.call('SADD', 'duet:instances', self)
  local reaped = 0
  for _, inst in ipairs(redis.call('SMEMBERS', 'duet:instances')) do
    if redis.call('EXISTS', 'duet:hb:' .. inst) == 0 then
      for _, seat in ipairs(redis.call('SMEMBERS', 'duet:im:' .. inst)) do
        local nl = string.find(seat, '\n', 1, true)
        local room, id = string.sub(seat, 1, nl - 1), string.sub(seat, nl + 1)
        local r = record(room, id)
        if r and r.i == inst then
          hold(room, id, r, now, grace)
          reaped = reaped + 1
        end
      end
      redis.call('DEL', 'duet:im:' .. inst)
      redis.call('SREM', 'duet:instances', inst)
    end
  end
  expire(now, nil)
  for _, entry in ipairs(redis.call('ZRANGEBYSCORE', 'duet:knocks', '-inf', now)) do
    local nl = string.find(entry, '\n', 1, true)
    local room, id = string.sub(entry, 1, nl - 1), string.sub(entry, nl + 1)
    local k = settle(room, id, 'timeout')
    redis.call('ZREM', 'duet:knocks', entry)
    if k then turn_away(k, id, 'lobby-timeout', 'Nobody in the room answered. Try again later.') end
  end
  return {'ok', out, lapsed and 1 or 0, reaped}

elseif op == 'restore' then
  -- Our members, written back after Redis was lost (it may have restarted empty) or our
  -- heartbeat lapsed: groups of 7 arguments: room, id, token sha, name, key sha ("" for an
  -- open room), held ms left (0: connected here; -1: left for good while Redis was away),
  -- whether newcomers asked first (1/0).
  -- Returns the ids whose seats someone resumed elsewhere meanwhile: their sockets here
  -- must close.
  local now = now_ms()
  local gone = {}
  for k = 3, #ARGV, 7 do
    local room, id, tok, name, key, left = ARGV[k], ARGV[k + 1], ARGV[k + 2], ARGV[k + 3], ARGV[k + 4], tonumber(ARGV[k + 5])
    local asked = ARGV[k + 6] == '1'
    local seat = room .. '\n' .. id
    local r = record(room, id)
    if r and r.i ~= '' and r.i ~= self then
      if left == 0 then gone[#gone + 1] = id end
    elseif left < 0 then
      if r then remove(room, id, 'left') end
    elseif left > 0 and r and r.i == self then
      hold(room, id, r, now, left)
    elseif left == 0 then
      local fresh = r == nil
      if fresh then
        r = {q = redis.call('INCR', 'duet:q:' .. room), t = tok, n = name}
        if key ~= '' then redis.call('SET', 'duet:k:' .. room, key, 'NX') end
        if asked then redis.call('SET', 'duet:l:' .. room, '1') end
      end
      local was_held = r.i == ''
      r.i = self
      r.d = 0
      save(room, id, r)
      redis.call('SET', 'duet:t:' .. tok, seat)
      redis.call('ZREM', 'duet:held', seat)
      redis.call('SADD', 'duet:im:' .. self, seat)
      -- Only those who were told we dropped hear we are back.
      if was_held then tell(room, id, peer_joined(id, true, r.n)) end
    elseif r == nil then
      r = {i = '', q = redis.call('INCR', 'duet:q:' .. room), d = now + left, t = tok, n = name}
      if key ~= '' then redis.call('SET', 'duet:k:' .. room, key, 'NX') end
      if asked then redis.call('SET', 'duet:l:' .. room, '1') end
      save(room, id, r)
      redis.call('SET', 'duet:t:' .. tok, seat)
      redis.call('ZADD', 'duet:held', r.d, seat)
    end
  end
  return {'ok', out, gone}
end
return redis.error_reply('duet: unknown operation ' .. tostring(op))
