-- Loaded by the benchmark's wrk scripts: each thread of each wrk run draws its own random keys. Unseeded, every thread
-- of every run drew the same sequence, so the two threads asked for the same key at once and every warm-up window
-- replayed the first window's keys, leaving the rest cold until the longer measured run reached them.
local threads = 0
setup = function(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end
init = function(args)
  math.randomseed(os.time() * 1000 + thread_number)
end
