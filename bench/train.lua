-- The request mix of an AOT training run (bench/train.sh): every API path of one service, in the proportions a real
-- client mix might have, so that the training run profiles all of them. TRAIN_TARGET=write (POST /write,
-- DELETE /write/{key}, GET /stats) or read (GET /read/{key} with and without min_version, /stats, /health), over
-- keys bench-1..KEYS (default 100000), which bench/train.sh preloads.
local keys = tonumber(os.getenv("KEYS") or "100000")
local target = os.getenv("TRAIN_TARGET") or "write"
local key = os.getenv(target == "write" and "WRITE_KEY" or "READ_KEY") or ""
local counter = 0
request = function()
  counter = counter + 1
  local roll = math.random(100)
  local headers = { ["Authorization"] = "Bearer " .. key }
  local name = "bench-" .. math.random(1, keys)
  if target == "write" then
    if roll <= 80 then
      headers["Content-Type"] = "application/json"
      return wrk.format("POST", "/write", headers, '{"key":"' .. name .. '","value":"train-' .. counter .. '"}')
    elseif roll <= 95 then
      return wrk.format("DELETE", "/write/" .. name, headers)
    end
    return wrk.format("GET", "/stats", headers)
  end
  if roll <= 70 then
    return wrk.format("GET", "/read/" .. name, headers)
  elseif roll <= 90 then
    return wrk.format("GET", "/read/" .. name .. "?min_version=1", headers)
  elseif roll <= 95 then
    return wrk.format("GET", "/stats", headers)
  end
  return wrk.format("GET", "/health", headers)
end
