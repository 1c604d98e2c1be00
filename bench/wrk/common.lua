-- What every scenario script shares (loaded with require, so once per Lua state):
--   * per-thread tallies in two globals, `statuses` (responses by status code) and `counters`
--     (named counts such as flows_completed), which done() reads through the thread handles;
--   * the registry of thread handles that setup() fills and done() walks (wrk runs setup() and
--     done() in its main Lua state, request() and response() in one state per thread);
--   * the JSON report done() prints on one line after the marker below, for bench/wrk_report.py.
local common = {}

common.REPORT_MARKER = "WRK_REPORT "
-- Sent with every request, and listed in the service's CORS_ORIGINS by the suite, so the CORS
-- middleware does its work as it would for a browser application on another origin.
common.ORIGIN = "https://app.bench.invalid"

local threads = {}

statuses = {}
counters = {}

function common.setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

function common.count(status)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
end

function common.add(name, amount)
  counters[name] = (counters[name] or 0) + (amount or 1)
end

-- The non-empty lines of a file handed to the script after wrk's `--`.
function common.lines(path)
  local lines = {}
  for line in io.lines(path) do
    if line ~= "" then
      lines[#lines + 1] = line
    end
  end
  if #lines == 0 then
    error("no lines in " .. path)
  end
  return lines
end

-- A GET request from a line "PATH" or "PATH<TAB>BEARER-TOKEN".
function common.get_request(line)
  local path, token = line:match("^([^\t]+)\t?(.*)$")
  local headers = { Origin = common.ORIGIN }
  if token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  return wrk.format("GET", path, headers)
end

function common.get_requests(path)
  local requests = {}
  for i, line in ipairs(common.lines(path)) do
    requests[i] = common.get_request(line)
  end
  return requests
end

-- The value of a response header, whatever the case of its name.
function common.header(headers, name)
  local value = headers[name]
  if value then
    return value
  end
  local wanted = name:lower()
  for key, found in pairs(headers) do
    if key:lower() == wanted then
      return found
    end
  end
  return nil
end

-- JSON for the report: objects of numbers, strings and nested objects (no arrays needed).
local function encode(value)
  local kind = type(value)
  if kind == "table" then
    local parts = {}
    for key, item in pairs(value) do
      parts[#parts + 1] = string.format("\"%s\":%s", tostring(key), encode(item))
    end
    return "{" .. table.concat(parts, ",") .. "}"
  elseif kind == "number" then
    if value ~= value or value == math.huge or value == -math.huge then
      return "null"
    end
    return string.format("%.17g", value)
  elseif kind == "boolean" then
    return tostring(value)
  end
  return string.format("\"%s\"", tostring(value):gsub("[%c\"\\]", ""))
end

local function merge(total, part)
  for key, amount in pairs(part or {}) do
    total[key] = (total[key] or 0) + amount
  end
end

function common.done(summary, latency, _)
  local all_statuses, all_counters = {}, {}
  for _, thread in ipairs(threads) do
    merge(all_statuses, thread:get("statuses"))
    merge(all_counters, thread:get("counters"))
  end
  local percentiles = {}
  for _, p in ipairs({ 50, 75, 90, 95, 99, 99.9 }) do
    percentiles[tostring(p)] = latency:percentile(p)
  end
  local report = {
    requests = summary.requests,
    duration_us = summary.duration,
    bytes = summary.bytes,
    errors = summary.errors,
    latency_us = {
      min = latency.min,
      max = latency.max,
      mean = latency.mean,
      stdev = latency.stdev,
      percentiles = percentiles,
    },
    statuses = all_statuses,
    counters = all_counters,
  }
  io.write(common.REPORT_MARKER .. encode(report) .. "\n")
end

return common
