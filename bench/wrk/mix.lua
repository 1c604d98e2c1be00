-- The mix: of every ten requests seven content reads (list pages and items in turn), two history
-- pages (a different user's each time) and one session write step (flow.lua). A fixed cycle
-- rather than random draws, so every run sends exactly these shares.
-- wrk ... -s mix.lua URL -- READS-FILE HISTORY-FILE TOKENS-FILE SLUGS-FILE
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local common = require("common")
local Flow = require("flow")

setup = common.setup
done = common.done

local CYCLE = { "read", "read", "history", "read", "read", "write", "read", "read", "history", "read" }

local reads, history, flow = {}, {}, nil
local slot, read_index, history_index = 0, 0, 0

function init(args)
  reads = common.get_requests(args[1])
  history = common.get_requests(args[2])
  flow = Flow.new(common.lines(args[3]), common.lines(args[4]))
  local offset = ((thread_number or 1) - 1) * 7919
  read_index, history_index = offset % #reads, offset % #history
end

function request()
  slot = slot % #CYCLE + 1
  local kind = CYCLE[slot]
  common.add("sent_" .. kind)
  if kind == "read" then
    read_index = read_index % #reads + 1
    return reads[read_index]
  elseif kind == "history" then
    history_index = history_index % #history + 1
    return history[history_index]
  end
  return flow:request()
end

function response(status, headers, body)
  common.count(status)
  flow:response(status, headers, body)
end
