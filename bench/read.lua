-- GET /read/{key} for a random key out of KEYS (default 100000), all of them preloaded by bench/run.sh.
local keys = tonumber(os.getenv("KEYS") or "100000")
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("READ_KEY") or "")
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
request = function()
  return wrk.format("GET", "/read/bench-" .. math.random(1, keys))
end
