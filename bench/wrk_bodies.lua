-- wrk script: POST the captured payload bodies in turn with browser-like headers.
-- args: <file with one body path per line> [delay_ms per request per connection, for a fixed rate]
local bodies = {}
local index = 0
local pause = 0

function init(args)
  for path in io.lines(args[1]) do
    local f = assert(io.open(path, "rb"))
    bodies[#bodies + 1] = f:read("*a")
    f:close()
  end
  if args[2] then pause = tonumber(args[2]) end
  index = math.random(#bodies)
end

function request()
  index = index % #bodies + 1
  return wrk.format("POST", "/collect", {
    ["Origin"] = "http://127.0.0.1:8765",
    ["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
    ["Accept"] = "application/x-clarity-gzip",
  }, bodies[index])
end

function delay()
  return pause
end

function done(summary, latency, requests)
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non2xx": %d, "socket_errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
