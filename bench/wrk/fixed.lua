-- One fixed GET (the URL on wrk's command line), sent as wrk's static request: /health, the
-- content list, and the baselines' /hello and /redis.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
package.path = here .. "?.lua;" .. package.path
local common = require("common")

setup = common.setup
done = common.done
wrk.headers["Origin"] = common.ORIGIN

function response(status)
  common.count(status)
end
