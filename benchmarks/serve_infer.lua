-- wrk script for benchmarks/serve_bench.sh: POSTs one KServe v2 JSON infer body (the file named by $HONE_WRK_BODY)
-- to the URL wrk was given, and counts answers that are not HTTP 200 (wrk counts only transport errors itself as
-- failures; it reports non-2xx/3xx separately) so the script can print them.
local path = os.getenv("HONE_WRK_BODY")
assert(path, "set HONE_WRK_BODY to a JSON infer request body")
local f = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  not_ok = 0
end

function response(status, headers, body)
  if status ~= 200 then not_ok = not_ok + 1 end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("not_ok") end
  io.write(string.format("wrk-summary requests=%d not_200=%d connect_errors=%d read_errors=%d write_errors=%d " ..
                         "timeouts=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
                         summary.requests, bad, summary.errors.connect, summary.errors.read, summary.errors.write,
                         summary.errors.timeout, summary.duration, latency:percentile(50), latency:percentile(90),
                         latency:percentile(99), latency.max))
end
