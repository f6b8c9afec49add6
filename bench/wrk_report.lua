-- Loaded by bench/run.py with `wrk -s`.
--
-- With WRK_BODY_BYTES=N in the environment every request is a POST of N bytes
-- (wrk adds the Content-Length); otherwise wrk sends its usual GET.
--
-- At the end of a run, print one line that starts with WRK_JSON and carries the
-- numbers as JSON, so that nothing has to be parsed out of wrk's human-readable
-- report. Latencies are in microseconds; bytes are those of the responses read.

local body_bytes = tonumber(os.getenv("WRK_BODY_BYTES") or "0") or 0
if body_bytes > 0 then
  wrk.method = "POST"
  wrk.body = string.rep("x", body_bytes)
  wrk.headers["Content-Type"] = "application/octet-stream"
end

done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'WRK_JSON {"duration_us": %d, "requests": %d, "bytes": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"latency_us": {"p50": %.1f, "p90": %.1f, "p99": %.1f, "max": %.1f, '
      .. '"mean": %.1f, "stdev": %.1f}}\n',
    summary.duration, summary.requests, summary.bytes,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, latency.stdev
  ))
end
