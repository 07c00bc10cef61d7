"""The Redis store's Lua scripts: every read that must be bounded and every write that must be a
compare-and-set runs on the server, in one step (redis-py's ``register_script``: EVALSHA).
"""

# Every script reads what it compares with pcall: a key of another type (a hostile or mistaken
# write) is "not ours", never an error that could be mistaken for "absent". Any other error (a
# user without a command the ACL should give, NOPERM) is returned as the error it is.
_CHECK = """
local function refused(answer)
  if type(answer) == 'table' and answer['err'] then
    local err = answer['err']
    if string.sub(err, 1, 9) == 'WRONGTYPE' then return 'wrongtype' end
    -- an ACL refusal inside a script comes without its code: give it back, so the caller says which
    if string.find(err, "can't run this command", 1, true) and string.sub(err, 1, 6) ~= 'NOPERM' then
      err = 'NOPERM ' .. err
    end
    return redis.error_reply(err)
  end
  return nil
end
"""
# KEYS: entry. ARGV: the most bytes of 'sealed' to return. -> {'ok', version, sealed, refused_at}, or
# {'wrongtype'}, or {'too-large', field, length}: every field is measured before it is fetched.
LOAD_SCRIPT = (
    _CHECK
    + """
local limits = {sealed = tonumber(ARGV[1]), version = 20, refused_at = 32}
for field, limit in pairs(limits) do
  local length = redis.pcall('HSTRLEN', KEYS[1], field)
  local problem = refused(length)
  if problem == 'wrongtype' then return {'wrongtype'} elseif problem then return problem end
  if length > limit then return {'too-large', field, length} end
end
local fields = redis.call('HMGET', KEYS[1], 'version', 'sealed', 'refused_at')
return {'ok', fields[1], fields[2], fields[3]}
"""
)
# KEYS: entry, version counter, the entry's change channel. ARGV: expected version ("" = no entry at
# all), sealed value, writer id, the writer's clock in ms, the largest version. -> {1, version written,
# healed} or {0, ''}, or {0, 'exhausted'}. Waiting robots hear of the write on the channel; a user whose
# ACL lacks PUBLISH (an older setup) still writes, and they poll. A counter this library never keeps
# (another type, not canonical digits, 10^15 or more: someone else wrote it) is healed: it starts again
# above this entry's version and the writer's clock in ms, so no version is given out twice, and the
# version is returned as a number (tostring would write 1e+14).
STORE_SCRIPT = (
    _CHECK
    + """
local current = nil
if ARGV[1] == '' then
  if redis.call('EXISTS', KEYS[1]) == 1 then return {0, ''} end
else
  current = redis.pcall('HGET', KEYS[1], 'version')
  local problem = refused(current)
  if problem == 'wrongtype' then return {0, ''} elseif problem then return problem end
  if current ~= ARGV[1] then return {0, ''} end
end
local counter = redis.pcall('GET', KEYS[2])
local problem = refused(counter)
if problem and problem ~= 'wrongtype' then return problem end
local healed = 0
if problem or (counter and not (string.match(counter, '^[1-9][0-9]*$') and #counter <= 15)) then
  local floor = math.max(tonumber(ARGV[4]), tonumber(current or '0') or 0)
  if floor + 1 > tonumber(ARGV[5]) then return {0, 'exhausted'} end
  redis.call('DEL', KEYS[2])
  redis.call('SET', KEYS[2], string.format('%.0f', floor))
  healed = 1
end
if healed == 0 and current and (tonumber(counter or '0') or 0) < (tonumber(current) or 0) then
  -- set back (or deleted) by a writer without the key: never hand out the entry's version again
  redis.call('SET', KEYS[2], current)
  healed = 1
end
local version = redis.call('INCR', KEYS[2])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'version', version, 'sealed', ARGV[2], 'writer', ARGV[3])
redis.pcall('PUBLISH', KEYS[3], version)
return {1, version, healed}
"""
)
# KEYS: entry. ARGV: the version read and decrypted. Removes it only at that version.
REMOVE_SCRIPT = (
    _CHECK
    + """
local current = redis.pcall('HGET', KEYS[1], 'version')
local problem = refused(current)
if problem == 'wrongtype' then return 0 elseif problem then return problem end
if current ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""
)
# KEYS: entry. ARGV: the version the SSO refused to renew, when. The version stays.
MARK_REFUSED_SCRIPT = (
    _CHECK
    + """
local current = redis.pcall('HGET', KEYS[1], 'version')
local problem = refused(current)
if problem == 'wrongtype' then return 0 elseif problem then return problem end
if current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'refused_at', ARGV[2])
return 1
"""
)
# KEYS: entry, where to keep it (a fresh name). ARGV: its version field as read ("" none, "*wrongtype*"
# not a hash). RENAMENX: what an earlier set-aside kept is never overwritten.
SET_ASIDE_SCRIPT = (
    _CHECK
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local current = redis.pcall('HGET', KEYS[1], 'version')
local problem = refused(current)
if problem == 'wrongtype' then current = '*wrongtype*' elseif problem then return problem end
if (current or '') ~= ARGV[1] then return 0 end
return redis.call('RENAMENX', KEYS[1], KEYS[2])
"""
)
# KEYS: the record. ARGV: how many, the most bytes of one event. -> newest first; nil where unusable.
READ_RECORD_SCRIPT = (
    _CHECK
    + """
local items = redis.pcall('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[1])
local problem = refused(items)
if problem == 'wrongtype' then return {false} elseif problem then return problem end
local out = {}
for _, item in ipairs(items) do
  local text = false
  local fields = item[2]
  for j = 1, #fields, 2 do
    if fields[j] == 'event' and #fields[j + 1] <= tonumber(ARGV[2]) then text = fields[j + 1] end
  end
  out[#out + 1] = text
end
return out
"""
)
# KEYS: a claim. ARGV: the most bytes of a claim. -> {'string', value}, or {'none', ''} for nothing this
# library could have written there (absent, another type, too long: never fetched); then Redis's TIME
# (seconds, microseconds), or '', '' for a user whose ACL lacks +time.
CLAIM_READ_SCRIPT = """
local now = redis.pcall('TIME')
if type(now) ~= 'table' or now.err or #now ~= 2 then now = {'', ''} end
if redis.call('TYPE', KEYS[1])['ok'] ~= 'string' or redis.call('STRLEN', KEYS[1]) > tonumber(ARGV[1]) then
  return {'none', '', now[1], now[2]}
end
return {'string', redis.call('GET', KEYS[1]), now[1], now[2]}
"""
# KEYS: a claim. ARGV: its value as read ('' for none, as CLAIM_READ_SCRIPT says), the new value, how
# long to keep it in ms, the most bytes of a claim. Written only if the claim is still what was read
# (compare-and-set): one taken meanwhile by another robot stays theirs. -> 1 written, 0 not.
CLAIM_WRITE_SCRIPT = """
local current = ''
if redis.call('TYPE', KEYS[1])['ok'] == 'string' and redis.call('STRLEN', KEYS[1]) <= tonumber(ARGV[4]) then
  current = redis.call('GET', KEYS[1])
end
if current ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""
# KEYS: the version counter. -> its text, or false when it is absent or not a counter this library keeps.
LAST_VERSION_SCRIPT = """
if redis.call('TYPE', KEYS[1])['ok'] ~= 'string' or redis.call('STRLEN', KEYS[1]) > 20 then return false end
return redis.call('GET', KEYS[1])
"""
