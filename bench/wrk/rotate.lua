-- GET requests taken in turn from a file of lines "PATH" or "PATH<TAB>BEARER-TOKEN"
-- (wrk ... -s rotate.lua URL -- FILE): many content items, or many users' tokens (history,
-- /users/me), a different one on every request. Built once in init(), so a request costs wrk
-- no formatting.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local common = require("common")

setup = common.setup
done = common.done

local requests = {}
local index = 0

function init(args)
  requests = common.get_requests(args[1])
  -- Threads start at different places, so they do not walk the list in step.
  index = ((thread_number or 1) - 1) * 7919 % #requests
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function response(status)
  common.count(status)
end
