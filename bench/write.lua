-- POST /write with a random key out of KEYS (default 100000) and a short value, as many clients would.
local keys = tonumber(os.getenv("KEYS") or "100000")
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("WRITE_KEY") or "")
-- Each thread of each wrk run draws its own keys: unseeded, every thread of every run drew the same sequence, so the
-- two threads asked for the same key at once and every warm-up window replayed the first window's keys, leaving the
-- rest cold until the longer measured run reached them.
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end
init = function(args)
  math.randomseed(os.time() * 1000 + thread_number)
end
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  local key = "bench-" .. math.random(1, keys)
  return wrk.format(nil, "/write", nil, '{"key":"' .. key .. '","value":"value-' .. counter .. '"}')
end
