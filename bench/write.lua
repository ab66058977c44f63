-- POST /write with a random key out of KEYS (default 100000) and a short value, as many clients would.
local keys = tonumber(os.getenv("KEYS") or "100000")
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("WRITE_KEY") or "")
dofile("bench/seed.lua") -- each thread of each run draws its own keys (run wrk from the repository root)
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  local key = "bench-" .. math.random(1, keys)
  return wrk.format(nil, "/write", nil, '{"key":"' .. key .. '","value":"value-' .. counter .. '"}')
end
