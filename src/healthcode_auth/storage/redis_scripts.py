"""The Redis store's Lua scripts: every read that must be bounded and every write that must be a
compare-and-set runs on the server, in one step (redis-py's ``register_script``: EVALSHA).
"""

# Every script reads what it compares with pcall: a key of another type (a hostile or mistaken
# write) is "not ours", never an error that could be mistaken for "absent".
# KEYS: entry. ARGV: the most bytes of 'sealed' to return. -> {'ok', version, sealed, refused_at}
LOAD_SCRIPT = """
local length = redis.pcall('HSTRLEN', KEYS[1], 'sealed')
if type(length) == 'table' then return {'wrongtype'} end
if length > tonumber(ARGV[1]) then return {'too-large', length} end
local fields = redis.call('HMGET', KEYS[1], 'version', 'sealed', 'refused_at')
return {'ok', fields[1], fields[2], fields[3]}
"""
# KEYS: entry, version counter. ARGV: expected version ("" = no entry at all), sealed value, writer id.
STORE_SCRIPT = """
if ARGV[1] == '' then
  if redis.call('EXISTS', KEYS[1]) == 1 then return {0, ''} end
else
  local current = redis.pcall('HGET', KEYS[1], 'version')
  if type(current) == 'table' or current ~= ARGV[1] then return {0, ''} end
end
local version = redis.call('INCR', KEYS[2])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'version', version, 'sealed', ARGV[2], 'writer', ARGV[3])
return {1, tostring(version)}
"""
# KEYS: entry. ARGV: the version read and decrypted. Removes it only at that version.
REMOVE_SCRIPT = """
local current = redis.pcall('HGET', KEYS[1], 'version')
if type(current) == 'table' or current ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""
# KEYS: entry. ARGV: the version the SSO refused to renew, when. The version stays.
MARK_REFUSED_SCRIPT = """
local current = redis.pcall('HGET', KEYS[1], 'version')
if type(current) == 'table' or current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'refused_at', ARGV[2])
return 1
"""
# KEYS: entry, where to keep it. ARGV: its version field as read ("" none, "*wrongtype*" not a hash).
SET_ASIDE_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local current = redis.pcall('HGET', KEYS[1], 'version')
if type(current) == 'table' then current = '*wrongtype*' end
if (current or '') ~= ARGV[1] then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
return 1
"""
# KEYS: the record. ARGV: how many, the most bytes of one event. -> newest first; nil where unusable.
READ_RECORD_SCRIPT = """
local items = redis.pcall('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[1])
if items['err'] then return {} end
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
