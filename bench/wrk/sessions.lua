-- Session writes only: every request is a step of a flow (start, 3 events, complete; see
-- flow.lua). wrk ... -s sessions.lua URL -- TOKENS-FILE SLUGS-FILE
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local common = require("common")
local Flow = require("flow")

setup = common.setup
done = common.done

local flow

function init(args)
  flow = Flow.new(common.lines(args[1]), common.lines(args[2]))
end

function request()
  return flow:request()
end

function response(status, headers, body)
  common.count(status)
  flow:response(status, headers, body)
end
