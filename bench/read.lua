-- GET /read/{key} for a random key out of KEYS (default 100000), all of them preloaded by bench/run.sh.
local keys = tonumber(os.getenv("KEYS") or "100000")
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("READ_KEY") or "")
dofile("bench/seed.lua") -- each thread of each run draws its own keys (run wrk from the repository root)
request = function()
  return wrk.format("GET", "/read/bench-" .. math.random(1, keys))
end
